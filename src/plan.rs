//! Pure planning: which functions to build, SAM's build definitions (functions that share one
//! build), and the `cargo lambda build` invocations that produce every binary they need.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

use crate::suggest::close_matches;
use crate::template::{Architecture, Function, FunctionKind, Layer, Project, value_text};

/// Where a function lives: `project.stacks[stack].functions[index]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FunctionRef {
    /// Index into `project.stacks`.
    pub stack: usize,
    /// Index into that stack's `functions`.
    pub index: usize,
}

impl FunctionRef {
    /// The function this points at.
    pub fn get(self, project: &Project) -> &Function {
        &project.stacks[self.stack].functions[self.index]
    }
}

/// A planning error, and whether SAM reports it before the build phase (no "Build Failed").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    /// The message, in SAM's words where SAM has one.
    pub message: String,
    /// True when SAM reports it before building (no "Build Failed").
    pub before_build: bool,
    /// A line SAM logs before the error (the possible names of an unknown resource).
    pub notice: Option<String>,
}

impl PlanError {
    fn before_build(message: String) -> Self {
        PlanError {
            message,
            before_build: true,
            notice: None,
        }
    }

    fn during_build(message: String) -> Self {
        PlanError {
            message,
            before_build: false,
            notice: None,
        }
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PlanError {}

/// Which functions a `samrs build` run builds, and what it said about the choice.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// The functions to build, in template order.
    pub functions: Vec<FunctionRef>,
    /// True when one resource was named on the command line (SAM then keeps build.toml).
    pub single_resource: bool,
    /// Log lines for the user (ambiguous names, excluded-but-named resources).
    pub notices: Vec<String>,
}

/// Picks the Rust functions to build: the named one, or every buildable one not excluded.
pub fn select_functions(
    project: &Project,
    resource_id: Option<&str>,
    exclude: &[String],
) -> Result<Selection, PlanError> {
    let buildable = buildable_functions(project);

    let Some(wanted) = resource_id else {
        let functions = buildable
            .into_iter()
            .filter(|r| {
                let f = r.get(project);
                !exclude.contains(&f.logical_id) && builds_with_cargo(f)
            })
            .collect();
        return Ok(Selection {
            functions,
            single_resource: false,
            notices: Vec::new(),
        });
    };

    let (found, mut notices) = find_function(project, &buildable, wanted);
    let names_layer = project.stacks.iter().any(|s| {
        s.layers
            .iter()
            .any(|l| l.full_path == wanted || l.logical_id == wanted)
    });
    if found.is_none() && names_layer {
        return Ok(Selection {
            functions: Vec::new(),
            single_resource: true,
            notices,
        });
    }
    let Some(found) = found else {
        let options: Vec<String> = project
            .stacks
            .iter()
            .flat_map(|s| {
                s.functions
                    .iter()
                    .filter(|f| f.skip != Some(crate::template::SkipReason::InlineCode))
                    .map(|f| f.logical_id.clone())
                    .chain(s.layers.iter().map(|l| l.logical_id.clone()))
            })
            .collect();
        let quoted: Vec<String> = options.iter().map(|o| format!("'{o}'")).collect();
        return Err(PlanError {
            message: format!("Unable to find a function or layer with name '{wanted}'"),
            before_build: false,
            notice: Some(format!(
                "{wanted} not found. Possible options in your template: [{}]",
                quoted.join(", ")
            )),
        });
    };
    if exclude.contains(&found.get(project).logical_id) {
        notices.push(
            "Resource expected to be built, but marked as excluded.\nBuilding anyways...".into(),
        );
    }
    // A function of another language is sam's alone (see `sam::plan`).
    let functions = if builds_with_cargo(found.get(project)) {
        vec![found]
    } else {
        Vec::new()
    };
    Ok(Selection {
        functions,
        single_resource: true,
        notices,
    })
}

/// The function `wanted` names among `candidates`, as SAM looks it up: the full path, else the
/// logical id, SamResourceId or FunctionName (the first of several after sorting their full
/// paths case-insensitively, with a notice naming them all).
pub fn find_function(
    project: &Project,
    candidates: &[FunctionRef],
    wanted: &str,
) -> (Option<FunctionRef>, Vec<String>) {
    if let Some(exact) = candidates
        .iter()
        .find(|r| r.get(project).full_path == wanted)
    {
        return (Some(*exact), Vec::new());
    }
    let mut matches: Vec<FunctionRef> = candidates
        .iter()
        .copied()
        .filter(|r| {
            let f = r.get(project);
            f.logical_id == wanted
                || f.metadata.get("SamResourceId").and_then(Value::as_str) == Some(wanted)
                || f.function_name.as_deref() == Some(wanted)
        })
        .collect();
    matches.sort_by_key(|r| r.get(project).full_path.to_lowercase());
    let mut notices = Vec::new();
    if matches.len() > 1 {
        let mut notice = format!(
            "Multiple functions found with keyword {wanted}! Function {} will be built! If it's not the function you meant, name one of these:",
            matches[0].get(project).full_path
        );
        for m in &matches {
            notice.push_str(&format!("\n{}", m.get(project).full_path));
        }
        notices.push(notice);
    }
    (matches.first().copied(), notices)
}

/// Every function `sam build` would build (not skipped), in template order.
pub fn buildable_functions(project: &Project) -> Vec<FunctionRef> {
    project
        .stacks
        .iter()
        .enumerate()
        .flat_map(|(s, stack)| {
            stack
                .functions
                .iter()
                .enumerate()
                .filter(|(_, f)| f.skip.is_none())
                .map(move |(i, _)| FunctionRef { stack: s, index: i })
        })
        .collect()
}

/// True for the functions samrs builds itself with cargo-lambda: Zip functions (not Web
/// Functions) whose BuildMethod is rust-cargolambda, or an intrinsic samrs reports as
/// unresolved. Every other buildable function is handed to `sam build`.
pub fn builds_with_cargo(f: &Function) -> bool {
    f.kind != FunctionKind::Web
        && f.package_type != "Image"
        && match f.build_method() {
            Some(Value::String(m)) => m == "rust-cargolambda",
            Some(Value::Mapping(_)) => true,
            _ => false,
        }
}

/// True for the layers samrs builds itself (BuildMethod rust-cargolambda, a beta feature).
pub fn layer_builds_with_cargo(layer: &Layer) -> bool {
    matches!(layer.build_method(), Some(Value::String(m)) if m == "rust-cargolambda")
}

/// The Rust Lambda OS runtimes a Rust function can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Runtime {
    /// `provided`
    Provided,
    /// `provided.al2`
    ProvidedAl2,
    /// `provided.al2023`
    ProvidedAl2023,
}

impl Runtime {
    /// The runtime named by a template's `Runtime` text.
    pub fn parse(text: &str) -> Option<Runtime> {
        match text {
            "provided" => Some(Runtime::Provided),
            "provided.al2" => Some(Runtime::ProvidedAl2),
            "provided.al2023" => Some(Runtime::ProvidedAl2023),
            _ => None,
        }
    }

    /// The name a template uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Provided => "provided",
            Runtime::ProvidedAl2 => "provided.al2",
            Runtime::ProvidedAl2023 => "provided.al2023",
        }
    }
}

/// Release (`--release`) or debug (`SAM_BUILD_MODE=debug`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Profile {
    /// `--release` (the default).
    Release,
    /// No `--release` (`SAM_BUILD_MODE=debug`).
    Debug,
}

/// The compile target of a function: decides cargo-lambda's target flags (spec §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    /// The OS runtime (decides the glibc target).
    pub runtime: Runtime,
    /// The instruction set.
    pub architecture: Architecture,
}

impl Target {
    /// The target flags SAM passes to `cargo lambda build`.
    pub fn cargo_flags(self) -> Vec<String> {
        match (self.runtime, self.architecture) {
            (Runtime::ProvidedAl2, Architecture::X86_64) => {
                vec!["--target".into(), "x86_64-unknown-linux-gnu.2.26".into()]
            }
            (Runtime::ProvidedAl2, Architecture::Arm64) => {
                vec!["--target".into(), "aarch64-unknown-linux-gnu.2.26".into()]
            }
            (_, Architecture::X86_64) => Vec::new(),
            (_, Architecture::Arm64) => vec!["--arm64".into()],
        }
    }

    /// The newest glibc the runtime offers (for the bootstrap check).
    pub fn max_glibc(self) -> (u32, u32) {
        match self.runtime {
            Runtime::ProvidedAl2 => (2, 26),
            Runtime::ProvidedAl2023 | Runtime::Provided => (2, 34),
        }
    }
}

/// A selected function after its build-deciding properties were checked.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedFunction {
    /// The function checked.
    pub function: FunctionRef,
    /// What it is built for.
    pub target: Target,
    /// Its resolved Handler.
    pub handler: String,
    /// `Metadata.BuildProperties.Binary`, if given.
    pub binary: Option<String>,
    /// The extra cargo options of its BuildProperties.
    pub options: CargoOptions,
}

/// samrs's own BuildProperties beyond `Binary` (SAM ignores them): they change the cargo run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CargoOptions {
    /// `Features`: passed as `--features a,b`.
    pub features: Vec<String>,
    /// `Profile`: passed as `--profile <name>` instead of `--release`.
    pub profile: Option<String>,
    /// `Flags`: extra `cargo lambda build` arguments, passed as given.
    pub flags: Vec<String>,
}

