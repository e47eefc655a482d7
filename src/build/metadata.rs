//! Package facts (name, binaries, target folder) from `cargo metadata`, one call per workspace.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::plan::PackageInfo;

/// Reads the package of every folder in `dirs`. One `cargo metadata --no-deps` call answers for
/// every member of a workspace, so later folders of the same workspace cost nothing.
pub fn read_packages<'a>(
    dirs: impl IntoIterator<Item = (&'a Path, &'a str)>,
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
            for package in &metadata.packages {
                let Some(manifest_dir) = package.manifest_path.parent() else {
                    continue;
                };
                let manifest_dir = manifest_dir
                    .as_std_path()
                    .canonicalize()
                    .unwrap_or_else(|_| manifest_dir.as_std_path().to_path_buf());
                let bins = package
                    .targets
                    .iter()
                    .filter(|t| t.is_bin())
                    .map(|t| t.name.clone())
                    .collect();
                by_manifest_dir.insert(
                    manifest_dir,
                    PackageInfo {
                        name: package.name.to_string(),
                        bins,
                        target_directory: target_directory.clone(),
                        workspace_root: workspace_root.clone(),
                    },
                );
            }
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

fn describe_metadata_error(error: cargo_metadata::Error) -> String {
    match error {
        cargo_metadata::Error::CargoMetadata { stderr } => stderr.trim().to_string(),
        other => other.to_string(),
    }
}
