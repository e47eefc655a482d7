//! The `samrs build` pipeline: settings → template → plan → cargo → staged output → swap.
//! Each stage's error is classified here as SAM reports it (before or during the build).

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command as ProcessCommand;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use clap::Parser;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use serde_yaml::{Mapping, Value};

use crate::build::elf::{check_bootstrap, read_elf};
use crate::build::process::{describe_status, interrupted, run_streaming};
use crate::build::read_packages;
use crate::build::tools::{Tools, find_tools, zig_available};
use crate::build::unify::features_unify;
use crate::cli::{BuildArgs, Cli, Command, normalize_args};
use crate::output::staging::{Staging, check_build_dir, lock_build_dir};
use crate::output::template::{BuiltResource, rewrite_template};
use crate::output::yaml::to_sam_yaml;
use crate::output::{build_toml, cache};
use crate::paths;
use crate::plan::{
    Artifact, BuildDefinition, CargoBuild, FunctionRef, LayerDefinition, LayerRef, PlanError,
    build_definitions, check_functions, merge_builds, merge_candidates, plan_cargo_builds,
    select_functions, select_layers,
};
use crate::settings::{Environment, Settings, UsageError, resolve_settings, save_params};
use crate::template::{Project, ProjectOptions, SkipReason, load_project};
use crate::ui::{OutputFormat, Ui};

/// How a run failed, which decides the exit code and what is printed.
#[derive(Debug)]
pub enum Failure {
    /// A command-line mistake: exit 2.
    Usage(UsageError),
    /// Found before building (template, config): exit 1, no "Build Failed".
    Setup(anyhow::Error),
    /// Found while building: exit 1 after "Build Failed".
    Build(anyhow::Error),
}

impl Failure {
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Setup(_) | Failure::Build(_) => 1,
        }
    }

    fn setup(error: anyhow::Error) -> Failure {
        match error.downcast::<UsageError>() {
            Ok(usage) => Failure::Usage(usage),
            Err(error) => Failure::Setup(error),
        }
    }

    fn from_plan(error: PlanError) -> Failure {
        if error.before_build {
            Failure::Setup(anyhow!(error.message))
        } else {
            Failure::Build(anyhow!(error.message))
        }
    }
}

/// Runs samrs with these arguments (the program name first); prints the outcome.
pub fn run(args: impl IntoIterator<Item = OsString>) -> Result<(), Failure> {
    let mut ui = Ui::new();
    let cli = match Cli::try_parse_from(normalize_args(args)) {
        Ok(cli) => cli,
        Err(error) => {
            if matches!(
                error.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = error.print();
                return if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    Err(Failure::Usage(UsageError {
                        message: "Missing command: try 'samrs build'".into(),
                        bare: true,
                    }))
                } else {
                    Ok(())
                };
            }
            let failure = Failure::Usage(usage_from_clap(&error));
            report(&ui, &failure);
            return Err(failure);
        }
    };
    let Command::Build(args) = cli.command;
    let result = build_command(&args, &mut ui);
    if let Err(failure) = &result {
        report(&ui, failure);
    }
    result
}

fn usage_from_clap(error: &clap::Error) -> UsageError {
    let arg = match error.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => String::new(),
    };
    let value = match error.get(ContextKind::InvalidValue) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => String::new(),
    };
    let message = match error.kind() {
        ErrorKind::UnknownArgument if arg.starts_with('-') => format!("No such option: {arg}"),
        ErrorKind::UnknownArgument => format!("Got unexpected extra argument ({arg})"),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let option = arg.split_whitespace().next().unwrap_or_default();
            format!("Invalid value for '{option}': '{value}' is not valid.")
        }
        ErrorKind::NoEquals | ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues => {
            format!(
                "Option '{}' requires an argument.",
                arg.split_whitespace().next().unwrap_or_default()
            )
        }
        _ => error
            .render()
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ")
            .to_string(),
    };
    UsageError {
        message,
        bare: false,
    }
}

