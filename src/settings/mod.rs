//! Flags, `samconfig.toml`/`.yaml` and environment variables merged once, in SAM's order
//! (command line > environment fallback > `[env.build.parameters]` > `[env.global.parameters]`
//! > default), into one `Settings`. Nothing later re-reads a flag or the environment.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use indexmap::IndexMap;
use serde_yaml::{Mapping, Value};

mod environment;
mod overrides;
mod remote_cache;

pub(crate) use environment::Environment;
pub(crate) use remote_cache::RemoteLocation;

use crate::cli::BuildArgs;
use crate::paths;
use crate::plan::Profile;
use crate::store;
use crate::template::ProjectOptions;
use crate::template::intrinsics::scalar_text;
use crate::template::load::from_toml;
use crate::ui::OutputFormat;
use crate::usage::UsageError;
use overrides::parse_parameter_overrides_with_files;

fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError::build(message))
}

/// SAM prints only the `Error:` line for some option conflicts.
fn bare_usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError {
        message: message.into(),
        usage: None,
    })
}

/// Everything a build needs to know about what the user asked for.
#[derive(Debug, Clone)]
pub struct Settings {
    pub cwd: PathBuf,
    pub template_file: PathBuf,
    /// When no template was named and the cwd has none: the nearest one in a folder above it,
    /// for the "not found" message.
    pub template_above: Option<PathBuf>,
    pub build_dir: PathBuf,
    /// The build dir as the user sees it (relative to the cwd when inside it).
    pub build_dir_shown: String,
    /// The build dir as the user wrote it (for error messages).
    pub build_dir_given: String,
    pub cache_dir: PathBuf,
    pub base_dir: Option<PathBuf>,
    pub resource_id: Option<String>,
    pub exclude: Vec<String>,
    pub parameter_overrides: IndexMap<String, String>,
    /// The `file://` parameter files (and their `$include`s) the overrides were read from.
    pub parameter_files: Vec<PathBuf>,
    pub region: Option<String>,
    pub cached: bool,
    pub parallel: bool,
    /// `--watch`: rebuild on every change until interrupted.
    pub watch: bool,
    pub debug: bool,
    pub profile: Profile,
    pub output: OutputFormat,
    pub build_in_source: bool,
    /// `Some(true)` to turn beta features on, `Some(false)` to turn them off.
    pub beta_features: Option<bool>,
    /// Whether `--beta-features`/`beta_features = true` asked for SAM's experimental notice.
    pub beta_notice: bool,
    /// `SAM_CLI_BETA_FEATURES=1` or `SAM_CLI_BETA_RUST_CARGO_LAMBDA=1` (only the value 1 counts).
    pub beta_from_env: bool,
    /// Messages about the configuration for the log.
    pub notices: Vec<String>,
    /// Options given on the command line, for `--save-params`.
    pub save_params: bool,
    pub config_file: Option<PathBuf>,
    /// Where a new config file goes: the template's folder with `-t`, else the cwd.
    pub config_dir: PathBuf,
    pub config_env: String,
    /// Variables handed to cargo (`RUST_LOG` under `--debug`).
    pub rust_log_debug: bool,
    /// Options that matter only to the resources handed to `sam build`.
    pub passthrough: SamPassThrough,
    /// The environment as samrs started in it; later stages read variables only from here.
    pub env: Environment,
    /// `--reproducible`: remap paths and fix timestamps so bootstraps do not depend on where
    /// or by whom they were built.
    pub reproducible: bool,
    /// `--remote-cache`: where `--cached` shares artifacts beyond this folder.
    pub remote_cache: Option<RemoteLocation>,
}

impl Settings {
    /// Finds a program on the PATH samrs started with, as a child started by name would.
    pub fn find_program(&self, name: &str) -> Option<PathBuf> {
        which::which_in(name, self.env.get("PATH"), &self.cwd).ok()
    }
}

/// Options samrs passes on to `sam build` for the resources it hands over (Rust functions
/// always build natively with cargo-lambda and zig). Container options from samconfig reach
/// sam through the same config file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SamPassThrough {
    pub profile: Option<String>,
    pub manifest: Option<PathBuf>,
    /// `--build-in-source`/`--no-build-in-source`; unset when neither was given.
    pub build_in_source: Option<bool>,
    pub use_container: bool,
    pub container_env_vars: Vec<String>,
    pub container_env_var_file: Option<PathBuf>,
    pub build_images: Vec<String>,
    pub mount_with: Option<String>,
    pub mount_symlinks: Option<bool>,
    pub use_buildkit: Option<bool>,
    pub skip_pull_image: bool,
    pub docker_network: Option<String>,
}

impl From<&Settings> for ProjectOptions {
    fn from(settings: &Settings) -> ProjectOptions {
        ProjectOptions {
            template_file: settings.template_file.clone(),
            base_dir: settings.base_dir.clone(),
            parameter_overrides: settings.parameter_overrides.clone(),
            region: settings.region.clone(),
            template_above: settings.template_above.clone(),
        }
    }
}

/// The merged `[env.<section>.parameters]` values of a config file (`build` over `global` for a build).
#[derive(Debug, Clone, Default)]
pub(crate) struct ConfigValues {
    pub file: Option<PathBuf>,
    pub values: Mapping,
}

