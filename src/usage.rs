//! Command-line mistakes, as SAM reports them: a leaf that the argument parser, the settings
//! and the failure report all use.

/// The usage line of `samrs build`, above its usage errors as SAM prints its own.
pub const BUILD_USAGE: &str = "Usage: samrs build [OPTIONS] [RESOURCE_LOGICAL_ID]";

/// A command-line mistake: exit code 2, under the usage line of the command (SAM's layout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError {
    /// SAM's words for the mistake.
    pub message: String,
    /// `Usage: samrs build …`; none where SAM prints only the `Error:` line (some option
    /// conflicts).
    pub usage: Option<String>,
}

impl UsageError {
    /// An error of `samrs build`, under its usage line.
    pub fn build(message: impl Into<String>) -> UsageError {
        UsageError {
            message: message.into(),
            usage: Some(BUILD_USAGE.to_string()),
        }
    }

    /// The usage line and SAM's "Try '… -h' for help." below it.
    pub fn header(&self) -> Option<String> {
        let usage = self.usage.as_deref()?;
        let command: Vec<&str> = usage
            .trim_start_matches("Usage:")
            .split_whitespace()
            .take_while(|word| !word.starts_with(['[', '<']))
            .collect();
        Some(format!("{usage}\nTry '{} -h' for help.", command.join(" ")))
    }
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UsageError {}
