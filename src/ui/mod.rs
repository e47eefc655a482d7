//! The one place that decides what is printed where: logs and progress on stderr (a live
//! spinner on a terminal, plain lines otherwise), result banners or JSON on stdout, colour only
//! on a terminal and never with `NO_COLOR`.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

mod report;

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
            bars: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
        }
    }

    /// A log line on stderr (above any live progress bars).
    pub fn log(&self, line: &str) {
        self.bars.suspend(|| eprintln!("{line}"));
    }

    /// A line of another tool's output (sam's part of a build) on stderr, after `prefix`
    /// (dimmed on a terminal).
    pub fn tool_line(&self, prefix: &str, line: &str) {
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

    /// Starts the live display of one cargo run.
    pub fn cargo_progress(&self, title: &str) -> CargoProgress {
        let bar = if self.stderr_tty && !self.debug {
            let bar = self.bars.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix} [{elapsed}] {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(title.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            Some(bar)
        } else {
            self.log(title);
            None
        };
        CargoProgress {
            bar,
            debug: self.debug,
            started: Instant::now(),
            compiled: 0,
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

/// Live display of one `cargo lambda build`: a spinner with the crate being compiled on a
/// terminal, nothing per line otherwise (all lines under `--debug`).
pub struct CargoProgress {
    bar: Option<ProgressBar>,
    debug: bool,
    started: Instant,
    compiled: usize,
}

impl CargoProgress {
    /// Feeds one line of cargo's output.
    pub fn line(&mut self, line: &str) {
        let trimmed = line.trim_start();
        if trimmed.starts_with("Compiling ") {
            self.compiled += 1;
        }
        if self.debug {
            eprintln!("{line}");
        }
        if let Some(bar) = &self.bar
            && !trimmed.is_empty()
        {
            bar.set_message(format!("{} crates compiled · {trimmed}", self.compiled));
        }
    }

    /// Ends the display with a summary line.
    pub fn finish(self, summary: &str) -> Duration {
        let elapsed = self.started.elapsed();
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        eprintln!("{summary} in {:.2}s", elapsed.as_secs_f64());
        elapsed
    }

    /// Ends the display without a summary (the caller reports the failure).
    pub fn abandon(self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
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
