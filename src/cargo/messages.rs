//! What cargo says while it builds, read from `--message-format=json-render-diagnostics`: a JSON
//! line on stdout for every unit it finished (fresh or compiled), its own progress bar on stderr
//! (`Building [===>  ] 54/144: serde`, which carries the total), and `error: could not compile`
//! lines naming what failed. Pure: the runner feeds it lines, the display and the report read it.

use std::process::Command;

use serde_json::Value;

use crate::ui::strip_colours;

/// The flag that makes cargo print one JSON message per finished unit on stdout while it still
/// renders its diagnostics (with colours, if asked) on stderr.
pub(crate) const MESSAGE_FORMAT: &str = "--message-format=json-render-diagnostics";

/// Makes cargo draw its progress bar even off a terminal (the bar carries the total), wide
/// enough for the counts; the bar is read, never shown as is.
pub(crate) fn with_progress_bar(command: &mut Command) -> &mut Command {
    command
        .env("CARGO_TERM_PROGRESS_WHEN", "always")
        .env("CARGO_TERM_PROGRESS_WIDTH", "100")
}

/// cargo's output as it printed it (colours included), without its JSON messages and bar.
pub(crate) fn diagnostics<'a>(stderr: &'a [String], stdout: &'a [String]) -> Vec<&'a str> {
    let mut scratch = Tally::default();
    let mut lines: Vec<&str> = stderr
        .iter()
        .filter(|l| !scratch.stderr_line(l))
        .map(String::as_str)
        .collect();
    lines.extend(
        stdout
            .iter()
            .filter(|l| !scratch.stdout_line(l))
            .map(String::as_str),
    );
    lines
}

/// What one cargo run has said so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Units cargo finished (compiled, fresh or build scripts run), as its bar counts them.
    pub(crate) done: usize,
    /// Units it had to compile (not fresh).
    pub(crate) compiled: usize,
    /// Every unit of the build, from cargo's progress bar once it has shown one.
    pub(crate) total: Option<usize>,
    /// Binaries cargo reported, and whether they were fresh (not compiled again).
    pub(crate) bins: Vec<(String, bool)>,
    /// What `error: could not compile` named: `Some(bin)` for a binary, `None` for anything
    /// else (a library, a build script, a dependency), which stops every binary of the run.
    pub(crate) failed: Vec<Option<String>>,
}

impl Tally {
    /// Reads one stdout line; true when it was one of cargo's JSON messages.
    pub(crate) fn stdout_line(&mut self, line: &str) -> bool {
        if !line.starts_with('{') {
            return false;
        }
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            return false;
        };
        match message.get("reason").and_then(Value::as_str) {
            Some("compiler-artifact") => {
                let fresh = message.get("fresh").and_then(Value::as_bool) == Some(true);
                self.done += 1;
                if !fresh {
                    self.compiled += 1;
                }
                let target = message.get("target");
                let is_bin = target
                    .and_then(|t| t.get("kind"))
                    .and_then(Value::as_array)
                    .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"));
                if is_bin
                    && let Some(name) = target.and_then(|t| t.get("name")).and_then(Value::as_str)
                {
                    self.bins.push((name.to_string(), fresh));
                }
            }
            Some("build-script-executed") => self.done += 1,
            _ => {}
        }
        true
    }

    /// Reads one stderr line (colours allowed); true when it was cargo's progress bar (not
    /// worth keeping).
    pub(crate) fn stderr_line(&mut self, line: &str) -> bool {
        let plain = strip_colours(line);
        let trimmed = plain.trim();
        if let Some(bar) = trimmed.strip_prefix("Building [") {
            if let Some((_, counts)) = bar.split_once("] ") {
                let counts = counts.split(':').next().unwrap_or_default();
                if let Some((done, total)) = counts.split_once('/')
                    && let (Ok(done), Ok(total)) = (done.parse::<usize>(), total.parse())
                {
                    self.done = self.done.max(done);
                    self.total = Some(total);
                }
            }
            return true;
        }
        if let Some(rest) = trimmed.strip_prefix("error: could not compile `") {
            let bin = rest
                .split_once("(bin \"")
                .and_then(|(_, b)| b.split_once('"'))
                .map(|(name, _)| name.to_string());
            self.failed.push(bin);
        }
        false
    }

    /// Whether cargo found `bin` up to date (reported it, fresh).
    pub(crate) fn fresh(&self, bin: &str) -> bool {
        self.bins.iter().any(|(name, fresh)| name == bin && *fresh)
    }

    /// Whether `bin` is among what failed to compile: named, or stopped by a failed library,
    /// build script or dependency (also when cargo named nothing).
    pub(crate) fn failed(&self, bin: &str) -> bool {
        self.failed.is_empty()
            || self
                .failed
                .iter()
                .any(|f| f.as_deref().is_none_or(|name| name == bin))
    }

    /// `54/144` (the total once cargo has shown it), for the progress line.
    pub(crate) fn counts(&self) -> String {
        match self.total {
            Some(total) => format!("{}/{total}", self.done.min(total)),
            None => format!("{}", self.done),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARTIFACT: &str = r#"{"reason":"compiler-artifact","package_id":"x","target":{"kind":["KIND"],"name":"NAME"},"fresh":FRESH}"#;

    fn artifact(kind: &str, name: &str, fresh: bool) -> String {
        ARTIFACT
            .replace("KIND", kind)
            .replace("NAME", name)
            .replace("FRESH", &fresh.to_string())
    }

    #[test]
    fn json_messages_count_units_and_bins_and_the_bar_gives_the_total() {
        let mut tally = Tally::default();
        assert!(tally.stdout_line(&artifact("lib", "serde", true)));
        assert!(tally.stdout_line(r#"{"reason":"build-script-executed","package_id":"y"}"#));
        assert!(tally.stdout_line(&artifact("bin", "function_a", true)));
        assert!(tally.stdout_line(&artifact("bin", "function_b", false)));
        assert!(!tally.stdout_line("cargo-lambda says hello"));
        assert_eq!((tally.done, tally.compiled), (4, 1));
        assert_eq!(tally.counts(), "4");
        assert!(tally.stderr_line(
            "\x1b[1m\x1b[36m    Building\x1b[0m [=====>     ] 84/85: function_b(bin)   "
        ));
        assert!(!tally.stderr_line("   Compiling test-handler v0.1.0 (/p)"));
        assert_eq!(tally.counts(), "84/85");
        assert!(tally.fresh("function_a") && !tally.fresh("function_b") && !tally.fresh("c"));
    }

    #[test]
    fn a_failed_bin_is_named_and_a_failed_library_stops_every_bin() {
        let mut tally = Tally::default();
        tally.stderr_line(
            "\x1b[1m\x1b[91merror\x1b[0m\x1b[1m: could not compile `test-handler` (bin \"function_b\") due to 1 previous error\x1b[0m",
        );
        assert!(tally.failed("function_b") && !tally.failed("function_a"));
        tally.stderr_line("error: could not compile `helpers` (lib) due to 2 previous errors");
        assert!(tally.failed("function_a"));
        assert!(
            Tally::default().failed("anything"),
            "nothing named: all failed"
        );
    }
}
