//! Diagnostics: what a rule found, where, and what to do about it.
//!
//! Diagnostics carry byte spans only; lines and columns are computed by the reporters.

use std::fmt;
use std::sync::Arc;

use crate::source::{SourceFile, Span};

/// How serious a diagnostic is. Ordered: `Note < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Note,
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Note => "note",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secondary location: where a deciding value was written, or a related resource.
#[derive(Debug, Clone)]
pub struct Related {
    pub span: Span,
    pub label: String,
    /// The file it is in, when not the diagnostic's own (a parameters file).
    pub file: Option<Arc<SourceFile>>,
}

/// The copy-loop instances a diagnostic stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyInstances {
    pub loop_name: String,
    /// Each instance, as its resource name (or index when the name is unknown).
    pub instances: Vec<String>,
    /// Why the loop's count is unknown (then only instance 0 was linted).
    pub unknown_count: Option<String>,
}

/// The resource a diagnostic is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceInfo {
    pub full_type: String,
    pub name: String,
    /// JSON pointer of the resource object in the file.
    pub pointer: String,
}

/// One finding, in one file.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub rule: &'static str,
    pub level: Level,
    pub message: String,
    /// The primary span: the value that is wrong, or the object that should contain
    /// a missing setting.
    pub span: Span,
    /// Text shown at the primary span.
    pub label: String,
    pub related: Vec<Related>,
    pub help: Option<String>,
    pub resource: Option<ResourceInfo>,
    /// Set when the resource is in a copy loop.
    pub copies: Option<CopyInstances>,
    /// Identifies the finding independently of where its lines are (see [`crate::baseline`]).
    pub fingerprint: String,
    /// Set when a suppression covers the finding: it is kept (SARIF shows it as
    /// dismissed) but does not count.
    pub suppressed: Option<Suppressed>,
    /// Set when the run compares against a baseline.
    pub baseline: Option<BaselineState>,
    /// The JSON pointer of the value at `span` in its file (set with the fingerprint;
    /// a `.bicep` source maps findings through it).
    pub pointer: String,
}

/// Where a suppression was written (SARIF `suppressions[].kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuppressionKind {
    /// In the template: a comment, resource metadata or a Bicep description.
    InSource,
    /// In the config file.
    External,
}

/// Why a finding is not reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppressed {
    pub kind: SuppressionKind,
    /// The reason the suppression gives (empty when it gives none: SUP001 says so).
    pub justification: String,
}

/// Whether a finding was in the baseline (SARIF `baselineState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaselineState {
    New,
    Unchanged,
}

impl Diagnostic {
    /// A diagnostic of `rule` at `span`; the rule ID is filled in when reported
    /// through a [`crate::rules::LintContext`].
    pub fn new(level: Level, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            rule: "",
            level,
            message: message.into(),
            span,
            label: String::new(),
            related: Vec::new(),
            help: None,
            resource: None,
            copies: None,
            fingerprint: String::new(),
            suppressed: None,
            baseline: None,
            pointer: String::new(),
        }
    }

    /// Does the finding count (for the exit code and the formats that show only live
    /// findings)? Suppressed findings and findings already in the baseline do not.
    pub fn counts(&self) -> bool {
        self.suppressed.is_none() && self.baseline != Some(BaselineState::Unchanged)
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_related(mut self, span: Span, label: impl Into<String>) -> Self {
        self.related.push(Related {
            span,
            label: label.into(),
            file: None,
        });
        self
    }

    /// A related span in another file of the run.
    pub fn with_related_in(
        mut self,
        file: Arc<SourceFile>,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        self.related.push(Related {
            span,
            label: label.into(),
            file: Some(file),
        });
        self
    }

    /// Adds the origin of a value that came through an expression, if it has one.
    pub fn with_origin(mut self, origin: Option<&crate::template::Origin>) -> Self {
        if let Some(o) = origin {
            let duplicate = o.file.is_none()
                && (o.span == self.span
                    || self
                        .related
                        .iter()
                        .any(|r| r.file.is_none() && r.span == o.span));
            if !duplicate {
                self.related.push(Related {
                    span: o.span,
                    label: o.label.to_string(),
                    file: o.file.clone(),
                });
            }
        }
        self
    }

    /// Escapes control characters that came from the template (resource names, values)
    /// in every text a format shows, so none reaches a terminal or a CI log raw.
    pub fn escape_controls(&mut self) {
        escape_in_place(&mut self.message);
        escape_in_place(&mut self.label);
        if let Some(help) = &mut self.help {
            escape_in_place(help);
        }
        for r in &mut self.related {
            escape_in_place(&mut r.label);
        }
        if let Some(r) = &mut self.resource {
            escape_in_place(&mut r.name);
            escape_in_place(&mut r.full_type);
        }
    }

    /// The order of diagnostics within a file: position, then rule ID.
    pub fn sort_key(&self) -> (u32, u32, &'static str) {
        (self.span.start, self.span.end, self.rule)
    }
}

/// C0 and C1 control characters and DEL, except tab and line feed: what must not reach
/// a terminal raw.
pub fn is_control(c: char) -> bool {
    (c.is_control() && c != '\t' && c != '\n') || c == '\u{7f}'
}

/// `\u{1b}` for ESC: how a control character is shown.
pub fn escape_char(c: char) -> String {
    format!("\\u{{{:x}}}", c as u32)
}

/// Rewrites `text` with every control character escaped (no copy when there is none).
pub fn escape_in_place(text: &mut String) {
    if text.chars().any(is_control) {
        *text = text
            .chars()
            .map(|c| {
                if is_control(c) {
                    escape_char(c)
                } else {
                    c.to_string()
                }
            })
            .collect();
    }
}

/// A stable 64-bit FNV-1a hash of `parts` (each followed by a NUL), as 16 hex digits:
/// the same on every platform and run, for fingerprints that outlive a process.
pub fn stable_hash(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// A rule's level set in the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleLevel {
    Off,
    Level(Level),
}
