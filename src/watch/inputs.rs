//! What a watched build depends on: for each cargo run, the folders of its packages and of
//! their local path dependencies (sources, build scripts, manifests) and the files cargo reads
//! beside them (the workspace's manifest and Cargo.lock, cargo config, toolchain files); for the
//! plan, the templates, samconfig and parameter files. `target/`, `.aws-sam/`, VCS folders and
//! editor temp files never count.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::output::staging::STAGING_MARK;
use serde_yaml::Value;

use crate::plan::{BuildPlan, CargoBuild};
use crate::sam::plan::Handoff;
use crate::settings::Settings;
use crate::sources::listed_path_dependencies;
use crate::template::Project;

/// Folders whose files count (recursively, less what [`is_ignored`] skips) and single files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Inputs {
    pub(crate) roots: BTreeSet<PathBuf>,
    pub(crate) files: BTreeSet<PathBuf>,
    /// Folders inside the roots that never count (target folders, the build and cache folders).
    pub(crate) excluded: BTreeSet<PathBuf>,
}

impl Inputs {
    /// True when a change of `path` is a change of these inputs.
    pub(crate) fn covers(&self, path: &Path) -> bool {
        if self.files.contains(path) {
            return true;
        }
        self.roots.iter().any(|root| {
            path.strip_prefix(root)
                .is_ok_and(|rest| !is_ignored(rest) && !self.is_excluded(path))
        })
    }

    fn is_excluded(&self, path: &Path) -> bool {
        self.excluded.iter().any(|x| path.starts_with(x))
    }

    /// Adds everything of `other`. A folder one side leaves out but the other reads (a crate
    /// nested in another's folder) counts.
    pub(crate) fn extend(&mut self, other: &Inputs) {
        self.roots.extend(other.roots.iter().cloned());
        self.files.extend(other.files.iter().cloned());
        self.excluded.extend(other.excluded.iter().cloned());
        let roots = &self.roots;
        self.excluded
            .retain(|x| !roots.iter().any(|root| root.starts_with(x)));
    }

    /// Every file covered now: the files that exist and the files under the roots.
    pub(crate) fn walk_files(&self) -> BTreeSet<PathBuf> {
        let mut found: BTreeSet<PathBuf> =
            self.files.iter().filter(|f| f.is_file()).cloned().collect();
        for root in &self.roots {
            found.extend(
                self.walk(root)
                    .filter(|e| e.file_type().is_file())
                    .map(walkdir::DirEntry::into_path),
            );
        }
        found
    }

    /// The files under `dir` that count (for a folder that appeared or changed).
    pub(crate) fn files_under(&self, dir: &Path) -> Vec<PathBuf> {
        if !self.covers(dir) {
            return Vec::new();
        }
        self.walk(dir)
            .filter(|e| e.file_type().is_file())
            .map(walkdir::DirEntry::into_path)
            .filter(|p| self.covers(p))
            .collect()
    }

    /// The folders to watch (each without its subfolders): every folder under the roots that
    /// counts, and the folder of every single file (editors replace files by renaming, which
    /// only a watch on the folder sees).
    pub(crate) fn folders(&self) -> BTreeSet<PathBuf> {
        let mut folders = BTreeSet::new();
        for root in &self.roots {
            folders.extend(
                self.walk(root)
                    .filter(|e| e.file_type().is_dir())
                    .map(walkdir::DirEntry::into_path),
            );
        }
        for file in &self.files {
            if let Some(parent) = file.parent()
                && parent.is_dir()
            {
                folders.insert(parent.to_path_buf());
            }
        }
        folders
    }

    fn walk<'a>(&'a self, from: &Path) -> impl Iterator<Item = walkdir::DirEntry> + 'a {
        let from = from.to_path_buf();
        walkdir::WalkDir::new(&from)
            .into_iter()
            .filter_entry(move |e| {
                e.depth() == 0
                    || (!self.is_excluded(e.path())
                        && !e.path().file_name().is_some_and(|n| {
                            is_ignored_name(&n.to_string_lossy(), e.file_type().is_dir())
                        }))
            })
            .filter_map(Result::ok)
    }
}

