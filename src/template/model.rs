//! The plain data the template stage hands to the planner and the writer.

use std::path::PathBuf;

use indexmap::IndexMap;
use serde_yaml::{Mapping, Value};

/// Every stack of a project: the root first, then nested stacks depth first.
#[derive(Debug, Clone)]
pub struct Project {
    /// The root stack first, then nested stacks depth first.
    pub stacks: Vec<Stack>,
    /// Nested stacks that point at S3 or HTTP(S) and are therefore not built.
    pub remote_stacks: Vec<RemoteStack>,
    /// Doubtful input that sam accepts and samrs builds too, each with its fix.
    pub warnings: Vec<String>,
}

/// One template of the project.
#[derive(Debug, Clone)]
pub struct Stack {
    /// Logical ids from the root down to this stack; empty for the root.
    pub path: Vec<String>,
    /// The template file, absolute.
    pub template_file: PathBuf,
    /// The template's folder with symlinks resolved: relative paths in it start here.
    pub dir: PathBuf,
    /// The parsed template in long form, before Globals or intrinsics.
    pub raw: Mapping,
    /// Pseudo-parameters and parameters with the values this stack was loaded with (`Ref` sees
    /// these), for stages that resolve more of the template later (`samrs local`).
    pub parameters: IndexMap<String, Value>,
    /// Its function resources, in template order.
    pub functions: Vec<Function>,
    /// Its layer resources, in template order.
    pub layers: Vec<Layer>,
    /// Local child stacks: (logical id, index of the child in `Project::stacks`).
    pub children: Vec<(String, usize)>,
}

impl Stack {
    /// `Stack1/Stack2/` for nested stacks, empty for the root.
    pub fn prefix(&self) -> String {
        self.path.iter().map(|p| format!("{p}/")).collect()
    }
}

/// A nested stack that is skipped because its template is not local.
#[derive(Debug, Clone)]
pub struct RemoteStack {
    /// `<stack path>/<logical id>` of the nested stack resource.
    pub full_path: String,
}

/// Which resource type declared a function; decides the code property's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FunctionKind {
    /// `AWS::Serverless::Function`
    Serverless,
    /// `AWS::Lambda::Function`
    Lambda,
    /// `AWS::Serverless::WebFunction` (SAM 1.170): always handed to `sam build`.
    Web,
}

impl FunctionKind {
    /// The CloudFormation resource type.
    pub fn type_name(self) -> &'static str {
        match self {
            FunctionKind::Serverless => "AWS::Serverless::Function",
            FunctionKind::Lambda => "AWS::Lambda::Function",
            FunctionKind::Web => "AWS::Serverless::WebFunction",
        }
    }

    /// `CodeUri` or `Code`.
    pub fn code_property(self) -> &'static str {
        match self {
            FunctionKind::Serverless | FunctionKind::Web => "CodeUri",
            FunctionKind::Lambda => "Code",
        }
    }
}

/// Lambda's two instruction sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Architecture {
    /// `x86_64`
    X86_64,
    /// `arm64`
    Arm64,
}

impl Architecture {
    /// The name a template uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

/// Why a function is left unbuilt (SAM's rules, spec §3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// CodeUri/Code in S3.
    S3Code,
    /// An image in ECR without Dockerfile metadata.
    EcrImage,
    /// Inline code (`InlineCode`, `ZipFile`).
    InlineCode,
    /// A `.zip` CodeUri.
    Prezipped,
    /// `Metadata.SkipBuild: true`.
    SkipBuild,
    /// Any other image function without Dockerfile metadata.
    ImageWithoutBuildInfo,
}

/// A function resource with its build-deciding properties resolved.
#[derive(Debug, Clone)]
pub struct Function {
    /// The resource's logical id.
    pub logical_id: String,
    /// `<stack path>/<id>` where id is `Metadata.SamResourceId` or the logical id.
    pub full_path: String,
    /// Index of the declaring stack in `Project::stacks`.
    pub stack: usize,
    /// The declaring resource type.
    pub kind: FunctionKind,
    /// The resolved `Runtime`, checked by the planner.
    pub runtime: Option<Value>,
    /// The resolved `Architectures` value, checked by the planner.
    pub architectures: Option<Value>,
    /// The resolved `Handler`.
    pub handler: Option<Value>,
    /// The resolved CodeUri/Code string (`.` when missing or unresolvable).
    pub code_uri: String,
    /// `code_uri` joined to the template's folder (or the base dir), normalised.
    pub code_dir: PathBuf,
    /// `Zip` or `Image`.
    pub package_type: String,
    /// The resolved Metadata, as written back into the built template.
    pub metadata: Mapping,
    /// The resolved `FunctionName`, if it is text.
    pub function_name: Option<String>,
    /// Logical ids of the layers of the same stack that `Layers` refers to with `Ref`.
    pub layers: Vec<String>,
    /// CodeUri/Code as text when it is a number, boolean or list: not a path (reported when
    /// the function is built).
    pub code_not_a_path: Option<String>,
    /// Why it is not built, if it is not.
    pub skip: Option<SkipReason>,
}

impl Function {
    /// `Metadata.BuildMethod`, if any.
    pub fn build_method(&self) -> Option<&Value> {
        self.metadata.get("BuildMethod")
    }
}

/// Which resource type declared a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LayerKind {
    /// `AWS::Serverless::LayerVersion`
    Serverless,
    /// `AWS::Lambda::LayerVersion`
    Lambda,
}

impl LayerKind {
    /// The CloudFormation resource type.
    pub fn type_name(self) -> &'static str {
        match self {
            LayerKind::Serverless => "AWS::Serverless::LayerVersion",
            LayerKind::Lambda => "AWS::Lambda::LayerVersion",
        }
    }

    /// `ContentUri` or `Content`.
    pub fn content_property(self) -> &'static str {
        match self {
            LayerKind::Serverless => "ContentUri",
            LayerKind::Lambda => "Content",
        }
    }
}

/// A layer resource (built only when it has a BuildMethod).
#[derive(Debug, Clone)]
pub struct Layer {
    /// The resource's logical id.
    pub logical_id: String,
    /// `<stack path>/<id>`, as for functions.
    pub full_path: String,
    /// Index of the declaring stack in `Project::stacks`.
    pub stack: usize,
    /// The declaring resource type.
    pub kind: LayerKind,
    /// The resolved ContentUri/Content string.
    pub content_uri: String,
    /// `content_uri` joined to the template's folder (or the base dir).
    pub content_dir: PathBuf,
    /// The resolved Metadata.
    pub metadata: Mapping,
    /// The resolved `CompatibleRuntimes`.
    pub compatible_runtimes: Option<Value>,
    /// The resolved `CompatibleArchitectures`.
    pub compatible_architectures: Option<Value>,
}

impl Layer {
    /// `Metadata.BuildMethod`, if any.
    pub fn build_method(&self) -> Option<&Value> {
        self.metadata.get("BuildMethod")
    }
}
