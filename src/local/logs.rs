//! Where the functions' output and Lambda's own log lines (START, END, REPORT) go: stderr, or
//! the `--log-file`, one whole line at a time so concurrent functions do not mix mid-line.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};

/// The log sink of one `samrs local` run; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Logs {
    file: Option<Arc<Mutex<File>>>,
    debug: bool,
}

impl Logs {
    /// Logs to stderr, or to `file` (created or truncated) when given.
    pub(crate) fn open(file: Option<&Path>, debug: bool) -> Result<Logs> {
        let file = match file {
            Some(path) => Some(Arc::new(Mutex::new(File::create(path).with_context(
                || format!("Unable to open the log file {}", path.display()),
            )?))),
            None => None,
        };
        Ok(Logs { file, debug })
    }

    /// A line the function printed.
    pub(crate) fn function_line(&self, line: &str) {
        self.write(line);
    }

    /// A line of Lambda's own (START, END, REPORT, timeouts).
    pub(crate) fn platform(&self, line: &str) {
        self.write(line);
    }

    /// A request line of the HTTP server (always on stderr, as SAM's server logs them).
    #[expect(
        clippy::unused_self,
        reason = "every line of a local run goes through Logs"
    )]
    pub(crate) fn access(&self, line: &str) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{line}");
    }

    /// A line of samrs's own, shown only with `--debug` (always on stderr).
    pub(crate) fn debug(&self, line: &str) {
        if self.debug {
            eprintln!("{line}");
        }
    }

    /// Text that must go where the logs go without a newline added (invoke's response under
    /// `--log-file`); false when the logs go to stderr.
    pub(crate) fn write_raw_to_file(&self, text: &[u8]) -> bool {
        match &self.file {
            Some(file) => {
                if let Ok(mut file) = file.lock() {
                    let _ = file.write_all(text);
                    let _ = file.flush();
                }
                true
            }
            None => false,
        }
    }

    fn write(&self, line: &str) {
        match &self.file {
            Some(file) => {
                if let Ok(mut file) = file.lock() {
                    let _ = writeln!(file, "{line}");
                }
            }
            None => {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "{line}");
            }
        }
    }
}
