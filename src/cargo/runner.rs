//! Runs the planned `cargo lambda build`s (in order, or in parallel lanes), streams their
//! output into the progress display, and checks each binary it produced.

use std::path::PathBuf;
use std::process::Command as ProcessCommand;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};

use crate::cargo::diagnose::stale_dependency;
use crate::cargo::elf::{check_bootstrap, read_elf};
use crate::cargo::messages::{MESSAGE_FORMAT, Tally, diagnostics, with_progress_bar};
use crate::cargo::process::{
    ProcessOutput, Stream, describe_status, interrupted, run_streaming, stopped_by_interrupt,
};
use crate::cargo::tools::{Tools, zig_available};
use crate::cargo::unify::features_unify;
use crate::cargo::{Built, CargoError};
use crate::plan::{Artifact, BuildPlan, CargoBuild, merge_builds, merge_candidates};
use crate::settings::Settings;
use crate::ui::{CargoProgress, Ui, strip_colours};

/// Lets members of one workspace share a cargo run where that provably changes no binary.
pub(crate) fn share_workspace_runs(
    tools: &Tools,
    builds: Vec<CargoBuild>,
    ui: &Ui,
) -> Vec<CargoBuild> {
    let approved: Vec<Vec<usize>> = merge_candidates(&builds)
        .into_iter()
        .filter(|group| {
            let first = &builds[group[0]];
            let packages: Vec<(String, std::path::PathBuf)> = group
                .iter()
                .map(|i| (builds[*i].package.clone(), builds[*i].dir.clone()))
                .collect();
            let names: Vec<&str> = packages.iter().map(|(n, _)| n.as_str()).collect();
            match features_unify(
                &tools.cargo,
                &first.workspace_root,
                &first.target_directory,
                &packages,
                first.target,
            ) {
                Ok(same) => {
                    if !same {
                        ui.debug(&format!(
                            "Building {} separately: together they would unify dependency features differently",
                            names.join(", ")
                        ));
                    }
                    same
                }
                Err(e) => {
                    ui.debug(&format!("Building {} separately: {e:#}", names.join(", ")));
                    false
                }
            }
        })
        .collect();
    merge_builds(builds, &approved)
}

/// Runs the cargo builds and hands each checked binary to `place`. Builds that share a target
/// folder run one after another (cargo would serialise them on its lock anyway, and they write
/// the same `lambda/<bin>` paths); with `--parallel`, different target folders run at the same
/// time, sharing the machine's cores, and a failure lets the others finish first, as in SAM.
pub(crate) fn run_all(
    tools: &Tools,
    builds: &[CargoBuild],
    work: &BuildPlan,
    settings: &Settings,
    ui: &Ui,
    place: &(dyn Fn(&Built) -> Result<()> + Sync),
) -> Result<Vec<Built>, CargoError> {
    let mut lanes: Vec<Vec<usize>> = Vec::new();
    for (index, build) in builds.iter().enumerate() {
        match lanes
            .iter_mut()
            .find(|lane| builds[lane[0]].target_directory == build.target_directory)
        {
            Some(lane) => lane.push(index),
            None => lanes.push(vec![index]),
        }
    }
    let run_lane = |lane: &[usize], jobs: Option<usize>| -> Result<Vec<Built>, CargoError> {
        let mut built = Vec::new();
        for &run in lane {
            let build = &builds[run];
            let outcome = run_cargo_build(tools, build, work, settings, jobs, ui)?;
            for (artifact, bin) in &build.outputs {
                let binary = Built {
                    artifact: *artifact,
                    bin: bin.clone(),
                    path: checked_binary(build, work, *artifact, bin)
                        .map_err(CargoError::Binary)?,
                    run,
                    elapsed: outcome.elapsed,
                    up_to_date: outcome.tally.fresh(bin),
                };
                place(&binary).map_err(CargoError::Place)?;
                built.push(binary);
            }
        }
        Ok(built)
    };
    if !settings.parallel || lanes.len() < 2 {
        let all: Vec<usize> = (0..builds.len()).collect();
        return run_lane(&all, None);
    }
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let jobs = (cores / lanes.len()).max(1);
    ui.debug(&format!(
        "Running {} independent build lanes at once, {jobs} cargo job(s) each",
        lanes.len()
    ));
    let results: Vec<Result<Vec<Built>, CargoError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = lanes
            .iter()
            .map(|lane| scope.spawn(|| run_lane(lane, Some(jobs))))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(CargoError::Run(anyhow!(
                        "a build thread stopped unexpectedly"
                    )))
                })
            })
            .collect()
    });
    let mut built = Vec::new();
    for result in results {
        built.extend(result?);
    }
    Ok(built)
}

/// What one finished cargo run tells about its binaries.
struct RunOutcome {
    elapsed: Duration,
    tally: Tally,
}

