//! The `samrs build` pipeline: settings → template → plan → cargo → staged output → swap.
//! Each stage's error is classified here as SAM reports it (before or during the build).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use clap::Parser;
use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::build::process::interrupted;
use crate::build::read_packages;
use crate::build::runner::{interrupted_error, run_all, share_workspace_runs};
use crate::build::tools::find_tools;
use crate::cli::{BuildArgs, Cli, Command, normalize_args};
use crate::output::layout::{function_dir, layer_dir};
use crate::output::staging::{Staging, check_build_dir, lock_build_dir};
use crate::output::writer::{build_record, write_atomically, write_templates};
use crate::output::{build_toml, cache};
use crate::paths;
use crate::plan::{
    Artifact, BuildDefinition, BuildPlan, CargoBuild, LayerDefinition, PlanError,
    build_definitions, check_functions, plan_cargo_builds, select_functions, select_layers,
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
    let mut work = BuildPlan {
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
    let restored: Vec<bool> = fresh_keys
        .iter()
        .map(|k| matches!(k, Some(CacheState::Hit)))
        .collect();
    let mut timings = Vec::new();
    if restored.iter().any(|r| !r) || !work.layers.is_empty() {
        let cargo_builds = plan_builds(&work, &restored, settings).map_err(Failure::Build)?;
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
        write_atomically(&build_toml_path, &build_toml::render(&build_record(&work)))
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

/// Plans the cargo runs for every definition not `restored` from the cache, and every layer.
fn plan_builds(
    work: &BuildPlan,
    restored: &[bool],
    settings: &Settings,
) -> anyhow::Result<Vec<CargoBuild>> {
    let dirs: Vec<(&Path, &str)> = work
        .definitions
        .iter()
        .enumerate()
        .filter(|(i, _)| !restored[*i])
        .map(|(i, d)| (d.code_dir.as_path(), work.names(Artifact::Function(i))[0]))
        .chain(
            work.layers
                .iter()
                .enumerate()
                .map(|(i, l)| (l.code_dir.as_path(), work.names(Artifact::Layer(i))[0])),
        )
        .collect();
    let packages = read_packages(dirs)?;
    plan_cargo_builds(
        work.project,
        &work.definitions,
        restored,
        &work.layers,
        &packages,
        settings.profile,
    )
    .map_err(|e| anyhow!(e.message))
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
    work: &BuildPlan,
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
    work: &mut BuildPlan,
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

/// The closing table on stderr: each function and layer, its target, binary size, build time,
/// and whether it came from the cache.
fn print_summary(work: &BuildPlan, timings: &[(Artifact, Duration)], settings: &Settings, ui: &Ui) {
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
