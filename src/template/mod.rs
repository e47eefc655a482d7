//! Reading SAM templates: loading YAML/JSON, Globals, intrinsics, nested stacks, and finding the
//! functions and layers `sam build` would build. The result is plain data (`Project`).

pub mod duplicates;
pub mod error;
pub mod globals;
pub mod intrinsics;
pub mod load;
pub mod model;
pub mod stacks;

pub use error::TemplateError;
pub use model::{
    Architecture, Function, FunctionKind, Layer, LayerKind, Project, RemoteStack, SkipReason, Stack,
};
pub use stacks::{ProjectOptions, load_project, load_project_with};

use serde_yaml::Value;

/// A short name for the YAML type of `value`, for error messages.
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a map",
        Value::Tagged(_) => "a tagged value",
    }
}

/// A value as one line of text, for error messages (strings as they are).
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other)
            .map(|s| s.trim().replace('\n', " "))
            .unwrap_or_default(),
    }
}
