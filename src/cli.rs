//! The command line, option for option as `sam build` has it (spec §1). Doc comments on fields
//! are the `--help` text; SAM's multi-letter short options (`-cd`, `-ef`, `-bi`, `-mw`) are
//! mapped to their long names before parsing, since clap has only one-letter shorts.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand};

use crate::suggest::close_matches;
use crate::usage::{BUILD_USAGE, UsageError};

/// samrs: build Rust (cargo-lambda) functions of a SAM project, fast.
#[derive(Debug, Parser)]
#[command(name = "samrs", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Build the project's rust-cargolambda functions into .aws-sam/build, as `sam build` does.
    Build(BuildArgs),
    /// Run the template's Rust functions on this machine, without Docker (as `sam local`).
    #[command(subcommand)]
    Local(LocalCommand),
}

/// The `samrs local` commands.
#[derive(Debug, Subcommand)]
pub(crate) enum LocalCommand {
    /// Build and invoke one function once, print its logs on stderr and its response on stdout.
    Invoke(InvokeArgs),
    /// Serve the template's Api and HttpApi events on a local HTTP server.
    StartApi(StartApiArgs),
    /// Serve the Lambda Invoke API, for tests that call the functions through an AWS SDK.
    StartLambda(StartLambdaArgs),
}

impl LocalCommand {
    /// The usage line above its usage errors (SAM's layout).
    pub(crate) fn usage(&self) -> &'static str {
        match self {
            LocalCommand::Invoke(_) => "Usage: samrs local invoke [OPTIONS] [FUNCTION_IDENTIFIER]",
            LocalCommand::StartApi(_) => "Usage: samrs local start-api [OPTIONS]",
            LocalCommand::StartLambda(_) => "Usage: samrs local start-lambda [OPTIONS]",
        }
    }

    /// The options every `samrs local` command has.
    pub(crate) fn common(&self) -> &LocalArgs {
        match self {
            LocalCommand::Invoke(a) => &a.local,
            LocalCommand::StartApi(a) => &a.local,
            LocalCommand::StartLambda(a) => &a.local,
        }
    }
}

/// The options of `samrs local invoke` (those of `sam local invoke` that apply without Docker).
#[derive(Debug, Clone, Default, Args)]
#[command(override_usage = "samrs local invoke [OPTIONS] [FUNCTION_IDENTIFIER]")]
pub(crate) struct InvokeArgs {
    /// The function to invoke: logical id, Stack/Id, FunctionName or ARN; may be omitted when the template has one function.
    #[arg(value_name = "FUNCTION_IDENTIFIER")]
    pub(crate) function_identifier: Option<String>,

    /// The event file to pass to the function ('-' reads stdin) [default: {}].
    #[arg(short = 'e', long, value_name = "PATH")]
    pub(crate) event: Option<PathBuf>,

    /// Invoke with an empty event ({}); the default.
    #[arg(long, hide_short_help = true)]
    pub(crate) no_event: bool,

    #[command(flatten)]
    pub(crate) local: LocalArgs,
}

/// The options of `samrs local start-api`.
#[derive(Debug, Clone, Default, Args)]
#[command(override_usage = "samrs local start-api [OPTIONS]")]
pub(crate) struct StartApiArgs {
    /// The local address to bind to [default: 127.0.0.1].
    #[arg(long, value_name = "TEXT")]
    pub(crate) host: Option<String>,

    /// The port to listen on (0 picks a free one) [default: 3000].
    #[arg(short = 'p', long, value_name = "INTEGER")]
    pub(crate) port: Option<u16>,

    /// Rebuild when a function's source changes; the next request runs the new code.
    #[arg(long, overrides_with = "no_watch")]
    pub(crate) watch: bool,
    /// Do not rebuild on changes (the default).
    #[arg(long, overrides_with = "watch", hide_short_help = true)]
    pub(crate) no_watch: bool,

    /// EAGER starts one process per function at start-up; LAZY (the default) on the first request.
    #[arg(long, value_name = "EAGER|LAZY", value_parser = parse_warm_containers)]
    pub(crate) warm_containers: Option<String>,

