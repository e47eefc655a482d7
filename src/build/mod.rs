//! Running cargo: package facts from `cargo metadata`, the `cargo lambda build` runs, and the
//! process wrapper that streams their output.

pub mod elf;
pub mod metadata;
pub mod process;
pub mod runner;
pub mod tools;
pub mod unify;

pub use metadata::read_packages;
