//! `--cached` that hits for Rust: a key from everything that decides a binary — the files of
//! the function's package and of its local path dependencies (not `target/`, not the other
//! functions' packages), the workspace's manifest, Cargo.lock and cargo config, the toolchain
//! and cargo-lambda versions, the target, profile, BuildProperties and the build environment —
//! so an unchanged function is rebuilt without starting cargo at all. Paths enter the key
//! relative to the project folder, so two checkouts of one commit share keys. Artifacts live in
//! `<cache-dir>/<uuid>/`; with `--remote-cache` they are also shared under their key.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::cargo::tools::toolchain_versions;
use crate::output::layout::{artifact_dirs, copy_keeping_time};
use crate::output::remote::{Fetched, Problem, Remote};
use crate::paths;
use crate::plan::{Artifact, BuildPlan, CacheVerdict, Profile};
use crate::settings::Settings;
use crate::sources::{is_skipped, package_closure, read_manifest, workspace_root};
use crate::store::{Fingerprint, replace_dir};
use crate::ui::Ui;

/// The sub-folder sam build's part of a mixed build caches into: sam deletes every cache folder
/// its own build.toml does not name, so it must not share the folder with samrs's entries.
pub const SAM_CACHE: &str = "sam";

/// Files of a workspace root that every member's binary depends on.
const WORKSPACE_FILES: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    "rust-toolchain",
    "rust-toolchain.toml",
];

/// Cargo configuration files looked up in every folder above a package, as cargo does.
const CONFIG_FILES: &[&str] = &[
    ".cargo/config.toml",
    ".cargo/config",
    "rust-toolchain",
    "rust-toolchain.toml",
];

/// The files of one workspace (or lone package) folder, each with the package that owns it.
struct Tree {
    /// (file, the innermost package folder holding it, if any).
    files: Vec<(PathBuf, Option<PathBuf>)>,
}

/// Computes cache keys, remembering trees and file hashes for the run.
pub struct KeyMaker {
    shared: String,
    project_root: PathBuf,
    excluded: Vec<PathBuf>,
    cargo_home: Option<PathBuf>,
    trees: BTreeMap<PathBuf, Tree>,
    file_hashes: HashMap<PathBuf, String>,
}

impl KeyMaker {
    /// `shared` holds what every key depends on (environment, toolchain, options);
    /// `project_root` anchors the relative paths; `excluded` paths are never hashed.
    pub fn new(
        shared: String,
        project_root: PathBuf,
        excluded: Vec<PathBuf>,
        cargo_home: Option<PathBuf>,
    ) -> KeyMaker {
        KeyMaker {
            shared,
            project_root,
            excluded,
            cargo_home,
            trees: BTreeMap::new(),
            file_hashes: HashMap::new(),
        }
    }

    /// The key of one function build definition or layer.
    pub fn key(
        &mut self,
        plan: &BuildPlan,
        artifact: Artifact,
        profile: Profile,
    ) -> Result<String> {
        let (kind, options, metadata) = match artifact {
            Artifact::Function(i) => {
                let d = &plan.definitions[i];
                ("", &d.options, &d.metadata)
            }
            Artifact::Layer(i) => {
                let l = &plan.layers[i];
                ("layer|", &l.options, &l.metadata)
            }
        };
        let target = plan.target(artifact);
        let mut hasher = Fingerprint::new();
        hasher.update(b"samrs-cache-v2\n");
        hasher.update(self.shared.as_bytes());
        hasher.update(
            format!(
                "{kind}{}|{}|{:?}|{:?}|{}\n",
                target.runtime.as_str(),
                target.architecture.as_str(),
                profile,
                options,
                serde_yaml::to_string(metadata).unwrap_or_default()
            )
            .as_bytes(),
        );
        for (name, hash) in self.inputs(plan.code_dir(artifact))? {
            hasher.update(format!("{name}={hash}\n").as_bytes());
        }
        Ok(hasher.finish())
    }