    /// Ignored: static files are not served by samrs.
    #[arg(short = 's', long, value_name = "DIRECTORY", hide_short_help = true)]
    pub(crate) static_dir: Option<PathBuf>,
    /// Ignored: samrs runs no authorizers.
    #[arg(long, hide_short_help = true)]
    pub(crate) disable_authorizer: bool,
    /// Refused: samrs serves plain HTTP only.
    #[arg(long, value_name = "PATH", hide_short_help = true)]
    pub(crate) ssl_cert_file: Option<PathBuf>,
    /// Refused: samrs serves plain HTTP only.
    #[arg(long, value_name = "PATH", hide_short_help = true)]
    pub(crate) ssl_key_file: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) local: LocalArgs,
}

/// The options of `samrs local start-lambda`.
#[derive(Debug, Clone, Default, Args)]
#[command(override_usage = "samrs local start-lambda [OPTIONS]")]
pub(crate) struct StartLambdaArgs {
    /// The local address to bind to [default: 127.0.0.1].
    #[arg(long, value_name = "TEXT")]
    pub(crate) host: Option<String>,

    /// The port to listen on (0 picks a free one) [default: 3001].
    #[arg(short = 'p', long, value_name = "INTEGER")]
    pub(crate) port: Option<u16>,

    /// EAGER starts one process per function at start-up; LAZY (the default) on the first invoke.
    #[arg(long, value_name = "EAGER|LAZY", value_parser = parse_warm_containers)]
    pub(crate) warm_containers: Option<String>,

    #[command(flatten)]
    pub(crate) local: LocalArgs,
}

/// Options shared by the `samrs local` commands.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct LocalArgs {
    /// The AWS SAM template file [default: template.[yaml|yml|json], else .aws-sam/build/template.yaml; env: SAM_TEMPLATE_FILE].
    #[arg(
        short = 't',
        long = "template-file",
        visible_alias = "template",
        value_name = "PATH"
    )]
    pub(crate) template_file: Option<PathBuf>,

    /// Template parameter values: 'Key=Value Key2=Value2', 'ParameterKey=K,ParameterValue=V' or file://params.yaml.
    #[arg(long, num_args = 1.., action = ArgAction::Append, value_name = "VALUES")]
    pub(crate) parameter_overrides: Vec<String>,

    /// Environment variables for the functions: JSON ({"Parameters": {...}, "FunctionId": {...}}) or a .env file.
    #[arg(short = 'n', long, value_name = "PATH")]
    pub(crate) env_vars: Option<PathBuf>,

    /// Write the functions' logs (and invoke's response) to this file instead of the terminal.
    #[arg(short = 'l', long, value_name = "PATH")]
    pub(crate) log_file: Option<PathBuf>,

    /// AWS region for the functions (AWS_REGION) and the AWS::Region pseudo-parameter.
    #[arg(long, value_name = "REGION")]
    pub(crate) region: Option<String>,
    /// AWS credentials profile (accepted; the functions get the AWS_* credential variables of this shell).
    #[arg(long, value_name = "PROFILE")]
    pub(crate) profile: Option<String>,

    /// Configuration file [default: samconfig.toml].
    #[arg(long, value_name = "PATH")]
    pub(crate) config_file: Option<PathBuf>,
    /// Environment in the configuration file [default: default].
    #[arg(long, value_name = "TEXT")]
    pub(crate) config_env: Option<String>,

    /// Show debug logs: which binary runs and why, the Runtime API traffic, the build's cargo commands.
    #[arg(long, env = "SAM_DEBUG")]
    pub(crate) debug: bool,

    #[command(flatten)]
    pub(crate) docker: DockerArgs,
}

