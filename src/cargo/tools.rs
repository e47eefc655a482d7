//! Finding the external tools a build needs, with install instructions when one is missing.

use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::settings::Settings;

/// The cargo and cargo-lambda executables a build runs.
#[derive(Debug, Clone)]
pub struct Tools {
    pub cargo: PathBuf,
    pub cargo_lambda: PathBuf,
}

/// Finds cargo and cargo-lambda on PATH.
pub fn find_tools(settings: &Settings) -> Result<Tools> {
    let Some(cargo) = settings.find_program("cargo") else {
        bail!(
            "cargo was not found on PATH. Install Rust (https://rustup.rs) and make sure ~/.cargo/bin is on PATH"
        );
    };
    let Some(cargo_lambda) = settings.find_program("cargo-lambda") else {
        bail!(
            "Cannot find Cargo Lambda (cargo-lambda is not on PATH). Install it with `pip install cargo-lambda` \
(this also installs zig), then make sure the folder pip put `cargo-lambda` in is on PATH \
(a virtualenv's bin, or run `pyenv rehash`); see https://www.cargo-lambda.info/guide/installation.html"
        );
    };
    Ok(Tools {
        cargo,
        cargo_lambda,
    })
}

/// True when cargo-lambda can find zig: `zig` on PATH, or the `ziglang` Python package.
pub fn zig_available(settings: &Settings) -> bool {
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
