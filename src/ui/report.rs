//! What a build tells the user about itself, in SAM's words: resources it skips, each build
//! definition it starts, the closing table, and the success or failure report.

use crate::cargo::{BuildReport, CargoError};
use crate::error::Failure;
use std::path::{Path, PathBuf};

use crate::output::layout::{artifact_dirs, resource_dir};
use crate::paths;
use crate::plan::{Artifact, BuildPlan};
use crate::sam::merge::resource_order;
use crate::sam::run::{SamFailed, SamReport};
use crate::settings::Settings;
use crate::template::{Project, SkipReason};
use crate::ui::{OutputFormat, Ui, strip_colours};

impl Ui {
    /// SAM's experimental-features notice and the notes about the configuration.
    pub fn settings_notices(&self, settings: &Settings) {
        if self.rebuild {
            return;
        }
        if settings.beta_notice {
            self.warn("\nExperimental features are enabled for this session.\nVisit the docs page to learn more about the AWS Beta terms https://aws.amazon.com/service-terms/.\n");
        }
        for notice in &settings.notices {
            self.log(notice);
        }
    }

    /// SAM's warnings for functions it will not build (S3 code, ECR images) and remote stacks.
    pub fn skipped_resources(&self, project: &Project) {
        if self.rebuild {
            return;
        }
        for stack in &project.stacks {
            for f in &stack.functions {
                match f.skip {
                    Some(SkipReason::S3Code) => self.log(&format!(
                        "The resource {} '{}' has specified S3 location for {}. It will not be built and SAM CLI does not support invoking it locally.",
                        f.kind.type_name(),
                        f.logical_id,
                        f.kind.code_property()
                    )),
                    Some(SkipReason::EcrImage) => self.log(&format!(
                        "The resource {} '{}' has specified ECR registry image for ImageUri. It will not be built and SAM CLI does not support invoking it locally.",
                        f.kind.type_name(),
                        f.logical_id
                    )),
                    _ => {}
                }
            }
        }
        if !project.remote_stacks.is_empty() {
            let mut text = String::from(
                "Below nested stacks(s) specify non-local URL(s), which are unsupported:",
            );
            for remote in &project.remote_stacks {
                text.push_str(&format!("\n- {}", remote.full_path));
            }
            text.push_str("\nSkipping building resources inside these nested stacks.");
            self.warn(&text);
        }
    }

    /// SAM's line for a build definition (or layer) whose cargo run starts.
    pub fn building(&self, plan: &BuildPlan, artifact: Artifact) {
        if self.rebuild {
            return;
        }
        match artifact {
            Artifact::Function(i) => {
                let d = &plan.definitions[i];
                self.log(&format!(
                    "Building codeuri: {} runtime: {} architecture: {} functions: {}",
                    d.code_uri,
                    d.target.runtime.as_str(),
                    d.target.architecture.as_str(),
                    plan.names(artifact).join(", ")
                ));
            }
            Artifact::Layer(_) => {
                self.log(&format!("Building layer '{}'", plan.names(artifact)[0]));
            }
        }
    }

    /// The closing table on stderr: each function and layer, its target, artifact size, build
    /// time, or that it came from the cache.
    pub fn summary(
        &self,
        plan: &BuildPlan,
        report: &BuildReport,
        sam: Option<&SamReport>,
        settings: &Settings,
    ) {
        if self.rebuild {
            return;
        }
        let mut rows = Vec::new();
        for artifact in plan.artifacts() {
            let target = plan.target(artifact);
            let how = match report.elapsed(artifact) {
                Some(_) if report.up_to_date(artifact) => "up to date".to_string(),
                Some(elapsed) => format!("built in {:.1}s", elapsed.as_secs_f64()),
                None => "from cache".to_string(),
            };
            let dirs = artifact_dirs(&settings.build_dir, plan, artifact);
            for (name, dir) in plan.names(artifact).into_iter().zip(dirs) {
                rows.push([
                    name.to_string(),
                    format!(
                        "{} {}",
                        target.runtime.as_str(),
                        target.architecture.as_str()
                    ),
                    mebibytes(folder_size(&dir)),
                    how.clone(),
                ]);
            }
        }
        if let Some(sam) = sam {
            let how = format!("sam build, {:.1}s", sam.elapsed.as_secs_f64());
            for resource in &sam.resources {
                let id = json_text(resource, "resource_id");
                let target = if json_text(resource, "type") == "layer" {
                    let runtimes: Vec<&str> = resource
                        .get("compatible_runtimes")
                        .and_then(serde_json::Value::as_array)
                        .map(|r| r.iter().filter_map(serde_json::Value::as_str).collect())
                        .unwrap_or_default();
                    format!("layer {}", runtimes.join(" "))
                } else if json_text(resource, "package_type") == "Image" {
                    format!("image {}", json_text(resource, "architecture"))
                } else {
                    format!(
                        "{} {}",
                        json_text(resource, "runtime"),
                        json_text(resource, "architecture")
                    )
                };
                let dir = resource_dir_of(plan.project, &settings.build_dir, id);
                rows.push([
                    id.to_string(),
                    target.trim().to_string(),
                    mebibytes(folder_size(&dir)),
                    how.clone(),
                ]);
            }
        }
        if !rows.is_empty() {
            self.log(&table(["Resource", "Target", "Size", "Build"], &rows));
        }
    }

