//! Joining sam's part of a build to samrs's: the resources sam built replace samrs's rendering
//! of them in each stack's template, and sam's build definitions join samrs's in build.toml, in
//! the order one `sam build` of the whole template would write them. Pure.

use std::path::Path;

use serde_yaml::{Mapping, Value};

use crate::output::template::rebase_resource_paths;
use crate::paths;
use crate::template::Project;

/// What sam's part left to join: its build folder and the resources it built.
#[derive(Debug, Clone)]
pub struct SamBuild {
    /// sam's build folder, symlinks resolved.
    pub root: std::path::PathBuf,
    /// For each stack of the project, the logical ids of the resources sam built in it.
    pub built: Vec<Vec<String>>,
}

/// Sorts the full paths sam reported as built into the stacks that declare them.
pub(crate) fn built_by_stack(project: &Project, full_paths: &[&str]) -> Vec<Vec<String>> {
    project
        .stacks
        .iter()
        .map(|stack| {
            let functions = stack
                .functions
                .iter()
                .map(|f| (&f.full_path, &f.logical_id));
            let layers = stack.layers.iter().map(|l| (&l.full_path, &l.logical_id));
            functions
                .chain(layers)
                .filter(|(path, _)| full_paths.contains(&path.as_str()))
                .map(|(_, id)| id.clone())
                .collect()
        })
        .collect()
}

/// The order `sam build` walks resources in, for build.toml and the JSON result: functions
/// stack by stack (Web Functions after all others), then layers stack by stack.
pub(crate) fn resource_order(project: &Project) -> ResourceOrder {
    let functions = project.stacks.iter().flat_map(|s| &s.functions);
    let (web, other): (Vec<_>, Vec<_>) =
        functions.partition(|f| f.kind == crate::template::FunctionKind::Web);
    ResourceOrder {
        functions: other
            .into_iter()
            .chain(web)
            .map(|f| f.full_path.clone())
            .collect(),
        layers: project
            .stacks
            .iter()
            .flat_map(|s| &s.layers)
            .map(|l| l.full_path.clone())
            .collect(),
    }
}

/// Where one stack's template was written by sam, and where samrs writes it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StackDirs<'a> {
    /// sam's build folder (symlinks resolved, as sam resolves it).
    pub sam_root: &'a Path,
    /// The folder of this stack's template in sam's build folder (symlinks resolved).
    pub sam_output: &'a Path,
    /// The folder of this stack's template in samrs's build folder.
    pub output: &'a Path,
}

/// Puts the resources `built_by_sam` (logical ids) of sam's template of a stack into samrs's
/// template of the same stack, in place. A relative path in them that points into sam's build
/// folder stays as it is (the artifacts move to the same place in samrs's build folder); any
/// other relative path is re-based from sam's output folder to samrs's.
pub(crate) fn take_sam_resources(
    ours: &mut Mapping,
    sam: &Mapping,
    built_by_sam: &[&str],
    dirs: StackDirs,
) {
    let (Some(Value::Mapping(sam_resources)), Some(Value::Mapping(our_resources))) =
        (sam.get("Resources"), ours.get_mut("Resources"))
    else {
        return;
    };
    let rebase = |value: &mut Value| rebase_from_sam(value, dirs);
    for id in built_by_sam {
        let Some(Value::Mapping(resource)) = sam_resources.get(*id) else {
            continue;
        };
        let mut resource = resource.clone();
        rebase_resource_paths(&mut resource, &rebase);
        if let Some(slot) = our_resources.get_mut(*id) {
            *slot = Value::Mapping(resource);
        }
    }
}

fn rebase_from_sam(value: &mut Value, dirs: StackDirs) {
    let Value::String(text) = value else {
        return;
    };
    if text.starts_with("s3://") || text.starts_with("http://") || text.starts_with("https://") {
        return;
    }
    if Path::new(text.as_str()).is_absolute() {
        return;
    }
    let target = paths::normalize(&dirs.sam_output.join(text.as_str()));
    if paths::is_within(&target, dirs.sam_root) {
        return;
    }
    *text = paths::to_template_string(&paths::relative(&target, dirs.output));
}