/// Reads `Features`, `Profile` and `Flags` from a resource's BuildProperties.
fn cargo_options(
    build_properties: Option<&Mapping>,
    resource: &str,
) -> Result<CargoOptions, PlanError> {
    let Some(properties) = build_properties else {
        return Ok(CargoOptions::default());
    };
    let list = |name: &str| -> Result<Vec<String>, PlanError> {
        match properties.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(s)) if name == "Features" => {
                Ok(s.split([',', ' ']).filter(|f| !f.is_empty()).map(str::to_string).collect())
            }
            Some(Value::Sequence(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(PlanError::before_build(format!(
                        "{resource}: Metadata.BuildProperties.{name} must be a list of strings (found an item {})",
                        value_text(other)
                    ))),
                })
                .collect(),
            Some(other) => Err(PlanError::before_build(format!(
                "{resource}: Metadata.BuildProperties.{name} must be a list of strings (found {})",
                value_text(other)
            ))),
        }
    };
    let profile = match properties.get("Profile") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if !p.is_empty() => Some(p.clone()),
        Some(other) => {
            return Err(PlanError::before_build(format!(
                "{resource}: Metadata.BuildProperties.Profile must be the name of a cargo profile (found {})",
                value_text(other)
            )));
        }
    };
    Ok(CargoOptions {
        features: list("Features")?,
        profile,
        flags: list("Flags")?,
    })
}

/// Checks what decides a Rust build for each selected function, failing on the first problem.
pub fn check_functions(
    project: &Project,
    selection: &Selection,
) -> Result<Vec<CheckedFunction>, PlanError> {
    // SAM reports handler and Architectures problems before building anything, so look at
    // those first for every function, then at the rest.
    let handlers = selection
        .functions
        .iter()
        .map(|r| {
            let f = r.get(project);
            let file = project.stacks[f.stack].template_file.display().to_string();
            let handler = handler_of(f, &file)?;
            check_architectures_length(f, &file)?;
            Ok(handler)
        })
        .collect::<Result<Vec<_>, _>>()?;
    selection
        .functions
        .iter()
        .zip(handlers)
        .map(|(r, handler)| check_function(project, *r, handler))
        .collect()
}

/// The function's Handler, which must be a non-empty string.
fn handler_of(f: &Function, file: &str) -> Result<String, PlanError> {
    match &f.handler {
        Some(Value::String(h)) if !h.is_empty() => Ok(h.clone()),
        Some(v) if is_unresolved(v) => {
            Err(PlanError::before_build(unresolved_message(f, "Handler", v)))
        }
        _ => Err(PlanError::before_build(format!(
            "Could not find handler for function: {} (in {file}); set Properties.Handler (for example `Handler: bootstrap`)",
            f.full_path
        ))),
    }
}

/// `Architectures`, when given, must be a list of one.
fn check_architectures_length(f: &Function, file: &str) -> Result<(), PlanError> {
    match &f.architectures {
        Some(arch) if !matches!(arch, Value::Sequence(items) if items.len() == 1) => {
            Err(PlanError::before_build(format!(
                "Function {} property Architectures should be a list of length 1 (in {file}), for example `Architectures: [arm64]`",
                f.full_path
            )))
        }
        _ => Ok(()),
    }
}

/// Checks the rest of one function (its id, BuildMethod, PackageType, Runtime, code path,
/// architecture and BuildProperties) in SAM's order.
fn check_function(
    project: &Project,
    r: FunctionRef,
    handler: String,
) -> Result<CheckedFunction, PlanError> {
    let f = r.get(project);
    let file = project.stacks[f.stack].template_file.display().to_string();
    if !is_safe_path_segment(&f.logical_id) {
        return Err(PlanError::before_build(format!(
            "Resource id '{}' in {file} cannot be used as a folder name; logical ids must be letters and digits only",
            f.logical_id
        )));
    }
    if let Some(v) = f.build_method().filter(|v| is_unresolved(v)) {
        return Err(PlanError::during_build(unresolved_message(
            f,
            "Metadata.BuildMethod",
            v,
        )));
    }
    if f.package_type != "Zip" {
        return Err(PlanError::during_build(format!(
            "{}: PackageType '{}' is not supported by samrs (Rust functions are Zip); use --exclude {} or sam build",
            f.full_path, f.package_type, f.logical_id
        )));
    }
    let runtime = runtime_of(f, &file)?;
    if let Some(found) = &f.code_not_a_path {
        return Err(PlanError::during_build(format!(
            "Function {} in {file}: {} must be the path of the folder holding the function's Cargo.toml (found {found})",
            f.full_path,
            f.kind.code_property(),
        )));
    }
    let architecture = architecture_of(f, &file)?;
    if let Some(text) = scalar_build_properties(&f.metadata) {
        return Err(PlanError::before_build(format!(
            "Function {} (in {file}): Metadata.BuildProperties is `{text}`, not a map, and sam build stops on it too ('str' object has no attribute 'get'). Name the binary with `BuildProperties: {{Binary: {text}}}` (Binary on its own line under BuildProperties)",
            f.full_path
        )));
    }
    let build_properties = build_properties(&f.metadata);
    Ok(CheckedFunction {
        function: r,
        target: Target {
            runtime,
            architecture,
        },
        handler,
        binary: binary_property(build_properties, &f.full_path)?,
        options: cargo_options(build_properties, &f.full_path)?,
    })
}

/// `Metadata.BuildProperties` when it is a map.
fn build_properties(metadata: &Mapping) -> Option<&Mapping> {
    metadata.get("BuildProperties").and_then(Value::as_mapping)
}

/// The function's Runtime, one of the `provided` runtimes.
fn runtime_of(f: &Function, file: &str) -> Result<Runtime, PlanError> {
    match &f.runtime {
        Some(Value::String(rt)) => Runtime::parse(rt).ok_or_else(|| {
            PlanError::during_build(format!(
                "'{rt}' runtime is not supported (function {} in {file}); rust-cargolambda functions use provided.al2023, provided.al2 or provided",
                f.full_path
            ))
        }),
        Some(v) if is_unresolved(v) => Err(PlanError::during_build(unresolved_message(
            f, "Runtime", v,
        ))),
        None | Some(Value::Null) => Err(PlanError::before_build(format!(
            "'None' runtime is not supported: function {} in {file} has no Runtime; set Properties.Runtime (or Globals.Function.Runtime) to provided.al2023 or provided.al2",
            f.full_path
        ))),
        Some(other) => Err(PlanError::during_build(format!(
            "Function {} in {file}: Runtime must be a string such as provided.al2023 (found {})",
            f.full_path,
            value_text(other)
        ))),
    }
}

/// The function's architecture: x86_64 unless `Architectures` names arm64.
fn architecture_of(f: &Function, file: &str) -> Result<Architecture, PlanError> {
    match f.architectures.as_ref().and_then(|a| a.get(0)) {
        None => Ok(Architecture::X86_64),
        Some(Value::String(a)) if a == "x86_64" => Ok(Architecture::X86_64),
        Some(Value::String(a)) if a == "arm64" => Ok(Architecture::Arm64),
        Some(v) if is_unresolved(v) => Err(PlanError::during_build(unresolved_message(
            f,
            "Architectures",
            v,
        ))),
        Some(other) => Err(PlanError::during_build(format!(
            "Architecture {} is not supported (function {} in {file}); use x86_64 or arm64",
            value_text(other),
            f.full_path
        ))),
    }
}

/// Metadata keys SAM reads when it builds a function or a layer.
const METADATA_KEYS: &[&str] = &[
    "BuildMethod",
    "BuildProperties",
    "BuildArchitecture",
    "SamResourceId",
    "SkipBuild",
    "Dockerfile",
    "DockerContext",
    "DockerTag",
    "DockerBuildArgs",
    "DockerBuildTarget",
    "DockerBuildExtraParams",
];

/// BuildProperties keys samrs reads (SAM reads only `Binary`).
const BUILD_PROPERTY_KEYS: &[&str] = &["Binary", "Features", "Profile", "Flags", "Internal"];

/// Keys of `mapping` that are not in `known` but so close to one (ignoring case) that they are
/// most likely a typo of it: (the key, the known key). `BuildProperty` is 0.86 close to
/// `BuildProperties`, `Binnary` 0.92 to `Binary`; unrelated keys stay far below 0.8.
fn typos(mapping: &Mapping, known: &[&'static str]) -> Vec<(String, &'static str)> {
    let lowered: Vec<String> = known.iter().map(|k| k.to_ascii_lowercase()).collect();
    mapping
        .keys()
        .filter_map(Value::as_str)
        .filter(|key| !known.contains(key))
        .filter_map(|key| {
            let lower = key.to_ascii_lowercase();
            let best = close_matches(&lower, lowered.iter().map(String::as_str), 1, 0.8);
            let index = lowered
                .iter()
                .position(|l| Some(&l.as_str()) == best.first())?;
            Some((key.to_string(), known[index]))
        })
        .collect()
}

/// Warnings for Metadata keys SAM and samrs would silently ignore: misspelt ones (`BuildMetod`,
/// `BuildProperty`, `Binnary`) and BuildProperties placed directly under Metadata, for every
/// function and layer not excluded.
pub fn metadata_typos(project: &Project, exclude: &[String]) -> Vec<String> {
    let functions = project
        .stacks
        .iter()
        .flat_map(|s| &s.functions)
        .filter(|f| f.skip.is_none() && !exclude.contains(&f.logical_id))
        .map(|f| (&f.full_path, f.stack, &f.metadata));
    let layers = project
        .stacks
        .iter()
        .flat_map(|s| &s.layers)
        .filter(|l| !exclude.contains(&l.logical_id))
        .map(|l| (&l.full_path, l.stack, &l.metadata));
    let mut warnings = Vec::new();
    for (resource, stack, metadata) in functions.chain(layers) {
        let file = project.stacks[stack].template_file.display();
        for (typo, known) in typos(metadata, METADATA_KEYS) {
            warnings.push(format!(
                "{resource}: Metadata.{typo} (in {file}) is not a key SAM reads, so it is ignored; did you mean Metadata.{known}?"
            ));
        }
        for key in BUILD_PROPERTY_KEYS {
            if metadata.contains_key(*key) {
                warnings.push(format!(
                    "{resource}: Metadata.{key} (in {file}) is not read there, so it is ignored; it belongs under Metadata.BuildProperties (`BuildProperties: {{{key}: ...}}`)"
                ));
            }
        }
        if let Some(properties) = build_properties(metadata) {
            for (typo, known) in typos(properties, BUILD_PROPERTY_KEYS) {
                warnings.push(format!(
                    "{resource}: Metadata.BuildProperties.{typo} (in {file}) is not a key samrs reads, so it is ignored; did you mean Metadata.BuildProperties.{known}?"
                ));
            }
        }
    }
    warnings
}

/// `BuildProperties: function_a` (a string, as some guides print it): sam build crashes on it.
fn scalar_build_properties(metadata: &Mapping) -> Option<String> {
    match metadata.get("BuildProperties") {
        Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Sequence(_))) => {
            Some(value_text(v))
        }
        _ => None,
    }
}

