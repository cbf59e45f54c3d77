//! End-to-end tests of the built binary: formats, exit codes and bad input.

mod common;

use common::bin::{assert_valid_sarif, redact_time, scratch, stderr, stdout, trustlint, AS_OF};

const STORAGE_FINDING: &str = r#"{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "resources": [
    { "type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-05-01", "name": "stx",
      "properties": { "networkAcls": { "defaultAction": "Deny" } } }
  ]
}"#;

#[test]
fn human_output_on_the_examples() {
    let o = trustlint(&["testdata/examples", "--as-of", AS_OF, "--no-color"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    insta::assert_snapshot!(redact_time(&stdout(&o)));
}

#[test]
fn json_output_on_the_examples() {
    let o = trustlint(&[
        "check",
        "testdata/examples",
        "--as-of",
        AS_OF,
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("valid JSON");
    insta::assert_json_snapshot!(value);
}

#[test]
fn github_output_on_the_examples() {
    let o = trustlint(&["testdata/examples", "--as-of", AS_OF, "--format", "github"]);
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!(stdout(&o));
}

#[test]
fn sarif_is_valid_and_complete() {
    for path in ["testdata/examples", "testdata/rules"] {
        let o = trustlint(&[path, "--as-of", AS_OF, "--format", "sarif"]);
        assert_eq!(o.status.code(), Some(1));
        let sarif = assert_valid_sarif(&stdout(&o));
        let run = &sarif["runs"][0];
        assert_eq!(run["columnKind"], "unicodeCodePoints");
        assert_eq!(run["tool"]["driver"]["name"], "trustlint");
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert!(rules.iter().all(|r| r["help"]["markdown"]
            .as_str()
            .is_some_and(|m| m.contains("## What it does"))));
        for result in run["results"].as_array().unwrap() {
            let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap();
            assert!(
                uri.starts_with("testdata/"),
                "relative URI expected, got {uri}"
            );
            let index = result["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[index]["id"], result["ruleId"]);
            assert!(result["partialFingerprints"]["primaryLocationLineHash"].is_string());
        }
        assert_eq!(run["invocations"][0]["executionSuccessful"], true);
    }
}

#[test]
fn sarif_snapshot_of_one_file() {
    let o = trustlint(&[
        "testdata/examples/apim-gateway/azuredeploy.json",
        "--as-of",
        AS_OF,
        "--format",
        "sarif",
    ]);
    let mut sarif = assert_valid_sarif(&stdout(&o));
    // The rule help is the rule docs, pinned by their own tests.
    for rule in sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array_mut()
        .unwrap()
    {
        rule["help"] = serde_json::json!("[rules/<ID>.md]");
        rule["fullDescription"] = serde_json::json!("[first paragraph of rules/<ID>.md]");
    }
    sarif["runs"][0]["tool"]["driver"]["version"] = serde_json::json!("[version]");
    sarif["runs"][0]["tool"]["driver"]["semanticVersion"] = serde_json::json!("[version]");
    insta::assert_json_snapshot!(sarif);
}

#[test]
fn clean_files_exit_zero() {
    let o = trustlint(&["testdata/examples/apim-after-migration", "--as-of", AS_OF]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("Linted 1 file: 0 errors, 0 warnings, 0 notes"));
}

#[test]
fn fail_on_controls_the_exit_code() {
    let file = "testdata/examples/compiled-bicep/main.json";
    assert_eq!(
        trustlint(&[file, "--as-of", AS_OF, "--fail-on", "error"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        trustlint(&[file, "--as-of", AS_OF, "--fail-on", "warning"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        trustlint(&[file, "--as-of", AS_OF, "--fail-on", "never"])
            .status
            .code(),
        Some(0)
    );
    let apim = "testdata/examples/apim-gateway/azuredeploy.json";
    assert_eq!(
        trustlint(&[apim, "--as-of", AS_OF, "--fail-on", "error"])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn as_of_changes_date_aware_levels() {
    let apim = "testdata/examples/apim-gateway/azuredeploy.json";
    let before = stdout(&trustlint(&[
        apim,
        "--select",
        "APIM001",
        "--format",
        "json",
        "--as-of",
        "2026-03-14",
    ]));
    let after = stdout(&trustlint(&[
        apim,
        "--select",
        "APIM001",
        "--format",
        "json",
        "--as-of",
        "2026-03-15",
    ]));
    assert!(
        before.contains("\"level\": \"warning\"") && before.contains("will break on 2026-03-15"),
        "{before}"
    );
    assert!(
        after.contains("\"level\": \"error\"") && after.contains("broke on 2026-03-15"),
        "{after}"
    );
    let bad = trustlint(&[apim, "--as-of", "2026-02-30"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("YYYY-MM-DD"));
}

#[test]
fn select_and_ignore_take_ids_and_prefixes() {
    let o = trustlint(&[
        "testdata/examples",
        "--as-of",
        AS_OF,
        "--format",
        "json",
        "--select",
        "apim",
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["rule"].as_str().unwrap().starts_with("APIM")));
    let o = trustlint(&[
        "testdata/examples",
        "--as-of",
        AS_OF,
        "--format",
        "json",
        "--ignore",
        "STG001,JSON",
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["rule"] != "STG001" && d["rule"] != "JSON001"));
    let o = trustlint(&["testdata/examples", "--select", "STG01"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("did you mean `STG001`?"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn missing_path_exits_two_but_lints_the_rest() {
    let o = trustlint(&[
        "no/such/dir",
        "testdata/examples/data-factory",
        "--as-of",
        AS_OF,
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no/such/dir"), "{}", stderr(&o));
    assert!(stdout(&o).contains("ADF001"));
}

#[test]
fn unreadable_file_exits_two_but_lints_the_rest() {
    let dir = scratch("unreadable");
    std::fs::write(dir.join("finding.json"), STORAGE_FINDING).unwrap();
    // A dangling symlink cannot be read even by root.
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.join("nowhere.json"), dir.join("dangling.json")).unwrap();
    let o = trustlint(&[dir.to_str().unwrap(), "--as-of", AS_OF, "--format", "json"]);
    #[cfg(unix)]
    {
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains("dangling.json"), "{}", stderr(&o));
    }
    assert!(stdout(&o).contains("STG001"));
    // SARIF reports the failure as a tool execution notification.
    let o = trustlint(&[dir.to_str().unwrap(), "--as-of", AS_OF, "--format", "sarif"]);
    let sarif = assert_valid_sarif(&stdout(&o));
    #[cfg(unix)]
    assert_eq!(
        sarif["runs"][0]["invocations"][0]["executionSuccessful"],
        false
    );
}

#[test]
fn malformed_binary_and_deep_files_never_stop_the_others() {
    let dir = scratch("bad-input");
    std::fs::write(dir.join("a-finding.json"), STORAGE_FINDING).unwrap();
    // Broken JSON that is meant to be a template: JSON001.
    std::fs::write(
        dir.join("broken.json"),
        "{ \"$schema\": \"deploymentTemplate.json\", \"resources\": [ }",
    )
    .unwrap();
    // Broken JSON that is not an ARM file: skipped silently.
    std::fs::write(dir.join("package.json"), "{ \"name\": ").unwrap();
    // A binary file named .json: skipped with a note.
    std::fs::write(
        dir.join("image.json"),
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe",
    )
    .unwrap();
    // Binary with the ARM marker: JSON001.
    std::fs::write(
        dir.join("corrupt.json"),
        b"{\"$schema\": \"deploymentTemplate.json\", \"x\": \"\xff\xfe\"}",
    )
    .unwrap();
    // 10,000-deep nesting, with and without the ARM marker.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    std::fs::write(dir.join("deep.json"), &deep).unwrap();
    std::fs::write(
        dir.join("deep-template.json"),
        format!("{{\"$schema\": \"deploymentTemplate.json\", \"x\": {deep}}}"),
    )
    .unwrap();

    let o = trustlint(&[dir.to_str().unwrap(), "--as-of", AS_OF, "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let found: Vec<(String, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let file = d["file"].as_str().unwrap();
            (
                file[file.rfind('/').unwrap() + 1..].to_owned(),
                d["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expect = |f: &str, r: &str| (f.to_owned(), r.to_owned());
    assert_eq!(
        found,
        vec![
            expect("a-finding.json", "STG001"),
            expect("broken.json", "JSON001"),
            expect("corrupt.json", "JSON001"),
            expect("deep-template.json", "JSON001"),
        ]
    );
    let err = stderr(&o);
    assert!(
        err.contains("image.json: not a text file, skipped"),
        "{err}"
    );
    assert!(
        err.contains("deep.json: not linted: nested deeper than 512 levels"),
        "{err}"
    );
    let messages: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("nested deeper than 512 levels")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("not valid UTF-8")),
        "{messages:?}"
    );
}

#[test]
fn bom_crlf_and_utf16_report_correct_positions() {
    let dir = scratch("encodings");
    let crlf = STORAGE_FINDING.replace('\n', "\r\n");
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(crlf.as_bytes());
    std::fs::write(dir.join("bom.json"), &bom).unwrap();
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(STORAGE_FINDING.encode_utf16().flat_map(|u| u.to_le_bytes()));
    std::fs::write(dir.join("utf16.json"), &utf16).unwrap();
    let o = trustlint(&[dir.to_str().unwrap(), "--as-of", AS_OF, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let diags = v.as_array().unwrap();
    assert_eq!(diags.len(), 2);
    for d in diags {
        assert_eq!(d["rule"], "STG001");
        // The `networkAcls` object on line 6 (no `bypass`: the default applies).
        assert_eq!(d["start"]["line"], 6);
        assert_eq!(d["start"]["column"], 38);
    }
    // Offsets count the BOM: the UTF-8 file's offset is 3 more than its text offset.
    let text_offset = crlf.find("{ \"defaultAction\"").unwrap();
    assert_eq!(diags[0]["start"]["offset"], text_offset + 3);
}

#[test]
fn output_file_is_written() {
    let dir = scratch("output");
    let out = dir.join("report.sarif");
    let o = trustlint(&[
        "testdata/examples/data-factory",
        "--format",
        "sarif",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).is_empty());
    assert_valid_sarif(&std::fs::read_to_string(&out).unwrap());
}

#[test]
fn rules_and_rule_commands() {
    let o = trustlint(&["rules", "--as-of", AS_OF]);
    assert_eq!(o.status.code(), Some(0));
    insta::assert_snapshot!(stdout(&o));
    let o = trustlint(&["rules", "--format", "json", "--as-of", "2026-01-01"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let apim = v
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "APIM001")
        .unwrap();
    assert_eq!(apim["level"], "warning");
    let o = trustlint(&["rule", "stg001"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("# STG001: storage-trusted-services-bypass"));
    let o = trustlint(&["rule", "STG01"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("did you mean `STG001`?"));
}

#[test]
fn bad_arguments_exit_two_and_help_exits_zero() {
    assert_eq!(trustlint(&["--format", "xml", "."]).status.code(), Some(2));
    assert_eq!(
        trustlint(&["--jobs", "0", "testdata/examples"])
            .status
            .code(),
        Some(2)
    );
    let help = trustlint(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(stdout(&help).contains("Exit codes"));
    assert_eq!(trustlint(&["--version"]).status.code(), Some(0));
}

#[test]
fn output_is_deterministic_across_job_counts() {
    let one = trustlint(&[
        "testdata", "--as-of", AS_OF, "--format", "json", "--jobs", "1",
    ]);
    let many = trustlint(&[
        "testdata", "--as-of", AS_OF, "--format", "json", "--jobs", "4",
    ]);
    assert_eq!(stdout(&one), stdout(&many));
}

#[test]
fn expand_matches_snapshots() {
    for fixture in [
        "testdata/rules/STG001/fail-via-copy-loop.json",
        "testdata/rules/STG001/fail-via-nested-inner-scope.json",
        "testdata/rules/STG001/fail-via-nested-outer-scope.json",
        "testdata/rules/STG001/fail-via-compiled-bicep-module.json",
        "testdata/rules/STG001/fail-via-parameters-file.json",
        "testdata/rules/STG001/pass-condition-false.json",
        "testdata/rules/STG001/fail-condition-unknown.json",
        "testdata/examples/compiled-bicep/main.json",
    ] {
        let o = trustlint(&["expand", fixture]);
        assert_eq!(o.status.code(), Some(0), "{fixture}: {}", stderr(&o));
        let value: serde_json::Value =
            serde_json::from_str(&stdout(&o)).expect("expand prints JSON");
        let name = fixture.trim_start_matches("testdata/").replace('/', "__");
        insta::assert_json_snapshot!(format!("expand__{name}"), value);
    }
}

#[test]
fn expand_marks_unknowns_and_takes_parameters() {
    let o = trustlint(&[
        "expand",
        "testdata/rules/STG001/fail-via-parameter-default.json",
        "--parameters",
        "testdata/expand/params-override.parameters.json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        v["resources"][0]["properties"]["networkAcls"]["defaultAction"],
        "Allow"
    );
    let o = trustlint(&["expand", "testdata/rules/STG001/note-expression.json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(
        v["resources"][0]["properties"]["networkAcls"]["defaultAction"]["$unknown"].is_string(),
        "{v}"
    );
    assert_eq!(
        trustlint(&["expand", "testdata/examples/broken/azuredeploy.json"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn parameters_option_selects_the_file() {
    let template = "testdata/rules/STG001/fail-via-parameter-default.json";
    let params = "testdata/expand/params-override.parameters.json";
    // The file's `Allow` overrides the default `Deny`: no finding.
    let o = trustlint(&[template, "--parameters", params, "--as-of", AS_OF]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let pair = format!("{template}={params}");
    let o = trustlint(&[
        "testdata/rules/STG001",
        "--parameters",
        &pair,
        "--select",
        "STG001",
        "--format",
        "json",
        "--as-of",
        AS_OF,
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v.as_array().unwrap().iter().all(|d| !d["file"]
        .as_str()
        .unwrap()
        .ends_with("fail-via-parameter-default.json")));
    // A bare file with several paths is ambiguous; a missing file is an error.
    let o = trustlint(&["testdata/rules/STG001", "--parameters", params]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("TEMPLATE="), "{}", stderr(&o));
    assert_eq!(
        trustlint(&[template, "--parameters", "nope.json"])
            .status
            .code(),
        Some(2)
    );
    // Without the option the sibling file is used.
    let o = trustlint(&[
        "testdata/rules/STG001/fail-via-parameters-file.json",
        "--as-of",
        AS_OF,
        "--no-color",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains(
        "was evaluated with testdata/rules/STG001/fail-via-parameters-file.parameters.json"
    ));
}

#[test]
fn annotations_come_with_a_report_written_to_a_file() {
    let dir = scratch("annotations");
    let sarif = dir.join("out.sarif");
    let out = trustlint(&[
        "check",
        "--as-of",
        AS_OF,
        "--no-config",
        "--format",
        "sarif",
        "--output",
        sarif.to_str().unwrap(),
        "--annotations",
        "testdata/rules/STG001/fail-public-access-disabled-bypass-absent.json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with("::warning file="),
        "{}",
        stdout(&out)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(report["runs"][0]["results"][0]["ruleId"], "STG001");
    // Without a file for the report, the two would share standard output.
    let out = trustlint(&["check", "--annotations", "testdata/examples"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--annotations"), "{}", stderr(&out));
}
