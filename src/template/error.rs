//! How reading a template failed: a missing or unparsable file, a document that is not a SAM
//! template, a resource of the wrong shape, or any of these in a nested stack. The texts are
//! SAM's where SAM has one.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::paths;

/// Why the template stage stopped. `path` is always the template file concerned.
#[derive(Debug)]
pub enum TemplateError {
    /// The template file is not there.
    NotFound {
        /// The missing file.
        path: PathBuf,
        /// The project's template in a folder above the current one, when the default
        /// template was missing (run from a subfolder).
        above: Option<PathBuf>,
    },
    /// The file exists but cannot be read.
    Unreadable {
        /// The template file.
        path: PathBuf,
        /// Why reading failed.
        error: std::io::Error,
    },
    /// The file is not UTF-8 text.
    NotUtf8 {
        /// The template file.
        path: PathBuf,
        /// Where the first bad byte is.
        offset: usize,
    },
    /// The file is neither JSON nor YAML, or its document is not a map.
    Parse {
        /// The template file.
        path: PathBuf,
        /// What the parser said.
        problem: String,
    },
    /// A nested stack includes a template it is part of (or nests too deep).
    IncludesItself {
        /// The nested stack's path (`Parent/Child`).
        stack: String,
        /// The template it includes again.
        path: PathBuf,
    },
    /// No `Resources` map with at least one resource.
    NoResources {
        /// The template file.
        path: PathBuf,
    },
    /// The `Globals` section is not one SAM accepts.
    Globals {
        /// The template file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A resource id that is not a string.
    ResourceId {
        /// The template file.
        path: PathBuf,
    },
    /// `Fn::ForEach` (AWS::LanguageExtensions), which samrs does not expand.
    ForEach {
        /// The template file.
        path: PathBuf,
        /// The `Fn::ForEach::…` key.
        logical_id: String,
    },
    /// A resource, or one of its properties, that must be a map.
    NotAMap {
        /// The template file.
        path: PathBuf,
        /// The resource.
        logical_id: String,
        /// The property (`Properties`, `Metadata`, `Parameters`); none for the resource itself.
        property: Option<&'static str>,
        /// What it is instead, where the message names it.
        found: Option<&'static str>,
    },
    /// A resource without a `Type` string.
    NoType {
        /// The template file.
        path: PathBuf,
        /// The resource.
        logical_id: String,
    },
    /// A nested stack failed to load.
    Nested {
        /// The nested stack's path (`Parent/Child`).
        stack: String,
        /// What went wrong in it.
        error: Box<TemplateError>,
    },
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateError::NotFound { path, above } => {
                write!(f, "Template file not found at {}", path.display())?;
                match above {
                    Some(above) => write_template_above(f, path, above),
                    None => Ok(()),
                }
            }
            TemplateError::Unreadable { path, error } => {
                write!(f, "Unable to read template {}: {error}", path.display())
            }
            TemplateError::NotUtf8 { path, offset } => write!(
                f,
                "Failed to parse template: {} is not valid UTF-8 (invalid byte at offset {offset})",
                path.display()
            ),
            TemplateError::Parse { path, problem } => {
                write!(f, "Failed to parse template {}: {problem}", path.display())
            }
            TemplateError::IncludesItself { stack, path } => write!(
                f,
                "Nested stack {stack} includes {} again (nested stacks may not include themselves)",
                path.display()
            ),
            TemplateError::NoResources { path } => write!(
                f,
                "'Resources' section is required: {} has no Resources map with at least one resource",
                path.display()
            ),
            TemplateError::Globals { path, problem } => {
                write!(
                    f,
                    "Invalid Globals section in {}: {problem}",
                    path.display()
                )
            }
            TemplateError::ResourceId { path } => {
                write!(f, "{}: a resource id must be a string", path.display())
            }
            TemplateError::ForEach { path, logical_id } => write!(
                f,
                "{}: '{logical_id}' uses Fn::ForEach (AWS::LanguageExtensions), which samrs does not support; build this template with `sam build --language-extensions`",
                path.display()
            ),
            TemplateError::NotAMap {
                path,
                logical_id,
                property,
                found,
            } => {
                write!(f, "{}: resource '{logical_id}'", path.display())?;
                if let Some(property) = property {
                    write!(f, " property '{property}'")?;
                }
                f.write_str(" must be a map")?;
                match found {
                    Some(found) => write!(f, " (found {found})"),
                    None => Ok(()),
                }
            }
            TemplateError::NoType { path, logical_id } => write!(
                f,
                "{}: resource '{logical_id}' needs a 'Type' string",
                path.display()
            ),
            TemplateError::Nested { stack, error } => write!(
                f,
                "Nested stack '{stack}' (its Location/TemplateURL property): {error}"
            ),
        }
    }
}

/// Where the project's template is and how to use it, below "Template file not found".
fn write_template_above(f: &mut fmt::Formatter<'_>, path: &Path, above: &Path) -> fmt::Result {
    let folder = above.parent().unwrap_or(above);
    let relative = paths::relative(above, path.parent().unwrap_or(path));
    write!(
        f,
        "\nThe project's template is {}: run samrs build in {}, or pass -t {} (the build then goes to .aws-sam in this folder)",
        above.display(),
        folder.display(),
        relative.display()
    )
}

impl std::error::Error for TemplateError {}