/// The two tables of build.toml.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    Functions,
    Layers,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Functions => "function_build_definitions",
            Table::Layers => "layer_build_definitions",
        }
    }
}

/// One build definition of a build.toml, as text (its table and sub-tables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Section {
    pub table: Table,
    pub uuid: String,
    /// The resources it builds: `functions` of a function definition, `layer` of a layer one.
    pub resources: Vec<String>,
    /// `[table.uuid]` and what follows, sub-tables included, without trailing blank lines.
    pub text: String,
}

/// The build definitions of a build.toml written by SAM or samrs, in file order. Text that is
/// not a definition (the header comment, empty tables) is left out.
pub(crate) fn sections(text: &str) -> Vec<Section> {
    let mut result: Vec<Section> = Vec::new();
    let mut current: Option<usize> = None;
    for line in text.lines() {
        if let Some((table, uuid)) = section_header(line) {
            let same = current.is_some_and(|i| result[i].table == table && result[i].uuid == uuid);
            if !same {
                result.push(Section {
                    table,
                    uuid: uuid.to_string(),
                    resources: Vec::new(),
                    text: String::new(),
                });
                current = Some(result.len() - 1);
            }
        } else if line.starts_with('[') {
            current = None;
        }
        if let Some(i) = current {
            result[i].text.push_str(line);
            result[i].text.push('\n');
        }
    }
    for section in &mut result {
        section.text = format!("{}\n", section.text.trim_end());
        section.resources = section_resources(section);
    }
    result
}

/// `(table, uuid)` of a `[function_build_definitions.<uuid>…]` or `[layer_build_definitions.<uuid>…]`
/// line.
fn section_header(line: &str) -> Option<(Table, &str)> {
    let inner = line.trim().strip_prefix('[')?.strip_suffix(']')?;
    let (name, rest) = inner.split_once('.')?;
    let table = match name {
        "function_build_definitions" => Table::Functions,
        "layer_build_definitions" => Table::Layers,
        _ => return None,
    };
    let uuid = rest.split('.').next().filter(|u| !u.is_empty())?;
    Some((table, uuid))
}