/// `sam local` options that only mean something for Docker containers: accepted and ignored,
/// except the debugger ones, which are refused.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct DockerArgs {
    /// Container only (ignored).
    #[arg(short = 'v', long, value_name = "TEXT", hide_short_help = true)]
    pub(crate) docker_volume_basedir: Option<String>,
    /// Container only (ignored).
    #[arg(
        long,
        env = "SAM_DOCKER_NETWORK",
        value_name = "TEXT",
        hide_short_help = true
    )]
    pub(crate) docker_network: Option<String>,
    /// Container only (ignored).
    #[arg(long, value_name = "PATH", hide_short_help = true)]
    pub(crate) container_env_vars: Option<PathBuf>,
    /// Container only (ignored).
    #[arg(long, env = "SAM_SKIP_PULL_IMAGE", hide_short_help = true)]
    pub(crate) skip_pull_image: bool,
    /// Container only (ignored).
    #[arg(long, hide_short_help = true)]
    pub(crate) force_image_build: bool,
    /// Container only (ignored).
    #[arg(long, hide_short_help = true)]
    pub(crate) no_memory_limit: bool,
    /// Container only (ignored).
    #[arg(long, hide_short_help = true)]
    pub(crate) shutdown: bool,
    /// Container only (ignored).
    #[arg(long, value_name = "TEXT", hide_short_help = true)]
    pub(crate) container_host: Option<String>,
    /// Container only (ignored).
    #[arg(long, value_name = "TEXT", hide_short_help = true)]
    pub(crate) container_host_interface: Option<String>,
    /// Container only (ignored).
    #[arg(long, action = ArgAction::Append, value_name = "TEXT", hide_short_help = true)]
    pub(crate) add_host: Vec<String>,
    /// Container only (ignored).
    #[arg(long, action = ArgAction::Append, value_name = "TEXT", hide_short_help = true)]
    pub(crate) invoke_image: Vec<String>,
    /// Container only (ignored).
    #[arg(long, overrides_with = "no_mount_symlinks", hide_short_help = true)]
    pub(crate) mount_symlinks: bool,
    /// Container only (ignored).
    #[arg(long, overrides_with = "mount_symlinks", hide_short_help = true)]
    pub(crate) no_mount_symlinks: bool,
    /// Container only (ignored).
    #[arg(long, value_name = "DIRECTORY", hide_short_help = true)]
    pub(crate) layer_cache_basedir: Option<PathBuf>,
    /// Refused: attach a debugger to the function's process instead (see --debug for its path).
    #[arg(
        short = 'd',
        long,
        value_name = "PORT",
        env = "SAM_DEBUG_PORT",
        hide_short_help = true
    )]
    pub(crate) debug_port: Vec<String>,
    /// Refused (needs --debug-port).
    #[arg(long, value_name = "PATH", hide_short_help = true)]
    pub(crate) debugger_path: Option<PathBuf>,
    /// Refused (needs --debug-port).
    #[arg(
        long,
        value_name = "TEXT",
        env = "DEBUGGER_ARGS",
        hide_short_help = true
    )]
    pub(crate) debug_args: Option<String>,
}

fn parse_warm_containers(value: &str) -> Result<String, String> {
    match value.to_ascii_uppercase().as_str() {
        v @ ("EAGER" | "LAZY") => Ok(v.to_string()),
        _ => Err(format!("'{value}' is not one of 'EAGER', 'LAZY'.")),
    }
}

/// The options of `samrs build` (the same as `sam build`).
#[derive(Debug, Clone, Default, Args)]
#[command(override_usage = "samrs build [OPTIONS] [RESOURCE_LOGICAL_ID]")]
pub(crate) struct BuildArgs {
    /// Build only this function or layer (its logical id, or Stack/Function in a nested stack).
    #[arg(value_name = "RESOURCE_LOGICAL_ID")]
    pub resource_logical_id: Option<String>,