/// Prints a failure as SAM does: usage header, "Build Failed", JSON, and the `Error:` line.
fn report(ui: &Ui, failure: &Failure) {
    let message = match failure {
        Failure::Usage(usage) => usage.message.clone(),
        Failure::Setup(e) | Failure::Build(e) => format!("{e:#}"),
    };
    match failure {
        Failure::Usage(usage) if !usage.bare => {
            eprintln!(
                "\nUsage: samrs build [OPTIONS] [RESOURCE_LOGICAL_ID]\nTry 'samrs build -h' for help.\n"
            );
        }
        Failure::Build(_) if ui.format == OutputFormat::Text => ui.failure_banner(),
        _ => {}
    }
    if ui.format == OutputFormat::Json && !matches!(failure, Failure::Usage(_)) {
        ui.json(&serde_json::json!({
            "type": "result",
            "status": "failure",
            "error": {"type": match failure { Failure::Build(_) => "BuildError", _ => "UserException" }, "message": message, "resources": null},
        }));
    }
    ui.error(&message);
}

fn build_command(args: &BuildArgs, ui: &mut Ui) -> Result<(), Failure> {
    crate::build::process::install_interrupt_handler();
    let cwd = std::env::current_dir()
        .context("Unable to read the current folder")
        .map_err(Failure::Setup)?;
    let env = Environment::from_process();
    let settings = resolve_settings(args, &env, &cwd).map_err(Failure::setup)?;
    ui.format = settings.output;
    ui.debug = settings.debug;
    if settings.save_params {
        let line = save_params(args, &settings).map_err(Failure::Setup)?;
        ui.log(&line);
    }
    build(&settings, ui)
}

