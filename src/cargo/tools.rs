//! Finding the external tools a build needs, with install instructions when one is missing.

use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::settings::Settings;

/// The cargo a build runs (`cargo lambda` finds cargo-lambda on the same PATH).
#[derive(Debug, Clone)]
pub(crate) struct Tools {
    pub cargo: PathBuf,
    /// The rustc release, once the preflight has asked it (for messages).
    pub rustc: Option<String>,
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
    Ok(Tools { cargo, rustc: None })
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
