//! Finding the external tools a build needs, with install instructions when one is missing.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::cargo::reproducible::Reproducible;
use crate::settings::{Environment, Settings};

/// The cargo a build runs (`cargo lambda` finds cargo-lambda on the same PATH).
#[derive(Debug, Clone)]
pub(crate) struct Tools {
    pub cargo: PathBuf,
    /// The rustc release, once the preflight has asked it (for messages).
    pub rustc: Option<String>,
    /// What `--reproducible` adds to every cargo run (nothing without it).
    pub remaps: Reproducible,
}

/// Finds cargo, and makes sure cargo-lambda is on PATH.
pub(crate) fn find_tools(settings: &Settings) -> Result<Tools> {
    let Some(cargo) = settings.find_program("cargo") else {
        bail!(
            "cargo was not found on PATH. Install Rust (https://rustup.rs) and make sure ~/.cargo/bin is on PATH"
        );
    };
    if settings.find_program("cargo-lambda").is_none() {
        bail!(
            "Cannot find Cargo Lambda (cargo-lambda is not on PATH). Install it with `pip install cargo-lambda` \
(this also installs zig), then make sure the folder pip put `cargo-lambda` in is on PATH \
(a virtualenv's bin, or run `pyenv rehash`); see https://www.cargo-lambda.info/guide/installation.html"
        );
    }
    Ok(Tools {
        cargo,
        rustc: None,
        remaps: Reproducible::default(),
    })
}

/// True when cargo-lambda can find zig: `zig` on PATH, or the `ziglang` Python package.
pub(crate) fn zig_available(settings: &Settings) -> bool {
    if settings.find_program("zig").is_some() {
        return true;
    }
    ["python3", "python"].iter().any(|python| {
        std::process::Command::new(python)
            .args(["-c", "import ziglang"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// The versions that decide what the compiler makes of the sources, as text that is the same on
/// every machine with the same tools: `rustc -vV` in each folder (so rust-toolchain files
/// apply), cargo-lambda's executable and zig's version. Remembered in the cache home while the
/// installed files look the same, so a warm run starts no process.
pub(crate) fn toolchain_versions(env: &Environment, dirs: &[PathBuf]) -> String {
    let identity = installed_identity(env, dirs);
    let memo = env.samrs_cache_home().map(|home| {
        home.join("toolchains")
            .join(format!("{}.txt", crate::store::fingerprint(&identity)))
    });
    if let Some(text) = memo.as_ref().and_then(|m| std::fs::read_to_string(m).ok()) {
        return text;
    }
    let path = env.get("PATH").map(std::ffi::OsString::from);
    let run = |program: &str, args: &[&str], dir: Option<&PathBuf>| -> String {
        let mut command = std::process::Command::new(program);
        command
            .args(args)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if let Some(dir) = dir {
            command.current_dir(dir);
        }
        match command.output() {
            Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
            _ => format!("{program} {}: unavailable\n", args.join(" ")),
        }
    };
    let mut text = String::new();
    let rustc = env.non_empty("RUSTC").unwrap_or("rustc").to_string();
    for dir in dirs {
        text.push_str(&run(&rustc, &["-vV"], Some(dir)));
    }
    // cargo-lambda by its content, so that identifying it never starts it (or cargo).
    if let Ok(found) = which::which_in("cargo-lambda", path.as_ref(), ".") {
        let digest = std::fs::read(&found).map(|bytes| {
            let mut print = crate::store::Fingerprint::new();
            print.update(bytes);
            print.finish()
        });
        text.push_str(&format!(
            "cargo-lambda sha256 {}\n",
            digest.unwrap_or_else(|_| "unreadable".into())
        ));
    }
    if which::which_in("zig", path.as_ref(), ".").is_ok() {
        text.push_str(&run("zig", &["version"], None));
    } else {
        text.push_str(&run("python3", &["-m", "ziglang", "version"], None));
    }
    if let Some(memo) = memo {
        let _ = crate::store::write_atomically(&memo, &text);
    }
    text
}

/// The installed tools as this machine sees them (paths, sizes, times), without running them.
fn installed_identity(env: &Environment, dirs: &[PathBuf]) -> String {
    let mut text = String::new();
    for name in ["RUSTUP_TOOLCHAIN", "RUSTC"] {
        text.push_str(&format!("{name}={:?}\n", env.get(name)));
    }
    for dir in dirs {
        text.push_str(&format!("dir {}\n", dir.display()));
        for file in ["rust-toolchain", "rust-toolchain.toml"] {
            for folder in dir.ancestors() {
                if let Ok(content) = std::fs::read_to_string(folder.join(file)) {
                    text.push_str(&content);
                }
            }
        }
    }
    let rustup = env.rustup_home();
    if let Ok(settings) = std::fs::read_to_string(rustup.join("settings.toml")) {
        text.push_str(&settings);
    }
    if let Ok(entries) = std::fs::read_dir(rustup.join("toolchains")) {
        let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        names.sort();
        for toolchain in names {
            text.push_str(&file_identity(&toolchain.join("bin/rustc")));
        }
    }
    let path = env.get("PATH").map(std::ffi::OsString::from);
    for tool in ["cargo-lambda", "cargo", "rustc", "zig", "python3"] {
        if let Ok(found) = which::which_in(tool, path.as_ref(), ".") {
            text.push_str(&file_identity(&found));
            if tool == "cargo-lambda" {
                // zig from the ziglang package installed beside cargo-lambda by pip.
                if let Some(libs) = found
                    .parent()
                    .and_then(Path::parent)
                    .and_then(|venv| std::fs::read_dir(venv.join("lib")).ok())
                {
                    for lib in libs.flatten() {
                        text.push_str(&file_identity(
                            &lib.path().join("site-packages/ziglang/zig"),
                        ));
                    }
                }
            }
        }
    }
    text
}

fn file_identity(path: &Path) -> String {
    match std::fs::metadata(path) {
        Ok(m) => format!("{}:{}:{:?}\n", path.display(), m.len(), m.modified().ok()),
        Err(_) => format!("{}:missing\n", path.display()),
    }
}