/// Builds the project described by `settings`.
pub fn build(settings: &Settings, ui: &Ui) -> Result<(), Failure> {
    let started = Instant::now();
    if settings.beta_notice {
        ui.warn("\nExperimental features are enabled for this session.\nVisit the docs page to learn more about the AWS Beta terms https://aws.amazon.com/service-terms/.\n");
    }
    for notice in &settings.notices {
        ui.log(notice);
    }

    let project = load_project(&ProjectOptions {
        template_file: settings.template_file.clone(),
        base_dir: settings.base_dir.clone(),
        parameter_overrides: settings.parameter_overrides.clone(),
        region: settings.region.clone(),
    })
    .map_err(Failure::Setup)?;
    ui.debug(&format!(
        "Template loaded: {} stack(s) in {:.1} ms",
        project.stacks.len(),
        started.elapsed().as_secs_f64() * 1000.0
    ));
    report_skipped(&project, ui);

    let selection = select_functions(&project, settings.resource_id.as_deref(), &settings.exclude)
        .map_err(|e| {
            if let Some(notice) = &e.notice {
                ui.log(notice);
                // SAM has already replaced the build folder by now; samrs keeps any previous
                // build, and only creates the (empty) folder when there was none, as SAM leaves it.
                let _ = std::fs::create_dir_all(&settings.build_dir);
            }
            Failure::from_plan(e)
        })?;
    for notice in &selection.notices {
        ui.warn(notice);
    }
    let checked = check_functions(&project, &selection).map_err(Failure::from_plan)?;
    let mut layers = select_layers(
        &project,
        settings.resource_id.as_deref(),
        &settings.exclude,
        settings.base_dir.is_some(),
    )
    .map_err(Failure::from_plan)?;
    if !layers.is_empty() {
        confirm_layer_beta(settings, &project, &layers, ui).map_err(Failure::Setup)?;
    }

    let template_dir = settings
        .template_file
        .parent()
        .unwrap_or(&settings.cwd)
        .to_path_buf();
    let mut protected: Vec<&Path> = vec![&settings.cwd, &template_dir];
    if let Some(base) = &settings.base_dir {
        protected.push(base);
    }
    let aws_sam = settings.cwd.join(".aws-sam");
    let deps = aws_sam.join("deps");
    if let Some(warning) = check_build_dir(
        &settings.build_dir,
        &settings.build_dir_given,
        &protected,
        &[&aws_sam, &deps, &settings.cache_dir],
    )
    .map_err(Failure::Setup)?
    {
        ui.warn(&warning);
    }
    let _lock = lock_build_dir(&settings.build_dir, |lock| {
        ui.log(&format!(
            "Waiting for another samrs build of {} to finish (it holds the lock on {})",
            settings.build_dir_shown,
            lock.display()
        ))
    })
    .map_err(Failure::Setup)?;

    let build_toml_path = settings
        .build_dir
        .parent()
        .unwrap_or(&settings.cwd)
        .join("build.toml");
    let previous = build_toml::read_previous(&build_toml_path).unwrap_or_else(|e| {
        ui.warn(&format!("Ignoring the previous build.toml: {e:#}"));
        build_toml::Previous::default()
    });
    let definitions = build_definitions(
        &project,
        &checked,
        &previous.functions,
        settings.base_dir.is_some(),
        || uuid::Uuid::new_v4().to_string(),
    );
    let layer_paths: Vec<String> = layers
        .iter()
        .map(|l| l.layer.get(&project).full_path.clone())
        .collect();
    build_toml::assign_layer_uuids(&mut layers, &layer_paths, &previous.layers, || {
        uuid::Uuid::new_v4().to_string()
    });
    let mut work = Work {
        project: &project,
        definitions,
        layers,
    };

    let staging = Staging::create(&settings.build_dir).map_err(Failure::Build)?;
    let fresh_keys = if settings.cached {
        ui.log("Starting Build use cache");
        restore_from_cache(&work, settings, &staging.dir, ui).map_err(Failure::Build)?
    } else {
        vec![None; work.definitions.len()]
    };
    let missing: Vec<bool> = fresh_keys
        .iter()
        .map(|k| !matches!(k, Some(CacheState::Hit)))
        .collect();
    let mut timings = Vec::new();
    if missing.iter().any(|m| *m) || !work.layers.is_empty() {
        let cargo_builds = plan_builds(&work, &missing, settings).map_err(Failure::Build)?;
        let tools = find_tools().map_err(Failure::Build)?;
        let cargo_builds = share_workspace_runs(&tools, cargo_builds, ui);
        timings = run_all(&tools, &cargo_builds, &work, settings, &staging.dir, ui)
            .map_err(Failure::Build)?;
    }
    write_templates(&work, settings, &staging.dir).map_err(Failure::Build)?;
    if interrupted() {
        return Err(Failure::Build(interrupted_error(settings)));
    }
    staging.commit().map_err(Failure::Build)?;
    if settings.cached {
        store_in_cache(
            &mut work,
            &fresh_keys,
            settings,
            !selection.single_resource,
            ui,
        );
    }
    if !selection.single_resource {
        write_atomically(&build_toml_path, &build_toml::render(&work.project_view()))
            .map_err(Failure::Build)?;
    }
    print_summary(&work, &timings, settings, ui);
    report_success(&project, &work.definitions, settings, ui);
    ui.debug(&format!(
        "samrs build finished in {:.2}s",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// SAM's warnings for functions it will not build (S3 code, ECR images) and remote stacks.
fn report_skipped(project: &Project, ui: &Ui) {
    for stack in &project.stacks {
        for f in &stack.functions {
            match f.skip {
                Some(SkipReason::S3Code) => ui.log(&format!(
                    "The resource {} '{}' has specified S3 location for {}. It will not be built and SAM CLI does not support invoking it locally.",
                    f.kind.type_name(),
                    f.logical_id,
                    f.kind.code_property()
                )),
                Some(SkipReason::EcrImage) => ui.log(&format!(
                    "The resource {} '{}' has specified ECR registry image for ImageUri. It will not be built and SAM CLI does not support invoking it locally.",
                    f.kind.type_name(),
                    f.logical_id
                )),
                _ => {}
            }
        }
    }
    if !project.remote_stacks.is_empty() {
        let mut text =
            String::from("Below nested stacks(s) specify non-local URL(s), which are unsupported:");
        for remote in &project.remote_stacks {
            text.push_str(&format!("\n- {}", remote.full_path));
        }
        text.push_str("\nSkipping building resources inside these nested stacks.");
        ui.warn(&text);
    }
}

/// What this run builds: the function definitions and the Rust layers, over the project.
struct Work<'a> {
    project: &'a Project,
    definitions: Vec<BuildDefinition>,
    layers: Vec<LayerDefinition>,
}

impl Work<'_> {
    /// The full paths of the resources an artifact is for.
    fn names(&self, artifact: Artifact) -> Vec<&str> {
        match artifact {
            Artifact::Function(i) => self.definitions[i]
                .functions
                .iter()
                .map(|f| f.get(self.project).full_path.as_str())
                .collect(),
            Artifact::Layer(i) => vec![self.layers[i].layer.get(self.project).full_path.as_str()],
        }
    }

    /// The definitions with their resources' full paths, for build.toml.
    fn project_view(&self) -> build_toml::BuildRecord<'_> {
        build_toml::BuildRecord {
            functions: self
                .definitions
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    let names = self.names(Artifact::Function(i));
                    (d, names.into_iter().map(str::to_string).collect())
                })
                .collect(),
            layers: self
                .layers
                .iter()
                .map(|l| (l, l.layer.get(self.project).full_path.clone()))
                .collect(),
        }
    }
}

