//! Loads the root template and its local nested stacks into a `Project`, resolving what decides
//! each build (Globals, parameters, intrinsics) while keeping each raw template for the writer.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use indexmap::IndexMap;
use serde_yaml::{Mapping, Value};

use super::globals::{function_globals, merge_function_globals};
use super::intrinsics::{Scope, parameter_values, resolve, scalar_text};
use super::load::{Parsed, load_template_file};
use super::model::{
    Function, FunctionKind, Layer, LayerKind, Project, RemoteStack, SkipReason, Stack,
};
use super::{kind_of, value_text};
use crate::paths;

/// Nested stacks deeper than this are refused (a template that includes itself, most likely).
const MAX_STACK_DEPTH: usize = 16;

/// What the template stage needs from the settings.
#[derive(Debug, Clone)]
pub struct ProjectOptions {
    /// The root template, absolute.
    pub template_file: PathBuf,
    /// `--base-dir`, absolute: relative CodeUris are joined to it instead of the template's folder.
    pub base_dir: Option<PathBuf>,
    /// `--parameter-overrides`, name → value.
    pub parameter_overrides: IndexMap<String, String>,
    /// `--region` (`AWS::Region`).
    pub region: Option<String>,
    /// The template found in a folder above, when the default one is missing (run from a
    /// subfolder): named in the "not found" message.
    pub template_above: Option<PathBuf>,
}

/// Reads the root template and every local nested stack below it from disk.
pub fn load_project(options: &ProjectOptions) -> Result<Project> {
    load_project_with(options, &|path: &Path| {
        if !path.is_file() {
            bail!(
                "{}",
                template_not_found(path, options.template_above.as_deref())
            );
        }
        load_template_file(path)
    })
}

/// SAM's "Template file not found" line and, for a missing default template with one in a
/// folder above, where it is and how to use it.
fn template_not_found(path: &Path, above: Option<&Path>) -> String {
    let first = format!("Template file not found at {}", path.display());
    let Some(above) = above else {
        return first;
    };
    let folder = above.parent().unwrap_or(above);
    let relative = paths::relative(above, path.parent().unwrap_or(path));
    format!(
        "{first}\nThe project's template is {}: run samrs build in {}, or pass -t {} (the build then goes to .aws-sam in this folder)",
        above.display(),
        folder.display(),
        relative.display()
    )
}

/// Like `load_project`, with templates read by `read` (tests hand in text from memory).
pub fn load_project_with(
    options: &ProjectOptions,
    read: &dyn Fn(&Path) -> Result<Parsed>,
) -> Result<Project> {
    let mut project = Project {
        stacks: Vec::new(),
        remote_stacks: Vec::new(),
        warnings: Vec::new(),
    };
    let mut chain = Vec::new();
    load_stack(
        options,
        read,
        &[],
        &options.template_file,
        &options.parameter_overrides,
        &mut project,
        &mut chain,
    )?;
    Ok(project)
}