impl ConfigValues {
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }

    pub(crate) fn string(&self, key: &str) -> Result<Option<String>> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(self.type_error(key, "a string", other)),
        }
    }

    pub(crate) fn boolean(&self, key: &str) -> Result<Option<bool>> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "y" | "on" => Ok(Some(true)),
                "false" | "0" | "no" | "n" | "off" => Ok(Some(false)),
                _ => Err(self.type_error(key, "true or false", &Value::String(s.clone()))),
            },
            Some(other) => Err(self.type_error(key, "true or false", other)),
        }
    }

    fn list(&self, key: &str) -> Result<Option<Vec<String>>> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
            Some(Value::Sequence(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(self.type_error(key, "a list of strings", other)),
                })
                .collect::<Result<Vec<_>>>()
                .map(Some),
            Some(other) => Err(self.type_error(key, "a string or a list of strings", other)),
        }
    }

    /// The flag's value when given, else the config's `key`.
    pub(crate) fn string_or(&self, flag: Option<&String>, key: &str) -> Result<Option<String>> {
        match flag {
            Some(value) => Ok(Some(value.clone())),
            None => self.string(key),
        }
    }

    /// A path option: the flag's value when given, else the config's `key`.
    pub(crate) fn path_or(&self, flag: Option<&PathBuf>, key: &str) -> Result<Option<PathBuf>> {
        match flag {
            Some(path) => Ok(Some(path.clone())),
            None => Ok(self.string(key)?.map(PathBuf::from)),
        }
    }

    /// A `--x`/`--no-x` pair: whichever was given, else the config's `key`.
    pub(crate) fn flag(&self, on: bool, off: bool, key: &str) -> Result<Option<bool>> {
        if on {
            Ok(Some(true))
        } else if off {
            Ok(Some(false))
        } else {
            self.boolean(key)
        }
    }

    /// [`flag`](Self::flag), off when neither the command line nor the config sets it.
    pub(crate) fn switch(&self, on: bool, off: bool, key: &str) -> Result<bool> {
        Ok(self.flag(on, off, key)?.unwrap_or(false))
    }

    /// The config file as messages name it.
    fn name(&self) -> String {
        self.file
            .as_deref()
            .map_or_else(|| "samconfig".to_string(), |f| f.display().to_string())
    }

    fn type_error(&self, key: &str, wanted: &str, found: &Value) -> anyhow::Error {
        anyhow!(
            "{}: '{key}' must be {wanted} (found {})",
            self.name(),
            crate::template::kind_of(found)
        )
    }
}

/// The samconfig sections `samrs build` reads, lowest precedence first.
pub(crate) const BUILD_SECTIONS: &[&str] = &["global", "build"];

/// Merges the command line, the environment and the config file into `Settings`.
pub(crate) fn resolve_settings(
    args: &BuildArgs,
    env: &Environment,
    cwd: &Path,
) -> Result<Settings> {
    resolve_settings_from(args, env, cwd, BUILD_SECTIONS).map(|(settings, _)| settings)
}

/// `resolve_settings` reading the samconfig `[env.<section>.parameters]` tables of `sections`
/// (later ones win); also returns the merged config values for a command's own keys.
///
/// Each option is read in SAM's order, so the first bad value in samconfig is the one reported.
pub(crate) fn resolve_settings_from(
    args: &BuildArgs,
    env: &Environment,
    cwd: &Path,
    sections: &[&str],
) -> Result<(Settings, ConfigValues)> {
    check_refused_options(args)?;
    let config_dir = config_dir_of(args.template_file.as_deref(), cwd);
    let config_env = args.config_env.clone().unwrap_or_else(|| "default".into());
    let mut notices = Vec::new();
    let config = load_config(
        &config_dir,
        args.config_file.as_deref(),
        &config_env,
        sections,
        &mut notices,
    )?;
    let (template_file, template_above) = template_location(args, env, &config, cwd)?;
    let folders = Folders::resolve(args, &config, cwd)?;
    let cached = config.switch(args.cached, args.no_cached, "cached")?;
    let reproducible = config.switch(args.reproducible, args.no_reproducible, "reproducible")?;
    let remote_cache = remote_cache_of(args, &config, cwd)?;
    if remote_cache.is_some() && !cached && args.remote_cache.is_some() {
        notices.push(REMOTE_CACHE_WITHOUT_CACHED.to_string());
    }
    let parallel = config.switch(args.parallel, false, "parallel")?;
    let watch = config.switch(args.watch, args.no_watch, "watch")?;
    let debug = config.switch(args.debug, false, "debug")?;
    let build_in_source = config.flag(
        args.build_in_source,
        args.no_build_in_source,
        "build_in_source",
    )?;
    let passthrough = pass_through(args, &config, build_in_source, cwd)?;
    let exclude = match args.exclude.as_slice() {
        [] => config.list("exclude")?.unwrap_or_default(),
        given => given.to_vec(),
    };
    let region = config.string_or(args.region.as_ref(), "region")?;
    let (parameter_overrides, parameter_files) = parameter_overrides_of(args, &config, cwd)?;
    let profile = build_mode(env.get("SAM_BUILD_MODE"))?;
    let output = output_format(config.string_or(args.output.as_ref(), "output")?.as_deref());
    let beta = BetaChoice::of(args, config.boolean("beta_features")?);

    let settings = Settings {
        cwd: cwd.to_path_buf(),
        template_file,
        template_above,
        build_dir: folders.build_dir,
        build_dir_shown: folders.build_dir_shown,
        build_dir_given: folders.build_dir_given,
        cache_dir: folders.cache_dir,
        base_dir: folders.base_dir,
        resource_id: args.resource_logical_id.clone(),
        exclude,
        parameter_overrides,
        parameter_files,
        region,
        cached,
        parallel,
        watch,
        debug,
        profile,
        output,
        build_in_source: build_in_source.unwrap_or(false),
        beta_features: beta.features,
        beta_notice: beta.notice,
        beta_from_env: env.get("SAM_CLI_BETA_FEATURES") == Some("1")
            || env.get("SAM_CLI_BETA_RUST_CARGO_LAMBDA") == Some("1"),
        notices,
        save_params: args.save_params,
        config_file: config.file.clone(),
        config_dir,
        config_env,
        rust_log_debug: debug && env.get("RUST_LOG").is_none_or(str::is_empty),
        passthrough,
        env: env.clone(),
        reproducible,
        remote_cache,
    };
    Ok((settings, config))
}

