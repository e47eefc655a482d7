//! `--reproducible`: the same sources and tools give the same bootstrap bytes wherever they are
//! built. rustc (`--remap-path-prefix`) and C compilers driven by the cc crate
//! (`-ffile-prefix-map`, through the target's CFLAGS) write the source folder, the target
//! folders, CARGO_HOME and the toolchain under fixed names, and SOURCE_DATE_EPOCH fixes the
//! time for build scripts that honour it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::plan::{AL2023_TARGET_FOLDER, BuildPlan, CargoBuild};
use crate::settings::{Environment, Settings};
use crate::sources::package_closure;

/// 1980-01-01T00:00:00Z, the earliest time a zip file can hold.
pub(crate) const DEFAULT_SOURCE_DATE_EPOCH: &str = "315532800";

/// The fixed names the machine's folders are written as.
pub(crate) const SOURCE_NAME: &str = "/samrs/src";
pub(crate) const TARGET_NAME: &str = "/samrs/target";
pub(crate) const CARGO_HOME_NAME: &str = "/samrs/cargo";
pub(crate) const TOOLCHAIN_NAME: &str = "/samrs/toolchain";

/// The folders every build of this machine may write into a binary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Places {
    /// The common folder of the project and every local package it builds.
    pub source_root: PathBuf,
    pub target_dirs: Vec<PathBuf>,
    pub cargo_home: Option<PathBuf>,
    pub sysroot: Option<PathBuf>,
}

/// What `--reproducible` adds to each `cargo lambda build`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Reproducible {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

/// The (from, to) pairs, the most general first: rustc and C compilers apply the last that
/// matches, so a target folder or CARGO_HOME inside the source folder keeps its own name.
pub(crate) fn remaps(places: &Places) -> Vec<(PathBuf, &'static str)> {
    let mut pairs = vec![(places.source_root.clone(), SOURCE_NAME)];
    for dir in &places.target_dirs {
        pairs.push((dir.clone(), TARGET_NAME));
    }
    if let Some(home) = &places.cargo_home {
        pairs.push((home.clone(), CARGO_HOME_NAME));
    }
    if let Some(sysroot) = &places.sysroot {
        pairs.push((sysroot.clone(), TOOLCHAIN_NAME));
    }
    pairs
}

