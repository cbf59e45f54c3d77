//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod bin;

use std::path::Path;
use std::time::Duration;

use trustlint::date::Date;
use trustlint::linter::{lint_bytes, FileReport, LintOptions};
use trustlint::report::{self, Run};
use trustlint::rules::{self, Rule, RuleOptions};

/// The date fixtures are linted on, so snapshots never depend on the clock.
pub const AS_OF: Date = Date::new(2026, 11, 23);

pub fn options(rules: Vec<&'static dyn Rule>, as_of: Date) -> LintOptions {
    LintOptions::new(rules, RuleOptions::new(as_of))
}

/// Lints a file with only `rule_id` enabled, as a run of that one file (the estate
/// included: a call whose target is in no file gets ADF005).
pub fn lint_with_rule(path: &Path, rule_id: &str, as_of: Date) -> FileReport {
    let rule = rules::find(rule_id).unwrap_or_else(|| panic!("no rule {rule_id}"));
    lint_alone(path, &options(vec![rule], as_of))
}

/// Lints a file with every rule enabled, as a run of that one file.
pub fn lint_with_all_rules(path: &Path, as_of: Date) -> FileReport {
    lint_alone(path, &options(rules::ALL.to_vec(), as_of))
}

fn lint_alone(path: &Path, options: &LintOptions) -> FileReport {
    let bytes = std::fs::read(path).unwrap();
    let mut reports = [lint_bytes(path, &bytes, options)];
    trustlint::estate::connect(&mut reports, options);
    trustlint::linter::drop_facts(&mut reports);
    let [report] = reports;
    report
}

/// Renders one report in the human format without colour, with a fixed elapsed time.
pub fn render_human(report: FileReport, as_of: Date) -> String {
    let files = [report];
    let run = Run {
        files: &files,
        path_errors: &[],
        rules: rules::ALL,
        as_of,
        configured_levels: &Default::default(),
        elapsed: Duration::ZERO,
    };
    report::human::render(
        &run,
        report::human::Style {
            color: false,
            width: 100,
            quiet: false,
        },
    )
}