/// `BuildProperties.Binary`: a bin name, or none.
fn binary_property(
    properties: Option<&Mapping>,
    resource: &str,
) -> Result<Option<String>, PlanError> {
    match properties.and_then(|p| p.get("Binary")) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(b)) if !b.is_empty() => Ok(Some(b.clone())),
        Some(v) if is_unresolved(v) => Err(PlanError::during_build(format!(
            "Function {resource} property Metadata.BuildProperties.Binary is {}, which could not be resolved: {}",
            value_text(v),
            unresolved_hint(v)
        ))),
        Some(other) => Err(PlanError::during_build(format!(
            "{resource}: Metadata.BuildProperties.Binary must be the name of a binary target (found {})",
            value_text(other)
        ))),
    }
}

fn is_safe_path_segment(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric())
}

fn is_unresolved(value: &Value) -> bool {
    matches!(value, Value::Mapping(m) if m.len() == 1)
}

fn unresolved_message(f: &Function, property: &str, value: &Value) -> String {
    format!(
        "Function {} property {property} is {}, which could not be resolved: {}",
        f.full_path,
        value_text(value),
        unresolved_hint(value)
    )
}

fn unresolved_hint(value: &Value) -> String {
    match value.get("Ref").and_then(Value::as_str) {
        Some(name) => format!(
            "parameter '{name}' has no value: give it a Default or pass --parameter-overrides {name}=..."
        ),
        None => "samrs cannot work it out locally; use a plain value or a parameter".to_string(),
    }
}

/// What an older build.toml recorded, matched to keep UUIDs (and hashes) stable.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Previous {
    /// Function build definitions.
    pub functions: Vec<PreviousDefinition>,
    /// Layer build definitions.
    pub layers: Vec<PreviousLayer>,
}

/// A layer build definition of an older build.toml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousLayer {
    /// The UUID to keep.
    pub uuid: String,
    /// The layer's full path (`Stack/Layer`).
    pub layer: String,
    /// The layer's CodeUri as recorded.
    pub code_uri: String,
    /// The layer's architecture as recorded.
    pub architecture: String,
    /// The `--cached` key recorded for it.
    pub source_hash: String,
}

/// A build definition of an older build.toml, matched to keep its UUID (and hashes).
#[derive(Debug, Clone, PartialEq)]
pub struct PreviousDefinition {
    /// The UUID to keep.
    pub uuid: String,
    /// The CodeUri as recorded.
    pub code_uri: String,
    /// The runtime as recorded.
    pub runtime: String,
    /// The architecture as recorded.
    pub architecture: String,
    /// The package type as recorded.
    pub package_type: String,
    /// The metadata as recorded.
    pub metadata: Mapping,
    /// The `--cached` key of its last successful build.
    pub source_hash: String,
    /// SAM's manifest hash (kept as read).
    pub manifest_hash: String,
}

/// SAM's unit of building: functions whose build inputs are equal share one (spec §4.1).
#[derive(Debug, Clone, PartialEq)]
pub struct BuildDefinition {
    /// Its folder name under the cache folder and its key in build.toml.
    pub uuid: String,
    /// As shown and stored: the absolute folder, or the raw CodeUri with `--base-dir`.
    pub code_uri: String,
    /// The package folder cargo builds in.
    pub code_dir: PathBuf,
    /// What its functions are built for.
    pub target: Target,
    /// The shared Handler.
    pub handler: String,
    /// `Zip` (images are not built).
    pub package_type: String,
    /// Metadata without `SamResourceId`/`SamNormalized`.
    pub metadata: Mapping,
    /// `Metadata.BuildProperties.Binary`, if given.
    pub binary: Option<String>,
    /// The extra cargo options of its BuildProperties.
    pub options: CargoOptions,
    /// The functions built by it, in template order.
    pub functions: Vec<FunctionRef>,
    /// The `--cached` key recorded in build.toml.
    pub source_hash: String,
    /// SAM's manifest hash (kept as read).
    pub manifest_hash: String,
    /// What `--cached` decided for this definition.
    pub cache: CacheVerdict,
}

/// What `--cached` decided for a build definition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CacheVerdict {
    /// `--cached` is off: build.
    #[default]
    Off,
    /// The cache holds artifacts for the current key: restore them, run no cargo.
    Hit,
    /// Build, and store the artifacts under this key once the build succeeded.
    Miss(String),
}

/// Groups checked functions into build definitions, reusing UUIDs of equal previous ones and
/// ordering them as SAM does: previous ones in their old order, then new ones in template order.
pub fn build_definitions(
    project: &Project,
    functions: &[CheckedFunction],
    previous: &[PreviousDefinition],
    raw_code_uri: bool,
    mut new_uuid: impl FnMut() -> String,
) -> Vec<BuildDefinition> {
    let mut definitions: Vec<BuildDefinition> = Vec::new();
    let mut index: std::collections::HashMap<(String, Target, String, Mapping), usize> =
        std::collections::HashMap::new();
    for checked in functions {
        let f = checked.function.get(project);
        let code_uri = if raw_code_uri {
            f.code_uri.clone()
        } else {
            f.code_dir.to_string_lossy().into_owned()
        };
        let metadata = definition_metadata(&f.metadata);
        let key = (
            code_uri.clone(),
            checked.target,
            f.package_type.clone(),
            metadata.clone(),
        );
        match index.get(&key) {
            Some(&i) => definitions[i].functions.push(checked.function),
            None => {
                index.insert(key, definitions.len());
                definitions.push(BuildDefinition {
                    uuid: String::new(),
                    code_uri,
                    code_dir: f.code_dir.clone(),
                    target: checked.target,
                    handler: checked.handler.clone(),
                    package_type: f.package_type.clone(),
                    metadata,
                    binary: checked.binary.clone(),
                    options: checked.options.clone(),
                    functions: vec![checked.function],
                    source_hash: String::new(),
                    manifest_hash: String::new(),
                    cache: CacheVerdict::Off,
                });
            }
        }
    }

    let mut ordered: Vec<BuildDefinition> = Vec::with_capacity(definitions.len());
    for old in previous {
        if let Some(pos) = definitions.iter().position(|d| {
            d.code_uri == old.code_uri
                && d.target.runtime.as_str() == old.runtime
                && d.target.architecture.as_str() == old.architecture
                && d.package_type == old.package_type
                && d.metadata == old.metadata
        }) {
            let mut definition = definitions.remove(pos);
            definition.uuid.clone_from(&old.uuid);
            definition.source_hash.clone_from(&old.source_hash);
            definition.manifest_hash.clone_from(&old.manifest_hash);
            ordered.push(definition);
        }
    }
    for mut definition in definitions {
        definition.uuid = new_uuid();
        ordered.push(definition);
    }
    ordered
}

/// Metadata as it takes part in grouping and build.toml: without SAM's own bookkeeping keys.
pub fn definition_metadata(metadata: &Mapping) -> Mapping {
    metadata
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), Some("SamResourceId" | "SamNormalized")))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// What cargo metadata says about a CodeUri folder: the package whose manifest is there, or,
/// for a workspace root, the default members `cargo lambda build` builds from there.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PackageInfo {
    /// The package name (`workspace <folder>` for a root with no `[package]`).
    pub name: String,
    /// The bins a build in this folder can name with `--bin`.
    pub bins: Vec<BinTarget>,
    /// The other bins of the workspace (for messages that point at the right folder).
    pub elsewhere: Vec<BinTarget>,
    /// The folder's Cargo.toml is a workspace root without `[package]`.
    pub virtual_root: bool,
    /// The target folder cargo uses for it.
    pub target_directory: PathBuf,
    /// Its workspace root (the package folder when it is not in one).
    pub workspace_root: PathBuf,
}

impl PackageInfo {
    fn bin_names(&self) -> Vec<String> {
        self.bins.iter().map(|b| b.name.clone()).collect()
    }
}

/// A binary target and what a plain build (default features) lacks to build it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BinTarget {
    /// The bin's name (`--bin <name>`).
    pub name: String,
    /// The package it belongs to.
    pub package: String,
    /// That package's folder.
    pub manifest_dir: PathBuf,
    /// Its `required-features` that the package's default features do not turn on.
    pub features_off: Vec<String>,
}

/// Where a layer lives: `project.stacks[stack].layers[index]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LayerRef {
    /// Index into `project.stacks`.
    pub stack: usize,
    /// Index into that stack's `layers`.
    pub index: usize,
}

impl LayerRef {
    /// The layer this points at.
    pub fn get(self, project: &Project) -> &Layer {
        &project.stacks[self.stack].layers[self.index]
    }
}

/// A Rust Lambda extension built into a layer (samrs's beta feature; SAM refuses these).
#[derive(Debug, Clone, PartialEq)]
pub struct LayerDefinition {
    /// Its key in build.toml.
    pub uuid: String,
    /// The layer resource.
    pub layer: LayerRef,
    /// The ContentUri as shown and stored.
    pub code_uri: String,
    /// The package folder cargo builds in.
    pub code_dir: PathBuf,
    /// What the extension is built for.
    pub target: Target,
    /// `Metadata.BuildProperties.Binary`, if given.
    pub binary: Option<String>,
    /// `BuildProperties.Internal: true` → `cargo lambda build --extension --internal`.
    pub internal: bool,
    /// The extra cargo options of its BuildProperties.
    pub options: CargoOptions,
    /// `CompatibleRuntimes`, as written in build.toml.
    pub compatible_runtimes: Vec<String>,
    /// Metadata without SAM's bookkeeping keys.
    pub metadata: Mapping,
    /// The `--cached` key recorded in build.toml.
    pub source_hash: String,
    /// What `--cached` decided for this layer.
    pub cache: CacheVerdict,
}

