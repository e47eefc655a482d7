//! The built template: the raw source template with built resources pointed at their artifacts
//! and every other relative path re-based to the output folder (spec §5.2). Pure.

use std::collections::HashMap;
use std::path::Path;

use serde_yaml::{Mapping, Value};

use crate::paths;

/// How one built resource changes in the output template.
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltResource {
    /// `CodeUri`, `Code`, `ContentUri`, `Content`, `Location` or `TemplateURL`.
    pub property: &'static str,
    /// The artifact path relative to the output template's folder.
    pub path: String,
    /// The Metadata to write (resolved, with `SamResourceId` last).
    pub metadata: Mapping,
}

/// Resource types and the properties holding a local path that SAM re-bases.
const PATH_PROPERTIES: &[(&str, &[&str])] = &[
    ("AWS::Serverless::Function", &["CodeUri"]),
    ("AWS::Serverless::WebFunction", &["CodeUri"]),
    ("AWS::Lambda::Function", &["Code"]),
    ("AWS::Serverless::LayerVersion", &["ContentUri"]),
    ("AWS::Lambda::LayerVersion", &["Content"]),
    ("AWS::Serverless::Api", &["DefinitionUri"]),
    ("AWS::Serverless::HttpApi", &["DefinitionUri"]),
    ("AWS::Serverless::StateMachine", &["DefinitionUri"]),
    ("AWS::Serverless::GraphQLApi", &["SchemaUri"]),
    ("AWS::Serverless::Application", &["Location"]),
    ("AWS::CloudFormation::Stack", &["TemplateURL"]),
    ("AWS::CloudFormation::StackSet", &["TemplateURL"]),
    ("AWS::AppSync::GraphQLSchema", &["DefinitionS3Location"]),
    (
        "AWS::AppSync::Resolver",
        &[
            "RequestMappingTemplateS3Location",
            "ResponseMappingTemplateS3Location",
            "CodeS3Location",
        ],
    ),
    (
        "AWS::AppSync::FunctionConfiguration",
        &[
            "RequestMappingTemplateS3Location",
            "ResponseMappingTemplateS3Location",
            "CodeS3Location",
        ],
    ),
    ("AWS::ApiGateway::RestApi", &["BodyS3Location"]),
    ("AWS::ApiGatewayV2::Api", &["BodyS3Location"]),
    (
        "AWS::ElasticBeanstalk::ApplicationVersion",
        &["SourceBundle"],
    ),
    ("AWS::CloudFormation::ModuleVersion", &["ModulePackage"]),
    (
        "AWS::CloudFormation::ResourceVersion",
        &["SchemaHandlerPackage"],
    ),
    (
        "AWS::StepFunctions::StateMachine",
        &["DefinitionS3Location"],
    ),
];

/// Rewrites one stack's raw template. `source_dir` is the template's folder (symlinks resolved),
/// `output_dir` the folder its output template is written to; `built` maps logical ids.
pub fn rewrite_template<S: std::hash::BuildHasher>(
    raw: &Mapping,
    source_dir: &Path,
    output_dir: &Path,
    built: &HashMap<String, BuiltResource, S>,
) -> Mapping {
    let rebase = |value: &mut Value| rebase_path(value, source_dir, output_dir);
    let mut template = raw.clone();

    if let Some(Value::Mapping(resources)) = template.get_mut("Resources") {
        for (id, resource) in resources.iter_mut() {
            let Value::Mapping(resource) = resource else {
                continue;
            };
            let id = id.as_str().unwrap_or_default();
            if let Some(change) = built.get(id) {
                apply_built(resource, change);
            } else {
                rebase_resource(resource, &rebase);
            }
            if let Some(Value::Mapping(metadata)) = resource.get_mut("Metadata")
                && let Some(asset) = metadata.get_mut("aws:asset:path")
            {
                rebase(asset);
            }
        }
    }
    if let Some(Value::Mapping(metadata)) = template.get_mut("Metadata")
        && let Some(Value::Mapping(app)) = metadata.get_mut("AWS::ServerlessRepo::Application")
    {
        for key in ["LicenseUrl", "ReadmeUrl"] {
            if let Some(value) = app.get_mut(key) {
                rebase(value);
            }
        }
    }
    let mut document = Value::Mapping(template);
    rebase_includes(&mut document, &rebase);
    match document {
        Value::Mapping(m) => m,
        _ => Mapping::new(),
    }
}

