//! SARIF 2.1.0 for GitHub code scanning and editors' SARIF viewers.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{json, Value};

use crate::diagnostic::{stable_hash, BaselineState, Diagnostic, SuppressionKind};
use crate::linter::FileOutcome;
use crate::report::{diagnostics, display_path, locate, rule_url, Run};
use crate::source::{SourceFile, Span};

/// Results one SARIF run may hold (GitHub code scanning's limit).
pub const MAX_RESULTS: usize = 25_000;

pub fn render(run: &Run<'_>) -> String {
    let rule_index: HashMap<&str, usize> = run
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.meta().id, i))
        .collect();
    let rules: Vec<Value> = run.rules.iter().map(|r| rule_descriptor(*r, run)).collect();

    // GitHub code scanning rejects runs with more results than this: keep the most
    // severe (errors, then warnings, then notes; in output order within a level).
    let all: Vec<_> = diagnostics(run).collect();
    let total = all.len();
    let kept: Vec<_> = if total > MAX_RESULTS {
        let mut by_level: Vec<usize> = (0..all.len()).collect();
        by_level.sort_by_key(|&i| std::cmp::Reverse(all[i].2.level));
        let mut keep: Vec<usize> = by_level[..MAX_RESULTS].to_vec();
        keep.sort_unstable();
        keep.into_iter().map(|i| all[i]).collect()
    } else {
        all
    };
    let left_out = total - kept.len();

    let mut occurrences: HashMap<(String, String), usize> = HashMap::new();
    let results: Vec<Value> = kept
        .into_iter()
        .map(|(file, source, d)| {
            let uri = artifact_uri(&file.path);
            let hash = line_hash(source, d);
            let n = occurrences.entry((uri.clone(), hash.clone())).or_insert(0);
            *n += 1;
            let related: Vec<Value> = d
                .related
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let (related_uri, in_file) = match &r.file {
                        Some(other) => (artifact_uri(&other.path), other.as_ref()),
                        None => (uri.clone(), source),
                    };
                    json!({
                        "id": i + 1,
                        "physicalLocation": physical_location(&related_uri, in_file, r.span),
                        "message": { "text": r.label },
                    })
                })
                .collect();
            let mut result = json!({
                "ruleId": d.rule,
                "level": d.level.as_str(),
                "message": { "text": message_text(d) },
                "locations": [{ "physicalLocation": physical_location(&uri, source, d.span) }],
                "partialFingerprints": {
                    "primaryLocationLineHash": format!("{hash}:{n}"),
                    "trustlint/v1": d.fingerprint,
                },
            });
            if let Some(s) = &d.suppressed {
                let mut suppression = json!({
                    "kind": match s.kind {
                        SuppressionKind::InSource => "inSource",
                        SuppressionKind::External => "external",
                    },
                    "status": "accepted",
                });
                if !s.justification.is_empty() {
                    suppression["justification"] = json!(s.justification);
                }
                result["suppressions"] = json!([suppression]);
            }
            if let Some(state) = d.baseline {
                result["baselineState"] = json!(match state {
                    BaselineState::New => "new",
                    BaselineState::Unchanged => "unchanged",
                });
            }
            if let Some(i) = rule_index.get(d.rule) {
                result["ruleIndex"] = json!(i);
            }
            if !related.is_empty() {
                result["relatedLocations"] = json!(related);
            }
            if let Some(r) = &d.resource {
                result["properties"] = json!({ "resourceType": r.full_type, "resourceName": r.name, "resourcePointer": r.pointer });
            }
            result
        })
        .collect();

    let mut notifications: Vec<Value> = run
        .path_errors
        .iter()
        .map(|e| notification(&e.path, &e.message))
        .collect();
    for f in run.files {
        if let FileOutcome::Unreadable(why) = &f.outcome {
            notifications.push(notification(&f.path, why));
        }
        if let Some(why) = &f.parameters_error {
            notifications.push(notification(&f.path, why));
        }
    }
    let successful = notifications.is_empty();
    if left_out > 0 {
        notifications.push(json!({
            "level": "warning",
            "message": { "text": format!(
                "{left_out} of {total} results were left out: GitHub code scanning accepts at most {MAX_RESULTS} per run, so the most severe were kept; run with --format json for all of them"
            ) },
        }));
    }

    let sarif = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "trustlint",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": env!("CARGO_PKG_REPOSITORY"),
                    "rules": rules,
                }
            },
            "invocations": [{
                "executionSuccessful": successful,
                "toolExecutionNotifications": notifications,
            }],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    });
    let mut out = serde_json::to_string_pretty(&sarif).unwrap_or_default();
    out.push('\n');
    out
}

