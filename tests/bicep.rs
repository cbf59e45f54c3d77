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
}