const REMOTE_CACHE_WITHOUT_CACHED: &str = "--remote-cache is used together with --cached: without --cached (or cached = true in samconfig.toml) nothing is read from or written to it";

/// Where the config file is looked for: the template's folder with `-t`, else the cwd.
fn config_dir_of(template_from_cli: Option<&Path>, cwd: &Path) -> PathBuf {
    template_from_cli
        .and_then(|t| paths::absolute(t, cwd).parent().map(Path::to_path_buf))
        .unwrap_or_else(|| cwd.to_path_buf())
}

/// The template to read (`-t`, `SAM_TEMPLATE_FILE`, samconfig, else the one in the cwd) and,
/// when none was named and the cwd has none, the nearest one in a folder above.
fn template_location(
    args: &BuildArgs,
    env: &Environment,
    config: &ConfigValues,
    cwd: &Path,
) -> Result<(PathBuf, Option<PathBuf>)> {
    let named = match args
        .template_file
        .clone()
        .or_else(|| env.non_empty("SAM_TEMPLATE_FILE").map(PathBuf::from))
    {
        Some(path) => Some(path),
        None => match config.string("template_file")? {
            Some(path) => Some(PathBuf::from(path)),
            None => config.string("template")?.map(PathBuf::from),
        },
    };
    Ok(match named {
        Some(path) => (paths::absolute(&path, cwd), None),
        None => (default_template(cwd), template_above(cwd)),
    })
}

/// The folders of a build, absolute, from the flags or samconfig.
#[derive(Debug)]
struct Folders {
    build_dir: PathBuf,
    build_dir_shown: String,
    build_dir_given: String,
    cache_dir: PathBuf,
    base_dir: Option<PathBuf>,
}

impl Folders {
    fn resolve(args: &BuildArgs, config: &ConfigValues, cwd: &Path) -> Result<Folders> {
        let build_dir_given = config
            .path_or(args.build_dir.as_ref(), "build_dir")?
            .unwrap_or_else(|| PathBuf::from(".aws-sam/build"));
        let build_dir = paths::absolute(&build_dir_given, cwd);
        let cache_dir = config
            .path_or(args.cache_dir.as_ref(), "cache_dir")?
            .unwrap_or_else(|| PathBuf::from(".aws-sam/cache"));
        let base_dir = config.path_or(args.base_dir.as_ref(), "base_dir")?;
        Ok(Folders {
            build_dir_shown: paths::to_template_string(&paths::relative(&build_dir, cwd)),
            build_dir,
            build_dir_given: paths::to_template_string(&build_dir_given),
            cache_dir: paths::absolute(&cache_dir, cwd),
            base_dir: base_dir.map(|b| paths::absolute(&b, cwd)),
        })
    }
}

/// `--remote-cache` (unless `--no-remote-cache`), else samconfig's `remote_cache`.
fn remote_cache_of(
    args: &BuildArgs,
    config: &ConfigValues,
    cwd: &Path,
) -> Result<Option<RemoteLocation>> {
    if args.no_remote_cache {
        return Ok(None);
    }
    let Some(text) = config.string_or(args.remote_cache.as_ref(), "remote_cache")? else {
        return Ok(None);
    };
    RemoteLocation::parse(text.trim(), cwd)
        .map(Some)
        .map_err(|e| {
            let origin = match args.remote_cache {
                Some(_) => "'--remote-cache'".to_string(),
                None => format!("'remote_cache' in {}", config.name()),
            };
            usage(format!("Invalid value for {origin}: {e}"))
        })
}

/// The options passed on to `sam build` for the resources it builds.
fn pass_through(
    args: &BuildArgs,
    config: &ConfigValues,
    build_in_source: Option<bool>,
    cwd: &Path,
) -> Result<SamPassThrough> {
    Ok(SamPassThrough {
        profile: config.string_or(args.profile.as_ref(), "profile")?,
        manifest: config
            .path_or(args.manifest.as_ref(), "manifest")?
            .map(|m| paths::absolute(&m, cwd)),
        build_in_source,
        use_container: config.switch(args.use_container, args.no_use_container, "use_container")?,
        container_env_vars: args.container_env_var.clone(),
        container_env_var_file: args
            .container_env_var_file
            .as_ref()
            .map(|f| paths::absolute(f, cwd)),
        build_images: args.build_image.clone(),
        mount_with: args.mount_with.clone(),
        mount_symlinks: (args.mount_symlinks || args.no_mount_symlinks)
            .then_some(args.mount_symlinks),
        use_buildkit: (args.use_buildkit || args.no_use_buildkit).then_some(args.use_buildkit),
        skip_pull_image: args.skip_pull_image,
        docker_network: args.docker_network.clone(),
    })
}

/// `--parameter-overrides` (else samconfig's) as name → value, with the files they were read from.
fn parameter_overrides_of(
    args: &BuildArgs,
    config: &ConfigValues,
    cwd: &Path,
) -> Result<(IndexMap<String, String>, Vec<PathBuf>)> {
    let items = if args.parameter_overrides.is_empty() {
        config_parameter_overrides(config)?
    } else {
        args.parameter_overrides.clone()
    };
    parse_parameter_overrides_with_files(&items, cwd)
        .map_err(|e| usage(format!("Invalid value for '--parameter-overrides': {e}")))
}