/// Picks the Rust layers to build: every one not excluded, the one named on the command line,
/// or those the named function uses.
pub fn select_layers(
    project: &Project,
    resource_id: Option<&str>,
    exclude: &[String],
    raw_code_uri: bool,
) -> Result<Vec<LayerDefinition>, PlanError> {
    // Building one function builds the layers it uses too, as SAM does.
    let named_function = resource_id
        .and_then(|id| find_function(project, &buildable_functions(project), id).0)
        .map(|f| f.get(project));
    let mut result = Vec::new();
    for (s, stack) in project.stacks.iter().enumerate() {
        for (i, layer) in stack.layers.iter().enumerate() {
            let wanted = match (resource_id, named_function) {
                (Some(_), Some(f)) => {
                    f.stack == s
                        && f.layers.contains(&layer.logical_id)
                        && !exclude.contains(&layer.logical_id)
                }
                (Some(id), None) => layer.full_path == id || layer.logical_id == id,
                (None, _) => !exclude.contains(&layer.logical_id),
            };
            // Layers of other build methods are sam's (see `sam::plan`).
            if wanted && layer_builds_with_cargo(layer) {
                let layer_ref = LayerRef { stack: s, index: i };
                result.push(layer_definition(layer, layer_ref, raw_code_uri)?);
            }
        }
    }
    Ok(result)
}

/// The build definition of a Rust layer, checked.
fn layer_definition(
    layer: &Layer,
    layer_ref: LayerRef,
    raw_code_uri: bool,
) -> Result<LayerDefinition, PlanError> {
    if !is_safe_path_segment(&layer.logical_id) {
        return Err(PlanError::before_build(format!(
            "Resource id '{}' cannot be used as a folder name; logical ids must be letters and digits only",
            layer.logical_id
        )));
    }
    let properties = build_properties(&layer.metadata);
    let binary = binary_property(properties, &layer.full_path)?;
    let internal = properties.and_then(|p| p.get("Internal")) == Some(&Value::Bool(true));
    let compatible_runtimes: Vec<String> = match &layer.compatible_runtimes {
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    let target = Target {
        runtime: layer_runtime(&compatible_runtimes),
        architecture: layer_architecture(layer)?,
    };
    Ok(LayerDefinition {
        uuid: String::new(),
        layer: layer_ref,
        code_uri: if raw_code_uri {
            layer.content_uri.clone()
        } else {
            layer.content_dir.to_string_lossy().into_owned()
        },
        code_dir: layer.content_dir.clone(),
        target,
        binary,
        internal,
        options: cargo_options(properties, &layer.full_path)?,
        compatible_runtimes,
        metadata: definition_metadata(&layer.metadata),
        source_hash: String::new(),
        cache: CacheVerdict::Off,
    })
}

/// A layer is built for provided.al2 only when its CompatibleRuntimes name provided.al2 and
/// not provided.al2023 or provided; otherwise for provided.al2023.
fn layer_runtime(compatible_runtimes: &[String]) -> Runtime {
    let names = |name: &str| compatible_runtimes.iter().any(|r| r == name);
    if names("provided.al2") && !names("provided.al2023") && !names("provided") {
        Runtime::ProvidedAl2
    } else {
        Runtime::ProvidedAl2023
    }
}

/// The first of the layer's CompatibleArchitectures (x86_64 when none).
fn layer_architecture(layer: &Layer) -> Result<Architecture, PlanError> {
    let Some(Value::Sequence(items)) = &layer.compatible_architectures else {
        return Ok(Architecture::X86_64);
    };
    match items.first().and_then(Value::as_str) {
        None | Some("x86_64") => Ok(Architecture::X86_64),
        Some("arm64") => Ok(Architecture::Arm64),
        Some(other) => Err(PlanError::during_build(format!(
            "Architecture {other} is not supported (layer {}); use x86_64 or arm64",
            layer.full_path
        ))),
    }
}

/// What a built binary is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Artifact {
    /// Index into the build definitions.
    Function(usize),
    /// Index into the layer definitions.
    Layer(usize),
}

/// One `cargo lambda build` run: every binary one package needs for one target, profile and
/// set of options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CargoBuild {
    /// The package folder (or the workspace root for a shared run); cargo runs here.
    pub dir: PathBuf,
    /// The package (several, comma-separated, for a shared run) for messages.
    pub package: String,
    /// `dir` is a workspace root without `[package]`: cargo builds the default members there,
    /// so this run is never folded into a `--package` run.
    pub virtual_root: bool,
    /// `--package` selections of a run shared by several workspace members (empty otherwise).
    pub packages: Vec<String>,
    /// The workspace root of the package.
    pub workspace_root: PathBuf,
    /// What the run builds for.
    pub target: Target,
    /// `--release` or not.
    pub profile: Profile,
    /// The extra cargo options of its BuildProperties.
    pub options: CargoOptions,
    /// `Some(internal)` for Lambda extensions (`--extension`, plus `--internal`).
    pub extension: Option<bool>,
    /// The `--bin` arguments.
    pub bins: Vec<String>,
    /// The target folder (`CARGO_TARGET_DIR` of the run).
    pub target_directory: PathBuf,
    /// For each artifact this run serves: what it is for and the binary it takes.
    pub outputs: Vec<(Artifact, String)>,
}

impl CargoBuild {
    /// The arguments after `cargo`: `lambda build [--release] <target flags> … --bin a --bin b`.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec!["lambda".to_string(), "build".to_string()];
        match &self.options.profile {
            Some(profile) => {
                args.push("--profile".into());
                args.push(profile.clone());
            }
            None if self.profile == Profile::Release => args.push("--release".into()),
            None => {}
        }
        args.extend(self.target.cargo_flags());
        if let Some(internal) = self.extension {
            args.push("--extension".into());
            if internal {
                args.push("--internal".into());
            }
        }
        if !self.options.features.is_empty() {
            args.push("--features".into());
            args.push(self.options.features.join(","));
        }
        args.extend(self.options.flags.iter().cloned());
        for package in &self.packages {
            args.push("--package".into());
            args.push(package.clone());
        }
        for bin in &self.bins {
            args.push("--bin".into());
            args.push(bin.clone());
        }
        args
    }

    /// Where cargo-lambda leaves a binary of this run.
    pub fn bootstrap_path(&self, bin: &str) -> PathBuf {
        let lambda = self.target_directory.join("lambda");
        match self.extension {
            Some(_) => lambda.join("extensions").join(bin),
            None => lambda.join(bin).join("bootstrap"),
        }
    }
}

/// Plans the cargo runs: one per (package folder, target, profile, options, kind), with one
/// `--bin` per binary. `packages` maps each folder to its package (from cargo metadata);
/// definitions restored from the `--cached` store need no run.
pub fn plan_cargo_builds(
    project: &Project,
    definitions: &[BuildDefinition],
    layers: &[LayerDefinition],
    packages: &BTreeMap<PathBuf, PackageInfo>,
    profile: Profile,
) -> Result<Vec<CargoBuild>, PlanError> {
    let mut builds: Vec<CargoBuild> = Vec::new();
    for need in binaries_to_build(project, definitions, layers) {
        let package = packages.get(need.dir).ok_or_else(|| {
            PlanError::during_build(format!(
                "{}: no Cargo package at {} (CodeUri must be the folder of a Cargo.toml with a [package])",
                need.name,
                need.dir.display()
            ))
        })?;
        let bin = choose_binary(
            need.binary.as_ref(),
            package,
            &NeedInfo {
                name: need.name,
                dir: need.dir,
                features: &need.options.features,
            },
        )?;
        let index = match builds.iter().position(|b| need.shares_run_with(b)) {
            Some(index) => index,
            None => {
                builds.push(need.new_build(package, profile));
                builds.len() - 1
            }
        };
        let build = &mut builds[index];
        if !build.bins.contains(&bin) {
            build.bins.push(bin.clone());
        }
        build.outputs.push((need.artifact, bin));
    }
    separate_glibc_flavours(&mut builds);
    Ok(builds)
}

/// One binary cargo has to build: for a function's build definition or a layer.
struct BinaryNeed<'a> {
    artifact: Artifact,
    dir: &'a PathBuf,
    target: Target,
    options: &'a CargoOptions,
    /// `Some(internal)` for a layer (built as an extension), `None` for a function.
    extension: Option<bool>,
    binary: &'a Option<String>,
    name: &'a str,
}

impl BinaryNeed<'_> {
    /// Whether `build` is the cargo run this binary joins: same package folder, target,
    /// options and kind.
    fn shares_run_with(&self, build: &CargoBuild) -> bool {
        build.dir == *self.dir
            && build.target == self.target
            && build.options == *self.options
            && build.extension == self.extension
    }

    /// A cargo run of `package` for this binary's target and options, with no bins yet.
    fn new_build(&self, package: &PackageInfo, profile: Profile) -> CargoBuild {
        CargoBuild {
            dir: self.dir.clone(),
            package: package.name.clone(),
            virtual_root: package.virtual_root,
            packages: Vec::new(),
            workspace_root: package.workspace_root.clone(),
            target: self.target,
            profile,
            options: self.options.clone(),
            extension: self.extension,
            bins: Vec::new(),
            target_directory: package.target_directory.clone(),
            outputs: Vec::new(),
        }
    }
}

