//! Deployment parameters files: which one belongs to a template, and their values.
//!
//! A template `X.json` uses, in order: the file given with `--parameters`, else the
//! conventional sibling `X.parameters.json` (so `azuredeploy.parameters.json` for
//! `azuredeploy.json`, `main.parameters.json` for `main.json`). Compiled `.bicepparam`
//! files (`bicep build-params`) have the same JSON shape. Values are literals: ARM does
//! not evaluate expressions in parameters files. Key Vault references are unknown.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use jsonc_parser::ast::Value as Ast;

use crate::parse::parse;
use crate::source::SourceFile;
use crate::template::expr::scope::find;
use crate::template::{classify, span_of, DocumentKind, Kind, Origin, Value};

/// Parameter values by name, and the file they came from.
pub struct ParameterValues {
    pub file: Arc<SourceFile>,
    pub values: HashMap<String, Value>,
}

/// The conventional parameters file next to a template, if it exists: `X.parameters.json`
/// for `X.json` and `X.template.json`, `ARMTemplateParametersForFactory.json` for a Data
/// Factory Studio export's `ARMTemplateForFactory.json`.
pub fn sibling_of(template: &Path) -> Option<PathBuf> {
    sibling_name(template).filter(|candidate| candidate.is_file())
}

/// Where the conventional parameters file of a template would be (whether or not it
/// exists).
pub fn sibling_name(template: &Path) -> Option<PathBuf> {
    let name = template.file_name()?.to_str()?;
    if name.eq_ignore_ascii_case("ARMTemplateForFactory.json") {
        return Some(template.with_file_name("ARMTemplateParametersForFactory.json"));
    }
    let stem = name
        .strip_suffix(".json")
        .or_else(|| name.strip_suffix(".jsonc"))?;
    if stem.ends_with(".parameters") {
        return None;
    }
    let stem = stem.strip_suffix(".template").unwrap_or(stem);
    Some(template.with_file_name(format!("{stem}.parameters.json")))
}

/// The templates a parameters file belongs to by its name (the reverse of
/// [`sibling_of`]), those that exist.
pub fn templates_of(parameters: &Path) -> Vec<PathBuf> {
    let Some(name) = parameters.file_name().and_then(|n| n.to_str()) else {
        return Vec::new();
    };
    let candidates: Vec<String> =
        if name.eq_ignore_ascii_case("ARMTemplateParametersForFactory.json") {
            vec!["ARMTemplateForFactory.json".to_owned()]
        } else if let Some(stem) = name.strip_suffix(".parameters.json") {
            vec![format!("{stem}.json"), format!("{stem}.template.json")]
        } else {
            Vec::new()
        };
    candidates
        .into_iter()
        .map(|c| parameters.with_file_name(c))
        .filter(|c| c.is_file())
        .collect()
}

/// Reads a parameters file.
pub fn load(path: &Path) -> Result<ParameterValues, String> {
    let bytes = crate::source::read_bounded(path).map_err(|e| e.to_string())?;
    let file = Arc::new(
        SourceFile::decode(path.to_path_buf(), &bytes)
            .map_err(|e| format!("{} at byte {}", e.message, e.offset))?,
    );
    let values = {
        let root = parse(&file.text)
            .map_err(|e| format!("not valid JSON: {}", e.message))?
            .ok_or("the file is empty")?;
        if classify(&root) != DocumentKind::Parameters {
            return Err("not a deployment parameters file (its `$schema` does not name deploymentParameters.json)".to_owned());
        }
        let Ast::Object(obj) = &root else {
            unreachable!("classified as parameters")
        };
        let mut values = HashMap::new();
        if let Some(Ast::Object(params)) = find(obj, "parameters") {
            let display = crate::paths::display_path(path);
            for p in &params.properties {
                let name = p.name.as_str();
                let value = match &p.value {
                    Ast::Object(def) => match (find(def, "value"), find(def, "reference")) {
                        (Some(v), _) => literal(v, &Rc::from(format!("value of parameter `{name}` in `{display}`")), &file),
                        (None, Some(_)) => Value::unknown(format!("parameter `{name}` is a Key Vault reference in `{display}`, read at deployment time")),
                        (None, None) => continue,
                    },
                    _ => continue,
                };
                values.insert(name.to_ascii_lowercase(), value);
            }
        }
        values
    };
    Ok(ParameterValues { file, values })
}

/// Converts a literal JSON value, giving every node its origin in `file`.
fn literal(ast: &Ast<'_>, label: &Rc<str>, file: &Arc<SourceFile>) -> Value {
    let origin = Some(Rc::new(Origin {
        span: span_of(ast),
        label: label.clone(),
        file: Some(file.clone()),
    }));
    let kind = match ast {
        Ast::StringLit(s) => Kind::Str(Rc::from(s.value.as_ref())),
        Ast::NumberLit(n) => n.value.parse::<i64>().map(Kind::Int).unwrap_or_else(|_| {
            n.value
                .parse::<f64>()
                .map(Kind::Float)
                .unwrap_or(Kind::Null)
        }),
        Ast::BooleanLit(b) => Kind::Bool(b.value),
        Ast::NullKeyword(_) => Kind::Null,
        Ast::Array(a) => Kind::Array(Rc::new(
            a.elements.iter().map(|e| literal(e, label, file)).collect(),
        )),
        Ast::Object(o) => Kind::Object(Rc::new(
            o.properties
                .iter()
                .map(|p| (Rc::from(p.name.as_str()), literal(&p.value, label, file)))
                .collect(),
        )),
    };
    Value { kind, origin }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sibling_names() {
        let dir = std::env::temp_dir().join(format!("trustlint-params-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("azuredeploy.parameters.json"), "{}").unwrap();
        assert_eq!(
            sibling_of(&dir.join("azuredeploy.json")),
            Some(dir.join("azuredeploy.parameters.json"))
        );
        assert_eq!(sibling_of(&dir.join("main.json")), None);
        assert_eq!(
            sibling_of(&dir.join("azuredeploy.template.json")),
            Some(dir.join("azuredeploy.parameters.json"))
        );
        std::fs::write(dir.join("azuredeploy.json"), "{}").unwrap();
        assert_eq!(
            templates_of(&dir.join("azuredeploy.parameters.json")),
            vec![dir.join("azuredeploy.json")]
        );
        assert_eq!(sibling_of(&dir.join("azuredeploy.parameters.json")), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
