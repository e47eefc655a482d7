//! Whether several workspace members can share one `cargo lambda build` without changing any
//! binary: cargo unifies dependency features across the packages of one run, so the run is
//! shared only when `cargo tree -e features` shows the same features for every package a
//! member depends on, alone and together. Verdicts are cached by Cargo.lock and manifests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::plan::Target;
use crate::store::{Fingerprint, write_atomically};
use crate::template::Architecture;

/// True when building `packages` together gives each the same dependency features as building
/// it alone. Runs `cargo tree` (once per package plus once for all) unless a cached verdict for
/// the same Cargo.lock, manifests and target exists in `<target_directory>/samrs/`.
pub(crate) fn features_unify(
    cargo: &Path,
    workspace_root: &Path,
    target_directory: &Path,
    packages: &[(String, PathBuf)],
    target: Target,
) -> Result<bool> {
    let member_dirs: Vec<&Path> = packages.iter().map(|(_, dir)| dir.as_path()).collect();
    if same_dependency_declarations(&member_dirs) {
        return Ok(true);
    }
    let packages: Vec<String> = packages.iter().map(|(name, _)| name.clone()).collect();
    let packages = packages.as_slice();
    let triple = match target.architecture {
        Architecture::X86_64 => "x86_64-unknown-linux-gnu",
        Architecture::Arm64 => "aarch64-unknown-linux-gnu",
    };
    let key = verdict_key(workspace_root, packages, triple);
    let cache = target_directory.join("samrs").join("feature-verdicts");
    let cached = cache.join(&key);
    if let Ok(text) = std::fs::read_to_string(&cached) {
        return Ok(text.trim() == "same");
    }
    let together = features(cargo, workspace_root, packages, triple)?;
    let mut same = true;
    for package in packages {
        let alone = features(cargo, workspace_root, std::slice::from_ref(package), triple)?;
        if !same_features(&alone, &together) {
            same = false;
            break;
        }
    }
    let _ = write_atomically(&cached, if same { "same\n" } else { "different\n" });
    Ok(same)
}

/// Members whose manifests declare the same dependencies (none by path) and the same
/// `[features]` activate the same dependency features alone or together: no `cargo tree` needed.
fn same_dependency_declarations(member_dirs: &[&Path]) -> bool {
    let sections = |dir: &Path| -> Option<Vec<Option<toml::Value>>> {
        let text = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
        let table: toml::Table = text.parse().ok()?;
        let picked: Vec<Option<toml::Value>> =
            ["dependencies", "build-dependencies", "target", "features"]
                .iter()
                .map(|k| table.get(*k).cloned())
                .collect();
        let text = format!("{picked:?}");
        (!text.contains("path")).then_some(picked)
    };
    let mut all = member_dirs.iter().map(|d| sections(d));
    match all.next() {
        Some(Some(first)) => all.all(|other| other.as_ref() == Some(&first)),
        _ => false,
    }
}

/// Each package in the alone-tree has exactly the same features in the together-tree.
pub(crate) fn same_features(
    alone: &BTreeMap<String, BTreeSet<String>>,
    together: &BTreeMap<String, BTreeSet<String>>,
) -> bool {
    alone
        .iter()
        .all(|(package, features)| together.get(package) == Some(features))
}

/// Package → enabled features, from `cargo tree -e features` output lines.
pub(crate) fn parse_tree(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some((name, rest)) = line.split_once(" feature \"") {
            let feature = rest.split('"').next().unwrap_or_default();
            map.entry(name.to_string())
                .or_default()
                .insert(feature.to_string());
        } else if let Some(name) = line.split_whitespace().next() {
            map.entry(name.to_string()).or_default();
        }
    }
    map
}

fn features(
    cargo: &Path,
    workspace_root: &Path,
    packages: &[String],
    triple: &str,
) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace_root)
        .args([
            "tree", "-e", "features", "--prefix", "none", "--target", triple,
        ])
        .stdin(Stdio::null());
    for package in packages {
        command.args(["--package", package]);
    }
    let output = command
        .output()
        .with_context(|| format!("Unable to run cargo tree in {}", workspace_root.display()))?;
    if !output.status.success() {
        bail!(
            "cargo tree failed in {}: {}",
            workspace_root.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(parse_tree(&String::from_utf8_lossy(&output.stdout)))
}

fn verdict_key(workspace_root: &Path, packages: &[String], triple: &str) -> String {
    let mut hasher = Fingerprint::new();
    hasher.update(format!("samrs-unify-v2|{triple}|{}\n", packages.join(",")).as_bytes());
    let manifests = walkdir::WalkDir::new(workspace_root)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            !(e.file_type().is_dir() && (name == "target" || name.starts_with('.')))
        })
        .filter_map(Result::ok)
        .filter(|e| e.file_name() == "Cargo.toml" || e.file_name() == "Cargo.lock");
    for entry in manifests {
        hasher.update(entry.path().to_string_lossy().as_bytes());
        if let Ok(bytes) = std::fs::read(entry.path()) {
            hasher.update(&bytes);
        }
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_lines_become_feature_sets() {
        let tree = parse_tree(
            "fa v0.1.0 (/ws/fa)\nserde_json v1.0.1\nserde_json feature \"default\"\nserde_json feature \"std\" (*)\n",
        );
        assert_eq!(
            tree["serde_json"],
            BTreeSet::from(["default".to_string(), "std".to_string()])
        );
        assert!(tree["fa"].is_empty());
    }

    #[test]
    fn identical_declarations_need_no_cargo_tree() {
        let tmp = tempfile::tempdir().expect("tmp");
        let write = |name: &str, deps: &str| {
            let dir = tmp.path().join(name);
            std::fs::create_dir_all(&dir).expect("mkdir");
            std::fs::write(
                dir.join("Cargo.toml"),
                format!("[package]\nname = \"{name}\"\n[dependencies]\n{deps}"),
            )
            .expect("write");
            dir
        };
        let plain = write("a", "serde = \"1\"\n");
        let same = write("b", "serde = \"1\"\n");
        let derive = write(
            "c",
            "serde = { version = \"1\", features = [\"derive\"] }\n",
        );
        let path_one = write("d", "shared = { path = \"../shared\" }\n");
        let path_two = write("e", "shared = { path = \"../shared\" }\n");
        assert!(same_dependency_declarations(&[&plain, &same]));
        assert!(!same_dependency_declarations(&[&plain, &derive]));
        assert!(
            !same_dependency_declarations(&[&path_one, &path_two]),
            "path dependencies may differ"
        );
    }

    #[test]
    fn extra_features_in_the_shared_run_forbid_sharing() {
        let alone = parse_tree("serde_json v1\nserde_json feature \"std\"\n");
        let same = parse_tree("serde_json v1\nserde_json feature \"std\"\nother v2\n");
        let more = parse_tree(
            "serde_json v1\nserde_json feature \"std\"\nserde_json feature \"preserve_order\"\n",
        );
        assert!(same_features(&alone, &same));
        assert!(!same_features(&alone, &more));
    }
}
