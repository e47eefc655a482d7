//! Pure: what Lambda needs to know about each function of the template to run it here
//! (name, memory, timeout, declared environment, API events), with Globals merged and the
//! stack's parameters resolved, plus the APIs the events belong to.

use std::path::PathBuf;

use indexmap::IndexMap;
use serde_yaml::{Mapping, Value};

use crate::plan::FunctionRef;
use crate::template::globals::{function_globals, merge_function_globals};
use crate::template::intrinsics::{Scope, resolve, scalar_text};
use crate::template::{Architecture, FunctionKind, Project, SkipReason, Stack};

/// One declared environment variable with its template value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Variable {
    pub(crate) name: String,
    pub(crate) value: String,
    /// The intrinsic that has no local value (the value is then `""`, as in SAM).
    pub(crate) unresolved: Option<String>,
}

/// Which kind of API an event belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ApiKind {
    /// `Api` events: API Gateway REST APIs, payload format 1.0.
    Rest,
    /// `HttpApi` events: API Gateway HTTP APIs, payload format 2.0 unless told 1.0.
    Http,
}

/// An `Api` or `HttpApi` event of a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiEvent {
    pub(crate) name: String,
    pub(crate) kind: ApiKind,
    /// None for an HttpApi event without Path (the `$default` route).
    pub(crate) path: Option<String>,
    /// None for ANY (or no Method on an HttpApi event).
    pub(crate) method: Option<String>,
    /// The API's logical id (`RestApiId`/`ApiId`), or the implicit API's.
    pub(crate) api: String,
    /// `PayloadFormatVersion` of an HttpApi event is 1.0.
    pub(crate) payload_v1: bool,
}

/// A function as `samrs local` runs it.
#[derive(Debug, Clone)]
pub(crate) struct LocalFunction {
    pub(crate) function: FunctionRef,
    pub(crate) logical_id: String,
    pub(crate) full_path: String,
    pub(crate) function_name: Option<String>,
    pub(crate) runtime: Option<String>,
    pub(crate) handler: String,
    pub(crate) architecture: Architecture,
    pub(crate) memory_mb: u64,
    pub(crate) timeout_secs: u64,
    pub(crate) variables: Vec<Variable>,
    /// `AWS_LAMBDA_LOG_FORMAT`, `AWS_LAMBDA_LOG_LEVEL`, `AWS_LAMBDA_LOG_GROUP_NAME` from LoggingConfig.
    pub(crate) log_format: Option<String>,
    pub(crate) log_level: Option<String>,
    pub(crate) log_group: Option<String>,
    pub(crate) events: Vec<ApiEvent>,
    /// `Metadata: BuildMethod: rust-cargolambda`.
    pub(crate) rust: bool,
    pub(crate) code_dir: PathBuf,
    pub(crate) skip: Option<SkipReason>,
}

impl LocalFunction {
    /// The name Lambda knows it by: `FunctionName`, else the logical id.
    pub(crate) fn lambda_name(&self) -> &str {
        self.function_name.as_deref().unwrap_or(&self.logical_id)
    }

    /// True when `id` names this function: its full path, logical id, FunctionName or ARN.
    pub(crate) fn answers_to(&self, id: &str) -> bool {
        let name = id.rsplit(':').next().unwrap_or(id);
        let arn_like = id.starts_with("arn:") && id.contains(":function:");
        id == self.full_path
            || id == self.logical_id
            || self.function_name.as_deref() == Some(id)
            || (arn_like && (name == self.lambda_name() || name == self.logical_id))
    }

    pub(crate) fn is_provided_runtime(&self) -> bool {
        self.runtime
            .as_deref()
            .is_some_and(|r| r == "provided" || r.starts_with("provided."))
    }
}

/// An `AWS::Serverless::Api` or `HttpApi` resource (or an implicit one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiConfig {
    pub(crate) logical_id: String,
    pub(crate) kind: ApiKind,
    pub(crate) stage: String,
    pub(crate) stage_variables: IndexMap<String, String>,
    /// `BinaryMediaTypes` (REST), with `~1` read as `/`.
    pub(crate) binary_media_types: Vec<String>,
}

/// The implicit APIs SAM creates for events without `RestApiId`/`ApiId`.
pub(crate) const IMPLICIT_REST_API: &str = "ServerlessRestApi";
pub(crate) const IMPLICIT_HTTP_API: &str = "ServerlessHttpApi";

