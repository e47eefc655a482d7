//! The local folders a package is built from: its own folder, its workspace, and its path
//! dependencies (also through `workspace = true` and `[patch]`), followed transitively. The
//! build cache keys on their files; `--reproducible` remaps their common folder.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::output::staging::STAGING_MARK;
use crate::paths;

/// Folders never part of a source hash.
const SKIPPED_DIRS: &[&str] = &[".aws-sam", ".git", ".hg", ".svn", "node_modules"];

/// The packages whose files decide one definition's binary.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Closure {
    /// Package folders: the function's own and its path dependencies, transitively.
    pub packages: BTreeSet<PathBuf>,
    /// Workspace roots walked for those packages.
    pub roots: BTreeSet<PathBuf>,
    /// Roots taken whole (a CodeUri at a virtual workspace manifest builds any member).
    pub whole: BTreeSet<PathBuf>,
}

/// The packages a definition's binary is built from: the CodeUri's package and its local path
/// dependencies (including `workspace = true` ones and `[patch]` paths), transitively.
pub(crate) fn package_closure(code_dir: &Path) -> Closure {
    let mut closure = Closure::default();
    let mut pending = vec![paths::normalize(code_dir)];
    let mut visited = BTreeSet::new();
    while let Some(dir) = pending.pop() {
        if !visited.insert(dir.clone()) {
            continue;
        }
        let root = workspace_root(&dir);
        closure.roots.insert(root.clone());
        let Some(manifest) = read_manifest(&dir.join("Cargo.toml")) else {
            // No readable manifest: take the whole folder, to be safe.
            closure.whole.insert(root);
            continue;
        };
        let workspace = if root == dir {
            Some(manifest.clone())
        } else {
            read_manifest(&root.join("Cargo.toml"))
        };
        if manifest.contains_key("package") {
            closure.packages.insert(dir.clone());
            pending.extend(path_dependencies(
                &manifest,
                &dir,
                workspace.as_ref(),
                &root,
            ));
        } else {
            // A virtual manifest: any member may be built from here.
            closure.whole.insert(root.clone());
            for member in walk_manifests(&root) {
                if let Some(parsed) = read_manifest(&member) {
                    let folder = member.parent().unwrap_or(&root).to_path_buf();
                    pending.extend(path_dependencies(
                        &parsed,
                        &folder,
                        workspace.as_ref(),
                        &root,
                    ));
                }
            }
        }
    }
    closure
}

/// Every `path = "…"` of a manifest's dependency tables (`[workspace.dependencies]` and
/// per-target ones included), as absolute folders: what `--watch` watches beside a package.
pub(crate) fn listed_path_dependencies(manifest: &Path) -> Vec<PathBuf> {
    let Ok(text) = fs::read_to_string(manifest) else {
        return Vec::new();
    };
    let Ok(table) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    let base = manifest.parent().unwrap_or(Path::new("/"));
    let mut found = Vec::new();
    let mut visit = |deps: Option<&toml::Value>| {
        if let Some(toml::Value::Table(deps)) = deps {
            for dep in deps.values() {
                if let Some(path) = dep.get("path").and_then(toml::Value::as_str) {
                    found.push(paths::normalize(&base.join(path)));
                }
            }
        }
    };
    for section in ["dependencies", "build-dependencies"] {
        visit(table.get(section));
    }
    if let Some(toml::Value::Table(workspace)) = table.get("workspace") {
        visit(workspace.get("dependencies"));
    }
    if let Some(toml::Value::Table(targets)) = table.get("target") {
        for target in targets.values() {
            visit(target.get("dependencies"));
            visit(target.get("build-dependencies"));
        }
    }
    found
}

pub(crate) fn read_manifest(path: &Path) -> Option<toml::Table> {
    fs::read_to_string(path).ok()?.parse::<toml::Table>().ok()
}