/// Rust layers are samrs's own beta feature: it runs only when opted in, or after a "y" at a
/// terminal prompt.
fn confirm_layer_beta(
    settings: &Settings,
    project: &Project,
    layers: &[LayerDefinition],
    ui: &Ui,
) -> anyhow::Result<()> {
    if settings.beta_features.unwrap_or(settings.beta_from_env) {
        return Ok(());
    }
    let names: Vec<&str> = layers
        .iter()
        .map(|l| l.layer.get(project).full_path.as_str())
        .collect();
    let how = "turn it on with `samrs build --beta-features`, the environment variable SAM_CLI_BETA_RUST_CARGO_LAMBDA=1 (or SAM_CLI_BETA_FEATURES=1), or `beta_features = true` under [default.build.parameters] in samconfig.toml";
    if settings.beta_features == Some(false) {
        return Err(anyhow!(
            "Building Rust layers ({}) is a beta feature, and --no-beta-features (or beta_features = false) turned beta features off; {how}",
            names.join(", ")
        ));
    }
    if !ui.can_prompt() {
        return Err(anyhow!(
            "Building Rust layers ({}) with BuildMethod rust-cargolambda is a beta feature of samrs; {how}",
            names.join(", ")
        ));
    }
    let answer = ui.prompt(
        "Build method \"rust-cargolambda\" for layers is a beta feature.\nPlease confirm if you would like to proceed\nYou can also enable this beta feature with \"samrs build --beta-features\". [y/N]: ",
    );
    if matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES") {
        Ok(())
    } else {
        Err(anyhow!(
            "Not building Rust layers ({}): the beta feature was not confirmed; {how}",
            names.join(", ")
        ))
    }
}

/// Plans the cargo runs for the definitions marked in `wanted` and every layer.
fn plan_builds(
    work: &Work,
    wanted: &[bool],
    settings: &Settings,
) -> anyhow::Result<Vec<CargoBuild>> {
    let dirs: Vec<(&Path, &str)> = work
        .definitions
        .iter()
        .enumerate()
        .filter(|(i, _)| wanted[*i])
        .map(|(i, d)| (d.code_dir.as_path(), work.names(Artifact::Function(i))[0]))
        .chain(
            work.layers
                .iter()
                .enumerate()
                .map(|(i, l)| (l.code_dir.as_path(), work.names(Artifact::Layer(i))[0])),
        )
        .collect();
    let packages = read_packages(dirs)?;
    let wanted_definitions: Vec<BuildDefinition> = work
        .definitions
        .iter()
        .zip(wanted)
        .filter(|(_, w)| **w)
        .map(|(d, _)| d.clone())
        .collect();
    let index_of: Vec<usize> = (0..work.definitions.len()).filter(|i| wanted[*i]).collect();
    let mut builds = plan_cargo_builds(
        work.project,
        &wanted_definitions,
        &work.layers,
        &packages,
        settings.profile,
    )
    .map_err(|e| anyhow!(e.message))?;
    for build in &mut builds {
        for (artifact, _) in &mut build.outputs {
            if let Artifact::Function(i) = artifact {
                *i = index_of[*i];
            }
        }
    }
    Ok(builds)
}

fn interrupted_error(settings: &Settings) -> anyhow::Error {
    anyhow!(
        "Build interrupted (SIGINT or SIGTERM); cargo was stopped and the previous build in {} is unchanged",
        settings.build_dir_shown
    )
}

/// Lets members of one workspace share a cargo run where that provably changes no binary.
fn share_workspace_runs(tools: &Tools, builds: Vec<CargoBuild>, ui: &Ui) -> Vec<CargoBuild> {
    let approved: Vec<Vec<usize>> = merge_candidates(&builds)
        .into_iter()
        .filter(|group| {
            let first = &builds[group[0]];
            let packages: Vec<String> = group.iter().map(|i| builds[*i].package.clone()).collect();
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
                            packages.join(", ")
                        ));
                    }
                    same
                }
                Err(e) => {
                    ui.debug(&format!("Building {} separately: {e:#}", packages.join(", ")));
                    false
                }
            }
        })
        .collect();
    merge_builds(builds, &approved)
}

/// The cache verdict of one definition under `--cached`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CacheState {
    /// Restored from the cache: no build needed.
    Hit,
    /// Built this run; the key to store once the build succeeded.
    Miss(String),
}

