//! The estate: findings that need more than one file of the run, end to end through the
//! binary. Fixtures: `testdata/examples/estate/` (an `infra/` folder, a git-mode
//! factory, a Studio export and an API Management policy repository) and scratch
//! folders written here.

mod common;

use common::bin::{json_check, scratch, stdout, trustlint, trustlint_in, AS_OF};
use serde_json::Value;

const ESTATE: &str = "testdata/examples/estate";

/// The run's findings as (rule, level, file, line, message).
fn findings(output: &std::process::Output) -> Vec<(String, String, String, u64, String)> {
    let all: Vec<Value> = serde_json::from_str(&stdout(output)).expect("JSON output");
    all.iter()
        .map(|d| {
            (
                d["rule"].as_str().unwrap().to_owned(),
                d["level"].as_str().unwrap().to_owned(),
                d["file"].as_str().unwrap().to_owned(),
                d["start"]["line"].as_u64().unwrap(),
                d["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn check_json(args: &[&str]) -> Vec<(String, String, String, u64, String)> {
    let mut all = vec!["check", "--format", "json", "--as-of", AS_OF, "--no-config"];
    all.extend_from_slice(args);
    findings(&trustlint(&all))
}

fn one<'f>(
    found: &'f [(String, String, String, u64, String)],
    rule: &str,
    file_suffix: &str,
) -> &'f (String, String, String, u64, String) {
    let matching: Vec<_> = found
        .iter()
        .filter(|f| f.0 == rule && f.2.ends_with(file_suffix))
        .collect();
    assert_eq!(
        matching.len(),
        1,
        "one {rule} in {file_suffix}, got {matching:#?} among {found:#?}"
    );
    matching[0]
}

#[test]
fn git_mode_linked_services_reach_a_storage_account_in_another_folder() {
    let found = check_json(&[ESTATE]);
    // ADF002 at the endpoint in the linked-service file…
    let shir = one(&found, "ADF002", "adf/linkedService/ls_lake_shir.json");
    assert_eq!(shir.3, 8, "{shir:?}");
    assert!(shir
        .4
        .contains("self-hosted integration runtime `shir-onprem`"));
    let rest = one(&found, "ADF002", "adf/linkedService/ls_rest_vault.json");
    assert!(
        rest.4.contains("key vault `kv-northwind-shared`"),
        "{rest:?}"
    );
    one(&found, "ADF002", "adf/pipeline/pl_refresh_token.json");
    // …and the storage account's STG001 names that linked service.
    let stg = one(&found, "STG001", "infra/storage-and-vault.json");
    assert!(
        stg.4
            .contains("the AzureBlobFS linked service `ls_lake_shir`"),
        "{stg:?}"
    );
    // The native ADLS linked service on the Azure runtime stays silent.
    assert!(!found.iter().any(|f| f.2.ends_with("ls_lake_native.json")));
    // ADF003 at the factory file: it states no mode.
    one(&found, "ADF003", "adf/factory/adf-northwind-ingest.json");
}

#[test]
fn the_related_span_points_into_the_other_file() {
    let out = trustlint(&[
        "check",
        "--format",
        "json",
        "--as-of",
        AS_OF,
        "--no-config",
        ESTATE,
    ]);
    let all: Vec<Value> = serde_json::from_str(&stdout(&out)).unwrap();
    let shir = all
        .iter()
        .find(|d| {
            d["rule"] == "ADF002" && d["file"].as_str().unwrap().ends_with("ls_lake_shir.json")
        })
        .unwrap();
    let related = &shir["related"][0];
    assert!(
        related["file"]
            .as_str()
            .unwrap()
            .ends_with("infra/storage-and-vault.json"),
        "{related}"
    );
    assert_eq!(related["start"]["line"], 19);
}

#[test]
fn a_studio_export_calls_a_vault_in_no_file_then_declared_in_the_config() {
    let found = check_json(&[ESTATE]);
    let unseen = one(&found, "ADF005", "adf-export/ARMTemplateForFactory.json");
    assert_eq!(unseen.1, "note");
    assert!(unseen.4.contains("key vault `kv-northwind-partner`"));
    // The storage account it also calls is in the run: ADF002, no ADF005 for it.
    let upload = one(&found, "ADF002", "adf-export/ARMTemplateForFactory.json");
    assert!(upload.4.contains("storage account `stnorthwindlake`"));
    assert!(upload
        .4
        .contains("factory `adf-northwind-reporting` is in no file of this run"));

    let dir = scratch("estate-declared");
    std::fs::create_dir_all(dir.join("adf-export")).unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/examples/estate/adf-export/ARMTemplateForFactory.json"
        ),
        dir.join("adf-export/ARMTemplateForFactory.json"),
    )
    .unwrap();
    std::fs::write(
        dir.join("trustlint.toml"),
        "[estate]\ntrusted-bypass-targets = [\"kv-northwind-partner\"]\nopen-targets = [\"stnorthwindlake\"]\n",
    )
    .unwrap();
    let out = trustlint_in(&dir, &["check", "--format", "json", "--as-of", AS_OF, "."]);
    let found = findings(&out);
    let declared = one(&found, "ADF002", "ARMTemplateForFactory.json");
    assert!(
        declared.4.contains("key vault `kv-northwind-partner`"),
        "{declared:?}"
    );
    assert!(
        !found.iter().any(|f| f.0 == "ADF005"),
        "declared targets are decided: {found:#?}"
    );
}

