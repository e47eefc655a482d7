//! samrs: a drop-in replacement for `sam build` for Rust functions built with cargo-lambda.
//!
//! The modules follow the pipeline: settings → template → plan → cargo → output, with `ui`
//! deciding what is printed where and `run` conducting.

pub mod cargo;
pub mod cli;
pub mod error;
pub mod output;
pub mod paths;
pub mod plan;
mod run;
pub mod sam;
pub mod settings;
pub mod store;
pub mod template;
pub mod ui;

pub use error::Failure;
pub use run::{build, run};