/// True for a path (relative to a watched folder) that never counts as an input.
pub(crate) fn is_ignored(relative: &Path) -> bool {
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts
        .iter()
        .enumerate()
        .any(|(i, name)| is_ignored_name(name, i + 1 < parts.len()))
}

/// Build output, VCS and tool folders, and the temp and backup files of editors and of samrs.
fn is_ignored_name(name: &str, is_dir: bool) -> bool {
    if name.contains(STAGING_MARK) || name.contains(".samrs-tmp-") {
        return true;
    }
    if is_dir {
        return matches!(name, "target" | "node_modules" | "__pycache__")
            || (name.starts_with('.') && name != ".cargo");
    }
    name.ends_with('~')
        || name.starts_with(".#")
        || (name.starts_with('#') && name.ends_with('#'))
        || name == "4913"
        || name == ".DS_Store"
        || name.contains("___jb_")
        || [".swp", ".swo", ".swx", ".swpx", ".tmp"]
            .iter()
            .any(|suffix| name.ends_with(suffix))
}

/// The inputs of one cargo run: its packages' folders with their local path dependencies
/// (followed through manifests, including the workspace's `[workspace.dependencies]`), the
/// workspace manifest and lock, and cargo config and toolchain files above the run's folder.
pub(crate) fn run_inputs(plan: &BuildPlan, run: &CargoBuild, settings: &Settings) -> Inputs {
    let mut inputs = Inputs::default();
    let root_manifest = run.workspace_root.join("Cargo.toml");
    let mut pending: Vec<PathBuf> = run
        .outputs
        .iter()
        .map(|(artifact, _)| plan.code_dir(*artifact).to_path_buf())
        .collect();
    pending.extend(listed_path_dependencies(&root_manifest));
    let mut seen = BTreeSet::new();
    while let Some(dir) = pending.pop() {
        let dir = real(&dir);
        if !seen.insert(dir.clone()) {
            continue;
        }
        pending.extend(listed_path_dependencies(&dir.join("Cargo.toml")));
        inputs.roots.insert(dir);
    }
    let nested: Vec<PathBuf> = inputs.roots.iter().cloned().collect();
    inputs
        .roots
        .retain(|r| !nested.iter().any(|o| o != r && r.starts_with(o)));
    inputs
        .excluded
        .extend(other_packages(&inputs, &seen, &real(&run.workspace_root)));
    for name in ["Cargo.toml", "Cargo.lock"] {
        inputs.files.insert(real(&run.workspace_root.join(name)));
    }
    for folder in real(&run.dir).ancestors() {
        for name in [
            ".cargo/config.toml",
            ".cargo/config",
            "rust-toolchain.toml",
            "rust-toolchain",
        ] {
            let file = folder.join(name);
            if file.is_file() {
                inputs.files.insert(file);
            }
        }
    }
    inputs.excluded.insert(real(&run.target_directory));
    inputs.excluded.extend(output_folders(settings));
    inputs
}

/// Packages inside the folders of `inputs` that the run never reads: not among the packages
/// and path dependencies it reads (`read`), and either outside its workspace, their own
/// workspace's root, or in a workspace of one package (which has no other members).
fn other_packages(
    inputs: &Inputs,
    read: &BTreeSet<PathBuf>,
    workspace_root: &Path,
) -> Vec<PathBuf> {
    let single_package = has_workspace_table(&workspace_root.join("Cargo.toml")) == Some(false);
    let mut found = Vec::new();
    for root in &inputs.roots {
        for entry in inputs.walk(root) {
            let dir = entry.path();
            if entry.depth() == 0
                || !entry.file_type().is_dir()
                || !dir.join("Cargo.toml").is_file()
                || read.iter().any(|r| r.starts_with(dir))
            {
                continue;
            }
            if single_package
                || !dir.starts_with(workspace_root)
                || has_workspace_table(&dir.join("Cargo.toml")) == Some(true)
            {
                found.push(dir.to_path_buf());
            }
        }
    }
    found
}

