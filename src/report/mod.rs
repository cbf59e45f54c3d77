//! Rendering a lint run: human (miette), SARIF, JSON and GitHub workflow commands.
//! Reporters run on the main thread over reports already sorted by path.

pub mod github;
pub mod human;
pub mod json;
pub mod sarif;
pub mod snippet;

use std::collections::HashMap;
use std::time::Duration;

pub use crate::paths::display_path;

use crate::date::Date;
use crate::diagnostic::RuleLevel;
use crate::diagnostic::{Diagnostic, Level};
use crate::discover::PathError;
use crate::linter::{FileOutcome, FileReport};
use crate::rules::Rule;
use crate::source::{SourceFile, Span};

/// Everything a reporter needs about a finished run.
pub struct Run<'a> {
    pub files: &'a [FileReport],
    pub path_errors: &'a [PathError],
    pub rules: &'a [&'static dyn Rule],
    pub as_of: Date,
    /// Levels set in the config file's `[level]` table.
    pub configured_levels: &'a HashMap<&'static str, RuleLevel>,
    pub elapsed: Duration,
}

impl Run<'_> {
    /// A rule's level in this run: the config file's, else its level on `as_of`.
    pub fn level_of(&self, rule: &dyn Rule) -> Level {
        match self.configured_levels.get(rule.meta().id) {
            Some(RuleLevel::Level(level)) => *level,
            _ => rule.level_on(self.as_of),
        }
    }
}

/// Where the documentation of a rule lives online.
pub fn rule_url(id: &str) -> String {
    format!("{}/blob/main/rules/{id}.md", env!("CARGO_PKG_REPOSITORY"))
}

/// A span resolved to 1-based lines and code-point columns (end exclusive), and raw
/// byte offsets in the file (BOM included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub start_line: usize,
    pub start_column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub start_offset: usize,
    pub end_offset: usize,
}

pub fn locate(source: &SourceFile, span: Span) -> Location {
    let (start_line, start_column) = source.line_col(span.start as usize);
    let (end_line, end_column) = source.line_col(span.end as usize);
    Location {
        start_line,
        start_column,
        end_line,
        end_column,
        start_offset: source.file_offset(span.start as usize),
        end_offset: source.file_offset(span.end as usize),
    }
}

/// `path:line:column` of a span's start.
pub fn location_line(name: &str, source: &SourceFile, span: Span) -> String {
    let (line, column) = source.line_col(span.start as usize);
    format!("{name}:{line}:{column}")
}

/// Every diagnostic that counts (not suppressed, not in the baseline), with its file, in
/// output order: what the human, JSON and GitHub formats show.
pub fn live_diagnostics<'a>(
    run: &'a Run<'a>,
) -> impl Iterator<Item = (&'a FileReport, &'a SourceFile, &'a Diagnostic)> {
    diagnostics(run).filter(|(_, _, d)| d.counts())
}

/// Every diagnostic, suppressed and baselined ones included, with its file, in output
/// order: what SARIF keeps.
pub fn diagnostics<'a>(
    run: &'a Run<'a>,
) -> impl Iterator<Item = (&'a FileReport, &'a SourceFile, &'a Diagnostic)> {
    run.files.iter().flat_map(|f| {
        f.diagnostics
            .iter()
            .filter_map(move |d| f.source.as_deref().map(|s| (f, s, d)))
    })
}

/// Counts for the summary line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub linted: usize,
    pub skipped: usize,
    pub failed: usize,
    pub errors: usize,
    pub warnings: usize,
    pub notes: usize,
    /// Findings covered by a suppression.
    pub suppressed: usize,
    /// Findings already in the baseline.
    pub baselined: usize,
}

pub fn totals(run: &Run<'_>) -> Totals {
    let mut t = Totals {
        failed: run.path_errors.len(),
        ..Totals::default()
    };
    for f in run.files {
        match f.outcome {
            FileOutcome::Template | FileOutcome::Invalid => t.linted += 1,
            FileOutcome::Parameters | FileOutcome::NotArm | FileOutcome::Skipped(_) => {
                t.skipped += 1
            }
            FileOutcome::Unreadable(_) => t.failed += 1,
        }
        for d in &f.diagnostics {
            if d.suppressed.is_some() {
                t.suppressed += 1;
                continue;
            }
            if !d.counts() {
                t.baselined += 1;
                continue;
            }
            match d.level {
                Level::Error => t.errors += 1,
                Level::Warning => t.warnings += 1,
                Level::Note => t.notes += 1,
            }
        }
    }
    t
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// "Linted 3 files (1 skipped): 1 error, 2 warnings, 0 notes (4 suppressed) in 0.01s".
pub fn summary_line(run: &Run<'_>) -> String {
    let t = totals(run);
    let mut line = format!("Linted {}", plural(t.linted, "file"));
    if t.skipped > 0 || t.failed > 0 {
        line.push_str(&format!(" ({} skipped", t.skipped));
        if t.failed > 0 {
            line.push_str(&format!(", {} unreadable", t.failed));
        }
        line.push(')');
    }
    line.push_str(&format!(
        ": {}, {}, {}",
        plural(t.errors, "error"),
        plural(t.warnings, "warning"),
        plural(t.notes, "note"),
    ));
    let hidden: Vec<String> = [
        (t.suppressed, "suppressed"),
        (t.baselined, "in the baseline"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if !hidden.is_empty() {
        line.push_str(&format!(" ({})", hidden.join(", ")));
    }
    line.push_str(&format!(" in {:.2}s", run.elapsed.as_secs_f64()));
    line
}
