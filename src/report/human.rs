//! The human format: miette's graphical report per diagnostic, then a summary line.

use std::fmt;
use std::sync::Arc;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, Severity, SourceCode,
};

use crate::diagnostic::{Diagnostic, Level};
use crate::report::{diagnostics, display_path, rule_url, summary_line, Run};

/// How to draw the report.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    /// Wrap width in columns.
    pub width: usize,
}

/// Adapts one of our diagnostics to miette.
struct Report<'a> {
    diagnostic: &'a Diagnostic,
    source: NamedSource<Arc<str>>,
    help: String,
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Report")
            .field("rule", &self.diagnostic.rule)
            .finish()
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}[{}]: {}",
            self.diagnostic.level, self.diagnostic.rule, self.diagnostic.message
        )
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn severity(&self) -> Option<Severity> {
        Some(match self.diagnostic.level {
            Level::Error => Severity::Error,
            Level::Warning => Severity::Warning,
            Level::Note => Severity::Advice,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(&self.help))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let d = self.diagnostic;
        let primary = LabeledSpan::new_primary_with_span(non_empty(&d.label), d.span.range());
        // Secondary spans in this file are labels; those in another file (a parameters
        // file) are listed in the help text instead.
        let related = d
            .related
            .iter()
            .filter(|r| r.file.is_none())
            .map(|r| LabeledSpan::new_with_span(non_empty(&r.label), r.span.range()));
        Some(Box::new(std::iter::once(primary).chain(related)))
    }
}

fn non_empty(label: &str) -> Option<String> {
    (!label.is_empty()).then(|| label.to_owned())
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
    let mut current: Option<(&std::path::Path, NamedSource<Arc<str>>)> = None;
    for (file, source, diagnostic) in diagnostics(run) {
        let named = match &current {
            Some((path, named)) if *path == file.path.as_path() => named.clone(),
            _ => {
                let named = NamedSource::new(display_path(&file.path), source.text.clone());
                current = Some((file.path.as_path(), named.clone()));
                named
            }
        };
        let mut help = diagnostic.help.clone().unwrap_or_default();
        if !help.is_empty() {
            help.push('\n');
        }
        for r in diagnostic.related.iter() {
            if let Some(other) = &r.file {
                let (line, column) = other.line_col(r.span.start as usize);
                help.push_str(&format!("{}, line {line}, column {column}\n", r.label));
            }
        }
        help.push_str(&format!("docs: {}", rule_url(diagnostic.rule)));
        let report = Report {
            diagnostic,
            source: named,
            help,
        };
        if handler.render_report(&mut out, &report).is_err() {
            out.push_str(&format!("{report}\n"));
        }
        out.push('\n');
    }
    out.push_str(&summary_line(run));
    out.push('\n');
    out
}
