//! A plan taken without building: the same stages as `samrs build` (project, choice, plan,
//! cargo runs), kept with what the build folder should hold (where each binary goes, the
//! built templates, build.toml) and what each run reads. Comparing two snapshots tells a
//! rebuild what it has to do.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::cargo::planned_runs;
use crate::cargo::tools::Tools;
use crate::error::Failure;
use crate::output::build_toml;
use crate::output::layout::binary_destinations;
use crate::output::writer::{build_record, render_templates};
use crate::plan::{BuildDefinition, BuildPlan, CargoBuild, LayerDefinition};
use crate::run::{choose, load, plan, previous_build};
use crate::sam::plan::plan_handoff;
use crate::settings::Settings;
use crate::template::Project;
use crate::ui::Ui;

use super::inputs::{Inputs, plan_files, real, run_inputs, sam_inputs};

/// The plan of one state of the project, owned.
pub(crate) struct Snapshot {
    pub(crate) settings: Settings,
    pub(crate) project: Project,
    definitions: Vec<BuildDefinition>,
    layers: Vec<LayerDefinition>,
    single_resource: bool,
    pub(crate) tools: Tools,
    pub(crate) runs: Vec<CargoBuild>,
    /// What each run (same index) reads.
    pub(crate) run_inputs: Vec<Inputs>,
    /// Every binary's place in the build folder and the run that makes it.
    pub(crate) destinations: BTreeMap<PathBuf, usize>,
    /// Each built template (relative to the build folder) and its text; `None` when sam builds
    /// part of the template (then only a whole build writes them).
    pub(crate) templates: Option<Vec<(PathBuf, String)>>,
    /// build.toml's text (`None` for a single-resource build, which keeps build.toml, or with
    /// a part handed to sam).
    pub(crate) build_toml: Option<String>,
    /// The template, nested templates, samconfig and parameter files.
    pub(crate) plan_files: BTreeSet<PathBuf>,
    /// The resources handed to `sam build` (full paths).
    pub(crate) sam_resources: Vec<String>,
    /// What sam's resources are built from (their code folders).
    pub(crate) sam_inputs: Inputs,
}

impl Snapshot {
    /// Plans `settings` as `samrs build` would, without building or writing anything.
    pub(crate) fn take(settings: &Settings, ui: &Ui) -> Result<Snapshot, Failure> {
        let project = load(settings, ui)?;
        let chosen = choose(&project, settings, ui)?;
        let plan = plan(&project, chosen, &previous_build(settings, ui), settings);
        let (tools, runs) = planned_runs(&plan, settings, ui)?;
        let run_inputs = runs
            .iter()
            .map(|run| run_inputs(&plan, run, settings))
            .collect();
        let mut destinations = BTreeMap::new();
        for (index, run) in runs.iter().enumerate() {
            for (artifact, bin) in &run.outputs {
                for destination in binary_destinations(&settings.build_dir, &plan, *artifact, bin) {
                    destinations.insert(destination, index);
                }
            }
        }
        // With a part handed to sam, the built templates and build.toml are joined to sam's:
        // only a whole build writes them.
        let handoff = plan_handoff(&project, settings.resource_id.as_deref(), &settings.exclude)?;
        let sam_part = handoff.is_some();
        let (sam_resources, sam_inputs) = match &handoff {
            Some(handoff) => {
                let mut inputs = sam_inputs(&project, handoff, settings);
                inputs
                    .excluded
                    .extend(runs.iter().map(|run| real(&run.target_directory)));
                let names = handoff.resources.iter().map(|r| r.full_path.clone());
                (names.collect(), inputs)
            }
            None => (Vec::new(), Inputs::default()),
        };
        let templates = if sam_part {
            None
        } else {
            Some(render_templates(&plan, settings, None).map_err(Failure::Output)?)
        };
        let build_toml =
            (!plan.single_resource && !sam_part).then(|| build_toml::render(&build_record(&plan)));
        let plan_files = plan_files(settings, Some(&project));
        let BuildPlan {
            definitions,
            layers,
            single_resource,
            ..
        } = plan;
        Ok(Snapshot {
            settings: settings.clone(),
            project,
            definitions,
            layers,
            single_resource,
            tools,
            runs,
            run_inputs,
            destinations,
            templates,
            build_toml,
            plan_files,
            sam_resources,
            sam_inputs,
        })
    }

    /// The plan again, borrowing the project.
    pub(crate) fn plan(&self) -> BuildPlan<'_> {
        BuildPlan {
            project: &self.project,
            definitions: self.definitions.clone(),
            layers: self.layers.clone(),
            single_resource: self.single_resource,
        }
    }

    /// Everything to watch: every run's inputs, sam's resources' sources and the plan files.
    pub(crate) fn inputs(&self) -> Inputs {
        let mut all = self.sam_inputs.clone();
        for inputs in &self.run_inputs {
            all.extend(inputs);
        }
        all.files.extend(self.plan_files.iter().cloned());
        all
    }

    /// A run's identity across snapshots: where cargo runs, with which arguments, into which
    /// target folder.
    pub(crate) fn run_key(&self, index: usize) -> String {
        let run = &self.runs[index];
        format!(
            "{}|{}|{}",
            run.dir.display(),
            run.args().join(" "),
            run.target_directory.display()
        )
    }

    /// True when part of the template is built by sam (only whole builds then).
    pub(crate) fn has_sam_part(&self) -> bool {
        self.templates.is_none()
    }

    /// True when every binary of the plan is in the build folder.
    pub(crate) fn build_folder_complete(&self) -> bool {
        self.destinations.keys().all(|d| d.is_file())
    }

    /// The resources an output of a run is for, in the order of its destinations.
    pub(crate) fn names_of_run(&self, index: usize) -> Vec<String> {
        let plan = self.plan();
        let mut names = Vec::new();
        for (artifact, _) in &self.runs[index].outputs {
            for name in plan.names(*artifact) {
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_string());
                }
            }
        }
        names
    }
}
