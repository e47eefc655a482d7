//! Which binary runs a function here: its Linux `bootstrap` when this machine can execute it
//! (Linux on the function's architecture), otherwise a host build of the same bin
//! (`cargo build --bin <bin>` with the function's features and profile).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, anyhow, bail};

use crate::cargo::messages::{diagnostics, with_progress_bar};
use crate::cargo::process::{describe_command, describe_status};
use crate::cargo::read_packages;
use crate::cargo::runner::run_counted;
use crate::plan::{CargoOptions, PackageInfo, Profile, Selection, check_functions};
use crate::settings::Settings;
use crate::template::{Architecture, Project};
use crate::ui::Ui;

use super::functions::LocalFunction;

/// The machine samrs runs on, as Lambda names it.
pub(crate) fn host_description() -> String {
    format!("{} {}", std::env::consts::OS, std::env::consts::ARCH)
}

/// True when this machine can execute a Linux bootstrap built for `architecture`.
pub(crate) fn can_run_bootstrap(architecture: Architecture) -> bool {
    cfg!(target_os = "linux")
        && match architecture {
            Architecture::X86_64 => cfg!(target_arch = "x86_64"),
            Architecture::Arm64 => cfg!(target_arch = "aarch64"),
        }
}

/// Builds `function`'s bin for this machine and returns the executable.
pub(crate) fn host_build(
    function: &LocalFunction,
    project: &Project,
    settings: &Settings,
    ui: &Ui,
) -> Result<PathBuf> {
    let selection = Selection {
        functions: vec![function.function],
        single_resource: true,
        notices: Vec::new(),
    };
    let checked = check_functions(project, &selection)
        .map_err(|e| anyhow!(e.message))?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("{}: nothing to build", function.full_path))?;
    let packages = read_packages(
        [(function.code_dir.as_path(), function.logical_id.as_str())],
        &settings.env,
    )?;
    let package = packages.get(&function.code_dir).ok_or_else(|| {
        anyhow!(
            "{}: no package in {}",
            function.full_path,
            function.code_dir.display()
        )
    })?;
    let bin = host_bin(&function.full_path, checked.binary.as_ref(), package)?;
    let mut command =
        host_cargo_command(&function.code_dir, &checked.options, settings.profile, &bin);
    with_progress_bar(&mut command);
    ui.log(&format!(
        "Building {} for this machine ({}): its {} bootstrap cannot run here",
        function.logical_id,
        host_description(),
        function.architecture.as_str()
    ));
    ui.debug(&format!("Running {}", describe_command(&command)));
    let mut progress = ui.cargo_progress(&format!("Compiling {bin} for this machine"));
    let (output, _) = run_counted(&mut command, &mut progress)
        .with_context(|| format!("Unable to run cargo for {}", function.logical_id))?;
    if !output.status.success() {
        progress.abandon();
        bail!(
            "cargo build of {} for this machine failed ({}):\n{}",
            function.logical_id,
            describe_status(output.status),
            diagnostics(&output.stderr, &[]).join("\n")
        );
    }
    progress.finish(&format!("Compiled {bin} for this machine"));
    executable(&output.stdout, &bin).ok_or_else(|| {
        anyhow!(
            "cargo built {} but named no executable for bin {bin}",
            function.logical_id
        )
    })
}

/// The bin to build: BuildProperties' Binary, else the package's only bin that needs no
/// feature.
fn host_bin(resource: &str, binary: Option<&String>, package: &PackageInfo) -> Result<String> {
    if let Some(bin) = binary {
        return Ok(bin.clone());
    }
    let plain: Vec<&str> = package
        .bins
        .iter()
        .filter(|b| b.features_off.is_empty())
        .map(|b| b.name.as_str())
        .collect();
    match plain.as_slice() {
        [only] => Ok((*only).to_string()),
        bins => bail!(
            "{resource}: package {} has {} bins; name one with Metadata.BuildProperties.Binary",
            package.name,
            bins.len()
        ),
    }
}

/// `cargo build --bin <bin>` in the package folder with the function's profile and features,
/// reporting in JSON.
fn host_cargo_command(dir: &Path, options: &CargoOptions, profile: Profile, bin: &str) -> Command {
    let mut command = Command::new("cargo");
    command
        .current_dir(dir)
        .args(["build", "--message-format=json-render-diagnostics"]);
    match (&options.profile, profile) {
        (Some(name), _) => {
            command.args(["--profile", name]);
        }
        (None, Profile::Release) => {
            command.arg("--release");
        }
        (None, Profile::Debug) => {}
    }
    if !options.features.is_empty() {
        command.args(["--features", &options.features.join(",")]);
    }
    command.args(["--bin", bin]);
    command
}

/// The executable cargo reported for `bin` in its JSON messages.
fn executable(lines: &[String], bin: &str) -> Option<PathBuf> {
    lines.iter().rev().find_map(|line| {
        let message: serde_json::Value = serde_json::from_str(line).ok()?;
        let is_bin = message.get("reason")?.as_str()? == "compiler-artifact"
            && message.pointer("/target/name")?.as_str()? == bin
            && message
                .pointer("/target/kind")?
                .as_array()?
                .iter()
                .any(|k| k == "bin");
        if !is_bin {
            return None;
        }
        let path = message.get("executable")?.as_str()?;
        Some(Path::new(path).to_path_buf())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_executable_comes_from_cargo_messages() {
        let lines = vec![
            r#"{"reason":"compiler-artifact","target":{"name":"serde","kind":["lib"]},"executable":null}"#.to_string(),
            r#"{"reason":"compiler-artifact","target":{"name":"tiny","kind":["bin"]},"executable":"/t/release/tiny"}"#.to_string(),
            r#"{"reason":"build-finished","success":true}"#.to_string(),
        ];
        assert_eq!(
            executable(&lines, "tiny"),
            Some(PathBuf::from("/t/release/tiny"))
        );
        assert_eq!(executable(&lines, "other"), None);
    }

    #[test]
    fn the_host_build_takes_the_function_profile_and_features() {
        let options = CargoOptions {
            features: vec!["a".into(), "b".into()],
            profile: None,
            flags: Vec::new(),
        };
        let command = host_cargo_command(Path::new("/p"), &options, Profile::Release, "tiny");
        let args: Vec<_> = command.get_args().map(|a| a.to_string_lossy()).collect();
        assert_eq!(
            args,
            [
                "build",
                "--message-format=json-render-diagnostics",
                "--release",
                "--features",
                "a,b",
                "--bin",
                "tiny"
            ]
        );
        let named = CargoOptions {
            profile: Some("fast".into()),
            ..CargoOptions::default()
        };
        let command = host_cargo_command(Path::new("/p"), &named, Profile::Debug, "tiny");
        let args: Vec<_> = command.get_args().map(|a| a.to_string_lossy()).collect();
        assert_eq!(
            args,
            [
                "build",
                "--message-format=json-render-diagnostics",
                "--profile",
                "fast",
                "--bin",
                "tiny"
            ]
        );
    }

    #[test]
    fn this_machine_runs_its_own_architecture() {
        let native = if cfg!(target_arch = "aarch64") {
            Architecture::Arm64
        } else {
            Architecture::X86_64
        };
        assert_eq!(can_run_bootstrap(native), cfg!(target_os = "linux"));
    }
}
