//! The watch engine: a first build, then one rebuild per settled change. A change of sources
//! reruns only the cargo runs that read them and replaces changed binaries in place; a change
//! that moves, adds or removes functions rebuilds the whole build folder and swaps it in.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::cargo::{interrupted, on_interrupt, runner};
use crate::error::Failure;
use crate::output::layout::binary_destinations;
use crate::output::staging::lock_build_dir;
use crate::run::build;
use crate::settings::Settings;
use crate::store::write_if_changed;
use crate::ui::Ui;

pub(crate) use super::content::Change;
use super::content::{ChangeKind, ContentIndex};
use super::inputs::{Inputs, changes_plan, plan_files};
use super::snapshot::Snapshot;
use super::update::replace_file;
use super::watcher::{Stopper, Wake, Watcher};

/// Re-reads the settings (samconfig, parameter files) after they changed.
pub(crate) type Resolve = Box<dyn Fn() -> anyhow::Result<Settings> + Send>;

/// What one rebuild did.
#[derive(Debug)]
pub(crate) struct Rebuild {
    /// The input files whose content changed.
    pub(crate) changed: Vec<PathBuf>,
    /// A plan file (template, samconfig, parameter file), manifest, lock or cargo config
    /// changed, or files came or went: the project was planned again.
    pub(crate) replanned: bool,
    /// The whole build folder was rebuilt and swapped in (a new layout, or sam's part).
    pub(crate) swapped: bool,
    /// sam build's part ran (part of the whole rebuild).
    pub(crate) sam: bool,
    /// The resources whose cargo runs (or sam's part) ran (every resource after a swap).
    pub(crate) built: Vec<String>,
    /// The resources whose binary changed and was replaced in the build folder.
    pub(crate) replaced: Vec<String>,
    pub(crate) elapsed: Duration,
    /// Why it failed, by stage (cargo's diagnostics included); the last good build stays.
    pub(crate) error: Option<Failure>,
}

impl Rebuild {
    /// The built resources whose binary came out byte for byte the same.
    pub(crate) fn unchanged(&self) -> Vec<&str> {
        if self.swapped {
            return Vec::new();
        }
        self.built
            .iter()
            .filter(|name| !self.replaced.contains(name))
            .map(String::as_str)
            .collect()
    }
}

/// A running watch: owns the watcher, the content of the inputs and the last plan.
pub(crate) struct Session {
    resolve: Resolve,
    settings: Settings,
    ui: Ui,
    watcher: Watcher,
    index: ContentIndex,
    snapshot: Option<Snapshot>,
    /// The build folder does not hold the current plan (no build, or the last full one failed).
    needs_full: bool,
    /// A plan input changed but re-planning failed: plan again on the next change.
    stale_plan: bool,
    /// Runs (by key) whose last rebuild failed or was cut short: run again on the next change.
    pending: BTreeSet<String>,
}

impl Session {
    /// Starts watching what `settings` builds, then runs the first build (with the usual
    /// output on `ui`). Returns the session and how the first build went; changes made during
    /// the first build are seen by the first [`Session::next_rebuild`].
    pub(crate) fn start(
        settings: Settings,
        resolve: Resolve,
        ui: &Ui,
    ) -> Result<(Session, Result<(), Failure>), Failure> {
        let mut session = Session::new(settings, resolve, ui)?;
        let first = build(&session.settings, ui);
        if first.is_ok() {
            session.needs_full = false;
            // Take the plan again: the build recorded the UUIDs of new definitions.
            session.snapshot = Snapshot::take(&session.settings, &session.ui).ok();
            session.follow_inputs();
        }
        Ok((session, first))
    }

    /// Starts watching what `settings` builds after a build the caller has just made (as
    /// `samrs local` does before serving); a build folder that does not hold the plan is
    /// rebuilt whole on the first change.
    pub(crate) fn resume(
        settings: Settings,
        resolve: Resolve,
        ui: &Ui,
    ) -> Result<Session, Failure> {
        let mut session = Session::new(settings, resolve, ui)?;
        session.needs_full = !session
            .snapshot
            .as_ref()
            .is_some_and(Snapshot::build_folder_complete);
        Ok(session)
    }

    /// The watcher on the inputs of the plan of `settings`; nothing built yet.
    fn new(mut settings: Settings, resolve: Resolve, ui: &Ui) -> Result<Session, Failure> {
        let mut quiet = ui.clone();
        quiet.rebuild = true;
        let snapshot = Snapshot::take(&settings, &quiet).ok();
        if snapshot
            .as_ref()
            .is_some_and(|s| !s.plan().layers.is_empty())
        {
            // Rust layers were confirmed (flag, config or prompt): do not ask on every rebuild.
            settings.beta_features = Some(true);
        }
        let watcher = Watcher::new().map_err(Failure::Settings)?;
        let stopper = watcher.stopper();
        on_interrupt(move || stopper.stop());
        let mut session = Session {
            resolve,
            settings,
            ui: quiet,
            watcher,
            index: ContentIndex::default(),
            snapshot,
            needs_full: true,
            stale_plan: false,
            pending: BTreeSet::new(),
        };
        session.follow_inputs();
        Ok(session)
    }

