//! Invariants of the rule registry and the rule docs.

mod common;

use std::path::Path;

use trustlint::diagnostic::Level;
use trustlint::rules::ALL;

const HEADINGS: &[&str] = &[
    "## What it does",
    "## Why is this bad?",
    "## Example",
    "## Use instead",
    "## How to fix",
    "## When to suppress",
    "## References",
];

#[test]
fn ids_are_unique_and_sorted() {
    let ids: Vec<&str> = ALL.iter().map(|r| r.meta().id).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        ids, sorted,
        "ALL must list rules sorted by ID, without duplicates"
    );
}

#[test]
fn names_are_kebab_case_and_unique() {
    let mut names: Vec<&str> = ALL.iter().map(|r| r.meta().name).collect();
    for name in &names {
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{name} is not kebab-case"
        );
    }
    names.sort();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "rule names must be unique");
}

#[test]
fn every_doc_has_the_required_sections_in_order() {
    for rule in ALL {
        let m = rule.meta();
        let title = format!("# {}: {}\n", m.id, m.name);
        assert!(
            m.docs.starts_with(&title),
            "rules/{}.md must start with `{}`",
            m.id,
            title.trim()
        );
        let mut last = 0;
        for heading in HEADINGS {
            let at = m.docs[last..]
                .find(&format!("\n{heading}\n"))
                .unwrap_or_else(|| {
                    panic!(
                        "rules/{}.md lacks `{heading}` (or it is out of order)",
                        m.id
                    )
                });
            last += at + 1;
        }
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("rules/{}.md", m.id));
        assert!(path.exists(), "{} has no rules/{}.md", m.id, m.id);
    }
}

#[test]
fn every_rule_has_firing_and_silent_fixtures() {
    for rule in ALL {
        let id = rule.meta().id;
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/rules")
            .join(id);
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|_| panic!("{id} has no fixtures in {}", dir.display()))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().any(|n| n.starts_with("fail-")),
            "{id} has no fail- fixture"
        );
        assert!(
            names.iter().any(|n| n.starts_with("pass-")),
            "{id} has no pass- fixture"
        );
    }
}

/// The one fenced code block of a doc section.
fn code_block<'d>(doc: &'d str, heading: &str) -> &'d str {
    let section = doc.split(&format!("\n{heading}\n")).nth(1).unwrap();
    let section = section.split("\n## ").next().unwrap();
    let start = section.find("```").expect("a fenced block");
    let body = &section[start..];
    let body = &body[body.find('\n').unwrap() + 1..];
    &body[..body.find("```").unwrap()]
}

#[test]
fn doc_examples_fire_and_fixes_do_not() {
    let dir = std::env::temp_dir().join(format!("trustlint-doc-examples-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for rule in ALL {
        let m = rule.meta();
        for (heading, must_fire) in [("## Example", true), ("## Use instead", false)] {
            let path = dir.join(format!("{}-{}.json", m.id, must_fire));
            std::fs::write(&path, code_block(m.docs, heading)).unwrap();
            let report = common::lint_with_rule(&path, m.id, common::AS_OF);
            let threshold = m.default_level.min(Level::Warning);
            let fired = report.diagnostics.iter().any(|d| d.level >= threshold);
            assert_eq!(
                fired, must_fire,
                "{} `{heading}`: {:#?}",
                m.id, report.diagnostics
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A template that declares nothing in a rule's namespaces is not evaluated for it, so
/// a rule that checks resources must name their namespaces; only the rules that read
/// the written document alone name none.
#[test]
fn every_rule_about_resources_names_their_namespaces() {
    const DOCUMENT_ONLY: &[&str] = &["EXPR001", "JSON001", "SUP001"];
    for rule in ALL {
        let m = rule.meta();
        assert_eq!(
            m.namespaces.is_empty(),
            DOCUMENT_ONLY.contains(&m.id),
            "{}: `namespaces` must be empty exactly for document-only rules",
            m.id
        );
        for t in m.resource_types {
            let namespace = t.split('/').next().unwrap_or_default();
            assert!(
                m.namespaces
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(namespace)),
                "{}: checks `{t}` but does not name `{namespace}` in `namespaces`",
                m.id
            );
        }
    }
}
