//! Loads the root template and its local nested stacks into a `Project`, resolving what decides
//! each build (Globals, parameters, intrinsics) while keeping each raw template for the writer.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_yaml::{Mapping, Value};

use super::error::TemplateError;
use super::globals::{function_globals, merge_function_globals};
use super::intrinsics::{Scope, parameter_values, resolve, scalar_text};
#[cfg(test)]
use super::load::read_template_at;
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
pub fn load_project(options: &ProjectOptions) -> Result<Project, TemplateError> {
    load_project_with(options, &|path: &Path| {
        if !path.is_file() {
            return Err(TemplateError::NotFound {
                path: path.to_path_buf(),
                above: options.template_above.clone(),
            });
        }
        load_template_file(path)
    })
}

/// How a template file is read into its document.
pub type ReadTemplate<'a> = dyn Fn(&Path) -> Result<Parsed, TemplateError> + 'a;

/// Like `load_project`, with templates read by `read` (tests hand in text from memory).
pub fn load_project_with(
    options: &ProjectOptions,
    read: &ReadTemplate<'_>,
) -> Result<Project, TemplateError> {
    let mut project = Project {
        stacks: Vec::new(),
        remote_stacks: Vec::new(),
        warnings: Vec::new(),
    };
    let loader = Loader { options, read };
    let root = StackFile {
        path: Vec::new(),
        template_file: options.template_file.clone(),
        parameters: options.parameter_overrides.clone(),
    };
    loader.load_stack(&root, &mut project, &mut Vec::new())?;
    Ok(project)
}

/// The project of templates held in memory as (path, text), the first one the root (for tests).
#[cfg(test)]
pub(crate) fn load_project_in_memory(templates: &[(&str, &str)]) -> Result<Project, TemplateError> {
    let files: std::collections::BTreeMap<PathBuf, &str> = templates
        .iter()
        .map(|(path, text)| (PathBuf::from(path), *text))
        .collect();
    let options = ProjectOptions {
        template_file: PathBuf::from(templates.first().map_or("", |(path, _)| *path)),
        base_dir: None,
        parameter_overrides: IndexMap::new(),
        region: None,
        template_above: None,
    };
    load_project_with(&options, &|path: &Path| {
        let text = files.get(path).ok_or_else(|| TemplateError::NotFound {
            path: path.to_path_buf(),
            above: None,
        })?;
        read_template_at(text, path, false)
    })
}

/// A template to load as a stack: where it sits in the tree and what its parent passes it.
struct StackFile {
    /// The logical ids of the nested stack resources from the root down (empty for the root).
    path: Vec<String>,
    template_file: PathBuf,
    parameters: IndexMap<String, String>,
}

/// Loads stacks depth first into a `Project`.
struct Loader<'a> {
    options: &'a ProjectOptions,
    read: &'a ReadTemplate<'a>,
}

impl Loader<'_> {
    /// Loads `stack` and the local nested stacks below it; returns its index in
    /// `project.stacks`. `chain` holds the templates being loaded above it.
    fn load_stack(
        &self,
        stack: &StackFile,
        project: &mut Project,
        chain: &mut Vec<PathBuf>,
    ) -> Result<usize, TemplateError> {
        let file = stack.template_file.as_path();
        let raw = self.read_document(file, project)?;
        let canonical = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
        if chain.contains(&canonical) || chain.len() >= MAX_STACK_DEPTH {
            return Err(TemplateError::IncludesItself {
                stack: stack.path.join("/"),
                path: file.to_path_buf(),
            });
        }
        let dir = file.parent().map_or_else(
            || PathBuf::from("/"),
            |p| p.canonicalize().unwrap_or_else(|_| p.to_path_buf()),
        );
        let resources = resources_of(&raw, file)?;
        let globals = function_globals(&raw).map_err(|e| TemplateError::Globals {
            path: file.to_path_buf(),
            problem: format!("{e:#}"),
        })?;
        let values = parameter_values(&raw, &stack.parameters, self.options.region.as_deref());
        let scope = Scope {
            parameters: &values,
            mappings: raw.get("Mappings").and_then(Value::as_mapping),
            conditions: raw.get("Conditions").and_then(Value::as_mapping),
        };
        let index = project.stacks.len();
        let prefix: String = stack.path.iter().map(|p| format!("{p}/")).collect();
        let reader = ResourceReader {
            file,
            stack: index,
            stack_path: &stack.path,
            prefix: &prefix,
            scope: &scope,
            base_dir: self.options.base_dir.as_deref().unwrap_or(&dir),
            has_base_dir: self.options.base_dir.is_some(),
            template_dir: &dir,
        };
        let found = reader.resources(resources, &globals)?;

        project.remote_stacks.extend(found.remote_stacks);
        project.stacks.push(Stack {
            path: stack.path.clone(),
            template_file: file.to_path_buf(),
            dir,
            raw,
            parameters: values,
            functions: found.functions,
            layers: found.layers,
            children: Vec::new(),
        });
        chain.push(canonical);
        for child in found.children {
            let child_index =
                self.load_stack(&child, project, chain)
                    .map_err(|error| TemplateError::Nested {
                        stack: child.path.join("/"),
                        error: Box::new(error),
                    })?;
            let logical_id = child.path.last().cloned().unwrap_or_default();
            project.stacks[index]
                .children
                .push((logical_id, child_index));
        }
        chain.pop();
        Ok(index)
    }

    /// Reads `file` (its warnings go to the project) and checks that it holds a map.
    fn read_document(&self, file: &Path, project: &mut Project) -> Result<Mapping, TemplateError> {
        let Parsed { document, warnings } = (self.read)(file)?;
        project.warnings.extend(warnings);
        match document {
            Value::Mapping(raw) => Ok(raw),
            other => Err(TemplateError::Parse {
                path: file.to_path_buf(),
                problem: format!("the document must be a map (found {})", kind_of(&other)),
            }),
        }
    }
}

