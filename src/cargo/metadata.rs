//! Package facts (name, binaries, target folder) from `cargo metadata`, one call per workspace.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::plan::{BinTarget, PackageInfo};
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
                "{function}: {} is neither a package nor the root of its workspace (cargo metadata lists no package there); point CodeUri at the folder of the package's Cargo.toml or at the workspace root",
                dir.join("Cargo.toml").display()
            ),
        }
    }
    Ok(result)
}

/// Runs `cargo metadata --no-deps` in `dir`: every package of its workspace by manifest folder,
/// and the workspace root folder itself, whose bins are those of the default members.
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
    Ok(workspace_packages(&metadata))
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

/// What `cargo lambda build` can build from each folder of the workspace: a member folder builds
/// its package; the root folder builds the default members (all members of a virtual
/// workspace unless `default-members` says otherwise).
fn workspace_packages(metadata: &cargo_metadata::Metadata) -> Vec<(PathBuf, PackageInfo)> {
    let target_directory = PathBuf::from(metadata.target_directory.as_std_path());
    let workspace_root = canonical(metadata.workspace_root.as_std_path());
    let bins_of = |package: &cargo_metadata::Package| -> Vec<BinTarget> {
        let enabled = default_features(&package.features);
        let dir = package
            .manifest_path
            .parent()
            .map(|d| canonical(d.as_std_path()))
            .unwrap_or_default();
        package
            .targets
            .iter()
            .filter(|t| t.is_bin())
            .map(|t| BinTarget {
                name: t.name.clone(),
                package: package.name.to_string(),
                manifest_dir: dir.clone(),
                features_off: t
                    .required_features
                    .iter()
                    .filter(|f| !enabled.contains(f.as_str()))
                    .cloned()
                    .collect(),
            })
            .collect()
    };
    let all_bins: Vec<BinTarget> = metadata.packages.iter().flat_map(bins_of).collect();
    let info = |name: String, bins: Vec<BinTarget>, virtual_root: bool| {
        let elsewhere = all_bins
            .iter()
            .filter(|b| {
                !bins
                    .iter()
                    .any(|own| own.name == b.name && own.package == b.package)
            })
            .cloned()
            .collect();
        PackageInfo {
            name,
            bins,
            elsewhere,
            virtual_root,
            target_directory: target_directory.clone(),
            workspace_root: workspace_root.clone(),
        }
    };
    let mut result: Vec<(PathBuf, PackageInfo)> = metadata
        .packages
        .iter()
        .filter_map(|package| {
            let manifest_dir = canonical(package.manifest_path.parent()?.as_std_path());
            Some((
                manifest_dir,
                info(package.name.to_string(), bins_of(package), false),
            ))
        })
        .collect();
    let root_package = result.iter().position(|(dir, _)| *dir == workspace_root);
    let default_members: Vec<&cargo_metadata::Package> =
        if metadata.workspace_default_members.is_available() {
            metadata.workspace_default_packages()
        } else {
            metadata.workspace_packages()
        };
    let root_bins: Vec<BinTarget> = default_members.into_iter().flat_map(bins_of).collect();
    match root_package {
        Some(i) => {
            let name = result[i].1.name.clone();
            result[i].1 = info(name, root_bins, false);
        }
        None => {
            let name = format!(
                "workspace {}",
                workspace_root.file_name().map_or_else(
                    || workspace_root.display().to_string(),
                    |n| n.to_string_lossy().into_owned()
                )
            );
            result.push((workspace_root.clone(), info(name, root_bins, true)));
        }
    }
    result
}

/// The features a plain build turns on: `default` and what it enables, transitively.
fn default_features(table: &BTreeMap<String, Vec<String>>) -> std::collections::BTreeSet<String> {
    let mut enabled = std::collections::BTreeSet::new();
    let mut pending = vec!["default".to_string()];
    while let Some(feature) = pending.pop() {
        if !table.contains_key(&feature) || !enabled.insert(feature.clone()) {
            continue;
        }
        for item in &table[&feature] {
            if !item.contains('/') && !item.starts_with("dep:") {
                pending.push(item.clone());
            }
        }
    }
    enabled.remove("default");
    enabled
}

/// Remembered answers of `cargo metadata`, so a no-op build need not start cargo twice. An
/// answer is reused only while everything it depends on looks the same: the manifests, lock
/// and cargo config files from the folder up to the root, each package's `src` and `src/bin`
/// folders (new binaries), and the variables that move the target folder.
#[derive(serde::Serialize, serde::Deserialize)]
struct Remembered {
    stamp: String,
    packages: Vec<(PathBuf, PackageInfo)>,
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
    (stamp(dir, &remembered.packages, env) == remembered.stamp).then_some(remembered.packages)
}

fn remember(dir: &Path, packages: &[(PathBuf, PackageInfo)], env: &Environment) {
    let Some(file) = memory_file(dir, env) else {
        return;
    };
    let remembered = Remembered {
        stamp: stamp(dir, packages, env),
        packages: packages.to_vec(),
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