#[test]
fn a_gateway_policy_calls_a_vault_deployed_in_another_file() {
    let found = check_json(&[ESTATE]);
    let call = one(&found, "APIM003", "apim/gateway-policy.json");
    assert_eq!(call.1, "error");
    assert!(call.4.contains("key vault `kv-northwind-shared`"));
    let vault = one(&found, "KV001", "infra/storage-and-vault.json");
    assert!(
        vault.4.contains("API Management service `apim-northwind`")
            || vault.4.contains("more caller(s) in other files"),
        "{vault:?}"
    );
    // Without the file that deploys the service, its network is not known: a note.
    let found = check_json(&[
        "testdata/examples/estate/apim",
        "testdata/examples/estate/infra/storage-and-vault.json",
    ]);
    let call = one(&found, "APIM003", "apim/gateway-policy.json");
    assert_eq!(call.1, "note", "{call:?}");
}

#[test]
fn one_file_of_a_git_mode_factory_is_linted_with_its_whole_folder() {
    // pre-commit passes only the changed file: the factory (its runtime, its mode) comes
    // from the rest of the folder, and only the named file is reported.
    let found = check_json(&[
        "testdata/examples/estate/adf/linkedService/ls_lake_shir.json",
        "testdata/examples/estate/infra/storage-and-vault.json",
    ]);
    let shir = one(&found, "ADF002", "ls_lake_shir.json");
    assert!(shir
        .4
        .contains("self-hosted integration runtime `shir-onprem`"));
    assert!(
        found
            .iter()
            .all(|f| f.2.ends_with("ls_lake_shir.json") || f.2.ends_with("storage-and-vault.json")),
        "{found:#?}"
    );
}

#[test]
fn estate_findings_follow_suppressions_and_fingerprints() {
    let dir = scratch("estate-suppressed");
    std::fs::create_dir_all(dir.join("infra")).unwrap();
    std::fs::create_dir_all(dir.join("adf")).unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/examples/estate/infra/storage-and-vault.json"
        ),
        dir.join("infra/storage-and-vault.json"),
    )
    .unwrap();
    let export = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/examples/estate/adf-export/ARMTemplateForFactory.json"
    ))
    .unwrap()
    .replace(
        "\t\t\t\t\t{\n\t\t\t\t\t\t\"name\": \"Upload report\"",
        "\t\t\t\t\t// trustlint-ignore ADF002: the reporting runtime's egress IPs are allow-listed by the network team\n\t\t\t\t\t{\n\t\t\t\t\t\t\"name\": \"Upload report\"",
    );
    assert!(export.contains("trustlint-ignore"));
    std::fs::write(dir.join("adf/ARMTemplateForFactory.json"), export).unwrap();
    let out = trustlint_in(
        &dir,
        &[
            "check",
            "--format",
            "sarif",
            "--as-of",
            AS_OF,
            "--no-config",
            ".",
        ],
    );
    let sarif: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let adf002 = results
        .iter()
        .find(|r| r["ruleId"] == "ADF002")
        .expect("ADF002 kept, as suppressed");
    assert_eq!(adf002["suppressions"][0]["kind"], "inSource");
    assert!(adf002["partialFingerprints"]["primaryLocationLineHash"]
        .as_str()
        .is_some_and(|h| !h.is_empty()));
    // The suppression suppresses something: no SUP001 says otherwise.
    assert!(
        !results.iter().any(|r| r["ruleId"] == "SUP001"),
        "{results:#?}"
    );
}

