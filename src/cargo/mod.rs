//! The cargo stage: package facts from `cargo metadata`, the planned `cargo lambda build` runs,
//! and the process wrapper that streams their output. It reads a `BuildPlan` and hands every
//! checked binary to the caller to place; it writes nothing into the build folder itself.

pub(crate) mod diagnose;
pub(crate) mod elf;
pub(crate) mod messages;
pub(crate) mod metadata;
pub(crate) mod process;
pub(crate) mod reproducible;
pub(crate) mod runner;
pub(crate) mod tools;
pub(crate) mod unify;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;

pub(crate) use metadata::read_packages;
pub(crate) use process::{install_interrupt_handler, interrupted, on_interrupt};

use crate::plan::{Artifact, BuildPlan, CargoBuild, PlanError, plan_cargo_builds};
use crate::settings::Settings;
use crate::ui::Ui;

/// How the cargo stage failed. All of it happens during the build, as SAM reports it.
#[derive(Debug)]
pub enum CargoError {
    /// A run cannot be planned: no usable package or binary in a CodeUri folder.
    Plan(PlanError),
    /// Before any run: a missing CodeUri folder or tool, or `cargo metadata` failed.
    Prepare(anyhow::Error),
    /// cargo could not be started or waited for.
    Run(anyhow::Error),
    /// `cargo lambda build` failed; `message` holds its command, status and output.
    Compile {
        /// The full paths of the resources whose binaries failed (all of the run's when cargo
        /// named none, or a library, build script or dependency failed).
        resources: Vec<String>,
        /// What is shown to the user.
        message: String,
    },
    /// cargo-lambda left no usable binary, or one that cannot run on the target.
    Binary(anyhow::Error),
    /// A built binary could not be placed.
    Place(anyhow::Error),
    /// SIGINT or SIGTERM stopped cargo.
    Interrupted {
        /// The build folder as the user sees it (it is left as it was).
        build_dir: String,
    },
}

impl std::fmt::Display for CargoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CargoError::Plan(e) => write!(f, "{e}"),
            CargoError::Prepare(e)
            | CargoError::Run(e)
            | CargoError::Binary(e)
            | CargoError::Place(e) => write!(f, "{e:#}"),
            CargoError::Compile { message, .. } => f.write_str(message),
            CargoError::Interrupted { build_dir } => write!(
                f,
                "Build interrupted (SIGINT or SIGTERM); cargo was stopped and the previous build in {build_dir} is unchanged"
            ),
        }
    }
}

impl std::error::Error for CargoError {}

/// One binary a cargo run produced for an artifact, checked against the artifact's target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub artifact: Artifact,
    pub bin: String,
    /// Where cargo-lambda left it; the next run in the same target folder may overwrite it.
    pub path: PathBuf,
    /// Index of the run in [`BuildReport::runs`].
    pub run: usize,
    /// How long that run took.
    pub elapsed: Duration,
    /// cargo compiled nothing for it: its binary was already up to date.
    pub up_to_date: bool,
}

/// What the cargo stage did: the runs it started and every binary they produced.
#[derive(Debug, Clone, Default)]
pub struct BuildReport {
    pub runs: Vec<CargoBuild>,
    pub built: Vec<Built>,
}

impl BuildReport {
    /// How long the run that built `artifact` took; `None` when no run built it (cache hit).
    pub fn elapsed(&self, artifact: Artifact) -> Option<Duration> {
        self.built
            .iter()
            .find(|b| b.artifact == artifact)
            .map(|b| b.elapsed)
    }

    /// True when cargo ran for `artifact` but found every binary of it up to date.
    pub fn up_to_date(&self, artifact: Artifact) -> bool {
        let mut built = self
            .built
            .iter()
            .filter(|b| b.artifact == artifact)
            .peekable();
        built.peek().is_some() && built.all(|b| b.up_to_date)
    }
}

/// Builds every artifact of `plan` not restored from the cache. `place` receives each binary as
/// soon as its run finished (before a later run in the same target folder can replace it).
pub(crate) fn build(
    plan: &BuildPlan,
    settings: &Settings,
    ui: &Ui,
    place: &(dyn Fn(&Built) -> Result<()> + Sync),
) -> Result<BuildReport, CargoError> {
    if !plan.needs_cargo() {
        return Ok(BuildReport::default());
    }
    let (tools, runs) = planned_runs(plan, settings, ui)?;
    let built = runner::run_all(&tools, &runs, plan, settings, ui, place)?;
    Ok(BuildReport { runs, built })
}

/// The tools (with `--reproducible`'s remaps) and the cargo runs [`build`] starts for `plan`,
/// workspace runs shared where allowed.
pub(crate) fn planned_runs(
    plan: &BuildPlan,
    settings: &Settings,
    ui: &Ui,
) -> Result<(tools::Tools, Vec<CargoBuild>), CargoError> {
    let runs = plan_runs(plan, settings)?;
    let mut tools = tools::find_tools(settings).map_err(CargoError::Prepare)?;
    crate::preflight::check(&mut tools, &runs, plan, settings, ui).map_err(CargoError::Prepare)?;
    let runs = runner::share_workspace_runs(&tools, runs, ui);
    if settings.reproducible {
        let places = reproducible::places(plan, &runs, settings);
        ui.debug(&format!("Reproducible build: {places:?}"));
        tools.remaps = reproducible::settle(&places, &settings.env);
    }
    Ok((tools, runs))
}

/// The cargo runs for every artifact cargo has to build, from the packages in their folders.
pub(crate) fn plan_runs(
    plan: &BuildPlan,
    settings: &Settings,
) -> Result<Vec<CargoBuild>, CargoError> {
    let dirs: Vec<(&Path, &str)> = plan
        .artifacts()
        .filter(|a| plan.needs_build(*a))
        .map(|a| (plan.code_dir(a), plan.names(a)[0]))
        .collect();
    let packages = read_packages(dirs, &settings.env).map_err(CargoError::Prepare)?;
    plan_cargo_builds(
        plan.project,
        &plan.definitions,
        &plan.layers,
        &packages,
        settings.profile,
    )
    .map_err(CargoError::Plan)
}