/// The arguments and environment for cargo. Remaps go into `build.rustflags` through
/// `--config`, where cargo joins them with cargo-lambda's own flags; when the user set
/// RUSTFLAGS or CARGO_ENCODED_RUSTFLAGS (which replace `build.rustflags`), they are appended
/// there instead, in the encoded form so that paths with spaces survive.
pub(crate) fn settle(places: &Places, env: &Environment) -> Reproducible {
    let pairs = remaps(places);
    let rust: Vec<String> = pairs
        .iter()
        .map(|(from, to)| format!("--remap-path-prefix={}={to}", from.display()))
        .collect();
    let mut out = Reproducible::default();
    let user_flags: Option<Vec<String>> = match (
        env.get("CARGO_ENCODED_RUSTFLAGS"),
        env.non_empty("RUSTFLAGS"),
    ) {
        (Some(encoded), _) => Some(
            encoded
                .split('\u{1f}')
                .filter(|f| !f.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        (None, Some(flags)) => Some(flags.split_whitespace().map(str::to_string).collect()),
        (None, None) => None,
    };
    match user_flags {
        Some(mut flags) => {
            flags.extend(rust);
            out.env
                .push(("CARGO_ENCODED_RUSTFLAGS".into(), flags.join("\u{1f}")));
        }
        None => {
            let list: Vec<String> = rust
                .iter()
                .map(|f| toml::Value::String(f.clone()).to_string())
                .collect();
            out.args.push("--config".into());
            out.args
                .push(format!("build.rustflags=[{}]", list.join(", ")));
        }
    }
    let c: Vec<String> = pairs
        .iter()
        .map(|(from, to)| format!("-ffile-prefix-map={}={to}", from.display()))
        .collect();
    for triple in [
        "x86_64-unknown-linux-gnu",
        "aarch64-unknown-linux-gnu",
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
    ] {
        for base in ["CFLAGS", "CXXFLAGS"] {
            out.env.push(c_flags(env, base, triple, &c));
        }
    }
    if env.non_empty("SOURCE_DATE_EPOCH").is_none() {
        out.env
            .push(("SOURCE_DATE_EPOCH".into(), DEFAULT_SOURCE_DATE_EPOCH.into()));
    }
    out
}

/// The variable the cc crate reads first for `triple` (`CFLAGS_<triple>`, then with
/// underscores, then `TARGET_CFLAGS`, then `CFLAGS`), set to the user's flags plus ours.
fn c_flags(env: &Environment, base: &str, triple: &str, ours: &[String]) -> (String, String) {
    let dashed = format!("{base}_{triple}");
    let underscored = format!("{base}_{}", triple.replace('-', "_"));
    let name = if env.get(&dashed).is_some() {
        dashed.clone()
    } else {
        underscored.clone()
    };
    let user = [
        dashed,
        underscored,
        format!("TARGET_{base}"),
        base.to_string(),
    ]
    .iter()
    .find_map(|n| env.get(n))
    .unwrap_or_default()
    .to_string();
    let mut value = user;
    for flag in ours {
        if !value.is_empty() {
            value.push(' ');
        }
        value.push_str(flag);
    }
    (name, value)
}

/// Finds this machine's places for the runs of `plan`: the source root from the local
/// packages, the runs' target folders, CARGO_HOME and the toolchain's sysroot.
pub(crate) fn places(plan: &BuildPlan, runs: &[CargoBuild], settings: &Settings) -> Places {
    let mut folders: Vec<PathBuf> = vec![
        settings
            .template_file
            .parent()
            .map_or_else(|| settings.cwd.clone(), Path::to_path_buf),
    ];
    for artifact in plan.artifacts().filter(|a| plan.needs_build(*a)) {
        let closure = package_closure(plan.code_dir(artifact));
        folders.extend(closure.roots);
        folders.extend(closure.packages);
    }
    for run in runs {
        folders.push(run.dir.clone());
        folders.push(run.workspace_root.clone());
    }
    let target_dirs: BTreeSet<PathBuf> = runs
        .iter()
        .map(|run| {
            let dir = &run.target_directory;
            match dir.parent() {
                Some(parent) if dir.ends_with(AL2023_TARGET_FOLDER) => parent.to_path_buf(),
                _ => dir.clone(),
            }
        })
        .collect();
    Places {
        source_root: common_ancestor(&folders),
        target_dirs: target_dirs.into_iter().collect(),
        cargo_home: settings.env.cargo_home(),
        sysroot: runs
            .first()
            .and_then(|run| sysroot(&settings.env, &run.dir)),
    }
}

/// `rustc --print sysroot` in `dir`, where rust-toolchain files choose the toolchain.
fn sysroot(env: &Environment, dir: &Path) -> Option<PathBuf> {
    let rustc = env.non_empty("RUSTC").unwrap_or("rustc");
    let output = std::process::Command::new(rustc)
        .args(["--print", "sysroot"])
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (output.status.success() && !text.is_empty()).then(|| PathBuf::from(text))
}

/// The deepest folder that holds every one of `folders`.
fn common_ancestor(folders: &[PathBuf]) -> PathBuf {
    let mut common: Option<PathBuf> = None;
    for folder in folders {
        let folder = crate::paths::normalize(folder);
        common = Some(match common {
            None => folder,
            Some(current) => current
                .ancestors()
                .find(|a| folder.starts_with(a))
                .map_or_else(|| PathBuf::from("/"), Path::to_path_buf),
        });
    }
    common.unwrap_or_else(|| PathBuf::from("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn places() -> Places {
        Places {
            source_root: PathBuf::from("/ci/work/repo"),
            target_dirs: vec![PathBuf::from("/ci/work/repo/target")],
            cargo_home: Some(PathBuf::from("/home/runner/.cargo")),
            sysroot: Some(PathBuf::from("/home/runner/.rustup/toolchains/stable")),
        }
    }

    #[test]
    fn remaps_go_through_cargo_config_unless_rustflags_are_set() {
        let plain = settle(&places(), &Environment::default());
        assert_eq!(
            plain.args,
            [
                "--config",
                "build.rustflags=[\"--remap-path-prefix=/ci/work/repo=/samrs/src\", \"--remap-path-prefix=/ci/work/repo/target=/samrs/target\", \"--remap-path-prefix=/home/runner/.cargo=/samrs/cargo\", \"--remap-path-prefix=/home/runner/.rustup/toolchains/stable=/samrs/toolchain\"]"
            ]
        );
        let env: std::collections::BTreeMap<_, _> = plain.env.iter().cloned().collect();
        assert_eq!(env["SOURCE_DATE_EPOCH"], DEFAULT_SOURCE_DATE_EPOCH);
        assert!(env["CFLAGS_x86_64_unknown_linux_gnu"]
            .starts_with("-ffile-prefix-map=/ci/work/repo=/samrs/src -ffile-prefix-map=/ci/work/repo/target=/samrs/target"));

        let user = Environment::from_pairs(&[
            ("RUSTFLAGS", "-C target-cpu=native"),
            ("CFLAGS", "-O2"),
            ("SOURCE_DATE_EPOCH", "1700000000"),
        ]);
        let with_user = settle(&places(), &user);
        assert!(with_user.args.is_empty());
        let env: std::collections::BTreeMap<_, _> = with_user.env.iter().cloned().collect();
        assert!(env["CARGO_ENCODED_RUSTFLAGS"].starts_with(
            "-C\u{1f}target-cpu=native\u{1f}--remap-path-prefix=/ci/work/repo=/samrs/src"
        ));
        assert!(env["CFLAGS_aarch64_unknown_linux_gnu"].starts_with("-O2 -ffile-prefix-map="));
        assert!(
            !env.contains_key("SOURCE_DATE_EPOCH"),
            "the user's value stays"
        );
    }

    #[test]
    fn the_common_ancestor_covers_path_dependencies_beside_the_project() {
        let folders = [
            PathBuf::from("/a/repo/app"),
            PathBuf::from("/a/repo/app/fa"),
            PathBuf::from("/a/repo/shared"),
        ];
        assert_eq!(common_ancestor(&folders), PathBuf::from("/a/repo"));
        assert_eq!(
            common_ancestor(&[PathBuf::from("/x"), PathBuf::from("/y")]),
            PathBuf::from("/")
        );
    }
}