/// `SAM_BUILD_MODE`: unset or empty for release, `debug` for debug.
fn build_mode(mode: Option<&str>) -> Result<Profile> {
    match mode {
        None | Some("") => Ok(Profile::Release),
        Some(m) if m.eq_ignore_ascii_case("debug") => Ok(Profile::Debug),
        Some(other) => Err(usage(format!(
            "Invalid value for 'mode': invalid choice: {other}. (choose from ['debug'])"
        ))),
    }
}

/// `--output json` (any case) for JSON lines; anything else is text.
fn output_format(output: Option<&str>) -> OutputFormat {
    match output {
        Some(o) if o.eq_ignore_ascii_case("json") => OutputFormat::Json,
        _ => OutputFormat::Text,
    }
}

/// What `--beta-features`/`--no-beta-features` and samconfig's `beta_features` decide.
#[derive(Debug, PartialEq, Eq)]
struct BetaChoice {
    /// `Some(true)` to turn beta features on, `Some(false)` to turn them off.
    features: Option<bool>,
    /// Whether SAM's experimental notice is due.
    notice: bool,
}

impl BetaChoice {
    fn of(args: &BuildArgs, config: Option<bool>) -> BetaChoice {
        let features = if args.beta_features {
            Some(true)
        } else if args.no_beta_features {
            Some(false)
        } else {
            config
        };
        BetaChoice {
            features,
            notice: args.beta_features || (!args.no_beta_features && config == Some(true)),
        }
    }
}

/// `--save-params`: writes the options given on the command line into
/// `[<env>.build.parameters]` of the config file (created if missing) and the region into
/// `[<env>.global.parameters]`, as SAM does, in one atomic write. Returns the line to log.
pub(crate) fn save_params(args: &BuildArgs, settings: &Settings) -> Result<String> {
    let path = settings
        .config_file
        .clone()
        .unwrap_or_else(|| settings.config_dir.join("samconfig.toml"));
    if path.extension().and_then(|e| e.to_str()) != Some("toml") {
        bail!(
            "--save-params writes TOML config files only; {} is not one",
            path.display()
        );
    }
    let mut document = read_toml_document(&path)?;
    let saved = saved_params(args, &settings.parameter_overrides);
    let region = settings.region.as_deref().unwrap_or("us-east-1");
    let env = settings.config_env.as_str();
    let shown = put_saved_params(&mut document, &path, env, saved, region)?;
    store::write_atomically(&path, document.to_string())?;
    Ok(format!(
        "Saved parameters to config file '{}' under environment '{env}': {{{}}}",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        shown.join(", ")
    ))
}

/// The config file as an editable TOML document (empty when it does not exist yet), with a
/// `version`.
fn read_toml_document(path: &Path) -> Result<toml_edit::DocumentMut> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("Unable to read {}", path.display())),
    };
    let mut document: toml_edit::DocumentMut = text
        .parse()
        .with_context(|| format!("Unable to parse {}", path.display()))?;
    if !document.contains_key("version") {
        document.insert("version", toml_edit::value(0.1));
    }
    Ok(document)
}

/// One option `--save-params` writes: its samconfig key, its TOML value and how SAM's log line
/// shows it (Python's repr).
#[derive(Debug)]
struct SavedParam {
    key: &'static str,
    item: toml_edit::Item,
    shown: String,
}

impl SavedParam {
    fn text(key: &'static str, value: &str) -> SavedParam {
        SavedParam {
            key,
            item: toml_edit::value(value),
            shown: format!("'{value}'"),
        }
    }

    fn path(key: &'static str, value: &Path) -> SavedParam {
        SavedParam::text(key, &value.to_string_lossy())
    }
}

/// The options given on the command line, in SAM's order (`parameter_overrides` as parsed).
fn saved_params(
    args: &BuildArgs,
    parameter_overrides: &IndexMap<String, String>,
) -> Vec<SavedParam> {
    let mut saved = Vec::new();
    if let Some(t) = &args.template_file {
        saved.push(SavedParam::path("template_file", t));
    }
    if !args.parameter_overrides.is_empty() {
        let mut table = toml_edit::Table::new();
        let mut shown = Vec::new();
        for (k, v) in parameter_overrides {
            table.insert(k, toml_edit::value(v.as_str()));
            shown.push(format!("'{k}': '{v}'"));
        }
        saved.push(SavedParam {
            key: "parameter_overrides",
            item: toml_edit::Item::Table(table),
            shown: format!("{{{}}}", shown.join(", ")),
        });
    }
    let folders = [
        ("build_dir", &args.build_dir),
        ("cache_dir", &args.cache_dir),
        ("base_dir", &args.base_dir),
        ("manifest", &args.manifest),
    ];
    for (key, value) in folders {
        if let Some(v) = value {
            saved.push(SavedParam::path(key, v));
        }
    }
    let flags = [
        ("cached", args.cached, args.no_cached),
        ("parallel", args.parallel, false),
        ("watch", args.watch, args.no_watch),
        (
            "build_in_source",
            args.build_in_source,
            args.no_build_in_source,
        ),
        ("debug", args.debug, false),
        ("beta_features", args.beta_features, args.no_beta_features),
        ("reproducible", args.reproducible, args.no_reproducible),
    ];
    for (key, on, off) in flags {
        if on || off {
            let shown = if on { "True" } else { "False" };
            saved.push(SavedParam {
                key,
                item: toml_edit::value(on),
                shown: shown.to_string(),
            });
        }
    }
    if !args.exclude.is_empty() {
        saved.push(SavedParam {
            key: "exclude",
            item: toml_edit::value(
                args.exclude
                    .iter()
                    .map(String::as_str)
                    .collect::<toml_edit::Array>(),
            ),
            shown: python_tuple(&args.exclude),
        });
    }
    if let Some(p) = &args.profile {
        saved.push(SavedParam::text("profile", p));
    }
    if let Some(url) = &args.remote_cache {
        saved.push(SavedParam::text("remote_cache", url));
    }
    saved
}

