//! What a `samrs local` command was asked to do: its flags, samconfig
//! (`[env.local_invoke.parameters]`, `local_start_api`, `local_start_lambda` over `build` over
//! `global`) and the environment, resolved once, with the `Settings` of the build it runs.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::cli::{BuildArgs, DockerArgs, LocalArgs, LocalCommand, StartApiArgs};
use crate::settings::{ConfigValues, Environment, Settings, resolve_settings_from};
use crate::usage::UsageError;

/// Where the event of `samrs local invoke` comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EventSource {
    /// No `-e`: the event is `{}`.
    Empty,
    /// `-e -`.
    Stdin,
    File(PathBuf),
}

/// What the command serves or runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    Invoke {
        function: Option<String>,
        event: EventSource,
    },
    StartApi {
        host: IpAddr,
        port: u16,
        watch: bool,
        eager: bool,
    },
    StartLambda {
        host: IpAddr,
        port: u16,
        eager: bool,
    },
}

/// Credentials handed to the functions, from this shell's environment (never from files).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Credentials {
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` as set here.
    pub(crate) keys: Vec<(String, String)>,
    /// `--profile` or `AWS_PROFILE` with `HOME` and the AWS config file variables, so the
    /// function's SDK reads that profile itself.
    pub(crate) profile: Vec<(String, String)>,
}

/// Everything a `samrs local` command needs to know about what the user asked for.
#[derive(Debug, Clone)]
pub(crate) struct LocalSettings {
    /// The build that runs first (template, parameter overrides and region are the local ones).
    pub(crate) build: Settings,
    pub(crate) mode: Mode,
    /// `--region`, samconfig `region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, else `us-east-1`.
    pub(crate) region: String,
    pub(crate) env_vars_file: Option<PathBuf>,
    pub(crate) log_file: Option<PathBuf>,
    pub(crate) debug: bool,
    pub(crate) credentials: Credentials,
    /// Variables of this shell that a function's declared variable of the same name takes
    /// (SAM's rule), looked up by name.
    pub(crate) host_env: Environment,
    /// Lines for the log: options accepted but ignored.
    pub(crate) notices: Vec<String>,
}

impl LocalSettings {
    /// The samconfig command section: `local_invoke`, `local_start_api`, `local_start_lambda`.
    pub(crate) fn section(command: &LocalCommand) -> &'static str {
        match command {
            LocalCommand::Invoke(_) => "local_invoke",
            LocalCommand::StartApi(_) => "local_start_api",
            LocalCommand::StartLambda(_) => "local_start_lambda",
        }
    }
}

/// A usage error; `resolve_local_settings` puts the command's usage line above it.
fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError {
        message: message.into(),
        usage: Some(String::new()),
    })
}

/// Merges the command line, samconfig and the environment for `command`. Usage errors carry
/// the command's usage line (also those of the build settings underneath).
pub(crate) fn resolve_local_settings(
    command: &LocalCommand,
    env: &Environment,
    cwd: &Path,
) -> Result<LocalSettings> {
    resolve(command, env, cwd).map_err(|error| match error.downcast::<UsageError>() {
        Ok(mut usage) => {
            if usage.usage.is_some() {
                usage.usage = Some(command.usage().to_string());
            }
            anyhow::Error::new(usage)
        }
        Err(error) => error,
    })
}

