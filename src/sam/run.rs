//! Runs sam's part: `sam build` in a folder of its own beside the staging folder (sam empties
//! its build folder and rewrites build.toml, so it never touches the live ones), its stderr
//! streamed into the display with a `[sam] ` prefix, its result read from `--output json`;
//! then its artifacts are moved into samrs's staging folder.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::cargo::process::{Stream, describe_status, interrupted, run_streaming};
use crate::output::cache::SAM_CACHE;
use crate::sam::plan::{Handoff, SamOptions, parameters_yaml, sam_args};
use crate::settings::Settings;
use crate::ui::Ui;

/// How samrs shows a line of sam's output.
pub(crate) const SAM_PREFIX: &str = "[sam] ";

/// sam's own folder: `<staging>.sam/` with `build/`, the `build.toml` sam reads and rewrites,
/// and the files samrs passes it. Removed when dropped.
#[derive(Debug)]
pub(crate) struct SamWork {
    pub dir: PathBuf,
    pub build_dir: PathBuf,
    pub build_toml: PathBuf,
}

impl SamWork {
    /// Creates the folder beside `staging`, with a copy of the live build.toml so that sam
    /// keeps the UUIDs (and `--cached` hashes) of its definitions.
    pub(crate) fn create(staging: &Path, live_build_toml: &Path) -> Result<SamWork> {
        let mut name = staging.as_os_str().to_owned();
        name.push(".sam");
        let dir = PathBuf::from(name);
        if dir.exists() {
            fs::remove_dir_all(&dir)
                .with_context(|| format!("Unable to remove old folder {}", dir.display()))?;
        }
        fs::create_dir_all(&dir)
            .with_context(|| format!("Unable to create {} for sam build", dir.display()))?;
        let work = SamWork {
            build_dir: dir.join("build"),
            build_toml: dir.join("build.toml"),
            dir,
        };
        match fs::copy(live_build_toml, &work.build_toml) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("Unable to copy {} for sam build", live_build_toml.display())
                });
            }
        }
        Ok(work)
    }

    /// Writes a file for sam into the folder and returns its path.
    pub(crate) fn write(&self, name: &str, text: &str) -> Result<PathBuf> {
        let path = self.dir.join(name);
        fs::write(&path, text).with_context(|| format!("Unable to write {}", path.display()))?;
        Ok(path)
    }
}