/// Restores every definition whose key matches the recorded one and whose artifacts are in the
/// cache; returns each definition's verdict.
fn restore_from_cache(
    work: &Work,
    settings: &Settings,
    staging: &Path,
    ui: &Ui,
) -> anyhow::Result<Vec<Option<CacheState>>> {
    std::fs::create_dir_all(&settings.cache_dir).with_context(|| {
        format!(
            "Unable to create cache dir {}",
            settings.cache_dir.display()
        )
    })?;
    // SAM also creates an empty dependencies folder beside the build (unused for Rust).
    let _ = std::fs::create_dir_all(settings.cwd.join(".aws-sam/deps"));
    let mut excluded = vec![settings.build_dir.clone(), settings.cache_dir.clone()];
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        excluded.push(paths::absolute(Path::new(&target), &settings.cwd));
    }
    let mut keys = cache::KeyMaker::new(&cache::build_environment(), excluded);
    let mut states = Vec::with_capacity(work.definitions.len());
    for (i, definition) in work.definitions.iter().enumerate() {
        let key = keys.key(definition, settings.profile)?;
        let names = work.names(Artifact::Function(i)).join(", ");
        let first = function_dir(staging, work.project, definition.functions[0]);
        let hit = definition.source_hash == key
            && cache::restore(&settings.cache_dir, &definition.uuid, &first)?;
        if hit {
            ui.log(&format!(
                "Valid cache found, copying previously built resources for following functions ({names})"
            ));
            for f in &definition.functions[1..] {
                cache::restore(
                    &settings.cache_dir,
                    &definition.uuid,
                    &function_dir(staging, work.project, *f),
                )?;
            }
            states.push(Some(CacheState::Hit));
        } else {
            ui.log(&format!(
                "Cache is invalid, running build and copying resources for following functions ({names})"
            ));
            states.push(Some(CacheState::Miss(key)));
        }
    }
    Ok(states)
}

/// After a successful build: copies what was built into the cache, records the keys for
/// build.toml, and (on full builds) drops cache folders no definition uses any more.
fn store_in_cache(
    work: &mut Work,
    states: &[Option<CacheState>],
    settings: &Settings,
    full_build: bool,
    ui: &Ui,
) {
    for (definition, state) in work.definitions.iter_mut().zip(states) {
        if let Some(CacheState::Miss(key)) = state {
            let artifacts =
                function_dir(&settings.build_dir, work.project, definition.functions[0]);
            match cache::store(&settings.cache_dir, &definition.uuid, &artifacts) {
                Ok(()) => definition.source_hash = key.clone(),
                Err(e) => ui.warn(&format!("Not cached: {e:#}")),
            }
        }
    }
    if full_build {
        let in_use: Vec<&str> = work.definitions.iter().map(|d| d.uuid.as_str()).collect();
        cache::prune(&settings.cache_dir, &in_use);
    }
}

/// Runs the cargo builds and collects their binaries. Builds that share a target folder run one
/// after another (cargo would serialise them on its lock anyway, and they write the same
/// `lambda/<bin>` paths); with `--parallel`, different target folders run at the same time,
/// sharing the machine's cores, and a failure lets the others finish first, as in SAM.
fn run_all(
    tools: &Tools,
    builds: &[CargoBuild],
    work: &Work,
    settings: &Settings,
    staging: &Path,
    ui: &Ui,
) -> anyhow::Result<Vec<(Artifact, Duration)>> {
    let mut lanes: Vec<Vec<&CargoBuild>> = Vec::new();
    for build in builds {
        match lanes
            .iter_mut()
            .find(|lane| lane[0].target_directory == build.target_directory)
        {
            Some(lane) => lane.push(build),
            None => lanes.push(vec![build]),
        }
    }
    let run_lane =
        |lane: &[&CargoBuild], jobs: Option<usize>| -> anyhow::Result<Vec<(Artifact, Duration)>> {
            let mut timings = Vec::new();
            for build in lane {
                let elapsed = run_cargo_build(tools, build, work, settings, jobs, ui)?;
                collect_binaries(build, work, staging)?;
                timings.extend(build.outputs.iter().map(|(a, _)| (*a, elapsed)));
            }
            Ok(timings)
        };
    if !settings.parallel || lanes.len() < 2 {
        let all: Vec<&CargoBuild> = builds.iter().collect();
        return run_lane(&all, None);
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let jobs = (cores / lanes.len()).max(1);
    ui.debug(&format!(
        "Running {} independent build lanes at once, {jobs} cargo job(s) each",
        lanes.len()
    ));
    let results: Vec<anyhow::Result<Vec<(Artifact, Duration)>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = lanes
            .iter()
            .map(|lane| scope.spawn(|| run_lane(lane, Some(jobs))))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow!("a build thread stopped unexpectedly")))
            })
            .collect()
    });
    let mut timings = Vec::new();
    for result in results {
        timings.extend(result?);
    }
    Ok(timings)
}