/// The template's `Resources`, which must hold at least one resource.
fn resources_of<'a>(raw: &'a Mapping, file: &Path) -> Result<&'a Mapping, TemplateError> {
    match raw.get("Resources") {
        Some(Value::Mapping(resources)) if !resources.is_empty() => Ok(resources),
        _ => Err(TemplateError::NoResources {
            path: file.to_path_buf(),
        }),
    }
}

/// The resources of one stack that the build looks at.
#[derive(Default)]
struct StackResources {
    functions: Vec<Function>,
    layers: Vec<Layer>,
    /// Local nested stacks, to load after this one.
    children: Vec<StackFile>,
    remote_stacks: Vec<RemoteStack>,
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
    /// The stack's path from the root, and the same as a prefix of full paths (`A/B/`).
    stack_path: &'a [String],
    prefix: &'a str,
    scope: &'a Scope<'a>,
    base_dir: &'a Path,
    has_base_dir: bool,
    template_dir: &'a Path,
}

impl ResourceReader<'_> {
    /// The functions, layers and nested stacks among `resources`, in template order.
    fn resources(
        &self,
        resources: &Mapping,
        globals: &Mapping,
    ) -> Result<StackResources, TemplateError> {
        let mut found = StackResources::default();
        for (key, resource) in resources {
            let (logical_id, resource, resource_type) = self.resource(key, resource)?;
            match resource_type {
                "AWS::Serverless::Function" => found.functions.push(self.function(
                    logical_id,
                    resource,
                    FunctionKind::Serverless,
                    Some(globals),
                )?),
                "AWS::Lambda::Function" => {
                    let kind = FunctionKind::Lambda;
                    found
                        .functions
                        .push(self.function(logical_id, resource, kind, None)?);
                }
                "AWS::Serverless::WebFunction" => {
                    let kind = FunctionKind::Web;
                    found
                        .functions
                        .push(self.function(logical_id, resource, kind, None)?);
                }
                "AWS::Serverless::LayerVersion" => {
                    let kind = LayerKind::Serverless;
                    found.layers.push(self.layer(logical_id, resource, kind)?);
                }
                "AWS::Lambda::LayerVersion" => {
                    let kind = LayerKind::Lambda;
                    found.layers.push(self.layer(logical_id, resource, kind)?);
                }
                "AWS::Serverless::Application" | "AWS::CloudFormation::Stack" => {
                    match self.child_stack(logical_id, resource, resource_type)? {
                        ChildStack::Local { file, parameters } => {
                            found.children.push(StackFile {
                                path: [self.stack_path, &[logical_id.to_string()]].concat(),
                                template_file: file,
                                parameters,
                            });
                        }
                        ChildStack::Remote => found.remote_stacks.push(RemoteStack {
                            full_path: format!("{}{logical_id}", self.prefix),
                        }),
                    }
                }
                _ => {}
            }
        }
        Ok(found)
    }

    /// A resource's logical id, its map and its `Type`, checked.
    fn resource<'r>(
        &self,
        key: &'r Value,
        resource: &'r Value,
    ) -> Result<(&'r str, &'r Mapping, &'r str), TemplateError> {
        let path = self.file.to_path_buf();
        let logical_id = key
            .as_str()
            .ok_or_else(|| TemplateError::ResourceId { path: path.clone() })?;
        if logical_id.starts_with("Fn::ForEach::") {
            return Err(TemplateError::ForEach {
                path,
                logical_id: logical_id.to_string(),
            });
        }
        let Some(resource) = resource.as_mapping() else {
            return Err(self.not_a_map(logical_id, None, Some(kind_of(resource))));
        };
        let Some(resource_type) = resource.get("Type").and_then(Value::as_str) else {
            return Err(TemplateError::NoType {
                path,
                logical_id: logical_id.to_string(),
            });
        };
        Ok((logical_id, resource, resource_type))
    }

    fn not_a_map(
        &self,
        logical_id: &str,
        property: Option<&'static str>,
        found: Option<&'static str>,
    ) -> TemplateError {
        TemplateError::NotAMap {
            path: self.file.to_path_buf(),
            logical_id: logical_id.to_string(),
            property,
            found,
        }
    }

    fn properties(&self, logical_id: &str, resource: &Mapping) -> Result<Mapping, TemplateError> {
        match resource.get("Properties") {
            None | Some(Value::Null) => Ok(Mapping::new()),
            Some(Value::Mapping(m)) => Ok(m.clone()),
            Some(other) => {
                Err(self.not_a_map(logical_id, Some("Properties"), Some(kind_of(other))))
            }
        }
    }

    fn metadata(&self, logical_id: &str, resource: &Mapping) -> Result<Mapping, TemplateError> {
        match resource.get("Metadata").map(|m| resolve(m, self.scope)) {
            None | Some(Value::Null) => Ok(Mapping::new()),
            Some(Value::Mapping(m)) => Ok(m),
            Some(other) => Err(self.not_a_map(logical_id, Some("Metadata"), Some(kind_of(&other)))),
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
    ) -> Result<Function, TemplateError> {
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

    fn layer(
        &self,
        logical_id: &str,
        resource: &Mapping,
        kind: LayerKind,
    ) -> Result<Layer, TemplateError> {
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
    ) -> Result<ChildStack, TemplateError> {
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
                return Err(self.not_a_map(logical_id, Some("Parameters"), None));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(templates: &[(&str, &str)]) -> String {
        load_project_in_memory(templates)
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn an_error_in_a_nested_stack_names_the_stack_path() {
        let root = "Resources:\n  Child: {Type: AWS::Serverless::Application, Properties: {Location: child/template.yaml}}\n";
        let child = "Resources:\n  Inner: {Type: AWS::CloudFormation::Stack, Properties: {TemplateURL: ../inner.yaml}}\n";
        let inner = "Resources:\n  F: {Type: AWS::Serverless::Function, Properties: [1]}\n";
        let message = error_of(&[
            ("/p/template.yaml", root),
            ("/p/child/template.yaml", child),
            ("/p/inner.yaml", inner),
        ]);
        assert_eq!(
            message,
            "Nested stack 'Child' (its Location/TemplateURL property): Nested stack 'Child/Inner' (its Location/TemplateURL property): /p/inner.yaml: resource 'F' property 'Properties' must be a map (found a list)"
        );
    }

    #[test]
    fn a_stack_that_includes_itself_is_refused() {
        let root = "Resources:\n  Again: {Type: AWS::Serverless::Application, Properties: {Location: template.yaml}}\n";
        let message = error_of(&[("/p/template.yaml", root)]);
        assert!(
            message.ends_with(
                "Nested stack Again includes /p/template.yaml again (nested stacks may not include themselves)"
            ),
            "{message}"
        );
    }

    #[test]
    fn documents_and_resources_of_the_wrong_shape_are_named() {
        let cases = [
            (
                "[1]",
                "Failed to parse template /p/t.yaml: the document must be a map (found a list)",
            ),
            (
                "Resources: {}",
                "'Resources' section is required: /p/t.yaml has no Resources map with at least one resource",
            ),
            (
                "Resources: {A: 1}",
                "/p/t.yaml: resource 'A' must be a map (found a number)",
            ),
            (
                "Resources: {A: {Properties: {}}}",
                "/p/t.yaml: resource 'A' needs a 'Type' string",
            ),
            (
                "Resources: {1: {Type: X}}",
                "/p/t.yaml: a resource id must be a string",
            ),
            (
                "Resources: {S: {Type: AWS::CloudFormation::Stack, Properties: {TemplateURL: s.yaml, Parameters: [1]}}}",
                "/p/t.yaml: resource 'S' property 'Parameters' must be a map",
            ),
            (
                "Globals: {Function: {Nope: 1}}\nResources: {A: {Type: X}}",
                "Invalid Globals section in /p/t.yaml: 'Nope' is not a supported property of 'Function' in Globals.",
            ),
        ];
        for (text, expected) in cases {
            let message = error_of(&[("/p/t.yaml", text)]);
            assert!(message.starts_with(expected), "{text}: {message}");
        }
        let missing = error_of(&[(
            "/p/t.yaml",
            "Resources: {S: {Type: AWS::CloudFormation::Stack, Properties: {TemplateURL: gone.yaml}}}",
        )]);
        assert!(
            missing.ends_with("Template file not found at /p/gone.yaml"),
            "{missing}"
        );
    }

    #[test]
    fn a_missing_template_points_at_the_one_above() {
        let error = TemplateError::NotFound {
            path: PathBuf::from("/p/src/template.yml"),
            above: Some(PathBuf::from("/p/template.yaml")),
        };
        assert_eq!(
            error.to_string(),
            "Template file not found at /p/src/template.yml\nThe project's template is /p/template.yaml: run samrs build in /p, or pass -t ../template.yaml (the build then goes to .aws-sam in this folder)"
        );
    }
}