/// One cargo run: the functions it serves announced, cargo-lambda run under a progress line,
/// and its outcome as the summary line or the error naming the functions whose bins failed.
fn run_cargo_build(
    tools: &Tools,
    build: &CargoBuild,
    work: &BuildPlan,
    settings: &Settings,
    jobs: Option<usize>,
    ui: &Ui,
) -> Result<RunOutcome, CargoError> {
    let served = served_artifacts(build, work, ui);
    // cargo-lambda decides cargo's colours by its own `--color`, not by CARGO_TERM_COLOR.
    let colour = if ui.cargo_colours() {
        "always"
    } else {
        "never"
    };
    let (mut command, args) = cargo_command(tools, build, settings, jobs, colour);
    // The error names the command as SAM would run it (what a user re-runs, with the remaps of
    // `--reproducible`); `--debug` shows everything samrs adds to read cargo's progress.
    let shown = format!("cargo {}", args.join(" "));
    ui.debug(&format!(
        "Running {shown} {MESSAGE_FORMAT} --color={colour} in {} ({})",
        build.dir.display(),
        environment_of(&command)
    ));
    let target = format!(
        "{} {}",
        build.target.runtime.as_str(),
        build.target.architecture.as_str()
    );
    let names = names_of(work, &served).join(", ");
    let mut progress = ui.cargo_progress(&format!("{names} ({target})"));
    let (output, tally) = match run_counted(&mut command, &mut progress) {
        Ok(run) => run,
        Err(e) => {
            progress.abandon();
            return Err(CargoError::Run(e));
        }
    };
    if interrupted() || stopped_by_interrupt(output.status) {
        progress.abandon();
        return Err(CargoError::Interrupted {
            build_dir: settings.build_dir_shown.clone(),
        });
    }
    if !output.status.success() {
        progress.abandon();
        let failed = FailedRun {
            tools,
            build,
            work,
            settings,
            served: &served,
            shown: &shown,
        };
        return Err(failed.error(&output, &tally));
    }
    let elapsed = progress.finish(&built_summary(&names, &target, &tally));
    Ok(RunOutcome { elapsed, tally })
}

/// The artifacts `build` serves, each announced once (SAM's `Building codeuri: …` line).
fn served_artifacts(build: &CargoBuild, work: &BuildPlan, ui: &Ui) -> Vec<Artifact> {
    let mut served: Vec<Artifact> = Vec::new();
    for (artifact, _) in &build.outputs {
        if !served.contains(artifact) {
            served.push(*artifact);
            ui.building(work, *artifact);
        }
    }
    served
}

/// The resources (full paths in nested stacks) of `artifacts`.
fn names_of(work: &BuildPlan, artifacts: &[Artifact]) -> Vec<String> {
    artifacts
        .iter()
        .flat_map(|a| work.names(*a))
        .map(ToString::to_string)
        .collect()
}

/// `cargo lambda build …` for `build` (with `--reproducible`'s remaps before the `--bin` list),
/// reporting JSON messages and its bar; the arguments as SAM would run it.
fn cargo_command(
    tools: &Tools,
    build: &CargoBuild,
    settings: &Settings,
    jobs: Option<usize>,
    colour: &str,
) -> (ProcessCommand, Vec<String>) {
    let mut args = build.args();
    let at = args.iter().position(|a| a == "--bin").unwrap_or(args.len());
    args.splice(at..at, tools.remaps.args.iter().cloned());
    let mut command = ProcessCommand::new(&tools.cargo);
    command
        .args(&args)
        .arg(MESSAGE_FORMAT)
        .arg(format!("--color={colour}"))
        .envs(tools.remaps.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&build.dir)
        .env("CARGO_TARGET_DIR", &build.target_directory)
        .env("CARGO_TERM_COLOR", colour);
    with_progress_bar(&mut command);
    if settings.rust_log_debug {
        command.env("RUST_LOG", "debug");
    }
    if let Some(jobs) = jobs {
        command.env("CARGO_BUILD_JOBS", jobs.to_string());
    }
    (command, args)
}

/// The variables samrs sets for `command`, as `KEY=value` words.
fn environment_of(command: &ProcessCommand) -> String {
    let words: Vec<String> = command
        .get_envs()
        .filter_map(|(key, value)| {
            Some(format!(
                "{}={}",
                key.to_string_lossy(),
                value?.to_string_lossy()
            ))
        })
        .collect();
    words.join(" ")
}

/// Runs cargo (started with [`MESSAGE_FORMAT`] and its bar) under `progress`, counting what
/// it finished; the lines that are not its messages or bar go to the progress line.
pub(crate) fn run_counted(
    command: &mut ProcessCommand,
    progress: &mut CargoProgress,
) -> Result<(ProcessOutput, Tally)> {
    let mut tally = Tally::default();
    let output = run_streaming(command, |stream, line| {
        let noise = match stream {
            Stream::Stdout => tally.stdout_line(line),
            Stream::Stderr => tally.stderr_line(line),
        };
        progress.update(&tally.counts(), (!noise).then_some(line));
    })?;
    Ok((output, tally))
}

