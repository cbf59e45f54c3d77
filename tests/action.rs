//! Checks of the files other tools read from this repository: the GitHub Action's
//! `action.yml` (against the action metadata rules GitHub enforces) and pre-commit's
//! `.pre-commit-hooks.yaml`. The workflows are checked by actionlint in CI.

use std::collections::BTreeSet;
use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

fn load(name: &str) -> Yaml {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap();
    YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{name} is not YAML: {e}"))
        .remove(0)
}

fn keys(map: &Yaml) -> BTreeSet<String> {
    map.as_hash()
        .map(|h| {
            h.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Every `<prefix>NAME` inside `${{ … }}` in the text.
fn referenced(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for expression in text.split("${{").skip(1) {
        let expression = expression.split("}}").next().unwrap_or("");
        for part in expression.split(prefix).skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            found.insert(name);
        }
    }
    found
}

#[test]
fn action_metadata_is_valid() {
    let action = load("action.yml");
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml")).unwrap();
    let allowed: BTreeSet<String> = [
        "name",
        "author",
        "description",
        "inputs",
        "outputs",
        "runs",
        "branding",
    ]
    .map(str::to_owned)
    .into();
    assert!(keys(&action).is_subset(&allowed), "{:?}", keys(&action));
    for required in ["name", "description", "runs"] {
        assert!(
            !action[required].is_badvalue(),
            "action.yml needs `{required}`"
        );
    }

    let inputs = keys(&action["inputs"]);
    for input in &inputs {
        let spec = &action["inputs"][input.as_str()];
        assert!(
            spec["description"].as_str().is_some(),
            "input {input} needs a description"
        );
        let spec_keys = keys(spec);
        assert!(
            spec_keys.iter().all(
                |k| ["description", "required", "default", "deprecationMessage"]
                    .contains(&k.as_str())
            ),
            "input {input}: {spec_keys:?}"
        );
    }
    assert!(inputs.is_superset(&["paths", "config", "fail-on"].map(str::to_owned).into()));
    assert_eq!(
        referenced(&text, "inputs."),
        inputs,
        "every input is used, and only inputs that exist"
    );

    let runs = &action["runs"];
    assert_eq!(runs["using"].as_str(), Some("composite"));
    let steps = runs["steps"].as_vec().expect("runs.steps");
    let ids: BTreeSet<String> = steps
        .iter()
        .filter_map(|s| s["id"].as_str().map(str::to_owned))
        .collect();
    for step in steps {
        let name = step["name"].as_str().unwrap_or("(unnamed)");
        let has_run = step["run"].as_str().is_some();
        let has_uses = step["uses"].as_str().is_some();
        assert!(
            has_run != has_uses,
            "step {name}: exactly one of run and uses"
        );
        if has_run {
            assert!(
                step["shell"].as_str().is_some(),
                "step {name}: composite run steps need `shell`"
            );
        }
        if let Some(uses) = step["uses"].as_str() {
            let (_, version) = uses.split_once('@').expect("uses pins a version");
            assert!(
                version.starts_with('v'),
                "step {name}: `{uses}` pins a release tag"
            );
        }
    }
    let used_steps = referenced(&text, "steps.");
    assert!(
        used_steps.is_subset(&ids),
        "steps referenced but not defined: {:?}",
        used_steps.difference(&ids).collect::<Vec<_>>()
    );
    for output in keys(&action["outputs"]) {
        assert!(
            action["outputs"][output.as_str()]["value"]
                .as_str()
                .is_some(),
            "output {output} needs a value"
        );
    }
    assert!(
        text.contains("cargo install --locked"),
        "builds a ref without a release from source, locked"
    );
    assert!(
        text.contains("releases/download") && text.contains(".sha256"),
        "downloads the release binary and its checksum"
    );
    assert!(
        text.contains("shasum -a 256") && text.contains("sha256sum"),
        "verifies the checksum on Linux, Windows (Git Bash) and macOS"
    );
    assert!(
        text.contains("--annotations"),
        "one run: SARIF and annotations"
    );
    let inputs = keys(&action["inputs"]);
    assert!(
        inputs.is_superset(&["version", "args"].map(str::to_owned).into()),
        "{inputs:?}"
    );
    assert!(
        text.contains("github/codeql-action/upload-sarif@"),
        "uploads SARIF"
    );
    assert!(text.contains("--format sarif"), "writes SARIF");
}

#[test]
fn pre_commit_hook_matches_json_and_jsonc_by_name() {
    let hooks = load(".pre-commit-hooks.yaml");
    let hook = &hooks[0];
    assert_eq!(hook["id"].as_str(), Some("trustlint"));
    assert_eq!(hook["language"].as_str(), Some("rust"));
    assert_eq!(hook["entry"].as_str(), Some("trustlint"));
    assert!(
        hook["types"].is_badvalue(),
        "no `types`: pre-commit knows no jsonc type"
    );
    assert_ne!(
        hook["pass_filenames"].as_bool(),
        Some(false),
        "file names are passed"
    );
    // pre-commit matches `files` with Python's `re.search`: `.json` or `.jsonc` at the end.
    // Case-insensitive: `UPPER.JSON` too.
    assert_eq!(hook["files"].as_str(), Some(r"(?i)\.(jsonc?|bicep)$"));
}
