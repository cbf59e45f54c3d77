//! `trustlint expand` against the values PSRule for Azure's own tests assert after
//! expanding their test templates (`testdata/psrule/asserted.json`; format and license
//! in `testdata/psrule/SOURCES.md`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/psrule")
}

/// Object keys exactly, then in any case; integers index arrays.
fn walk<'v>(mut value: &'v Json, path: &[Json]) -> Result<&'v Json, String> {
    for step in path {
        value = match (value, step) {
            (Json::Object(o), Json::String(k)) => o
                .get(k)
                .or_else(|| {
                    o.iter()
                        .find(|(key, _)| key.eq_ignore_ascii_case(k))
                        .map(|(_, v)| v)
                })
                .ok_or_else(|| format!("no key `{k}`"))?,
            (Json::Array(a), Json::Number(i)) => i
                .as_u64()
                .and_then(|i| a.get(i as usize))
                .ok_or_else(|| format!("no element {i}"))?,
            (other, _) => return Err(format!("cannot take {step} of {other}")),
        };
        if value.get("$unknown").is_some() {
            return Err(format!("unknown: {value}"));
        }
    }
    Ok(value)
}

fn has_unknown(v: &Json) -> bool {
    match v {
        Json::Object(o) => o.contains_key("$unknown") || o.values().any(has_unknown),
        Json::Array(a) => a.iter().any(has_unknown),
        _ => false,
    }
}

/// Numbers by value, everything else exactly.
fn same(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn check(assertion: &Json, expanded: &Json) -> Result<(), String> {
    let selector = &assertion["resource"];
    let wanted_type = selector["type"].as_str().unwrap_or_default();
    let of_type: Vec<&Json> = expanded["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| {
            r["type"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case(wanted_type))
        })
        .collect();
    let found = match selector["name"].as_str() {
        Some(name) => of_type.iter().copied().find(|r| {
            r["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        }),
        None => selector["index"]
            .as_u64()
            .and_then(|i| of_type.get(i as usize).copied()),
    };
    let names: Vec<&str> = of_type.iter().filter_map(|r| r["name"].as_str()).collect();
    match assertion["check"].as_str().unwrap_or("equals") {
        "absent" => match found {
            None => Ok(()),
            Some(r) => Err(format!("expected no such resource, found {}", r["name"])),
        },
        check => {
            let resource =
                found.ok_or_else(|| format!("no such resource; of that type: {names:?}"))?;
            let path = assertion["path"].as_array().cloned().unwrap_or_default();
            let value = walk(resource, &path)?;
            let expected = &assertion["expected"];
            let ok = match check {
                "length" => {
                    let n = match value {
                        Json::Array(a) => a.len(),
                        Json::Object(o) => o.len(),
                        Json::String(s) => s.chars().count(),
                        _ => return Err(format!("no length: {value}")),
                    };
                    expected.as_u64() == Some(n as u64)
                }
                _ => !has_unknown(value) && same(value, expected),
            };
            if ok {
                Ok(())
            } else {
                Err(format!("got {value}"))
            }
        }
    }
}

#[test]
fn expand_agrees_with_every_value_psrules_tests_assert() {
    let text = std::fs::read_to_string(dir().join("asserted.json")).unwrap();
    let assertions: Vec<Json> = serde_json::from_str(&text).unwrap();
    assert_eq!(assertions.len(), 75, "asserted.json holds 75 assertions");
    let mut expanded: HashMap<(String, Option<String>), Json> = HashMap::new();
    let mut failures = Vec::new();
    for (i, a) in assertions.iter().enumerate() {
        let template = a["template"].as_str().unwrap().to_owned();
        let parameters = a["parameters"].as_str().map(str::to_owned);
        let result = expanded
            .entry((template.clone(), parameters.clone()))
            .or_insert_with(|| {
                let params = parameters.as_ref().map(|p| dir().join(p));
                trustlint::expand::expand(&dir().join(&template), params.as_deref())
                    .unwrap_or_else(|e| panic!("expanding {template}: {e}"))
            });
        if let Err(why) = check(a, result) {
            failures.push(format!(
                "#{i} {template} {} {}: {why} ({})",
                a["resource"], a["path"], a["source"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} assertions fail:\n{}",
        failures.len(),
        assertions.len(),
        failures.join("\n")
    );
}
