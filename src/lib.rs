//! samrs: a drop-in replacement for `sam build` for Rust functions built with cargo-lambda.
//!
//! The modules follow the pipeline: settings → template → plan → build → output, with `ui`
//! deciding what is printed where.

pub mod build;
pub mod cli;
pub mod output;
pub mod paths;
pub mod plan;
mod run;
pub mod settings;
pub mod template;
pub mod ui;

pub use run::{Failure, build, run};
