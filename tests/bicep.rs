//! `.bicep` sources: linted through their compiled template, findings reported in the
//! `.bicep` at the line that decides them (docs/design/bicep.md).

mod common;

use std::path::Path;
use std::process::Command;

use common::bin::{json_check, scratch, stderr, stdout, AS_OF};
use serde_json::Value;

/// Runs trustlint in `dir` with `PATH` set to `path` (no Bicep CLI unless it is there).
fn run(dir: &Path, path: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_trustlint"))
        .args(args)
        .current_dir(dir)
        .env("PATH", path)
        .output()
        .unwrap()
}

const BICEP: &str = "param location string = resourceGroup().location

resource logs 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'stbiceplogs'
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    networkAcls: {
      defaultAction: 'Deny'
      bypass: 'AzureServices'
    }
  }
}
";

/// What `bicep build` makes of [`BICEP`] (trimmed to what matters).
const COMPILED: &str = r#"{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "metadata": { "_generator": { "name": "bicep", "version": "0.30.23.60470", "templateHash": "1" } },
  "parameters": { "location": { "type": "string", "defaultValue": "[resourceGroup().location]" } },
  "resources": [
    {
      "type": "Microsoft.Storage/storageAccounts",
      "apiVersion": "2023-05-01",
      "name": "stbiceplogs",
      "location": "[parameters('location')]",
      "kind": "StorageV2",
      "sku": { "name": "Standard_LRS" },
      "properties": {
        "networkAcls": { "defaultAction": "Deny", "bypass": "AzureServices" }
      }
    }
  ]
}
"#;

fn findings(out: &std::process::Output) -> Vec<Value> {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|_| panic!("{}", stderr(out)))
}

#[test]
fn a_finding_is_reported_once_in_the_bicep_source_with_the_json_related() {
    let dir = scratch("bicep-pair");
    std::fs::write(dir.join("main.bicep"), BICEP).unwrap();
    std::fs::write(dir.join("main.json"), COMPILED).unwrap();
    let empty = scratch("bicep-no-cli");
    let out = run(&dir, &empty, &json_check(&["."]));
    let found = findings(&out);
    assert_eq!(found.len(), 1, "{found:#?}");
    let d = &found[0];
    assert_eq!(d["rule"], "STG001");
    assert_eq!(d["file"], "main.bicep");
    assert_eq!(d["start"]["line"], 13, "bypass: 'AzureServices'");
    assert!(d["related"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["file"] == "main.json"));
}

#[test]
fn the_bundled_bicep_example_maps_its_suppressed_finding() {
    let out = common::bin::trustlint(&[
        "check",
        "--format",
        "sarif",
        "--as-of",
        AS_OF,
        "--no-config",
        "testdata/examples/suppressions/main.bicep",
    ]);
    let sarif: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let result = &sarif["runs"][0]["results"][0];
    let location = &result["locations"][0]["physicalLocation"];
    assert_eq!(
        location["artifactLocation"]["uri"],
        "testdata/examples/suppressions/main.bicep"
    );
    assert_eq!(location["region"]["startLine"], 18);
    assert_eq!(result["suppressions"][0]["kind"], "inSource");
}

