//! Every rule against its fixtures in `testdata/rules/<ID>/`:
//! `fail-*` must report at warning or error, `note-*` must report only notes,
//! `pass-*` must report nothing. The rendered human output is snapshotted.

mod common;

use std::path::Path;

use trustlint::diagnostic::Level;

fn rule_of(path: &Path) -> String {
    path.parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn fixtures() {
    insta::glob!("../testdata/rules", "*/*.json*", |path| {
        let rule = rule_of(path);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".parameters.json") {
            return; // a fixture's parameters file, used through its template
        }
        // Lint by the path relative to the crate so snapshots do not depend on the checkout.
        let relative = path
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(path);
        // SUP001 judges suppressions against the other rules' findings: run them all.
        let report = if rule == "SUP001" {
            common::lint_with_all_rules(relative, common::AS_OF)
        } else {
            common::lint_with_rule(relative, &rule, common::AS_OF)
        };
        let levels: Vec<Level> = report
            .diagnostics
            .iter()
            .filter(|d| d.counts())
            .map(|d| d.level)
            .collect();
        // A finding: a warning or error, or a note for rules whose level is note.
        let threshold = trustlint::rules::find(&rule)
            .unwrap()
            .meta()
            .default_level
            .min(Level::Warning);
        if name.starts_with("fail-") {
            assert!(
                levels.iter().any(|l| *l >= threshold),
                "{rule}/{name} must fire, got {levels:?}"
            );
        } else if name.starts_with("note-") {
            assert!(
                !levels.is_empty() && levels.iter().all(|l| *l == Level::Note),
                "{rule}/{name} must report only notes, got {levels:?}"
            );
        } else if name.starts_with("pass-") {
            assert!(
                levels.is_empty(),
                "{rule}/{name} must not fire, got {:#?}",
                report.diagnostics
            );
        } else {
            panic!("fixture {rule}/{name} must start with fail-, note- or pass-");
        }
        insta::assert_snapshot!(common::render_human(report, common::AS_OF));
    });
}