/// The closing table on stderr: each function and layer, its target, binary size, build time,
/// and whether it came from the cache.
fn print_summary(work: &Work, timings: &[(Artifact, Duration)], settings: &Settings, ui: &Ui) {
    let mut rows = Vec::new();
    let artifacts = (0..work.definitions.len())
        .map(Artifact::Function)
        .chain((0..work.layers.len()).map(Artifact::Layer));
    for artifact in artifacts {
        let (target, dirs): (_, Vec<PathBuf>) = match artifact {
            Artifact::Function(i) => (
                work.definitions[i].target,
                work.definitions[i]
                    .functions
                    .iter()
                    .map(|f| function_dir(&settings.build_dir, work.project, *f).join("bootstrap"))
                    .collect(),
            ),
            Artifact::Layer(i) => (
                work.layers[i].target,
                vec![layer_dir(
                    &settings.build_dir,
                    work.project,
                    work.layers[i].layer,
                )],
            ),
        };
        let how = match timings.iter().find(|(a, _)| *a == artifact) {
            Some((_, elapsed)) => format!("built in {:.1}s", elapsed.as_secs_f64()),
            None => "from cache".to_string(),
        };
        for (name, path) in work.names(artifact).into_iter().zip(dirs) {
            let size = walkdir::WalkDir::new(&path)
                .into_iter()
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum::<u64>();
            rows.push([
                name.to_string(),
                format!(
                    "{} {}",
                    target.runtime.as_str(),
                    target.architecture.as_str()
                ),
                format!("{:.1} MiB", size as f64 / (1024.0 * 1024.0)),
                how.clone(),
            ]);
        }
    }
    if rows.is_empty() {
        return;
    }
    let header = ["Resource", "Target", "Size", "Build"];
    let widths: Vec<usize> = (0..4)
        .map(|c| {
            rows.iter()
                .map(|r| r[c].len())
                .chain([header[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: [&str; 4]| {
        format!(
            "  {:<w0$}  {:<w1$}  {:>w2$}  {}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        )
    };
    let mut text = line(header);
    for row in &rows {
        text.push('\n');
        text.push_str(&line([&row[0], &row[1], &row[2], &row[3]]));
    }
    ui.log(&text);
}

fn run_cargo_build(
    tools: &Tools,
    build: &CargoBuild,
    work: &Work,
    settings: &Settings,
    jobs: Option<usize>,
    ui: &Ui,
) -> anyhow::Result<Duration> {
    let mut seen = Vec::new();
    let mut served = Vec::new();
    for (artifact, _) in &build.outputs {
        if seen.contains(artifact) {
            continue;
        }
        seen.push(*artifact);
        served.extend(work.names(*artifact));
        match *artifact {
            Artifact::Function(i) => {
                let d = &work.definitions[i];
                ui.log(&format!(
                    "Building codeuri: {} runtime: {} architecture: {} functions: {}",
                    d.code_uri,
                    d.target.runtime.as_str(),
                    d.target.architecture.as_str(),
                    work.names(*artifact).join(", ")
                ));
            }
            Artifact::Layer(i) => ui.log(&format!(
                "Building layer '{}'",
                work.layers[i].layer.get(work.project).full_path
            )),
        }
    }
    let mut command = ProcessCommand::new(&tools.cargo);
    command
        .args(build.args())
        .current_dir(&build.dir)
        .env("CARGO_TARGET_DIR", &build.target_directory);
    if settings.rust_log_debug {
        command.env("RUST_LOG", "debug");
    }
    if let Some(jobs) = jobs {
        command.env("CARGO_BUILD_JOBS", jobs.to_string());
    }
    let shown = format!("cargo {}", build.args().join(" "));
    ui.debug(&format!(
        "Running {shown} in {} (CARGO_TARGET_DIR={})",
        build.dir.display(),
        build.target_directory.display()
    ));
    let mut progress = ui.cargo_progress(&format!(
        "Compiling {} [{}]",
        build.package,
        build.bins.join(", ")
    ));
    let output = match run_streaming(&mut command, |_, line| progress.line(line)) {
        Ok(output) => output,
        Err(e) => {
            progress.abandon();
            return Err(e);
        }
    };
    if interrupted() {
        progress.abandon();
        return Err(interrupted_error(settings));
    }
    if !output.status.success() {
        progress.abandon();
        let mut details: Vec<&str> = output.stderr.iter().map(String::as_str).collect();
        details.extend(output.stdout.iter().map(String::as_str));
        let mut message = format!(
            "Cargo Lambda failed for {} ({}, `{shown}` in {}):\n{}",
            served.join(", "),
            describe_status(output.status),
            build.dir.display(),
            details.join("\n").trim()
        );
        if message.to_lowercase().contains("zig") && !zig_available() {
            message.push_str("\n\nzig was not found: install it with `pip install ziglang` (or `pip install cargo-lambda`, which brings it) in the Python environment on PATH.");
        }
        return Err(anyhow!(message));
    }
    Ok(progress.finish(&format!(
        "Built {} for {} {}",
        build.bins.join(", "),
        build.target.runtime.as_str(),
        build.target.architecture.as_str()
    )))
}

/// The folder of a resource's artifacts under `root` (the staging or the final build folder).
fn resource_dir(root: &Path, project: &Project, stack: usize, logical_id: &str) -> PathBuf {
    stack_dir(root, &project.stacks[stack].path).join(logical_id)
}

fn function_dir(root: &Path, project: &Project, f: FunctionRef) -> PathBuf {
    let function = f.get(project);
    resource_dir(root, project, function.stack, &function.logical_id)
}

fn layer_dir(root: &Path, project: &Project, l: LayerRef) -> PathBuf {
    let layer = l.get(project);
    resource_dir(root, project, layer.stack, &layer.logical_id)
}

fn collect_binaries(build: &CargoBuild, work: &Work, staging: &Path) -> anyhow::Result<()> {
    for (artifact, bin) in &build.outputs {
        let name = work.names(*artifact)[0];
        let target = match *artifact {
            Artifact::Function(i) => work.definitions[i].target,
            Artifact::Layer(i) => work.layers[i].target,
        };
        let source = build.bootstrap_path(bin);
        let facts = read_elf(&source).with_context(|| {
            format!(
                "cargo-lambda did not leave a usable binary for {name} at {}",
                source.display()
            )
        })?;
        if let Err(problem) = check_bootstrap(&facts, target.architecture, target.max_glibc()) {
            return Err(anyhow!(
                "{name} ({} {}): {problem}",
                target.runtime.as_str(),
                target.architecture.as_str()
            ));
        }
        let destinations: Vec<PathBuf> = match *artifact {
            Artifact::Function(i) => work.definitions[i]
                .functions
                .iter()
                .map(|f| function_dir(staging, work.project, *f).join("bootstrap"))
                .collect(),
            Artifact::Layer(i) => vec![
                layer_dir(staging, work.project, work.layers[i].layer)
                    .join("extensions")
                    .join(bin),
            ],
        };
        for destination in destinations {
            if let Some(dir) = destination.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("Unable to create {}", dir.display()))?;
            }
            copy_keeping_time(&source, &destination)?;
        }
    }
    Ok(())
}

/// Copies a file with its permission bits and modification time, like Python's copy2.
fn copy_keeping_time(source: &Path, target: &Path) -> anyhow::Result<()> {
    std::fs::copy(source, target).with_context(|| {
        format!(
            "Unable to copy {} to {}",
            source.display(),
            target.display()
        )
    })?;
    if let Ok(modified) = std::fs::metadata(source).and_then(|m| m.modified())
        && let Ok(file) = std::fs::File::options().write(true).open(target)
    {
        let _ = file.set_modified(modified);
    }
    Ok(())
}

/// Resolved Metadata with `SamResourceId` as its last key.
fn metadata_with_id(metadata: &Mapping, id: &str) -> Mapping {
    let mut metadata = metadata.clone();
    metadata.remove("SamResourceId");
    metadata.insert("SamResourceId".into(), Value::String(id.to_string()));
    metadata
}

fn write_templates(work: &Work, settings: &Settings, staging: &Path) -> anyhow::Result<()> {
    let project = work.project;
    let mut built: Vec<HashMap<String, BuiltResource>> = vec![HashMap::new(); project.stacks.len()];
    let relative_to_stack = |stack: usize, dir: &Path| {
        let output_dir = stack_dir(&settings.build_dir, &project.stacks[stack].path);
        paths::to_template_string(&paths::relative(dir, &output_dir))
    };
    for definition in &work.definitions {
        for f in &definition.functions {
            let function = f.get(project);
            let id = function.full_path.rsplit('/').next().unwrap_or_default();
            built[function.stack].insert(
                function.logical_id.clone(),
                BuiltResource {
                    property: function.kind.code_property(),
                    path: relative_to_stack(
                        function.stack,
                        &function_dir(&settings.build_dir, project, *f),
                    ),
                    metadata: metadata_with_id(&function.metadata, id),
                },
            );
        }
    }
    for definition in &work.layers {
        let layer = definition.layer.get(project);
        let id = layer.full_path.rsplit('/').next().unwrap_or_default();
        built[layer.stack].insert(
            layer.logical_id.clone(),
            BuiltResource {
                property: layer.kind.content_property(),
                path: relative_to_stack(
                    layer.stack,
                    &layer_dir(&settings.build_dir, project, definition.layer),
                ),
                metadata: metadata_with_id(&layer.metadata, id),
            },
        );
    }
    for (index, stack) in project.stacks.iter().enumerate() {
        for (logical_id, _) in &stack.children {
            let resource = stack
                .raw
                .get("Resources")
                .and_then(|r| r.get(logical_id.as_str()))
                .and_then(Value::as_mapping);
            let resource_type = resource
                .and_then(|r| r.get("Type"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let metadata = resource
                .and_then(|r| r.get("Metadata"))
                .and_then(Value::as_mapping)
                .cloned()
                .unwrap_or_default();
            built[index].insert(
                logical_id.clone(),
                BuiltResource {
                    property: if resource_type == "AWS::Serverless::Application" {
                        "Location"
                    } else {
                        "TemplateURL"
                    },
                    path: format!("{logical_id}/template.yaml"),
                    metadata: metadata_with_id(&metadata, logical_id),
                },
            );
        }
    }
    for (index, stack) in project.stacks.iter().enumerate() {
        let output_dir = stack_dir(&settings.build_dir, &stack.path);
        let rewritten = rewrite_template(&stack.raw, &stack.dir, &output_dir, &built[index]);
        let text = to_sam_yaml(&Value::Mapping(rewritten));
        let target_dir = stack_dir(staging, &stack.path);
        std::fs::create_dir_all(&target_dir)
            .with_context(|| format!("Unable to create {}", target_dir.display()))?;
        let target = target_dir.join("template.yaml");
        std::fs::write(&target, text)
            .with_context(|| format!("Unable to write {}", target.display()))?;
    }
    Ok(())
}

fn stack_dir(root: &Path, stack_path: &[String]) -> PathBuf {
    let mut dir = root.to_path_buf();
    for part in stack_path {
        dir.push(part);
    }
    dir
}

/// Writes a file through a temporary sibling and a rename, so readers never see half of it.
fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .with_context(|| format!("Unable to create {}", parent.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = parent.join(format!(".{name}.samrs-tmp-{}", std::process::id()));
    let result = std::fs::write(&temp, text).and_then(|()| std::fs::rename(&temp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.with_context(|| format!("Unable to write {}", path.display()))
}

fn report_success(
    project: &Project,
    definitions: &[BuildDefinition],
    settings: &Settings,
    ui: &Ui,
) {
    let template = settings.build_dir.join("template.yaml");
    match settings.output {
        OutputFormat::Text => {
            let default_dir = settings.build_dir == settings.cwd.join(".aws-sam/build");
            ui.success_banner(
                &settings.build_dir_shown,
                &paths::to_template_string(&paths::relative(&template, &settings.cwd)),
                default_dir,
            );
        }
        OutputFormat::Json => {
            let resources: Vec<serde_json::Value> = definitions
                .iter()
                .flat_map(|d| {
                    d.functions.iter().map(move |f| {
                        serde_json::json!({
                            "resource_id": f.get(project).full_path,
                            "type": "function",
                            "package_type": d.package_type,
                            "runtime": d.target.runtime.as_str(),
                            "architecture": d.target.architecture.as_str(),
                        })
                    })
                })
                .collect();
            ui.json(&serde_json::json!({
                "type": "result",
                "status": "success",
                "build_dir": settings.build_dir.to_string_lossy(),
                "template_file": template.to_string_lossy(),
                "resources": resources,
            }));
        }
    }
}
