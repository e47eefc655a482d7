//! samrs: a drop-in replacement for `sam build` for Rust functions built with cargo-lambda.
//!
//! The modules follow the pipeline: settings → template → plan → cargo → output, with `ui`
//! deciding what is printed where and `run` conducting a build; `commands` dispatches
//! to it, to `watch` (rebuild on change) and to `local` (run the built functions here).

pub(crate) mod cargo;
pub(crate) mod cli;
mod commands;
pub mod error;
pub(crate) mod local;
pub mod output;
pub(crate) mod paths;
pub mod plan;
pub(crate) mod preflight;
mod run;
pub(crate) mod sam;
pub(crate) mod settings;
pub(crate) mod sources;
pub(crate) mod store;
pub(crate) mod suggest;
pub mod template;
pub(crate) mod ui;
pub mod usage;
pub(crate) mod watch;

pub use commands::run;
pub use error::Failure;
