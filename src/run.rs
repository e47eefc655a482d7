//! The `samrs build` pipeline, read top to bottom: settings → project → plan (with cache
//! verdicts) → cargo → output (staged, swapped) → report. Each stage's failure is classified
//! here as SAM reports it (before or during the build).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::anyhow;

use crate::cargo::{self, BuildReport, CargoError, interrupted};
use crate::error::Failure;
use crate::output::layout::place_binary;
use crate::output::staging::{Staging, claim_build_dir};
use crate::output::writer::{build_record, write_templates};
use crate::output::{build_toml, cache};
use crate::plan::{
    BuildPlan, CheckedFunction, LayerDefinition, Previous, Selection, check_functions,
    metadata_typos, select_functions, select_layers,
};
use crate::sam;
use crate::sam::merge::{merge_build_toml, resource_order};
use crate::sam::plan::{Handoff, plan_handoff};
use crate::sam::run::{SamJob, SamReport};
use crate::settings::Settings;
use crate::store::write_if_changed;
use crate::template::{Project, ProjectOptions, load_project};
use crate::ui::Ui;

/// Builds the project described by `settings`.
pub(crate) fn build(settings: &Settings, ui: &Ui) -> Result<(), Failure> {
    let started = Instant::now();
    let project = load(settings, ui)?;
    for warning in &project.warnings {
        ui.warn(&format!("Warning: {warning}"));
    }
    for warning in metadata_typos(&project, &settings.exclude) {
        ui.warn(&warning);
    }
    let handoff = hand_off(&project, settings, ui)?;
    let chosen = choose(&project, settings, ui)?;

    let _lock = claim_build_dir(settings, ui).map_err(Failure::BuildDir)?;
    let build_toml_path = build_toml::path(settings);
    let previous_text = std::fs::read_to_string(&build_toml_path).unwrap_or_default();
    let previous = previous_build(settings, ui);
    let mut plan = plan(&project, chosen, &previous, settings);
    let remote = cache::open_remote(settings, ui);
    if settings.cached {
        ui.log("Starting Build use cache");
        cache::judge(&mut plan, settings, remote.as_ref(), ui).map_err(Failure::Output)?;
    }

    let staging = Staging::create(&settings.build_dir).map_err(Failure::Output)?;
    cache::restore_hits(&plan, &settings.cache_dir, &staging.dir).map_err(Failure::Output)?;
    let sam_job = match &handoff {
        Some((handoff, sam)) => Some(
            sam::run::prepare(sam, handoff, settings, &staging.dir, &build_toml_path)
                .map_err(Failure::Sam)?,
        ),
        None => None,
    };
    let (report, sam_report) = compile(&plan, sam_job.as_ref(), &staging.dir, settings, ui)?;
    let sam_build = match (&sam_job, &sam_report) {
        (Some(job), Some(sam_report)) => {
            Some(sam::assemble(&project, job, sam_report, &staging.dir).map_err(Failure::Sam)?)
        }
        _ => None,
    };
    write_templates(&plan, settings, &staging.dir, sam_build.as_ref()).map_err(Failure::Output)?;
    if interrupted() {
        return Err(interruption(settings));
    }
    staging.commit().map_err(Failure::Output)?;
    if settings.cached {
        cache::store_misses(&mut plan, settings, remote.as_ref(), ui);
    }
    if !plan.single_resource {
        let mut text = build_toml::render(&build_record(&plan));
        if let Some(job) = &sam_job {
            let sam_text = std::fs::read_to_string(&job.work.build_toml).unwrap_or_default();
            text = merge_build_toml(&text, &sam_text, &previous_text, &resource_order(&project));
        }
        write_if_changed(&build_toml_path, text).map_err(Failure::Output)?;
    }

    ui.summary(&plan, &report, sam_report.as_ref(), settings);
    ui.success(&plan, sam_report.as_ref(), settings);
    ui.debug(&format!(
        "samrs build finished in {:.2}s",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// Runs cargo, and sam's part (if any) at the same time; binaries go into `staging` as they
/// are built.
fn compile(
    plan: &BuildPlan,
    sam_job: Option<&SamJob>,
    staging: &Path,
    settings: &Settings,
    ui: &Ui,
) -> Result<(BuildReport, Option<SamReport>), Failure> {
    let (cargo_result, sam_result) = std::thread::scope(|scope| {
        let sam_part = sam_job.map(|job| scope.spawn(|| sam::run::run_sam(job, ui)));
        let cargo_result = cargo::build(plan, settings, ui, &|built| {
            place_binary(staging, plan, built.artifact, &built.bin, &built.path)
        });
        let sam_result = sam_part.map(|part| {
            part.join()
                .unwrap_or_else(|_| Err(anyhow!("sam build's part stopped unexpectedly")))
        });
        (cargo_result, sam_result)
    });
    if interrupted() {
        return Err(interruption(settings));
    }
    sam::join_parts(cargo_result, sam_result, settings)
}

/// The failure of a build stopped by SIGINT or SIGTERM.
fn interruption(settings: &Settings) -> Failure {
    let build_dir = settings.build_dir_shown.clone();
    Failure::Cargo(CargoError::Interrupted { build_dir })
}

/// sam's part of the build (every resource sam would build that is not Rust) with the `sam`
/// that builds it; without sam, the build stops here. With no sam part, samrs prints SAM's
/// warnings about skipped resources itself (sam prints them otherwise).
fn hand_off(
    project: &Project,
    settings: &Settings,
    ui: &Ui,
) -> Result<Option<(Handoff, PathBuf)>, Failure> {
    let resource_id = settings.resource_id.as_deref();
    let Some(handoff) = plan_handoff(project, resource_id, &settings.exclude)? else {
        ui.skipped_resources(project);
        if settings.passthrough.use_container {
            ui.warn("--use-container has no effect here: samrs builds Rust functions and layers natively with cargo-lambda and zig, and nothing in this build is handed to sam build");
        }
        return Ok(None);
    };
    for hint in handoff.resources.iter().filter_map(|r| r.hint.as_ref()) {
        ui.warn(hint);
    }
    let sam = sam::find_sam(&handoff, settings).map_err(Failure::Settings)?;
    Ok(Some((handoff, sam)))
}

/// The project of `settings`, with SAM's notices about the configuration.
pub(crate) fn load(settings: &Settings, ui: &Ui) -> Result<Project, Failure> {
    let started = Instant::now();
    ui.settings_notices(settings);
    let project = load_project(&ProjectOptions::from(settings)).map_err(Failure::Template)?;
    ui.debug(&format!(
        "Template loaded: {} stack(s) in {:.1} ms",
        project.stacks.len(),
        started.elapsed().as_secs_f64() * 1000.0
    ));
    Ok(project)
}

/// What the last build recorded in build.toml (nothing when it cannot be read).
pub(crate) fn previous_build(settings: &Settings, ui: &Ui) -> Previous {
    build_toml::read_previous(&build_toml::path(settings)).unwrap_or_else(|e| {
        ui.warn(&format!("Ignoring the previous build.toml: {e:#}"));
        Previous::default()
    })
}

/// What [`choose`] picked: the selection, its functions checked, and the layers to build.
pub(crate) type Chosen = (Selection, Vec<CheckedFunction>, Vec<LayerDefinition>);

/// SAM's build definitions of what was chosen, each with its `--cached` verdict against
/// `previous`.
pub(crate) fn plan<'a>(
    project: &'a Project,
    (selection, functions, layers): Chosen,
    previous: &Previous,
    settings: &Settings,
) -> BuildPlan<'a> {
    BuildPlan::new(
        project,
        &selection,
        &functions,
        layers,
        previous,
        settings.base_dir.is_some(),
        || uuid::Uuid::new_v4().to_string(),
    )
}

/// The functions and layers to build, checked, with SAM's notices about the choice.
pub(crate) fn choose(project: &Project, settings: &Settings, ui: &Ui) -> Result<Chosen, Failure> {
    let resource_id = settings.resource_id.as_deref();
    let selection = select_functions(project, resource_id, &settings.exclude).map_err(|e| {
        if let Some(notice) = &e.notice {
            ui.log(notice);
            // SAM has already replaced the build folder by now; samrs keeps any previous
            // build, and only creates the (empty) folder when there was none, as SAM leaves it.
            let _ = std::fs::create_dir_all(&settings.build_dir);
        }
        Failure::Plan(e)
    })?;
    for notice in &selection.notices {
        ui.warn(notice);
    }
    let functions = check_functions(project, &selection)?;
    let raw_code_uri = settings.base_dir.is_some();
    let layers = select_layers(project, resource_id, &settings.exclude, raw_code_uri)?;
    if !layers.is_empty() {
        confirm_layer_beta(settings, project, &layers, ui).map_err(Failure::Settings)?;
    }
    Ok((selection, functions, layers))
}

/// Rust layers are samrs's own beta feature: it runs only when opted in, or after a "y" at a
/// terminal prompt.
fn confirm_layer_beta(
    settings: &Settings,
    project: &Project,
    layers: &[LayerDefinition],
    ui: &Ui,
) -> anyhow::Result<()> {
    if settings.beta_features.unwrap_or(settings.beta_from_env) {
        return Ok(());
    }
    let names: Vec<&str> = layers
        .iter()
        .map(|l| l.layer.get(project).full_path.as_str())
        .collect();
    let names = names.join(", ");
    let how = "turn it on with `samrs build --beta-features`, the environment variable SAM_CLI_BETA_RUST_CARGO_LAMBDA=1 (or SAM_CLI_BETA_FEATURES=1), or `beta_features = true` under [default.build.parameters] in samconfig.toml";
    if settings.beta_features == Some(false) {
        return Err(anyhow!(
            "Building Rust layers ({names}) is a beta feature, and --no-beta-features (or beta_features = false) turned beta features off; {how}"
        ));
    }
    if !ui.can_prompt() {
        return Err(anyhow!(
            "Building Rust layers ({names}) with BuildMethod rust-cargolambda is a beta feature of samrs; {how}"
        ));
    }
    let answer = ui.prompt(
        "Build method \"rust-cargolambda\" for layers is a beta feature.\nPlease confirm if you would like to proceed\nYou can also enable this beta feature with \"samrs build --beta-features\". [y/N]: ",
    );
    if matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES") {
        Ok(())
    } else {
        Err(anyhow!(
            "Not building Rust layers ({names}): the beta feature was not confirmed; {how}"
        ))
    }
}