    /// Every file the binary of the package at `code_dir` depends on, named relative to the
    /// project folder (or by its role when outside it), with its content hash; sorted.
    fn inputs(&mut self, code_dir: &Path) -> Result<BTreeMap<String, String>> {
        let closure = package_closure(code_dir);
        let mut chosen: Vec<PathBuf> = Vec::new();
        for root in &closure.roots {
            if !self.trees.contains_key(root) {
                let tree = walk_tree(root, &self.excluded);
                self.trees.insert(root.clone(), tree);
            }
            let Some(tree) = self.trees.get(root) else {
                continue;
            };
            let whole = closure.whole.contains(root);
            for (file, owner) in &tree.files {
                let workspace_wide = file.parent() == Some(root.as_path())
                    && file
                        .file_name()
                        .is_some_and(|n| WORKSPACE_FILES.iter().any(|w| n == *w))
                    || file.starts_with(root.join(".cargo"));
                let owned = match owner {
                    Some(package) => closure.packages.contains(package),
                    None => true,
                };
                if whole || workspace_wide || owned {
                    chosen.push(file.clone());
                }
            }
        }
        let mut inputs = BTreeMap::new();
        for file in chosen {
            let hash = self.file_hash(&file)?;
            inputs.insert(self.name(&file), hash);
        }
        // Cargo reads its configuration from every folder above the package and CARGO_HOME.
        // Those outside the project differ in place from machine to machine: they count by
        // content only.
        let mut outside = Vec::new();
        let mut seen = BTreeSet::new();
        let above: Vec<PathBuf> = closure
            .roots
            .iter()
            .flat_map(|root| root.ancestors().skip(1).map(Path::to_path_buf))
            .collect();
        let cargo_home = self.cargo_home.clone();
        let home_files = cargo_home
            .iter()
            .flat_map(|home| ["config.toml", "config"].map(|name| home.join(name)));
        let files: Vec<PathBuf> = above
            .iter()
            .flat_map(|folder| CONFIG_FILES.iter().map(move |name| folder.join(name)))
            .chain(home_files)
            .collect();
        for file in files {
            if !seen.insert(file.clone()) || !file.is_file() {
                continue;
            }
            let hash = self.file_hash(&file)?;
            if paths::is_within(&file, &self.project_root) {
                inputs.insert(self.name(&file), hash);
            } else {
                outside.push(hash);
            }
        }
        outside.sort();
        outside.dedup();
        inputs.insert(
            "<configuration outside the project>".into(),
            outside.join(","),
        );
        Ok(inputs)
    }

    /// A file's name in the key: relative to the project folder (`../shared/…` for a path
    /// dependency beside it), the same in every checkout.
    fn name(&self, file: &Path) -> String {
        paths::to_template_string(&paths::relative(file, &self.project_root))
    }

    fn file_hash(&mut self, file: &Path) -> Result<String> {
        if let Some(hash) = self.file_hashes.get(file) {
            return Ok(hash.clone());
        }
        let mut buffer = Vec::new();
        fs::File::open(file)
            .and_then(|mut f| f.read_to_end(&mut buffer))
            .with_context(|| format!("Unable to read {} for the build cache", file.display()))?;
        let mut print = Fingerprint::new();
        print.update(&buffer);
        let hash = print.finish();
        self.file_hashes.insert(file.to_path_buf(), hash.clone());
        Ok(hash)
    }
}

/// Every file under `root` (not `target/`, VCS folders, build or cache folders) with the
/// innermost package folder that holds it.
fn walk_tree(root: &Path, excluded: &[PathBuf]) -> Tree {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(root)
        .into_iter()
        .filter_entry(|e| !is_skipped(e, root) && !excluded.iter().any(|x| e.path() == x))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .collect();
    files.sort();
    let packages: BTreeSet<PathBuf> = files
        .iter()
        .filter(|f| f.file_name().is_some_and(|n| n == "Cargo.toml"))
        .filter(|f| read_manifest(f).is_some_and(|m| m.contains_key("package")))
        .filter_map(|f| f.parent().map(Path::to_path_buf))
        .collect();
    let files = files
        .into_iter()
        .map(|file| {
            let owner = file
                .ancestors()
                .skip(1)
                .take_while(|folder| folder.starts_with(root))
                .find(|folder| packages.contains(*folder))
                .map(Path::to_path_buf);
            (file, owner)
        })
        .collect();
    Tree { files }
}

/// Opens the remote cache of `--remote-cache` (with `--cached`); a store that cannot be opened
/// is a warning and the build goes on without it.
pub fn open_remote(settings: &Settings, ui: &Ui) -> Option<Remote> {
    let location = settings.remote_cache.as_ref().filter(|_| settings.cached)?;
    match Remote::open(location, &settings.env) {
        Ok(remote) => Some(remote),
        Err(e) => {
            ui.warn(&format!(
                "Warning: not using the remote cache {location}: {e:#}; building without it"
            ));
            None
        }
    }
}