/// Python's repr of a tuple of strings: `('a',)`, `('a', 'b')`.
fn python_tuple(items: &[String]) -> String {
    let shown: Vec<String> = items.iter().map(|x| format!("'{x}'")).collect();
    match shown.as_slice() {
        [one] => format!("({one},)"),
        _ => format!("({})", shown.join(", ")),
    }
}

/// Puts `saved` into `[<env>.build.parameters]` and the region into
/// `[<env>.global.parameters]`, creating the tables; returns the `'key': value` texts to log.
fn put_saved_params(
    document: &mut toml_edit::DocumentMut,
    file: &Path,
    env: &str,
    saved: Vec<SavedParam>,
    region: &str,
) -> Result<Vec<String>> {
    let mut shown = Vec::new();
    let build = parameters_table(document, file, env, "build")?;
    for param in saved {
        shown.push(format!("'{}': {}", param.key, param.shown));
        build.insert(param.key, param.item);
    }
    parameters_table(document, file, env, "global")?.insert("region", toml_edit::value(region));
    shown.push(format!("'region': '{region}'"));
    Ok(shown)
}

/// `[<env>.<command>.parameters]` of `document`, created (with implicit parents) when missing.
fn parameters_table<'a>(
    document: &'a mut toml_edit::DocumentMut,
    file: &Path,
    env: &str,
    command: &str,
) -> Result<&'a mut dyn toml_edit::TableLike> {
    let not_a_table = |name: String| anyhow!("{}: [{name}] is not a table", file.display());
    let env_table = document
        .entry(env)
        .or_insert(toml_edit::Item::Table(toml_edit::Table::new()))
        .as_table_mut()
        .ok_or_else(|| not_a_table(env.to_string()))?;
    env_table.set_implicit(true);
    let command_table = env_table
        .entry(command)
        .or_insert(toml_edit::Item::Table(toml_edit::Table::new()))
        .as_table_mut()
        .ok_or_else(|| not_a_table(format!("{env}.{command}")))?;
    command_table.set_implicit(true);
    command_table
        .entry("parameters")
        .or_insert(toml_edit::Item::Table(toml_edit::Table::new()))
        .as_table_like_mut()
        .ok_or_else(|| not_a_table(format!("{env}.{command}.parameters")))
}

const TEMPLATE_NAMES: [&str; 3] = ["template.yaml", "template.yml", "template.json"];

fn default_template(cwd: &Path) -> PathBuf {
    find_template(cwd).unwrap_or_else(|| cwd.join("template.yml"))
}

fn find_template(dir: &Path) -> Option<PathBuf> {
    TEMPLATE_NAMES
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
}

/// The nearest template in a folder above `cwd` when `cwd` has none (run from a subfolder).
fn template_above(cwd: &Path) -> Option<PathBuf> {
    if find_template(cwd).is_some() {
        return None;
    }
    cwd.ancestors().skip(1).find_map(find_template)
}

/// Options that need a container or a hook: refused as SAM refuses them without one.
fn check_refused_options(args: &BuildArgs) -> Result<()> {
    if args.build_in_source && args.use_container {
        return Err(bare_usage(
            "You must not provide both the --build-in-source and --use-container parameters.",
        ));
    }
    if !args.use_container {
        let container_only = [
            (!args.container_env_var.is_empty(), "--container-env-var"),
            (
                args.container_env_var_file.is_some(),
                "--container-env-var-file",
            ),
            (!args.build_image.is_empty(), "--build-image"),
            (args.mount_with.is_some(), "--mount-with"),
        ];
        if let Some((_, name)) = container_only.iter().find(|(given, _)| *given) {
            return Err(bare_usage(format!(
                "Missing required parameter, need the --use-container flag in order to use {name} flag."
            )));
        }
    }
    if let Some(hook) = &args.hook_name {
        if hook != "terraform" {
            return Err(usage(format!(
                "Invalid value: {hook} is not a valid hook name.\nvalid package ids: ['terraform']"
            )));
        }
        bail!(
            "--hook-name terraform is not supported by samrs: it builds SAM templates only; use sam build for Terraform projects"
        );
    }
    if args.skip_prepare_infra || args.prepare_infra || args.terraform_project_root_path.is_some() {
        return Err(usage("Missing option --hook-name"));
    }
    Ok(())
}

fn config_parameter_overrides(config: &ConfigValues) -> Result<Vec<String>> {
    Ok(match config.get("parameter_overrides") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Sequence(_)) => config.list("parameter_overrides")?.unwrap_or_default(),
        Some(Value::Mapping(m)) => m
            .iter()
            .map(|(k, v)| {
                let key = k.as_str().unwrap_or_default();
                let value = match v {
                    Value::Sequence(items) => items
                        .iter()
                        .map(|item| scalar_text(item).unwrap_or_default())
                        .collect::<Vec<_>>()
                        .join(","),
                    other => scalar_text(other).unwrap_or_default(),
                };
                format!("{key}={}", quote_override(&value))
            })
            .collect(),
        Some(other) => {
            return Err(config.type_error(
                "parameter_overrides",
                "a string, a list or a table",
                other,
            ));
        }
    })
}