fn resolve(command: &LocalCommand, env: &Environment, cwd: &Path) -> Result<LocalSettings> {
    let common = command.common();
    let mut notices = Vec::new();
    check_docker_options(&common.docker, &mut notices)?;
    let sections = ["global", "build", LocalSettings::section(command)];
    let (mut build, config) = resolve_settings_from(&build_args(common), env, cwd, &sections)?;
    if common.template_file.is_none() {
        use_built_template(&mut build, cwd);
    }
    build_in_local_folder(&mut build, cwd);
    let region = local_region(build.region.as_deref(), env);
    build.region = Some(region.clone());
    let path_option = |flag: Option<&PathBuf>, key: &str| -> Result<Option<PathBuf>> {
        let path = config.path_or(flag, key)?;
        Ok(path.map(|p| crate::paths::absolute(&p, cwd)))
    };
    let env_vars_file = path_option(common.env_vars.as_ref(), "env_vars")?;
    if let Some(file) = &env_vars_file {
        must_exist(file, "'-n' / '--env-vars'")?;
    }
    let log_file = path_option(common.log_file.as_ref(), "log_file")?;
    let mode = match command {
        LocalCommand::Invoke(args) => Mode::Invoke {
            function: args.function_identifier.clone(),
            event: event_source(args.event.as_deref(), &config, cwd)?,
        },
        LocalCommand::StartApi(args) => start_api_mode(args, &config, &mut notices)?,
        LocalCommand::StartLambda(args) => Mode::StartLambda {
            host: host_option(args.host.as_deref(), &config)?,
            port: port_option(args.port, &config, 3001)?,
            eager: warm_option(args.warm_containers.as_deref(), &config)?,
        },
    };
    Ok(LocalSettings {
        debug: build.debug,
        build,
        mode,
        region,
        env_vars_file,
        log_file,
        credentials: credentials(env, common),
        host_env: env.clone(),
        notices,
    })
}

/// The build options a local command shares with `samrs build`.
fn build_args(common: &LocalArgs) -> BuildArgs {
    BuildArgs {
        template_file: common.template_file.clone(),
        parameter_overrides: common.parameter_overrides.clone(),
        region: common.region.clone(),
        profile: common.profile.clone(),
        config_file: common.config_file.clone(),
        config_env: common.config_env.clone(),
        debug: common.debug,
        ..BuildArgs::default()
    }
}

/// Without a template in the cwd, `.aws-sam/build/template.yaml` of an earlier build is the
/// template (as SAM's local commands read it).
fn use_built_template(build: &mut Settings, cwd: &Path) {
    let built = build.build_dir.join("template.yaml");
    if !build.template_file.is_file()
        && built.is_file()
        && is_default_template(&build.template_file, cwd)
    {
        build.template_file = built;
    }
}

/// The build for local runs has a folder and cache of its own, so it never replaces the
/// .aws-sam/build that `sam deploy` reads, and `--cached` makes an unchanged project start
/// no cargo at all.
fn build_in_local_folder(build: &mut Settings, cwd: &Path) {
    let local_dir = cwd.join(".aws-sam").join("local");
    build.build_dir = local_dir.join("build");
    build.build_dir_shown = ".aws-sam/local/build".into();
    build.build_dir_given = ".aws-sam/local/build".into();
    build.cache_dir = local_dir.join("cache");
    build.cached = true;
    build.resource_id = None;
    build.save_params = false;
}

/// `--region` or samconfig's, else `AWS_REGION`, else `AWS_DEFAULT_REGION`, else us-east-1.
fn local_region(given: Option<&str>, env: &Environment) -> String {
    given
        .or_else(|| env.get("AWS_REGION"))
        .or_else(|| env.get("AWS_DEFAULT_REGION"))
        .filter(|r| !r.is_empty())
        .unwrap_or("us-east-1")
        .to_string()
}

/// A usage error naming `option` unless `file` is a file.
fn must_exist(file: &Path, option: &str) -> Result<()> {
    if file.is_file() {
        return Ok(());
    }
    Err(usage(format!(
        "Invalid value for {option}: File '{}' does not exist.",
        file.display()
    )))
}

/// `-e` (else samconfig's `event`): `-` for stdin, else a file that must exist.
fn event_source(flag: Option<&Path>, config: &ConfigValues, cwd: &Path) -> Result<EventSource> {
    let given = match flag {
        Some(path) => Some(path.to_path_buf()),
        None => config.string("event")?.map(PathBuf::from),
    };
    let event = match given {
        None => EventSource::Empty,
        Some(path) if path == Path::new("-") => EventSource::Stdin,
        Some(path) => EventSource::File(crate::paths::absolute(&path, cwd)),
    };
    if let EventSource::File(file) = &event {
        must_exist(file, "'--event' / '-e'")?;
    }
    Ok(event)
}