    /// The AWS SAM template file [default: template.[yaml|yml|json]; env: SAM_TEMPLATE_FILE].
    #[arg(
        short = 't',
        long = "template-file",
        visible_alias = "template",
        value_name = "PATH"
    )]
    pub template_file: Option<PathBuf>,

    /// Template parameter values: 'Key=Value Key2=Value2', 'ParameterKey=K,ParameterValue=V' or file://params.yaml.
    #[arg(long, num_args = 1.., action = ArgAction::Append, value_name = "VALUES", allow_hyphen_values = false)]
    pub parameter_overrides: Vec<String>,

    /// Where the built artifacts go [default: .aws-sam/build]; replaced by each build.
    #[arg(short = 'b', long, value_name = "DIRECTORY")]
    pub build_dir: Option<PathBuf>,

    /// Where --cached keeps artifacts [default: .aws-sam/cache]. Short form: -cd.
    #[arg(long, value_name = "DIRECTORY")]
    pub cache_dir: Option<PathBuf>,

    /// Resolve relative CodeUri paths against this folder instead of the template's folder.
    #[arg(short = 's', long, value_name = "DIRECTORY")]
    pub base_dir: Option<PathBuf>,

    /// Reuse artifacts of an earlier build when nothing that decides them changed.
    #[arg(short = 'c', long, overrides_with = "no_cached")]
    pub cached: bool,
    /// Do not use the build cache.
    #[arg(long, overrides_with = "cached", hide_short_help = true)]
    pub no_cached: bool,

    /// Share --cached artifacts between checkouts and machines: s3://bucket/prefix or a folder (samrs's own).
    #[arg(long, value_name = "URL", overrides_with = "no_remote_cache")]
    pub remote_cache: Option<String>,
    /// Do not use a remote cache (overrides remote_cache in samconfig).
    #[arg(long, overrides_with = "remote_cache", hide_short_help = true)]
    pub no_remote_cache: bool,

    /// Byte-identical bootstraps whatever the checkout folder, user, HOME or CARGO_HOME (samrs's own).
    #[arg(long, overrides_with = "no_reproducible")]
    pub reproducible: bool,
    /// Build without path remapping (the default).
    #[arg(long, overrides_with = "reproducible", hide_short_help = true)]
    pub no_reproducible: bool,

    /// Build independent groups at the same time.
    #[arg(short = 'p', long)]
    pub parallel: bool,

    /// After the build, keep watching the sources, manifests, template and config, and rebuild
    /// what changed (press Ctrl-C to stop).
    #[arg(short = 'w', long, overrides_with = "no_watch")]
    pub watch: bool,
    /// Build once and exit (the default).
    #[arg(long, overrides_with = "watch", hide_short_help = true)]
    pub no_watch: bool,

    /// Do not build this resource (repeatable).
    #[arg(short = 'x', long, action = ArgAction::Append, value_name = "RESOURCE")]
    pub exclude: Vec<String>,

    /// Ignored: Rust functions have no dependency manifest other than Cargo.toml.
    #[arg(short = 'm', long, value_name = "PATH")]
    pub manifest: Option<PathBuf>,

    /// Ignored: Rust functions always build in their source folder.
    #[arg(long, overrides_with = "no_build_in_source")]
    pub build_in_source: bool,
    /// Ignored (see --build-in-source).
    #[arg(long, overrides_with = "build_in_source", hide_short_help = true)]
    pub no_build_in_source: bool,

    /// Refused: samrs builds natively with cargo-lambda and zig, no container needed.
    #[arg(short = 'u', long, overrides_with = "no_use_container")]
    pub use_container: bool,
    /// Build without a container (the only way samrs builds).
    #[arg(long, overrides_with = "use_container", hide_short_help = true)]
    pub no_use_container: bool,

    /// Container only (refused). Short form: -e.
    #[arg(short = 'e', long, action = ArgAction::Append, value_name = "VALUE")]
    pub container_env_var: Vec<String>,
    /// Container only (refused). Short form: -ef.
    #[arg(long, value_name = "PATH")]
    pub container_env_var_file: Option<PathBuf>,
    /// Container only (refused). Short form: -bi.
    #[arg(long, action = ArgAction::Append, value_name = "IMAGE")]
    pub build_image: Vec<String>,
    /// Container only (refused). Short form: -mw.
    #[arg(long, value_name = "READ|WRITE", value_parser = parse_mount_with)]
    pub mount_with: Option<String>,
    /// Container only (ignored).
    #[arg(long, overrides_with = "no_mount_symlinks", hide_short_help = true)]
    pub mount_symlinks: bool,
    /// Container only (ignored).
    #[arg(long, overrides_with = "mount_symlinks", hide_short_help = true)]
    pub no_mount_symlinks: bool,
    /// Image builds only (ignored).
    #[arg(long, overrides_with = "no_use_buildkit", hide_short_help = true)]
    pub use_buildkit: bool,
    /// Image builds only (ignored).
    #[arg(long, overrides_with = "use_buildkit", hide_short_help = true)]
    pub no_use_buildkit: bool,
    /// Container only (ignored).
    #[arg(long, env = "SAM_SKIP_PULL_IMAGE", hide_short_help = true)]
    pub skip_pull_image: bool,
    /// Container only (ignored).
    #[arg(
        long,
        env = "SAM_DOCKER_NETWORK",
        value_name = "NETWORK",
        hide_short_help = true
    )]
    pub docker_network: Option<String>,

    /// AWS region, used for the AWS::Region pseudo-parameter.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// AWS credentials profile (accepted; a local build needs no credentials).
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<String>,

    /// Result format on stdout: text or json.
    #[arg(long, value_name = "text|json", value_parser = parse_output)]
    pub output: Option<String>,

    /// Expand Fn::ForEach (not supported by samrs; refused when used).
    #[arg(
        long,
        overrides_with = "no_language_extensions",
        env = "SAM_CLI_ENABLE_LANGUAGE_EXTENSIONS",
        hide_short_help = true
    )]
    pub language_extensions: bool,
    /// Do not expand Fn::ForEach.
    #[arg(long, overrides_with = "language_extensions", hide_short_help = true)]
    pub no_language_extensions: bool,

    /// Terraform hook (refused: samrs builds SAM templates only).
    #[arg(long, value_name = "NAME")]
    pub hook_name: Option<String>,
    /// Terraform hook option (refused).
    #[arg(long, overrides_with = "prepare_infra", hide_short_help = true)]
    pub skip_prepare_infra: bool,
    /// Terraform hook option (refused).
    #[arg(long, overrides_with = "skip_prepare_infra", hide_short_help = true)]
    pub prepare_infra: bool,
    /// Terraform hook option (refused).
    #[arg(long, value_name = "PATH", hide_short_help = true)]
    pub terraform_project_root_path: Option<PathBuf>,

    /// Configuration file [default: samconfig.toml].
    #[arg(long, value_name = "PATH")]
    pub config_file: Option<PathBuf>,
    /// Environment in the configuration file [default: default].
    #[arg(long, value_name = "TEXT")]
    pub config_env: Option<String>,
    /// Save the options given on the command line to the configuration file.
    #[arg(long)]
    pub save_params: bool,

    /// Turn on beta features (samrs's own: Rust layers).
    #[arg(long, overrides_with = "no_beta_features")]
    pub beta_features: bool,
    /// Turn off beta features.
    #[arg(long, overrides_with = "beta_features")]
    pub no_beta_features: bool,

    /// Show debug logs, the exact cargo commands and cargo's full output.
    #[arg(long, env = "SAM_DEBUG")]
    pub debug: bool,
}

