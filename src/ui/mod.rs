//! The one place that decides what is printed where: logs and progress on stderr (a live
//! spinner on a terminal, plain lines otherwise), result banners or JSON on stdout, colour only
//! on a terminal and never with `NO_COLOR`.

use std::fmt;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

mod report;
mod watch;

/// How the final result is reported on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

/// Console policy for one run.
#[derive(Debug, Clone)]
pub struct Ui {
    stdin_tty: bool,
    stderr_tty: bool,
    stdout_color: bool,
    stderr_color: bool,
    pub format: OutputFormat,
    pub debug: bool,
    /// False when stdout belongs to something else (`samrs local` prints a function's
    /// response there): the build's banners and JSON result are then not printed.
    pub build_results: bool,
    /// A `--watch` rebuild: SAM's per-build reports (notices, "Building codeuri" lines, sam's
    /// lines, the summary, banners, the JSON result) and the per-run lines are left out; the
    /// watch prints one line per rebuild instead.
    pub rebuild: bool,
    /// Holds the live bars of cargo runs (several at once with `--parallel`).
    bars: MultiProgress,
}

const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
const RESET: &str = "\x1b[0m";
const DIM: &str = "\x1b[2m";

impl Ui {
    /// Looks at the terminals once; `no_color` from `NO_COLOR`.
    pub fn new(no_color: bool) -> Ui {
        let stderr_tty = std::io::stderr().is_terminal();
        Ui {
            stdin_tty: std::io::stdin().is_terminal(),
            stderr_tty,
            stdout_color: std::io::stdout().is_terminal() && !no_color,
            stderr_color: stderr_tty && !no_color,
            format: OutputFormat::Text,
            debug: false,
            build_results: true,
            rebuild: false,
            bars: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
        }
    }

    /// A log line on stderr (above any live progress bars).
    pub fn log(&self, line: &str) {
        self.bars.suspend(|| eprintln!("{line}"));
    }

    /// A line of another tool's output (sam's part of a build) on stderr, after `prefix`
    /// (dimmed on a terminal); left out of `--watch` rebuilds but for `--debug` (a failure
    /// carries sam's error).
    pub fn tool_line(&self, prefix: &str, line: &str) {
        if self.rebuild && !self.debug {
            return;
        }
        if self.stderr_color {
            self.log(&format!("{DIM}{prefix}{RESET}{line}"));
        } else {
            self.log(&format!("{prefix}{line}"));
        }
    }

    /// A warning on stderr (yellow on a terminal).
    pub fn warn(&self, line: &str) {
        if self.stderr_color {
            self.log(&format!("{YELLOW}{line}{RESET}"));
        } else {
            self.log(line);
        }
    }

    /// True when a question can be asked (stdin is a terminal).
    pub fn can_prompt(&self) -> bool {
        self.stdin_tty
    }

    /// Asks on stderr and reads one line of stdin (empty on end of input).
    pub fn prompt(&self, question: &str) -> String {
        if self.stderr_color {
            eprint!("{YELLOW}{question}{RESET}");
        } else {
            eprint!("{question}");
        }
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        answer
    }

    /// A line shown only with `--debug`.
    pub fn debug(&self, line: &str) {
        if self.debug {
            eprintln!("{line}");
        }
    }

    /// Whether cargo should colour its diagnostics: when they reach a terminal and `NO_COLOR`
    /// is not set.
    pub fn cargo_colours(&self) -> bool {
        self.stderr_color
    }