/// `start-api`'s address, watch and warm-up choice; TLS is refused, `--static-dir` ignored.
fn start_api_mode(
    args: &StartApiArgs,
    config: &ConfigValues,
    notices: &mut Vec<String>,
) -> Result<Mode> {
    if args.ssl_cert_file.is_some() || args.ssl_key_file.is_some() {
        bail!(
            "--ssl-cert-file/--ssl-key-file are not supported: samrs serves plain HTTP; put a TLS proxy in front of it if you need HTTPS"
        );
    }
    if args.static_dir.is_some() {
        notices.push("--static-dir is ignored: samrs does not serve static files".into());
    }
    let watch = config.switch(args.watch, args.no_watch, "watch")?;
    Ok(Mode::StartApi {
        host: host_option(args.host.as_deref(), config)?,
        port: port_option(args.port, config, 3000)?,
        watch,
        eager: warm_option(args.warm_containers.as_deref(), config)?,
    })
}

fn is_default_template(template: &Path, cwd: &Path) -> bool {
    ["template.yaml", "template.yml", "template.json"]
        .iter()
        .any(|name| template == cwd.join(name))
}

fn host_option(flag: Option<&str>, config: &ConfigValues) -> Result<IpAddr> {
    let text = match flag {
        Some(h) => h.to_string(),
        None => config.string("host")?.unwrap_or_else(|| "127.0.0.1".into()),
    };
    let text = if text == "localhost" {
        "127.0.0.1".to_string()
    } else {
        text
    };
    text.parse().map_err(|_| {
        usage(format!(
            "Invalid value for '--host': '{text}' is not an IP address (for example 127.0.0.1 or 0.0.0.0)."
        ))
    })
}

fn port_option(flag: Option<u16>, config: &ConfigValues, default: u16) -> Result<u16> {
    if let Some(port) = flag {
        return Ok(port);
    }
    match config.string("port")? {
        None => Ok(default),
        Some(text) => text.parse().map_err(|_| {
            usage(format!(
                "Invalid value for '-p' / '--port': '{text}' is not a valid integer."
            ))
        }),
    }
}

fn warm_option(flag: Option<&str>, config: &ConfigValues) -> Result<bool> {
    let value = match flag {
        Some(v) => Some(v.to_string()),
        None => config.string("warm_containers")?,
    };
    Ok(value.is_some_and(|v| v.eq_ignore_ascii_case("EAGER")))
}

fn credentials(env: &Environment, common: &LocalArgs) -> Credentials {
    let pick = |names: &[&str]| -> Vec<(String, String)> {
        names
            .iter()
            .filter_map(|n| {
                env.get(n)
                    .filter(|v| !v.is_empty())
                    .map(|v| (n.to_string(), v.to_string()))
            })
            .collect()
    };
    let keys = pick(&[
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ]);
    let mut profile = Vec::new();
    let named = common
        .profile
        .clone()
        .or_else(|| env.get("AWS_PROFILE").map(str::to_string));
    if let Some(name) = named.filter(|n| !n.is_empty()) {
        profile.push(("AWS_PROFILE".to_string(), name));
        profile.extend(pick(&[
            "HOME",
            "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE",
        ]));
    }
    Credentials { keys, profile }
}