/// The binaries of the function definitions and layers the cache does not hold, functions
/// first.
fn binaries_to_build<'a>(
    project: &'a Project,
    definitions: &'a [BuildDefinition],
    layers: &'a [LayerDefinition],
) -> impl Iterator<Item = BinaryNeed<'a>> {
    let functions = definitions
        .iter()
        .enumerate()
        .filter(|(_, d)| d.cache != CacheVerdict::Hit)
        .map(|(i, d)| BinaryNeed {
            artifact: Artifact::Function(i),
            dir: &d.code_dir,
            target: d.target,
            options: &d.options,
            extension: None,
            binary: &d.binary,
            name: &d.functions[0].get(project).full_path,
        });
    let layers = layers
        .iter()
        .enumerate()
        .filter(|(_, l)| l.cache != CacheVerdict::Hit)
        .map(|(i, l)| BinaryNeed {
            artifact: Artifact::Layer(i),
            dir: &l.code_dir,
            target: l.target,
            options: &l.options,
            extension: Some(l.internal),
            binary: &l.binary,
            name: &l.layer.get(project).full_path,
        });
    functions.chain(layers)
}

/// Groups of builds (indices) that could share one cargo run: members of one workspace with the
/// same target folder, target, profile, options and kind, whose binary names are all distinct.
/// Whether they may (cargo unifies dependency features across the packages of one run) is for
/// the caller to check.
pub fn merge_candidates(builds: &[CargoBuild]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, build) in builds.iter().enumerate() {
        if build.virtual_root {
            continue;
        }
        let group = groups.iter_mut().find(|g| {
            let first = &builds[g[0]];
            first.workspace_root == build.workspace_root
                && first.target_directory == build.target_directory
                && first.target == build.target
                && first.profile == build.profile
                && first.options == build.options
                && first.extension == build.extension
        });
        match group {
            Some(group) => group.push(i),
            None => groups.push(vec![i]),
        }
    }
    groups
        .into_iter()
        .filter(|g| {
            let mut bins: Vec<&String> = g.iter().flat_map(|i| &builds[*i].bins).collect();
            let count = bins.len();
            bins.sort();
            bins.dedup();
            let packages: std::collections::BTreeSet<&str> =
                g.iter().map(|i| builds[*i].package.as_str()).collect();
            g.len() > 1 && bins.len() == count && packages.len() == g.len()
        })
        .collect()
}

/// Folds each approved group into one run from the workspace root with `--package` per member.
pub fn merge_builds(builds: Vec<CargoBuild>, approved: &[Vec<usize>]) -> Vec<CargoBuild> {
    let mut slots: Vec<Option<CargoBuild>> = builds.into_iter().map(Some).collect();
    let mut merged_into: BTreeMap<usize, usize> = BTreeMap::new();
    for group in approved {
        for index in &group[1..] {
            merged_into.insert(*index, group[0]);
        }
    }
    let mut result: Vec<(usize, CargoBuild)> = Vec::new();
    for (index, slot) in slots.iter_mut().enumerate() {
        let Some(build) = slot.take() else {
            continue;
        };
        match merged_into.get(&index) {
            Some(head) => {
                if let Some((_, target)) = result.iter_mut().find(|(i, _)| i == head) {
                    target.packages.push(build.package.clone());
                    target.package = format!("{}, {}", target.package, build.package);
                    target.bins.extend(build.bins);
                    target.outputs.extend(build.outputs);
                }
            }
            None => {
                let mut build = build;
                if approved.iter().any(|g| g[0] == index) {
                    build.packages = vec![build.package.clone()];
                    build.dir.clone_from(&build.workspace_root);
                }
                result.push((index, build));
            }
        }
    }
    result.into_iter().map(|(_, b)| b).collect()
}

/// The subfolder of a target folder where provided.al2023 builds go beside provided.al2 ones.
pub const AL2023_TARGET_FOLDER: &str = "al2023";

/// cargo-zigbuild's linker path differs between the glibc-pinned targets of provided.al2 and
/// the plain targets of provided.al2023, and cargo rebuilds every crate when it changes. When a
/// project has both on one architecture, the plain ones build in `<target>/al2023` so that
/// neither invalidates the other (SAM rebuilds everything on each switch).
fn separate_glibc_flavours(builds: &mut [CargoBuild]) {
    let pinned: Vec<(PathBuf, Architecture)> = builds
        .iter()
        .filter(|b| b.target.runtime == Runtime::ProvidedAl2)
        .map(|b| (b.target_directory.clone(), b.target.architecture))
        .collect();
    for build in builds.iter_mut() {
        let shares_folder = pinned.iter().any(|(dir, arch)| {
            *dir == build.target_directory && *arch == build.target.architecture
        });
        if build.target.runtime != Runtime::ProvidedAl2 && shares_folder {
            build.target_directory = build.target_directory.join(AL2023_TARGET_FOLDER);
        }
    }
}

/// The bin a definition takes from its package: `Binary`, or the one bin a plain build of the
/// folder makes (bins whose required-features are off do not count), as cargo-lambda would.
fn choose_binary(
    binary: Option<&String>,
    package: &PackageInfo,
    need: &NeedInfo,
) -> Result<String, PlanError> {
    let resource = need.name;
    let dir = need.dir.display();
    let still_off = |target: &BinTarget| -> Vec<String> {
        target
            .features_off
            .iter()
            .filter(|f| !need.features.contains(f))
            .cloned()
            .collect()
    };
    if let Some(bin) = binary {
        if let Some(target) = package.bins.iter().find(|b| b.name == *bin) {
            let missing = still_off(target);
            if missing.is_empty() {
                return Ok(bin.clone());
            }
            return Err(PlanError::during_build(format!(
                "{resource}: Binary '{bin}' needs feature(s) {} (required-features of package '{}'), which a default build does not turn on, so cargo would refuse to build it (sam build fails the same way). Add them to the package's default features, or to `Features: [{}]` under BuildProperties (samrs passes them as --features)",
                quoted(&missing),
                target.package,
                missing.join(", ")
            )));
        }
        if let Some(other) = package.elsewhere.iter().find(|b| b.name == *bin) {
            return Err(PlanError::during_build(format!(
                "{resource}: Binary '{bin}' belongs to package '{}' in {}, which `cargo lambda build` in {dir} does not build (there cargo builds {}), so sam build fails here too; set CodeUri to the folder of package '{}'",
                other.package,
                other.manifest_dir.display(),
                if package.virtual_root {
                    "the workspace's default members".to_string()
                } else {
                    format!("only package '{}'", package.name)
                },
                other.package
            )));
        }
        return Err(PlanError::during_build(format!(
            "{resource}: Binary '{bin}' is not a binary target of {} in {dir} (its binaries: {}); fix Metadata.BuildProperties.Binary",
            describe_package(package),
            list_or_none(&package.bin_names())
        )));
    }
    let buildable: Vec<&BinTarget> = package
        .bins
        .iter()
        .filter(|b| still_off(b).is_empty())
        .collect();
    match buildable.as_slice() {
        [only] => Ok(only.name.clone()),
        [] if package.bins.is_empty() => Err(PlanError::during_build(format!(
            "{resource}: {} in {dir} has no binary target; add src/main.rs or a [[bin]] section",
            describe_package(package),
        ))),
        [] => Err(PlanError::during_build(format!(
            "{resource}: every binary of {} needs features a default build does not turn on ({}); name one with Metadata.BuildProperties.Binary and enable its features",
            describe_package(package),
            package
                .bins
                .iter()
                .map(|b| format!("{} needs {}", b.name, b.features_off.join(", ")))
                .collect::<Vec<_>>()
                .join("; ")
        ))),
        many => Err(PlanError::during_build(format!(
            "{resource}: {} has several binaries ({}); name one with Metadata.BuildProperties.Binary",
            describe_package(package),
            many.iter()
                .map(|b| b.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ))),
    }
}

/// What `choose_binary` needs to know about the definition besides its package.
struct NeedInfo<'a> {
    name: &'a str,
    dir: &'a std::path::Path,
    features: &'a [String],
}

fn describe_package(package: &PackageInfo) -> String {
    if package.virtual_root {
        format!("the {} (no [package] at its root)", package.name)
    } else {
        format!("package '{}'", package.name)
    }
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// Gives each layer definition the UUID an older build.toml had for the same layer, or a new one.
pub fn assign_layer_uuids(
    project: &Project,
    layers: &mut [LayerDefinition],
    previous: &[PreviousLayer],
    mut new_uuid: impl FnMut() -> String,
) {
    for layer in layers {
        let full_path = &layer.layer.get(project).full_path;
        let old = previous.iter().find(|old| {
            old.code_uri == layer.code_uri
                && old.architecture == layer.target.architecture.as_str()
                && old.layer == *full_path
        });
        match old {
            Some(old) => {
                layer.uuid.clone_from(&old.uuid);
                layer.source_hash.clone_from(&old.source_hash);
            }
            None => layer.uuid = new_uuid(),
        }
    }
}

/// Everything one build does, over the project: the function definitions (each with its cache
/// verdict) and the Rust layers. Artifacts are addressed by [`Artifact`].
pub struct BuildPlan<'a> {
    /// The project the plan refers into.
    pub project: &'a Project,
    /// Function build definitions, in SAM's order.
    pub definitions: Vec<BuildDefinition>,
    /// Rust layers to build.
    pub layers: Vec<LayerDefinition>,
    /// One resource was named on the command line: SAM then keeps build.toml and the cache.
    pub single_resource: bool,
}

