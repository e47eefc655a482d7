//! `--cached` that hits for Rust: a key from everything that decides a binary — the sources of
//! the local packages (not `target/`), manifests and Cargo.lock, the toolchain and cargo-lambda,
//! the target, profile, BuildProperties and the build environment — so an unchanged project
//! is rebuilt without starting cargo at all. Artifacts live in `<cache-dir>/<uuid>/`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::output::layout::{copy_keeping_time, function_dir};
use crate::output::staging::STAGING_MARK;
use crate::paths;
use crate::plan::{Artifact, BuildDefinition, BuildPlan, CacheVerdict, Profile};
use crate::settings::Settings;
use crate::store::{Fingerprint, file_stamp, replace_dir};
use crate::ui::Ui;

/// The sub-folder sam build's part of a mixed build caches into: sam deletes every cache folder
/// its own build.toml does not name, so it must not share the folder with samrs's entries.
pub const SAM_CACHE: &str = "sam";

/// Folders never part of a source hash.
const SKIPPED_DIRS: &[&str] = &[".aws-sam", ".git", ".hg", ".svn", "node_modules"];

/// Computes cache keys, remembering the hash of each source folder for the run.
pub struct KeyMaker {
    environment: String,
    folder_hashes: BTreeMap<PathBuf, String>,
    excluded: Vec<PathBuf>,
}

impl KeyMaker {
    /// Keys for this run's settings: its build environment (RUSTFLAGS, CARGO_*, RUSTUP_*), the
    /// installed toolchains; the build, cache and target folders are never hashed.
    pub fn new(settings: &Settings) -> KeyMaker {
        let mut text = String::new();
        for (k, v) in settings.env.build_vars() {
            text.push_str(&format!("{k}={v}\n"));
        }
        text.push_str(&toolchain_identity(settings));
        let mut excluded = vec![settings.build_dir.clone(), settings.cache_dir.clone()];
        if let Some(target) = settings
            .env
            .get("CARGO_TARGET_DIR")
            .filter(|t| !t.is_empty())
        {
            excluded.push(paths::absolute(Path::new(target), &settings.cwd));
        }
        KeyMaker {
            environment: text,
            folder_hashes: BTreeMap::new(),
            excluded,
        }
    }

    /// The key of one build definition.
    pub fn key(&mut self, definition: &BuildDefinition, profile: Profile) -> Result<String> {
        let mut hasher = Fingerprint::new();
        hasher.update(b"samrs-cache-v1\n");
        hasher.update(self.environment.as_bytes());
        hasher.update(
            format!(
                "{}|{}|{:?}|{:?}|{}\n",
                definition.target.runtime.as_str(),
                definition.target.architecture.as_str(),
                profile,
                definition.options,
                serde_yaml::to_string(&definition.metadata).unwrap_or_default()
            )
            .as_bytes(),
        );
        for folder in source_folders(&definition.code_dir) {
            let hash = match self.folder_hashes.get(&folder) {
                Some(hash) => hash.clone(),
                None => {
                    let hash = hash_folder(&folder, &self.excluded)?;
                    self.folder_hashes.insert(folder.clone(), hash.clone());
                    hash
                }
            };
            hasher.update(format!("{}={hash}\n", folder.display()).as_bytes());
        }
        Ok(hasher.finish())
    }
}

/// The folders whose files decide a package's binary: its workspace root (or the package) and
/// the local path dependencies named in the manifests, followed transitively.
pub fn source_folders(code_dir: &Path) -> BTreeSet<PathBuf> {
    let mut folders = BTreeSet::new();
    let mut pending = vec![workspace_root(code_dir)];
    while let Some(folder) = pending.pop() {
        if folders
            .iter()
            .any(|f: &PathBuf| paths::is_within(&folder, f))
        {
            continue;
        }
        folders.retain(|f| !paths::is_within(f, &folder));
        folders.insert(folder.clone());
        for manifest in walk_manifests(&folder) {
            for dependency in path_dependencies(&manifest) {
                pending.push(workspace_root(&dependency));
            }
        }
    }
    folders
}