/// Every function of every stack, in template order.
pub(crate) fn local_functions(project: &Project) -> Vec<LocalFunction> {
    let mut out = Vec::new();
    for (s, stack) in project.stacks.iter().enumerate() {
        let globals = function_globals(&stack.raw).unwrap_or_default();
        for (i, f) in stack.functions.iter().enumerate() {
            let own = resource_properties(stack, &f.logical_id);
            let properties = match f.kind {
                FunctionKind::Serverless => merge_function_globals(&globals, &own),
                FunctionKind::Lambda | FunctionKind::Web => own,
            };
            let scope = scope(stack);
            let get = |name: &str| properties.get(name).map(|v| resolve(v, &scope));
            let logging = get("LoggingConfig");
            let logging_text = |key: &str| {
                logging
                    .as_ref()
                    .and_then(|l| l.get(key))
                    .and_then(scalar_text)
            };
            let log_format = logging_text("LogFormat");
            let log_level = match log_format.as_deref() {
                Some("JSON") => {
                    Some(logging_text("ApplicationLogLevel").unwrap_or_else(|| "INFO".into()))
                }
                _ => None,
            };
            let architecture = match f.architectures.as_ref().and_then(|a| a.get(0)) {
                Some(Value::String(a)) if a == "arm64" => Architecture::Arm64,
                _ => Architecture::X86_64,
            };
            out.push(LocalFunction {
                function: FunctionRef { stack: s, index: i },
                logical_id: f.logical_id.clone(),
                full_path: f.full_path.clone(),
                function_name: f.function_name.clone(),
                runtime: f.runtime.as_ref().and_then(scalar_text),
                handler: f.handler.as_ref().and_then(scalar_text).unwrap_or_default(),
                architecture,
                memory_mb: number(get("MemorySize").as_ref()).unwrap_or(128),
                timeout_secs: number(get("Timeout").as_ref()).unwrap_or(3).max(1),
                variables: variables(get("Environment").as_ref()),
                log_format,
                log_level,
                log_group: logging_text("LogGroup"),
                events: events(get("Events").as_ref()),
                rust: f.build_method().and_then(Value::as_str) == Some("rust-cargolambda"),
                code_dir: f.code_dir.clone(),
                skip: f.skip.clone(),
            });
        }
    }
    out
}

/// The APIs of the root stack: explicit `AWS::Serverless::Api`/`HttpApi` resources with their
/// Globals, and the implicit ones.
pub(crate) fn api_configs(project: &Project) -> Vec<ApiConfig> {
    let Some(stack) = project.stacks.first() else {
        return Vec::new();
    };
    let scope = scope(stack);
    let globals = stack.raw.get("Globals").and_then(Value::as_mapping);
    let global = |section: &str| {
        globals
            .and_then(|g| g.get(section))
            .and_then(Value::as_mapping)
            .cloned()
            .unwrap_or_default()
    };
    let rest_globals = global("Api");
    let http_globals = global("HttpApi");
    let mut apis = vec![
        ApiConfig {
            logical_id: IMPLICIT_REST_API.into(),
            kind: ApiKind::Rest,
            stage: "Prod".into(),
            stage_variables: IndexMap::new(),
            binary_media_types: media_types(
                rest_globals
                    .get("BinaryMediaTypes")
                    .map(|v| resolve(v, &scope))
                    .as_ref(),
            ),
        },
        ApiConfig {
            logical_id: IMPLICIT_HTTP_API.into(),
            kind: ApiKind::Http,
            stage: "$default".into(),
            stage_variables: IndexMap::new(),
            binary_media_types: Vec::new(),
        },
    ];
    let Some(Value::Mapping(resources)) = stack.raw.get("Resources") else {
        return apis;
    };
    for (id, resource) in resources {
        let (Some(id), Some(kind)) = (
            id.as_str(),
            match resource.get("Type").and_then(Value::as_str) {
                Some("AWS::Serverless::Api") => Some(ApiKind::Rest),
                Some("AWS::Serverless::HttpApi") => Some(ApiKind::Http),
                _ => None,
            },
        ) else {
            continue;
        };
        let own = resource_properties(stack, id);
        let properties = match kind {
            ApiKind::Rest => merge_function_globals(&rest_globals, &own),
            ApiKind::Http => merge_function_globals(&http_globals, &own),
        };
        let get = |name: &str| properties.get(name).map(|v| resolve(v, &scope));
        let stage = get("StageName")
            .as_ref()
            .and_then(scalar_text)
            .unwrap_or_else(|| match kind {
                ApiKind::Rest => "Prod".into(),
                ApiKind::Http => "$default".into(),
            });
        let variables = match kind {
            ApiKind::Rest => get("Variables"),
            ApiKind::Http => get("StageVariables"),
        };
        apis.push(ApiConfig {
            logical_id: id.to_string(),
            kind,
            stage,
            stage_variables: text_map(variables.as_ref()),
            binary_media_types: media_types(get("BinaryMediaTypes").as_ref()),
        });
    }
    apis
}

fn scope(stack: &Stack) -> Scope<'_> {
    Scope {
        parameters: &stack.parameters,
        mappings: stack.raw.get("Mappings").and_then(Value::as_mapping),
        conditions: stack.raw.get("Conditions").and_then(Value::as_mapping),
    }
}

