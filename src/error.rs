//! How a run failed: each stage's error, kept whole. The exit code, SAM's "Build Failed" banner
//! and the JSON error type all follow from which stage failed and how.

use crate::cargo::CargoError;
use crate::plan::PlanError;
use crate::template::TemplateError;
pub use crate::usage::UsageError;

/// How a run failed, by stage.
#[derive(Debug)]
pub enum Failure {
    /// A command-line mistake.
    Usage(UsageError),
    /// The configuration: samconfig, the environment, the current folder, the beta opt-in.
    Settings(anyhow::Error),
    /// Reading the template and its nested stacks.
    Template(TemplateError),
    /// Choosing and checking the resources to build.
    Plan(PlanError),
    /// The build folder cannot be used or locked.
    BuildDir(anyhow::Error),
    /// Running cargo (the Rust part).
    Cargo(CargoError),
    /// The part handed to `sam build`, or both parts; the message says which failed.
    Sam(anyhow::Error),
    /// Writing the build: staging, restoring from the cache, templates, the swap, build.toml.
    Output(anyhow::Error),
    /// `samrs local`: choosing, preparing or running the functions on this machine.
    Local(anyhow::Error),
}

impl Failure {
    /// 2 for a usage error, 1 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Usage(_) => 2,
            _ => 1,
        }
    }

    /// A failure of the settings stage; a [`UsageError`] inside stays a usage error.
    pub fn settings(error: anyhow::Error) -> Failure {
        match error.downcast::<UsageError>() {
            Ok(usage) => Failure::Usage(usage),
            Err(error) => Failure::Settings(error),
        }
    }

    /// True when SAM would report it from its build phase (after "Build Failed").
    pub fn during_build(&self) -> bool {
        match self {
            Failure::Plan(e) => !e.before_build,
            Failure::Cargo(_) | Failure::Sam(_) | Failure::Output(_) => true,
            Failure::Usage(_)
            | Failure::Settings(_)
            | Failure::Template(_)
            | Failure::BuildDir(_)
            | Failure::Local(_) => false,
        }
    }

    /// The text of the final `Error:` line.
    pub fn message(&self) -> String {
        match self {
            Failure::Usage(usage) => usage.message.clone(),
            Failure::Plan(e) => e.message.clone(),
            Failure::Cargo(e) => e.to_string(),
            Failure::Template(e) => e.to_string(),
            Failure::Settings(e)
            | Failure::BuildDir(e)
            | Failure::Sam(e)
            | Failure::Output(e)
            | Failure::Local(e) => format!("{e:#}"),
        }
    }

    /// How cargo failed, when the Rust part failed (alone or beside sam's part).
    pub fn cargo_error(&self) -> Option<&CargoError> {
        match self {
            Failure::Cargo(e) => Some(e),
            Failure::Sam(e) => e.chain().find_map(|c| c.downcast_ref::<CargoError>()),
            _ => None,
        }
    }
}

impl From<PlanError> for Failure {
    fn from(error: PlanError) -> Failure {
        Failure::Plan(error)
    }
}

impl From<CargoError> for Failure {
    fn from(error: CargoError) -> Failure {
        Failure::Cargo(error)
    }
}
