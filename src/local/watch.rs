//! `start-api --watch`: a minimal rebuild-on-change until `samrs build --watch` (issue 11)
//! provides a watch engine. The source folders of the Rust functions are polled; after an
//! edit, requests wait while the same build pipeline as `samrs build` runs, then the next
//! request starts a process of the new code.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use super::env::EnvVarsFile;
use super::functions::LocalFunction;
use super::pool::Engine;
use super::settings::LocalSettings;
use super::{Code, Runnable, Session, classify, prepare, process_spec};
use crate::template::Project;
use crate::ui::Ui;

const POLL: Duration = Duration::from_millis(300);

/// Everything a rebuild needs, owned by the watch task.
struct Watch {
    settings: LocalSettings,
    project: Project,
    functions: Vec<LocalFunction>,
    env_vars: Option<EnvVarsFile>,
    engine: Arc<Engine>,
    ui: Ui,
    /// Functions built from source: rebuilt and restarted on a change.
    built: Vec<usize>,
    folders: Vec<PathBuf>,
}

/// Starts watching; the task ends when aborted.
pub(crate) fn spawn(session: &Session<'_>, ui: &Ui) -> JoinHandle<()> {
    let built: Vec<usize> = session
        .functions
        .iter()
        .enumerate()
        .filter(|(i, f)| session.engine.pools[*i].is_some() && classify(f) == Code::Build)
        .map(|(i, _)| i)
        .collect();
    let mut folders: Vec<PathBuf> = built
        .iter()
        .map(|&i| session.functions[i].code_dir.clone())
        .collect();
    folders.sort();
    folders.dedup();
    let watch = Watch {
        settings: session.settings.clone(),
        project: session.project.clone(),
        functions: session.functions.to_vec(),
        env_vars: session.env_vars.cloned(),
        engine: session.engine.clone(),
        ui: ui.clone(),
        built,
        folders,
    };
    tokio::spawn(async move { watch.run().await })
}

impl Watch {
    async fn run(self) {
        let this = Arc::new(self);
        let template = this.settings.build.template_file.clone();
        let mut last = this.fingerprint().await;
        let mut template_stamp = stamp(&template);
        loop {
            tokio::time::sleep(POLL).await;
            let now = stamp(&template);
            if now != template_stamp {
                template_stamp = now;
                this.ui.warn(&format!(
                    "{} changed: restart samrs local start-api to pick up template changes",
                    template.display()
                ));
            }
            let current = this.fingerprint().await;
            if current == last {
                continue;
            }
            // Let a burst of saves settle before building.
            let mut settled = current;
            loop {
                tokio::time::sleep(POLL).await;
                let again = this.fingerprint().await;
                if again == settled {
                    break;
                }
                settled = again;
            }
            last = settled;
            this.rebuild().await;
        }
    }

    async fn fingerprint(self: &Arc<Self>) -> u64 {
        let this = self.clone();
        tokio::task::spawn_blocking(move || fingerprint(&this.folders))
            .await
            .unwrap_or(0)
    }

    async fn rebuild(self: &Arc<Self>) {
        self.engine.pause();
        self.ui
            .log("Source changed: rebuilding (requests wait for the new build)");
        let started = Instant::now();
        let this = self.clone();
        let prepared = tokio::task::spawn_blocking(move || {
            prepare(
                &this.settings,
                &this.project,
                &this.functions,
                &this.built,
                &this.ui,
            )
        })
        .await;
        match prepared {
            Ok(Ok(runnables)) => {
                for &i in &self.built {
                    let (Some(Runnable::Yes(program)), Some(pool)) =
                        (&runnables[i], &self.engine.pools[i])
                    else {
                        continue;
                    };
                    let (spec, _) = process_spec(
                        &self.settings,
                        &self.functions[i],
                        program,
                        self.env_vars.as_ref(),
                    );
                    pool.replace(spec);
                }
                self.ui.log(&format!(
                    "Rebuilt in {:.1}s; the next request runs the new code",
                    started.elapsed().as_secs_f64()
                ));
            }
            Ok(Err(failure)) => self.ui.warn(&format!(
                "Rebuild failed, still serving the previous build: {}",
                failure.message()
            )),
            Err(_) => self
                .ui
                .warn("Rebuild stopped; still serving the previous build"),
        }
        self.engine.resume();
    }
}

fn stamp(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// A hash of every source file's path, size and modification time under `folders`
/// (skipping `target/`, `.aws-sam/` and hidden folders).
fn fingerprint(folders: &[PathBuf]) -> u64 {
    let mut hasher = DefaultHasher::new();
    for folder in folders {
        let walker = walkdir::WalkDir::new(folder)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                let name = e.file_name().to_string_lossy();
                e.depth() == 0 || !(name == "target" || name.starts_with('.'))
            });
        for entry in walker.filter_map(Result::ok) {
            if let Ok(meta) = entry.metadata()
                && meta.is_file()
            {
                entry.path().hash(&mut hasher);
                meta.len().hash(&mut hasher);
                meta.modified().ok().hash(&mut hasher);
            }
        }
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_changes_the_fingerprint_and_target_does_not() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(dir.path().join("src")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("target")).expect("mkdir");
        std::fs::write(dir.path().join("src/main.rs"), "fn main() {}").expect("write");
        let folders = vec![dir.path().to_path_buf()];
        let before = fingerprint(&folders);
        std::fs::write(dir.path().join("target/x"), "built").expect("write");
        assert_eq!(fingerprint(&folders), before, "target/ is ignored");
        std::fs::write(dir.path().join("src/main.rs"), "fn main() { }").expect("write");
        assert_ne!(fingerprint(&folders), before);
    }
}