fn resource_properties(stack: &Stack, logical_id: &str) -> Mapping {
    stack
        .raw
        .get("Resources")
        .and_then(|r| r.get(logical_id))
        .and_then(|r| r.get("Properties"))
        .and_then(Value::as_mapping)
        .cloned()
        .unwrap_or_default()
}

fn number(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().and_then(|f| format!("{f:.0}").parse().ok())),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn text_map(value: Option<&Value>) -> IndexMap<String, String> {
    value
        .and_then(Value::as_mapping)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((scalar_text(k)?, scalar_text(v)?)))
                .collect()
        })
        .unwrap_or_default()
}

fn media_types(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_sequence)
        .map(|items| {
            items
                .iter()
                .filter_map(scalar_text)
                .map(|t| t.replace("~1", "/"))
                .collect()
        })
        .unwrap_or_default()
}

/// `Environment.Variables` in declaration order, with SAM's text for each value.
fn variables(environment: Option<&Value>) -> Vec<Variable> {
    let Some(Value::Mapping(vars)) = environment.and_then(|e| e.get("Variables")) else {
        return Vec::new();
    };
    vars.iter()
        .filter_map(|(name, value)| {
            let name = scalar_text(name)?;
            let (value, unresolved) = variable_text(value);
            Some(Variable {
                name,
                value,
                unresolved,
            })
        })
        .collect()
}

/// SAM's text for a variable's value: scalars as text, `Ref` to something without a local
/// value as the referenced name, and anything else (other intrinsics, maps, lists) as `""`.
pub(crate) fn variable_text(value: &Value) -> (String, Option<String>) {
    match value {
        Value::String(s) => (s.clone(), None),
        Value::Bool(b) => (b.to_string(), None),
        Value::Number(n) => (n.to_string(), None),
        Value::Mapping(m) if m.len() == 1 => {
            let Some((key, arg)) = m.iter().next() else {
                return (String::new(), None);
            };
            match (key.as_str(), arg) {
                (Some("Ref"), Value::String(name)) => (name.clone(), None),
                (Some(k), _) if k.starts_with("Fn::") => (
                    String::new(),
                    Some(format!("{k} {}", crate::template::value_text(arg))),
                ),
                _ => (String::new(), None),
            }
        }
        _ => (String::new(), None),
    }
}

fn events(value: Option<&Value>) -> Vec<ApiEvent> {
    let Some(Value::Mapping(events)) = value else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, event) in events {
        let Some(name) = scalar_text(name) else {
            continue;
        };
        let kind = match event.get("Type").and_then(Value::as_str) {
            Some("Api") => ApiKind::Rest,
            Some("HttpApi") => ApiKind::Http,
            _ => continue,
        };
        let properties = event.get("Properties").cloned().unwrap_or(Value::Null);
        let text = |key: &str| properties.get(key).and_then(scalar_text);
        let api_key = match kind {
            ApiKind::Rest => "RestApiId",
            ApiKind::Http => "ApiId",
        };
        let api = match properties.get(api_key) {
            Some(Value::String(id)) => id.clone(),
            Some(Value::Mapping(m)) => m
                .get("Ref")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_default(),
            _ => match kind {
                ApiKind::Rest => IMPLICIT_REST_API.into(),
                ApiKind::Http => IMPLICIT_HTTP_API.into(),
            },
        };
        let method = text("Method")
            .map(|m| m.to_ascii_uppercase())
            .filter(|m| m != "ANY" && m != "X-AMAZON-APIGATEWAY-ANY-METHOD");
        out.push(ApiEvent {
            name,
            kind,
            path: text("Path"),
            method,
            api,
            payload_v1: kind == ApiKind::Http
                && text("PayloadFormatVersion").as_deref() == Some("1.0"),
        });
    }
    out
}