/// Whether a manifest declares a `[workspace]`; `None` when it cannot be read.
fn has_workspace_table(manifest: &Path) -> Option<bool> {
    let text = std::fs::read_to_string(manifest).ok()?;
    let table = text.parse::<toml::Table>().ok()?;
    Some(table.contains_key("workspace"))
}

/// The inputs of the part handed to `sam build`: each resource's code folder (CodeUri,
/// ContentUri, or an image's DockerContext) and the `--manifest` file.
pub(crate) fn sam_inputs(project: &Project, handoff: &Handoff, settings: &Settings) -> Inputs {
    let mut inputs = Inputs::default();
    for resource in &handoff.resources {
        let Some(stack) = project.stacks.get(resource.stack) else {
            continue;
        };
        let folder = if resource.is_layer {
            stack
                .layers
                .iter()
                .find(|l| l.logical_id == resource.logical_id)
                .map(|l| l.content_dir.clone())
        } else {
            stack
                .functions
                .iter()
                .find(|f| f.logical_id == resource.logical_id)
                .map(
                    |f| match f.metadata.get("DockerContext").and_then(Value::as_str) {
                        Some(context) if f.package_type == "Image" => stack.dir.join(context),
                        _ => f.code_dir.clone(),
                    },
                )
        };
        if let Some(folder) = folder {
            inputs.roots.insert(real(&folder));
        }
    }
    let nested: Vec<PathBuf> = inputs.roots.iter().cloned().collect();
    inputs
        .roots
        .retain(|r| !nested.iter().any(|o| o != r && r.starts_with(o)));
    if let Some(manifest) = &settings.passthrough.manifest {
        inputs.files.insert(real(manifest));
    }
    inputs.excluded.extend(output_folders(settings));
    inputs
}

/// The build folder (with build.toml's folder) and the cache folder: samrs's own output.
fn output_folders(settings: &Settings) -> Vec<PathBuf> {
    let mut folders = vec![real(&settings.build_dir), real(&settings.cache_dir)];
    if let Some(parent) = settings.build_dir.parent()
        && parent.file_name().is_some_and(|n| n == ".aws-sam")
    {
        folders.push(real(parent));
    }
    folders
}

/// The files the plan is made from: the template and nested templates, samconfig (also where
/// one could appear) and the parameter files.
pub(crate) fn plan_files(settings: &Settings, project: Option<&Project>) -> BTreeSet<PathBuf> {
    let mut files = BTreeSet::new();
    files.insert(real(&settings.template_file));
    if let Some(project) = project {
        files.extend(project.stacks.iter().map(|s| real(&s.template_file)));
    }
    match &settings.config_file {
        Some(file) => {
            files.insert(real(file));
        }
        None => files.extend(
            ["samconfig.toml", "samconfig.yaml", "samconfig.yml"]
                .iter()
                .map(|name| real(&settings.config_dir.join(name))),
        ),
    }
    files.extend(settings.parameter_files.iter().map(|f| real(f)));
    files
}

/// True for a change that may change the plan: a plan file, a manifest, a lock or cargo
/// config file (package names, binaries, target folders).
pub(crate) fn changes_plan(path: &Path, plan_files: &BTreeSet<PathBuf>) -> bool {
    plan_files.contains(path)
        || path.file_name().is_some_and(|name| {
            matches!(
                name.to_string_lossy().as_ref(),
                "Cargo.toml" | "Cargo.lock" | "rust-toolchain" | "rust-toolchain.toml"
            )
        })
        || path
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|n| n == ".cargo")
}