fn quote_override(value: &str) -> String {
    if value.contains(char::is_whitespace) || value.contains('"') {
        format!("\"{}\"", value.replace('"', "\\\""))
    } else {
        value.to_string()
    }
}

/// Finds and reads the config file, returning the parameters of `sections` in `env_name`
/// merged (later sections win).
fn load_config(
    config_dir: &Path,
    config_file: Option<&Path>,
    env_name: &str,
    sections: &[&str],
    notices: &mut Vec<String>,
) -> Result<ConfigValues> {
    let file = match config_file {
        Some(f) if f != Path::new("samconfig.toml") => {
            let path = if f.is_absolute() {
                f.to_path_buf()
            } else {
                config_dir.join(f)
            };
            if !path.is_file() {
                bail!(
                    "Config file {} does not exist or could not be read!",
                    f.display()
                );
            }
            Some(path)
        }
        _ => {
            let found: Vec<PathBuf> = ["samconfig.toml", "samconfig.yaml", "samconfig.yml"]
                .iter()
                .map(|n| config_dir.join(n))
                .filter(|p| p.is_file())
                .collect();
            if found.len() > 1 {
                notices.push(format!(
                    "More than one samconfig file found; using {}. To use another config file, please specify it using the '--config-file' flag.",
                    found[0].file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
                ));
            }
            found.into_iter().next()
        }
    };
    let Some(file) = file else {
        return Ok(ConfigValues::default());
    };
    let document = read_config_document(&file)?;
    let version_ok = matches!(document.get("version"), Some(Value::Number(n)) if n.is_f64() || n.is_i64() || n.is_u64());
    if !version_ok {
        bail!(
            "'version' key is not present or is in unrecognized format. Add `version = 0.1` at the top of {}",
            file.display()
        );
    }
    let section = |command: &str| -> Mapping {
        document
            .get(env_name)
            .and_then(|e| e.get(command))
            .and_then(|c| c.get("parameters"))
            .and_then(Value::as_mapping)
            .cloned()
            .unwrap_or_default()
    };
    let mut values = Mapping::new();
    for name in sections {
        for (k, v) in section(name) {
            values.insert(k, v);
        }
    }
    Ok(ConfigValues {
        file: Some(file),
        values,
    })
}

