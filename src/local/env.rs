//! The environment of a function's process: Lambda's own variables, and the variables the
//! template declares with SAM's precedence (`--env-vars` entry of the function > its
//! `Parameters` > this shell's variable of the same name > the template). Nothing else of this
//! shell is passed on, as in Lambda.

use std::path::Path;

use anyhow::{Result, anyhow, bail};
use indexmap::IndexMap;

use super::functions::LocalFunction;
use super::settings::Credentials;
use crate::settings::Environment;

/// A parsed `--env-vars` file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct EnvVarsFile {
    /// `"Parameters"`: values for every function that declares the name.
    pub(crate) parameters: IndexMap<String, String>,
    /// Entries per function id (logical id, FunctionName or full path).
    pub(crate) functions: IndexMap<String, IndexMap<String, String>>,
}

/// Reads an `--env-vars` file: SAM's JSON shape, else a `.env` file (every pair goes to
/// `Parameters`).
pub(crate) fn parse_env_vars(path: &Path, text: &str) -> Result<EnvVarsFile> {
    let json: serde_json::Value = match serde_json::from_str(text) {
        Ok(json) => json,
        Err(json_error) => {
            return parse_dotenv(text).ok_or_else(|| {
                anyhow!(
                    "Could not read environment variables overrides from file {}: it is neither JSON ({json_error}) nor a .env file of KEY=VALUE lines",
                    path.display()
                )
            });
        }
    };
    let serde_json::Value::Object(top) = json else {
        bail!(
            "Environment variables file {} must hold a JSON object such as {{\"Parameters\": {{\"KEY\": \"value\"}}, \"MyFunction\": {{\"KEY\": \"value\"}}}}",
            path.display()
        );
    };
    let wrong: Vec<String> = top
        .iter()
        .filter(|(_, v)| !v.is_object())
        .map(|(k, _)| format!("'{k}'"))
        .collect();
    if !wrong.is_empty() {
        bail!(
            "Environment variables [{}] in incorrect format: in {}, each top-level key (\"Parameters\" or a function id) must map to an object of variables",
            wrong.join(", "),
            path.display()
        );
    }
    let mut file = EnvVarsFile::default();
    for (key, value) in top {
        let serde_json::Value::Object(vars) = value else {
            continue;
        };
        let vars: IndexMap<String, String> =
            vars.into_iter().map(|(k, v)| (k, json_text(&v))).collect();
        if key == "Parameters" {
            file.parameters = vars;
        } else {
            file.functions.insert(key, vars);
        }
    }
    Ok(file)
}

/// SAM's text for a JSON value: strings as they are, numbers and booleans as text, and
/// objects, lists and null as `""`.
fn json_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Bool(b) => b.to_string(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// `KEY=VALUE` lines (`export `, comments, blank lines and quotes allowed); `None` when a line
/// is none of these.
fn parse_dotenv(text: &str) -> Option<EnvVarsFile> {
    let mut parameters = IndexMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let (key, value) = line.split_once('=')?;
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        let value = value.trim();
        let value = ['"', '\'']
            .iter()
            .find_map(|q| {
                value
                    .strip_prefix(*q)
                    .and_then(|v| v.strip_suffix(*q))
                    .map(str::to_string)
            })
            .unwrap_or_else(|| value.to_string());
        parameters.insert(key.to_string(), value);
    }
    Some(EnvVarsFile {
        parameters,
        functions: IndexMap::new(),
    })
}

/// What every function's environment shares.
#[derive(Debug, Clone)]
pub(crate) struct Shared<'a> {
    pub(crate) region: &'a str,
    pub(crate) credentials: &'a Credentials,
    pub(crate) host_env: &'a Environment,
    pub(crate) env_vars: Option<&'a EnvVarsFile>,
}

/// A function's process environment, and warnings about `--env-vars` entries it ignores.
pub(crate) fn function_environment(
    function: &LocalFunction,
    task_root: &Path,
    log_stream: &str,
    shared: &Shared,
) -> (Vec<(String, String)>, Vec<String>) {
    let entry = shared
        .env_vars
        .and_then(|file| env_vars_entry(function, file));
    let mut warnings: Vec<String> = entry
        .and_then(|entry| undeclared_warning(function, entry))
        .into_iter()
        .collect();
    let mut env = declared_variables(function, entry, shared, &mut warnings);
    for (key, value) in lambda_variables(function, task_root, log_stream, shared) {
        env.retain(|(k, _)| k != key);
        env.push((key.to_string(), value));
    }
    (env, warnings)
}

