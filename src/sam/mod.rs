//! The hand-off to the real SAM CLI: every resource `sam build` would build that is not a Rust
//! (rust-cargolambda) function or layer is built by `sam build` in a folder of its own, at the
//! same time as cargo, and joined to samrs's build before the one swap.

pub(crate) mod merge;
pub(crate) mod plan;
pub(crate) mod run;

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};

use crate::cargo::{BuildReport, CargoError};
use crate::error::Failure;
use crate::settings::Settings;
use crate::template::Project;
use merge::{SamBuild, built_by_stack};
use plan::{Handoff, Invocation};
use run::{SamJob, SamReport, move_artifacts};

/// Finds `sam` on PATH for the resources it builds; without it, one message names them all
/// and both ways out, before any work.
pub(crate) fn find_sam(handoff: &Handoff, settings: &Settings) -> Result<PathBuf> {
    if let Some(sam) = settings.find_program("sam") {
        return Ok(sam);
    }
    let listed: Vec<String> = handoff
        .resources
        .iter()
        .map(|r| format!("{} ({})", r.full_path, r.what))
        .collect();
    let named = match &handoff.invocation {
        Invocation::Resource(id) => Some(id.as_str()),
        Invocation::AllBut(_) => None,
    };
    let is_named = |r: &&plan::SamResource| {
        named == Some(r.full_path.as_str()) || named == Some(r.logical_id.as_str())
    };
    let way_out = if handoff.resources.iter().any(|r| is_named(&r)) {
        "or name a Rust function or layer instead".to_string()
    } else {
        let excludes: Vec<String> = handoff
            .resources
            .iter()
            .map(|r| format!("--exclude {}", r.logical_id))
            .collect();
        let named = settings
            .resource_id
            .as_ref()
            .map(|id| format!("{id} "))
            .unwrap_or_default();
        format!(
            "or build without them: samrs build {named}{}",
            excludes.join(" ")
        )
    };
    Err(anyhow!(
        "samrs builds Rust (rust-cargolambda) functions and layers itself and hands the others to the AWS SAM CLI, but `sam` is not on PATH. Needed for: {}. Install it (`pip install aws-sam-cli`, or see https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html), {way_out}. Nothing was built; {} is unchanged",
        listed.join(", "),
        settings.build_dir_shown
    ))
}

/// Both parts' outcomes as one: a failure of either fails the build, saying which part.
pub(crate) fn join_parts(
    cargo: Result<BuildReport, CargoError>,
    sam: Option<Result<SamReport>>,
    settings: &Settings,
) -> Result<(BuildReport, Option<SamReport>), Failure> {
    let unchanged = format!(
        "the previous build in {} is unchanged",
        settings.build_dir_shown
    );
    match (cargo, sam) {
        (Ok(report), sam) => match sam.transpose() {
            Ok(sam) => Ok((report, sam)),
            Err(e) => Err(Failure::Sam(e.context(format!(
                "The part handed to sam build failed (the Rust part built; {unchanged})"
            )))),
        },
        (Err(e), None) => Err(Failure::Cargo(e)),
        (Err(e), Some(Ok(_))) => Err(Failure::Sam(anyhow::Error::new(e).context(format!(
            "The Rust part failed (sam build's part built; {unchanged})"
        )))),
        (Err(cargo), Some(Err(sam))) => Err(Failure::Sam(anyhow!(
            "Both parts failed ({unchanged}).\nThe Rust part: {cargo}\nThe part handed to sam build: {sam:#}"
        ))),
    }
}

/// Moves sam's artifacts into the staging folder and says what it built where.
pub(crate) fn assemble(
    project: &Project,
    job: &SamJob,
    report: &SamReport,
    staging: &Path,
) -> Result<SamBuild> {
    let stacks: std::collections::BTreeSet<PathBuf> = project
        .stacks
        .iter()
        .filter(|s| !s.path.is_empty())
        .map(|s| s.path.iter().collect())
        .collect();
    if job.work.build_dir.is_dir() {
        move_artifacts(&job.work.build_dir, staging, &stacks)?;
    }
    Ok(SamBuild {
        root: job
            .work
            .build_dir
            .canonicalize()
            .unwrap_or_else(|_| job.work.build_dir.clone()),
        built: built_by_stack(project, &report.built()),
    })
}
