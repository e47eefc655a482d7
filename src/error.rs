//! How a run failed, which decides the exit code and how the failure is reported.

use anyhow::anyhow;

use crate::plan::PlanError;

/// How a run failed, which decides the exit code and what is printed.
#[derive(Debug)]
pub enum Failure {
    /// A command-line mistake: exit 2.
    Usage(UsageError),
    /// Found before building (template, config): exit 1, no "Build Failed".
    Setup(anyhow::Error),
    /// Found while building: exit 1 after "Build Failed".
    Build(anyhow::Error),
}

impl Failure {
    /// 2 for a usage error, 1 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Setup(_) | Failure::Build(_) => 1,
        }
    }

    /// A failure before the build; a [`UsageError`] inside stays a usage error.
    pub fn setup(error: anyhow::Error) -> Failure {
        match error.downcast::<UsageError>() {
            Ok(usage) => Failure::Usage(usage),
            Err(error) => Failure::Setup(error),
        }
    }

    /// A planning error, before or during the build as SAM reports it.
    pub fn from_plan(error: PlanError) -> Failure {
        if error.before_build {
            Failure::Setup(anyhow!(error.message))
        } else {
            Failure::Build(anyhow!(error.message))
        }
    }

    /// The text of the final `Error:` line.
    pub fn message(&self) -> String {
        match self {
            Failure::Usage(usage) => usage.message.clone(),
            Failure::Setup(e) | Failure::Build(e) => format!("{e:#}"),
        }
    }
}

/// A command-line mistake: exit code 2 with SAM's usage header (unless `bare`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError {
    /// SAM's words for the mistake.
    pub message: String,
    /// SAM prints only the `Error:` line for some option conflicts.
    pub bare: bool,
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UsageError {}
