//! `samrs local invoke | start-api | start-lambda`: the template's Rust functions run as
//! processes on this machine, without Docker. The stages are the build's (settings → template
//! → build), then: which binary runs each function (`host`), its environment (`env`), and the
//! Lambda Runtime API with warm processes (`sandbox`, `pool`) behind an invoke, an API Gateway
//! emulation (`routes`, `apigw`, `server`) or the Lambda Invoke API (`lambda_api`).

pub(crate) mod apigw;
pub(crate) mod clock;
pub(crate) mod env;
pub(crate) mod functions;
pub(crate) mod host;
mod invoke;
mod lambda_api;
pub(crate) mod logs;
pub(crate) mod pool;
pub(crate) mod routes;
pub(crate) mod sandbox;
mod server;
pub(crate) mod settings;
mod watch;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow};

use crate::cargo::{install_interrupt_handler, interrupted};
use crate::cli::LocalCommand;
use crate::error::Failure;
use crate::output::layout::function_dir;
use crate::settings::Environment;
use crate::template::{Project, ProjectOptions, SkipReason, load_project};
use crate::ui::Ui;

use env::{EnvVarsFile, Shared, function_environment, parse_env_vars};
use functions::{LocalFunction, local_functions};
use logs::Logs;
use pool::{Engine, Lifetime, Pool};
use sandbox::{LiveProcesses, ProcessSpec};
use settings::{LocalSettings, Mode, resolve_local_settings};

/// What runs a function here, or why it cannot run.
#[derive(Debug, Clone)]
pub(crate) enum Runnable {
    Yes(Program),
    No(String),
}

impl Runnable {
    /// Why the function cannot run here, if it cannot.
    pub(crate) fn unavailable(runnable: Option<&Runnable>) -> Option<String> {
        match runnable {
            Some(Runnable::No(reason)) => Some(reason.clone()),
            _ => None,
        }
    }
}

/// The executable of a function and the folder it runs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Program {
    pub(crate) path: PathBuf,
    /// `LAMBDA_TASK_ROOT` and the working folder: the function's artifact folder.
    pub(crate) task_root: PathBuf,
    /// How it was chosen, for `--debug`.
    pub(crate) how: String,
}

/// How a function's code gets to this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Code {
    /// A rust-cargolambda function with its Cargo.toml: built by the build stage.
    Build,
    /// A folder that already holds a `bootstrap` (a built template, or a prebuilt function).
    Prebuilt(PathBuf),
    NotRunnable(String),
}

/// Runs a `samrs local` command; prints its outcome.
pub(crate) fn run(command: &LocalCommand, env: &Environment, ui: &mut Ui) -> Result<(), Failure> {
    install_interrupt_handler();
    let cwd = std::env::current_dir()
        .context("Unable to read the current folder")
        .map_err(Failure::Settings)?;
    let settings = resolve_local_settings(command, env, &cwd).map_err(Failure::settings)?;
    ui.debug = settings.debug;
    ui.build_results = false;
    for notice in &settings.notices {
        ui.warn(notice);
    }
    let project =
        load_project(&ProjectOptions::from(&settings.build)).map_err(Failure::Template)?;
    let functions = local_functions(&project);
    let wanted: Vec<usize> = match &settings.mode {
        Mode::Invoke { function, .. } => {
            vec![pick_function(&functions, function.as_deref(), ui).map_err(Failure::Local)?]
        }
        _ => (0..functions.len()).collect(),
    };
    let env_vars = match &settings.env_vars_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("Unable to read {}", path.display()))
                .map_err(Failure::Local)?;
            Some(parse_env_vars(path, &text).map_err(Failure::Local)?)
        }
        None => None,
    };
    let event = match &settings.mode {
        Mode::Invoke { event, .. } => invoke::read_event(event, ui).map_err(Failure::Local)?,
        _ => bytes::Bytes::new(),
    };
    let runnables = prepare(&settings, &project, &functions, &wanted, ui)?;
    let logs = Logs::open(settings.log_file.as_deref(), settings.debug).map_err(Failure::Local)?;
    let specs = process_specs(&settings, &functions, &runnables, env_vars.as_ref(), ui);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("Unable to start the async runtime")
        .map_err(Failure::Local)?;
    let lifetime = match settings.mode {
        Mode::Invoke { .. } => Lifetime::Once,
        _ => Lifetime::Warm,
    };
    let live = LiveProcesses::default();
    let pools = specs
        .into_iter()
        .map(|spec| spec.map(|s| Arc::new(Pool::new(s, lifetime, logs.clone(), live.clone()))))
        .collect();
    let engine = Arc::new(Engine::new(pools, live));
    let session = Session {
        settings: &settings,
        project: &project,
        functions: &functions,
        runnables: &runnables,
        engine: engine.clone(),
        logs,
        env_vars: env_vars.as_ref(),
    };
    let result = runtime.block_on(async {
        let result = match &settings.mode {
            Mode::Invoke { .. } => invoke::run(&session, wanted[0], event, ui).await,
            Mode::StartApi { .. } => server::start_api(&session, ui).await,
            Mode::StartLambda { .. } => lambda_api::start_lambda(&session, ui).await,
        };
        engine.shutdown().await;
        result
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    result.map_err(Failure::Local)
}

/// What the command modules share.
pub(crate) struct Session<'a> {
    pub(crate) settings: &'a LocalSettings,
    pub(crate) project: &'a Project,
    pub(crate) functions: &'a [LocalFunction],
    pub(crate) runnables: &'a [Option<Runnable>],
    pub(crate) engine: Arc<Engine>,
    pub(crate) logs: Logs,
    pub(crate) env_vars: Option<&'a EnvVarsFile>,
}