fn load_stack(
    options: &ProjectOptions,
    read: &dyn Fn(&Path) -> Result<Parsed>,
    path: &[String],
    template_file: &Path,
    parameters: &IndexMap<String, String>,
    project: &mut Project,
    chain: &mut Vec<PathBuf>,
) -> Result<usize> {
    let Parsed { document, warnings } = read(template_file)?;
    project.warnings.extend(warnings);
    let Value::Mapping(raw) = document else {
        bail!(
            "Failed to parse template {}: the document must be a map (found {})",
            template_file.display(),
            kind_of(&document)
        );
    };
    let dir = template_file.parent().map_or_else(
        || PathBuf::from("/"),
        |p| p.canonicalize().unwrap_or_else(|_| p.to_path_buf()),
    );
    let canonical = template_file
        .canonicalize()
        .unwrap_or_else(|_| template_file.to_path_buf());
    if chain.contains(&canonical) || chain.len() >= MAX_STACK_DEPTH {
        bail!(
            "Nested stack {} includes {} again (nested stacks may not include themselves)",
            path.join("/"),
            template_file.display()
        );
    }

    let resources = match raw.get("Resources") {
        Some(Value::Mapping(resources)) if !resources.is_empty() => resources.clone(),
        _ => bail!(
            "'Resources' section is required: {} has no Resources map with at least one resource",
            template_file.display()
        ),
    };
    let globals = function_globals(&raw)
        .with_context(|| format!("Invalid Globals section in {}", template_file.display()))?;
    let values = parameter_values(&raw, parameters, options.region.as_deref());
    let scope = Scope {
        parameters: &values,
        mappings: raw.get("Mappings").and_then(Value::as_mapping),
        conditions: raw.get("Conditions").and_then(Value::as_mapping),
    };

    let index = project.stacks.len();
    let prefix: String = path.iter().map(|p| format!("{p}/")).collect();
    let base_dir = options.base_dir.as_deref().unwrap_or(&dir);
    let reader = ResourceReader {
        file: template_file,
        stack: index,
        prefix: &prefix,
        scope: &scope,
        base_dir,
        has_base_dir: options.base_dir.is_some(),
        template_dir: &dir,
    };

    let mut functions = Vec::new();
    let mut layers = Vec::new();
    let mut child_specs = Vec::new();
    for (key, resource) in &resources {
        let logical_id = key.as_str().ok_or_else(|| {
            anyhow!(
                "{}: a resource id must be a string",
                template_file.display()
            )
        })?;
        if logical_id.starts_with("Fn::ForEach::") {
            bail!(
                "{}: '{logical_id}' uses Fn::ForEach (AWS::LanguageExtensions), which samrs does not support; build this template with `sam build --language-extensions`",
                template_file.display()
            );
        }
        let resource = resource.as_mapping().ok_or_else(|| {
            anyhow!(
                "{}: resource '{logical_id}' must be a map (found {})",
                template_file.display(),
                kind_of(resource)
            )
        })?;
        let Some(resource_type) = resource.get("Type").and_then(Value::as_str) else {
            bail!(
                "{}: resource '{logical_id}' needs a 'Type' string",
                template_file.display()
            );
        };
        match resource_type {
            "AWS::Serverless::Function" => functions.push(reader.function(
                logical_id,
                resource,
                FunctionKind::Serverless,
                Some(&globals),
            )?),
            "AWS::Lambda::Function" => {
                functions.push(reader.function(
                    logical_id,
                    resource,
                    FunctionKind::Lambda,
                    None,
                )?);
            }
            "AWS::Serverless::WebFunction" => {
                functions.push(reader.function(logical_id, resource, FunctionKind::Web, None)?);
            }
            "AWS::Serverless::LayerVersion" => {
                layers.push(reader.layer(logical_id, resource, LayerKind::Serverless)?);
            }
            "AWS::Lambda::LayerVersion" => {
                layers.push(reader.layer(logical_id, resource, LayerKind::Lambda)?);
            }
            "AWS::Serverless::Application" | "AWS::CloudFormation::Stack" => {
                match reader.child_stack(logical_id, resource, resource_type)? {
                    ChildStack::Local { file, parameters } => {
                        child_specs.push((logical_id.to_string(), file, parameters));
                    }
                    ChildStack::Remote => project.remote_stacks.push(RemoteStack {
                        full_path: format!("{prefix}{logical_id}"),
                    }),
                }
            }
            _ => {}
        }
    }

    project.stacks.push(Stack {
        path: path.to_vec(),
        template_file: template_file.to_path_buf(),
        dir,
        raw,
        parameters: values,
        functions,
        layers,
        children: Vec::new(),
    });

    chain.push(canonical);
    for (logical_id, file, child_parameters) in child_specs {
        let mut child_path = path.to_vec();
        child_path.push(logical_id.clone());
        let child = load_stack(
            options,
            read,
            &child_path,
            &file,
            &child_parameters,
            project,
            chain,
        )
        .with_context(|| {
            format!("Nested stack '{prefix}{logical_id}' (its Location/TemplateURL property)")
        })?;
        project.stacks[index].children.push((logical_id, child));
    }
    chain.pop();
    Ok(index)
}