/// Decides each function definition's and layer's verdict under `--cached`: a hit when its key
/// is the one build.toml recorded and the cache holds its artifacts, or when the remote cache has
/// them (downloaded and checked into the local cache); otherwise a miss carrying the key to store.
pub fn judge(
    plan: &mut BuildPlan,
    settings: &Settings,
    remote: Option<&Remote>,
    ui: &Ui,
) -> Result<()> {
    fs::create_dir_all(&settings.cache_dir).with_context(|| {
        format!(
            "Unable to create cache dir {}",
            settings.cache_dir.display()
        )
    })?;
    // SAM also creates an empty dependencies folder beside the build (unused for Rust).
    let _ = fs::create_dir_all(settings.cwd.join(".aws-sam/deps"));
    let mut keys = key_maker(plan, settings);
    let artifacts: Vec<Artifact> = plan.artifacts().collect();
    let mut remote_lookups: Vec<(Artifact, String)> = Vec::new();
    for artifact in artifacts {
        let key = keys.key(plan, artifact, settings.profile)?;
        if plan.source_hash(artifact) == key && holds(&settings.cache_dir, plan.uuid(artifact)) {
            ui.log(&format!(
                "Valid cache found, copying previously built resources for following {}",
                described(plan, artifact)
            ));
            plan.set_cache(artifact, CacheVerdict::Hit);
        } else if remote.is_some() {
            remote_lookups.push((artifact, key));
        } else {
            log_miss(ui, plan, artifact);
            plan.set_cache(artifact, CacheVerdict::Miss(key));
        }
    }
    if let Some(remote) = remote.filter(|_| !remote_lookups.is_empty()) {
        look_up_remote(plan, remote_lookups, settings, remote, ui);
    }
    Ok(())
}

/// `functions (A, B)` or `layers (L)`, as SAM names what a cache line is about.
fn described(plan: &BuildPlan, artifact: Artifact) -> String {
    let kind = match artifact {
        Artifact::Function(_) => "functions",
        Artifact::Layer(_) => "layers",
    };
    format!("{kind} ({})", plan.names(artifact).join(", "))
}

fn log_miss(ui: &Ui, plan: &BuildPlan, artifact: Artifact) {
    ui.log(&format!(
        "Cache is invalid, running build and copying resources for following {}",
        described(plan, artifact)
    ));
}

/// `2 function(s)`, `1 layer(s)`, `2 function(s) and 1 layer(s)`.
fn counted(artifacts: &[Artifact]) -> String {
    let layers = artifacts
        .iter()
        .filter(|a| matches!(a, Artifact::Layer(_)))
        .count();
    let functions = artifacts.len() - layers;
    match (functions, layers) {
        (_, 0) => format!("{functions} function(s)"),
        (0, _) => format!("{layers} layer(s)"),
        _ => format!("{functions} function(s) and {layers} layer(s)"),
    }
}

/// The key maker for this build: the environment, toolchain and options every key shares, the
/// project folder the paths are relative to, and what is never hashed.
fn key_maker(plan: &BuildPlan, settings: &Settings) -> KeyMaker {
    let env = &settings.env;
    let mut excluded = vec![
        settings.build_dir.clone(),
        settings.cache_dir.clone(),
        settings.template_file.clone(),
    ];
    excluded.extend(settings.config_file.clone());
    for name in ["CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR"] {
        if let Some(target) = env.non_empty(name) {
            excluded.push(paths::absolute(Path::new(target), &settings.cwd));
        }
    }
    let workspaces: BTreeSet<PathBuf> = plan
        .definitions
        .iter()
        .map(|d| workspace_root(&d.code_dir))
        .collect();
    let workspaces: Vec<PathBuf> = workspaces.into_iter().collect();
    let mut shared = String::new();
    for (k, v) in env.build_vars() {
        shared.push_str(&format!("{k}={v}\n"));
    }
    shared.push_str(&toolchain_versions(env, &workspaces));
    shared.push_str(&format!("reproducible={}\n", settings.reproducible));
    let project_root = settings
        .template_file
        .parent()
        .map_or_else(|| settings.cwd.clone(), Path::to_path_buf);
    KeyMaker::new(shared, project_root, excluded, env.cargo_home())
}