/// The highest folder above `dir` whose Cargo.toml has a `[workspace]`, else `dir`.
pub(crate) fn workspace_root(dir: &Path) -> PathBuf {
    let mut root = dir.to_path_buf();
    let mut current = dir.parent();
    while let Some(folder) = current {
        let manifest = folder.join("Cargo.toml");
        match fs::read_to_string(&manifest) {
            Ok(text) if text.contains("[workspace") => root = folder.to_path_buf(),
            Ok(_) => {}
            Err(_) => break,
        }
        current = folder.parent();
    }
    root
}

fn walk_manifests(folder: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(folder)
        .into_iter()
        .filter_entry(|e| !is_skipped(e, folder))
        .filter_map(Result::ok)
        .filter(|e| e.file_name() == "Cargo.toml")
        .map(walkdir::DirEntry::into_path)
        .collect()
}

/// The local folders a manifest depends on: `path = "…"` dependencies and build-dependencies
/// (also per target), `workspace = true` ones through the workspace's table, and the
/// workspace's `[patch]` paths.
fn path_dependencies(
    manifest: &toml::Table,
    dir: &Path,
    workspace: Option<&toml::Table>,
    root: &Path,
) -> Vec<PathBuf> {
    let workspace_deps = workspace
        .and_then(|w| w.get("workspace"))
        .and_then(|w| w.get("dependencies"))
        .and_then(toml::Value::as_table);
    let mut found = Vec::new();
    let mut visit = |deps: Option<&toml::Value>| {
        let Some(toml::Value::Table(deps)) = deps else {
            return;
        };
        for (name, dep) in deps {
            if let Some(path) = dep.get("path").and_then(toml::Value::as_str) {
                found.push(paths::normalize(&dir.join(path)));
            } else if dep.get("workspace").and_then(toml::Value::as_bool) == Some(true) {
                let inherited = workspace_deps
                    .and_then(|w| w.get(name))
                    .and_then(|d| d.get("path"))
                    .and_then(toml::Value::as_str);
                if let Some(path) = inherited {
                    found.push(paths::normalize(&root.join(path)));
                }
            }
        }
    };
    for section in ["dependencies", "build-dependencies"] {
        visit(manifest.get(section));
    }
    if let Some(toml::Value::Table(targets)) = manifest.get("target") {
        for target in targets.values() {
            visit(target.get("dependencies"));
            visit(target.get("build-dependencies"));
        }
    }
    if let Some(toml::Value::Table(patches)) = workspace.and_then(|w| w.get("patch")) {
        for registry in patches.values() {
            if let toml::Value::Table(entries) = registry {
                for dep in entries.values() {
                    if let Some(path) = dep.get("path").and_then(toml::Value::as_str) {
                        found.push(paths::normalize(&root.join(path)));
                    }
                }
            }
        }
    }
    found
}

pub(crate) fn is_skipped(entry: &walkdir::DirEntry, root: &Path) -> bool {
    let name = entry.file_name().to_string_lossy();
    entry.file_type().is_dir()
        && (SKIPPED_DIRS.contains(&name.as_ref())
            || name.contains(STAGING_MARK)
            || (name == "target"
                && (entry.path().parent() == Some(root)
                    || entry.path().join("CACHEDIR.TAG").is_file())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, text).expect("write");
    }

    #[test]
    fn a_virtual_manifest_takes_the_whole_workspace_and_patches_count() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path().join("ws");
        write(
            &root.join("Cargo.toml"),
            "[workspace]\nmembers = [\"a\"]\n[patch.crates-io]\nserde = { path = \"../forks/serde\" }\n",
        );
        write(&root.join("a/Cargo.toml"), "[package]\nname = \"a\"\n");
        write(
            &tmp.path().join("forks/serde/Cargo.toml"),
            "[package]\nname = \"serde\"\n",
        );
        let closure = package_closure(&root);
        assert!(closure.whole.contains(&root));
        let member = package_closure(&root.join("a"));
        assert_eq!(
            member.packages.into_iter().collect::<Vec<_>>(),
            [tmp.path().join("forks/serde"), root.join("a")]
        );
        assert!(member.whole.is_empty());
    }
}
