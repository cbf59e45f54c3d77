//! Every input the fuzzers (`fuzz/`, docs/reliability.md) found a problem with, kept in
//! `testdata/fuzz/` and run through what the fuzz targets run: decoding and line
//! mapping, the whole `check` pipeline with every rule, and every output format.

mod common;

use std::time::Duration;

use trustlint::linter::{lint_bytes, FileOutcome};
use trustlint::report::{self, Run};
use trustlint::rules;

#[test]
fn fuzz_findings_stay_fixed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/fuzz");
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty());
    for path in inputs {
        let bytes = std::fs::read(&path).unwrap();
        // Deep evaluation needs the stack `trustlint check` gives its workers.
        std::thread::Builder::new()
            .stack_size(trustlint::WORKER_STACK_BYTES)
            .spawn(move || replay(&path, &bytes))
            .unwrap()
            .join()
            .unwrap();
    }
}

fn replay(path: &std::path::Path, bytes: &[u8]) {
    if let Ok(source) = trustlint::source::SourceFile::decode(path.to_path_buf(), bytes) {
        for offset in [0, source.text.len() / 2, source.text.len()] {
            if source.text.is_char_boundary(offset) {
                let (line, column) = source.line_col(offset);
                let range = source.line_range(line);
                assert!(range.start <= offset, "{}", path.display());
                assert_eq!(column, source.text[range.start..offset].chars().count() + 1);
            }
        }
    }
    let options = common::options(rules::ALL.to_vec(), common::AS_OF);
    let report = lint_bytes(path, bytes, &options);
    assert!(
        !matches!(report.outcome, FileOutcome::Unreadable(_)),
        "{}: {:?}",
        path.display(),
        report.outcome
    );
    let files = [report];
    let run = Run {
        files: &files,
        path_errors: &[],
        rules: rules::ALL,
        as_of: common::AS_OF,
        configured_levels: &Default::default(),
        elapsed: Duration::ZERO,
    };
    let style = report::human::Style {
        color: false,
        width: 100,
        quiet: false,
    };
    report::human::render(&run, style);
    report::sarif::render(&run);
    report::json::render(&run);
    report::github::render(&run);
}