/// Asks the remote cache for what the local cache did not have: each found entry arrives,
/// checked, in the local cache and makes a hit; trouble is a warning and a miss.
fn look_up_remote(
    plan: &mut BuildPlan,
    lookups: Vec<(Artifact, String)>,
    settings: &Settings,
    remote: &Remote,
    ui: &Ui,
) {
    let wanted: Vec<(String, PathBuf)> = lookups
        .iter()
        .map(|(artifact, key)| (key.clone(), settings.cache_dir.join(plan.uuid(*artifact))))
        .collect();
    let results = remote.fetch_all(&wanted);
    let mut downloaded = (Vec::new(), 0u64);
    let mut warned_unreachable = false;
    for ((artifact, key), result) in lookups.into_iter().zip(results) {
        match result {
            Fetched::Restored(size) => {
                ui.log(&format!(
                    "Valid cache found in {}, copying previously built resources for following {}",
                    remote.location,
                    described(plan, artifact)
                ));
                downloaded.0.push(artifact);
                downloaded.1 += size;
                plan.set_source_hash(artifact, key);
                plan.set_cache(artifact, CacheVerdict::Hit);
                continue;
            }
            Fetched::Missing => {}
            Fetched::Failed(Problem::Unreachable(why)) => {
                if !warned_unreachable {
                    warned_unreachable = true;
                    ui.warn(&format!(
                        "Warning: the remote cache {} could not be read ({why}); building without it",
                        remote.location
                    ));
                }
            }
            Fetched::Failed(Problem::Corrupt(why)) => ui.warn(&format!(
                "Warning: ignoring the remote cache entry for {} in {}: {why}; building it",
                plan.names(artifact).join(", "),
                remote.location
            )),
        }
        log_miss(ui, plan, artifact);
        plan.set_cache(artifact, CacheVerdict::Miss(key));
    }
    if !downloaded.0.is_empty() {
        ui.log(&format!(
            "Downloaded {} from {} ({})",
            counted(&downloaded.0),
            remote.location,
            size_text(downloaded.1)
        ));
    }
}

/// Copies the cached artifacts of every hit into each of its folders under `root`.
pub fn restore_hits(plan: &BuildPlan, cache_dir: &Path, root: &Path) -> Result<()> {
    for artifact in plan.artifacts() {
        if *plan.cache(artifact) == CacheVerdict::Hit {
            for dir in artifact_dirs(root, plan, artifact) {
                restore(cache_dir, plan.uuid(artifact), &dir)?;
            }
        }
    }
    Ok(())
}

/// After a successful build: copies what was built into the cache (and the remote cache),
/// records the keys for build.toml, and (on full builds) drops cache folders no definition
/// or layer uses any more.
pub fn store_misses(plan: &mut BuildPlan, settings: &Settings, remote: Option<&Remote>, ui: &Ui) {
    let mut uploads: Vec<(Artifact, String, PathBuf)> = Vec::new();
    let artifacts: Vec<Artifact> = plan.artifacts().collect();
    for artifact in artifacts {
        let CacheVerdict::Miss(key) = plan.cache(artifact).clone() else {
            continue;
        };
        let built = artifact_dirs(&settings.build_dir, plan, artifact);
        let uuid = plan.uuid(artifact).to_string();
        let stored = match built.first() {
            Some(dir) => store(&settings.cache_dir, &uuid, dir),
            None => continue,
        };
        match stored {
            Ok(()) => {
                plan.set_source_hash(artifact, key.clone());
                uploads.push((artifact, key, settings.cache_dir.join(&uuid)));
            }
            Err(e) => ui.warn(&format!("Not cached: {e:#}")),
        }
    }
    if let Some(remote) = remote.filter(|_| !uploads.is_empty()) {
        upload(&uploads, remote, ui);
    }
    if !plan.single_resource {
        let in_use: Vec<&str> = plan
            .artifacts()
            .map(|a| plan.uuid(a))
            .chain([SAM_CACHE])
            .collect();
        prune(&settings.cache_dir, &in_use);
    }
}