/// Resolves once SIGINT or SIGTERM arrived.
pub(crate) async fn interrupt() {
    while !interrupted() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The function `sam local invoke` would pick for `id` (or the only one), with SAM's messages.
fn pick_function(functions: &[LocalFunction], id: Option<&str>, ui: &Ui) -> anyhow::Result<usize> {
    let options = || {
        let names: Vec<String> = functions
            .iter()
            .map(|f| format!("'{}'", f.full_path))
            .collect();
        format!("[{}]", names.join(", "))
    };
    match id {
        None => match functions.len() {
            1 => Ok(0),
            0 => Err(anyhow!("The template has no functions to invoke")),
            _ => Err(anyhow!(
                "You must provide a function logical ID when there are more than one functions in your template. Possible options in your template: {}",
                options()
            )),
        },
        Some(id) => functions
            .iter()
            .position(|f| f.full_path == id)
            .or_else(|| functions.iter().position(|f| f.answers_to(id)))
            .ok_or_else(|| {
                ui.log(&format!(
                    "{id} not found. Possible options in your template: {}",
                    options()
                ));
                anyhow!("Function {id} not found in template")
            }),
    }
}

pub(crate) fn classify(function: &LocalFunction) -> Code {
    let docker = "run it with `sam local` (Docker); samrs local runs Rust functions only";
    match &function.skip {
        Some(SkipReason::S3Code) => {
            return Code::NotRunnable(format!(
                "{}'s code is in S3, which samrs local cannot run; point CodeUri at its source folder",
                function.logical_id
            ));
        }
        Some(SkipReason::EcrImage | SkipReason::ImageWithoutBuildInfo) => {
            return Code::NotRunnable(format!(
                "{} is an image (PackageType: Image) function: {docker}",
                function.logical_id
            ));
        }
        Some(SkipReason::InlineCode) => {
            return Code::NotRunnable(format!("{} has inline code: {docker}", function.logical_id));
        }
        Some(SkipReason::Prezipped) => {
            return Code::NotRunnable(format!(
                "{}'s CodeUri is a .zip file: {docker}",
                function.logical_id
            ));
        }
        Some(SkipReason::SkipBuild) | None => {}
    }
    if !function.is_provided_runtime() {
        return Code::NotRunnable(format!(
            "{} is a {} function: {docker}",
            function.logical_id,
            function.runtime.as_deref().unwrap_or("(no Runtime)")
        ));
    }
    let dir = &function.code_dir;
    if function.rust && function.skip.is_none() && dir.join("Cargo.toml").is_file() {
        return Code::Build;
    }
    if dir.join("bootstrap").is_file() {
        return Code::Prebuilt(dir.clone());
    }
    if function.rust {
        Code::NotRunnable(format!(
            "{}: its CodeUri folder {} has neither a Cargo.toml to build nor a bootstrap to run",
            function.logical_id,
            dir.display()
        ))
    } else {
        Code::NotRunnable(format!(
            "{} has no `Metadata: BuildMethod: rust-cargolambda` and no bootstrap in {}: {docker}",
            function.logical_id,
            dir.display()
        ))
    }
}

/// Builds what is needed (every Rust function, as `samrs build --cached` does, into
/// .aws-sam/local/build) and decides the program of every wanted function.
pub(crate) fn prepare(
    settings: &LocalSettings,
    project: &Project,
    functions: &[LocalFunction],
    wanted: &[usize],
    ui: &Ui,
) -> Result<Vec<Option<Runnable>>, Failure> {
    let codes: Vec<Code> = functions.iter().map(classify).collect();
    let needs_build = wanted.iter().any(|&i| codes[i] == Code::Build);
    if needs_build {
        crate::run::build(&rust_build(settings, project, functions), ui)?;
    }
    let mut runnables = vec![None; functions.len()];
    for &i in wanted {
        let f = &functions[i];
        let runnable = match &codes[i] {
            Code::NotRunnable(reason) => Runnable::No(reason.clone()),
            Code::Build => {
                let task_root = function_dir(&settings.build.build_dir, project, f.function);
                program(f, &task_root, true, project, settings, ui)?
            }
            Code::Prebuilt(dir) => program(f, dir, false, project, settings, ui)?,
        };
        if let Runnable::Yes(p) = &runnable {
            ui.debug(&format!("{}: {}", f.logical_id, p.how));
        }
        runnables[i] = Some(runnable);
    }
    Ok(runnables)
}

/// The build settings of the functions samrs local builds: only the Rust functions (the rest
/// cannot run here, and layers are not mounted).
pub(crate) fn rust_build(
    settings: &LocalSettings,
    project: &Project,
    functions: &[LocalFunction],
) -> crate::settings::Settings {
    let mut build = settings.build.clone();
    let others = functions
        .iter()
        .filter(|f| classify(f) != Code::Build)
        .map(|f| f.logical_id.clone());
    let layers = project
        .stacks
        .iter()
        .flat_map(|s| s.layers.iter().map(|l| l.logical_id.clone()));
    for id in others.chain(layers) {
        if !build.exclude.contains(&id) {
            build.exclude.push(id);
        }
    }
    build
}

fn program(
    function: &LocalFunction,
    task_root: &Path,
    has_source: bool,
    project: &Project,
    settings: &LocalSettings,
    ui: &Ui,
) -> Result<Runnable, Failure> {
    let bootstrap = task_root.join("bootstrap");
    let shown = crate::paths::relative(&bootstrap, &settings.build.cwd);
    if host::can_run_bootstrap(function.architecture) {
        return Ok(Runnable::Yes(Program {
            path: bootstrap.clone(),
            task_root: task_root.to_path_buf(),
            how: format!(
                "runs {} (a Linux {} bootstrap; this machine, {}, runs it directly)",
                shown.display(),
                function.architecture.as_str(),
                host::host_description()
            ),
        }));
    }
    if !has_source {
        return Ok(Runnable::No(format!(
            "{}: {} is a Linux {} bootstrap, which this machine ({}) cannot run, and there is no source to build it for this machine",
            function.logical_id,
            shown.display(),
            function.architecture.as_str(),
            host::host_description()
        )));
    }
    let executable =
        host::host_build(function, project, &settings.build, ui).map_err(Failure::Local)?;
    Ok(Runnable::Yes(Program {
        how: format!(
            "runs a host build, {} (its Linux {} bootstrap cannot run on this machine, {})",
            executable.display(),
            function.architecture.as_str(),
            host::host_description()
        ),
        path: executable,
        task_root: task_root.to_path_buf(),
    }))
}

/// The process of every runnable function, with its environment.
fn process_specs(
    settings: &LocalSettings,
    functions: &[LocalFunction],
    runnables: &[Option<Runnable>],
    env_vars: Option<&EnvVarsFile>,
    ui: &Ui,
) -> Vec<Option<ProcessSpec>> {
    functions
        .iter()
        .zip(runnables)
        .map(|(f, runnable)| match runnable {
            Some(Runnable::Yes(program)) => {
                let spec = process_spec(settings, f, program, env_vars);
                for warning in &spec.1 {
                    ui.warn(warning);
                }
                Some(spec.0)
            }
            _ => None,
        })
        .collect()
}

/// One function's process description, and warnings about its environment.
pub(crate) fn process_spec(
    settings: &LocalSettings,
    function: &LocalFunction,
    program: &Program,
    env_vars: Option<&EnvVarsFile>,
) -> (ProcessSpec, Vec<String>) {
    let shared = Shared {
        region: &settings.region,
        credentials: &settings.credentials,
        host_env: &settings.host_env,
        env_vars,
    };
    let stream = log_stream_name();
    let (env, warnings) = function_environment(function, &program.task_root, &stream, &shared);
    let spec = ProcessSpec {
        logical_id: function.logical_id.clone(),
        program: program.path.clone(),
        task_root: program.task_root.clone(),
        env,
        timeout: Duration::from_secs(function.timeout_secs),
        memory_mb: function.memory_mb,
        arn: format!(
            "arn:aws:lambda:{}:123456789012:function:{}",
            settings.region,
            function.lambda_name()
        ),
    };
    (spec, warnings)
}

/// `2024/05/01/[$LATEST]<32 hex>`, the shape of a Lambda log stream name.
fn log_stream_name() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let t = clock::civil(now.as_secs());
    format!(
        "{:04}/{:02}/{:02}/[$LATEST]{}",
        t.year,
        t.month,
        t.day,
        uuid::Uuid::new_v4().simple()
    )
}
