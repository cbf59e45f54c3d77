//! The whole `check` pipeline on arbitrary bytes: decode, parse, model, evaluate, every
//! rule, suppressions, then every output format.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|bytes: &[u8]| {
    let bytes = bytes.to_vec();
    common::on_big_stack(move || {
        let options = trustlint::linter::LintOptions::new(
            trustlint::rules::ALL.to_vec(),
            trustlint::rules::RuleOptions::new(trustlint::date::Date::new(2026, 11, 30)),
        );
        let report = trustlint::linter::lint_owned("fuzz.json".as_ref(), bytes, &options);
        if let trustlint::linter::FileOutcome::Unreadable(why) = &report.outcome {
            // Only a panic caught while linting gives this for bytes in memory.
            panic!("{why}");
        }
        let files = [report];
        let run = trustlint::report::Run {
            files: &files,
            path_errors: &[],
            rules: trustlint::rules::ALL,
            as_of: options.rule_options.as_of,
            configured_levels: &Default::default(),
            elapsed: std::time::Duration::ZERO,
        };
        let style = trustlint::report::human::Style {
            color: false,
            width: 100,
            quiet: false,
        };
        let _ = trustlint::report::human::render(&run, style);
        let _ = trustlint::report::sarif::render(&run);
        let _ = trustlint::report::json::render(&run);
        let _ = trustlint::report::github::render(&run);
    });
});