#[test]
fn a_linked_template_is_reported_once_with_what_its_parent_passes() {
    // The quickstart pattern: `uri(parameters('_artifactsLocation'), 'nested/x.json')`,
    // `_artifactsLocation` defaulting to `deployment().properties.templateLink.uri`.
    let found = check_json(&["testdata/estate/linked-artifacts-location"]);
    let stg = one(&found, "STG001", "nestedtemplates/storage.json");
    assert!(stg.4.contains("storage account `stlinked`"), "{stg:?}");
    assert_eq!(found.len(), 1, "{found:#?}");
    // `relativePath`, with a leading `/` (still relative to the parent).
    let found = check_json(&["testdata/estate/linked-relative-path"]);
    let stg = one(&found, "STG001", "modules/storage.json");
    assert!(stg.4.contains("storage account `stsecond`"), "{stg:?}");
    // Alone, with its own defaults (`Allow`), the file has nothing to report.
    let found = check_json(&["testdata/estate/linked-relative-path/modules"]);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_parents_value_is_related_in_the_parents_file() {
    let out = trustlint(&json_check(&["testdata/estate/linked-artifacts-location"]));
    let all: Vec<Value> = serde_json::from_str(&stdout(&out)).unwrap();
    let related = all[0]["related"].as_array().unwrap();
    assert!(
        related.iter().any(|r| r["file"]
            .as_str()
            .unwrap()
            .ends_with("linked-artifacts-location/azuredeploy.json")
            && r["message"].as_str().unwrap().contains("networkAccess")),
        "{related:#?}"
    );
}

#[test]
fn inventory_lists_every_dependency_in_each_format() {
    let run = |format: &str| {
        trustlint(&[
            "inventory",
            "--format",
            format,
            "--as-of",
            AS_OF,
            "--no-config",
            ESTATE,
        ])
    };
    let json = run("json");
    assert_eq!(json.status.code(), Some(0));
    let rows: Vec<Value> = serde_json::from_str(&stdout(&json)).unwrap();
    // Six calls (three from the git-mode factory, two from the Studio export, one from
    // the gateway policy); every target that admits trusted services is called.
    assert_eq!(rows.len(), 6, "{rows:#?}");
    let keys: Vec<&str> = rows[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = trustlint::inventory::COLUMNS.to_vec();
    expected.sort_unstable();
    let mut got = keys.clone();
    got.sort_unstable();
    assert_eq!(got, expected);
    let unseen = rows
        .iter()
        .find(|r| r["rule"] == "ADF005")
        .expect("the vault in no file");
    assert_eq!(unseen["target_file"], "not in the run");
    assert_eq!(unseen["target_line"], Value::Null);
    let shir = rows
        .iter()
        .find(|r| {
            r["caller_file"]
                .as_str()
                .unwrap()
                .ends_with("ls_lake_shir.json")
        })
        .unwrap();
    assert_eq!(shir["caller_line"], 8);
    assert_eq!(shir["target_line"], 19);
    assert_eq!(shir["target_state"], "locked down with the trusted bypass");
    assert_eq!(shir["factory_mode"], "not stated");
    assert_eq!(shir["line_of_sight"], "no");
    assert_eq!(shir["rule"], "ADF002");

    // CSV: a header row, one record per row, CRLF, every record as many fields.
    let csv = stdout(&run("csv"));
    let records: Vec<&str> = csv.split_terminator("\r\n").collect();
    assert_eq!(records[0], trustlint::inventory::COLUMNS.join(","));
    assert_eq!(records.len(), rows.len() + 1);
    for record in &records {
        assert!(!record.contains('\n'), "{record}");
    }

    insta::assert_snapshot!("inventory_csv_of_the_estate_example", csv);

    // Human: a table with a header and a count.
    let human = stdout(&run("human"));
    assert!(human.starts_with("CALLER KIND"), "{human}");
    assert!(
        human.ends_with("6 dependencies on trusted-service connectivity\n"),
        "{human}"
    );
}

#[test]
fn inventory_lists_targets_nobody_calls_and_survives_unreadable_paths() {
    let json = trustlint(&[
        "inventory",
        "--format",
        "json",
        "--as-of",
        AS_OF,
        "--no-config",
        "testdata/examples/estate/infra",
        "testdata/does-not-exist",
    ]);
    assert_eq!(json.status.code(), Some(2), "a path that cannot be read");
    let rows: Vec<Value> = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(rows.len(), 2, "{rows:#?}");
    for row in &rows {
        assert_eq!(row["caller"], Value::Null);
        assert!(row["verdict"]
            .as_str()
            .unwrap()
            .starts_with("no caller in the run"));
    }
}

#[test]
fn a_git_mode_azure_function_activity_with_a_managed_identity_is_a_call() {
    // The activity's Azure Function linked service asks for a Key Vault token
    // (`resourceId`); the function app is no vault of the run: ADF005, in the linked
    // service's file, and the factory file's Legacy mode is ADF001.
    let found = check_json(&["testdata/estate/git-mode-function"]);
    let call = one(&found, "ADF005", "linkedService/ls_func_rotate.json");
    assert!(
        call.4
            .contains("the Azure Function activity `Rotate partner keys`"),
        "{call:?}"
    );
    one(&found, "ADF001", "factory/adf-fabrikam-jobs.json");
}

#[test]
fn a_studio_export_with_its_factory_takes_the_mode_from_it() {
    let found = check_json(&["testdata/estate/studio-export-with-factory"]);
    let call = one(&found, "ADF002", "ARMTemplateForFactory.json");
    // Modern, stated by the export's factory resource: failing now.
    assert_eq!(call.1, "error");
    assert!(
        call.4.contains("the factory states Modern mode"),
        "{call:?}"
    );
    let vault = one(&found, "KV001", "studio-export-with-factory/vault.json");
    assert!(
        vault.4.contains("Data Factory `adf-fabrikam-export`"),
        "{vault:?}"
    );
}

#[test]
fn values_pass_through_a_template_that_only_deploys_others() {
    // main.json → modules/wrapper.json (deployments only) → modules/storage.json: the
    // storage account is evaluated with main's `Deny`, passed on by the wrapper.
    let found = check_json(&["testdata/estate/linked-chain"]);
    let stg = one(&found, "STG001", "modules/storage.json");
    assert!(stg.4.contains("`stchained`"), "{stg:?}");
}

#[test]
fn a_copy_loop_of_policies_is_one_call() {
    let found = check_json(&["testdata/estate/policy-copy-loop"]);
    one(&found, "APIM003", "policy-copy-loop/apis.json");
}

#[test]
fn selecting_the_data_factory_rules_keeps_the_targets_in_other_files() {
    let found = check_json(&["--select", "ADF", ESTATE]);
    one(&found, "ADF002", "adf/linkedService/ls_lake_shir.json");
    assert!(
        !found
            .iter()
            .any(|f| f.0 == "ADF005" && f.4.contains("stnorthwindlake")),
        "{found:#?}"
    );
}

#[test]
fn a_git_mode_root_in_the_current_directory_is_recognised() {
    // pre-commit at the root of a factory repository names `linkedService/x.json`.
    let dir = scratch("estate-git-root-here");
    let estate = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(ESTATE);
    for folder in ["factory", "linkedService", "pipeline", "integrationRuntime"] {
        std::fs::create_dir_all(dir.join(folder)).unwrap();
        for entry in std::fs::read_dir(estate.join("adf").join(folder)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dir.join(folder).join(entry.file_name())).unwrap();
        }
    }
    std::fs::create_dir_all(dir.join("infra")).unwrap();
    std::fs::copy(
        estate.join("infra/storage-and-vault.json"),
        dir.join("infra/storage-and-vault.json"),
    )
    .unwrap();
    let out = trustlint_in(
        &dir,
        &json_check(&[
            "linkedService/ls_lake_shir.json",
            "infra/storage-and-vault.json",
        ]),
    );
    let found = findings(&out);
    one(&found, "ADF002", "linkedService/ls_lake_shir.json");
}

#[test]
fn api_management_reads_key_vault_in_another_file() {
    // apim/service.json reads certificates and a named value from vaults in infra/.
    let found = check_json(&["testdata/estate/control-plane"]);
    // A hostname certificate from a vault admitting trusted services: keep the bypass.
    let keep = one(&found, "KV001", "infra/vaults.json");
    assert_eq!(keep.1, "note");
    assert!(keep.4.contains("control plane needs that"), "{keep:?}");
    assert!(
        keep.4
            .contains("(in `testdata/estate/control-plane/apim/service.json`)"),
        "{keep:?}"
    );
    // A hostname certificate from a vault whose bypass is off: APIM006 at the vault.
    let off = one(&found, "APIM006", "infra/vaults.json");
    assert!(off.4.contains("`kv-certs-off`"), "{off:?}");
    // A named value read with a user-assigned identity from a locked-down vault.
    let user = one(&found, "APIM004", "apim/service.json");
    assert!(user.4.contains("named value `secret`"), "{user:?}");

    let out = trustlint(&[
        "inventory",
        "--format",
        "json",
        "--as-of",
        AS_OF,
        "--no-config",
        "testdata/estate/control-plane",
    ]);
    let rows: Vec<Value> = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(rows.len(), 3, "{rows:#?}");
    assert!(rows
        .iter()
        .all(|r| r["caller_kind"] == "API Management control plane"));
}

#[test]
fn a_managed_network_without_a_private_endpoint_to_a_target_in_another_file() {
    // Git-mode factory: two linked services on a managed-network runtime; the network
    // has a managed private endpoint to one of the two storage accounts in infra/.
    let found = check_json(&["testdata/estate/managed-network"]);
    let gap = one(&found, "ADF004", "linkedService/ls_uncovered.json");
    assert!(gap.4.contains("`stmvnetgap`"), "{gap:?}");
    assert!(
        !found.iter().any(|f| f.2.ends_with("ls_covered.json")),
        "{found:#?}"
    );
}

#[test]
fn git_mode_strings_are_never_arm_expressions() {
    // `[concat(…)]` in an object file is a string (Data Factory has no ARM expressions):
    // the self-hosted Storage linked service is still a call, to a storage account that
    // URL does not name — not to `stliteral`, which ARM evaluation would make of it.
    let dir = scratch("estate-git-literal");
    for folder in ["factory", "linkedService", "integrationRuntime"] {
        std::fs::create_dir_all(dir.join(folder)).unwrap();
    }
    std::fs::write(
        dir.join("factory/adf-literal.json"),
        r#"{ "name": "adf-literal", "location": "westeurope", "identity": { "type": "SystemAssigned" } }"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("integrationRuntime/shir.json"),
        r#"{ "name": "shir", "properties": { "type": "SelfHosted" } }"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("linkedService/ls.json"),
        r#"{ "name": "ls", "properties": { "type": "AzureBlobFS",
            "typeProperties": { "url": "[concat('https://stlit', 'eral.dfs.core.windows.net/')]" },
            "connectVia": { "referenceName": "shir", "type": "IntegrationRuntimeReference" } } }"#,
    )
    .unwrap();
    let out = trustlint_in(&dir, &json_check(&["."]));
    let found = findings(&out);
    let call = one(&found, "ADF005", "linkedService/ls.json");
    assert!(call.4.contains("not known offline"), "{call:?}");
    assert!(!call.4.contains("`stliteral`"), "{call:?}");
    assert!(!found.iter().any(|f| f.0 == "EXPR001"), "{found:#?}");
}

#[test]
fn a_parent_with_a_lone_surrogate_escape_still_passes_its_values() {
    // ARM reads `"\ud800"`; the first pass mends it to parse the parent, and so does the
    // pass that reads what the parent passes to the file it links.
    let dir = scratch("linked-lone-surrogate");
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/estate/linked-relative-path");
    std::fs::create_dir_all(dir.join("modules")).unwrap();
    let parent = std::fs::read_to_string(fixture.join("main.json")).unwrap();
    let parent = parent.replace(
        "\"parameters\": {},",
        "\"parameters\": {},\n  \"metadata\": { \"note\": \"\\ud800\" },",
    );
    assert!(parent.contains("\\ud800"));
    std::fs::write(dir.join("main.json"), parent).unwrap();
    std::fs::copy(
        fixture.join("modules/storage.json"),
        dir.join("modules/storage.json"),
    )
    .unwrap();
    let out = trustlint_in(&dir, &json_check(&["."]));
    let found = findings(&out);
    let stg = one(&found, "STG001", "modules/storage.json");
    assert!(stg.4.contains("storage account `stsecond`"), "{stg:?}");
}