/// `path` with symbolic links resolved as far as it exists, so that it compares equal to the
/// paths the watcher reports.
pub(crate) fn real(path: &Path) -> PathBuf {
    if let Ok(real) = path.canonicalize() {
        return real;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) if !parent.as_os_str().is_empty() => real(parent).join(name),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_output_vcs_and_editor_files_are_ignored() {
        for path in [
            "target/release/x",
            ".git/index",
            "src/.main.rs.swp",
            "src/main.rs~",
            "src/4913",
            "src/#main.rs#",
            "src/.#main.rs",
            "node_modules/a/b.js",
            ".idea/workspace.xml",
            ".aws-sam/build/F/bootstrap",
            "src/main.rs___jb_tmp___",
        ] {
            assert!(is_ignored(Path::new(path)), "{path}");
        }
        for path in [
            "src/main.rs",
            "build.rs",
            "Cargo.toml",
            ".cargo/config.toml",
            "src/bin/a.rs",
        ] {
            assert!(!is_ignored(Path::new(path)), "{path}");
        }
    }

    #[test]
    fn inputs_cover_roots_less_exclusions_and_named_files() {
        let inputs = Inputs {
            roots: BTreeSet::from([PathBuf::from("/p/fa")]),
            files: BTreeSet::from([PathBuf::from("/p/Cargo.lock")]),
            excluded: BTreeSet::from([PathBuf::from("/p/fa/out")]),
        };
        assert!(inputs.covers(Path::new("/p/fa/src/main.rs")));
        assert!(inputs.covers(Path::new("/p/Cargo.lock")));
        assert!(!inputs.covers(Path::new("/p/fb/src/main.rs")));
        assert!(!inputs.covers(Path::new("/p/fa/target/debug/x")));
        assert!(!inputs.covers(Path::new("/p/fa/out/x")));
        assert!(!inputs.covers(Path::new("/p/Cargo.toml")));
    }

    #[test]
    fn a_crate_nested_in_a_single_package_is_not_its_input_but_a_workspace_member_is() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path().canonicalize().expect("real");
        let write = |path: &str, text: &str| {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        };
        write("Cargo.toml", "[package]\nname = \"outer\"\n");
        write("src/main.rs", "fn main() {}");
        write("tiny/Cargo.toml", "[package]\nname = \"tiny\"\n");
        write("tiny/src/main.rs", "fn main() {}");
        write("dep/Cargo.toml", "[package]\nname = \"dep\"\n");
        let roots = BTreeSet::from([root.clone()]);
        let inputs = Inputs {
            roots: roots.clone(),
            ..Inputs::default()
        };
        let read = BTreeSet::from([root.clone(), root.join("dep")]);
        assert_eq!(other_packages(&inputs, &read, &root), [root.join("tiny")]);

        write(
            "Cargo.toml",
            "[package]\nname = \"outer\"\n[workspace]\nmembers = [\"tiny\"]\n",
        );
        assert!(other_packages(&inputs, &read, &root).is_empty());
        write(
            "tiny/Cargo.toml",
            "[package]\nname = \"tiny\"\n[workspace]\n",
        );
        assert_eq!(other_packages(&inputs, &read, &root), [root.join("tiny")]);

        // Left out of one run, read by another: the two together watch it.
        let mut outer = Inputs {
            roots: roots.clone(),
            excluded: BTreeSet::from([root.join("tiny")]),
            ..Inputs::default()
        };
        assert!(!outer.covers(&root.join("tiny/src/main.rs")));
        outer.extend(&Inputs {
            roots: BTreeSet::from([root.join("tiny")]),
            ..Inputs::default()
        });
        assert!(outer.covers(&root.join("tiny/src/main.rs")));
    }

    #[test]
    fn manifests_locks_config_and_plan_files_change_the_plan() {
        let plan = BTreeSet::from([PathBuf::from("/p/template.yaml")]);
        for path in [
            "/p/template.yaml",
            "/p/fa/Cargo.toml",
            "/p/Cargo.lock",
            "/p/.cargo/config.toml",
        ] {
            assert!(changes_plan(Path::new(path), &plan), "{path}");
        }
        assert!(!changes_plan(Path::new("/p/fa/src/main.rs"), &plan));
    }
}