/// A Rust function `id` with these API events, for the tests of routes and events.
#[cfg(test)]
pub(crate) fn test_function(id: &str, events: Vec<ApiEvent>) -> LocalFunction {
    LocalFunction {
        function: FunctionRef { stack: 0, index: 0 },
        logical_id: id.into(),
        full_path: id.into(),
        function_name: None,
        runtime: Some("provided.al2023".into()),
        handler: "bootstrap".into(),
        architecture: Architecture::X86_64,
        memory_mb: 128,
        timeout_secs: 3,
        variables: Vec::new(),
        log_format: None,
        log_level: None,
        log_group: None,
        events,
        rust: true,
        code_dir: "/p".into(),
        skip: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::load::read_template_at;
    use crate::template::{ProjectOptions, load_project_with};
    use std::path::Path;

    fn project(text: &str, overrides: &[(&str, &str)]) -> Project {
        let options = ProjectOptions {
            template_file: "/p/template.yaml".into(),
            base_dir: None,
            parameter_overrides: overrides
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            region: Some("eu-west-1".into()),
            template_above: None,
        };
        let text = text.to_string();
        load_project_with(&options, &move |path: &Path| {
            read_template_at(&text, path, false)
        })
        .expect("loads")
    }

    const TEMPLATE: &str = r"
Parameters:
  Stage: {Type: String, Default: dev}
  Table: {Type: String}
Globals:
  Function:
    Timeout: 10
    MemorySize: 256
    Environment:
      Variables:
        STAGE: !Ref Stage
        SHARED: global
Resources:
  Echo:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: rust-cargolambda}
    Properties:
      CodeUri: echo
      Handler: bootstrap
      Runtime: provided.al2023
      FunctionName: !Sub 'echo-${Stage}'
      Architectures: [arm64]
      Environment:
        Variables:
          TABLE: !Ref Table
          URL: !Sub 'https://${AWS::Region}.example.com/${Stage}'
          ARN: !GetAtt Other.Arn
          STREAM: !GetAtt Other.StreamArn
          NUM: 1.50
          FLAG: true
          SHARED: own
      Events:
        Get: {Type: Api, Properties: {Path: '/items/{id}', Method: get}}
        Any: {Type: HttpApi, Properties: {Path: /any, Method: ANY, ApiId: !Ref Http, PayloadFormatVersion: '1.0'}}
        Default: {Type: HttpApi}
        Queue: {Type: SQS, Properties: {Queue: q}}
  Other:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: other, Handler: app.handler, Runtime: python3.12, Timeout: 30}
  Http:
    Type: AWS::Serverless::HttpApi
    Properties: {StageName: v1, StageVariables: {color: blue}}
";

    #[test]
    fn globals_parameters_and_intrinsics_reach_the_environment() {
        let project = project(TEMPLATE, &[("Stage", "prod")]);
        let functions = local_functions(&project);
        let echo = &functions[0];
        assert_eq!(echo.lambda_name(), "echo-prod");
        assert_eq!((echo.memory_mb, echo.timeout_secs), (256, 10));
        assert_eq!(echo.architecture, Architecture::Arm64);
        assert!(echo.rust && echo.is_provided_runtime());
        let vars: Vec<(&str, &str)> = echo
            .variables
            .iter()
            .map(|v| (v.name.as_str(), v.value.as_str()))
            .collect();
        assert_eq!(
            vars,
            [
                ("STAGE", "prod"),
                ("SHARED", "own"),
                ("TABLE", "Table"),
                ("URL", "https://eu-west-1.example.com/prod"),
                (
                    "ARN",
                    "arn:aws:lambda:eu-west-1:123456789012:function:Other"
                ),
                ("STREAM", ""),
                ("NUM", "1.5"),
                ("FLAG", "true"),
            ]
        );
        let stream = echo.variables.iter().find(|v| v.name == "STREAM");
        assert!(stream.is_some_and(|v| v.unresolved.is_some()));
        let other = &functions[1];
        assert_eq!(other.timeout_secs, 30);
        assert!(!other.rust && !other.is_provided_runtime());
    }

    #[test]
    fn api_events_and_their_apis() {
        let project = project(TEMPLATE, &[]);
        let echo = &local_functions(&project)[0];
        assert_eq!(
            echo.events,
            [
                ApiEvent {
                    name: "Get".into(),
                    kind: ApiKind::Rest,
                    path: Some("/items/{id}".into()),
                    method: Some("GET".into()),
                    api: IMPLICIT_REST_API.into(),
                    payload_v1: false,
                },
                ApiEvent {
                    name: "Any".into(),
                    kind: ApiKind::Http,
                    path: Some("/any".into()),
                    method: None,
                    api: "Http".into(),
                    payload_v1: true,
                },
                ApiEvent {
                    name: "Default".into(),
                    kind: ApiKind::Http,
                    path: None,
                    method: None,
                    api: IMPLICIT_HTTP_API.into(),
                    payload_v1: false,
                },
            ]
        );
        let apis = api_configs(&project);
        let http = apis.iter().find(|a| a.logical_id == "Http").expect("Http");
        assert_eq!(http.stage, "v1");
        assert_eq!(
            http.stage_variables.get("color").map(String::as_str),
            Some("blue")
        );
    }

    #[test]
    fn functions_answer_to_ids_names_and_arns() {
        let project = project(TEMPLATE, &[]);
        let echo = &local_functions(&project)[0];
        for id in [
            "Echo",
            "echo-dev",
            "arn:aws:lambda:us-east-1:123456789012:function:echo-dev",
        ] {
            assert!(echo.answers_to(id), "{id}");
        }
        assert!(!echo.answers_to("Other"));
    }
}
