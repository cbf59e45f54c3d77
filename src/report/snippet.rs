//! Source snippets for the human format: only the lines around a diagnostic's spans,
//! long lines clipped to a window around each span, control characters escaped.
//!
//! miette renders whatever text it is given, rescanning it for every label, and cannot
//! draw columns past 65,535. Handing it a few short lines instead of the whole file
//! keeps rendering linear in the findings and safe on minified templates, while line
//! numbers and the `file:line:column` header still name the place in the real file.

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

use crate::diagnostic::{escape_char, is_control};
use crate::source::{SourceFile, Span};

/// Lines longer than this (in bytes) are clipped.
const MAX_LINE_BYTES: usize = 240;

/// Bytes kept on each side of a span's start and end on a clipped line.
const WINDOW_BYTES: usize = 80;

/// Marks text left out of a clipped line.
const ELLIPSIS: &str = "…";

/// The lines of a file that one diagnostic shows.
#[derive(Debug)]
pub struct Snippet<'s> {
    name: String,
    source: &'s SourceFile,
    text: String,
    /// 0-based line number of the snippet's first line in the file.
    first_line: usize,
    /// (offset in the file, offset in `text`) where a verbatim run starts; sorted.
    checkpoints: Vec<(usize, usize)>,
}

impl<'s> Snippet<'s> {
    /// The lines that `spans` touch, one line of context on each side.
    pub fn new(name: String, source: &'s SourceFile, spans: &[Span]) -> Snippet<'s> {
        let line_of = |offset: u32| source.line_col(offset as usize).0;
        let first = spans.iter().map(|s| line_of(s.start)).min().unwrap_or(1);
        let last = spans.iter().map(|s| line_of(s.end)).max().unwrap_or(1);
        let first = first.saturating_sub(1).max(1);
        let mut last = (last + 1).min(source.line_count());
        // The empty "line" after a final line break is not context worth showing.
        if last > 1 && last == source.line_count() && source.line_range(last).is_empty() {
            last = (last - 1).max(first);
        }
        let mut snippet = Snippet {
            name,
            source,
            text: String::new(),
            first_line: first - 1,
            checkpoints: Vec::new(),
        };
        for line in first..=last {
            let range = source.line_range(line);
            let kept = kept_ranges(&source.text, range.clone(), spans);
            let mut at = range.start;
            for keep in kept {
                if keep.start > at {
                    snippet.text.push_str(ELLIPSIS);
                }
                snippet.copy(keep.clone());
                at = keep.end;
            }
            if at < range.end {
                snippet.text.push_str(ELLIPSIS);
            }
            snippet.checkpoints.push((range.end, snippet.text.len()));
            if line < source.line_count() {
                snippet.text.push('\n');
            }
        }
        snippet
    }

    /// Copies `range` of the file, escaping control characters.
    fn copy(&mut self, range: std::ops::Range<usize>) {
        let text = &self.source.text[range.clone()];
        self.checkpoints.push((range.start, self.text.len()));
        for (i, c) in text.char_indices() {
            if is_control(c) {
                self.text.push_str(&escape_char(c));
                self.checkpoints
                    .push((range.start + i + c.len_utf8(), self.text.len()));
            } else {
                self.text.push(c);
            }
        }
    }

    /// Where a file offset is in the snippet's text.
    fn to_snippet(&self, offset: usize) -> usize {
        self.across(offset, |(file, _)| file, |(_, snip)| snip)
            .min(self.text.len())
    }

    /// Where a snippet offset is in the file (the start of an elision or escape for
    /// offsets inside one).
    fn to_file(&self, offset: usize) -> usize {
        self.across(offset, |(_, snip)| snip, |(file, _)| file)
    }

    /// Maps `offset` from one side of the checkpoints (`from`) to the other (`to`):
    /// the last checkpoint at or before it, plus the distance, verbatim runs being the
    /// same length on both sides.
    fn across(
        &self,
        offset: usize,
        from: fn((usize, usize)) -> usize,
        to: fn((usize, usize)) -> usize,
    ) -> usize {
        let i = self
            .checkpoints
            .partition_point(|c| from(*c) <= offset)
            .saturating_sub(1);
        match self.checkpoints.get(i) {
            Some(&c) if from(c) <= offset => to(c) + (offset - from(c)),
            _ => 0,
        }
    }

    /// A file span as a span of the snippet, for miette's labels.
    pub fn span(&self, span: Span) -> std::ops::Range<usize> {
        let start = self.to_snippet(span.start as usize);
        let end = self.to_snippet(span.end as usize).max(start);
        start..end
    }
}

/// The parts of one line to show: all of it when short, else windows around every span
/// start and end on it (or its beginning, when no span starts or ends there).
fn kept_ranges(
    text: &str,
    line: std::ops::Range<usize>,
    spans: &[Span],
) -> Vec<std::ops::Range<usize>> {
    if line.len() <= MAX_LINE_BYTES {
        return vec![line];
    }
    let mut points: Vec<usize> = spans
        .iter()
        .flat_map(|s| [s.start as usize, s.end as usize])
        .filter(|p| line.contains(p) || *p == line.end)
        .collect();
    if points.is_empty() {
        points.push(line.start);
    }
    points.sort_unstable();
    let mut kept: Vec<std::ops::Range<usize>> = Vec::new();
    for p in points {
        let start = floor_boundary(text, p.saturating_sub(WINDOW_BYTES).max(line.start));
        let end = floor_boundary(text, (p + WINDOW_BYTES).min(line.end));
        match kept.last_mut() {
            Some(last) if start <= last.end => last.end = last.end.max(end),
            _ => kept.push(start..end),
        }
    }
    kept
}

fn floor_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

impl SourceCode for Snippet<'_> {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner =
            self.text
                .as_str()
                .read_span(span, context_lines_before, context_lines_after)?;
        // The column in the real file, not in the clipped line.
        let file_offset = self.to_file(inner.span().offset());
        let (_, column) = self.source.line_col(file_offset);
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line,
            column - 1,
            // miette's `line_count` counts from the start of the source, not of the
            // span's contents (it decides which labels share a snippet with it).
            inner.line_count() + self.first_line,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn source(text: &str) -> SourceFile {
        SourceFile::decode(PathBuf::from("t.json"), text.as_bytes()).unwrap()
    }

