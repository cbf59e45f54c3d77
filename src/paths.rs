//! Paths as trustlint shows and compares them: below every stage that names a file
//! (config, parameters, linter, baseline, report).

use std::path::{Component, Path, PathBuf};

/// A path for display and SARIF: relative when it was given relative, forward slashes.
pub fn display_path(path: &Path) -> String {
    // Most paths are already in that form: forward slashes, no `.` components, no
    // control characters, no doubled or trailing separators.
    if let Some(text) = path.to_str() {
        let plain = std::path::MAIN_SEPARATOR == '/'
            && !text.is_empty()
            && !text.starts_with("./")
            && !text.contains("/./")
            && !text.contains("//")
            && !text.ends_with('/')
            && !text.ends_with("/.")
            && text != "."
            && !text.chars().any(crate::diagnostic::is_control);
        if plain {
            return text.to_owned();
        }
    }
    let mut out = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::RootDir => out.push(String::new()),
            other => out.push(other.as_os_str().to_string_lossy().into_owned()),
        }
    }
    if out.len() == 1 && out[0].is_empty() {
        return "/".to_owned();
    }
    let mut joined = out.join("/");
    crate::diagnostic::escape_in_place(&mut joined);
    joined
}

/// The process's working directory (empty when it cannot be read).
pub fn current_dir() -> PathBuf {
    std::env::current_dir().unwrap_or_default()
}

/// The absolute form of `path`, with `.` and `..` resolved lexically (no symlinks
/// followed, so it works for paths that do not exist).
pub fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        current_dir().join(path)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_paths_use_forward_slashes_without_dot() {
        assert_eq!(display_path(Path::new("./a/b.json")), "a/b.json");
        assert_eq!(display_path(Path::new("a/./b.json")), "a/b.json");
        assert_eq!(display_path(Path::new("/tmp/x.json")), "/tmp/x.json");
        assert_eq!(display_path(Path::new("a//b/")), "a/b");
        assert_eq!(display_path(Path::new("a/.")), "a");
        assert_eq!(display_path(Path::new("/")), "/");
        assert_eq!(display_path(Path::new("a\u{1b}.json")), "a\\u{1b}.json");
    }
}
