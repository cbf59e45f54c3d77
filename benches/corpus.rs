//! Whole-pipeline benchmark: `cargo bench --bench corpus [-- DIR]`.
//!
//! Lints every file under DIR (default `../shared/corpus`) the way `trustlint check`
//! does — discover, read, parse, build the model, run every rule, render SARIF — and,
//! for comparison, the floor: discover, read and parse only. Prints files, MB, seconds,
//! files/s and MB/s for the best of several runs on all cores.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use trustlint::date::Date;
use trustlint::linter::{lint_files, LintOptions};
use trustlint::report::{self, Run};
use trustlint::rules::{self, RuleOptions};

const RUNS: usize = 7;

fn main() {
    let dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus")));
    if !dir.exists() {
        eprintln!(
            "benchmark directory {} does not exist; pass one after `--`",
            dir.display()
        );
        return;
    }
    let options = LintOptions::new(
        rules::ALL.to_vec(),
        RuleOptions::new(Date::new(2026, 11, 23)),
    );

    let floor = best_of(|| {
        let found = trustlint::discover::discover(std::slice::from_ref(&dir));
        found
            .files
            .par_iter()
            .map(|p| {
                let bytes = std::fs::read(p).unwrap_or_default();
                let text = String::from_utf8_lossy(&bytes);
                let ok = trustlint::parse::parse(&text).is_ok();
                (bytes.len() as u64, ok)
            })
            .collect::<Vec<_>>()
            .into_iter()
            .fold((0usize, 0u64), |(n, b), (len, _)| (n + 1, b + len))
    });

    let lint = best_of(|| {
        let started = Instant::now();
        let found = trustlint::discover::discover(std::slice::from_ref(&dir));
        let files = lint_files(&found.files, &options);
        let run = Run {
            files: &files,
            path_errors: &found.errors,
            rules: rules::ALL,
            as_of: options.rule_options.as_of,
            configured_levels: &Default::default(),
            elapsed: started.elapsed(),
        };
        let sarif = report::sarif::render(&run);
        std::hint::black_box(sarif);
        (files.len(), files.iter().map(|f| f.bytes).sum::<u64>())
    });

    println!(
        "corpus: {}  ({} threads, best of {RUNS} runs)",
        dir.display(),
        rayon::current_num_threads()
    );
    print_line("parse only (floor)", floor);
    print_line("trustlint check --format sarif", lint);
    println!(
        "ratio to floor: {:.2}x",
        lint.2.as_secs_f64() / floor.2.as_secs_f64()
    );
}

fn best_of(mut f: impl FnMut() -> (usize, u64)) -> (usize, u64, Duration) {
    let mut best = Duration::MAX;
    let mut totals = (0, 0);
    for _ in 0..RUNS {
        let started = Instant::now();
        totals = f();
        best = best.min(started.elapsed());
    }
    (totals.0, totals.1, best)
}

fn print_line(what: &str, (files, bytes, time): (usize, u64, Duration)) {
    let secs = time.as_secs_f64();
    let mb = bytes as f64 / 1_000_000.0;
    println!(
        "{what:<32} {files} files, {mb:.1} MB in {secs:.3} s: {:.0} files/s, {:.1} MB/s",
        files as f64 / secs,
        mb / secs
    );
}