fn read_config_document(file: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(file).with_context(|| {
        format!(
            "Config file {} does not exist or could not be read!",
            file.display()
        )
    })?;
    let extension = file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match extension.as_str() {
        "toml" => {
            let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
                anyhow!("{}: {}", file.display(), e.to_string().trim())
            })?;
            Ok(from_toml(&toml::Value::Table(table)))
        }
        "yaml" | "yml" => {
            let value: Value =
                serde_yaml::from_str(&text).map_err(|e| anyhow!("{}: {e}", file.display()))?;
            Ok(value)
        }
        _ => bail!(
            "Config file {} has an unsupported extension: use .toml, .yaml or .yml",
            file.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> BuildArgs {
        BuildArgs::default()
    }

    fn project(config: Option<(&str, &str)>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("template.yaml"), "Resources: {}\n").expect("write");
        if let Some((name, text)) = config {
            std::fs::write(dir.path().join(name), text).expect("write");
        }
        dir
    }

    #[test]
    fn defaults_without_config() {
        let dir = project(None);
        let s = resolve_settings(&args(), &Environment::default(), dir.path()).expect("ok");
        assert_eq!(s.template_file, dir.path().join("template.yaml"));
        assert_eq!(s.build_dir, dir.path().join(".aws-sam/build"));
        assert_eq!(s.build_dir_shown, ".aws-sam/build");
        assert_eq!(s.profile, Profile::Release);
        assert!(!s.cached);
    }

    #[test]
    fn build_parameters_beat_global_and_cli_beats_both() {
        let dir = project(Some((
            "samconfig.toml",
            "version = 0.1\n[default.global.parameters]\nparameter_overrides = \"Stage=g\"\nregion = \"eu-west-1\"\n[default.build.parameters]\ncached = true\nexclude = \"FunctionB\"\nbuild_dir = \"out/build\"\n[dev.build.parameters]\nparameter_overrides = [\"Arch=arm64\", \"Rt=provided.al2023\"]\nexclude = [\"FunctionA\"]\n",
        )));
        let s = resolve_settings(&args(), &Environment::default(), dir.path()).expect("ok");
        assert!(s.cached);
        assert_eq!(s.exclude, ["FunctionB"]);
        assert_eq!(s.build_dir, dir.path().join("out/build"));
        assert_eq!(
            s.parameter_overrides.get("Stage").map(String::as_str),
            Some("g")
        );
        assert_eq!(s.region.as_deref(), Some("eu-west-1"));

        let mut dev = args();
        dev.config_env = Some("dev".into());
        let s = resolve_settings(&dev, &Environment::default(), dir.path()).expect("ok");
        assert_eq!(s.exclude, ["FunctionA"]);
        assert_eq!(s.parameter_overrides.len(), 2);
        assert_eq!(s.region, None, "[default.global] does not apply to dev");

        dev.exclude = vec!["FunctionB".into()];
        dev.parameter_overrides = vec!["Stage=cli".into()];
        let s = resolve_settings(&dev, &Environment::default(), dir.path()).expect("ok");
        assert_eq!(s.exclude, ["FunctionB"]);
        assert_eq!(s.parameter_overrides.keys().collect::<Vec<_>>(), ["Stage"]);
    }

    #[test]
    fn watch_comes_from_the_flag_or_samconfig_and_parameter_files_are_recorded() {
        let dir = project(Some((
            "samconfig.toml",
            "version = 0.1\n[default.build.parameters]\nwatch = true\nparameter_overrides = \"file://params.yaml\"\n",
        )));
        std::fs::write(dir.path().join("params.yaml"), "Stage: dev\n").expect("write");
        let s = resolve_settings(&args(), &Environment::default(), dir.path()).expect("ok");
        assert!(s.watch);
        let params = dir.path().join("params.yaml").canonicalize().expect("real");
        assert_eq!(s.parameter_files, [params]);
        let mut off = args();
        off.no_watch = true;
        let s = resolve_settings(&off, &Environment::default(), dir.path()).expect("ok");
        assert!(!s.watch, "--no-watch beats samconfig");
    }

    #[test]
    fn yaml_config_and_table_overrides() {
        let dir = project(Some((
            "samconfig.yaml",
            "version: 0.1\ndefault:\n  build:\n    parameters:\n      build_dir: yamlout\n      parameter_overrides:\n        A: 'x y'\n        L: [a, b]\n",
        )));
        let s = resolve_settings(&args(), &Environment::default(), dir.path()).expect("ok");
        assert_eq!(s.build_dir, dir.path().join("yamlout"));
        assert_eq!(
            s.parameter_overrides.get("A").map(String::as_str),
            Some("x y")
        );
        assert_eq!(
            s.parameter_overrides.get("L").map(String::as_str),
            Some("a,b")
        );
    }

    #[test]
    fn config_without_version_is_refused() {
        let dir = project(Some((
            "samconfig.toml",
            "[default.build.parameters]\ncached = true\n",
        )));
        let err =
            resolve_settings(&args(), &Environment::default(), dir.path()).expect_err("no version");
        assert!(err.to_string().starts_with("'version' key is not present"));
    }

    #[test]
    fn missing_named_config_file_is_refused() {
        let dir = project(None);
        let mut a = args();
        a.config_file = Some("nosuch.toml".into());
        let err = resolve_settings(&a, &Environment::default(), dir.path()).expect_err("missing");
        assert_eq!(
            err.to_string(),
            "Config file nosuch.toml does not exist or could not be read!"
        );
    }

    #[test]
    fn save_params_writes_what_the_command_line_gave() {
        let dir = project(None);
        let mut a = args();
        a.save_params = true;
        a.cached = true;
        a.parameter_overrides = vec!["A=1 B=2".into()];
        a.exclude = vec!["Foo".into()];
        let s = resolve_settings(&a, &Environment::default(), dir.path()).expect("ok");
        let line = save_params(&a, &s).expect("saved");
        assert_eq!(
            line,
            "Saved parameters to config file 'samconfig.toml' under environment 'default': {'parameter_overrides': {'A': '1', 'B': '2'}, 'cached': True, 'exclude': ('Foo',), 'region': 'us-east-1'}"
        );
        let again =
            resolve_settings(&args(), &Environment::default(), dir.path()).expect("reads back");
        assert!(again.cached);
        assert_eq!(again.exclude, ["Foo"]);
        assert_eq!(
            again.parameter_overrides.get("B").map(String::as_str),
            Some("2")
        );
        assert_eq!(again.region.as_deref(), Some("us-east-1"));
    }

    #[test]
    fn saved_params_go_under_the_env_and_keep_the_rest_of_the_file() {
        let mut document: toml_edit::DocumentMut =
            "# mine\nversion = 0.1\n\n[dev.deploy.parameters]\nstack_name = \"s\"\n"
                .parse()
                .expect("toml");
        let mut a = args();
        a.no_cached = true;
        a.exclude = vec!["A".into(), "B".into()];
        let saved = saved_params(&a, &IndexMap::new());
        let file = Path::new("samconfig.toml");
        let shown =
            put_saved_params(&mut document, file, "dev", saved, "eu-west-1").expect("saved");
        assert_eq!(
            shown,
            [
                "'cached': False",
                "'exclude': ('A', 'B')",
                "'region': 'eu-west-1'"
            ]
        );
        let text = document.to_string();
        assert!(
            text.starts_with(
                "# mine\nversion = 0.1\n\n[dev.deploy.parameters]\nstack_name = \"s\"\n"
            )
        );
        assert!(
            text.contains("[dev.build.parameters]\ncached = false\nexclude = [\"A\", \"B\"]\n")
        );
        assert!(text.contains("[dev.global.parameters]\nregion = \"eu-west-1\"\n"));

        let mut broken: toml_edit::DocumentMut = "[dev]\nbuild = 1\n".parse().expect("toml");
        let err = put_saved_params(&mut broken, file, "dev", Vec::new(), "eu-west-1")
            .expect_err("not a table");
        assert_eq!(
            err.to_string(),
            "samconfig.toml: [dev.build] is not a table"
        );
    }

    #[test]
    fn a_tuple_of_one_is_shown_as_python_shows_it() {
        assert_eq!(python_tuple(&["A".into()]), "('A',)");
        assert_eq!(python_tuple(&["A".into(), "B".into()]), "('A', 'B')");
    }

    #[test]
    fn beta_flags_beat_samconfig_and_the_notice_follows_an_opt_in() {
        let choice = |features, notice| BetaChoice { features, notice };
        assert_eq!(BetaChoice::of(&args(), None), choice(None, false));
        assert_eq!(
            BetaChoice::of(&args(), Some(true)),
            choice(Some(true), true)
        );
        assert_eq!(
            BetaChoice::of(&args(), Some(false)),
            choice(Some(false), false)
        );
        let mut on = args();
        on.beta_features = true;
        assert_eq!(BetaChoice::of(&on, Some(false)), choice(Some(true), true));
        let mut off = args();
        off.no_beta_features = true;
        assert_eq!(BetaChoice::of(&off, Some(true)), choice(Some(false), false));
    }

    #[test]
    fn flags_beat_samconfig_values() {
        let config = ConfigValues {
            file: None,
            values: serde_yaml::from_str("cached: 'yes'\nregion: eu-west-1\nbuild_dir: out")
                .expect("yaml"),
        };
        assert_eq!(config.flag(false, false, "cached").expect("ok"), Some(true));
        assert_eq!(config.flag(false, true, "cached").expect("ok"), Some(false));
        assert_eq!(config.flag(false, false, "parallel").expect("ok"), None);
        let given = "us-west-2".to_string();
        let region = config.string_or(Some(&given), "region").expect("ok");
        assert_eq!(region.as_deref(), Some("us-west-2"));
        let region = config.string_or(None, "region").expect("ok");
        assert_eq!(region.as_deref(), Some("eu-west-1"));
        let dir = config.path_or(None, "build_dir").expect("ok");
        assert_eq!(dir, Some(PathBuf::from("out")));
        assert_eq!(output_format(Some("JSON")), OutputFormat::Json);
        assert_eq!(output_format(Some("text")), OutputFormat::Text);
    }

    #[test]
    fn build_mode_comes_from_the_environment() {
        let dir = project(None);
        let debug = Environment::from_pairs(&[("SAM_BUILD_MODE", "debug")]);
        assert_eq!(
            resolve_settings(&args(), &debug, dir.path())
                .expect("ok")
                .profile,
            Profile::Debug
        );
        let bad = Environment::from_pairs(&[("SAM_BUILD_MODE", "release")]);
        let err = resolve_settings(&args(), &bad, dir.path()).expect_err("bad mode");
        assert!(err.downcast_ref::<UsageError>().is_some());
    }

    #[test]
    fn container_options_need_use_container() {
        let dir = project(None);
        let mut a = args();
        a.build_image = vec!["img".into()];
        let err = resolve_settings(&a, &Environment::default(), dir.path()).expect_err("refused");
        let usage = err.downcast_ref::<UsageError>().expect("usage error");
        assert!(usage.usage.is_none());
        assert!(usage.message.contains("--build-image"));
        a.use_container = true;
        let settings =
            resolve_settings(&a, &Environment::default(), dir.path()).expect("passed on");
        assert!(settings.passthrough.use_container);
        assert_eq!(settings.passthrough.build_images, ["img"]);
    }

    #[test]
    fn use_container_and_build_in_source_from_samconfig_reach_the_pass_through() {
        let dir = project(Some((
            "samconfig.toml",
            "version = 0.1\n[default.build.parameters]\nuse_container = true\nbuild_in_source = false\nprofile = \"dev\"\n",
        )));
        let settings = resolve_settings(&args(), &Environment::default(), dir.path()).expect("ok");
        assert!(settings.passthrough.use_container);
        assert_eq!(settings.passthrough.build_in_source, Some(false));
        assert_eq!(settings.passthrough.profile.as_deref(), Some("dev"));
        let bare = project(None);
        let settings = resolve_settings(&args(), &Environment::default(), bare.path()).expect("ok");
        assert_eq!(settings.passthrough.build_in_source, None);
    }

    #[test]
    fn a_template_above_the_cwd_is_found_only_when_none_is_named() {
        let dir = project(None);
        let sub = dir.path().join("src/bin");
        std::fs::create_dir_all(&sub).expect("mkdir");
        let s = resolve_settings(&args(), &Environment::default(), &sub).expect("settings");
        assert_eq!(s.template_file, sub.join("template.yml"));
        assert_eq!(s.template_above, Some(dir.path().join("template.yaml")));
        let mut named = args();
        named.template_file = Some("nope.yaml".into());
        let s = resolve_settings(&named, &Environment::default(), &sub).expect("settings");
        assert_eq!(s.template_above, None);
        let s = resolve_settings(&args(), &Environment::default(), dir.path()).expect("settings");
        assert_eq!(s.template_above, None);
    }

    #[test]
    fn template_from_the_environment_keeps_the_config_in_the_cwd() {
        let dir = project(Some((
            "samconfig.toml",
            "version = 0.1\n[default.build.parameters]\ncached = true\n",
        )));
        let infra = dir.path().join("infra");
        std::fs::create_dir(&infra).expect("mkdir");
        std::fs::write(
            infra.join("samconfig.toml"),
            "version = 0.1\n[default.build.parameters]\nparallel = true\n",
        )
        .expect("write");
        let env = Environment::from_pairs(&[("SAM_TEMPLATE_FILE", "infra/template.yaml")]);
        let s = resolve_settings(&args(), &env, dir.path()).expect("ok");
        assert_eq!(s.template_file, infra.join("template.yaml"));
        assert!(s.cached && !s.parallel);
    }

    #[test]
    fn template_option_moves_the_config_folder() {
        let dir = project(Some((
            "samconfig.toml",
            "version = 0.1\n[default.build.parameters]\ncached = true\n",
        )));
        let infra = dir.path().join("infra");
        std::fs::create_dir(&infra).expect("mkdir");
        std::fs::write(
            infra.join("samconfig.toml"),
            "version = 0.1\n[default.build.parameters]\nparallel = true\n",
        )
        .expect("write");
        let mut a = args();
        a.template_file = Some("infra/template.yaml".into());
        let s = resolve_settings(&a, &Environment::default(), dir.path()).expect("ok");
        assert!(s.parallel && !s.cached);
        assert_eq!(
            s.build_dir,
            dir.path().join(".aws-sam/build"),
            "paths stay relative to the cwd"
        );
    }
}
