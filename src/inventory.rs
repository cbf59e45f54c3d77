//! `trustlint inventory`: the migration worksheet. One row per caller→target edge the
//! estate found, whatever the verdict, and one per locked-down target that admits
//! trusted services with no caller in the run. Rendered as an aligned table, CSV
//! (RFC 4180) or JSON; the columns are documented in docs/inventory.md.

use std::collections::HashSet;

use crate::diagnostic::escape_in_place;
use crate::estate::{Connected, TargetPlace};
use crate::linter::FileReport;
use crate::rules::common::noun;
use crate::rules::data_factory::factory_calls::Mode;
use crate::template::Tri;

/// The columns, in order: the CSV header and the JSON keys.
pub const COLUMNS: [&str; 13] = [
    "caller_kind",
    "caller",
    "caller_file",
    "caller_line",
    "factory_mode",
    "target_kind",
    "target",
    "target_file",
    "target_line",
    "target_state",
    "line_of_sight",
    "verdict",
    "rule",
];

/// One row of the worksheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub caller_kind: String,
    pub caller: String,
    pub caller_file: String,
    pub caller_line: Option<usize>,
    pub factory_mode: String,
    pub target_kind: String,
    pub target: String,
    /// The target's file, or "not in the run", or "declared in the config".
    pub target_file: String,
    pub target_line: Option<usize>,
    pub target_state: String,
    pub line_of_sight: String,
    pub verdict: String,
    pub rule: String,
}

impl Row {
    fn cells(&self) -> [String; 13] {
        let line = |l: Option<usize>| l.map(|l| l.to_string()).unwrap_or_default();
        [
            self.caller_kind.clone(),
            self.caller.clone(),
            self.caller_file.clone(),
            line(self.caller_line),
            self.factory_mode.clone(),
            self.target_kind.clone(),
            self.target.clone(),
            self.target_file.clone(),
            line(self.target_line),
            self.target_state.clone(),
            self.line_of_sight.clone(),
            self.verdict.clone(),
            self.rule.clone(),
        ]
    }
}