impl<'a> BuildPlan<'a> {
    /// The plan for the checked functions and selected layers, with the UUIDs an older
    /// build.toml gave equal definitions (new ones from `new_uuid`).
    pub fn new(
        project: &'a Project,
        selection: &Selection,
        functions: &[CheckedFunction],
        mut layers: Vec<LayerDefinition>,
        previous: &Previous,
        raw_code_uri: bool,
        mut new_uuid: impl FnMut() -> String,
    ) -> BuildPlan<'a> {
        let definitions = build_definitions(
            project,
            functions,
            &previous.functions,
            raw_code_uri,
            &mut new_uuid,
        );
        assign_layer_uuids(project, &mut layers, &previous.layers, new_uuid);
        BuildPlan {
            project,
            definitions,
            layers,
            single_resource: selection.single_resource,
        }
    }

    /// Every artifact: the function definitions in order, then the layers.
    pub fn artifacts(&self) -> impl Iterator<Item = Artifact> + use<'_, 'a> {
        (0..self.definitions.len())
            .map(Artifact::Function)
            .chain((0..self.layers.len()).map(Artifact::Layer))
    }

    /// True unless the artifact is restored from the cache.
    pub fn needs_build(&self, artifact: Artifact) -> bool {
        match artifact {
            Artifact::Function(i) => self.definitions[i].cache != CacheVerdict::Hit,
            Artifact::Layer(i) => self.layers[i].cache != CacheVerdict::Hit,
        }
    }

    /// The build.toml UUID of an artifact, which also names its `--cached` folder.
    pub fn uuid(&self, artifact: Artifact) -> &str {
        match artifact {
            Artifact::Function(i) => &self.definitions[i].uuid,
            Artifact::Layer(i) => &self.layers[i].uuid,
        }
    }

    /// The `--cached` key build.toml recorded for an artifact.
    pub fn source_hash(&self, artifact: Artifact) -> &str {
        match artifact {
            Artifact::Function(i) => &self.definitions[i].source_hash,
            Artifact::Layer(i) => &self.layers[i].source_hash,
        }
    }

    /// What `--cached` decided for an artifact.
    pub fn cache(&self, artifact: Artifact) -> &CacheVerdict {
        match artifact {
            Artifact::Function(i) => &self.definitions[i].cache,
            Artifact::Layer(i) => &self.layers[i].cache,
        }
    }

    /// Records what `--cached` decided for an artifact.
    pub fn set_cache(&mut self, artifact: Artifact, verdict: CacheVerdict) {
        match artifact {
            Artifact::Function(i) => self.definitions[i].cache = verdict,
            Artifact::Layer(i) => self.layers[i].cache = verdict,
        }
    }

    /// Records the `--cached` key to write into build.toml for an artifact.
    pub fn set_source_hash(&mut self, artifact: Artifact, key: String) {
        match artifact {
            Artifact::Function(i) => self.definitions[i].source_hash = key,
            Artifact::Layer(i) => self.layers[i].source_hash = key,
        }
    }

    /// True when cargo has work to do.
    pub fn needs_cargo(&self) -> bool {
        self.artifacts().any(|a| self.needs_build(a))
    }

    /// The package folder an artifact is built from.
    pub fn code_dir(&self, artifact: Artifact) -> &Path {
        match artifact {
            Artifact::Function(i) => &self.definitions[i].code_dir,
            Artifact::Layer(i) => &self.layers[i].code_dir,
        }
    }

    /// The target an artifact is built for.
    pub fn target(&self, artifact: Artifact) -> Target {
        match artifact {
            Artifact::Function(i) => self.definitions[i].target,
            Artifact::Layer(i) => self.layers[i].target,
        }
    }

    /// The full paths of the resources an artifact is for.
    pub fn names(&self, artifact: Artifact) -> Vec<&str> {
        match artifact {
            Artifact::Function(i) => self.definitions[i]
                .functions
                .iter()
                .map(|f| f.get(self.project).full_path.as_str())
                .collect(),
            Artifact::Layer(i) => vec![self.layers[i].layer.get(self.project).full_path.as_str()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::stacks::load_project_in_memory;
    use std::path::Path;

    fn project(templates: &[(&str, &str)]) -> Project {
        load_project_in_memory(templates).expect("template loads")
    }

    fn rust_fn(id: &str, code: &str, binary: &str, runtime: &str, arch: &str) -> String {
        format!(
            "  {id}:\n    Type: AWS::Serverless::Function\n    Metadata:\n      BuildMethod: rust-cargolambda\n      BuildProperties: {{Binary: {binary}}}\n    Properties: {{CodeUri: {code}, Handler: bootstrap, Runtime: {runtime}, Architectures: [{arch}]}}\n"
        )
    }

    fn counter() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("uuid-{n}")
        }
    }

    fn plan_all(p: &Project) -> Vec<BuildDefinition> {
        let selection = select_functions(p, None, &[]).expect("select");
        let checked = check_functions(p, &selection).expect("check");
        build_definitions(p, &checked, &[], false, counter())
    }

    fn bin(name: &str, package: &str, features_off: &[&str]) -> BinTarget {
        BinTarget {
            name: name.into(),
            package: package.into(),
            manifest_dir: PathBuf::from("/p"),
            features_off: features_off.iter().map(ToString::to_string).collect(),
        }
    }

    fn package(bins: &[&str]) -> PackageInfo {
        PackageInfo {
            name: "pkg".into(),
            bins: bins.iter().map(|b| bin(b, "pkg", &[])).collect(),
            elsewhere: Vec::new(),
            virtual_root: false,
            target_directory: PathBuf::from("/p/target"),
            workspace_root: PathBuf::from("/p"),
        }
    }

    #[test]
    fn identical_functions_share_a_definition_whatever_their_handler() {
        let text = format!(
            "Resources:\n{}{}  F3: {{Type: AWS::Serverless::Function, Metadata: {{BuildMethod: rust-cargolambda, BuildProperties: {{Binary: a}}}}, Properties: {{CodeUri: ./, Handler: other, Runtime: provided.al2}}}}\n",
            rust_fn("F1", ".", "a", "provided.al2", "x86_64"),
            rust_fn("F2", "b", "a", "provided.al2", "x86_64"),
        );
        let p = project(&[("/p/template.yaml", &text)]);
        let defs = plan_all(&p);
        assert_eq!(defs.len(), 2);
        let names: Vec<Vec<&str>> = defs
            .iter()
            .map(|d| {
                d.functions
                    .iter()
                    .map(|f| f.get(&p).logical_id.as_str())
                    .collect()
            })
            .collect();
        assert_eq!(names, [vec!["F1", "F3"], vec!["F2"]]);
        assert_eq!(defs[0].code_uri, "/p");
        assert_eq!(defs[0].handler, "bootstrap");
    }

    #[test]
    fn one_cargo_run_per_package_target_and_profile() {
        let text = format!(
            "Resources:\n{}{}{}{}",
            rust_fn("A", ".", "a", "provided.al2", "x86_64"),
            rust_fn("B", ".", "b", "provided.al2", "x86_64"),
            rust_fn("C", ".", "a", "provided.al2023", "arm64"),
            rust_fn("D", ".", "b", "provided.al2023", "arm64"),
        );
        let p = project(&[("/p/template.yaml", &text)]);
        let defs = plan_all(&p);
        let packages = BTreeMap::from([(PathBuf::from("/p"), package(&["a", "b"]))]);
        let builds = plan_cargo_builds(&p, &defs, &[], &packages, Profile::Release).expect("plan");
        assert_eq!(builds.len(), 2);
        assert_eq!(
            builds[0].args(),
            [
                "lambda",
                "build",
                "--release",
                "--target",
                "x86_64-unknown-linux-gnu.2.26",
                "--bin",
                "a",
                "--bin",
                "b"
            ]
        );
        assert_eq!(
            builds[1].args(),
            [
                "lambda",
                "build",
                "--release",
                "--arm64",
                "--bin",
                "a",
                "--bin",
                "b"
            ]
        );
        assert_eq!(
            builds[0].outputs,
            [
                (Artifact::Function(0), "a".to_string()),
                (Artifact::Function(1), "b".to_string())
            ]
        );
        assert_eq!(
            builds[1].bootstrap_path("a"),
            PathBuf::from("/p/target/lambda/a/bootstrap")
        );
    }

    #[test]
    fn target_flags_and_debug_profile_follow_sam() {
        let flags = |runtime, architecture| {
            Target {
                runtime,
                architecture,
            }
            .cargo_flags()
        };
        assert_eq!(
            flags(Runtime::ProvidedAl2, Architecture::Arm64),
            ["--target", "aarch64-unknown-linux-gnu.2.26"]
        );
        assert!(flags(Runtime::ProvidedAl2023, Architecture::X86_64).is_empty());
        assert_eq!(flags(Runtime::Provided, Architecture::Arm64), ["--arm64"]);
        let build = CargoBuild {
            dir: PathBuf::from("/p"),
            package: "p".into(),
            virtual_root: false,
            packages: vec![],
            workspace_root: PathBuf::from("/p"),
            target: Target {
                runtime: Runtime::ProvidedAl2,
                architecture: Architecture::X86_64,
            },
            profile: Profile::Debug,
            options: CargoOptions::default(),
            extension: None,
            bins: vec!["a".into()],
            target_directory: PathBuf::from("/p/target"),
            outputs: vec![],
        };
        assert_eq!(
            build.args(),
            [
                "lambda",
                "build",
                "--target",
                "x86_64-unknown-linux-gnu.2.26",
                "--bin",
                "a"
            ]
        );
    }

    #[test]
    fn build_properties_and_extensions_shape_the_command() {
        let build = CargoBuild {
            dir: PathBuf::from("/p"),
            package: "p".into(),
            virtual_root: false,
            packages: vec![],
            workspace_root: PathBuf::from("/p"),
            target: Target {
                runtime: Runtime::ProvidedAl2023,
                architecture: Architecture::Arm64,
            },
            profile: Profile::Release,
            options: CargoOptions {
                features: vec!["a".into(), "b".into()],
                profile: Some("lean".into()),
                flags: vec!["--locked".into()],
            },
            extension: Some(true),
            bins: vec!["ext".into()],
            target_directory: PathBuf::from("/p/target"),
            outputs: vec![],
        };
        assert_eq!(
            build.args(),
            [
                "lambda",
                "build",
                "--profile",
                "lean",
                "--arm64",
                "--extension",
                "--internal",
                "--features",
                "a,b",
                "--locked",
                "--bin",
                "ext"
            ]
        );
        assert_eq!(
            build.bootstrap_path("ext"),
            PathBuf::from("/p/target/lambda/extensions/ext")
        );
    }

    #[test]
    fn functions_that_differ_in_build_properties_never_share_a_cargo_run() {
        let text = "Resources:
  A: {Type: AWS::Serverless::Function, Metadata: {BuildMethod: rust-cargolambda, BuildProperties: {Binary: a, Features: [x]}}, Properties: {CodeUri: ., Handler: b, Runtime: provided.al2}}
  B: {Type: AWS::Serverless::Function, Metadata: {BuildMethod: rust-cargolambda, BuildProperties: {Binary: b}}, Properties: {CodeUri: ., Handler: b, Runtime: provided.al2}}
  C: {Type: AWS::Serverless::Function, Metadata: {BuildMethod: rust-cargolambda, BuildProperties: {Binary: b, Flags: [--locked]}}, Properties: {CodeUri: ., Handler: b, Runtime: provided.al2}}
";
        let p = project(&[("/p/template.yaml", text)]);
        let defs = plan_all(&p);
        let packages = BTreeMap::from([(PathBuf::from("/p"), package(&["a", "b"]))]);
        let builds = plan_cargo_builds(&p, &defs, &[], &packages, Profile::Release).expect("plan");
        assert_eq!(builds.len(), 3);
        assert!(builds[0].args().contains(&"--features".to_string()));
        assert!(builds[2].args().contains(&"--locked".to_string()));
    }

    #[test]
    fn rust_layers_are_selected_with_their_target() {
        let text = "Resources:
  Ext: {Type: AWS::Serverless::LayerVersion, Metadata: {BuildMethod: rust-cargolambda, BuildProperties: {Binary: ext}}, Properties: {ContentUri: ext/, CompatibleRuntimes: [provided.al2], CompatibleArchitectures: [arm64]}}
  Plain: {Type: AWS::Serverless::LayerVersion, Properties: {ContentUri: layer/}}
";
        let p = project(&[("/p/template.yaml", text)]);
        let layers = select_layers(&p, None, &[], false).expect("layers");
        assert_eq!(layers.len(), 1);
        assert_eq!(layers[0].code_uri, "/p/ext");
        assert_eq!(layers[0].target.runtime, Runtime::ProvidedAl2);
        assert_eq!(layers[0].target.architecture, Architecture::Arm64);
        assert!(
            select_layers(&p, None, &["Ext".into()], false)
                .expect("none")
                .is_empty()
        );
        let named = select_functions(&p, Some("Ext"), &[]).expect("a layer is a resource");
        assert!(named.functions.is_empty() && named.single_resource);
    }

    #[test]
    fn workspace_members_merge_into_one_run_when_approved() {
        let text = format!(
            "Resources:\n{}{}{}",
            rust_fn("A", "a", "a", "provided.al2", "x86_64"),
            rust_fn("B", "b", "b", "provided.al2", "x86_64"),
            rust_fn("C", "c", "c", "provided.al2023", "arm64"),
        );
        let p = project(&[("/ws/template.yaml", &text)]);
        let defs = plan_all(&p);
        let member = |name: &str| PackageInfo {
            name: name.into(),
            bins: vec![bin(name, name, &[])],
            elsewhere: Vec::new(),
            virtual_root: false,
            target_directory: PathBuf::from("/ws/target"),
            workspace_root: PathBuf::from("/ws"),
        };
        let packages = BTreeMap::from([
            (PathBuf::from("/ws/a"), member("a")),
            (PathBuf::from("/ws/b"), member("b")),
            (PathBuf::from("/ws/c"), member("c")),
        ]);
        let builds = plan_cargo_builds(&p, &defs, &[], &packages, Profile::Release).expect("plan");
        assert_eq!(builds.len(), 3);
        let candidates = merge_candidates(&builds);
        assert_eq!(candidates, [vec![0, 1]], "different targets never merge");
        let merged = merge_builds(builds.clone(), &candidates);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].dir, PathBuf::from("/ws"));
        assert_eq!(
            merged[0].args(),
            [
                "lambda",
                "build",
                "--release",
                "--target",
                "x86_64-unknown-linux-gnu.2.26",
                "--package",
                "a",
                "--package",
                "b",
                "--bin",
                "a",
                "--bin",
                "b"
            ]
        );
        assert_eq!(merged[0].outputs.len(), 2);
        assert_eq!(merged[1], builds[2]);
        assert_eq!(
            merge_builds(builds.clone(), &[]),
            builds,
            "not approved: unchanged"
        );
    }

    #[test]
    fn mixed_glibc_flavours_on_one_architecture_use_separate_target_folders() {
        let text = format!(
            "Resources:\n{}{}{}",
            rust_fn("A", ".", "a", "provided.al2", "x86_64"),
            rust_fn("B", ".", "a", "provided.al2023", "x86_64"),
            rust_fn("C", ".", "a", "provided.al2023", "arm64"),
        );
        let p = project(&[("/p/template.yaml", &text)]);
        let defs = plan_all(&p);
        let packages = BTreeMap::from([(PathBuf::from("/p"), package(&["a"]))]);
        let builds = plan_cargo_builds(&p, &defs, &[], &packages, Profile::Release).expect("plan");
        let dirs: Vec<&Path> = builds
            .iter()
            .map(|b| b.target_directory.as_path())
            .collect();
        assert_eq!(
            dirs,
            [
                Path::new("/p/target"),
                Path::new("/p/target/al2023"),
                Path::new("/p/target")
            ]
        );
    }

    #[test]
    fn binary_is_the_only_bin_or_must_be_named() {
        let text = "Resources:\n  F: {Type: AWS::Serverless::Function, Metadata: {BuildMethod: rust-cargolambda}, Properties: {CodeUri: ., Handler: bootstrap, Runtime: provided.al2}}\n";
        let p = project(&[("/p/template.yaml", text)]);
        let defs = plan_all(&p);
        let one = BTreeMap::from([(PathBuf::from("/p"), package(&["only"]))]);
        let builds = plan_cargo_builds(&p, &defs, &[], &one, Profile::Release).expect("plan");
        assert_eq!(builds[0].bins, ["only"]);
        let two = BTreeMap::from([(PathBuf::from("/p"), package(&["a", "b"]))]);
        let err = plan_cargo_builds(&p, &defs, &[], &two, Profile::Release).expect_err("ambiguous");
        assert!(err.message.contains("several binaries (a, b)"), "{err}");

        let named = format!(
            "Resources:\n{}",
            rust_fn("F", ".", "nope", "provided.al2", "x86_64")
        );
        let p = project(&[("/p/template.yaml", &named)]);
        let err = plan_cargo_builds(&p, &plan_all(&p), &[], &two, Profile::Release)
            .expect_err("missing bin");
        assert!(
            err.message.contains("Binary 'nope' is not a binary target"),
            "{err}"
        );
    }

    /// A bin behind `required-features` is not built by a plain build: without Binary the other
    /// bin is the one (as cargo-lambda and sam build it); named, it needs its features.
    #[test]
    fn bins_behind_required_features_do_not_count_unless_their_features_are_on() {
        let mut gated = package(&["public"]);
        gated.bins.push(bin("admin", "pkg", &["admin"]));
        let packages = BTreeMap::from([(PathBuf::from("/p"), gated)]);
        let plain = "Resources:\n  F: {Type: AWS::Serverless::Function, Metadata: {BuildMethod: rust-cargolambda}, Properties: {CodeUri: ., Handler: bootstrap, Runtime: provided.al2}}\n";
        let p = project(&[("/p/template.yaml", plain)]);
        let builds =
            plan_cargo_builds(&p, &plan_all(&p), &[], &packages, Profile::Release).expect("plan");
        assert_eq!(builds[0].bins, ["public"]);

        let named = format!(
            "Resources:\n{}",
            rust_fn("F", ".", "admin", "provided.al2", "x86_64")
        );
        let p = project(&[("/p/template.yaml", &named)]);
        let err = plan_cargo_builds(&p, &plan_all(&p), &[], &packages, Profile::Release)
            .expect_err("feature off");
        assert!(err.message.contains("needs feature(s) `admin`"), "{err}");
        assert!(err.message.contains("Features: [admin]"), "{err}");

        let with_feature = "Resources:\n  F: {Type: AWS::Serverless::Function, Metadata: {BuildMethod: rust-cargolambda, BuildProperties: {Binary: admin, Features: [admin]}}, Properties: {CodeUri: ., Handler: bootstrap, Runtime: provided.al2}}\n";
        let p = project(&[("/p/template.yaml", with_feature)]);
        let builds =
            plan_cargo_builds(&p, &plan_all(&p), &[], &packages, Profile::Release).expect("plan");
        assert_eq!(builds[0].bins, ["admin"]);
    }

    /// A CodeUri at a workspace root builds there (as sam does); a bin of another member that
    /// cargo would not build from there is refused with the member's folder.
    #[test]
    fn workspace_roots_build_their_default_members_bins() {
        let mut root = package(&["alpha", "beta"]);
        root.name = "workspace p".into();
        root.virtual_root = true;
        let packages = BTreeMap::from([(PathBuf::from("/p"), root)]);
        let text = format!(
            "Resources:\n{}{}",
            rust_fn("A", ".", "alpha", "provided.al2", "x86_64"),
            rust_fn("B", "./", "beta", "provided.al2", "x86_64")
        );
        let p = project(&[("/p/template.yaml", &text)]);
        let builds =
            plan_cargo_builds(&p, &plan_all(&p), &[], &packages, Profile::Release).expect("plan");
        assert_eq!(builds.len(), 1);
        assert_eq!(builds[0].dir, PathBuf::from("/p"));
        assert!(builds[0].virtual_root && builds[0].packages.is_empty());
        assert_eq!(
            builds[0].args(),
            [
                "lambda",
                "build",
                "--release",
                "--target",
                "x86_64-unknown-linux-gnu.2.26",
                "--bin",
                "alpha",
                "--bin",
                "beta"
            ]
        );
        assert!(merge_candidates(&builds).is_empty());

        let mut rooted = package(&["root"]);
        rooted.elsewhere.push(BinTarget {
            manifest_dir: PathBuf::from("/p/member"),
            ..bin("member-fn", "member", &[])
        });
        let packages = BTreeMap::from([(PathBuf::from("/p"), rooted)]);
        let text = format!(
            "Resources:\n{}",
            rust_fn("M", ".", "member-fn", "provided.al2", "x86_64")
        );
        let p = project(&[("/p/template.yaml", &text)]);
        let err = plan_cargo_builds(&p, &plan_all(&p), &[], &packages, Profile::Release)
            .expect_err("member bin from the root package");
        assert!(
            err.message
                .contains("belongs to package 'member' in /p/member"),
            "{err}"
        );
        assert!(err.message.contains("set CodeUri"), "{err}");
    }

    /// `BuildProperties: function_a` (the string form in the user's guide) makes sam build
    /// crash; samrs stops before building with the map form to write instead.
    #[test]
    fn a_string_build_properties_stops_with_the_map_form() {
        let text = "Resources:\n  F: {Type: AWS::Serverless::Function, Metadata: {BuildMethod: rust-cargolambda, BuildProperties: function_a}, Properties: {CodeUri: ., Handler: bootstrap, Runtime: provided.al2}}\n";
        let p = project(&[("/p/template.yaml", text)]);
        let selection = select_functions(&p, None, &[]).expect("select");
        let err = check_functions(&p, &selection).expect_err("string BuildProperties");
        assert!(err.before_build);
        assert!(
            err.message
                .contains("Metadata.BuildProperties is `function_a`, not a map")
                && err
                    .message
                    .contains("`BuildProperties: {Binary: function_a}`"),
            "{err}"
        );
    }

    #[test]
    fn previous_uuids_are_kept_and_come_first() {
        let text = format!(
            "Resources:\n{}{}",
            rust_fn("A", ".", "a", "provided.al2", "x86_64"),
            rust_fn("B", ".", "b", "provided.al2", "x86_64"),
        );
        let p = project(&[("/p/template.yaml", &text)]);
        let selection = select_functions(&p, None, &[]).expect("select");
        let checked = check_functions(&p, &selection).expect("check");
        let metadata: Mapping =
            serde_yaml::from_str("BuildMethod: rust-cargolambda\nBuildProperties: {Binary: b}\n")
                .expect("yaml");
        let previous = [PreviousDefinition {
            uuid: "old-b".into(),
            code_uri: "/p".into(),
            runtime: "provided.al2".into(),
            architecture: "x86_64".into(),
            package_type: "Zip".into(),
            metadata,
            source_hash: "h".into(),
            manifest_hash: String::new(),
        }];
        let defs = build_definitions(&p, &checked, &previous, false, counter());
        let uuids: Vec<&str> = defs.iter().map(|d| d.uuid.as_str()).collect();
        assert_eq!(uuids, ["old-b", "uuid-1"]);
        assert_eq!(defs[0].source_hash, "h");
    }

    #[test]
    fn selection_by_name_exclusion_and_skips() {
        let child = format!(
            "Resources:\n{}",
            rust_fn("Inner", "..", "a", "provided.al2", "x86_64")
        );
        let root = format!(
            "Resources:\n{}{}  S3: {{Type: AWS::Serverless::Function, Properties: {{CodeUri: 's3://b/k.zip', Handler: h, Runtime: provided.al2}}}}\n  Child: {{Type: AWS::Serverless::Application, Properties: {{Location: child/template.yaml}}}}\n",
            rust_fn("A", ".", "a", "provided.al2", "x86_64"),
            rust_fn("B", ".", "b", "provided.al2", "x86_64"),
        );
        let p = project(&[
            ("/p/template.yaml", &root),
            ("/p/child/template.yaml", &child),
        ]);
        let all = select_functions(&p, None, &["B".into()]).expect("select");
        let names: Vec<&str> = all
            .functions
            .iter()
            .map(|f| f.get(&p).full_path.as_str())
            .collect();
        assert_eq!(names, ["A", "Child/Inner"]);

        let one = select_functions(&p, Some("Inner"), &[]).expect("by id");
        assert!(one.single_resource);
        assert_eq!(one.functions[0].get(&p).full_path, "Child/Inner");
        assert_eq!(
            select_functions(&p, Some("Child/Inner"), &[])
                .expect("by path")
                .functions,
            one.functions
        );

        let excluded = select_functions(&p, Some("B"), &["B".into()]).expect("named wins");
        assert_eq!(excluded.notices.len(), 1);

        let err = select_functions(&p, Some("Nope"), &[]).expect_err("unknown");
        assert!(
            err.message
                .starts_with("Unable to find a function or layer with name 'Nope'")
        );
        assert!(!err.before_build);
    }

    #[test]
    fn check_reports_problems_with_the_property_and_the_fix() {
        let check = |props: &str, metadata: &str| {
            let text = format!(
                "Resources:\n  F: {{Type: AWS::Serverless::Function, Metadata: {metadata}, Properties: {props}}}\n"
            );
            let p = project(&[("/p/template.yaml", &text)]);
            let selection = select_functions(&p, None, &[]).expect("select");
            check_functions(&p, &selection).expect_err("refused")
        };
        let rust = "{BuildMethod: rust-cargolambda}";
        let err = check("{Runtime: provided.al2}", rust);
        assert!(
            err.before_build
                && err
                    .message
                    .starts_with("Could not find handler for function: F")
        );
        let err = check(
            "{Handler: b, Runtime: provided.al2, Architectures: [x86_64, arm64]}",
            rust,
        );
        assert!(err.before_build && err.message.contains("should be a list of length 1"));
        let err = check("{Handler: b, Runtime: nodejs99.x}", rust);
        assert!(
            err.message
                .starts_with("'nodejs99.x' runtime is not supported")
        );
        let err = check("{Handler: b}", rust);
        assert!(err.message.contains("has no Runtime"));
        let err = check(
            "{Handler: b, Runtime: provided.al2, Architectures: [x86]}",
            rust,
        );
        assert!(err.message.starts_with("Architecture x86 is not supported"));
        let err = check("{Handler: b, Runtime: {Ref: Rt}}", rust);
        assert!(err.message.contains("parameter 'Rt' has no value"), "{err}");
        let err = check(
            "{Handler: b, Runtime: provided.al2}",
            "{BuildMethod: {Ref: Method}}",
        );
        assert!(
            err.message.contains("parameter 'Method' has no value"),
            "{err}"
        );
    }

    #[test]
    fn functions_and_layers_of_other_languages_are_left_to_sam() {
        let text = format!(
            "Resources:\n{}  Py: {{Type: AWS::Serverless::Function, Properties: {{CodeUri: py, Handler: app.h, Runtime: python3.11, Layers: [{{Ref: PyLayer}}]}}}}\n  Mk: {{Type: AWS::Serverless::Function, Metadata: {{BuildMethod: makefile}}, Properties: {{CodeUri: mk, Handler: b, Runtime: provided.al2}}}}\n  Web: {{Type: AWS::Serverless::WebFunction, Metadata: {{BuildMethod: rust-cargolambda}}, Properties: {{CodeUri: web, Runtime: nodejs20.x}}}}\n  Img: {{Type: AWS::Serverless::Function, Metadata: {{BuildMethod: rust-cargolambda, Dockerfile: D, DockerContext: .}}, Properties: {{PackageType: Image}}}}\n  PyLayer: {{Type: AWS::Serverless::LayerVersion, Metadata: {{BuildMethod: python3.11}}, Properties: {{ContentUri: l}}}}\n",
            rust_fn("A", ".", "a", "provided.al2", "x86_64"),
        );
        let p = project(&[("/p/template.yaml", &text)]);
        let all = select_functions(&p, None, &[]).expect("select");
        let names: Vec<&str> = all
            .functions
            .iter()
            .map(|f| f.get(&p).logical_id.as_str())
            .collect();
        assert_eq!(names, ["A"]);
        assert!(
            select_layers(&p, None, &[], false)
                .expect("layers")
                .is_empty()
        );
        let py = select_functions(&p, Some("Py"), &[]).expect("named");
        assert!(py.single_resource && py.functions.is_empty());
        assert!(
            select_layers(&p, Some("Py"), &[], false)
                .expect("layers")
                .is_empty()
        );
    }

    #[test]
    fn building_one_function_builds_its_rust_layers() {
        let text = "Resources:\n  F: {Type: AWS::Serverless::Function, Metadata: {BuildMethod: rust-cargolambda}, Properties: {CodeUri: ., Handler: b, Runtime: provided.al2023, Layers: [{Ref: Ext}, {Ref: Other}, 'arn:aws:lambda:us-east-1:1:layer:x:1']}}\n  G: {Type: AWS::Serverless::Function, Metadata: {BuildMethod: rust-cargolambda}, Properties: {CodeUri: ., Handler: b, Runtime: provided.al2023}}\n  Ext: {Type: AWS::Serverless::LayerVersion, Metadata: {BuildMethod: rust-cargolambda}, Properties: {ContentUri: ext}}\n  Other: {Type: AWS::Serverless::LayerVersion, Metadata: {BuildMethod: rust-cargolambda}, Properties: {ContentUri: other}}\n  Unused: {Type: AWS::Serverless::LayerVersion, Metadata: {BuildMethod: rust-cargolambda}, Properties: {ContentUri: unused}}\n";
        let p = project(&[("/p/template.yaml", text)]);
        let names = |id: &str| -> Vec<String> {
            select_layers(&p, Some(id), &[], false)
                .expect("layers")
                .iter()
                .map(|l| l.layer.get(&p).logical_id.clone())
                .collect()
        };
        assert_eq!(names("F"), ["Ext", "Other"]);
        assert!(names("G").is_empty());
        assert_eq!(names("Unused"), ["Unused"]);
    }
}