fn parse_mount_with(value: &str) -> Result<String, String> {
    match value.to_ascii_uppercase().as_str() {
        v @ ("READ" | "WRITE") => Ok(v.to_string()),
        _ => Err(format!("'{value}' is not one of 'READ', 'WRITE'.")),
    }
}

fn parse_output(value: &str) -> Result<String, String> {
    match value.to_ascii_lowercase().as_str() {
        v @ ("text" | "json") => Ok(v.to_string()),
        _ => Err(format!("'{value}' is not one of 'text', 'json'.")),
    }
}

/// What the command line asks for.
#[derive(Debug)]
pub(crate) enum Parsed {
    /// Run this command.
    Run(Box<Command>),
    /// The help or the version was printed: nothing else to do.
    Shown,
    /// No command was given: the help was printed, and the run fails as a usage error.
    MissingCommand,
    /// A mistake to report as SAM reports its usage errors.
    Invalid(UsageError),
}

/// Parses the arguments (the program name first); prints the help or version when asked.
pub(crate) fn parse(args: impl IntoIterator<Item = OsString>) -> Parsed {
    let args: Vec<OsString> = args.into_iter().collect();
    let last = args.last().and_then(|a| a.to_str()).map(str::to_string);
    let error = match Cli::try_parse_from(normalize_args(args)) {
        Ok(cli) => return Parsed::Run(Box::new(cli.command)),
        Err(error) => error,
    };
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            Parsed::Shown
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            Parsed::MissingCommand
        }
        _ => Parsed::Invalid(usage_from_clap(&error, last.as_deref())),
    }
}