/// `Built FunctionA, FunctionB (provided.al2 x86_64, 3 of 85 crates compiled)`, or `up to date`
/// when cargo compiled nothing.
fn built_summary(names: &str, target: &str, tally: &Tally) -> String {
    let what = if tally.done > 0 && tally.compiled == 0 {
        "up to date".to_string()
    } else if tally.done > 0 {
        format!(
            "{} of {} crates compiled",
            tally.compiled,
            tally.total.unwrap_or(tally.done)
        )
    } else {
        return format!("Built {names} ({target})");
    };
    format!("Built {names} ({target}, {what})")
}

/// A cargo run that failed, and what its error needs to name the culprit and the fix.
struct FailedRun<'a> {
    tools: &'a Tools,
    build: &'a CargoBuild,
    work: &'a BuildPlan<'a>,
    settings: &'a Settings,
    served: &'a [Artifact],
    shown: &'a str,
}

impl FailedRun<'_> {
    /// cargo's diagnostics under a line naming the functions whose bins failed (the others of
    /// the run as not built), with the hints for a stale locked dependency or a missing zig.
    fn error(&self, output: &ProcessOutput, tally: &Tally) -> CargoError {
        let (failed, spared): (Vec<Artifact>, Vec<Artifact>) = self.served.iter().partition(|a| {
            self.build
                .outputs
                .iter()
                .any(|(artifact, bin)| artifact == *a && tally.failed(bin))
        });
        let not_built = if spared.is_empty() {
            String::new()
        } else {
            format!(
                "; {} not built (same cargo run)",
                names_of(self.work, &spared).join(", ")
            )
        };
        let details = diagnostics(&output.stderr, &output.stdout);
        let mut message = format!(
            "Cargo Lambda failed for {} ({}, `{}` in {}){not_built}:\n{}",
            names_of(self.work, &failed).join(", "),
            describe_status(output.status),
            self.shown,
            self.build.dir.display(),
            details.join("\n").trim_end()
        );
        if let Some(hint) = self.stale_dependency_hint(&details) {
            message.push_str("\n\n");
            message.push_str(&hint);
        }
        if message.to_lowercase().contains("zig") && !zig_available(self.settings) {
            message.push_str("\n\nzig was not found: install it with `pip install ziglang` (or `pip install cargo-lambda`, which brings it) in the Python environment on PATH.");
        }
        CargoError::Compile {
            resources: names_of(self.work, &failed),
            message,
        }
    }

    /// `cargo update -p <crate>` when a locked dependency no longer compiles on this rustc.
    fn stale_dependency_hint(&self, details: &[&str]) -> Option<String> {
        let rustc = self
            .tools
            .rustc
            .clone()
            .or_else(|| crate::preflight::rustc_release(&self.build.dir, self.settings));
        let plain: Vec<String> = details.iter().map(|line| strip_colours(line)).collect();
        let plain: Vec<&str> = plain.iter().map(String::as_str).collect();
        stale_dependency(&plain, &self.build.workspace_root, rustc.as_deref())
    }
}

/// Where cargo-lambda left `bin`, once its ELF header shows it runs on the artifact's target.
fn checked_binary(
    build: &CargoBuild,
    work: &BuildPlan,
    artifact: Artifact,
    bin: &str,
) -> Result<PathBuf> {
    let name = work.names(artifact)[0];
    let target = work.target(artifact);
    let path = build.bootstrap_path(bin);
    let facts = read_elf(&path).with_context(|| {
        format!(
            "cargo-lambda did not leave a usable binary for {name} at {}",
            path.display()
        )
    })?;
    if let Err(problem) = check_bootstrap(&facts, target.architecture, target.max_glibc()) {
        return Err(anyhow!(
            "{name} ({} {}): {problem}",
            target.runtime.as_str(),
            target.architecture.as_str()
        ));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_says_up_to_date_or_how_many_crates_out_of_the_total() {
        let tally = |done, compiled, total| Tally {
            done,
            compiled,
            total,
            ..Tally::default()
        };
        let target = "provided.al2 x86_64";
        assert_eq!(
            built_summary("FunctionA", target, &tally(12, 0, Some(12))),
            "Built FunctionA (provided.al2 x86_64, up to date)"
        );
        assert_eq!(
            built_summary("FunctionA, FunctionB", target, &tally(85, 2, Some(85))),
            "Built FunctionA, FunctionB (provided.al2 x86_64, 2 of 85 crates compiled)"
        );
        assert_eq!(
            built_summary("FunctionA", target, &tally(3, 3, None)),
            "Built FunctionA (provided.al2 x86_64, 3 of 3 crates compiled)"
        );
        assert_eq!(
            built_summary("FunctionA", target, &Tally::default()),
            "Built FunctionA (provided.al2 x86_64)"
        );
    }
}