/// The `--env-vars` entry of the function: by logical id, FunctionName or full path (an empty
/// one does not count).
fn env_vars_entry<'a>(
    function: &LocalFunction,
    file: &'a EnvVarsFile,
) -> Option<&'a IndexMap<String, String>> {
    [
        Some(function.logical_id.as_str()),
        function.function_name.as_deref(),
        Some(function.full_path.as_str()),
    ]
    .into_iter()
    .flatten()
    .find_map(|id| file.functions.get(id).filter(|vars| !vars.is_empty()))
}

/// A warning naming the variables of the function's `--env-vars` entry that the template does
/// not declare (SAM sets only declared ones).
fn undeclared_warning(
    function: &LocalFunction,
    entry: &IndexMap<String, String>,
) -> Option<String> {
    let undeclared: Vec<&str> = entry
        .keys()
        .filter(|k| !function.variables.iter().any(|v| &v.name == *k))
        .map(String::as_str)
        .collect();
    let them = if undeclared.len() == 1 { "it" } else { "them" };
    (!undeclared.is_empty()).then(|| {
        format!(
            "--env-vars: {} not declared in {}'s Environment.Variables, so not set (as in SAM); declare {them} in the template to set {them}",
            undeclared.join(", "),
            function.logical_id,
        )
    })
}

/// The template's variables with SAM's precedence: the function's `--env-vars` entry, then
/// `Parameters`, then this shell, then the template's value.
fn declared_variables(
    function: &LocalFunction,
    entry: Option<&IndexMap<String, String>>,
    shared: &Shared,
    warnings: &mut Vec<String>,
) -> Vec<(String, String)> {
    let mut env = Vec::new();
    for variable in &function.variables {
        let value = entry
            .and_then(|e| e.get(&variable.name))
            .or_else(|| {
                shared
                    .env_vars
                    .and_then(|f| f.parameters.get(&variable.name))
            })
            .cloned()
            .or_else(|| shared.host_env.get(&variable.name).map(str::to_string));
        let value = match value {
            Some(v) => v,
            None => {
                if let Some(what) = &variable.unresolved {
                    warnings.push(format!(
                        "{}: {} = {what} has no local value and is set to \"\"; give it one with --env-vars",
                        function.logical_id, variable.name
                    ));
                }
                variable.value.clone()
            }
        };
        env.push((variable.name.clone(), value));
    }
    env
}

