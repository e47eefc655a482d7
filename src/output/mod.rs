//! Everything samrs writes: built templates, build.toml, and the staged, atomically swapped
//! build folder.

pub(crate) mod aws_config;
pub mod build_toml;
pub mod cache;
pub mod layout;
pub(crate) mod remote;
pub mod staging;
pub mod template;
pub mod writer;
pub mod yaml;
