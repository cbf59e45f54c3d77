//! The human format: miette's graphical report per diagnostic, then a summary line.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, Severity, SourceCode};

use crate::diagnostic::{Diagnostic, Level};
use crate::report::snippet::Snippet;
use crate::report::{display_path, live_diagnostics, location_line, rule_url, summary_line, Run};
use crate::source::{SourceFile, Span};

/// Secondary spans further than this many lines from the primary span get a snippet of
/// their own, so that a parameter default 600 lines up does not print 600 lines.
const NEARBY_LINES: usize = 10;

/// How to draw the report.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    /// Wrap width in columns.
    pub width: usize,
    /// Only the diagnostics: no parameters-file lines, no summary.
    pub quiet: bool,
}

/// Adapts one of our diagnostics to miette.
struct Report<'s> {
    title: String,
    severity: Severity,
    source: Snippet<'s>,
    labels: Vec<LabeledSpan>,
    help: Option<String>,
    /// Distant secondary spans, each rendered as its own snippet.
    related: Vec<Report<'s>>,
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Report")
            .field("title", &self.title)
            .finish()
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.title)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|r| r as &dyn miette::Diagnostic),
        ))
    }
}

fn non_empty(label: &str) -> Option<String> {
    (!label.is_empty()).then(|| label.to_owned())
}

fn severity(level: Level) -> Severity {
    match level {
        Level::Error => Severity::Error,
        Level::Warning => Severity::Warning,
        Level::Note => Severity::Advice,
    }
}

/// Builds the miette report of one diagnostic: nearby secondary spans as labels in the
/// main snippet, distant ones and those in other files (a parameters file) as related
/// snippets of their own.
fn report<'s>(d: &'s Diagnostic, source: &'s SourceFile, name: &str) -> Report<'s> {
    let (primary_line, _) = source.line_col(d.span.start as usize);
    let near = |span: Span| {
        source
            .line_col(span.start as usize)
            .0
            .abs_diff(primary_line)
            <= NEARBY_LINES
    };
    let mut spans = vec![d.span];
    // Label texts by span: the primary's first; a related span that is the same as one
    // already labelled adds its text to that label.
    let mut texts: Vec<String> = vec![non_empty(&d.label).unwrap_or_default()];
    let mut related = Vec::new();
    // A label inside another one (a literal inside the expression the finding points
    // at) cannot be drawn on the same line: it gets a snippet of its own.
    let line_of = |at: u32| source.line_col(at as usize).0;
    let one_line = |s: Span| line_of(s.start) == line_of(s.end);
    let overlaps = |spans: &[Span], span: Span| {
        one_line(span)
            && spans.iter().any(|s| {
                one_line(*s) && line_of(s.start) == line_of(span.start) && s.overlaps(span)
            })
    };
    for r in &d.related {
        let same = spans.iter().position(|s| *s == r.span);
        match &r.file {
            None if same.is_some() => {
                let text = &mut texts[same.unwrap_or_default()];
                if !text.is_empty() {
                    text.push_str("; ");
                }
                text.push_str(&r.label);
            }
            None if near(r.span) && !overlaps(&spans, r.span) => {
                spans.push(r.span);
                texts.push(r.label.clone());
            }
            None => add_secondary(&mut related, &r.label, r.span, name, source),
            Some(other) => add_secondary(
                &mut related,
                &r.label,
                r.span,
                &display_path(&other.path),
                other,
            ),
        }
    }
    let snippet = Snippet::new(name.to_owned(), source, &spans);
    let labels = spans
        .iter()
        .zip(&texts)
        .enumerate()
        .map(|(i, (span, text))| match i {
            0 => LabeledSpan::new_primary_with_span(non_empty(text), snippet.span(*span)),
            _ => LabeledSpan::new_with_span(non_empty(text), snippet.span(*span)),
        })
        .collect();
    let mut help = d.help.clone().unwrap_or_default();
    if !help.is_empty() {
        help.push('\n');
    }
    help.push_str(&format!("docs: {}", rule_url(d.rule)));
    Report {
        title: format!("{}[{}]: {}", d.level, d.rule, d.message),
        severity: severity(d.level),
        source: snippet,
        labels,
        help: Some(help),
        related: related.into_iter().map(Secondary::report).collect(),
    }
}

