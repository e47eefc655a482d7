//! Lexical path helpers with Python's `os.path.normpath`/`relpath` meaning, without touching disk.

use std::path::{Component, Path, PathBuf};

/// Removes `.` and folds `..` (lexically, like `os.path.normpath`).
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out: Vec<Component> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(component),
            },
            other => out.push(other),
        }
    }
    if out.is_empty() {
        return PathBuf::from(".");
    }
    out.iter().collect()
}

/// `path` relative to `base`; both absolute and normalised (like `os.path.relpath`).
pub(crate) fn relative(path: &Path, base: &Path) -> PathBuf {
    let path = normalize(path);
    let base = normalize(base);
    let path: Vec<_> = path.components().collect();
    let base: Vec<_> = base.components().collect();
    let common = path
        .iter()
        .zip(base.iter())
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = PathBuf::new();
    for _ in common..base.len() {
        out.push("..");
    }
    for component in &path[common..] {
        out.push(component);
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

/// `path` made absolute against `cwd` and normalised.
pub(crate) fn absolute(path: &Path, cwd: &Path) -> PathBuf {
    normalize(&cwd.join(path))
}

/// True when `inner` is `outer` or lies inside it (lexically).
pub(crate) fn is_within(inner: &Path, outer: &Path) -> bool {
    normalize(inner).starts_with(normalize(outer))
}

/// A path as text with forward slashes, as written into templates.
pub(crate) fn to_template_string(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// A CodeUri/ContentUri naming a `.zip` archive, compared as SAM compares it (case-sensitively).
#[expect(
    clippy::case_sensitive_file_extension_comparisons,
    reason = "SAM's check is case-sensitive too"
)]
pub(crate) fn is_zip(uri: &str) -> bool {
    uri.ends_with(".zip")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_folds_dots() {
        assert_eq!(normalize(Path::new("/a/./b/../c/")), PathBuf::from("/a/c"));
        assert_eq!(normalize(Path::new("/..")), PathBuf::from("/"));
        assert_eq!(normalize(Path::new("./")), PathBuf::from("."));
        assert_eq!(normalize(Path::new("../x")), PathBuf::from("../x"));
    }

    #[test]
    fn relative_paths_walk_up_and_down() {
        let rel = |a: &str, b: &str| relative(Path::new(a), Path::new(b));
        assert_eq!(
            rel("/p/.aws-sam/build/F", "/p/.aws-sam/build"),
            PathBuf::from("F")
        );
        assert_eq!(rel("/p", "/p/.aws-sam/build"), PathBuf::from("../.."));
        assert_eq!(
            rel("/p/layer", "/p/.aws-sam/build"),
            PathBuf::from("../../layer")
        );
        assert_eq!(rel("/p", "/p"), PathBuf::from("."));
        assert_eq!(rel("/x/y", "/p/q"), PathBuf::from("../../x/y"));
    }

    #[test]
    fn within_is_lexical_and_inclusive() {
        assert!(is_within(Path::new("/p/a"), Path::new("/p")));
        assert!(is_within(Path::new("/p"), Path::new("/p/")));
        assert!(!is_within(Path::new("/pa"), Path::new("/p")));
    }
}