/// SAM's short options of more than one letter, and the long options they stand for.
const MULTI_LETTER_SHORTS: [(&str, &str); 4] = [
    ("-cd", "--cache-dir"),
    ("-ef", "--container-env-var-file"),
    ("-bi", "--build-image"),
    ("-mw", "--mount-with"),
];

/// Maps SAM's multi-letter short options to their long names (`-cd x` → `--cache-dir x`).
pub(crate) fn normalize_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    args.into_iter()
        .map(|arg| {
            let long = MULTI_LETTER_SHORTS
                .iter()
                .find(|(short, _)| arg.to_str() == Some(*short))
                .map(|(_, long)| *long);
            long.map(OsString::from).unwrap_or(arg)
        })
        .collect()
}

/// A clap parse error in SAM's words (click's), with its "Did you mean" suggestions. `last` is
/// the last argument as typed, the option that lacks a value if one does.
fn usage_from_clap(error: &clap::Error, last: Option<&str>) -> UsageError {
    let context = |kind| match error.get(kind) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => String::new(),
    };
    let usage = match error.get(ContextKind::Usage) {
        Some(ContextValue::StyledStr(usage)) => usage.to_string(),
        _ => BUILD_USAGE.to_string(),
    };
    let arg = context(ContextKind::InvalidArg);
    // clap names an option with its value placeholder (`--output <text|json>`).
    let option = arg.split_whitespace().next().unwrap_or_default();
    let message = match error.kind() {
        ErrorKind::InvalidSubcommand => {
            let command = context(ContextKind::InvalidSubcommand);
            match error.get(ContextKind::SuggestedSubcommand) {
                Some(ContextValue::Strings(names)) if !names.is_empty() => format!(
                    "No such command '{command}'. Did you mean '{}'?",
                    names.join("' or '")
                ),
                _ => format!(
                    "No such command '{command}'. samrs has: {} (for the other commands, use sam {command})",
                    command_names(&usage).join(", ")
                ),
            }
        }
        ErrorKind::UnknownArgument if arg.starts_with("--") => {
            let name = arg.split('=').next().unwrap_or_default();
            let options = long_options(&usage);
            let mut close = close_matches(name, options.iter().map(String::as_str), 3, 0.6);
            close.sort_unstable();
            match close.as_slice() {
                [] => format!("No such option: {name}"),
                [one] => format!("No such option: {name} Did you mean {one}?"),
                many => format!(
                    "No such option: {name} (Possible options: {})",
                    many.join(", ")
                ),
            }
        }
        ErrorKind::UnknownArgument if arg.starts_with('-') => format!("No such option: {arg}"),
        ErrorKind::UnknownArgument => format!("Got unexpected extra argument ({arg})"),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let value = context(ContextKind::InvalidValue);
            match std::error::Error::source(error) {
                // Our value parsers phrase it as SAM does: "'yaml' is not one of 'text', 'json'."
                Some(reason) => format!("Invalid value for '{option}': {reason}"),
                // clap's "a value is required … but none was supplied".
                None if value.is_empty() => format!(
                    "Option '{}' requires an argument.",
                    as_written(option, &usage, last)
                ),
                None => format!("Invalid value for '{option}': '{value}' is not valid."),
            }
        }
        ErrorKind::NoEquals | ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues => {
            format!(
                "Option '{}' requires an argument.",
                as_written(option, &usage, last)
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
        usage: Some(usage),
    }
}

