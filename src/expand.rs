//! `trustlint expand`: the template as Azure would deploy it, as JSON.
//!
//! Every deployed resource — nested deployments flattened, `condition: false` removed,
//! copy loops expanded to their instances — with its full type, evaluated name,
//! `apiVersion`, the deployment path it came from and its evaluated `location`, `properties`, `sku`,
//! `identity` and `kind`. An unknown value is written as `{"$unknown": "<reason>"}`.

use std::collections::HashMap;
use std::path::Path;

use jsonc_parser::ast::Value as Ast;
use serde_json::{json, Map, Value as Json};

use crate::parse::parse;
use crate::report::display_path;
use crate::source::SourceFile;
use crate::template::{classify, Condition, DocumentKind, Resource, Template};

/// Expands a template file; `parameters` overrides the conventional sibling file.
pub fn expand(template_path: &Path, parameters: Option<&Path>) -> Result<Json, String> {
    let bytes = crate::source::read_bounded(template_path)
        .map_err(|e| format!("{}: {e}", display_path(template_path)))?;
    let source = SourceFile::decode(template_path.to_path_buf(), &bytes).map_err(|e| {
        format!(
            "{}: {} at byte {}",
            display_path(template_path),
            e.message,
            e.offset
        )
    })?;
    let root = parse(&source.text)
        .map_err(|e| {
            format!(
                "{}: not valid JSON: {}",
                display_path(template_path),
                e.message
            )
        })?
        .ok_or_else(|| format!("{}: the file is empty", display_path(template_path)))?;
    let (DocumentKind::Template, Ast::Object(obj)) = (classify(&root), &root) else {
        return Err(format!(
            "{}: not a deployment template",
            display_path(template_path)
        ));
    };
    let params_path = match parameters {
        Some(p) => Some(p.to_path_buf()),
        None => crate::parameters::sibling_of(template_path),
    };
    let given = match &params_path {
        Some(p) => {
            crate::parameters::load(p)
                .map_err(|e| format!("{}: {e}", display_path(p)))?
                .values
        }
        None => HashMap::new(),
    };
    let template = Template::build(obj, given);
    let resources: Vec<Json> = template
        .resources
        .iter()
        .filter(|r| !r.is_type("Microsoft.Resources/deployments"))
        .map(|r| resource_json(r, &template))
        .collect();
    Ok(json!({
        "template": display_path(template_path),
        "parameters": params_path.as_deref().map(display_path),
        "resources": resources,
    }))
}

fn resource_json(r: &Resource<'_>, template: &Template<'_>) -> Json {
    let mut out = Map::new();
    out.insert("type".into(), json!(r.full_type));
    out.insert("name".into(), json!(r.display_name()));
    if let Some(v) = r.api_version {
        out.insert("apiVersion".into(), json!(v));
    }
    out.insert("deployment".into(), json!(deployment_path(r, template)));
    out.insert("path".into(), json!(r.pointer));
    if let Some(s) = r.symbolic_name {
        out.insert("symbolicName".into(), json!(s));
    }
    if let Some(c) = &r.copy {
        let mut copy = json!({ "name": c.loop_name.to_string(), "index": c.index });
        if let Some(reason) = &c.unknown_count {
            copy["count"] = json!({ "$unknown": reason });
        }
        out.insert("copy".into(), copy);
    }
    // What deploying it depends on, when the template does not decide it.
    if !r.conditions.is_empty() {
        let each: Vec<Json> = r
            .conditions
            .iter()
            .map(|c| match c {
                Condition::Written(c) => {
                    let reason = c
                        .unknown_reason()
                        .map(|r| r.to_string())
                        .unwrap_or_else(|| "not a bool".to_owned());
                    json!({ "$unknown": reason, "expression": c.written_text() })
                }
                Condition::ParentExists { parent } => json!({ "parentExists": parent }),
            })
            .collect();
        out.insert("deployedOnlyIf".into(), json!(each));
    }
    for key in ["location", "kind", "sku", "identity", "properties"] {
        if let Some(v) = r.get(key) {
            out.insert(key.into(), v.value().to_json());
        }
    }
    Json::Object(out)
}

/// The names of the nested deployments a resource came from, outermost first.
fn deployment_path(r: &Resource<'_>, template: &Template<'_>) -> Vec<String> {
    let mut path = Vec::new();
    let mut current = r.deployment;
    while let Some(i) = current {
        let d = &template.resources[i];
        path.push(d.display_name());
        current = d.deployment;
    }
    path.reverse();
    path
}
