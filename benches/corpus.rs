//! Whole-pipeline benchmark: `cargo bench --bench corpus [-- DIR]`.
//!
//! Lints every file under DIR (default `../shared/corpus`) the way `trustlint check`
//! does — discover, read, parse, build the model, run every rule, render SARIF — and,
//! for comparison, the floor: discover, read and parse only. The two alternate, run
//! after run, on all cores. Prints files, MB, the best wall time, files/s and MB/s, and
//! the mean CPU time (time on a CPU of every thread, from `/proc/self/task/*/schedstat`) of each, and both ratios.
//!
//! `TRUSTLINT_BENCH=floor` or `=lint` runs that side once and nothing else, for
//! `valgrind --tool=callgrind` (instruction counts stay repeatable on a noisy machine).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use trustlint::date::Date;
use trustlint::linter::{lint_files, run_files, LintOptions};
use trustlint::report::{self, Run};
use trustlint::rules::{self, RuleOptions};

const RUNS: usize = 10;

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
    let as_of = Date::new(2026, 11, 23);

    let floor = || {
        let found = trustlint::discover::discover(std::slice::from_ref(&dir));
        found
            .files
            .par_iter()
            .map(|p| {
                let bytes = std::fs::read(p).unwrap_or_default();
                // The cheapest correct decoding (the lossy one only for invalid text).
                let text = match std::str::from_utf8(&bytes) {
                    Ok(text) => std::borrow::Cow::Borrowed(text),
                    Err(_) => String::from_utf8_lossy(&bytes),
                };
                let ok = trustlint::parse::parse(&text).is_ok();
                (bytes.len() as u64, ok)
            })
            .collect::<Vec<_>>()
            .into_iter()
            .fold((0usize, 0u64), |(n, b), (len, _)| (n + 1, b + len))
    };

    let lint = || {
        let started = Instant::now();
        let mut found = trustlint::discover::discover(std::slice::from_ref(&dir));
        // As `trustlint check` sets them up.
        let mut options = LintOptions::new(rules::ALL.to_vec(), RuleOptions::new(as_of));
        options.walked = std::mem::take(&mut found.walked);
        options.run_files = run_files(&found.files);
        let mut files = lint_files(&found.files, &options);
        trustlint::estate::connect(&mut files, &options);
        trustlint::linter::drop_facts(&mut files);
        let run = Run {
            files: &files,
            path_errors: &found.errors,
            rules: rules::ALL,
            as_of,
            configured_levels: &Default::default(),
            elapsed: started.elapsed(),
        };
        let sarif = report::sarif::render(&run);
        std::hint::black_box(sarif);
        (files.len(), files.iter().map(|f| f.bytes).sum::<u64>())
    };
    match std::env::var("TRUSTLINT_BENCH").as_deref() {
        Ok("floor") => {
            std::hint::black_box(floor());
            return;
        }
        Ok("lint") => {
            std::hint::black_box(lint());
            return;
        }
        _ => {}
    }
    let [floor, lint] = alternate([&floor, &lint]);

    println!(
        "corpus: {}  ({} threads, best of {RUNS} runs)",
        dir.display(),
        rayon::current_num_threads()
    );
    print_line("parse only (floor)", floor);
    print_line("trustlint check --format sarif", lint);
    println!(
        "ratio to floor: {:.2}x wall (best), {:.2}x CPU (mean)",
        lint.2.as_secs_f64() / floor.2.as_secs_f64(),
        lint.3 / floor.3
    );
}

/// Runs each side `RUNS` times, alternating: (files, bytes, best wall time, mean CPU
/// seconds).
fn alternate<const N: usize>(
    sides: [&dyn Fn() -> (usize, u64); N],
) -> [(usize, u64, Duration, f64); N] {
    let mut results = [(0, 0, Duration::MAX, 0.0); N];
    for _ in 0..RUNS {
        for (side, result) in sides.iter().zip(results.iter_mut()) {
            let cpu = cpu_seconds();
            let started = Instant::now();
            let (files, bytes) = side();
            let wall = started.elapsed();
            result.0 = files;
            result.1 = bytes;
            result.2 = result.2.min(wall);
            result.3 += (cpu_seconds() - cpu) / RUNS as f64;
        }
    }
    results
}

/// This process's CPU time so far, every live thread's (the benchmark's threads live
/// to the end): nanoseconds on a CPU from `/proc/self/task/*/schedstat`, else user +
/// system ticks from `/proc/self/stat` (0 where there is neither).
fn cpu_seconds() -> f64 {
    let scheduled: Option<f64> = std::fs::read_dir("/proc/self/task").ok().map(|tasks| {
        tasks
            .flatten()
            .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
            .filter_map(|line| line.split_whitespace().next()?.parse::<f64>().ok())
            .sum::<f64>()
            / 1e9
    });
    if let Some(seconds) = scheduled.filter(|s| *s > 0.0) {
        return seconds;
    }
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) in parentheses.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}
fn print_line(what: &str, (files, bytes, time, cpu): (usize, u64, Duration, f64)) {
    let secs = time.as_secs_f64();
    let mb = bytes as f64 / 1_000_000.0;
    println!(
        "{what:<32} {files} files, {mb:.1} MB in {secs:.3} s: {:.0} files/s, {:.1} MB/s; CPU {cpu:.3} s",
        files as f64 / secs,
        mb / secs
    );
}
