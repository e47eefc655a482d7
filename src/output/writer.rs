//! Writes the built templates of every stack and other files of a build.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_yaml::{Mapping, Value};

use crate::output::build_toml::BuildRecord;
use crate::output::layout::{function_dir, layer_dir, stack_dir};
use crate::output::template::{BuiltResource, rewrite_template};
use crate::output::yaml::to_sam_yaml;
use crate::paths;
use crate::plan::{Artifact, BuildPlan};
use crate::sam::merge::{SamBuild, StackDirs, take_sam_resources};
use crate::settings::Settings;
use crate::template::load::parse_template;

/// Resolved Metadata with `SamResourceId` as its last key.
fn metadata_with_id(metadata: &Mapping, id: &str) -> Mapping {
    let mut metadata = metadata.clone();
    metadata.remove("SamResourceId");
    metadata.insert("SamResourceId".into(), Value::String(id.to_string()));
    metadata
}

/// Writes every stack's built template into `staging`; the resources sam's part built are
/// taken from sam's templates.
pub fn write_templates(
    work: &BuildPlan,
    settings: &Settings,
    staging: &Path,
    sam: Option<&SamBuild>,
) -> anyhow::Result<()> {
    for (relative, text) in render_templates(work, settings, sam)? {
        let target = staging.join(relative);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("Unable to create {}", dir.display()))?;
        }
        std::fs::write(&target, text)
            .with_context(|| format!("Unable to write {}", target.display()))?;
    }
    Ok(())
}

/// Every stack's built template: its path relative to the build folder and its text.
pub(crate) fn render_templates(
    work: &BuildPlan,
    settings: &Settings,
    sam: Option<&SamBuild>,
) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let project = work.project;
    let mut built: Vec<HashMap<String, BuiltResource>> = vec![HashMap::new(); project.stacks.len()];
    let relative_to_stack = |stack: usize, dir: &Path| {
        let output_dir = stack_dir(&settings.build_dir, &project.stacks[stack].path);
        paths::to_template_string(&paths::relative(dir, &output_dir))
    };
    for definition in &work.definitions {
        for f in &definition.functions {
            let function = f.get(project);
            let id = function.full_path.rsplit('/').next().unwrap_or_default();
            built[function.stack].insert(
                function.logical_id.clone(),
                BuiltResource {
                    property: function.kind.code_property(),
                    path: relative_to_stack(
                        function.stack,
                        &function_dir(&settings.build_dir, project, *f),
                    ),
                    metadata: metadata_with_id(&function.metadata, id),
                },
            );
        }
    }
    for definition in &work.layers {
        let layer = definition.layer.get(project);
        let id = layer.full_path.rsplit('/').next().unwrap_or_default();
        built[layer.stack].insert(
            layer.logical_id.clone(),
            BuiltResource {
                property: layer.kind.content_property(),
                path: relative_to_stack(
                    layer.stack,
                    &layer_dir(&settings.build_dir, project, definition.layer),
                ),
                metadata: metadata_with_id(&layer.metadata, id),
            },
        );
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
            let metadata = resource
                .and_then(|r| r.get("Metadata"))
                .and_then(Value::as_mapping)
                .cloned()
                .unwrap_or_default();
            built[index].insert(
                logical_id.clone(),
                BuiltResource {
                    property: if resource_type == "AWS::Serverless::Application" {
                        "Location"
                    } else {
                        "TemplateURL"
                    },
                    path: format!("{logical_id}/template.yaml"),
                    metadata: metadata_with_id(&metadata, logical_id),
                },
            );
        }
    }
    let mut templates = Vec::new();
    for (index, stack) in project.stacks.iter().enumerate() {
        let output_dir = stack_dir(&settings.build_dir, &stack.path);
        let mut rewritten = rewrite_template(&stack.raw, &stack.dir, &output_dir, &built[index]);
        if let Some(sam) = sam
            && let Some(ids) = sam.built.get(index).filter(|ids| !ids.is_empty())
        {
            let sam_output = stack_dir(&sam.root, &stack.path);
            let file = sam_output.join("template.yaml");
            let text = std::fs::read_to_string(&file).with_context(|| {
                format!("Unable to read sam build's template {}", file.display())
            })?;
            let document = parse_template(&text).with_context(|| {
                format!("Unable to read sam build's template {}", file.display())
            })?;
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            take_sam_resources(
                &mut rewritten,
                document.as_mapping().unwrap_or(&Mapping::new()),
                &ids,
                StackDirs {
                    sam_root: &sam.root,
                    sam_output: &sam_output,
                    output: &output_dir,
                },
            );
        }
        let text = to_sam_yaml(&Value::Mapping(rewritten));
        templates.push((
            stack_dir(Path::new(""), &stack.path).join("template.yaml"),
            text,
        ));
    }
    Ok(templates)
}

/// The definitions with their resources' full paths, for build.toml.
pub fn build_record<'a>(plan: &'a BuildPlan) -> BuildRecord<'a> {
    BuildRecord {
        functions: plan
            .definitions
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let names = plan.names(Artifact::Function(i));
                (d, names.into_iter().map(str::to_string).collect())
            })
            .collect(),
        layers: plan
            .layers
            .iter()
            .map(|l| (l, l.layer.get(plan.project).full_path.clone()))
            .collect(),
    }
}
