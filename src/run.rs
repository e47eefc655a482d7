//! The `samrs build` pipeline: settings → template → plan → cargo → staged output → swap.
//! Each stage's error is classified here as SAM reports it (before or during the build).

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command as ProcessCommand;
use std::time::Instant;

use anyhow::{Context, anyhow};
use clap::Parser;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use serde_yaml::{Mapping, Value};

use crate::build::elf::{check_bootstrap, read_elf};
use crate::build::process::{describe_command, describe_status, run_streaming};
use crate::build::read_packages;
use crate::build::tools::{Tools, find_tools, zig_available};
use crate::cli::{BuildArgs, Cli, Command, normalize_args};
use crate::output::build_toml;
use crate::output::staging::{Staging, check_build_dir, lock_build_dir};
use crate::output::template::{BuiltResource, rewrite_template};
use crate::output::yaml::to_sam_yaml;
use crate::paths;
use crate::plan::{
    self, BuildDefinition, CargoBuild, PlanError, build_definitions, check_functions,
    plan_cargo_builds, select_functions,
};
use crate::settings::{Environment, Settings, UsageError, resolve_settings};
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
    let cwd = std::env::current_dir()
        .context("Unable to read the current folder")
        .map_err(Failure::Setup)?;
    let env = Environment::from_process();
    let settings = resolve_settings(args, &env, &cwd).map_err(Failure::setup)?;
    ui.format = settings.output;
    ui.debug = settings.debug;
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
        .map_err(Failure::from_plan)?;
    for notice in &selection.notices {
        ui.warn(notice);
    }
    check_layers(&project, settings, &selection).map_err(Failure::Build)?;
    let checked = check_functions(&project, &selection).map_err(Failure::from_plan)?;

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
        &settings.build_dir_shown,
        &protected,
        &[&aws_sam, &deps, &settings.cache_dir],
    )
    .map_err(Failure::Setup)?
    {
        ui.warn(&warning);
    }
    let _lock = lock_build_dir(&settings.build_dir, |lock| {
        ui.log(&format!(
            "Waiting for another samrs build of {} to finish (lock file {})",
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
        Vec::new()
    });
    let definitions = build_definitions(
        &project,
        &checked,
        &previous,
        settings.base_dir.is_some(),
        || uuid::Uuid::new_v4().to_string(),
    );

    let staging = Staging::create(&settings.build_dir).map_err(Failure::Build)?;
    if !definitions.is_empty() {
        let cargo_builds = plan_builds(&project, &definitions, settings).map_err(Failure::Build)?;
        let tools = find_tools().map_err(Failure::Build)?;
        for cargo_build in &cargo_builds {
            run_cargo_build(&tools, cargo_build, &definitions, &project, settings, ui)
                .map_err(Failure::Build)?;
            collect_binaries(cargo_build, &definitions, &project, &staging.dir)
                .map_err(Failure::Build)?;
        }
    }
    write_templates(&project, &definitions, settings, &staging.dir).map_err(Failure::Build)?;
    staging.commit().map_err(Failure::Build)?;
    if !selection.single_resource {
        let full_paths: Vec<Vec<String>> = definitions
            .iter()
            .map(|d| {
                d.functions
                    .iter()
                    .map(|f| f.get(&project).full_path.clone())
                    .collect()
            })
            .collect();
        write_atomically(
            &build_toml_path,
            &build_toml::render(&definitions, &full_paths),
        )
        .map_err(Failure::Build)?;
    }
    report_success(&project, &definitions, settings, ui);
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

/// Layers with a BuildMethod are refused: SAM cannot build Rust layers either.
fn check_layers(
    project: &Project,
    settings: &Settings,
    selection: &plan::Selection,
) -> anyhow::Result<()> {
    if selection.single_resource {
        return Ok(());
    }
    for stack in &project.stacks {
        for layer in &stack.layers {
            if settings.exclude.contains(&layer.logical_id) {
                continue;
            }
            match layer.build_method().and_then(Value::as_str) {
                None => {}
                Some("rust-cargolambda") => {
                    return Err(anyhow!(
                        "'rust-cargolambda' runtime is not supported for layers (layer {}); remove its Metadata.BuildMethod or use --exclude {}",
                        layer.full_path,
                        layer.logical_id
                    ));
                }
                Some(other) => {
                    return Err(anyhow!(
                        "{}: BuildMethod '{other}' is not supported by samrs (only rust-cargolambda functions); use --exclude {} or sam build",
                        layer.full_path,
                        layer.logical_id
                    ));
                }
            }
        }
    }
    Ok(())
}

fn plan_builds(
    project: &Project,
    definitions: &[BuildDefinition],
    settings: &Settings,
) -> anyhow::Result<Vec<CargoBuild>> {
    let dirs: Vec<(&Path, &str)> = definitions
        .iter()
        .map(|d| {
            (
                d.code_dir.as_path(),
                d.functions[0].get(project).full_path.as_str(),
            )
        })
        .collect();
    let packages = read_packages(dirs)?;
    plan_cargo_builds(project, definitions, &packages, settings.profile)
        .map_err(|e| anyhow!(e.message))
}

fn function_list(project: &Project, definitions: &[BuildDefinition], build: &CargoBuild) -> String {
    let mut names: Vec<&str> = Vec::new();
    for (index, _) in &build.outputs {
        for f in &definitions[*index].functions {
            names.push(&f.get(project).full_path);
        }
    }
    names.join(", ")
}

fn run_cargo_build(
    tools: &Tools,
    build: &CargoBuild,
    definitions: &[BuildDefinition],
    project: &Project,
    settings: &Settings,
    ui: &Ui,
) -> anyhow::Result<()> {
    let mut seen = Vec::new();
    for (index, _) in &build.outputs {
        if seen.contains(index) {
            continue;
        }
        seen.push(*index);
        let d = &definitions[*index];
        let names: Vec<&str> = d
            .functions
            .iter()
            .map(|f| f.get(project).full_path.as_str())
            .collect();
        ui.log(&format!(
            "Building codeuri: {} runtime: {} architecture: {} functions: {}",
            d.code_uri,
            d.target.runtime.as_str(),
            d.target.architecture.as_str(),
            names.join(", ")
        ));
    }
    let mut command = ProcessCommand::new(&tools.cargo);
    command
        .args(build.args())
        .current_dir(&build.dir)
        .env("CARGO_TARGET_DIR", &build.target_directory);
    if settings.rust_log_debug {
        command.env("RUST_LOG", "debug");
    }
    let shown = describe_command(&command).replacen(
        &tools.cargo.to_string_lossy().into_owned(),
        "cargo",
        1,
    );
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
    let output = run_streaming(&mut command, |_, line| progress.line(line));
    let output = match output {
        Ok(output) => output,
        Err(e) => {
            progress.abandon();
            return Err(e);
        }
    };
    if !output.status.success() {
        progress.abandon();
        let mut details: Vec<&str> = output.stderr.iter().map(String::as_str).collect();
        details.extend(output.stdout.iter().map(String::as_str));
        let mut message = format!(
            "Cargo Lambda failed for {} ({}, `{shown}` in {}):\n{}",
            function_list(project, definitions, build),
            describe_status(output.status),
            build.dir.display(),
            details.join("\n").trim()
        );
        let text = message.to_lowercase();
        if text.contains("zig") && !zig_available() {
            message.push_str("\n\nzig was not found: install it with `pip install ziglang` (or `pip install cargo-lambda`, which brings it) in the Python environment on PATH.");
        }
        return Err(anyhow!(message));
    }
    progress.finish(&format!(
        "Built {} for {} {}",
        build.bins.join(", "),
        build.target.runtime.as_str(),
        build.target.architecture.as_str()
    ));
    Ok(())
}

/// The folder of a function's artifacts, under `root` (the staging or the final build folder).
fn artifact_dir(root: &Path, project: &Project, f: &plan::FunctionRef) -> PathBuf {
    let function = f.get(project);
    let stack = &project.stacks[function.stack];
    let mut dir = root.to_path_buf();
    for part in &stack.path {
        dir.push(part);
    }
    dir.join(&function.logical_id)
}

fn collect_binaries(
    build: &CargoBuild,
    definitions: &[BuildDefinition],
    project: &Project,
    staging: &Path,
) -> anyhow::Result<()> {
    for (index, bin) in &build.outputs {
        let definition = &definitions[*index];
        let source = build.bootstrap_path(bin);
        let facts = read_elf(&source).with_context(|| {
            format!(
                "cargo-lambda did not leave a usable binary for {} at {}",
                definition.functions[0].get(project).full_path,
                source.display()
            )
        })?;
        if let Err(problem) = check_bootstrap(
            &facts,
            definition.target.architecture,
            definition.target.max_glibc(),
        ) {
            return Err(anyhow!(
                "{} ({} {}): {problem}",
                definition.functions[0].get(project).full_path,
                definition.target.runtime.as_str(),
                definition.target.architecture.as_str()
            ));
        }
        for f in &definition.functions {
            let dir = artifact_dir(staging, project, f);
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("Unable to create {}", dir.display()))?;
            copy_keeping_time(&source, &dir.join("bootstrap"))?;
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

fn write_templates(
    project: &Project,
    definitions: &[BuildDefinition],
    settings: &Settings,
    staging: &Path,
) -> anyhow::Result<()> {
    let mut built: Vec<HashMap<String, BuiltResource>> = vec![HashMap::new(); project.stacks.len()];
    for definition in definitions {
        for f in &definition.functions {
            let function = f.get(project);
            let stack = &project.stacks[function.stack];
            let output_dir = stack_dir(&settings.build_dir, &stack.path);
            let artifact = artifact_dir(&settings.build_dir, project, f);
            let mut metadata = function.metadata.clone();
            metadata.remove("SamResourceId");
            metadata.insert(
                "SamResourceId".into(),
                Value::String(
                    function
                        .full_path
                        .rsplit('/')
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                ),
            );
            built[function.stack].insert(
                function.logical_id.clone(),
                BuiltResource {
                    property: function.kind.code_property(),
                    path: paths::to_template_string(&paths::relative(&artifact, &output_dir)),
                    metadata,
                },
            );
        }
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
            let mut metadata = resource
                .and_then(|r| r.get("Metadata"))
                .and_then(Value::as_mapping)
                .cloned()
                .unwrap_or_else(Mapping::new);
            metadata.remove("SamResourceId");
            metadata.insert("SamResourceId".into(), Value::String(logical_id.clone()));
            built[index].insert(
                logical_id.clone(),
                BuiltResource {
                    property: if resource_type == "AWS::Serverless::Application" {
                        "Location"
                    } else {
                        "TemplateURL"
                    },
                    path: format!("{logical_id}/template.yaml"),
                    metadata,
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