/// The clap command a usage line belongs to (`Usage: samrs build …` → the build command).
fn command_of(usage: &str) -> clap::Command {
    let mut command = Cli::command();
    command.build();
    let path: Vec<&str> = usage
        .trim_start_matches("Usage:")
        .split_whitespace()
        .skip(1)
        .take_while(|word| !word.starts_with(['[', '<']))
        .collect();
    for name in path {
        match command.find_subcommand(name) {
            Some(sub) => command = sub.clone(),
            None => break,
        }
    }
    command
}

/// `option` as the user wrote it when it is the last argument (`-t` for `--template-file`),
/// since SAM names the option that way.
fn as_written(option: &str, usage: &str, last: Option<&str>) -> String {
    let command = command_of(usage);
    let Some(arg) = command.get_arguments().find(|a| {
        a.get_long()
            .is_some_and(|long| option == format!("--{long}"))
    }) else {
        return option.to_string();
    };
    let mut names: Vec<String> = arg
        .get_short()
        .map(|s| format!("-{s}"))
        .into_iter()
        .collect();
    names.extend(
        arg.get_all_aliases()
            .unwrap_or_default()
            .into_iter()
            .map(|alias| format!("--{alias}")),
    );
    names.extend(
        MULTI_LETTER_SHORTS
            .iter()
            .filter(|(_, long)| *long == option)
            .map(|(short, _)| short.to_string()),
    );
    match last {
        Some(last) if names.iter().any(|n| n == last) => last.to_string(),
        _ => option.to_string(),
    }
}

/// Every long option of the command (with SAM's multi-letter shorts, which click counts as
/// long), the list SAM picks its suggestions from.
fn long_options(usage: &str) -> Vec<String> {
    let command = command_of(usage);
    let mut names: Vec<String> = command
        .get_arguments()
        .flat_map(|arg| {
            arg.get_long()
                .into_iter()
                .chain(arg.get_all_aliases().unwrap_or_default())
                .map(|long| format!("--{long}"))
        })
        .collect();
    for (short, long) in MULTI_LETTER_SHORTS {
        if names.iter().any(|n| n == long) {
            names.push(short.to_string());
        }
    }
    names
}