    /// A handle that ends the watch from another thread: the waiting (or next)
    /// [`Session::next_change`] returns `None`.
    pub(crate) fn stopper(&self) -> Stopper {
        self.watcher.stopper()
    }

    /// The settings of the last plan.
    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }

    /// How many files and folders are watched.
    pub(crate) fn watched(&self) -> (usize, usize) {
        (self.index.len(), self.watcher.folder_count())
    }

    /// Waits for a change of the inputs' content and rebuilds; `None` once stopped or
    /// interrupted (a build in progress is stopped, the build folder left as it was).
    pub(crate) fn next_rebuild(&mut self) -> Option<Rebuild> {
        let changes = self.next_change()?;
        self.rebuild(&changes)
    }

    /// Waits until the content of an input changed (touches and saves of the same bytes do
    /// not count); `None` once stopped or interrupted.
    pub(crate) fn next_change(&mut self) -> Option<Vec<Change>> {
        loop {
            if interrupted() {
                return None;
            }
            let inputs = self.inputs();
            let changes = match self.watcher.next() {
                Wake::Stop => return None,
                Wake::Paths(paths) => {
                    self.ui.debug(&format!("Watch: events for {paths:?}"));
                    self.index.refresh(&paths, &inputs)
                }
                Wake::Rescan => {
                    let roots: Vec<PathBuf> =
                        inputs.roots.iter().chain(&inputs.files).cloned().collect();
                    self.index.refresh(&roots, &inputs)
                }
            };
            self.ui.debug(&format!(
                "Watch: {} changed by content: {}",
                changes.len(),
                changes
                    .iter()
                    .map(|c| format!("{} ({:?})", c.path.display(), c.kind))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            if !changes.is_empty() {
                return Some(changes);
            }
        }
    }

    /// Rebuilds what `changes` touch and follows the inputs of the new plan; `None` when
    /// interrupted meanwhile.
    pub(crate) fn rebuild(&mut self, changes: &[Change]) -> Option<Rebuild> {
        let rebuild = self.run_rebuild(changes);
        self.follow_inputs();
        if interrupted() {
            return None;
        }
        Some(rebuild)
    }

    /// Everything watched now: the last plan's inputs, or only the plan files while there is
    /// no plan.
    fn inputs(&self) -> Inputs {
        match &self.snapshot {
            Some(snapshot) => {
                let mut inputs = snapshot.inputs();
                inputs.files.extend(plan_files(&self.settings, None));
                inputs
            }
            None => Inputs {
                files: plan_files(&self.settings, None),
                ..Inputs::default()
            },
        }
    }

    /// Points the watcher and the content index at the current inputs.
    fn follow_inputs(&mut self) {
        let inputs = self.inputs();
        let failed = self.watcher.watch_folders(inputs.folders());
        if let Some(first) = failed.first() {
            self.ui.warn(&format!(
                "Unable to watch {} folder(s), {} among them: changes there go unseen. On Linux, raise the limit of watches (sysctl fs.inotify.max_user_watches)",
                failed.len(),
                first.display()
            ));
        }
        self.index.track(&inputs);
    }

    fn run_rebuild(&mut self, changes: &[Change]) -> Rebuild {
        let started = Instant::now();
        let mut rebuild = Rebuild {
            changed: changes.iter().map(|c| c.path.clone()).collect(),
            replanned: false,
            swapped: false,
            sam: false,
            built: Vec::new(),
            replaced: Vec::new(),
            elapsed: Duration::ZERO,
            error: None,
        };
        let plan_files = self.snapshot.as_ref().map_or_else(
            || plan_files(&self.settings, None),
            |s| s.plan_files.clone(),
        );
        rebuild.replanned = self.needs_full
            || self.stale_plan
            || !self
                .snapshot
                .as_ref()
                .is_some_and(Snapshot::build_folder_complete)
            || changes
                .iter()
                .any(|c| c.kind != ChangeKind::Modified || changes_plan(&c.path, &plan_files));
        // sam builds its resources whole: a change of their sources rebuilds the build folder.
        let sam_sources = self.snapshot.as_ref().is_some_and(|s| {
            changes
                .iter()
                .any(|c| !plan_files.contains(&c.path) && s.sam_inputs.covers(&c.path))
        });
        let result = if rebuild.replanned || sam_sources {
            self.replan(changes, &plan_files, sam_sources, &mut rebuild)
        } else {
            let dirty = self.dirty_runs(changes, &plan_files, None);
            self.build_in_place(&dirty, &mut rebuild)
        };
        if let Err(failure) = result {
            rebuild.error = Some(failure);
        }
        rebuild.elapsed = started.elapsed();
        rebuild
    }

    /// Plans again; a new layout is built whole and swapped in, the same layout is updated in
    /// place.
    fn replan(
        &mut self,
        changes: &[Change],
        plan_files: &BTreeSet<PathBuf>,
        whole: bool,
        rebuild: &mut Rebuild,
    ) -> Result<(), Failure> {
        let mut settings = (self.resolve)().map_err(|e| {
            self.stale_plan = true;
            Failure::settings(e)
        })?;
        if self.settings.beta_features == Some(true) && settings.beta_features.is_none() {
            settings.beta_features = Some(true);
        }
        let snapshot = Snapshot::take(&settings, &self.ui).inspect_err(|_| {
            self.stale_plan = true;
            self.settings = settings.clone();
        })?;
        self.stale_plan = false;
        self.settings = settings;
        let same_layout = self.snapshot.as_ref().is_some_and(|old| {
            old.destinations.keys().eq(snapshot.destinations.keys())
                && old.settings.build_dir == snapshot.settings.build_dir
        });
        if whole
            || self.needs_full
            || !same_layout
            || snapshot.has_sam_part()
            || !snapshot.build_folder_complete()
        {
            return self.build_whole(snapshot, rebuild);
        }
        let old = self.snapshot.replace(snapshot);
        let dirty = self.dirty_runs(changes, plan_files, old.as_ref());
        self.build_in_place(&dirty, rebuild)
    }

    /// Builds everything into a staging folder and swaps it in, as `samrs build` does.
    fn build_whole(&mut self, snapshot: Snapshot, rebuild: &mut Rebuild) -> Result<(), Failure> {
        rebuild.swapped = true;
        rebuild.sam = snapshot.has_sam_part();
        rebuild.built = (0..snapshot.runs.len())
            .flat_map(|i| snapshot.names_of_run(i))
            .collect();
        for name in &snapshot.sam_resources {
            if !rebuild.built.contains(name) {
                rebuild.built.push(name.clone());
            }
        }
        self.snapshot = Some(snapshot);
        self.needs_full = true;
        build(&self.settings, &self.ui)?;
        self.needs_full = false;
        self.pending.clear();
        // The build recorded the UUIDs of new definitions in build.toml.
        self.snapshot = Some(Snapshot::take(&self.settings, &self.ui)?);
        Ok(())
    }

    /// The runs of the current plan that have to run: those reading a changed file (other
    /// than a plan file), those new or changed since `old`, and those pending from a failure.
    fn dirty_runs(
        &self,
        changes: &[Change],
        plan_files: &BTreeSet<PathBuf>,
        old: Option<&Snapshot>,
    ) -> Vec<usize> {
        let Some(snapshot) = &self.snapshot else {
            return Vec::new();
        };
        let old_keys: BTreeSet<String> = old
            .map(|o| (0..o.runs.len()).map(|i| o.run_key(i)).collect())
            .unwrap_or_default();
        (0..snapshot.runs.len())
            .filter(|&i| {
                let key = snapshot.run_key(i);
                self.pending.contains(&key)
                    || (old.is_some() && !old_keys.contains(&key))
                    || changes.iter().any(|c| {
                        !plan_files.contains(&c.path) && snapshot.run_inputs[i].covers(&c.path)
                    })
            })
            .collect()
    }

    /// Runs the `dirty` runs and replaces the binaries that changed in the live build folder;
    /// rewrites the built templates and build.toml where their text changed.
    fn build_in_place(&mut self, dirty: &[usize], rebuild: &mut Rebuild) -> Result<(), Failure> {
        let Some(snapshot) = &self.snapshot else {
            return Ok(());
        };
        let settings = &snapshot.settings;
        let keys: Vec<String> = dirty.iter().map(|&i| snapshot.run_key(i)).collect();
        self.pending.extend(keys.iter().cloned());
        rebuild.built = dirty
            .iter()
            .flat_map(|&i| snapshot.names_of_run(i))
            .collect();
        let _lock = lock_build_dir(&settings.build_dir, |_| {}).map_err(Failure::BuildDir)?;
        let plan = snapshot.plan();
        if !dirty.is_empty() {
            let runs: Vec<_> = dirty.iter().map(|&i| snapshot.runs[i].clone()).collect();
            let replaced = Mutex::new(Vec::new());
            let result = runner::run_all(
                &snapshot.tools,
                &runs,
                &plan,
                settings,
                &self.ui,
                &|built| {
                    let destinations =
                        binary_destinations(&settings.build_dir, &plan, built.artifact, &built.bin);
                    for (name, destination) in
                        plan.names(built.artifact).into_iter().zip(destinations)
                    {
                        if replace_file(&built.path, &destination, &settings.build_dir)?
                            && let Ok(mut replaced) = replaced.lock()
                        {
                            replaced.push(name.to_string());
                        }
                    }
                    Ok(())
                },
            );
            rebuild.replaced = replaced.into_inner().unwrap_or_default();
            result?;
        }
        for (relative, text) in snapshot.templates.iter().flatten() {
            write_if_changed(&settings.build_dir.join(relative), text).map_err(Failure::Output)?;
        }
        if let Some(text) = &snapshot.build_toml {
            write_if_changed(&crate::output::build_toml::path(settings), text)
                .map_err(Failure::Output)?;
        }
        for key in keys {
            self.pending.remove(&key);
        }
        Ok(())
    }
}