impl Drop for SamWork {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// sam's part, ready to run.
#[derive(Debug)]
pub(crate) struct SamJob {
    pub sam: PathBuf,
    pub args: Vec<OsString>,
    pub cwd: PathBuf,
    pub work: SamWork,
}

/// Prepares sam's folder and command line from samrs's settings.
pub(crate) fn prepare(
    sam: &Path,
    handoff: &Handoff,
    settings: &Settings,
    staging: &Path,
    live_build_toml: &Path,
) -> Result<SamJob> {
    let work = SamWork::create(staging, live_build_toml)?;
    let parameters_file = if settings.parameter_overrides.is_empty() {
        None
    } else {
        Some(work.write(
            "parameters.yaml",
            &parameters_yaml(&settings.parameter_overrides),
        )?)
    };
    let config_file = match &settings.config_file {
        Some(file) => file.clone(),
        None => work.write("samconfig.toml", "version = 0.1\n")?,
    };
    let options = SamOptions {
        template_file: settings.template_file.clone(),
        build_dir: work.build_dir.clone(),
        cache_dir: settings.cache_dir.join(SAM_CACHE),
        base_dir: settings.base_dir.clone(),
        parameters_file,
        config_file,
        config_env: settings.config_env.clone(),
        region: settings.region.clone(),
        cached: settings.cached,
        parallel: settings.parallel,
        debug: settings.debug,
        beta_features: settings.beta_features,
        passthrough: settings.passthrough.clone(),
    };
    Ok(SamJob {
        sam: sam.to_path_buf(),
        args: sam_args(&handoff.invocation, &options),
        cwd: settings.cwd.clone(),
        work,
    })
}

/// What a successful `sam build` reported.
#[derive(Debug, Clone)]
pub struct SamReport {
    /// The `resources` of sam's JSON result: `{"resource_id", "type", …}` per built resource.
    pub resources: Vec<serde_json::Value>,
    pub elapsed: Duration,
}

impl SamReport {
    /// The full paths of the resources sam built.
    pub fn built(&self) -> Vec<&str> {
        self.resources
            .iter()
            .filter_map(|r| r.get("resource_id").and_then(serde_json::Value::as_str))
            .collect()
    }
}

/// Runs sam's part, showing its stderr line by line; fails with sam's own message.
pub(crate) fn run_sam(job: &SamJob, ui: &Ui) -> Result<SamReport> {
    run_command(&job.sam, &job.args, &job.cwd, ui)
}

fn run_command(sam: &Path, args: &[OsString], cwd: &Path, ui: &Ui) -> Result<SamReport> {
    let started = Instant::now();
    let mut command = Command::new(sam);
    command.args(args).current_dir(cwd);
    ui.debug(&format!(
        "Running {} in {}",
        crate::cargo::process::describe_command(&command),
        cwd.display()
    ));
    let output = run_streaming(&mut command, |stream, line| {
        if stream == Stream::Stderr {
            ui.tool_line(SAM_PREFIX, line);
        }
    })?;
    if interrupted() {
        bail!("Build interrupted (SIGINT or SIGTERM); sam build was stopped");
    }
    let result = output
        .stdout
        .iter()
        .rev()
        .find_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|v| v.get("type").and_then(serde_json::Value::as_str) == Some("result"));
    let Some(result) = result else {
        let tail: Vec<&str> = output
            .stderr
            .iter()
            .rev()
            .take(20)
            .rev()
            .map(String::as_str)
            .collect();
        bail!(
            "sam build stopped ({}) without a result:\n{}",
            describe_status(output.status),
            tail.join("\n").trim()
        );
    };
    if output.status.success()
        && result.get("status").and_then(serde_json::Value::as_str) == Some("success")
    {
        let resources = result
            .get("resources")
            .and_then(serde_json::Value::as_array)
            .cloned()
            .unwrap_or_default();
        return Ok(SamReport {
            resources,
            elapsed: started.elapsed(),
        });
    }
    let error = result.get("error");
    let text = |key: &str| {
        error
            .and_then(|e| e.get(key))
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
    };
    Err(anyhow::Error::new(SamFailed {
        kind: text("type").unwrap_or_else(|| "BuildError".into()),
        message: text("message").unwrap_or_else(|| "no message".into()),
        resources: error
            .and_then(|e| e.get("resources"))
            .and_then(serde_json::Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(serde_json::Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
    }))
}

/// sam build's own failure, from its JSON result: its error type, message and the resources
/// it blames (for samrs's `--output json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SamFailed {
    pub kind: String,
    pub message: String,
    pub resources: Vec<String>,
}

impl std::fmt::Display for SamFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sam build failed")?;
        if !self.resources.is_empty() {
            write!(f, " for {}", self.resources.join(", "))?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for SamFailed {}

/// Moves everything sam built (not its templates) from its build folder into `staging`, at the
/// same place. `stacks` are the nested stack folders (`Child`, `Child/Grandchild`): their
/// contents are moved one by one, since samrs has written into them too.
pub(crate) fn move_artifacts(
    sam_build: &Path,
    staging: &Path,
    stacks: &BTreeSet<PathBuf>,
) -> Result<()> {
    move_level(sam_build, staging, Path::new(""), stacks)
}

fn move_level(from: &Path, to: &Path, rel: &Path, stacks: &BTreeSet<PathBuf>) -> Result<()> {
    let dir = from.join(rel);
    let entries =
        fs::read_dir(&dir).with_context(|| format!("Unable to read {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("Unable to read {}", dir.display()))?;
        let child = rel.join(entry.file_name());
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if !is_dir && entry.file_name() == "template.yaml" {
            continue;
        }
        let target = to.join(&child);
        if is_dir && stacks.contains(&child) {
            fs::create_dir_all(&target)
                .with_context(|| format!("Unable to create {}", target.display()))?;
            move_level(from, to, &child, stacks)?;
            continue;
        }
        if target.exists() {
            bail!(
                "Both samrs and sam build wrote {} in the build folder",
                child.display()
            );
        }
        fs::rename(entry.path(), &target).with_context(|| {
            format!(
                "Unable to move {} to {}",
                entry.path().display(),
                target.display()
            )
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifacts_move_into_staging_and_templates_stay() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let sam = tmp.path().join("sam");
        let staging = tmp.path().join("staging");
        for dir in ["Py/pkg", "Child/Node/node_modules", "Child/Grand/Deep"] {
            fs::create_dir_all(sam.join(dir)).expect("mkdir");
        }
        for file in [
            "template.yaml",
            "Py/app.py",
            "Child/template.yaml",
            "Child/Grand/template.yaml",
        ] {
            fs::write(sam.join(file), "x").expect("write");
        }
        fs::create_dir_all(staging.join("Child/Rust")).expect("mkdir");
        let stacks: BTreeSet<PathBuf> =
            ["Child", "Child/Grand"].iter().map(PathBuf::from).collect();
        move_artifacts(&sam, &staging, &stacks).expect("moves");
        for moved in [
            "Py/app.py",
            "Py/pkg",
            "Child/Node/node_modules",
            "Child/Grand/Deep",
            "Child/Rust",
        ] {
            assert!(staging.join(moved).exists(), "{moved}");
        }
        assert!(!staging.join("template.yaml").exists());
        assert!(!staging.join("Child/template.yaml").exists());
    }

    #[test]
    fn an_artifact_both_tools_wrote_is_an_error() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let sam = tmp.path().join("sam");
        let staging = tmp.path().join("staging");
        fs::create_dir_all(sam.join("F")).expect("mkdir");
        fs::create_dir_all(staging.join("F")).expect("mkdir");
        let err = move_artifacts(&sam, &staging, &BTreeSet::new()).expect_err("clash");
        assert!(err.to_string().contains("Both samrs and sam build wrote F"));
    }

    #[test]
    fn sams_json_error_becomes_the_message() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().expect("tempdir");
        let fake = tmp.path().join("sam");
        fs::write(
            &fake,
            "#!/bin/sh\necho 'Building codeuri: x' >&2\necho '{\"type\": \"result\", \"status\": \"failure\", \"error\": {\"type\": \"WorkflowFailedError\", \"message\": \"PythonPipBuilder:ResolveDependencies - Could not satisfy the requirement: nope==1\", \"resources\": [\"Py\"]}}'\nexit 1\n",
        )
        .expect("write");
        fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).expect("chmod");
        let err = run_command(&fake, &[], tmp.path(), &Ui::new(true)).expect_err("fails");
        assert_eq!(
            err.to_string(),
            "sam build failed for Py: PythonPipBuilder:ResolveDependencies - Could not satisfy the requirement: nope==1"
        );
    }
}