/// The subcommands of the command a usage line belongs to.
fn command_names(usage: &str) -> Vec<String> {
    command_of(usage)
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .filter(|name| name != "help")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<BuildArgs, clap::Error> {
        let argv = normalize_args(
            ["samrs", "build"]
                .iter()
                .chain(args.iter())
                .map(OsString::from),
        );
        Cli::try_parse_from(argv).map(|cli| match cli.command {
            Command::Build(b) => b,
            Command::Local(_) => panic!("not a build"),
        })
    }

    #[test]
    fn short_bundles_and_multi_letter_shorts() {
        let args = parse(&["-pc", "-cd", "cache", "-x", "A", "-x", "B"]).expect("parses");
        assert!(args.parallel && args.cached);
        assert_eq!(args.cache_dir, Some(PathBuf::from("cache")));
        assert_eq!(args.exclude, ["A", "B"]);
    }

    #[test]
    fn parameter_overrides_are_greedy() {
        let args =
            parse(&["F", "--parameter-overrides", "A=1", "B=2", "-b", "out"]).expect("parses");
        assert_eq!(args.parameter_overrides, ["A=1", "B=2"]);
        assert_eq!(args.resource_logical_id.as_deref(), Some("F"));
        let greedy = parse(&["--parameter-overrides", "A=1", "F"]).expect("parses");
        assert_eq!(greedy.parameter_overrides, ["A=1", "F"]);
        assert_eq!(greedy.resource_logical_id, None);
    }

    #[test]
    fn last_of_a_boolean_pair_wins() {
        let args = parse(&["--cached", "--no-cached"]).expect("parses");
        assert!(!args.cached && args.no_cached);
        let args = parse(&["--no-cached", "-c"]).expect("parses");
        assert!(args.cached && !args.no_cached);
    }

    #[test]
    fn remote_cache_and_reproducible() {
        let args = parse(&["-c", "--remote-cache", "s3://b/p", "--reproducible"]).expect("parses");
        assert_eq!(args.remote_cache.as_deref(), Some("s3://b/p"));
        assert!(args.reproducible && !args.no_remote_cache);
        let args = parse(&["--remote-cache", "x", "--no-remote-cache"]).expect("parses");
        assert!(args.no_remote_cache && args.remote_cache.is_none());
    }

    #[test]
    fn a_second_positional_is_refused() {
        assert!(parse(&["A", "B"]).is_err());
    }

    #[test]
    fn template_alias_and_choices() {
        let args = parse(&[
            "--template",
            "t.yaml",
            "--mount-with",
            "write",
            "--output",
            "JSON",
        ])
        .expect("parses");
        assert_eq!(args.template_file, Some(PathBuf::from("t.yaml")));
        assert_eq!(args.mount_with.as_deref(), Some("WRITE"));
        assert_eq!(args.output.as_deref(), Some("json"));
        assert!(parse(&["--mount-with", "x"]).is_err());
    }

    fn usage_of(args: &[&str]) -> UsageError {
        let argv = normalize_args(["samrs"].iter().chain(args.iter()).map(OsString::from));
        usage_from_clap(
            &Cli::try_parse_from(argv).expect_err("a usage error"),
            args.last().copied(),
        )
    }

    /// Texts from SAM 1.170.0 (`sam build --cachd` …), with `sam` read as `samrs`.
    #[test]
    fn unknown_options_get_sams_suggestions() {
        let cases = [
            (
                "--cachd",
                "No such option: --cachd (Possible options: --cache-dir, --cached, --no-cached)",
            ),
            ("--mw", "No such option: --mw Did you mean -mw?"),
            (
                "--paralel=1",
                "No such option: --paralel (Possible options: --parallel, --profile)",
            ),
            ("--help2", "No such option: --help2 Did you mean --help?"),
            ("--frobnicate", "No such option: --frobnicate"),
            ("-z", "No such option: -z"),
        ];
        for (arg, message) in cases {
            let error = usage_of(&["build", arg]);
            assert_eq!(error.message, message);
            assert_eq!(
                error.header().as_deref(),
                Some(
                    "Usage: samrs build [OPTIONS] [RESOURCE_LOGICAL_ID]\nTry 'samrs build -h' for help."
                )
            );
        }
    }

    #[test]
    fn bad_choices_are_listed_and_missing_values_named() {
        assert_eq!(
            usage_of(&["build", "--output", "yaml"]).message,
            "Invalid value for '--output': 'yaml' is not one of 'text', 'json'."
        );
        assert_eq!(
            usage_of(&["build", "-t"]).message,
            "Option '-t' requires an argument."
        );
        assert_eq!(
            usage_of(&["build", "-cd"]).message,
            "Option '-cd' requires an argument."
        );
        assert_eq!(
            usage_of(&["build", "--region"]).message,
            "Option '--region' requires an argument."
        );
    }

    #[test]
    fn a_misspelt_command_gets_the_right_one_and_the_top_usage() {
        let error = usage_of(&["biuld", "--cached"]);
        assert_eq!(
            error.message,
            "No such command 'biuld'. Did you mean 'build'?"
        );
        assert_eq!(
            error.header().as_deref(),
            Some("Usage: samrs <COMMAND>\nTry 'samrs -h' for help.")
        );
        assert_eq!(
            usage_of(&["deploy"]).message,
            "No such command 'deploy'. samrs has: build, local (for the other commands, use sam deploy)"
        );
    }
}