/// The rows for a connected run (reports with their facts, and the estate's edges):
/// sorted by caller file and line, then target; targets without callers last.
pub fn rows(reports: &[FileReport], connected: &Connected) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut called: HashSet<(usize, usize)> = HashSet::new();
    for edge in &connected.control {
        let report = &reports[edge.file];
        let Some(u) = report
            .facts
            .as_deref()
            .map(|f| &f.control_uses[edge.control_use])
        else {
            continue;
        };
        let target = edge.target.and_then(|(file, i)| {
            let holder = &reports[file];
            holder.facts.as_deref().map(|f| (holder, &f.targets[i]))
        });
        if let Some((file, i)) = edge.target {
            called.insert((file, i));
        }
        rows.push(Row {
            caller_kind: "API Management control plane".to_owned(),
            caller: format!("{}: {}", u.service, u.what),
            caller_file: crate::paths::display_path(&report.path),
            caller_line: line(u.line),
            factory_mode: String::new(),
            target_kind: noun(u.vault_kinds.first().copied().unwrap_or_default()).to_owned(),
            target: target.map_or_else(|| u.vault.clone(), |(_, t)| t.display.clone()),
            target_file: target.map_or_else(
                || "not in the run".to_owned(),
                |(holder, _)| crate::paths::display_path(&holder.path),
            ),
            target_line: target.and_then(|(_, t)| line(t.line)),
            target_state: target.map_or_else(
                || "unknown".to_owned(),
                |(_, t)| state(&t.access.locked, &t.access.admits),
            ),
            line_of_sight: String::new(),
            verdict: edge.verdict.clone(),
            rule: edge.rule.unwrap_or_default().to_owned(),
        });
    }
    for edge in &connected.edges {
        let report = &reports[edge.file];
        let Some(call) = report.facts.as_deref().map(|f| &f.calls[edge.call]) else {
            continue;
        };
        let kind = call.target_kinds.first().copied().unwrap_or_default();
        let (target, target_file, target_line, target_state) = match &edge.target {
            TargetPlace::InRun { file, target } => {
                called.insert((*file, *target));
                let holder = &reports[*file];
                let t = &holder
                    .facts
                    .as_deref()
                    .expect("targets come from facts")
                    .targets[*target];
                (
                    t.display.clone(),
                    crate::paths::display_path(&holder.path),
                    line(t.line),
                    state(&t.access.locked, &t.access.admits),
                )
            }
            TargetPlace::Declared { trusted_bypass } => (
                call.target_name.clone().unwrap_or_default(),
                "declared in the config".to_owned(),
                None,
                match trusted_bypass {
                    true => "locked down with the trusted bypass".to_owned(),
                    false => "open".to_owned(),
                },
            ),
            TargetPlace::NotInRun => (
                call.target_name
                    .clone()
                    .unwrap_or_else(|| call.target_written.clone()),
                "not in the run".to_owned(),
                None,
                "unknown".to_owned(),
            ),
        };
        let suppressed = edge.rule.and_then(|rule| {
            report
                .diagnostics
                .iter()
                .find(|d| d.rule == rule && d.span == call.span)
                .and_then(|d| d.suppressed.as_ref())
        });
        let verdict = match suppressed {
            Some(s) if s.justification.is_empty() => format!("suppressed ({})", edge.verdict),
            Some(s) => format!("suppressed: {} ({})", s.justification, edge.verdict),
            None => edge.verdict.clone(),
        };
        rows.push(Row {
            caller_kind: call.kind.as_str().to_owned(),
            caller: format!("{}: {}", call.caller, call.how),
            caller_file: crate::paths::display_path(&report.path),
            caller_line: line(call.line),
            factory_mode: edge
                .factory_mode
                .as_ref()
                .map(mode_text)
                .unwrap_or_default(),
            target_kind: noun(kind).to_owned(),
            target,
            target_file,
            target_line,
            target_state,
            line_of_sight: sight_text(&edge.line_of_sight, edge),
            verdict,
            rule: edge.rule.unwrap_or_default().to_owned(),
        });
    }
    for (file, report) in reports.iter().enumerate() {
        let Some(facts) = report.facts.as_deref() else {
            continue;
        };
        for (i, t) in facts.targets.iter().enumerate() {
            if !t.access.admits.is_yes() || called.contains(&(file, i)) {
                continue;
            }
            rows.push(Row {
                caller_kind: String::new(),
                caller: String::new(),
                caller_file: String::new(),
                caller_line: None,
                factory_mode: String::new(),
                target_kind: noun(t.kind).to_owned(),
                target: t.display.clone(),
                target_file: crate::paths::display_path(&report.path),
                target_line: line(t.line),
                target_state: "locked down with the trusted bypass".to_owned(),
                line_of_sight: String::new(),
                verdict:
                    "no caller in the run: keep the bypass only for the Azure services that need it"
                        .to_owned(),
                rule: t.rule.unwrap_or_default().to_owned(),
            });
        }
    }
    for row in &mut rows {
        for cell in [
            &mut row.caller,
            &mut row.caller_file,
            &mut row.target,
            &mut row.target_file,
            &mut row.target_state,
            &mut row.verdict,
            &mut row.line_of_sight,
            &mut row.factory_mode,
        ] {
            escape_cell(cell);
        }
    }
    // Files in the order `check` reports them (by path component), callers without a
    // file (targets nobody calls) last.
    let key = |r: &Row| {
        (
            r.caller_file.is_empty(),
            std::path::PathBuf::from(&r.caller_file),
            r.caller_line,
            r.target.clone(),
            std::path::PathBuf::from(&r.target_file),
            r.target_line,
        )
    };
    rows.sort_by_cached_key(key);
    rows.dedup();
    rows
}

/// Escapes what must not reach a terminal or break a row: control characters, and line
/// breaks and tabs too (one row per line in every format).
fn escape_cell(cell: &mut String) {
    escape_in_place(cell);
    if cell.contains(['\n', '\t']) {
        *cell = cell.replace('\n', "\\n").replace('\t', "\\t");
    }
}

/// A recorded line (0: none).
fn line(line: usize) -> Option<usize> {
    (line > 0).then_some(line)
}

fn state(locked: &Tri, admits: &Tri) -> String {
    match (locked, admits) {
        (_, Tri::Yes) => "locked down with the trusted bypass".to_owned(),
        (Tri::Yes, Tri::No) => "locked down without it".to_owned(),
        (Tri::No, _) => "open".to_owned(),
        (Tri::Unknown(reason), _) | (_, Tri::Unknown(reason)) => format!("unknown ({reason})"),
    }
}