    #[test]
    fn short_lines_are_kept_whole_with_a_line_of_context() {
        let f = source("a\nb\n\"x\": 1\nc\nd\n");
        let at = f.text.find("1").unwrap();
        let s = Snippet::new("t.json".into(), &f, &[Span::new(at, at + 1)]);
        assert_eq!(s.text, "b\n\"x\": 1\nc\n");
        let end = Snippet::new(
            "t.json".into(),
            &f,
            &[Span::new(f.text.len() - 1, f.text.len())],
        );
        assert_eq!(
            end.text, "c\nd\n",
            "no empty line after the final line break"
        );
        assert_eq!(s.first_line, 1);
        assert_eq!(&s.text[s.span(Span::new(at, at + 1))], "1");
    }

    #[test]
    fn long_lines_are_clipped_around_the_span() {
        let line = format!(
            "{}\"bypass\": \"AzureServices\"{}",
            "x".repeat(100_000),
            "y".repeat(100_000)
        );
        let f = source(&line);
        let at = f.text.find("\"AzureServices\"").unwrap();
        let span = Span::new(at, at + 15);
        let s = Snippet::new("t.json".into(), &f, &[span]);
        assert!(s.text.len() < 200, "{}", s.text.len());
        assert!(s.text.starts_with(ELLIPSIS) && s.text.ends_with(ELLIPSIS));
        assert_eq!(&s.text[s.span(span)], "\"AzureServices\"");
        let contents = s.read_span(&s.span(span).into(), 0, 0).unwrap();
        assert_eq!(contents.column(), at);
    }

    #[test]
    fn control_characters_are_escaped_and_spans_still_map() {
        let f = source("{\"name\": \"a\u{1b}[31mb\", \"v\": 1}");
        let at = f.text.find('1').unwrap();
        let s = Snippet::new("t.json".into(), &f, &[Span::new(at, at + 1)]);
        assert!(s.text.contains("a\\u{1b}[31mb"));
        assert_eq!(&s.text[s.span(Span::new(at, at + 1))], "1");
    }
}