/// A related span drawn in a snippet of its own, or — when another related span with
/// the same text in the same file was drawn just before (the literals a value passed to
/// a module is built from) — beside it in that snippet.
fn add_secondary<'s>(
    related: &mut Vec<Secondary<'s>>,
    label: &str,
    span: Span,
    name: &str,
    source: &'s SourceFile,
) {
    match related.last_mut() {
        Some(last)
            if last.label == label
                && last.name == name
                && std::ptr::eq(last.source, source)
                && !last.spans.iter().any(|s| s.overlaps(span)) =>
        {
            last.spans.push(span)
        }
        _ => related.push(Secondary {
            label: label.to_owned(),
            name: name.to_owned(),
            source,
            spans: vec![span],
        }),
    }
}

/// Related spans drawn together, under one title.
struct Secondary<'s> {
    label: String,
    name: String,
    source: &'s SourceFile,
    spans: Vec<Span>,
}

impl<'s> Secondary<'s> {
    fn report(self) -> Report<'s> {
        let snippet = Snippet::new(self.name, self.source, &self.spans);
        let labels = self
            .spans
            .iter()
            .enumerate()
            .map(|(i, span)| {
                let here = Some("here".to_owned());
                match i {
                    0 => LabeledSpan::new_primary_with_span(here, snippet.span(*span)),
                    _ => LabeledSpan::new_with_span(here, snippet.span(*span)),
                }
            })
            .collect();
        Report {
            title: format!("related: {}", self.label),
            severity: Severity::Advice,
            labels,
            source: snippet,
            help: None,
            related: Vec::new(),
        }
    }
}

/// Renders the whole run.
pub fn render(run: &Run<'_>, style: Style) -> String {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false)
        .without_syntax_highlighting();
    let mut out = String::new();
    for (file, source, diagnostic) in live_diagnostics(run) {
        let name = display_path(&file.path);
        // Rendering must never take the run down: a diagnostic miette cannot draw is
        // still reported, as a plain line.
        let drawn = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut text = String::new();
            let report = report(diagnostic, source, &name);
            handler
                .render_report(&mut text, &report)
                .ok()
                .map(|()| text)
        }));
        match drawn {
            Ok(Some(text)) => out.push_str(&text),
            _ => {
                out.push_str(&format!(
                    "{}[{}]: {}\n  --> {}\n",
                    diagnostic.level,
                    diagnostic.rule,
                    diagnostic.message,
                    location_line(&name, source, diagnostic.span)
                ));
            }
        }
        out.push('\n');
    }
    if !style.quiet {
        out.push_str(&parameters_lines(run));
        out.push_str(&summary_line(run));
        out.push('\n');
    }
    out
}

/// Which parameters file each template with findings was evaluated with, and how many
/// templates were evaluated with one.
fn parameters_lines(run: &Run<'_>) -> String {
    let with_params: Vec<_> = run
        .files
        .iter()
        .filter(|f| f.parameters_file.is_some())
        .collect();
    if with_params.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    for f in with_params
        .iter()
        .filter(|f| f.diagnostics.iter().any(|d| d.counts()))
    {
        if let Some(p) = &f.parameters_file {
            out.push_str(&format!(
                "{} was evaluated with {}\n",
                display_path(&f.path),
                display_path(p)
            ));
        }
    }
    let n = with_params.len();
    out.push_str(&format!(
        "{n} template{} evaluated with a parameters file\n",
        if n == 1 { " was" } else { "s were" }
    ));
    out
}
