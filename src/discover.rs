//! Finding the files to lint: given files as they are, directories walked for
//! `*.json` / `*.jsonc`, skipping `.git`, `node_modules`, `target`, `bin`, `obj` and
//! hidden directories.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

/// A path that could not be used, with the OS error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    pub path: PathBuf,
    pub message: String,
}

/// The files to lint, sorted and without duplicates, and the paths that failed.
#[derive(Debug, Default)]
pub struct Discovered {
    pub files: Vec<PathBuf>,
    pub errors: Vec<PathError>,
}

const SKIPPED_DIRS: &[&str] = &["node_modules", "target", "bin", "obj"];

pub fn discover(paths: &[PathBuf]) -> Discovered {
    let mut files = BTreeSet::new();
    let mut errors = Vec::new();
    for path in paths {
        match std::fs::metadata(path) {
            Err(e) => errors.push(PathError {
                path: path.clone(),
                message: e.to_string(),
            }),
            Ok(meta) if meta.is_dir() => walk(path, &mut files, &mut errors),
            Ok(_) => {
                files.insert(path.clone());
            }
        }
    }
    Discovered {
        files: files.into_iter().collect(),
        errors,
    }
}

fn walk(root: &Path, files: &mut BTreeSet<PathBuf>, errors: &mut Vec<PathError>) {
    let walker = WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0 || !e.file_type().is_dir() || !is_skipped_dir(e.file_name())
        });
    for entry in walker {
        match entry {
            Ok(e) if e.file_type().is_file() && has_json_extension(e.path()) => {
                files.insert(clean(e.path()));
            }
            Ok(_) => {}
            Err(e) => errors.push(PathError {
                path: e
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| root.to_path_buf()),
                message: e
                    .io_error()
                    .map(|io| io.to_string())
                    .unwrap_or_else(|| e.to_string()),
            }),
        }
    }
}

fn is_skipped_dir(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with('.') || SKIPPED_DIRS.contains(&name.as_ref())
}

fn has_json_extension(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json") || e.eq_ignore_ascii_case("jsonc"))
}

/// Drops a leading `./` so that `.` and `./x` report the same paths as `x`.
fn clean(path: &Path) -> PathBuf {
    path.strip_prefix(".")
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_hidden_and_build_directories() {
        assert!(is_skipped_dir(std::ffi::OsStr::new(".git")));
        assert!(is_skipped_dir(std::ffi::OsStr::new("node_modules")));
        assert!(!is_skipped_dir(std::ffi::OsStr::new("templates")));
        assert!(has_json_extension(Path::new("a/b.JSON")));
        assert!(has_json_extension(Path::new("a/b.jsonc")));
        assert!(!has_json_extension(Path::new("a/b.bicep")));
    }
}