fn section_resources(section: &Section) -> Vec<String> {
    let Ok(document) = section.text.parse::<toml::Table>() else {
        return Vec::new();
    };
    let Some(entry) = document
        .get(section.table.name())
        .and_then(|t| t.get(&section.uuid))
    else {
        return Vec::new();
    };
    match section.table {
        Table::Functions => entry
            .get("functions")
            .and_then(toml::Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(toml::Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        Table::Layers => entry
            .get("layer")
            .and_then(toml::Value::as_str)
            .map(|l| vec![l.to_string()])
            .unwrap_or_default(),
    }
}

/// The order `sam build` walks resources in: full paths of functions, and of layers.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResourceOrder {
    pub functions: Vec<String>,
    pub layers: Vec<String>,
}

impl ResourceOrder {
    /// The place of a function (or layer) in the walk; unknown ones last.
    pub(crate) fn position(&self, full_path: &str, layer: bool) -> usize {
        let order = if layer { &self.layers } else { &self.functions };
        order
            .iter()
            .position(|o| o == full_path)
            .unwrap_or(usize::MAX)
    }

    fn rank(&self, section: &Section) -> usize {
        let order = match section.table {
            Table::Functions => &self.functions,
            Table::Layers => &self.layers,
        };
        section
            .resources
            .iter()
            .filter_map(|r| order.iter().position(|o| o == r))
            .min()
            .unwrap_or(usize::MAX)
    }
}

const HEADER: &str = "# This file is auto generated by SAM CLI build command\n";

/// One build.toml from samrs's and sam's: as `sam build` orders definitions, those the
/// `previous` build.toml had come first in its order, then new ones in template order.
pub(crate) fn merge_build_toml(
    ours: &str,
    sam: &str,
    previous: &str,
    order: &ResourceOrder,
) -> String {
    let previous: Vec<(Table, String)> = sections(previous)
        .into_iter()
        .map(|s| (s.table, s.uuid))
        .collect();
    let mut all: Vec<Section> = sections(ours);
    for section in sections(sam) {
        if !all
            .iter()
            .any(|s| s.table == section.table && s.uuid == section.uuid)
        {
            all.push(section);
        }
    }
    let key = |s: &Section| {
        let old = previous
            .iter()
            .position(|(table, uuid)| *table == s.table && *uuid == s.uuid);
        match old {
            Some(position) => (0, position),
            None => (1, order.rank(s)),
        }
    };
    let mut out = String::from(HEADER);
    for table in [Table::Functions, Table::Layers] {
        let mut of_table: Vec<&Section> = all.iter().filter(|s| s.table == table).collect();
        of_table.sort_by_key(|s| key(s));
        if of_table.is_empty() {
            out.push_str(&format!("\n[{}]\n", table.name()));
        }
        for section in of_table {
            out.push('\n');
            out.push_str(&section.text);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn yaml(text: &str) -> Mapping {
        serde_yaml::from_str(text).expect("yaml")
    }

    fn dirs<'a>(sam_root: &'a Path, sam_output: &'a Path, output: &'a Path) -> StackDirs<'a> {
        StackDirs {
            sam_root,
            sam_output,
            output,
        }
    }

    #[test]
    fn a_sam_built_resource_replaces_ours_in_place() {
        let mut ours = yaml(
            "Resources:\n  Rust:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: Rust}\n  Py:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: ../../py, Handler: app.handler}\n  Api:\n    Type: AWS::Serverless::Api\n",
        );
        let sam = yaml(
            "Resources:\n  Rust:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: ../../../p/rust}\n  Py:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: Py, Handler: app.handler}\n    Metadata: {SamResourceId: Py}\n  Api:\n    Type: AWS::Serverless::Api\n",
        );
        let root = PathBuf::from("/p/.aws-sam/.build.samrs-sam-1/build");
        take_sam_resources(
            &mut ours,
            &sam,
            &["Py"],
            dirs(&root, &root, Path::new("/p/.aws-sam/build")),
        );
        let expected = yaml(
            "Resources:\n  Rust:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: Rust}\n  Py:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: Py, Handler: app.handler}\n    Metadata: {SamResourceId: Py}\n  Api:\n    Type: AWS::Serverless::Api\n",
        );
        assert_eq!(ours, expected);
        let ids: Vec<&str> = ours["Resources"]
            .as_mapping()
            .expect("map")
            .keys()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(ids, ["Rust", "Py", "Api"]);
    }

    #[test]
    fn paths_outside_sams_build_folder_are_rebased_to_ours() {
        // A CDK asset path and an esbuild-style property sam leaves relative to its own folder.
        let mut ours = yaml(
            "Resources:\n  Child:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: ../../../src}\n",
        );
        let sam = yaml(
            "Resources:\n  Child:\n    Type: AWS::Serverless::Function\n    Metadata:\n      aws:asset:path: ../../../../asset\n      SamResourceId: Child\n    Properties:\n      CodeUri: Child\n      Environment: {Variables: {NODE_OPTIONS: ' --enable-source-maps'}}\n",
        );
        let root = PathBuf::from("/p/.aws-sam/.build.samrs-sam-1/build");
        let sam_output = root.join("Nested");
        take_sam_resources(
            &mut ours,
            &sam,
            &["Child"],
            dirs(&root, &sam_output, Path::new("/p/.aws-sam/build/Nested")),
        );
        let resource = &ours["Resources"]["Child"];
        assert_eq!(resource["Properties"]["CodeUri"], "Child");
        assert_eq!(resource["Metadata"]["aws:asset:path"], "../../../asset");
        assert_eq!(
            resource["Properties"]["Environment"]["Variables"]["NODE_OPTIONS"],
            " --enable-source-maps"
        );
    }

    #[test]
    fn resources_sam_did_not_write_are_left_alone() {
        let mut ours = yaml("Resources:\n  F:\n    Type: AWS::Serverless::Function\n");
        let before = ours.clone();
        let sam = yaml("Resources:\n  G:\n    Type: AWS::Serverless::Function\n");
        let root = PathBuf::from("/s");
        take_sam_resources(&mut ours, &sam, &["F"], dirs(&root, &root, Path::new("/o")));
        assert_eq!(ours, before);
    }

    const SAM_TOML: &str = "# This file is auto generated by SAM CLI build command

[function_build_definitions.u2]
codeuri = \"/p/python_app\"
runtime = \"python3.11\"
architecture = \"x86_64\"
handler = \"app.handler\"
manifest_hash = \"\"
packagetype = \"Zip\"
functions = [\"PythonFunction\"]

[function_build_definitions.u4]
codeuri = \"/p/make_app\"
runtime = \"provided.al2023\"
architecture = \"x86_64\"
handler = \"bootstrap\"
manifest_hash = \"\"
packagetype = \"Zip\"
functions = [\"MakeFunction\"]

[function_build_definitions.u4.metadata]
BuildMethod = \"makefile\"

[layer_build_definitions.l1]
layer_name = \"ConfigLayer\"
codeuri = \"/p/config_layer\"
build_method = \"makefile\"
compatible_runtimes = [\"provided.al2\"]
architecture = \"x86_64\"
manifest_hash = \"\"
layer = \"ConfigLayer\"
";

    const OUR_TOML: &str = "# This file is auto generated by SAM CLI build command

[function_build_definitions.u1]
codeuri = \"/p/rust_app\"
runtime = \"provided.al2\"
architecture = \"x86_64\"
handler = \"bootstrap\"
manifest_hash = \"\"
packagetype = \"Zip\"
functions = [\"RustFunction\"]

[function_build_definitions.u1.metadata]
BuildMethod = \"rust-cargolambda\"

[function_build_definitions.u1.metadata.BuildProperties]
Binary = \"a\"

[layer_build_definitions]
";

    fn order() -> ResourceOrder {
        ResourceOrder {
            functions: vec![
                "PythonFunction".into(),
                "RustFunction".into(),
                "MakeFunction".into(),
            ],
            layers: vec!["ConfigLayer".into()],
        }
    }

    #[test]
    fn sections_keep_their_sub_tables_and_name_their_resources() {
        let found = sections(SAM_TOML);
        let summary: Vec<(Table, &str, Vec<String>)> = found
            .iter()
            .map(|s| (s.table, s.uuid.as_str(), s.resources.clone()))
            .collect();
        assert_eq!(
            summary,
            [
                (Table::Functions, "u2", vec!["PythonFunction".to_string()]),
                (Table::Functions, "u4", vec!["MakeFunction".to_string()]),
                (Table::Layers, "l1", vec!["ConfigLayer".to_string()]),
            ]
        );
        assert!(
            found[1].text.ends_with(
                "[function_build_definitions.u4.metadata]\nBuildMethod = \"makefile\"\n"
            )
        );
        assert!(sections(OUR_TOML)[0].text.contains("Binary = \"a\"\n"));
    }

    #[test]
    fn a_fresh_build_orders_definitions_as_the_template() {
        let merged = merge_build_toml(OUR_TOML, SAM_TOML, "", &order());
        let uuids: Vec<String> = sections(&merged).into_iter().map(|s| s.uuid).collect();
        assert_eq!(uuids, ["u2", "u1", "u4", "l1"]);
        assert!(merged.starts_with(HEADER));
        assert!(!merged.contains("[layer_build_definitions]\n"));
        let parsed: toml::Table = merged.parse().expect("valid toml");
        assert_eq!(
            parsed["function_build_definitions"]["u1"]["metadata"]["BuildProperties"]["Binary"]
                .as_str(),
            Some("a")
        );
    }

    #[test]
    fn definitions_of_the_previous_file_come_first_in_its_order() {
        let previous = "[function_build_definitions.u4]\nfunctions = [\"MakeFunction\"]\n\n[function_build_definitions.u1]\nfunctions = [\"RustFunction\"]\n";
        let merged = merge_build_toml(OUR_TOML, SAM_TOML, previous, &order());
        let uuids: Vec<String> = sections(&merged).into_iter().map(|s| s.uuid).collect();
        assert_eq!(uuids, ["u4", "u1", "u2", "l1"]);
    }

    #[test]
    fn empty_tables_are_written_as_sam_writes_them() {
        let merged = merge_build_toml(
            "# x\n\n[function_build_definitions]\n\n[layer_build_definitions]\n",
            "",
            "",
            &order(),
        );
        assert_eq!(
            merged,
            format!("{HEADER}\n[function_build_definitions]\n\n[layer_build_definitions]\n")
        );
    }
}
