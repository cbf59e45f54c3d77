//! Hostile input, run through the real binary under a memory cap and a time limit.
//!
//! Each case writes its input into a scratch directory next to `good.json`, a template
//! with one known finding, and asserts: no crash (an exit code, not a signal), the
//! right exit code, the good file's finding still reported, within the time limit and
//! the memory cap. The largest inputs are `#[ignore]`d (run them with
//! `cargo test --release --test torture -- --ignored`, see docs/reliability.md).
#![cfg(unix)]

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::bin::{scratch, AS_OF};

const SCHEMA: &str =
    "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#";

/// Virtual memory the binary may map (its worker threads reserve 64 MiB stacks each).
const MEMORY_CAP_KIB: u64 = 3 << 20;

/// A template with one STG001 finding on the storage account `good`.
fn good_template() -> String {
    template(
        &storage(
            "good",
            r#"{"defaultAction": "Deny", "bypass": "AzureServices"}"#,
        ),
        "{}",
    )
}

fn storage(name: &str, network_acls: &str) -> String {
    format!(
        r#"{{"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-05-01", "name": "{name}", "location": "westeurope", "properties": {{"networkAcls": {network_acls}}}}}"#
    )
}

fn template(resources: &str, variables: &str) -> String {
    format!(
        r#"{{"$schema": "{SCHEMA}", "contentVersion": "1.0.0.0", "variables": {variables}, "resources": [{resources}]}}"#
    )
}

/// A scratch directory holding `good.json`.
fn with_good(name: &str) -> PathBuf {
    let dir = scratch(&format!("torture-{name}"));
    std::fs::write(dir.join("good.json"), good_template()).unwrap();
    dir
}

