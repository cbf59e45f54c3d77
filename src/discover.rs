//! Finding the files to lint: given files as they are, directories walked for
//! `*.json` / `*.jsonc`, skipping `.git`, `node_modules`, `target`, `bin`, `obj` and
//! hidden directories. Each physical file is linted once, however many spellings or
//! symlinks lead to it.

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
    /// A `.bicepparam` file was named or met in a walk (they are not read).
    pub bicepparam: bool,
    /// Every file a walk listed (before the config's excludes): a walk lists every
    /// `*.json` of a directory, so a file beside a walked file exists exactly when it
    /// is listed too — no `stat` needed to find a template's parameters file.
    pub walked: PathSet,
}

/// Paths compared as spelled, byte for byte (a walk and the lookups of files beside
/// walked files spell them alike), with a fast hash: `Path`'s own hash parses
/// components, and the default hasher is built to resist flooding, which a set of
/// paths listed from disk does not need.
pub type PathSet = rustc_hash::FxHashSet<std::ffi::OsString>;

const SKIPPED_DIRS: &[&str] = &["node_modules", "target", "bin", "obj"];

pub fn discover(paths: &[PathBuf]) -> Discovered {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let mut bicepparam = false;
    let mut walked = PathSet::default();
    // One walk without symlinks cannot reach a file twice: only then is checking each
    // file's identity (a `stat` per file) skipped.
    let mut may_repeat = paths.len() > 1;
    for path in paths {
        match std::fs::metadata(path) {
            Err(e) => errors.push(PathError {
                path: path.clone(),
                message: e.to_string(),
            }),
            Ok(meta) if meta.is_dir() => {
                let listed = files.len();
                may_repeat |= walk(path, &mut files, &mut errors, &mut bicepparam);
                walked.extend(files[listed..].iter().map(|f| f.as_os_str().to_owned()));
            }
            Ok(meta) if meta.is_file() && is_bicepparam(path) => bicepparam = true,
            Ok(meta) if meta.is_file() => {
                files.push(clean(path));
                // A parameters file named alone (pre-commit passes only changed files)
                // stands for the template(s) it belongs to.
                for template in crate::parameters::templates_of(path) {
                    files.push(clean(&template));
                    may_repeat = true;
                }
            }
            Ok(meta) => errors.push(PathError {
                path: path.clone(),
                message: format!("not a regular file ({})", file_kind(&meta)),
            }),
        }
    }
    // A single walk lists files in path order already (sorted names, depth first);
    // several paths, or templates added for a parameters file, need sorting.
    if may_repeat {
        files.sort();
        files.dedup();
    }
    Discovered {
        walked,
        files: if may_repeat {
            one_per_physical_file(files)
        } else {
            files
        },
        errors,
        bicepparam,
    }
}

fn is_bicepparam(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("bicepparam"))
}

/// Walks `root`; returns whether it followed a symlink (and may have met a file twice).
fn walk(
    root: &Path,
    files: &mut Vec<PathBuf>,
    errors: &mut Vec<PathError>,
    bicepparam: &mut bool,
) -> bool {
    let mut followed_link = false;
    let walker = WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0 || !e.file_type().is_dir() || !is_skipped_dir(e.file_name())
        });
    for entry in walker {
        match entry {
            // FIFOs, sockets and devices are skipped: only regular files are read.
            Ok(e)
                if e.file_type().is_file()
                    && (has_json_extension(e.path()) || crate::bicep::is_bicep(e.path())) =>
            {
                followed_link |= e.path_is_symlink();
                files.push(clean(e.path()));
            }
            Ok(e) => {
                followed_link |= e.path_is_symlink();
                *bicepparam |= is_bicepparam(e.path());
            }
            // Deleted between listing and visiting: nothing left to lint. (A dangling
            // symlink is still there, and is an error.)
            Err(e)
                if e.io_error()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound)
                    && e.path()
                        .is_some_and(|p| std::fs::symlink_metadata(p).is_err()) => {}
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
    followed_link
}

/// Keeps one spelling of each physical file: `a.json`, `./x/../a.json` and a symlink to
/// it are one file, linted and reported once — under the first spelling (in sorted
/// order) that is not a symlink, else the first.
// The identity is `Copy` on Unix (device and inode), a path elsewhere.
#[cfg_attr(unix, allow(clippy::clone_on_copy))]
fn one_per_physical_file(files: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut chosen: std::collections::HashMap<_, usize> = std::collections::HashMap::new();
    let is_link = |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink());
    let identities: Vec<_> = files.iter().map(|f| physical_identity(f)).collect();
    for (i, id) in identities.iter().enumerate() {
        let Some(id) = id else { continue };
        match chosen.get(id) {
            Some(&j) if !is_link(&files[j]) || is_link(&files[i]) => {}
            _ => {
                chosen.insert(id.clone(), i);
            }
        }
    }
    files
        .into_iter()
        .enumerate()
        .filter(|(i, _)| identities[*i].as_ref().is_none_or(|id| chosen[id] == *i))
        .map(|(_, f)| f)
        .collect()
}

#[cfg(unix)]
fn physical_identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn physical_identity(path: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(path).ok()
}

fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
    }
    let _ = meta;
    "not a file or directory"
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

    #[test]
    fn one_file_however_it_is_spelled() {
        let dir = std::env::temp_dir().join(format!("trustlint-discover-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/t.json"), "{}").unwrap();
        let found = discover(&[
            dir.join("sub/t.json"),
            dir.join("sub/../sub/t.json"),
            dir.join("sub"),
        ]);
        assert_eq!(found.files.len(), 1, "{:?}", found.files);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