/// The message, with the help appended so viewers that show only the message still say
/// what to do.
fn message_text(d: &Diagnostic) -> String {
    match &d.help {
        Some(help) => format!("{}. Help: {help}", d.message),
        None => d.message.clone(),
    }
}

fn rule_descriptor(rule: &dyn crate::rules::Rule, run: &Run<'_>) -> Value {
    let meta = rule.meta();
    let area = match meta.id.trim_end_matches(|c: char| c.is_ascii_digit()) {
        "STG" => "storage",
        "KV" | "HSM" => "key-vault",
        "SB" | "EH" => "messaging",
        "ACR" => "container-registry",
        "APIM" => "api-management",
        "ADF" => "data-factory",
        _ => "tool",
    };
    json!({
        "id": meta.id,
        "name": meta.name,
        "shortDescription": { "text": meta.summary },
        "fullDescription": { "text": first_paragraph(meta.docs) },
        "help": { "text": meta.docs, "markdown": meta.docs },
        "helpUri": rule_url(meta.id),
        "defaultConfiguration": { "level": run.level_of(rule).as_str() },
        "properties": {
            "tags": ["security", "azure", "arm", area],
            "precision": "high",
            "security-severity": meta.security_severity,
        },
    })
}

/// The first paragraph after the title of a rule doc.
pub fn first_paragraph(doc: &str) -> String {
    doc.split("\n\n")
        .map(str::trim)
        .find(|p| !p.is_empty() && !p.starts_with('#'))
        .unwrap_or("")
        .replace('\n', " ")
}

fn physical_location(uri: &str, source: &SourceFile, span: Span) -> Value {
    let l = locate(source, span);
    json!({
        "artifactLocation": { "uri": uri },
        "region": {
            "startLine": l.start_line,
            "startColumn": l.start_column,
            "endLine": l.end_line,
            "endColumn": l.end_column,
            "byteOffset": l.start_offset,
            "byteLength": l.end_offset - l.start_offset,
        }
    })
}

fn notification(path: &Path, message: &str) -> Value {
    json!({
        "level": "error",
        "message": { "text": format!("{}: {message}", display_path(path)) },
        "locations": [{ "physicalLocation": { "artifactLocation": { "uri": artifact_uri(path) } } }],
    })
}

/// The file's URI: relative to the current directory with forward slashes and percent
/// encoding; an absolute `file://` URI for files outside it.
pub fn artifact_uri(path: &Path) -> String {
    let relative = if path.is_absolute() {
        std::env::current_dir()
            .ok()
            .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf))
    } else {
        Some(path.to_path_buf())
    };
    match relative {
        Some(p) => percent_encode(&display_path(&p)),
        None => format!("file://{}", percent_encode(&display_path(path))),
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Bytes of a line that the line hash reads at most.
const MAX_HASHED_LINE: usize = 256;

/// A hash of what identifies the finding independently of its line number: the rule,
/// the resource and the primary line's text without whitespace.
fn line_hash(source: &SourceFile, d: &Diagnostic) -> String {
    let (line, _) = source.line_col(d.span.start as usize);
    let mut range = source.line_range(line);
    // On a long (minified) line, the text around the finding stands for the line.
    if range.len() > MAX_HASHED_LINE {
        // The span may start in the line's trimmed terminator (`\r` runs): clamp it.
        let start = (d.span.start as usize).clamp(range.start, range.end);
        range = start.saturating_sub(MAX_HASHED_LINE / 2).max(range.start)
            ..(start + MAX_HASHED_LINE / 2).min(range.end);
        while !source.text.is_char_boundary(range.start) {
            range.start -= 1;
        }
        while !source.text.is_char_boundary(range.end) {
            range.end -= 1;
        }
    }
    let text: String = source.text[range]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let resource = d.resource.as_ref().map(|r| r.name.as_str()).unwrap_or("");
    stable_hash(&[d.rule, resource, &text])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_percent_encoded_relative_references() {
        assert_eq!(
            artifact_uri(Path::new("./a b/c#1.json")),
            "a%20b/c%231.json"
        );
        assert_eq!(artifact_uri(Path::new("dir/x.json")), "dir/x.json");
    }

    #[test]
    fn line_hash_of_a_span_in_a_long_lines_terminator() {
        let text = format!(
            "{{\"a\": \"{}\", \"b\":{}",
            "x".repeat(400),
            "\r".repeat(200)
        );
        let source =
            SourceFile::from_text("t.json".into(), text.clone(), crate::source::Encoding::Utf8);
        let d = Diagnostic::new(
            crate::diagnostic::Level::Error,
            Span::new(text.len(), text.len()),
            "x",
        );
        assert_eq!(line_hash(&source, &d).len(), 16);
    }

    #[test]
    fn first_paragraph_skips_title() {
        assert_eq!(first_paragraph("# T\n\nOne\ntwo.\n\n## Next"), "One two.");
    }
}