/// Docker-only options are ignored (noted in the log); the debugger ones are refused.
fn check_docker_options(docker: &DockerArgs, notices: &mut Vec<String>) -> Result<()> {
    if !docker.debug_port.is_empty() {
        bail!(
            "--debug-port is not supported: samrs runs each function as a process on this machine, so attach a debugger to that process instead (--debug prints the command it runs)"
        );
    }
    if docker.debugger_path.is_some() || docker.debug_args.is_some() {
        return Err(usage(
            "--debugger-path and --debug-args need --debug-port, which samrs does not support",
        ));
    }
    let ignored = [
        (
            docker.docker_volume_basedir.is_some(),
            "--docker-volume-basedir",
        ),
        (docker.docker_network.is_some(), "--docker-network"),
        (docker.container_env_vars.is_some(), "--container-env-vars"),
        (docker.force_image_build, "--force-image-build"),
        (docker.no_memory_limit, "--no-memory-limit"),
        (docker.shutdown, "--shutdown"),
        (docker.container_host.is_some(), "--container-host"),
        (
            docker.container_host_interface.is_some(),
            "--container-host-interface",
        ),
        (!docker.add_host.is_empty(), "--add-host"),
        (!docker.invoke_image.is_empty(), "--invoke-image"),
        (
            docker.layer_cache_basedir.is_some(),
            "--layer-cache-basedir",
        ),
    ];
    let named: Vec<&str> = ignored
        .iter()
        .filter(|(given, _)| *given)
        .map(|(_, n)| *n)
        .collect();
    if !named.is_empty() {
        notices.push(format!(
            "Ignoring {}: samrs runs functions as processes on this machine, without Docker",
            named.join(", ")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{InvokeArgs, StartApiArgs};

    fn project(config: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("template.yaml"), "Resources: {}\n").expect("write");
        std::fs::write(dir.path().join("samconfig.toml"), config).expect("write");
        dir
    }

    #[test]
    fn the_local_section_wins_over_build_and_global() {
        let dir = project(
            "version = 0.1\n[default.global.parameters]\nregion = \"eu-west-1\"\n[default.build.parameters]\nparameter_overrides = \"Stage=build\"\ncached = true\n[default.local_invoke.parameters]\nparameter_overrides = \"Stage=local\"\n[default.local_start_api.parameters]\nport = 4000\nwarm_containers = \"EAGER\"\n",
        );
        let invoke = LocalCommand::Invoke(InvokeArgs::default());
        let s = resolve_local_settings(&invoke, &Environment::default(), dir.path()).expect("ok");
        assert_eq!(
            s.build.parameter_overrides.get("Stage").map(String::as_str),
            Some("local")
        );
        assert!(s.build.cached, "local builds are cached");
        assert_eq!(s.build.build_dir, dir.path().join(".aws-sam/local/build"));
        assert_eq!(s.region, "eu-west-1");
        assert_eq!(
            s.mode,
            Mode::Invoke {
                function: None,
                event: EventSource::Empty
            }
        );

        let api = LocalCommand::StartApi(StartApiArgs::default());
        let s = resolve_local_settings(&api, &Environment::default(), dir.path()).expect("ok");
        assert_eq!(
            s.build.parameter_overrides.get("Stage").map(String::as_str),
            Some("build"),
            "local_invoke does not apply to start-api"
        );
        assert!(matches!(
            s.mode,
            Mode::StartApi {
                port: 4000,
                eager: true,
                watch: false,
                ..
            }
        ));
    }

    #[test]
    fn region_falls_back_to_the_environment_then_us_east_1() {
        let dir = project("version = 0.1\n");
        let invoke = LocalCommand::Invoke(InvokeArgs::default());
        let env = Environment::from_pairs(&[("AWS_DEFAULT_REGION", "ap-south-1")]);
        let s = resolve_local_settings(&invoke, &env, dir.path()).expect("ok");
        assert_eq!(s.region, "ap-south-1");
        assert_eq!(s.build.region.as_deref(), Some("ap-south-1"));
        let s = resolve_local_settings(&invoke, &Environment::default(), dir.path()).expect("ok");
        assert_eq!(s.region, "us-east-1");
    }

    #[test]
    fn a_missing_env_vars_file_is_a_usage_error() {
        let dir = project("version = 0.1\n");
        let mut args = InvokeArgs::default();
        args.local.env_vars = Some("nope.json".into());
        let err = resolve_local_settings(
            &LocalCommand::Invoke(args),
            &Environment::default(),
            dir.path(),
        )
        .expect_err("missing");
        assert!(err.downcast_ref::<UsageError>().is_some(), "{err}");
    }

    #[test]
    fn the_built_template_is_used_when_there_is_no_source_template() {
        let dir = tempfile::tempdir().expect("tmp");
        let built = dir.path().join(".aws-sam/build");
        std::fs::create_dir_all(&built).expect("mkdir");
        std::fs::write(built.join("template.yaml"), "Resources: {}\n").expect("write");
        let s = resolve_local_settings(
            &LocalCommand::Invoke(InvokeArgs::default()),
            &Environment::default(),
            dir.path(),
        )
        .expect("ok");
        assert_eq!(s.build.template_file, built.join("template.yaml"));
    }
}