enum ChildStack {
    Local {
        file: PathBuf,
        parameters: IndexMap<String, String>,
    },
    Remote,
}

/// Reads resources of one stack with that stack's scope.
struct ResourceReader<'a> {
    file: &'a Path,
    stack: usize,
    prefix: &'a str,
    scope: &'a Scope<'a>,
    base_dir: &'a Path,
    has_base_dir: bool,
    template_dir: &'a Path,
}

impl ResourceReader<'_> {
    fn properties(&self, logical_id: &str, resource: &Mapping) -> Result<Mapping> {
        match resource.get("Properties") {
            None | Some(Value::Null) => Ok(Mapping::new()),
            Some(Value::Mapping(m)) => Ok(m.clone()),
            Some(other) => bail!(
                "{}: resource '{logical_id}' property 'Properties' must be a map (found {})",
                self.file.display(),
                kind_of(other)
            ),
        }
    }

    fn metadata(&self, logical_id: &str, resource: &Mapping) -> Result<Mapping> {
        match resource.get("Metadata").map(|m| resolve(m, self.scope)) {
            None | Some(Value::Null) => Ok(Mapping::new()),
            Some(Value::Mapping(m)) => Ok(m),
            Some(other) => bail!(
                "{}: resource '{logical_id}' property 'Metadata' must be a map (found {})",
                self.file.display(),
                kind_of(&other)
            ),
        }
    }

    fn full_path(&self, logical_id: &str, metadata: &Mapping) -> String {
        let id = metadata
            .get("SamResourceId")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or(logical_id);
        format!("{}{id}", self.prefix)
    }

    fn code_dir(&self, code_uri: &str) -> PathBuf {
        let base = if self.has_base_dir {
            self.base_dir
        } else {
            self.template_dir
        };
        paths::normalize(&base.join(code_uri))
    }

    fn function(
        &self,
        logical_id: &str,
        resource: &Mapping,
        kind: FunctionKind,
        globals: Option<&Mapping>,
    ) -> Result<Function> {
        let own = self.properties(logical_id, resource)?;
        let properties = match globals {
            Some(globals) => merge_function_globals(globals, &own),
            None => own,
        };
        let get = |name: &str| properties.get(name).map(|v| resolve(v, self.scope));
        let metadata = self.metadata(logical_id, resource)?;
        let package_type = match get("PackageType") {
            Some(Value::String(s)) => s,
            _ => "Zip".to_string(),
        };
        let code = get(kind.code_property());

        let skip = if package_type == "Image" {
            let has_build_info =
                metadata.contains_key("Dockerfile") && metadata.contains_key("DockerContext");
            match get("ImageUri") {
                _ if has_build_info => None,
                Some(Value::String(uri)) if uri.contains(".dkr.ecr.") => Some(SkipReason::EcrImage),
                _ => Some(SkipReason::ImageWithoutBuildInfo),
            }
        } else if properties.contains_key("InlineCode")
            || (kind == FunctionKind::Lambda
                && code.as_ref().is_some_and(|c| c.get("ZipFile").is_some()))
        {
            Some(SkipReason::InlineCode)
        } else if is_s3_location(code.as_ref()) {
            Some(SkipReason::S3Code)
        } else if code
            .as_ref()
            .and_then(Value::as_str)
            .is_some_and(paths::is_zip)
        {
            Some(SkipReason::Prezipped)
        } else if metadata.get("SkipBuild") == Some(&Value::Bool(true)) {
            Some(SkipReason::SkipBuild)
        } else {
            None
        };

        let code_uri = match &code {
            Some(Value::String(s)) => s.clone(),
            _ => ".".to_string(),
        };
        let code_not_a_path = match &code {
            Some(v @ (Value::Number(_) | Value::Bool(_) | Value::Sequence(_))) => {
                Some(value_text(v))
            }
            _ => None,
        };
        Ok(Function {
            logical_id: logical_id.to_string(),
            full_path: self.full_path(logical_id, &metadata),
            stack: self.stack,
            kind,
            runtime: get("Runtime"),
            architectures: get("Architectures"),
            handler: get("Handler"),
            code_dir: self.code_dir(&code_uri),
            code_uri,
            package_type,
            function_name: get("FunctionName").and_then(|v| v.as_str().map(str::to_string)),
            layers: layer_refs(properties.get("Layers")),
            code_not_a_path,
            metadata,
            skip,
        })
    }

    fn layer(&self, logical_id: &str, resource: &Mapping, kind: LayerKind) -> Result<Layer> {
        let properties = self.properties(logical_id, resource)?;
        let get = |name: &str| properties.get(name).map(|v| resolve(v, self.scope));
        let metadata = self.metadata(logical_id, resource)?;
        let content_uri = match get(kind.content_property()) {
            Some(Value::String(s)) => s,
            _ => ".".to_string(),
        };
        Ok(Layer {
            logical_id: logical_id.to_string(),
            full_path: self.full_path(logical_id, &metadata),
            stack: self.stack,
            kind,
            content_dir: self.code_dir(&content_uri),
            content_uri,
            metadata,
            compatible_runtimes: get("CompatibleRuntimes"),
            compatible_architectures: get("CompatibleArchitectures"),
        })
    }

    fn child_stack(
        &self,
        logical_id: &str,
        resource: &Mapping,
        resource_type: &str,
    ) -> Result<ChildStack> {
        let properties = self.properties(logical_id, resource)?;
        let property = if resource_type == "AWS::Serverless::Application" {
            "Location"
        } else {
            "TemplateURL"
        };
        let location = properties.get(property).map(|v| resolve(v, self.scope));
        let Some(Value::String(location)) = location else {
            return Ok(ChildStack::Remote);
        };
        if ["s3://", "http://", "https://"]
            .iter()
            .any(|scheme| location.starts_with(scheme))
        {
            return Ok(ChildStack::Remote);
        }
        let local = location.strip_prefix("file://").unwrap_or(&location);
        let file = paths::normalize(&self.template_dir.join(local));
        let mut parameters = IndexMap::new();
        if let Some(given) = properties.get("Parameters").map(|v| resolve(v, self.scope)) {
            let Value::Mapping(given) = given else {
                bail!(
                    "{}: resource '{logical_id}' property 'Parameters' must be a map",
                    self.file.display()
                );
            };
            for (name, value) in given {
                if let (Some(name), Some(value)) = (name.as_str(), parameter_text(&value)) {
                    parameters.insert(name.to_string(), value);
                }
            }
        }
        Ok(ChildStack::Local { file, parameters })
    }
}

/// The logical ids a `Layers` list names with `Ref` (ARNs and other values name no local layer).
fn layer_refs(layers: Option<&Value>) -> Vec<String> {
    let Some(Value::Sequence(items)) = layers else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| item.get("Ref").and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

fn is_s3_location(code: Option<&Value>) -> bool {
    match code {
        Some(Value::String(s)) => s.starts_with("s3://"),
        Some(Value::Mapping(m)) => m.contains_key("Bucket") || m.contains_key("S3Bucket"),
        _ => false,
    }
}

/// A resolved parameter value as the string CloudFormation would pass (lists joined by commas).
fn parameter_text(value: &Value) -> Option<String> {
    match value {
        Value::Sequence(items) => items
            .iter()
            .map(scalar_text)
            .collect::<Option<Vec<_>>>()
            .map(|parts| parts.join(",")),
        other => scalar_text(other),
    }
}