    /// Starts the live display of one cargo run: on a terminal a spinner with `title`, the
    /// seconds so far, cargo's counts and what it compiles; otherwise nothing until it ends.
    pub fn cargo_progress(&self, title: &str) -> CargoProgress {
        let bar = (self.stderr_tty && !self.debug).then(|| {
            let bar = self.bars.add(ProgressBar::new_spinner());
            let style = ProgressStyle::with_template("{spinner} {prefix} [{secs}] {wide_msg}")
                .map_or_else(
                    |_| ProgressStyle::default_spinner(),
                    |style| {
                        style.with_key("secs", |state: &ProgressState, w: &mut dyn fmt::Write| {
                            let _ = write!(w, "{}s", state.elapsed().as_secs());
                        })
                    },
                );
            bar.set_style(style);
            bar.set_prefix(title.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        CargoProgress {
            bar,
            bars: self.bars.clone(),
            quiet: self.rebuild,
            debug: self.debug,
            started: Instant::now(),
            last: String::new(),
        }
    }

    /// SAM's success banner (stdout).
    pub fn success_banner(&self, artifacts: &str, template: &str, default_dir: bool) {
        if !self.build_results {
            return;
        }
        let (invoke, deploy) = if default_dir {
            (
                "sam local invoke".to_string(),
                "sam deploy --guided".to_string(),
            )
        } else {
            (
                format!("sam local invoke -t {template}"),
                format!("sam deploy --guided --template-file {template}"),
            )
        };
        let next = format!(
            "Built Artifacts  : {artifacts}\nBuilt Template   : {template}\n\nCommands you can use next\n=========================\n[*] Validate SAM template: sam validate\n[*] Invoke Function: {invoke}\n[*] Test Function in the Cloud: sam sync --stack-name {{{{stack-name}}}} --watch\n[*] Deploy: {deploy}"
        );
        let mut out = std::io::stdout().lock();
        let _ = if self.stdout_color {
            writeln!(
                out,
                "\n{GREEN}Build Succeeded{RESET}\n\n{YELLOW}{next}{RESET}"
            )
        } else {
            writeln!(out, "\nBuild Succeeded\n\n{next}")
        };
    }

    /// SAM's "Build Failed" banner (stdout).
    pub fn failure_banner(&self) {
        if !self.build_results {
            return;
        }
        let mut out = std::io::stdout().lock();
        let _ = if self.stdout_color {
            writeln!(out, "\n{RED}Build Failed{RESET}")
        } else {
            writeln!(out, "\nBuild Failed")
        };
    }

    /// One line of JSON on stdout (`--output json`).
    pub fn json(&self, value: &serde_json::Value) {
        if !self.build_results {
            return;
        }
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", python_json(value));
    }

    /// The final `Error: …` line on stderr.
    #[expect(clippy::unused_self, reason = "every print goes through the Ui")]
    pub fn error(&self, message: &str) {
        eprintln!("Error: {message}");
    }
}

/// Live display of one `cargo lambda build`: a spinner on a terminal, nothing per line otherwise
/// (every line under `--debug`). Cleared whenever the run ends: success, failure or interrupt.
pub struct CargoProgress {
    bar: Option<ProgressBar>,
    /// The display the bar belongs to, so the summary is printed above the other live lines.
    bars: MultiProgress,
    /// No closing line (a `--watch` rebuild reports once for all its runs).
    quiet: bool,
    debug: bool,
    started: Instant,
    /// The last line worth showing, kept while only the counts change.
    last: String,
}

impl CargoProgress {
    /// Shows cargo's `counts` (`54/144`) and the line it just printed, if it is worth showing.
    pub fn update(&mut self, counts: &str, line: Option<&str>) {
        if let Some(line) = line {
            if self.debug {
                eprintln!("{line}");
            }
            let text = strip_colours(line);
            if !text.trim().is_empty() {
                self.last = text.trim().to_string();
            }
        }
        if let Some(bar) = &self.bar {
            bar.set_message(if self.last.is_empty() {
                counts.to_string()
            } else {
                format!("{counts} · {}", self.last)
            });
        }
    }

    /// Ends the display with a summary line; returns how long the run took.
    pub fn finish(self, summary: &str) -> Duration {
        let elapsed = self.started.elapsed();
        self.clear();
        if !self.quiet {
            self.bars
                .suspend(|| eprintln!("{summary} in {:.2}s", elapsed.as_secs_f64()));
        }
        elapsed
    }

    /// Ends the display without a summary (the caller reports the failure).
    pub fn abandon(self) {
        self.clear();
    }

    fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            self.bars.remove(bar);
        }
    }
}

impl Drop for CargoProgress {
    /// Never leaves a spinner behind, whatever path ended the run.
    fn drop(&mut self) {
        self.clear();
    }
}

/// `text` without its ANSI escape sequences (cargo colours its status words and diagnostics).
pub(crate) fn strip_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// JSON text with Python's `json.dumps` separators (`", "`, `": "`) and ASCII escapes.
pub(crate) fn python_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_json(value, &mut out, true);
    out
}

/// `json.dumps(value, ensure_ascii=False)`: Python's separators, text left as it is (how SAM
/// prints a function's response).
pub(crate) fn python_json_text(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_json(value, &mut out, false);
    out
}

fn write_json(value: &serde_json::Value, out: &mut String, ascii: bool) {
    match value {
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json(item, out, ascii);
            }
            out.push(']');
        }
        serde_json::Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json_string(k, out, ascii);
                out.push_str(": ");
                write_json(v, out, ascii);
            }
            out.push('}');
        }
        serde_json::Value::String(s) => write_json_string(s, out, ascii),
        other => out.push_str(&other.to_string()),
    }
}

fn write_json_string(text: &str, out: &mut String, ascii: bool) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || (ascii && (c as u32) > 0x7e) => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_uses_python_separators_and_ascii() {
        let value = serde_json::json!({"type": "result", "list": [1, "é"], "n": null});
        assert_eq!(
            python_json(&value),
            r#"{"type": "result", "list": [1, "\u00e9"], "n": null}"#
        );
        assert_eq!(
            python_json_text(&value),
            r#"{"type": "result", "list": [1, "é"], "n": null}"#
        );
    }
}