fn mode_text(mode: &Mode) -> String {
    match mode {
        Mode::Legacy => "Legacy".to_owned(),
        Mode::Modern => "Modern".to_owned(),
        Mode::Unstated => "not stated".to_owned(),
        Mode::Unknown(reason) => format!("unknown ({reason})"),
    }
}

fn sight_text(sight: &Tri, edge: &crate::estate::Edge) -> String {
    match (&edge.target, sight) {
        (TargetPlace::NotInRun, _) => "unknown (the target is not in the run)".to_owned(),
        (_, Tri::Yes) => "yes".to_owned(),
        (_, Tri::No) => "no".to_owned(),
        (_, Tri::Unknown(reason)) => format!("unknown ({reason})"),
    }
}

/// An aligned table, one row per line; long cells are kept whole (the table is for
/// reading in a terminal or a wide editor).
pub fn render_human(rows: &[Row]) -> String {
    const SHOWN: [(usize, &str); 8] = [
        (0, "CALLER KIND"),
        (1, "CALLER"),
        (2, "AT"),
        (6, "TARGET"),
        (7, "TARGET AT"),
        (9, "TARGET STATE"),
        (10, "LINE OF SIGHT"),
        (11, "VERDICT"),
    ];
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let cells = row.cells();
            let at = |file: &str, line: &str| match line.is_empty() {
                true => file.to_owned(),
                false => format!("{file}:{line}"),
            };
            SHOWN
                .iter()
                .map(|(i, _)| match i {
                    2 => at(&cells[2], &cells[3]),
                    7 => at(&cells[7], &cells[8]),
                    11 if !row.rule.is_empty() => format!("{} [{}]", cells[11], row.rule),
                    _ => cells[*i].clone(),
                })
                .collect()
        })
        .collect();
    let widths: Vec<usize> = SHOWN
        .iter()
        .enumerate()
        .map(|(c, (_, title))| {
            table
                .iter()
                .map(|r| r[c].chars().count())
                .chain([title.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (c, cell) in cells.iter().enumerate() {
            if c + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  ", width = widths[c]));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(SHOWN.iter().map(|(_, t)| *t).collect());
    for r in &table {
        line(r.iter().map(String::as_str).collect());
    }
    out.push_str(&format!(
        "{} dependenc{} on trusted-service connectivity\n",
        rows.len(),
        if rows.len() == 1 { "y" } else { "ies" }
    ));
    out
}

/// RFC 4180: a header row, CRLF line ends, fields quoted when they hold a comma, a
/// quote or a line break. A cell a spreadsheet would read as a formula (`=`, `+`, `-`,
/// `@`, tab or CR first: names come from templates in pull requests) is prefixed with
/// `'`.
pub fn render_csv(rows: &[Row]) -> String {
    let mut out = String::new();
    let mut record = |cells: &[String]| {
        let fields: Vec<String> = cells.iter().map(|c| csv_field(c)).collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    };
    record(&COLUMNS.map(str::to_owned));
    for row in rows {
        record(&row.cells());
    }
    out
}

fn csv_field(cell: &str) -> String {
    let guarded = match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// A JSON array of objects with the [`COLUMNS`] as keys; lines are numbers or `null`.
pub fn render_json(rows: &[Row]) -> String {
    let array: Vec<serde_json::Value> = rows
        .iter()
        .map(|row| {
            let cells = row.cells();
            let mut object = serde_json::Map::new();
            for (i, key) in COLUMNS.iter().enumerate() {
                let value = match *key {
                    "caller_line" => row.caller_line.map_or(serde_json::Value::Null, Into::into),
                    "target_line" => row.target_line.map_or(serde_json::Value::Null, Into::into),
                    _ if cells[i].is_empty() => serde_json::Value::Null,
                    _ => cells[i].clone().into(),
                };
                object.insert((*key).to_owned(), value);
            }
            serde_json::Value::Object(object)
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&array).unwrap_or_else(|_| "[]".to_owned());
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::{csv_field, escape_cell};

    #[test]
    fn cells_never_break_a_row_or_reach_a_terminal_raw() {
        let mut cell = "two\nlines\tand \u{1b}[31mred".to_owned();
        escape_cell(&mut cell);
        assert_eq!(cell, "two\\nlines\\tand \\u{1b}[31mred");
    }

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-1"), "'-1");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }
}
