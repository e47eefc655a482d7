//! Where each artifact goes in a build folder (`<build-dir>/<stack path>/<LogicalId>/`) and
//! how a file is put there.

use std::path::{Path, PathBuf};

use crate::plan::{FunctionRef, LayerRef};
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

/// Copies a file with its permission bits and modification time, like Python's copy2.
pub fn copy_keeping_time(source: &Path, target: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
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