/// Runs trustlint in `dir` under the memory cap; kills it past `limit`.
fn run(dir: &Path, args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {MEMORY_CAP_KIB} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_trustlint"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    // Drain both pipes on threads so that a large report cannot block the child.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("trustlint {args:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The run ended with `code` (not a signal: no crash, no abort) and still reported the
/// good file's finding.
fn assert_survived(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "status {:?}\nstderr:\n{}",
        o.status,
        text(&o.stderr)
    );
    let out = text(&o.stdout);
    assert!(
        out.contains("good.json") && out.contains("STG001"),
        "the good file's finding is missing:\n{}",
        &out[..out.len().min(2000)]
    );
    let err = text(&o.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("internal error"),
        "{err}"
    );
}

const QUICK: Duration = Duration::from_secs(30);

/// `trustlint check .` in JSON, or in the format `extra` names.
/// Writes `file` (a template of `resources` and `variables`) beside the good template,
/// lints the folder, and checks that the run survived with the good file's finding.
fn check_template(dir: &Path, file: &str, resources: &[String], variables: &str) -> Output {
    std::fs::write(dir.join(file), template(&resources.join(","), variables)).unwrap();
    let o = check(dir, &[]);
    assert_survived(&o, 1);
    o
}

fn check(dir: &Path, extra: &[&str]) -> Output {
    lint(dir, &["."], extra, QUICK)
}

fn check_within(dir: &Path, extra: &[&str], limit: Duration) -> Output {
    lint(dir, &["."], extra, limit)
}

/// `trustlint check PATHS` with no config, on the tests' date, in JSON unless `extra`
/// names a format.
fn lint(dir: &Path, paths: &[&str], extra: &[&str], limit: Duration) -> Output {
    let mut args = vec!["check"];
    args.extend_from_slice(paths);
    args.extend(["--no-config", "--as-of", AS_OF]);
    if !extra.contains(&"--format") {
        args.extend(["--format", "json"]);
    }
    args.extend_from_slice(extra);
    run(dir, &args, limit)
}

#[test]
fn findings_past_column_65535_in_a_minified_template_render() {
    let dir = with_good("minified");
    let accounts: Vec<String> = (0..800)
        .map(|i| storage(&format!("st{i}"), r#"{"defaultAction": "Deny"}"#))
        .collect();
    std::fs::write(
        dir.join("minified.json"),
        template(&accounts.join(","), "{}"),
    )
    .unwrap();
    let o = lint(&dir, &["."], &["--format", "human"], QUICK);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("good.json") && out.contains("st799"),
        "{}",
        &out[..2000]
    );
    assert!(
        out.contains("minified.json:1:"),
        "the header names the real column"
    );
    // Snippets are clipped: no line of the report is anywhere near the file's width.
    assert!(out.lines().all(|l| l.chars().count() < 400));
}

#[test]
fn doubling_values_stop_at_the_size_budget() {
    let dir = with_good("doubling");
    let mut strings = vec![r#""s0": "0123456789""#.to_owned()];
    let mut objects = vec![r#""o0": {"x": "AzureServices"}"#.to_owned()];
    for i in 1..=40 {
        strings.push(format!(
            r#""s{i}": "[concat(variables('s{p}'), variables('s{p}'))]""#,
            p = i - 1
        ));
        objects.push(format!(
            r#""o{i}": "[createObject('a', variables('o{p}'), 'b', variables('o{p}'))]""#,
            p = i - 1
        ));
    }
    let variables = format!(
        "{{{}, {}, \"shown\": \"[string(variables('o40'))]\", \"copies\": {{\"copy\": [{{\"name\": \"c\", \"count\": 800, \"input\": {{\"copy\": [{{\"name\": \"d\", \"count\": 800, \"input\": {{\"copy\": [{{\"name\": \"e\", \"count\": 800, \"input\": \"[variables('s20')]\"}}]}}}}]}}}}]}}}}",
        strings.join(", "),
        objects.join(", ")
    );
    let resources = [
        storage("[variables('s40')]", r#"{"defaultAction": "Deny"}"#),
        storage(
            "shown",
            r#"{"defaultAction": "Deny", "bypass": "[variables('shown')]"}"#,
        ),
        storage(
            "copies",
            r#"{"defaultAction": "Deny", "bypass": "[string(variables('copies'))]"}"#,
        ),
    ];
    let o = check_template(&dir, "doubling.json", &resources, &variables);
    assert!(
        text(&o.stdout).contains("evaluation budget exceeded"),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn nested_copy_loops_and_quadratic_functions_stay_within_the_budgets() {
    let dir = with_good("multiplying");
    // 800 × 800 × 800 resource instances from one kilobyte.
    let grandchild = r#"{"type": "c", "apiVersion": "1", "name": "[string(copyIndex('g'))]", "copy": {"name": "g", "count": 800}}"#;
    let child = format!(
        r#"{{"type": "b", "apiVersion": "1", "name": "[string(copyIndex('c'))]", "copy": {{"name": "c", "count": 800}}, "resources": [{grandchild}]}}"#
    );
    let parent = format!(
        r#"{{"type": "Microsoft.Example/a", "apiVersion": "1", "name": "[string(copyIndex())]", "copy": {{"name": "p", "count": 800}}, "resources": [{child}]}}"#
    );
    std::fs::write(dir.join("copies.json"), template(&parent, "{}")).unwrap();
    // A single call comparing every pair of 10,000 elements, a thousand times, and an
    // object of 20,000 keys compared with itself.
    let keys: Vec<String> = (0..20_000).map(|i| format!(r#""k{i}": {i}"#)).collect();
    let variables = format!(
        r#"{{"big": "[range(0, 10000)]", "o": {{{}}}, "pairs": "[map(range(0, 1000), lambda('i', length(union(variables('big'), variables('big')))))]", "same": "[equals(variables('o'), variables('o'))]"}}"#,
        keys.join(", ")
    );
    let resources = [
        storage(
            "pairs",
            r#"{"defaultAction": "Deny", "bypass": "[string(variables('pairs'))]"}"#,
        ),
        storage(
            "same",
            r#"{"defaultAction": "Deny", "bypass": "[string(variables('same'))]"}"#,
        ),
    ];
    check_template(&dir, "quadratic.json", &resources, &variables);
}

#[test]
fn long_reference_chains_are_evaluated_or_stop_at_the_depth_budget() {
    let dir = with_good("chains");
    // 2,000 variables in a chain, and 100 variables each nesting 20 calls: within
    // Azure's limits, so they are evaluated.
    let mut chain = vec![r#""c0": "AzureServices""#.to_owned()];
    chain.extend((1..=2000).map(|i| format!(r#""c{i}": "[variables('c{}')]""#, i - 1)));
    let mut nested = vec![r#""n0": "AzureServices""#.to_owned()];
    nested.extend((1..=100).map(|i| {
        format!(
            r#""n{i}": "[{}variables('n{}'){}]""#,
            "concat(".repeat(20),
            i - 1,
            ")".repeat(20)
        )
    }));
    // 20,000 variables: past the depth budget, unknown with the reason.
    let mut deep = vec![r#""d0": "AzureServices""#.to_owned()];
    deep.extend((1..=20_000).map(|i| format!(r#""d{i}": "[variables('d{}')]""#, i - 1)));
    let variables = format!(
        "{{{}, {}, {}}}",
        chain.join(","),
        nested.join(","),
        deep.join(",")
    );
    let resources = [
        storage(
            "chained",
            r#"{"defaultAction": "Deny", "bypass": "[variables('c2000')]"}"#,
        ),
        storage(
            "nested",
            r#"{"defaultAction": "Deny", "bypass": "[variables('n100')]"}"#,
        ),
        storage(
            "deep",
            r#"{"defaultAction": "Deny", "bypass": "[variables('d20000')]"}"#,
        ),
    ];
    let o = check_template(&dir, "chains.json", &resources, &variables);
    let out = text(&o.stdout);
    assert!(
        out.contains("storage account `chained` is locked down"),
        "{out}"
    );
    assert!(
        out.contains("storage account `nested` is locked down"),
        "{out}"
    );
    assert!(out.contains("evaluation nests deeper than"), "{out}");
}

#[test]
fn a_10000_deep_expression_and_10000_deep_json_are_reported() {
    let dir = with_good("deep");
    let expression = format!("[{}'x'{}]", "concat(".repeat(10_000), ")".repeat(10_000));
    std::fs::write(
        dir.join("expression.json"),
        template(
            &storage(
                "expr",
                &format!(r#"{{"defaultAction": "Deny", "bypass": "{expression}"}}"#),
            ),
            "{}",
        ),
    )
    .unwrap();
    let nesting = format!(
        r#"{{"$schema": "{SCHEMA}", "contentVersion": "1.0.0.0", "resources": [], "x": {}{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    std::fs::write(dir.join("nesting.json"), nesting).unwrap();
    let objects = format!(
        r#"{{"$schema": "{SCHEMA}", "contentVersion": "1.0.0.0", "resources": [], "x": {}1{}}}"#,
        "{\"a\":".repeat(300),
        "}".repeat(300)
    );
    std::fs::write(dir.join("objects.json"), objects).unwrap();
    let o = check(&dir, &[]);
    assert_survived(&o, 1);
    let out = text(&o.stdout);
    assert!(out.contains("nests deeper than 200 levels"), "{out}");
    assert!(out.contains("nested deeper than 512 levels"), "{out}");
    assert!(out.contains("objects nested 301 levels deep"), "{out}");
}

#[test]
fn parameters_that_cannot_be_used_are_errors() {
    let dir = with_good("parameters");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let parameterized = format!(
        r#"{{"$schema": "{SCHEMA}", "contentVersion": "1.0.0.0", "parameters": {{"acl": {{"type": "string", "defaultValue": "Allow"}}}}, "resources": [{}]}}"#,
        storage("fromparams", r#"{"defaultAction": "[parameters('acl')]"}"#)
    );
    std::fs::write(dir.join("sub/t.json"), parameterized).unwrap();
    std::fs::write(
        dir.join("p.json"),
        r#"{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#", "contentVersion": "1.0.0.0", "parameters": {"acl": {"value": "Deny"}}}"#,
    )
    .unwrap();
    std::fs::write(dir.join("bad.json"), "{ not json").unwrap();

    // Spelled differently from the walk's `sub/t.json`: still the same file.
    let o = check(&dir, &["--parameters", "./sub/../sub/t.json=p.json"]);
    assert_survived(&o, 1);
    assert!(
        text(&o.stdout).contains("fromparams"),
        "{}",
        text(&o.stdout)
    );

    // A malformed parameters file: exit 2, and the template is still linted.
    let o = check(&dir, &["--parameters", "sub/t.json=bad.json"]);
    assert_survived(&o, 2);
    assert!(text(&o.stderr).contains("bad.json"), "{}", text(&o.stderr));

    // A key that names no linted template: exit 2, SARIF says the run did not succeed.
    let o = lint(
        &dir,
        &["."],
        &["--format", "sarif", "--parameters", "nothere.json=p.json"],
        QUICK,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let sarif: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let invocation = &sarif["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    assert!(invocation["toolExecutionNotifications"]
        .to_string()
        .contains("nothere.json"));
}

#[test]
fn fifos_devices_and_unreadable_paths_never_hang() {
    let dir = with_good("fifo");
    let fifo = dir.join("pipe.json");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    // Named on the command line: an error, exit 2; the good file is still linted.
    let o = lint(
        &dir,
        &["good.json", "pipe.json", "/dev/zero"],
        &["--format", "json"],
        QUICK,
    );
    assert_survived(&o, 2);
    let err = text(&o.stderr);
    assert!(err.contains("pipe.json: not a regular file"), "{err}");
    assert!(err.contains("/dev/zero: not a regular file"), "{err}");
    // Met in a walk: skipped.
    let o = check(&dir, &[]);
    assert_survived(&o, 1);
    // A directory the walk cannot read (only when not running as root, who can).
    let locked = dir.join("locked");
    std::fs::create_dir_all(&locked).unwrap();
    std::fs::write(locked.join("t.json"), good_template()).unwrap();
    Command::new("chmod")
        .arg("000")
        .arg(&locked)
        .status()
        .unwrap();
    let root = std::fs::read_dir(&locked).is_ok();
    let o = check(&dir, &[]);
    Command::new("chmod")
        .arg("755")
        .arg(&locked)
        .status()
        .unwrap();
    assert_survived(&o, if root { 1 } else { 2 });
}

#[test]
fn reports_follow_symlinks_and_write_devices_directly() {
    let dir = with_good("output");
    std::fs::write(dir.join("target.sarif"), "old").unwrap();
    std::os::unix::fs::symlink("target.sarif", dir.join("link.sarif")).unwrap();
    let o = lint(
        &dir,
        &["good.json"],
        &["--format", "sarif", "-o", "link.sarif"],
        QUICK,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(std::fs::symlink_metadata(dir.join("link.sarif"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(dir.join("target.sarif"))
        .unwrap()
        .contains("STG001"));
    // A device is written to, never replaced.
    let o = lint(
        &dir,
        &["good.json"],
        &["--format", "json", "-o", "/dev/stdout"],
        QUICK,
    );
    assert_survived(&o, 1);
    assert!(Path::new("/dev/stdout").exists());
}

#[test]
fn a_closed_pipe_ends_the_run_quietly() {
    let dir = with_good("pipe");
    let accounts: Vec<String> = (0..2000)
        .map(|i| storage(&format!("st{i}"), r#"{"defaultAction": "Deny"}"#))
        .collect();
    std::fs::write(dir.join("many.json"), template(&accounts.join(",\n"), "{}")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_trustlint"))
        .args([
            "check",
            ".",
            "--no-config",
            "--as-of",
            AS_OF,
            "--format",
            "json",
        ])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).is_empty(), "{}", text(&o.stderr));
}

#[test]
fn one_file_reached_three_ways_is_reported_once() {
    let dir = with_good("spellings");
    std::os::unix::fs::symlink("good.json", dir.join("alias.json")).unwrap();
    let o = lint(
        &dir,
        &["good.json", "./good.json", "alias.json", "."],
        &["--format", "json"],
        QUICK,
    );
    assert_survived(&o, 1);
    let findings: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let stg001 = findings
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "STG001")
        .count();
    assert_eq!(stg001, 1, "{findings}");
}

#[test]
fn odd_encodings_and_escapes() {
    let dir = with_good("encodings");
    // UTF-16 without a byte-order mark, carrying the ARM marker: JSON001, named.
    let utf16: Vec<u8> = template("", "{}")
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    std::fs::write(dir.join("utf16.json"), utf16).unwrap();
    // A lone surrogate escape, which ARM accepts.
    std::fs::write(
        dir.join("surrogate.json"),
        template(
            &storage(
                "lone",
                r#"{"defaultAction": "Deny", "ipRules": [{"value": "\ud800"}]}"#,
            ),
            "{}",
        ),
    )
    .unwrap();
    // Control characters in a resource name never reach the terminal raw.
    std::fs::write(
        dir.join("control.json"),
        template(
            &storage("evil\x1b[31m\x07", r#"{"defaultAction": "Deny"}"#),
            "{}",
        ),
    )
    .unwrap();
    let o = check(&dir, &[]);
    assert_survived(&o, 1);
    let out = text(&o.stdout);
    assert!(
        out.contains("UTF-16 (little-endian) without a byte-order mark"),
        "{out}"
    );
    assert!(out.contains("storage account `lone`"), "{out}");
    for format in ["human", "github", "json", "sarif"] {
        let o = check(&dir, &["--format", format]);
        assert!(
            !o.stdout.contains(&0x1b) && !o.stdout.contains(&0x07),
            "{format}"
        );
        assert!(
            text(&o.stdout).contains("\\u{1b}"),
            "{format}: {}",
            text(&o.stdout)
        );
    }
}

#[test]
fn invalid_templates_get_specific_messages() {
    let dir = with_good("invalid");
    let resources = [
        storage(
            "cycle",
            r#"{"defaultAction": "Deny", "bypass": "[variables('a')]"}"#,
        ),
        r#"{"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-05-01", "name": "[concat('big', copyIndex())]", "copy": {"name": "many", "count": 1000000000}, "properties": {"networkAcls": {"defaultAction": "Deny"}}}"#.to_owned(),
    ];
    let variables = r#"{"a": "[variables('b')]", "b": "[variables('a')]"}"#;
    let o = check_template(&dir, "invalid.json", &resources, variables);
    let out = text(&o.stdout);
    assert!(
        out.contains("a cycle: variable `a` → variable `b` → variable `a`"),
        "{out}"
    );
    assert!(out.contains("fix the template"), "{out}");
    assert!(out.contains("count 1000000000 is outside 0..800"), "{out}");
}

#[test]
fn thousands_of_jobs_start_at_once() {
    let dir = with_good("jobs");
    let started = Instant::now();
    let o = check(&dir, &["--jobs", "20000"]);
    assert_survived(&o, 1);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn five_thousand_findings_in_one_template() {
    let dir = with_good("five-thousand");
    many_findings(&dir, 5_000);
    for format in ["json", "human", "sarif", "github"] {
        let o = check_within(&dir, &["--format", format], Duration::from_secs(60));
        assert_survived(&o, 1);
    }
}

fn many_findings(dir: &Path, n: usize) {
    let accounts: Vec<String> = (0..n)
        .map(|i| storage(&format!("st{i}"), r#"{"defaultAction": "Deny"}"#))
        .collect();
    std::fs::write(dir.join("many.json"), template(&accounts.join(",\n"), "{}")).unwrap();
}

#[test]
#[ignore = "large: run with --release -- --ignored"]
fn sarif_keeps_25000_results_and_says_how_many_it_left_out() {
    let dir = with_good("sarif-cap");
    many_findings(&dir, 30_000);
    let o = check_within(&dir, &["--format", "sarif"], Duration::from_secs(300));
    assert_eq!(o.status.code(), Some(1));
    let sarif: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        sarif["runs"][0]["results"].as_array().unwrap().len(),
        25_000
    );
    assert!(
        sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
            .to_string()
            .contains("results were left out")
    );
}

#[test]
#[ignore = "large: run with --release -- --ignored"]
fn two_hundred_thousand_resources_and_a_100_mb_template() {
    let dir = with_good("huge");
    many_findings(&dir, 200_000);
    let padding = format!("\"{}\"", "x".repeat(100 << 20));
    std::fs::write(
        dir.join("padded.json"),
        format!(r#"{{"$schema": "{SCHEMA}", "contentVersion": "1.0.0.0", "metadata": {{"pad": {padding}}}, "resources": []}}"#),
    )
    .unwrap();
    for format in ["json", "human"] {
        let o = check_within(&dir, &["--format", format], Duration::from_secs(300));
        assert_survived(&o, 1);
    }
}
