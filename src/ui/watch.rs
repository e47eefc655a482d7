//! What `samrs build --watch` prints: one line per rebuild on stderr (or one JSON line on
//! stdout with `--output json`), cargo's diagnostics before a failed one.

use crate::cargo::CargoError;
use crate::ui::report::error_json;
use crate::ui::{OutputFormat, Ui};
use crate::watch::Rebuild;

impl Ui {
    /// The line after the first build: what is watched.
    pub(crate) fn watching(&self, files: usize, folders: usize) {
        self.log(&format!(
            "\nWatching {files} files in {folders} folders for changes (Ctrl-C to stop)"
        ));
    }

    /// One rebuild: which functions, how long, ok or failed, which binaries came out unchanged.
    pub(crate) fn rebuilt(&self, rebuild: &Rebuild, build_dir: &str) {
        let seconds = rebuild.elapsed.as_secs_f64();
        if self.format == OutputFormat::Json {
            self.json(&serde_json::json!({
                "type": "rebuild",
                "status": if rebuild.error.is_some() { "failure" } else { "success" },
                "changed": rebuild.changed.iter().map(|p| p.to_string_lossy()).collect::<Vec<_>>(),
                "functions": rebuild.built,
                "replaced": rebuild.replaced,
                "unchanged": rebuild.unchanged(),
                "build_dir_replaced": rebuild.swapped,
                "sam_part": rebuild.sam,
                "seconds": (seconds * 1000.0).round() / 1000.0,
                "error": rebuild.error.as_ref().map(error_json),
            }));
        }
        if let Some(failure) = &rebuild.error {
            self.log(&failure.message());
            // The functions whose bins did not compile, when cargo says which.
            let failed = match failure.cargo_error() {
                Some(CargoError::Compile { resources, .. }) if !resources.is_empty() => resources,
                _ => &rebuild.built,
            };
            let line = format!(
                "Rebuild failed after {seconds:.2}s ({}); the last good build stays in {build_dir}, still watching",
                list(failed, "no functions")
            );
            if self.stderr_color {
                self.log(&format!("{}{line}{}", super::RED, super::RESET));
            } else {
                self.log(&line);
            }
            return;
        }
        let unchanged = rebuild.unchanged();
        let line = if rebuild.swapped && !rebuild.replanned && rebuild.sam {
            format!(
                "Rebuilt {} in {seconds:.2}s with sam build's part: {build_dir} replaced",
                list(&rebuild.built, "no functions")
            )
        } else if rebuild.swapped {
            format!(
                "Rebuilt {} in {seconds:.2}s: new plan, {build_dir} replaced",
                list(&rebuild.built, "no functions")
            )
        } else if rebuild.built.is_empty() {
            format!("Checked the changes in {seconds:.2}s: nothing to rebuild")
        } else if unchanged.len() == rebuild.built.len() {
            format!(
                "Rebuilt {} in {seconds:.2}s: unchanged",
                rebuild.built.join(", ")
            )
        } else if unchanged.is_empty() {
            format!("Rebuilt {} in {seconds:.2}s", rebuild.built.join(", "))
        } else {
            format!(
                "Rebuilt {} in {seconds:.2}s ({} unchanged)",
                rebuild.built.join(", "),
                unchanged.join(", ")
            )
        };
        if self.stderr_color {
            self.log(&format!("{}{line}{}", super::GREEN, super::RESET));
        } else {
            self.log(&line);
        }
    }

    /// The last line after an interrupt.
    pub(crate) fn watch_stopped(&self) {
        self.log("Stopped watching");
    }
}

fn list(names: &[String], none: &str) -> String {
    if names.is_empty() {
        none.to_string()
    } else {
        names.join(", ")
    }
}
