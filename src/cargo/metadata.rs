//! Package facts (name, binaries, target folder) from `cargo metadata`, one call per workspace.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::plan::PackageInfo;
use crate::settings::Environment;
use crate::store;

/// Reads the package of every folder in `dirs`. One `cargo metadata --no-deps` call answers for
/// every member of a workspace, so later folders of the same workspace cost nothing.
pub(crate) fn read_packages<'a>(
    dirs: impl IntoIterator<Item = (&'a Path, &'a str)>,
    env: &Environment,
) -> Result<BTreeMap<PathBuf, PackageInfo>> {
    let mut by_manifest_dir: BTreeMap<PathBuf, PackageInfo> = BTreeMap::new();
    let mut result = BTreeMap::new();
    for (dir, function) in dirs {
        if result.contains_key(dir) {
            continue;
        }
        if !dir.exists() {
            bail!(
                "{function}: CodeUri folder {} does not exist; point CodeUri at the folder of the function's Cargo.toml",
                dir.display()
            );
        }
        if !dir.is_dir() {
            bail!(
                "{function}: CodeUri {} is not a folder; point CodeUri at the folder of the function's Cargo.toml, not at a file",
                dir.display()
            );
        }
        if !dir.join("Cargo.toml").is_file() {
            bail!(
                "{function}: there is no Cargo.toml in CodeUri folder {}; point CodeUri at the folder of the function's Cargo.toml",
                dir.display()
            );
        }
        let canonical = dir
            .canonicalize()
            .with_context(|| format!("Unable to read folder {}", dir.display()))?;
        if !by_manifest_dir.contains_key(&canonical) {
            let packages = match remembered(&canonical, env) {
                Some(packages) => packages,
                None => {
                    let packages = run_cargo_metadata(dir, function)?;
                    remember(&canonical, &packages, env);
                    packages
                }
            };
            by_manifest_dir.extend(packages);
        }
        match by_manifest_dir.get(&canonical) {
            Some(info) => {
                result.insert(dir.to_path_buf(), info.clone());
            }
            None => bail!(
                "{function}: {} is a virtual workspace manifest with no [package]; point CodeUri at a member crate's folder",
                dir.join("Cargo.toml").display()
            ),
        }
    }
    Ok(result)
}

/// Runs `cargo metadata --no-deps` in `dir`: every package of its workspace by manifest folder.
fn run_cargo_metadata(dir: &Path, function: &str) -> Result<Vec<(PathBuf, PackageInfo)>> {
    let metadata = cargo_metadata::MetadataCommand::new()
        .current_dir(dir)
        .no_deps()
        .exec()
        .map_err(|e| anyhow::anyhow!("{}", describe_metadata_error(e)))
        .with_context(|| {
            format!(
                "{function}: `cargo metadata` failed in {} (is Cargo.toml valid?)",
                dir.display()
            )
        })?;
    let target_directory = PathBuf::from(metadata.target_directory.as_std_path());
    let workspace_root = PathBuf::from(metadata.workspace_root.as_std_path());
    Ok(metadata
        .packages
        .iter()
        .filter_map(|package| {
            let manifest_dir = package.manifest_path.parent()?.as_std_path();
            let manifest_dir = manifest_dir
                .canonicalize()
                .unwrap_or_else(|_| manifest_dir.to_path_buf());
            let bins = package
                .targets
                .iter()
                .filter(|t| t.is_bin())
                .map(|t| t.name.clone())
                .collect();
            Some((
                manifest_dir,
                PackageInfo {
                    name: package.name.to_string(),
                    bins,
                    target_directory: target_directory.clone(),
                    workspace_root: workspace_root.clone(),
                },
            ))
        })
        .collect())
}

/// Remembered answers of `cargo metadata`, so a no-op build need not start cargo twice. An
/// answer is reused only while everything it depends on looks the same: the manifests, lock
/// and cargo config files from the folder up to the root, each package's `src` and `src/bin`
/// folders (new binaries), and the variables that move the target folder.
#[derive(serde::Serialize, serde::Deserialize)]
struct Remembered {
    stamp: String,
    packages: Vec<(PathBuf, String, Vec<String>, PathBuf, PathBuf)>,
}

fn memory_file(dir: &Path, env: &Environment) -> Option<PathBuf> {
    let key = store::fingerprint(&dir.to_string_lossy());
    Some(
        env.samrs_cache_home()?
            .join("metadata")
            .join(format!("{key}.json")),
    )
}

fn stamp(dir: &Path, packages: &[(PathBuf, PackageInfo)], env: &Environment) -> String {
    let mut text = String::new();
    for name in ["CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR", "CARGO_HOME"] {
        text.push_str(&format!("{name}={:?}\n", env.get(name)));
    }
    let mut identity = |path: &Path| text.extend(store::file_stamp(path));
    for folder in dir.ancestors() {
        for name in [
            "Cargo.toml",
            "Cargo.lock",
            ".cargo/config.toml",
            ".cargo/config",
        ] {
            identity(&folder.join(name));
        }
    }
    for (manifest_dir, _) in packages {
        for name in ["Cargo.toml", "src", "src/bin"] {
            identity(&manifest_dir.join(name));
        }
    }
    text
}

fn remembered(dir: &Path, env: &Environment) -> Option<Vec<(PathBuf, PackageInfo)>> {
    let text = std::fs::read_to_string(memory_file(dir, env)?).ok()?;
    let remembered: Remembered = serde_json::from_str(&text).ok()?;
    let packages: Vec<(PathBuf, PackageInfo)> = remembered
        .packages
        .into_iter()
        .map(|(dir, name, bins, target_directory, workspace_root)| {
            (
                dir,
                PackageInfo {
                    name,
                    bins,
                    target_directory,
                    workspace_root,
                },
            )
        })
        .collect();
    (stamp(dir, &packages, env) == remembered.stamp).then_some(packages)
}

fn remember(dir: &Path, packages: &[(PathBuf, PackageInfo)], env: &Environment) {
    let Some(file) = memory_file(dir, env) else {
        return;
    };
    let remembered = Remembered {
        stamp: stamp(dir, packages, env),
        packages: packages
            .iter()
            .map(|(d, p)| {
                (
                    d.clone(),
                    p.name.clone(),
                    p.bins.clone(),
                    p.target_directory.clone(),
                    p.workspace_root.clone(),
                )
            })
            .collect(),
    };
    if let Ok(text) = serde_json::to_string(&remembered) {
        let _ = store::write_atomically(&file, text);
    }
}

fn describe_metadata_error(error: cargo_metadata::Error) -> String {
    match error {
        cargo_metadata::Error::CargoMetadata { stderr } => stderr.trim().to_string(),
        other => other.to_string(),
    }
}