/// The highest folder above `dir` whose Cargo.toml has a `[workspace]`, else `dir`.
fn workspace_root(dir: &Path) -> PathBuf {
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

/// `path = "…"` dependencies of a manifest, as absolute folders.
pub fn path_dependencies(manifest: &Path) -> Vec<PathBuf> {
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

fn is_skipped(entry: &walkdir::DirEntry, root: &Path) -> bool {
    let name = entry.file_name().to_string_lossy();
    entry.file_type().is_dir()
        && (SKIPPED_DIRS.contains(&name.as_ref())
            || name.contains(STAGING_MARK)
            || (name == "target" && entry.path().parent() == Some(root)))
}

/// SHA-256 over every file's relative path and content, in sorted order.
fn hash_folder(folder: &Path, excluded: &[PathBuf]) -> Result<String> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(folder)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !is_skipped(e, folder) && !excluded.iter().any(|x| e.path() == x))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .collect();
    files.sort();
    let mut hasher = Fingerprint::new();
    let mut buffer = Vec::new();
    for file in files {
        let relative = file.strip_prefix(folder).unwrap_or(&file);
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update([0]);
        buffer.clear();
        fs::File::open(&file)
            .and_then(|mut f| f.read_to_end(&mut buffer))
            .with_context(|| format!("Unable to read {} for the build cache", file.display()))?;
        hasher.update((buffer.len() as u64).to_le_bytes());
        hasher.update(&buffer);
    }
    Ok(hasher.finish())
}

/// Identity of the installed toolchains and cargo-lambda, without running them: the rustup
/// settings and the size and time of each toolchain's rustc, and cargo-lambda's executable.
fn toolchain_identity(settings: &Settings) -> String {
    let mut text = String::new();
    let rustup = settings.env.rustup_home();
    if let Ok(rustup_settings) = fs::read_to_string(rustup.join("settings.toml")) {
        text.push_str(&rustup_settings);
    }
    if let Ok(entries) = fs::read_dir(rustup.join("toolchains")) {
        let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        names.sort();
        for toolchain in names {
            text.push_str(&file_identity(&toolchain.join("bin/rustc")));
        }
    }
    for tool in ["cargo-lambda", "cargo", "rustc"] {
        if let Some(path) = settings.find_program(tool) {
            text.push_str(&file_identity(&path));
        }
    }
    text
}

fn file_identity(path: &Path) -> String {
    file_stamp(path).unwrap_or_else(|| format!("{}:missing\n", path.display()))
}

/// Decides each definition's verdict under `--cached`: a hit when its key is the one build.toml
/// recorded and the cache holds its artifacts; otherwise a miss carrying the key to store.
pub fn judge(plan: &mut BuildPlan, settings: &Settings, ui: &Ui) -> Result<()> {
    fs::create_dir_all(&settings.cache_dir).with_context(|| {
        format!(
            "Unable to create cache dir {}",
            settings.cache_dir.display()
        )
    })?;
    // SAM also creates an empty dependencies folder beside the build (unused for Rust).
    let _ = fs::create_dir_all(settings.cwd.join(".aws-sam/deps"));
    let mut keys = KeyMaker::new(settings);
    let names: Vec<String> = (0..plan.definitions.len())
        .map(|i| plan.names(Artifact::Function(i)).join(", "))
        .collect();
    for (definition, names) in plan.definitions.iter_mut().zip(names) {
        let key = keys.key(definition, settings.profile)?;
        if definition.source_hash == key && holds(&settings.cache_dir, &definition.uuid) {
            ui.log(&format!(
                "Valid cache found, copying previously built resources for following functions ({names})"
            ));
            definition.cache = CacheVerdict::Hit;
        } else {
            ui.log(&format!(
                "Cache is invalid, running build and copying resources for following functions ({names})"
            ));
            definition.cache = CacheVerdict::Miss(key);
        }
    }
    Ok(())
}

/// Copies the cached artifacts of every hit into each of its functions' folders under `root`.
pub fn restore_hits(plan: &BuildPlan, cache_dir: &Path, root: &Path) -> Result<()> {
    for definition in &plan.definitions {
        if definition.cache == CacheVerdict::Hit {
            for f in &definition.functions {
                restore(
                    cache_dir,
                    &definition.uuid,
                    &function_dir(root, plan.project, *f),
                )?;
            }
        }
    }
    Ok(())
}

/// After a successful build: copies what was built into the cache, records the keys for
/// build.toml, and (on full builds) drops cache folders no definition uses any more.
pub fn store_misses(plan: &mut BuildPlan, settings: &Settings, ui: &Ui) {
    for definition in &mut plan.definitions {
        if let CacheVerdict::Miss(key) = &definition.cache {
            let artifacts =
                function_dir(&settings.build_dir, plan.project, definition.functions[0]);
            match store(&settings.cache_dir, &definition.uuid, &artifacts) {
                Ok(()) => definition.source_hash = key.clone(),
                Err(e) => ui.warn(&format!("Not cached: {e:#}")),
            }
        }
    }
    if !plan.single_resource {
        let in_use: Vec<&str> = plan
            .definitions
            .iter()
            .map(|d| d.uuid.as_str())
            .chain([SAM_CACHE])
            .collect();
        prune(&settings.cache_dir, &in_use);
    }
}

