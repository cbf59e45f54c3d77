//! The JSON format: a stable array of diagnostics (documented in `docs/output-formats.md`).

use serde_json::{json, Value};

use crate::report::{display_path, live_diagnostics, locate, Location, Run};

fn position(l: &Location, start: bool) -> Value {
    if start {
        json!({ "line": l.start_line, "column": l.start_column, "offset": l.start_offset })
    } else {
        json!({ "line": l.end_line, "column": l.end_column, "offset": l.end_offset })
    }
}

/// The array, pretty-printed one diagnostic at a time (the same text as pretty-printing
/// the whole array, without holding every diagnostic as a JSON tree at once).
pub fn render(run: &Run<'_>) -> String {
    let mut out = String::new();
    for (i, item) in items(run).enumerate() {
        out.push_str(if i == 0 { "[\n" } else { ",\n" });
        let text = serde_json::to_string_pretty(&item).unwrap_or_else(|_| "null".to_owned());
        for (j, line) in text.lines().enumerate() {
            if j > 0 {
                out.push('\n');
            }
            out.push_str("  ");
            out.push_str(line);
        }
    }
    out.push_str(if out.is_empty() { "[]\n" } else { "\n]\n" });
    out
}

fn items<'r>(run: &'r Run<'r>) -> impl Iterator<Item = Value> + 'r {
    live_diagnostics(run).map(|(file, source, d)| {
        let at = locate(source, d.span);
        let related: Vec<Value> = d
            .related
            .iter()
            .map(|r| {
                let in_file = r.file.as_deref().unwrap_or(source);
                let l = locate(in_file, r.span);
                json!({
                    "message": r.label,
                    "file": display_path(&in_file.path),
                    "start": position(&l, true),
                    "end": position(&l, false),
                })
            })
            .collect();
        json!({
            "rule": d.rule,
            "level": d.level.as_str(),
            "message": d.message,
            "file": display_path(&file.path),
            "start": position(&at, true),
            "end": position(&at, false),
            "resource": d.resource.as_ref().map(|r| json!({
                "type": r.full_type,
                "name": r.name,
                "path": r.pointer,
            })),
            "help": d.help,
            "related": related,
        })
    })
}
