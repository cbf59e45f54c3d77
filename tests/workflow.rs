//! End-to-end tests of what teams wire trustlint into: the config file, suppressions,
//! baselines and date-aware levels. Each test works in its own scratch directory.

mod common;

use std::path::Path;

use common::bin::{assert_valid_sarif, scratch, stderr, stdout, trustlint_in, AS_OF};
use serde_json::Value;

/// A locked-down storage account that admits trusted services: one STG001 warning.
fn storage(name: &str) -> String {
    format!(
        r#"    {{
      "type": "Microsoft.Storage/storageAccounts",
      "apiVersion": "2023-05-01",
      "name": "{name}",
      "location": "westeurope",
      "properties": {{
        "networkAcls": {{ "defaultAction": "Deny", "bypass": "AzureServices" }}
      }}
    }}"#
    )
}

fn template(resources: &[String]) -> String {
    format!(
        "{{\n  \"$schema\": \"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#\",\n  \"contentVersion\": \"1.0.0.0\",\n  \"resources\": [\n{}\n  ]\n}}\n",
        resources.join(",\n")
    )
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn json(o: &std::process::Output) -> Vec<Value> {
    serde_json::from_str::<Value>(&stdout(o))
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(o), stderr(o)))
        .as_array()
        .unwrap()
        .clone()
}