/// Applies `rebase` to every local path of one resource that SAM re-bases when it moves a
/// template: the properties of the table above, `aws:asset:path` and `AWS::Include` locations.
pub fn rebase_resource_paths(resource: &mut Mapping, rebase: &dyn Fn(&mut Value)) {
    rebase_resource(resource, rebase);
    if let Some(Value::Mapping(metadata)) = resource.get_mut("Metadata")
        && let Some(asset) = metadata.get_mut("aws:asset:path")
    {
        rebase(asset);
    }
    if let Some(properties) = resource.get_mut("Properties") {
        rebase_includes(properties, rebase);
    }
}

fn apply_built(resource: &mut Mapping, change: &BuiltResource) {
    resource.insert("Metadata".into(), Value::Mapping(change.metadata.clone()));
    let properties = resource
        .entry("Properties".into())
        .or_insert_with(|| Value::Mapping(Mapping::new()));
    if !properties.is_mapping() {
        *properties = Value::Mapping(Mapping::new());
    }
    if let Value::Mapping(properties) = properties {
        properties.insert(change.property.into(), Value::String(change.path.clone()));
    }
}

fn rebase_resource(resource: &mut Mapping, rebase: &dyn Fn(&mut Value)) {
    let resource_type = resource
        .get("Type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let Some(Value::Mapping(properties)) = resource.get_mut("Properties") else {
        return;
    };
    let is_image = properties.get("PackageType").and_then(Value::as_str) == Some("Image");
    if let Some((_, names)) = PATH_PROPERTIES.iter().find(|(t, _)| *t == resource_type) {
        for name in *names {
            if is_image && matches!(*name, "CodeUri" | "Code") {
                continue;
            }
            if let Some(value) = properties.get_mut(*name) {
                rebase(value);
            }
        }
    }
    match resource_type.as_str() {
        "AWS::Glue::Job" => {
            if let Some(Value::Mapping(command)) = properties.get_mut("Command")
                && let Some(value) = command.get_mut("ScriptLocation")
            {
                rebase(value);
            }
        }
        "AWS::Serverless::GraphQLApi" => {
            for (key, value) in properties.iter_mut() {
                if key.as_str() != Some("SchemaUri") {
                    rebase_code_uris(value, rebase);
                }
            }
        }
        _ => {}
    }
}

fn rebase_code_uris(value: &mut Value, rebase: &dyn Fn(&mut Value)) {
    match value {
        Value::Mapping(map) => {
            for (key, inner) in map.iter_mut() {
                if key.as_str() == Some("CodeUri") {
                    rebase(inner);
                } else {
                    rebase_code_uris(inner, rebase);
                }
            }
        }
        Value::Sequence(items) => items.iter_mut().for_each(|v| rebase_code_uris(v, rebase)),
        _ => {}
    }
}

/// `Fn::Transform: {Name: AWS::Include, Parameters: {Location: ...}}` anywhere in the template.
fn rebase_includes(value: &mut Value, rebase: &dyn Fn(&mut Value)) {
    match value {
        Value::Mapping(map) => {
            for (key, inner) in map.iter_mut() {
                if key.as_str() == Some("Fn::Transform")
                    && let Value::Mapping(transform) = inner
                    && transform.get("Name").and_then(Value::as_str) == Some("AWS::Include")
                    && let Some(Value::Mapping(parameters)) = transform.get_mut("Parameters")
                    && let Some(location) = parameters.get_mut("Location")
                {
                    rebase(location);
                }
                rebase_includes(inner, rebase);
            }
        }
        Value::Sequence(items) => items.iter_mut().for_each(|v| rebase_includes(v, rebase)),
        _ => {}
    }
}

