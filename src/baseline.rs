//! Baselines: record today's findings (`--write-baseline FILE`) and later report only
//! new ones (`--baseline FILE`).
//!
//! A finding is identified by its rule, its file, and a fingerprint built from what it
//! is about rather than where its lines are: the resource's type and name and the JSON
//! path of the value it points at inside the resource. Inserting lines, reformatting,
//! or moving a resource within its file keeps the fingerprint; renaming the resource or
//! the property makes the finding new. Equal fingerprints are matched by count.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::diagnostic::BaselineState;
use crate::linter::FileReport;

/// The baseline file format version; a file with another version is rejected.
const VERSION: u64 = 1;

/// Findings recorded in a baseline file, counted by (rule, file, fingerprint).
#[derive(Debug, Default)]
pub struct Baseline {
    counts: HashMap<(String, String, String), usize>,
    /// File paths in the baseline are relative to this directory.
    base: PathBuf,
}

impl Baseline {
    /// Reads a baseline file written by [`write`].
    pub fn load(path: &Path) -> Result<Baseline, String> {
        let text = crate::source::read_bounded_text(path)
            .map_err(|e| format!("baseline {}: {e}", path.display()))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("baseline {}: not valid JSON: {e}", path.display()))?;
        if value["version"].as_u64() != Some(VERSION) || value["tool"] != "trustlint" {
            return Err(format!(
                "baseline {}: not a trustlint baseline (version {VERSION}); write one with --write-baseline",
                path.display()
            ));
        }
        let mut baseline = Baseline {
            counts: HashMap::new(),
            base: base_dir(path),
        };
        for f in value["findings"].as_array().into_iter().flatten() {
            let (Some(rule), Some(file), Some(fp)) = (
                f["rule"].as_str(),
                f["file"].as_str(),
                f["fingerprint"].as_str(),
            ) else {
                return Err(format!(
                    "baseline {}: every finding needs `rule`, `file` and `fingerprint`",
                    path.display()
                ));
            };
            baseline.add(rule, file, fp);
        }
        Ok(baseline)
    }

    fn add(&mut self, rule: &str, file: &str, fingerprint: &str) {
        *self
            .counts
            .entry((rule.to_owned(), file.to_owned(), fingerprint.to_owned()))
            .or_insert(0) += 1;
    }

    /// Marks every live finding `Unchanged` when the baseline holds it, else `New`.
    pub fn mark(mut self, files: &mut [FileReport]) {
        for f in files {
            let file = relative_to(&self.base, &f.path);
            for d in f.diagnostics.iter_mut().filter(|d| d.suppressed.is_none()) {
                let key = (d.rule.to_owned(), file.clone(), d.fingerprint.clone());
                let state = match self.counts.get_mut(&key) {
                    Some(n) if *n > 0 => {
                        *n -= 1;
                        BaselineState::Unchanged
                    }
                    _ => BaselineState::New,
                };
                d.baseline = Some(state);
            }
        }
    }
}

/// Writes every finding that is not suppressed to `path` (atomically, via `write`);
/// returns how many were written, and the baseline they make (as [`Baseline::load`]
/// would read it back).
pub fn write(
    path: &Path,
    files: &[FileReport],
    write: impl Fn(&Path, &[u8]) -> std::io::Result<()>,
) -> Result<(usize, Baseline), String> {
    let mut recorded = Baseline {
        counts: HashMap::new(),
        base: base_dir(path),
    };
    let mut findings = Vec::new();
    for f in files {
        let file = relative_to(&recorded.base, &f.path);
        for d in f.diagnostics.iter().filter(|d| d.suppressed.is_none()) {
            recorded.add(d.rule, &file, &d.fingerprint);
            let mut entry = json!({
                "rule": d.rule,
                "file": file,
                "fingerprint": d.fingerprint,
            });
            if let Some(r) = &d.resource {
                entry["resource"] = json!(format!("{}/{}", r.full_type, r.name));
            }
            entry["message"] = json!(d.message);
            findings.push(entry);
        }
    }
    let n = findings.len();
    let doc = json!({
        "tool": "trustlint",
        "version": VERSION,
        "findings": findings,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    write(path, text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((n, recorded))
}

/// The directory a baseline's paths are relative to: its own.
fn base_dir(baseline: &Path) -> PathBuf {
    crate::paths::absolute(baseline)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// `file` relative to `base` with forward slashes (`../` where it is outside).
fn relative_to(base: &Path, file: &Path) -> String {
    let file = crate::paths::absolute(file);
    let base_parts: Vec<_> = base.components().collect();
    let file_parts: Vec<_> = file.components().collect();
    let common = base_parts
        .iter()
        .zip(&file_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<String> = vec!["..".to_owned(); base_parts.len() - common];
    parts.extend(
        file_parts[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_walk_up() {
        assert_eq!(
            relative_to(Path::new("/a/b"), Path::new("/a/c/d.json")),
            "../c/d.json"
        );
        assert_eq!(
            relative_to(Path::new("/a"), Path::new("/a/c/d.json")),
            "c/d.json"
        );
    }
}