fn upload(uploads: &[(Artifact, String, PathBuf)], remote: &Remote, ui: &Ui) {
    let items: Vec<(String, PathBuf)> = uploads
        .iter()
        .map(|(_, key, folder)| (key.clone(), folder.clone()))
        .collect();
    let mut sent = (Vec::new(), 0u64);
    let mut warned_unreachable = false;
    for ((artifact, _, _), result) in uploads.iter().zip(remote.upload_all(&items)) {
        match result {
            Ok(size) => {
                sent.0.push(*artifact);
                sent.1 += size;
            }
            Err(Problem::Unreachable(_)) if warned_unreachable => {}
            Err(Problem::Unreachable(why)) if why == "skipped" => {}
            Err(problem) => {
                warned_unreachable |= matches!(problem, Problem::Unreachable(_));
                ui.warn(&format!(
                    "Warning: not stored in the remote cache {}: {problem}",
                    remote.location
                ));
            }
        }
    }
    if !sent.0.is_empty() {
        ui.log(&format!(
            "Uploaded {} to {} ({})",
            counted(&sent.0),
            remote.location,
            size_text(sent.1)
        ));
    }
}

// Sizes are shown to one decimal; f64's 52-bit mantissa is plenty for that.
#[allow(clippy::cast_precision_loss)]
fn size_text(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
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

    /// A workspace with members `a` and `b` (both functions) and `shared` (a library of `a`,
    /// through `workspace = true`), and a path dependency `util` beside the workspace.
    fn workspace(root: &Path) {
        write(
            &root.join("Cargo.toml"),
            "[workspace]\nmembers = [\"a\", \"b\", \"shared\"]\n[workspace.dependencies]\nshared = { path = \"shared\" }\n",
        );
        write(&root.join("Cargo.lock"), "# lock\n");
        write(
            &root.join("a/Cargo.toml"),
            "[package]\nname = \"a\"\n[dependencies]\nshared = { workspace = true }\nutil = { path = \"../../util\" }\n",
        );
        write(&root.join("a/src/main.rs"), "fn main() {}\n");
        write(&root.join("b/Cargo.toml"), "[package]\nname = \"b\"\n");
        write(&root.join("b/src/main.rs"), "fn main() {}\n");
        write(
            &root.join("shared/Cargo.toml"),
            "[package]\nname = \"shared\"\n",
        );
        write(&root.join("shared/src/lib.rs"), "\n");
        write(&root.join("template.yaml"), "Resources: {}\n");
        write(
            &root.join("../util/Cargo.toml"),
            "[package]\nname = \"util\"\n",
        );
        write(&root.join("../util/src/lib.rs"), "\n");
    }

    fn keys(root: &Path) -> KeyMaker {
        KeyMaker::new(
            "shared\n".into(),
            root.to_path_buf(),
            vec![root.join("template.yaml"), root.join(".aws-sam/build")],
            None,
        )
    }

    #[test]
    fn a_function_depends_on_its_package_its_path_dependencies_and_the_workspace_files() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path().join("checkout/ws");
        workspace(&root);
        let inputs = keys(&root).inputs(&root.join("a")).expect("inputs");
        let names: Vec<&str> = inputs.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "../util/Cargo.toml",
                "../util/src/lib.rs",
                "<configuration outside the project>",
                "Cargo.lock",
                "Cargo.toml",
                "a/Cargo.toml",
                "a/src/main.rs",
                "shared/Cargo.toml",
                "shared/src/lib.rs",
            ],
            "not b, not the template"
        );
    }

    #[test]
    fn keys_do_not_depend_on_where_the_checkout_is() {
        let tmp = tempfile::tempdir().expect("tmp");
        let first = tmp.path().join("one/ws");
        let second = tmp.path().join("deeper/two/ws");
        workspace(&first);
        workspace(&second);
        let a = keys(&first).inputs(&first.join("a")).expect("inputs");
        assert_eq!(keys(&second).inputs(&second.join("a")).expect("inputs"), a);
        write(&second.join("target/release/a"), "binary");
        write(&second.join(".aws-sam/build/A/bootstrap"), "binary");
        write(&second.join("template.yaml"), "Resources: {A: {}}\n");
        write(&second.join("b/src/main.rs"), "fn main() { println!(); }\n");
        assert_eq!(
            keys(&second).inputs(&second.join("a")).expect("inputs"),
            a,
            "target/, .aws-sam, the template and another function do not count"
        );
        write(&second.join("shared/src/lib.rs"), "pub fn f() {}\n");
        assert_ne!(keys(&second).inputs(&second.join("a")).expect("inputs"), a);
        let b = keys(&first).inputs(&first.join("b")).expect("inputs");
        write(&first.join("Cargo.lock"), "# another lock\n");
        assert_ne!(keys(&first).inputs(&first.join("b")).expect("inputs"), b);
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