/// True when the cache has a non-empty folder for `uuid`.
fn holds(cache_dir: &Path, uuid: &str) -> bool {
    fs::read_dir(cache_dir.join(uuid)).is_ok_and(|mut d| d.next().is_some())
}

/// Copies the cached artifacts of `uuid` into `destination`; false when there are none.
pub fn restore(cache_dir: &Path, uuid: &str, destination: &Path) -> Result<bool> {
    if !holds(cache_dir, uuid) {
        return Ok(false);
    }
    copy_folder(&cache_dir.join(uuid), destination)?;
    Ok(true)
}

/// Replaces the cached artifacts of `uuid` with a copy of `artifacts`.
pub fn store(cache_dir: &Path, uuid: &str, artifacts: &Path) -> Result<()> {
    let target = cache_dir.join(uuid);
    replace_dir(&target, |temporary| copy_folder(artifacts, temporary))
        .with_context(|| format!("Unable to write the build cache {}", target.display()))
}

/// Deletes cache folders whose UUID is no longer in use.
pub fn prune(cache_dir: &Path, in_use: &[&str]) {
    let Ok(entries) = fs::read_dir(cache_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !in_use.contains(&name.as_str()) && entry.path().is_dir() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Hard-links (or copies) every file of `from` into `to`.
fn copy_folder(from: &Path, to: &Path) -> Result<()> {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.with_context(|| format!("Unable to read {}", from.display()))?;
        let relative = entry.path().strip_prefix(from).unwrap_or(entry.path());
        let target = to.join(relative);
        if entry.file_type().is_dir() {
            fs::create_dir_all(&target)
                .with_context(|| format!("Unable to create {}", target.display()))?;
        } else if fs::hard_link(entry.path(), &target).is_err() {
            // A hard link costs nothing and keeps the time; across file systems, copy.
            copy_keeping_time(entry.path(), &target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, text).expect("write");
    }

    #[test]
    fn source_folders_cover_the_workspace_and_path_dependencies() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path();
        write(
            &root.join("ws/Cargo.toml"),
            "[workspace]\nmembers = [\"a\"]\n",
        );
        write(
            &root.join("ws/a/Cargo.toml"),
            "[package]\nname = \"a\"\n[dependencies]\nshared = { path = \"../../shared\" }\n",
        );
        write(
            &root.join("shared/Cargo.toml"),
            "[package]\nname = \"shared\"\n",
        );
        let folders = source_folders(&root.join("ws/a"));
        assert_eq!(
            folders.into_iter().collect::<Vec<_>>(),
            [root.join("shared"), root.join("ws")]
        );
    }

    #[test]
    fn folder_hash_ignores_target_and_aws_sam_but_sees_sources() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path();
        write(&root.join("Cargo.toml"), "[package]\nname = \"p\"\n");
        write(&root.join("src/main.rs"), "fn main() {}\n");
        let first = hash_folder(root, &[]).expect("hash");
        write(&root.join("target/release/p"), "binary");
        write(&root.join(".aws-sam/build/F/bootstrap"), "binary");
        assert_eq!(hash_folder(root, &[]).expect("hash"), first);
        write(&root.join("src/main.rs"), "fn main() { println!(); }\n");
        assert_ne!(hash_folder(root, &[]).expect("hash"), first);
    }

    #[test]
    fn store_restore_and_prune() {
        let tmp = tempfile::tempdir().expect("tmp");
        let artifacts = tmp.path().join("F");
        write(&artifacts.join("bootstrap"), "elf");
        let cache = tmp.path().join("cache");
        fs::create_dir_all(&cache).expect("mkdir");
        assert!(!restore(&cache, "u1", &tmp.path().join("out")).expect("restore"));
        store(&cache, "u1", &artifacts).expect("store");
        assert!(restore(&cache, "u1", &tmp.path().join("out")).expect("restore"));
        assert_eq!(
            fs::read_to_string(tmp.path().join("out/bootstrap")).expect("read"),
            "elf"
        );
        store(&cache, "u2", &artifacts).expect("store");
        prune(&cache, &["u2"]);
        assert!(!cache.join("u1").exists() && cache.join("u2").exists());
    }
}