/// Re-bases a relative path string from `source_dir` to `output_dir`; leaves anything else.
fn rebase_path(value: &mut Value, source_dir: &Path, output_dir: &Path) {
    let Value::String(text) = value else {
        return;
    };
    if text.starts_with("s3://") || text.starts_with("http://") || text.starts_with("https://") {
        return;
    }
    if Path::new(text.as_str()).is_absolute() {
        return;
    }
    let target = paths::normalize(&source_dir.join(text.as_str()));
    *text = paths::to_template_string(&paths::relative(&target, output_dir));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Mapping {
        crate::template::load::parse_template(text)
            .expect("yaml")
            .as_mapping()
            .cloned()
            .expect("map")
    }

    fn built(property: &'static str, path: &str, metadata: &str) -> BuiltResource {
        BuiltResource {
            property,
            path: path.into(),
            metadata: yaml(metadata),
        }
    }

    #[test]
    fn built_function_points_at_its_artifact_and_keeps_its_place() {
        let raw = yaml(
            "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Metadata: {BuildMethod: rust-cargolambda}\n    Properties: {CodeUri: ./, Handler: bootstrap}\n",
        );
        let mut changes = HashMap::new();
        changes.insert(
            "F".to_string(),
            built(
                "CodeUri",
                "F",
                "BuildMethod: rust-cargolambda\nSamResourceId: F\n",
            ),
        );
        let out = rewrite_template(
            &raw,
            Path::new("/p"),
            Path::new("/p/.aws-sam/build"),
            &changes,
        );
        let expected = yaml(
            "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Metadata: {BuildMethod: rust-cargolambda, SamResourceId: F}\n    Properties: {CodeUri: F, Handler: bootstrap}\n",
        );
        assert_eq!(out, expected);
    }

    #[test]
    fn code_property_from_globals_is_added_last() {
        let raw = yaml(
            "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Metadata: {BuildMethod: rust-cargolambda}\n    Properties: {Timeout: 3}\n",
        );
        let mut changes = HashMap::new();
        changes.insert("F".to_string(), built("CodeUri", "F", "SamResourceId: F\n"));
        let out = rewrite_template(
            &raw,
            Path::new("/p"),
            Path::new("/p/.aws-sam/build"),
            &changes,
        );
        let props = out["Resources"]["F"]["Properties"]
            .as_mapping()
            .expect("map");
        let keys: Vec<_> = props.keys().filter_map(Value::as_str).collect();
        assert_eq!(keys, ["Timeout", "CodeUri"]);
    }

    #[test]
    fn other_paths_are_rebased_and_remote_or_absolute_ones_kept() {
        let raw = yaml(
            "Resources:
  Z: {Type: AWS::Serverless::Function, Properties: {CodeUri: prebuilt.zip}}
  U: {Type: AWS::Serverless::Function, Properties: {CodeUri: .}}
  L: {Type: AWS::Serverless::LayerVersion, Properties: {ContentUri: layer/}}
  C: {Type: AWS::Lambda::LayerVersion, Properties: {Content: layer}}
  A: {Type: AWS::Serverless::Api, Properties: {DefinitionUri: api.yaml}}
  S: {Type: AWS::Serverless::Function, Properties: {CodeUri: s3://b/k.zip}}
  H: {Type: AWS::Serverless::HttpApi, Properties: {DefinitionUri: /abs/api.yaml}}
  G: {Type: AWS::Glue::Job, Properties: {Command: {ScriptLocation: job.py}}}
  X: {Type: AWS::S3::Bucket, Properties: {CodeUri: untouched}}
  I:
    Type: AWS::S3::Bucket
    Properties:
      Fn::Transform: {Name: AWS::Include, Parameters: {Location: inc.yaml}}
",
        );
        let out = rewrite_template(
            &raw,
            Path::new("/p"),
            Path::new("/p/.aws-sam/build"),
            &HashMap::new(),
        );
        let r = &out["Resources"];
        assert_eq!(r["Z"]["Properties"]["CodeUri"], "../../prebuilt.zip");
        assert_eq!(r["U"]["Properties"]["CodeUri"], "../..");
        assert_eq!(r["L"]["Properties"]["ContentUri"], "../../layer");
        assert_eq!(r["C"]["Properties"]["Content"], "../../layer");
        assert_eq!(r["A"]["Properties"]["DefinitionUri"], "../../api.yaml");
        assert_eq!(r["S"]["Properties"]["CodeUri"], "s3://b/k.zip");
        assert_eq!(r["H"]["Properties"]["DefinitionUri"], "/abs/api.yaml");
        assert_eq!(
            r["G"]["Properties"]["Command"]["ScriptLocation"],
            "../../job.py"
        );
        assert_eq!(r["X"]["Properties"]["CodeUri"], "untouched");
        assert_eq!(
            r["I"]["Properties"]["Fn::Transform"]["Parameters"]["Location"],
            "../../inc.yaml"
        );
    }

    #[test]
    fn globals_are_not_rebased() {
        let raw = yaml(
            "Globals: {Function: {CodeUri: ./}}\nResources:\n  F: {Type: AWS::Serverless::Function}\n",
        );
        let out = rewrite_template(
            &raw,
            Path::new("/p"),
            Path::new("/p/.aws-sam/build"),
            &HashMap::new(),
        );
        assert_eq!(out["Globals"]["Function"]["CodeUri"], "./");
    }
}