/// The variables Lambda sets itself, and the credentials: this shell's keys, else its
/// profile, else SAM's stand-ins. They win over the template's.
fn lambda_variables<'a>(
    function: &LocalFunction,
    task_root: &Path,
    log_stream: &str,
    shared: &Shared<'a>,
) -> Vec<(&'a str, String)> {
    let task_root = task_root.to_string_lossy().into_owned();
    let name = function.lambda_name();
    let mut lambda = vec![
        ("AWS_SAM_LOCAL", "true".to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", name.to_string()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            function.memory_mb.to_string(),
        ),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_string()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            function
                .log_group
                .clone()
                .unwrap_or_else(|| format!("/aws/lambda/{name}")),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME", log_stream.to_string()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_string()),
        ("AWS_REGION", shared.region.to_string()),
        ("AWS_DEFAULT_REGION", shared.region.to_string()),
        ("_HANDLER", function.handler.clone()),
        ("LAMBDA_TASK_ROOT", task_root.clone()),
        ("LANG", "en_US.UTF-8".to_string()),
        ("TZ", ":UTC".to_string()),
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin".to_string()),
        (
            "LD_LIBRARY_PATH",
            format!("/lib64:/usr/lib64:{task_root}:{task_root}/lib:/opt/lib"),
        ),
    ];
    if let Some(format) = &function.log_format {
        lambda.push(("AWS_LAMBDA_LOG_FORMAT", format.clone()));
    }
    if let Some(level) = &function.log_level {
        lambda.push(("AWS_LAMBDA_LOG_LEVEL", level.clone()));
    }
    let credentials = shared.credentials;
    let given = if credentials.keys.is_empty() {
        &credentials.profile
    } else {
        &credentials.keys
    };
    if given.is_empty() {
        // SAM's stand-ins, so SDK calls fail fast instead of searching for credentials.
        lambda.push(("AWS_ACCESS_KEY_ID", "defaultkey".to_string()));
        lambda.push(("AWS_SECRET_ACCESS_KEY", "defaultsecret".to_string()));
    } else {
        lambda.extend(given.iter().map(|(k, v)| (k.as_str(), v.clone())));
    }
    lambda
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::functions::Variable;
    use crate::plan::FunctionRef;
    use crate::template::Architecture;

    fn function() -> LocalFunction {
        let var = |name: &str, value: &str| Variable {
            name: name.into(),
            value: value.into(),
            unresolved: None,
        };
        LocalFunction {
            function: FunctionRef { stack: 0, index: 0 },
            logical_id: "Echo".into(),
            full_path: "Echo".into(),
            function_name: Some("echo-fn".into()),
            runtime: Some("provided.al2023".into()),
            handler: "bootstrap".into(),
            architecture: Architecture::X86_64,
            memory_mb: 256,
            timeout_secs: 3,
            variables: vec![
                var("A", "template"),
                var("B", "template"),
                var("C", "template"),
                var("D", "template"),
            ],
            log_format: None,
            log_level: None,
            log_group: None,
            events: Vec::new(),
            rust: true,
            code_dir: "/p".into(),
            skip: None,
        }
    }

    fn get<'a>(env: &'a [(String, String)], key: &str) -> Option<&'a str> {
        env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    #[test]
    fn function_entry_beats_parameters_beats_host_beats_template() {
        let file = parse_env_vars(
            Path::new("env.json"),
            r#"{"Parameters": {"A": "params", "B": "params", "Z": "x"}, "echo-fn": {"A": "function", "NOPE": 1}}"#,
        )
        .expect("parses");
        let host = Environment::from_pairs(&[("C", "host"), ("HOME", "/root")]);
        let credentials = Credentials::default();
        let shared = Shared {
            region: "eu-west-1",
            credentials: &credentials,
            host_env: &host,
            env_vars: Some(&file),
        };
        let (env, warnings) =
            function_environment(&function(), Path::new("/task"), "stream", &shared);
        assert_eq!(get(&env, "A"), Some("function"));
        assert_eq!(get(&env, "B"), Some("params"));
        assert_eq!(get(&env, "C"), Some("host"));
        assert_eq!(get(&env, "D"), Some("template"));
        assert_eq!(get(&env, "Z"), None, "undeclared names are not set");
        assert_eq!(get(&env, "HOME"), None, "the shell is not inherited");
        assert_eq!(get(&env, "AWS_LAMBDA_FUNCTION_NAME"), Some("echo-fn"));
        assert_eq!(get(&env, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), Some("256"));
        assert_eq!(get(&env, "AWS_REGION"), Some("eu-west-1"));
        assert_eq!(get(&env, "LAMBDA_TASK_ROOT"), Some("/task"));
        assert_eq!(get(&env, "AWS_ACCESS_KEY_ID"), Some("defaultkey"));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("NOPE"), "{warnings:?}");
    }

    #[test]
    fn non_object_entries_are_refused_like_sam() {
        let err =
            parse_env_vars(Path::new("e.json"), r#"{"Parameters": {}, "x": 5}"#).expect_err("bad");
        assert!(
            err.to_string()
                .starts_with("Environment variables ['x'] in incorrect format"),
            "{err}"
        );
    }

    #[test]
    fn dotenv_files_fill_parameters() {
        let file = parse_env_vars(
            Path::new(".env"),
            "# comment\nexport A=1\nB=\"two words\"\n\nC='x=y'\n",
        )
        .expect("parses");
        assert_eq!(
            file.parameters.into_iter().collect::<Vec<_>>(),
            [
                ("A".to_string(), "1".to_string()),
                ("B".to_string(), "two words".to_string()),
                ("C".to_string(), "x=y".to_string())
            ]
        );
        assert!(parse_env_vars(Path::new("x"), "not json and not env").is_err());
    }
}
