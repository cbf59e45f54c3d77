//! Running the built binary from the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The date the end-to-end tests lint on, so they never depend on the clock.
pub const AS_OF: &str = "2026-11-23";

/// Runs trustlint in the crate's directory.
pub fn trustlint(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trustlint"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .output()
        .expect("the binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// Replaces the elapsed time in the summary line, the only non-deterministic output.
pub fn redact_time(text: &str) -> String {
    text.lines()
        .map(|l| match l.rfind(" in ") {
            Some(i) if l.starts_with("Linted ") && l.ends_with('s') => {
                format!("{} in [time]", &l[..i])
            }
            _ => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A scratch directory under the target directory, fresh for each test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs trustlint in `dir`, with no config file above it taken into account unless
/// `dir` holds one.
pub fn trustlint_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trustlint"))
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .output()
        .expect("the binary runs")
}

pub fn sarif_validator() -> jsonschema::Validator {
    let schema_text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/schemas/sarif-schema-2.1.0.json"),
    )
    .unwrap();
    let schema: serde_json::Value = serde_json::from_str(&schema_text).unwrap();
    jsonschema::validator_for(&schema).expect("the SARIF schema compiles")
}

pub fn assert_valid_sarif(text: &str) -> serde_json::Value {
    let sarif: serde_json::Value = serde_json::from_str(text).expect("SARIF is JSON");
    let validator = sarif_validator();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF schema violations:\n{}",
        errors.join("\n")
    );
    sarif
}

/// `check --format json --as-of AS_OF --no-config` and then `paths`.
pub fn json_check<'a>(paths: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["check", "--format", "json", "--as-of", AS_OF, "--no-config"];
    args.extend_from_slice(paths);
    args
}
