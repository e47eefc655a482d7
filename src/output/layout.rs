//! Where each artifact goes in a build folder (`<build-dir>/<stack path>/<LogicalId>/`) and
//! how a file is put there.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::plan::{Artifact, BuildPlan, FunctionRef, LayerRef};
use crate::template::Project;

/// The folder of a stack's template under `root`.
pub fn stack_dir(root: &Path, stack_path: &[String]) -> PathBuf {
    let mut dir = root.to_path_buf();
    for part in stack_path {
        dir.push(part);
    }
    dir
}

/// The folder of a resource's artifacts under `root` (the staging or the final build folder).
pub fn resource_dir(root: &Path, project: &Project, stack: usize, logical_id: &str) -> PathBuf {
    stack_dir(root, &project.stacks[stack].path).join(logical_id)
}

/// A function's artifact folder under `root`.
pub fn function_dir(root: &Path, project: &Project, f: FunctionRef) -> PathBuf {
    let function = f.get(project);
    resource_dir(root, project, function.stack, &function.logical_id)
}

/// A layer's artifact folder under `root`.
pub fn layer_dir(root: &Path, project: &Project, l: LayerRef) -> PathBuf {
    let layer = l.get(project);
    resource_dir(root, project, layer.stack, &layer.logical_id)
}

/// The folders an artifact fills under `root`: one per function of a definition, or the layer's.
pub fn artifact_dirs(root: &Path, plan: &BuildPlan, artifact: Artifact) -> Vec<PathBuf> {
    match artifact {
        Artifact::Function(i) => plan.definitions[i]
            .functions
            .iter()
            .map(|f| function_dir(root, plan.project, *f))
            .collect(),
        Artifact::Layer(i) => vec![layer_dir(root, plan.project, plan.layers[i].layer)],
    }
}

/// Copies a built binary to where its artifact wants it under `root`: every function's
/// `bootstrap`, or the layer's `extensions/<bin>`.
pub fn place_binary(
    root: &Path,
    plan: &BuildPlan,
    artifact: Artifact,
    bin: &str,
    binary: &Path,
) -> anyhow::Result<()> {
    for destination in binary_destinations(root, plan, artifact, bin) {
        if let Some(parent) = destination.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("Unable to create {}", parent.display()))?;
        }
        copy_keeping_time(binary, &destination)?;
    }
    Ok(())
}

/// Where a built binary goes under `root`: every function's `bootstrap`, or the layer's
/// `extensions/<bin>`.
pub fn binary_destinations(
    root: &Path,
    plan: &BuildPlan,
    artifact: Artifact,
    bin: &str,
) -> Vec<PathBuf> {
    artifact_dirs(root, plan, artifact)
        .into_iter()
        .map(|dir| match artifact {
            Artifact::Function(_) => dir.join("bootstrap"),
            Artifact::Layer(_) => dir.join("extensions").join(bin),
        })
        .collect()
}

/// Copies a file with its permission bits and modification time, like Python's copy2.
pub fn copy_keeping_time(source: &Path, target: &Path) -> anyhow::Result<()> {
    std::fs::copy(source, target).with_context(|| {
        format!(
            "Unable to copy {} to {}",
            source.display(),
            target.display()
        )
    })?;
    if let Ok(modified) = std::fs::metadata(source).and_then(|m| m.modified())
        && let Ok(file) = std::fs::File::options().write(true).open(target)
    {
        let _ = file.set_modified(modified);
    }
    Ok(())
}
