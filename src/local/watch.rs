//! `start-api --watch`: the build's watch engine ([`crate::watch::Session`]) keeps
//! `.aws-sam/local/build` current as `samrs build --watch` keeps `.aws-sam/build`. Requests
//! wait while a rebuild runs; each function whose binary changed starts a process of the new
//! code on its next request, the others keep their warm processes.

use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Result;

use super::env::EnvVarsFile;
use super::functions::LocalFunction;
use super::pool::Engine;
use super::settings::LocalSettings;
use super::{Code, Runnable, Session, classify, process_spec, program, rust_build};
use crate::output::layout::function_dir;
use crate::template::Project;
use crate::ui::Ui;
use crate::watch::{Rebuild, Session as BuildWatch, Stopper};

/// A watch running on a thread of its own.
pub(crate) struct Watching {
    stopper: Stopper,
    thread: JoinHandle<()>,
}

/// What a rebuild needs to restart the functions it changed, owned by the watch thread.
struct Restarter {
    settings: LocalSettings,
    project: Project,
    functions: Vec<LocalFunction>,
    env_vars: Option<EnvVarsFile>,
    engine: Arc<Engine>,
    ui: Ui,
    /// Functions built from source that serve requests.
    built: Vec<usize>,
    templates: Vec<PathBuf>,
}

/// Starts watching what the session built.
pub(crate) fn spawn(session: &Session<'_>, ui: &Ui) -> Result<Watching> {
    let build = rust_build(session.settings, session.project, session.functions);
    let again = build.clone();
    let mut watch = BuildWatch::resume(build, Box::new(move || Ok(again.clone())), ui)
        .map_err(|failure| anyhow::anyhow!("Unable to watch for changes: {}", failure.message()))?;
    let restarter = Restarter {
        settings: session.settings.clone(),
        project: session.project.clone(),
        functions: session.functions.to_vec(),
        env_vars: session.env_vars.cloned(),
        engine: session.engine.clone(),
        ui: ui.clone(),
        built: session
            .functions
            .iter()
            .enumerate()
            .filter(|(i, f)| session.engine.pools[*i].is_some() && classify(f) == Code::Build)
            .map(|(i, _)| i)
            .collect(),
        templates: session
            .project
            .stacks
            .iter()
            .filter_map(|s| s.template_file.canonicalize().ok())
            .collect(),
    };
    let stopper = watch.stopper();
    let thread = std::thread::spawn(move || {
        while let Some(changes) = watch.next_change() {
            restarter.engine.pause();
            restarter
                .ui
                .log("Source changed: rebuilding (requests wait for the new build)");
            let rebuild = watch.rebuild(&changes);
            if let Some(rebuild) = &rebuild {
                restarter
                    .ui
                    .rebuilt(rebuild, &watch.settings().build_dir_shown);
                restarter.restart(rebuild);
            }
            restarter.engine.resume();
            if rebuild.is_none() {
                break;
            }
        }
    });
    Ok(Watching { stopper, thread })
}

impl Watching {
    /// Ends the watch, waiting (a few seconds at most) for a rebuild in progress to stop.
    pub(crate) async fn stop(self) {
        self.stopper.stop();
        let thread = self.thread;
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            tokio::task::spawn_blocking(move || thread.join()),
        )
        .await;
    }
}

impl Restarter {
    /// Points the pools of the functions whose binary changed at the new build.
    fn restart(&self, rebuild: &Rebuild) {
        if rebuild.error.is_some() {
            return;
        }
        if rebuild.changed.iter().any(|c| self.templates.contains(c)) {
            self.ui.warn(
                "The template changed: restart samrs local start-api to pick up its changes (routes, functions, environment)",
            );
        }
        for &i in &self.built {
            let function = &self.functions[i];
            if !rebuild.swapped && !rebuild.replaced.contains(&function.full_path) {
                continue;
            }
            let Some(pool) = &self.engine.pools[i] else {
                continue;
            };
            let task_root = function_dir(
                &self.settings.build.build_dir,
                &self.project,
                function.function,
            );
            match program(
                function,
                &task_root,
                true,
                &self.project,
                &self.settings,
                &self.ui,
            ) {
                Ok(Runnable::Yes(program)) => {
                    let (spec, _) =
                        process_spec(&self.settings, function, &program, self.env_vars.as_ref());
                    pool.replace(spec);
                    self.ui.log(&format!(
                        "{}: the next request runs the new code",
                        function.logical_id
                    ));
                }
                Ok(Runnable::No(reason)) => self.ui.warn(&reason),
                Err(failure) => self.ui.warn(&format!(
                    "{}: still serving the previous build: {}",
                    function.logical_id,
                    failure.message()
                )),
            }
        }
    }
}
