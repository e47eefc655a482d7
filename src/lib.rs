//! samrs: a drop-in replacement for `sam build` for Rust functions built with cargo-lambda.
//!
//! The modules follow the pipeline: settings → template → plan → cargo → output, with `ui`
//! deciding what is printed where and `run` conducting; `local` runs the built functions on
//! this machine.

pub(crate) mod cargo;
pub(crate) mod cli;
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
pub(crate) mod watch;

pub use error::Failure;
pub use run::run;