fn rules_of(findings: &[Value]) -> Vec<String> {
    findings
        .iter()
        .map(|f| {
            format!(
                "{}:{}",
                f["rule"].as_str().unwrap(),
                f["level"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn config_is_found_walking_up_and_flags_override_it() {
    let dir = scratch("config-precedence");
    write(
        &dir,
        "trustlint.toml",
        &format!("format = \"json\"\nfail-on = \"error\"\nas-of = {AS_OF}\nselect = [\"STG\"]\n"),
    );
    write(&dir, "infra/main.json", &template(&[storage("stlogs")]));
    let infra = dir.join("infra");

    let o = trustlint_in(&infra, &["main.json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "fail-on error from the config: {}",
        stderr(&o)
    );
    assert_eq!(
        rules_of(&json(&o)),
        ["STG001:warning"],
        "format json from the config"
    );

    let o = trustlint_in(&infra, &["main.json", "--fail-on", "warning"]);
    assert_eq!(o.status.code(), Some(1), "the flag wins over fail-on");
    let o = trustlint_in(&infra, &["main.json", "--format", "github"]);
    assert!(
        stdout(&o).starts_with("::warning file=main.json"),
        "{}",
        stdout(&o)
    );
    let o = trustlint_in(&infra, &["main.json", "--select", "KV", "--format", "json"]);
    assert!(json(&o).is_empty(), "--select replaces the config's select");

    let o = trustlint_in(&infra, &["main.json", "--no-config", "--as-of", AS_OF]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("warning[STG001]"),
        "human format without the config"
    );

    write(&dir, "other.toml", "format = \"sarif\"\n");
    let o = trustlint_in(
        &infra,
        &["main.json", "--config", "../other.toml", "--as-of", AS_OF],
    );
    assert_valid_sarif(&stdout(&o));
}

#[test]
fn config_errors_name_the_place_and_suggest() {
    let dir = scratch("config-errors");
    write(&dir, "main.json", &template(&[storage("stlogs")]));
    for (config, expected) in [
        (
            "selct = [\"STG\"]\n",
            "trustlint.toml:1:1: unknown key `selct`; did you mean `select`?",
        ),
        (
            "[level]\nSTG01 = \"error\"\n",
            "trustlint.toml:2:1: `[level]`: no rule matches `STG01`; did you mean `STG001`?",
        ),
        ("[[suppress]]\nrules = [\"STG001\"]\n", "needs a `reason`"),
        (
            "format = \"sarf\"\n",
            "`format` cannot be `sarf`; did you mean `sarif`?",
        ),
    ] {
        write(&dir, "trustlint.toml", config);
        let o = trustlint_in(&dir, &["main.json"]);
        assert_eq!(o.status.code(), Some(2), "{config}");
        assert!(stderr(&o).contains(expected), "{config}: {}", stderr(&o));
    }
    let o = trustlint_in(&dir, &["main.json", "--config", "missing.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing.toml"), "{}", stderr(&o));
}

#[test]
fn config_levels_exclude_and_backup_storage() {
    let dir = scratch("config-levels");
    write(
        &dir,
        "main.json",
        &template(&[storage("stlogs"), storage("stbackup")]),
    );
    write(&dir, "legacy/old.json", &template(&[storage("stold")]));
    write(
        &dir,
        "trustlint.toml",
        "exclude = [\"legacy/\"]\napim-backup-storage = [\"STBACKUP\"]\n[level]\nSTG001 = \"error\"\n",
    );
    let o = trustlint_in(&dir, &[".", "--format", "json", "--as-of", AS_OF]);
    let findings = json(&o);
    assert_eq!(rules_of(&findings), ["STG001:error", "STG001:note"]);
    assert!(findings[1]["message"]
        .as_str()
        .unwrap()
        .contains("apim-backup-storage"));
    assert!(
        findings.iter().all(|f| f["file"] == "main.json"),
        "legacy/ is excluded"
    );
    let o = trustlint_in(
        &dir,
        &["legacy/old.json", "--format", "json", "--as-of", AS_OF],
    );
    assert!(
        json(&o).is_empty(),
        "excluded even when named, as pre-commit names files"
    );

    // The backup account with the bypass off: API Management's backup breaks.
    let off = storage("stbackup").replace("\"AzureServices\"", "\"None\"");
    write(&dir, "main.json", &template(&[off]));
    write(
        &dir,
        "trustlint.toml",
        "apim-backup-storage = [\"stbackup\"]\n[level]\nSTG = \"off\"\n",
    );
    let o = trustlint_in(&dir, &["main.json", "--format", "json", "--as-of", AS_OF]);
    assert_eq!(rules_of(&json(&o)), ["APIM006:error"]);
}

#[test]
fn config_suppressions_match_files_rules_and_resources() {
    let dir = scratch("config-suppress");
    write(
        &dir,
        "shared/main.json",
        &template(&[storage("stlogs"), storage("stdata")]),
    );
    write(
        &dir,
        "trustlint.toml",
        "[[suppress]]\nrules = [\"STG001\"]\nfiles = [\"shared/**\"]\nresources = [\"stlog*\"]\nreason = \"platform team's log archive\"\n",
    );
    let o = trustlint_in(&dir, &["--format", "json", "--as-of", AS_OF]);
    let findings = json(&o);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert!(findings[0]["message"].as_str().unwrap().contains("stdata"));

    let o = trustlint_in(&dir, &["--format", "sarif", "--as-of", AS_OF]);
    let sarif = assert_valid_sarif(&stdout(&o));
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let suppressed: Vec<&Value> = results
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(suppressed[0]["suppressions"][0]["kind"], "external");
    assert_eq!(
        suppressed[0]["suppressions"][0]["justification"],
        "platform team's log archive"
    );
}

#[test]
fn inline_suppressions_are_kept_in_sarif_as_in_source() {
    let dir = scratch("inline-suppress");
    let commented = template(&[format!(
        "    // trustlint-ignore STG001: only Azure Backup writes here\n{}",
        storage("stbackup")
    )]);
    write(&dir, "main.json", &commented);
    let o = trustlint_in(&dir, &["main.json", "--as-of", AS_OF]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("(1 suppressed)"), "{}", stdout(&o));

    let o = trustlint_in(&dir, &["main.json", "--format", "sarif", "--as-of", AS_OF]);
    assert_eq!(o.status.code(), Some(0));
    let sarif = assert_valid_sarif(&stdout(&o));
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "STG001");
    assert_eq!(result["suppressions"][0]["kind"], "inSource");
    assert_eq!(
        result["suppressions"][0]["justification"],
        "only Azure Backup writes here"
    );
    let o = trustlint_in(&dir, &["main.json", "--format", "json", "--as-of", AS_OF]);
    assert!(json(&o).is_empty(), "JSON lists live findings only");
}

#[test]
fn the_suppressions_example_shows_every_inline_form() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/examples");
    let o = trustlint_in(
        &examples,
        &[
            "suppressions",
            "--no-config",
            "--format",
            "sarif",
            "--as-of",
            AS_OF,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let sarif = assert_valid_sarif(&stdout(&o));
    let suppressed: Vec<String> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                r["ruleId"],
                r["suppressions"][0]["kind"]
            )
        })
        .collect();
    assert_eq!(
        suppressed,
        [
            "\"suppressions/azuredeploy.json\" \"STG001\" \"inSource\"", // comment
            "\"suppressions/azuredeploy.json\" \"KV001\" \"inSource\"",  // metadata
            "\"suppressions/main.bicep\" \"STG001\" \"inSource\"", // Bicep description, reported in the source
        ]
    );
}

#[test]
fn compiled_bicep_description_suppresses_the_resource() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/rules/SUP001/pass-bicep-description.json");
    let dir = scratch("bicep-description");
    std::fs::copy(&fixture, dir.join("main.json")).unwrap();
    let o = trustlint_in(&dir, &["main.json", "--format", "sarif", "--as-of", AS_OF]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let sarif = assert_valid_sarif(&stdout(&o));
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["suppressions"][0]["kind"], "inSource");
    assert!(result["suppressions"][0]["justification"]
        .as_str()
        .unwrap()
        .starts_with("only API Management backup/restore"));
}

#[test]
fn sup001_reports_bad_suppressions_and_can_be_ignored() {
    let dir = scratch("sup001");
    let text = template(&[
        format!("    // trustlint-ignore STG01: typo\n{}", storage("sta")),
        format!("    // trustlint-ignore STG001\n{}", storage("stb")),
        format!(
            "    // trustlint-ignore KV001: not a vault\n{}",
            storage("stc")
        ),
    ]);
    write(&dir, "main.json", &text);
    let o = trustlint_in(&dir, &["main.json", "--format", "json", "--as-of", AS_OF]);
    let findings = json(&o);
    let sup: Vec<&str> = findings
        .iter()
        .filter(|f| f["rule"] == "SUP001")
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(sup.len(), 3, "{sup:#?}");
    assert!(sup[0].contains("did you mean `STG001`?"));
    assert!(sup[1].contains("gives no reason"));
    assert!(sup[2].contains("suppresses nothing"));
    // `stb` is suppressed (without a reason); `sta` and `stc` are not.
    assert_eq!(findings.iter().filter(|f| f["rule"] == "STG001").count(), 2);

    let o = trustlint_in(
        &dir,
        &[
            "main.json",
            "--format",
            "json",
            "--ignore",
            "SUP001",
            "--as-of",
            AS_OF,
        ],
    );
    assert!(json(&o).iter().all(|f| f["rule"] != "SUP001"));
    // A rule that did not run never makes a suppression unused.
    let o = trustlint_in(
        &dir,
        &[
            "main.json",
            "--format",
            "json",
            "--select",
            "STG001,SUP001",
            "--as-of",
            AS_OF,
        ],
    );
    let messages: Vec<String> = json(&o).iter().map(|f| f["message"].to_string()).collect();
    assert!(
        messages.iter().all(|m| !m.contains("suppresses nothing")),
        "{messages:#?}"
    );
}

#[test]
fn baseline_reports_only_new_findings_across_line_shifts() {
    let dir = scratch("baseline");
    let bad_suppression = format!("    // trustlint-ignore STG001\n{}", storage("stb"));
    write(
        &dir,
        "infra/main.json",
        &template(&[storage("sta"), bad_suppression.clone()]),
    );
    let o = trustlint_in(
        &dir,
        &[
            "infra",
            "--write-baseline",
            ".trustlint-baseline.json",
            "--as-of",
            AS_OF,
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "recorded findings do not fail the run: {}",
        stdout(&o)
    );
    assert!(
        stderr(&o).contains("wrote 2 findings"),
        "STG001 and SUP001: {}",
        stderr(&o)
    );
    let recorded: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(".trustlint-baseline.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(recorded["findings"][0]["file"], "infra/main.json");

    // Shift every line, reformat, and move `sta` after `stb`: nothing is new.
    let shifted = template(&[
        bad_suppression.clone(),
        storage("sta").replace("  ", "    "),
    ]);
    write(
        &dir,
        "infra/main.json",
        &format!("\n\n\n// a header comment\n{shifted}"),
    );
    let o = trustlint_in(
        &dir,
        &[
            "infra",
            "--baseline",
            ".trustlint-baseline.json",
            "--as-of",
            AS_OF,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("(1 suppressed, 2 in the baseline)"),
        "{}",
        stdout(&o)
    );

    // A new account is new; SARIF marks both states.
    write(
        &dir,
        "infra/main.json",
        &template(&[storage("sta"), bad_suppression, storage("stnew")]),
    );
    let o = trustlint_in(
        &dir,
        &[
            "infra",
            "--baseline",
            ".trustlint-baseline.json",
            "--format",
            "json",
            "--as-of",
            AS_OF,
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let findings = json(&o);
    assert_eq!(findings.len(), 1);
    assert!(findings[0]["message"].as_str().unwrap().contains("stnew"));
    let o = trustlint_in(
        &dir,
        &[
            "infra",
            "--baseline",
            ".trustlint-baseline.json",
            "--format",
            "sarif",
            "--as-of",
            AS_OF,
        ],
    );
    let sarif = assert_valid_sarif(&stdout(&o));
    let states: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["baselineState"].as_str())
        .collect();
    assert_eq!(
        states.iter().filter(|s| **s == "new").count(),
        1,
        "{states:?}"
    );
    assert_eq!(
        states.iter().filter(|s| **s == "unchanged").count(),
        2,
        "{states:?}"
    );

    // Run from another directory: paths are relative to the baseline file.
    let o = trustlint_in(
        &dir.join("infra"),
        &[
            "main.json",
            "--baseline",
            "../.trustlint-baseline.json",
            "--format",
            "json",
            "--as-of",
            AS_OF,
        ],
    );
    assert_eq!(json(&o).len(), 1);

    write(&dir, "not-a-baseline.json", "{}");
    let o = trustlint_in(&dir, &["infra", "--baseline", "not-a-baseline.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not a trustlint baseline"),
        "{}",
        stderr(&o)
    );
}

/// A date, the level expected on it, and a phrase the message must contain.
type OnDate = (&'static str, &'static str, &'static str);

/// Levels and messages on both sides of each date in the rule catalogue's table.
#[test]
fn as_of_levels_flip_exactly_on_each_date() {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/rules");
    let cases: &[(&str, &str, &[OnDate])] = &[
        (
            "APIM003/fail-send-request-system-identity.json",
            "APIM001",
            &[
                ("2026-03-14", "warning", "will break on 2026-03-15"),
                ("2026-03-15", "error", "broke on 2026-03-15"),
            ],
        ),
        (
            "APIM003/fail-send-request-system-identity.json",
            "APIM003",
            &[
                ("2026-03-14", "warning", "will break on 2026-03-15"),
                ("2026-03-15", "error", "broke on 2026-03-15"),
            ],
        ),
        (
            "ADF002/fail-rest-linked-service-key-vault.json",
            "ADF002",
            &[
                ("2026-07-31", "warning", "will break on 2026-08-01"),
                ("2026-08-01", "error", "switched to Modern on 2026-08-01"),
            ],
        ),
        (
            "ADF002/fail-self-hosted-blob-storage-legacy.json",
            "ADF002",
            &[
                ("2027-08-01", "warning", "fails after 2027-08-01"),
                ("2027-08-02", "error", "broke on 2027-08-02"),
            ],
        ),
        (
            "ADF001/fail-enabled.json",
            "ADF001",
            &[
                ("2027-08-01", "warning", "retired after 2027-08-01"),
                ("2027-08-02", "warning", "no longer has an effect"),
            ],
        ),
        (
            "STG001/fail-default-action-deny.json",
            "STG001",
            &[("2026-03-14", "warning", ""), ("2027-08-02", "warning", "")],
        ),
    ];
    for (fixture, rule, dates) in cases {
        for (date, level, says) in *dates {
            let o = trustlint_in(
                &rules,
                &[
                    fixture,
                    "--no-config",
                    "--select",
                    rule,
                    "--format",
                    "json",
                    "--as-of",
                    date,
                ],
            );
            let findings = json(&o);
            assert!(
                findings
                    .iter()
                    .any(|f| f["level"] == *level && f["message"].as_str().unwrap().contains(says)),
                "{fixture} {rule} on {date}: expected {level} saying {says:?}, got {findings:#?}"
            );
        }
    }
    // A level in the config file wins over the date.
    let dir = scratch("as-of-config-level");
    std::fs::copy(
        rules.join("APIM003/fail-send-request-system-identity.json"),
        dir.join("main.json"),
    )
    .unwrap();
    write(
        &dir,
        "trustlint.toml",
        "as-of = \"2026-03-14\"\n[level]\nAPIM001 = \"error\"\n",
    );
    let o = trustlint_in(
        &dir,
        &["main.json", "--select", "APIM001", "--format", "json"],
    );
    assert_eq!(rules_of(&json(&o)), ["APIM001:error"]);
    assert!(json(&o)[0]["message"]
        .as_str()
        .unwrap()
        .contains("will break on 2026-03-15"));
}