#[test]
fn no_compiled_template_and_no_cli_is_an_error_for_a_named_file_and_a_note_in_a_walk() {
    let dir = scratch("bicep-alone");
    std::fs::write(dir.join("main.bicep"), BICEP).unwrap();
    let empty = scratch("bicep-alone-path");
    let out = run(
        &dir,
        &empty,
        &["check", "--as-of", AS_OF, "--no-config", "main.bicep"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("az bicep install"),
        "{}",
        stderr(&out)
    );
    let out = run(
        &dir,
        &empty,
        &["check", "--as-of", AS_OF, "--no-config", "."],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no compiled template"),
        "{}",
        stderr(&out)
    );
}

/// The real Bicep CLI is not installable on the machine these tests run on (the PyPI
/// package named `bicep` is an unrelated library): a script stands in for it, printing
/// the compile output recorded above for `bicep build --stdout main.bicep`.
#[cfg(unix)]
#[test]
fn without_compiled_json_the_bicep_cli_compiles_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("bicep-cli");
    std::fs::write(dir.join("main.bicep"), BICEP).unwrap();
    let bin = scratch("bicep-cli-bin");
    std::fs::write(bin.join("compiled.json"), COMPILED).unwrap();
    let script = bin.join("bicep");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n[ \"$1\" = build ] && [ \"$2\" = --stdout ] || exit 3\n/bin/cat '{}'\n",
            bin.join("compiled.json").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = run(&dir, &bin, &json_check(&["main.bicep"]));
    let found = findings(&out);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["file"], "main.bicep");
    assert_eq!(found[0]["start"]["line"], 13);
    // A failing compile is an error naming what the CLI said.
    std::fs::write(
        &script,
        "#!/bin/sh\necho 'Error BCP018: expected a character' >&2\nexit 1\n",
    )
    .unwrap();
    let out = run(
        &dir,
        &bin,
        &["check", "--as-of", AS_OF, "--no-config", "main.bicep"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("BCP018"), "{}", stderr(&out));
}

#[test]
fn trustlint_ignore_comments_in_bicep_suppress_and_stale_ones_are_reported() {
    let dir = scratch("bicep-ignore");
    let suppressed = BICEP.replace(
        "      bypass: 'AzureServices'",
        "      // trustlint-ignore STG001: only Azure Monitor writes here\n      bypass: 'AzureServices'",
    );
    std::fs::write(dir.join("main.bicep"), &suppressed).unwrap();
    std::fs::write(dir.join("main.json"), COMPILED).unwrap();
    let empty = scratch("bicep-ignore-path");
    let out = run(&dir, &empty, &json_check(&["main.bicep"]));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(findings(&out).is_empty());
    // A suppression that names a rule reporting nothing there: SUP001.
    let stale = BICEP.replace(
        "  kind: 'StorageV2'",
        "  // trustlint-ignore KV001: not a vault\n  kind: 'StorageV2'",
    );
    std::fs::write(dir.join("main.bicep"), stale).unwrap();
    let found = findings(&run(&dir, &empty, &json_check(&["main.bicep"])));
    let rules: Vec<&str> = found.iter().map(|d| d["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, ["SUP001", "STG001"], "{found:#?}");
    assert_eq!(found[0]["file"], "main.bicep");
    // The config file applies to that SUP001 as to any other: its level, then a
    // `[[suppress]]` entry for the file.
    let with_config = |config: &str| {
        std::fs::write(dir.join("trustlint.toml"), config).unwrap();
        let args = ["check", "--format", "json", "--as-of", AS_OF, "main.bicep"];
        findings(&run(&dir, &empty, &args))
    };
    let found = with_config("[level]\nSUP001 = \"error\"\n");
    assert_eq!(found[0]["rule"], "SUP001", "{found:#?}");
    assert_eq!(found[0]["level"], "error", "{found:#?}");
    let found = with_config(
        "[[suppress]]\nrules = [\"SUP001\"]\nfiles = [\"main.bicep\"]\nreason = \"kept for the audit\"\n",
    );
    let rules: Vec<&str> = found.iter().map(|d| d["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, ["STG001"], "{found:#?}");
}

/// Where a finding is: file, line, column.
fn place(d: &Value) -> (String, u64, u64) {
    (
        d["file"].as_str().unwrap().to_owned(),
        d["start"]["line"].as_u64().unwrap(),
        d["start"]["column"].as_u64().unwrap(),
    )
}

/// Where the related location whose message contains `label` is: file and line.
fn related(d: &Value, label: &str) -> (String, u64) {
    let r = d["related"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["message"].as_str().unwrap().contains(label))
        .unwrap_or_else(|| panic!("no related `{label}` in {d:#?}"));
    (
        r["file"].as_str().unwrap().to_owned(),
        r["start"]["line"].as_u64().unwrap(),
    )
}

/// Lints `paths` of the repository's testdata with no Bicep CLI on `PATH`.
fn check_testdata(paths: &[&str]) -> Vec<Value> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let empty = scratch("bicep-testdata-path");
    findings(&run(root, &empty, &json_check(paths)))
}

// Real pairs: `main.bicep` and the `main.json` the Bicep compiler built from it, from
// Azure/bicep-registry-modules (MIT, testdata/bicep/LICENSE; see testdata/bicep/README.md).

#[test]
fn avm_pair_resource_property_and_parameter_default() {
    let found = check_testdata(&["testdata/bicep/event-hub-network-rule-set"]);
    assert_eq!(found.len(), 1, "{found:#?}");
    let d = &found[0];
    let file = "testdata/bicep/event-hub-network-rule-set/main.bicep";
    assert_eq!(d["rule"], "EH001");
    // `trustedServiceAccessEnabled: trustedServiceAccessEnabled`
    assert_eq!(place(d), (file.to_owned(), 78, 34));
    // `param trustedServiceAccessEnabled bool = true`
    assert_eq!(
        related(
            d,
            "default value of parameter `trustedServiceAccessEnabled`"
        ),
        (file.to_owned(), 22)
    );
    // `defaultAction: publicNetworkAccess == 'Disabled' ? … : defaultAction`
    assert_eq!(related(d, "denies other traffic"), (file.to_owned(), 75));
    assert_eq!(
        related(d, "in the compiled template"),
        (
            "testdata/bicep/event-hub-network-rule-set/main.json".to_owned(),
            155
        )
    );
}

#[test]
fn avm_pair_local_module_under_a_condition_reports_once_at_the_callers_value() {
    // The folder holds the namespace, its `network-rule-set/` module (with its own
    // compiled main.json) and the namespace's parameters: one finding, not three.
    let found = check_testdata(&["testdata/bicep/event-hub-namespace"]);
    assert_eq!(found.len(), 1, "{found:#?}");
    let d = &found[0];
    assert_eq!(d["rule"], "EH001");
    // `trustedServiceAccessEnabled: networkRuleSets.?trustedServiceAccessEnabled` in
    // `module eventHubNamespace_networkRuleSet 'network-rule-set/main.bicep' = if (…)`
    assert_eq!(
        place(d),
        (
            "testdata/bicep/event-hub-namespace/main.bicep".to_owned(),
            308,
            34
        )
    );
    // The module's own line, where the parameter is used.
    assert_eq!(
        related(d, "the module's parameter `trustedServiceAccessEnabled`"),
        (
            "testdata/bicep/event-hub-namespace/network-rule-set/main.bicep".to_owned(),
            78
        )
    );
}

#[test]
fn avm_pair_registry_module_call_maps_to_the_value_passed() {
    // main.json trimmed to the storage module (testdata/bicep/README.md).
    let found = check_testdata(&["testdata/bicep/ml-hub-dependencies"]);
    assert_eq!(found.len(), 1, "{found:#?}");
    let d = &found[0];
    let file = "testdata/bicep/ml-hub-dependencies/main.bicep";
    assert_eq!(d["rule"], "STG001");
    // `networkAcls: networkAcls` in the `br/public:avm/res/storage/storage-account` call
    assert_eq!(place(d), (file.to_owned(), 321, 18));
    // `bypass: 'AzureServices'` in `param networkAcls object = { … }`
    assert_eq!(
        related(d, "default value of parameter `networkAcls`"),
        (file.to_owned(), 57)
    );
    // What the finding relates at its own compiled value is said once, with the
    // compiled location (not a second block at the same place).
    let compiled = "testdata/bicep/ml-hub-dependencies/main.json";
    assert_eq!(
        related(
            d,
            "in the compiled template; the firewall denies other traffic by default"
        ),
        (compiled.to_owned(), 1869)
    );
    let at_compiled = d["related"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["file"] == compiled);
    assert_eq!(at_compiled.count(), 1, "{d:#?}");
}

#[test]
fn bundled_example_loop_variable_and_local_module() {
    let found = check_testdata(&["testdata/examples/bicep"]);
    let file = "testdata/examples/bicep/main.bicep";
    let by_rule = |rule: &str| found.iter().find(|d| d["rule"] == rule).unwrap();
    assert_eq!(found.len(), 2, "{found:#?}");
    // A resource loop: one finding naming both instances, at `networkAcls: lockedDown`,
    // with the variable's `bypass: 'AzureServices'` related.
    let storage = by_rule("STG001");
    assert_eq!(place(storage), (file.to_owned(), 22, 18));
    assert!(storage["message"]
        .as_str()
        .unwrap()
        .contains("instances `stlandingdev`, `stlandingprod`"));
    assert_eq!(
        related(storage, "variable `lockedDown`"),
        (file.to_owned(), 11)
    );
    // A local module whose parameter decides: the value the call passes, the module's
    // line related.
    let vault = by_rule("KV001");
    assert_eq!(place(vault), (file.to_owned(), 30, 13));
    assert_eq!(
        related(vault, "the module's parameter `bypass`"),
        ("testdata/examples/bicep/modules/vault.bicep".to_owned(), 16)
    );
}

#[test]
fn a_finding_written_in_a_local_module_is_reported_there_and_its_comments_apply() {
    let dir = scratch("bicep-local-module");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/examples/bicep");
    std::fs::create_dir_all(dir.join("modules")).unwrap();
    for file in ["main.bicep", "main.json"] {
        std::fs::copy(example.join(file), dir.join(file)).unwrap();
    }
    // The module writes the bypass itself; the caller passes nothing for it.
    let vault = std::fs::read_to_string(example.join("modules/vault.bicep"))
        .unwrap()
        .replace("bypass: bypass", "bypass: 'AzureServices'");
    std::fs::write(dir.join("modules/vault.bicep"), &vault).unwrap();
    let main = std::fs::read_to_string(dir.join("main.bicep"))
        .unwrap()
        .replace("    bypass: 'AzureServices'\n  }\n}", "  }\n}");
    std::fs::write(dir.join("main.bicep"), main).unwrap();
    let compiled = std::fs::read_to_string(dir.join("main.json"))
        .unwrap()
        .replace("\"[parameters('bypass')]\"", "\"AzureServices\"");
    std::fs::write(dir.join("main.json"), compiled).unwrap();
    let empty = scratch("bicep-local-module-path");
    let found = findings(&run(&dir, &empty, &json_check(&["."])));
    let vault_finding = found.iter().find(|d| d["rule"] == "KV001").unwrap();
    assert_eq!(
        place(vault_finding),
        ("modules/vault.bicep".to_owned(), 16, 15),
        "{found:#?}"
    );
    assert_eq!(
        related(vault_finding, "deployed by module `secrets`"),
        ("main.bicep".to_owned(), 26)
    );
    // The module named alone: a note that names its parent, not a lint with defaults.
    let out = run(
        &dir,
        &empty,
        &[
            "check",
            "--as-of",
            AS_OF,
            "--no-config",
            "modules/vault.bicep",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("a module deployed by `main.bicep`"),
        "{}",
        stderr(&out)
    );
    // A comment in the module file suppresses the finding there; a stale one is SUP001.
    let suppressed = vault.replace(
        "      bypass: 'AzureServices'",
        "      // trustlint-ignore KV001: only Azure Backup reads this vault\n      bypass: 'AzureServices'",
    );
    let suppressed = suppressed.replace(
        "  location: location",
        "  // trustlint-ignore STG001: not a storage account\n  location: location",
    );
    std::fs::write(dir.join("modules/vault.bicep"), suppressed).unwrap();
    let found = findings(&run(&dir, &empty, &json_check(&["."])));
    let in_module: Vec<(&str, u64)> = found
        .iter()
        .filter(|d| d["file"] == "modules/vault.bicep")
        .map(|d| {
            (
                d["rule"].as_str().unwrap(),
                d["start"]["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(in_module, [("SUP001", 6)], "{found:#?}");
}

#[test]
fn a_hand_written_json_beside_a_bicep_is_linted_on_its_own() {
    let dir = scratch("bicep-beside-arm");
    std::fs::write(dir.join("main.bicep"), BICEP).unwrap();
    // The same template without Bicep's `_generator`: written by hand, not compiled.
    let arm = COMPILED.replace("\"_generator\"", "\"author\"");
    std::fs::write(dir.join("main.json"), arm).unwrap();
    let empty = scratch("bicep-beside-arm-path");
    let out = run(&dir, &empty, &json_check(&["."]));
    let found = findings(&out);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["file"], "main.json");
    assert!(
        stderr(&out).contains("main.bicep: no compiled template"),
        "{}",
        stderr(&out)
    );
}

/// Copies a folder of the repository (no nesting deeper than two levels needed here).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_bicep_target_takes_part_in_the_estate_and_the_inventory() {
    // A git-mode factory whose self-hosted linked service reaches a storage account
    // that a `.bicep` in another folder locks down with the trusted bypass.
    let dir = scratch("bicep-estate");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/examples/estate");
    copy_dir(&examples.join("adf"), &dir.join("adf"));
    std::fs::create_dir_all(dir.join("infra")).unwrap();
    let rename = |text: &str| text.replace("stbiceplogs", "stnorthwindlake");
    std::fs::write(dir.join("infra/main.bicep"), rename(BICEP)).unwrap();
    std::fs::write(dir.join("infra/main.json"), rename(COMPILED)).unwrap();
    let empty = scratch("bicep-estate-path");
    let found = findings(&run(&dir, &empty, &json_check(&["infra", "adf"])));
    let storage = found
        .iter()
        .find(|d| d["rule"] == "STG001")
        .unwrap_or_else(|| panic!("{found:#?}"));
    assert_eq!(place(storage), ("infra/main.bicep".to_owned(), 13, 15));
    assert!(
        storage["message"]
            .as_str()
            .unwrap()
            .contains("ls_lake_shir"),
        "{storage:#?}"
    );
    let reliance = found
        .iter()
        .find(|d| d["rule"] == "ADF002" && d["file"] == "adf/linkedService/ls_lake_shir.json")
        .unwrap_or_else(|| panic!("{found:#?}"));
    assert!(reliance["related"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["file"] == "infra/main.bicep"));
    // The inventory row points at the `.bicep` line.
    let out = run(
        &dir,
        &empty,
        &[
            "inventory",
            "--format",
            "csv",
            "--as-of",
            AS_OF,
            "--no-config",
            "infra",
            "adf",
        ],
    );
    let csv = stdout(&out);
    assert!(
        csv.lines()
            .any(|l| l.contains("ls_lake_shir") && l.contains("infra/main.bicep,13")),
        "{csv}"
    );
}

#[test]
fn an_open_bicep_target_without_findings_still_counts_in_the_estate() {
    // The storage account is open (no finding of its own): its `.bicep` still deploys
    // it, so the factory's call is to a target of the run, not one "in no file" (ADF005).
    let dir = scratch("bicep-estate-open");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/examples/estate");
    copy_dir(&examples.join("adf"), &dir.join("adf"));
    std::fs::create_dir_all(dir.join("infra")).unwrap();
    let open = |text: &str| {
        text.replace("stbiceplogs", "stnorthwindlake")
            .replace("Deny", "Allow")
            .replace("AzureServices", "None")
    };
    std::fs::write(dir.join("infra/main.bicep"), open(BICEP)).unwrap();
    std::fs::write(dir.join("infra/main.json"), open(COMPILED)).unwrap();
    let empty = scratch("bicep-estate-open-path");
    let found = findings(&run(&dir, &empty, &json_check(&["infra", "adf"])));
    assert!(
        !found
            .iter()
            .any(|d| d["message"].as_str().unwrap().contains("stnorthwindlake")),
        "{found:#?}"
    );
    // The same account written as JSON only: the same findings.
    std::fs::remove_file(dir.join("infra/main.bicep")).unwrap();
    let from_json = findings(&run(&dir, &empty, &json_check(&["infra", "adf"])));
    assert_eq!(found.len(), from_json.len(), "{found:#?}\n{from_json:#?}");
}

#[test]
fn a_module_declared_on_the_first_line_after_a_byte_order_mark_is_a_module() {
    // The pre-pass reads `.bicep` files as the linter does: a UTF-8 BOM is not part of
    // the first line, so `module` there still makes `modules/vault.bicep` a module
    // (linted through main.bicep, not reported as lacking a compiled template).
    let dir = scratch("bicep-bom");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/examples/bicep"),
        &dir,
    );
    let text = std::fs::read_to_string(dir.join("main.bicep")).unwrap();
    let at = text.find("module secrets").unwrap();
    let moved = format!("\u{FEFF}{}\n{}", &text[at..], &text[..at]);
    std::fs::write(dir.join("main.bicep"), moved).unwrap();
    let empty = scratch("bicep-bom-path");
    let out = run(&dir, &empty, &json_check(&["."]));
    assert!(!stderr(&out).contains("vault.bicep"), "{}", stderr(&out));
    let rules: Vec<String> = findings(&out)
        .iter()
        .map(|d| format!("{} {}", d["rule"], d["file"]))
        .collect();
    assert_eq!(
        rules,
        ["\"KV001\" \"main.bicep\"", "\"STG001\" \"main.bicep\""],
        "{rules:?}"
    );
}