    /// SAM's success report: the banner, or the JSON result with every built resource (as one
    /// `sam build` lists them: functions, then layers, each in template order).
    pub fn success(&self, plan: &BuildPlan, sam: Option<&SamReport>, settings: &Settings) {
        if self.rebuild {
            return;
        }
        let template = settings.build_dir.join("template.yaml");
        match settings.output {
            OutputFormat::Text => {
                let default_dir = settings.build_dir == settings.cwd.join(".aws-sam/build");
                self.success_banner(
                    &settings.build_dir_shown,
                    &paths::to_template_string(&paths::relative(&template, &settings.cwd)),
                    default_dir,
                );
            }
            OutputFormat::Json => {
                let mut resources: Vec<serde_json::Value> = plan
                    .definitions
                    .iter()
                    .flat_map(|d| {
                        d.functions.iter().map(move |f| {
                            serde_json::json!({
                                "resource_id": f.get(plan.project).full_path,
                                "type": "function",
                                "package_type": d.package_type,
                                "runtime": d.target.runtime.as_str(),
                                "architecture": d.target.architecture.as_str(),
                            })
                        })
                    })
                    .chain(plan.layers.iter().map(|l| {
                        serde_json::json!({
                            "resource_id": l.layer.get(plan.project).full_path,
                            "type": "layer",
                            "compatible_runtimes": l.compatible_runtimes,
                        })
                    }))
                    .chain(sam.into_iter().flat_map(|s| s.resources.iter().cloned()))
                    .collect();
                let order = resource_order(plan.project);
                resources.sort_by_key(|r| {
                    let layer = json_text(r, "type") == "layer";
                    (layer, order.position(json_text(r, "resource_id"), layer))
                });
                self.json(&serde_json::json!({
                    "type": "result",
                    "status": "success",
                    "build_dir": settings.build_dir.to_string_lossy(),
                    "template_file": template.to_string_lossy(),
                    "resources": resources,
                }));
            }
        }
    }

    /// Reports a failure as SAM does: usage header, "Build Failed", JSON, and the `Error:` line.
    pub fn failure(&self, failure: &Failure) {
        let message = failure.message();
        match failure {
            Failure::Usage(usage) => {
                if let Some(header) = usage.header() {
                    eprintln!("\n{header}\n");
                }
            }
            _ if failure.during_build() && self.format == OutputFormat::Text => {
                self.failure_banner();
            }
            _ => {}
        }
        if self.format == OutputFormat::Json && !matches!(failure, Failure::Usage(_)) {
            self.json(&serde_json::json!({
                "type": "result",
                "status": "failure",
                "error": error_json(failure),
            }));
        }
        self.error(&message);
    }
}

/// The `error` object of a JSON result: its type as sam names it (sam's own when its part
/// failed), the message, and the resources blamed: by sam for its part, by cargo for a bin that
/// did not compile.
pub(crate) fn error_json(failure: &Failure) -> serde_json::Value {
    let sam = match failure {
        Failure::Sam(e) => e.downcast_ref::<SamFailed>(),
        _ => None,
    };
    let kind = match sam {
        Some(sam) => sam.kind.as_str(),
        None if failure.during_build() => "BuildError",
        None => "UserException",
    };
    let resources = match (sam, failure) {
        (Some(sam), _) if !sam.resources.is_empty() => serde_json::json!(sam.resources),
        (_, Failure::Cargo(CargoError::Compile { resources, .. })) => serde_json::json!(resources),
        _ => serde_json::Value::Null,
    };
    // cargo's diagnostics are coloured at a terminal; data carries none.
    let message = strip_colours(&failure.message());
    serde_json::json!({"type": kind, "message": message, "resources": resources})
}

/// A string field of a JSON object, or "".
fn json_text<'a>(value: &'a serde_json::Value, key: &str) -> &'a str {
    value
        .get(key)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
}

/// The artifact folder of the function or layer with this full path.
fn resource_dir_of(project: &Project, root: &Path, full_path: &str) -> PathBuf {
    project
        .stacks
        .iter()
        .enumerate()
        .find_map(|(index, stack)| {
            stack
                .functions
                .iter()
                .map(|f| (&f.full_path, &f.logical_id))
                .chain(stack.layers.iter().map(|l| (&l.full_path, &l.logical_id)))
                .find(|(path, _)| path.as_str() == full_path)
                .map(|(_, id)| resource_dir(root, project, index, id))
        })
        .unwrap_or_else(|| root.join(full_path))
}

/// The total size of the files under `dir`.
fn folder_size(dir: &Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok())
        .filter(std::fs::Metadata::is_file)
        .map(|m| m.len())
        .sum()
}

/// `12.3 MiB`.
#[expect(
    clippy::cast_precision_loss,
    reason = "a tenth of a MiB is all that is shown"
)]
fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Rows under a header, columns padded to their widest cell (the third right-aligned).
fn table(header: [&str; 4], rows: &[[String; 4]]) -> String {
    let widths: Vec<usize> = (0..4)
        .map(|c| {
            rows.iter()
                .map(|r| r[c].len())
                .chain([header[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: [&str; 4]| {
        format!(
            "  {:<w0$}  {:<w1$}  {:>w2$}  {}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        )
    };
    let mut text = line(header);
    for row in rows {
        text.push('\n');
        text.push_str(&line([&row[0], &row[1], &row[2], &row[3]]));
    }
    text
}
