//! Bad and hostile inputs, one table row and one named test each: every one must end in exit 1
//! or 2 (never 0, never a panic) with an `Error:` message that names the file, resource and
//! property involved, the right stdout (`\nBuild Failed\n` only for build-phase failures, spec
//! §5.5/§6), and no change to a previous build or to anything else on disk. Expectations come
//! from the spec, not from samrs.
//!
//! Phase (banner or not) for rows the spec's §6 table does not list follows the row of the same
//! property: Runtime values, Architecture values, CodeUri and BuildProperties/Binary are checked
//! in the build step (banner; a missing Runtime is the table's exception); a function whose
//! BuildMethod is not rust-cargolambda is sam build's, and with no `sam` on PATH that is refused
//! before any work (no banner); the shape
//! of the document, a resource, Properties, Metadata, Handler and the Architectures list are
//! template errors found before it (no banner).

mod common;

use common::*;
use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One bad input: `setup` breaks a copy of `fixtures/multi-function` after a good build of it.
struct Case {
    name: &'static str,
    setup: fn(&Path),
    /// Arguments after `build`.
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    code: i32,
    build_failed_banner: bool,
    /// Every one of these must appear in stderr (case-sensitive).
    words: &'static [&'static str],
}

/// Longest a bad input may take to be refused.
const TIME_LIMIT: Duration = Duration::from_secs(10);
/// A run still going after this is killed.
const KILL_AFTER: Duration = Duration::from_secs(60);
/// Address-space cap for samrs, so an expanding YAML bomb fails instead of eating the machine.
const MEMORY_LIMIT: u64 = 4 << 30;
/// Written by a logical id that is an absolute path, if samrs used it as a folder name.
const ABSOLUTE_EVIL: &str = "/tmp/samrs-bad-input-evil";

const FUNCTION_A: &str = "  FunctionA:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: rust-cargolambda
      BuildProperties:
        Binary: function_a
    Properties:
      CodeUri: ./
      Handler: bootstrap
      Runtime: provided.al2
";

fn template(dir: &Path) -> PathBuf {
    dir.join("template.yaml")
}

fn write(dir: &Path, file: &str, text: impl AsRef<[u8]>) {
    std::fs::write(dir.join(file), text).unwrap_or_else(|e| panic!("write {file}: {e}"));
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("read {file}: {e}"))
}

/// Replaces the first `from` in `file` (in the template that is FunctionA's).
fn replace_in(dir: &Path, file: &str, from: &str, to: &str) {
    let text = read(dir, file);
    assert!(text.contains(from), "{file} has no {from:?}");
    write(dir, file, text.replacen(from, to, 1));
}

fn edit(dir: &Path, from: &str, to: &str) {
    replace_in(dir, "template.yaml", from, to);
}

/// Adds resources at the end of the template (Resources is its last section).
fn append(dir: &Path, resources: &str) {
    let text = read(dir, "template.yaml");
    write(dir, "template.yaml", text + resources);
}

fn add_parameters(dir: &Path, parameters: &str) {
    edit(dir, "Resources:\n", &format!("{parameters}Resources:\n"));
}

/// A valid rust-cargolambda function under a (possibly hostile) logical id.
fn add_function(dir: &Path, id: &str) {
    append(
        dir,
        &format!(
            "  {id}:\n    Type: AWS::Serverless::Function\n    Metadata:\n      BuildMethod: rust-cargolambda\n      BuildProperties:\n        Binary: function_a\n    Properties:\n      CodeUri: ./\n      Handler: bootstrap\n      Runtime: provided.al2\n"
        ),
    );
}

fn huge_template() -> String {
    let mut text = String::from("AWSTemplateFormatVersion: '2010-09-09'\nResources:\n");
    text.push_str(FUNCTION_A);
    for i in 0..20_000 {
        text.push_str(&format!(
            "  Topic{i:05}:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: topic-{i}\n"
        ));
    }
    text.push_str("  LastFunction:\n    Type: AWS::Serverless::Function\n    Metadata: {BuildMethod: rust-cargolambda, BuildProperties: {Binary: function_b}}\n    Properties: {CodeUri: ./, Runtime: provided.al2}\n");
    text
}

fn billion_laughs() -> String {
    let mut text = String::from("AWSTemplateFormatVersion: '2010-09-09'\nMetadata:\n");
    text.push_str(
        "  a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for pair in names.windows(2) {
        let refs = vec![format!("*{}", pair[0]); 9].join(",");
        text.push_str(&format!("  {}: &{} [{refs}]\n", pair[1], pair[1]));
    }
    text.push_str("Resources:\n");
    text.push_str(FUNCTION_A);
    text
}

fn cases() -> Vec<Case> {
    const NO_ENV: &[(&str, &str)] = &[];
    vec![
        // --- Template syntax and shape (spec §3.2, §6) ---
        Case {
            name: "yaml_syntax_error",
            setup: |d| {
                edit(
                    d,
                    "      Handler: bootstrap\n",
                    "      Handler: boot: strap\n",
                );
            },
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &[
                "Failed to parse template",
                "template.yaml",
                "line 13",
                "column 20",
            ],
        },
        Case {
            name: "json_syntax_error",
            setup: |d| {
                std::fs::remove_file(template(d)).expect("rm template.yaml");
                write(
                    d,
                    "template.json",
                    "{\n  \"Resources\": {\n    \"FunctionA\": {\n      \"Type\": \"AWS::Serverless::Function\",\n      \"Properties\": {\"Handler\": \"bootstrap\" \"Runtime\": \"provided.al2\"}\n    }\n  }\n}\n",
                );
            },
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["Failed to parse template", "template.json", "line 5"],
        },
        Case {
            name: "document_is_a_list",
            setup: |d| write(d, "template.yaml", "- Resources\n- FunctionA\n"),
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["template.yaml"],
        },
        Case {
            name: "document_is_a_scalar",
            setup: |d| write(d, "template.yaml", "just some text\n"),
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["template.yaml"],
        },
        Case {
            name: "document_is_empty",
            setup: |d| write(d, "template.yaml", ""),
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["template.yaml"],
        },
        Case {
            name: "no_resources",
            setup: |d| {
                write(
                    d,
                    "template.yaml",
                    "AWSTemplateFormatVersion: '2010-09-09'\n",
                );
            },
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["Error: 'Resources' section is required"],
        },
        Case {
            name: "resources_empty_map",
            setup: |d| write(d, "template.yaml", "Resources: {}\n"),
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["Error: 'Resources' section is required"],
        },
        Case {
            name: "resources_null",
            setup: |d| write(d, "template.yaml", "Resources:\n"),
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["Error: 'Resources' section is required"],
        },
        Case {
            name: "resources_a_list",
            setup: |d| {
                write(
                    d,
                    "template.yaml",
                    "Resources:\n  - FunctionA\n  - FunctionB\n",
                );
            },
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["Error: 'Resources' section is required"],
        },
        Case {
            name: "resource_is_a_string",
            setup: |d| edit(d, FUNCTION_A, "  FunctionA: hello\n"),
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["FunctionA"],
        },
        Case {
            name: "resource_without_type",
            setup: |d| edit(d, "    Type: AWS::Serverless::Function\n", ""),
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["FunctionA", "Type"],
        },
        Case {
            name: "properties_a_list",
            setup: |d| {
                edit(
                    d,
                    "    Properties:\n      CodeUri: ./\n      Handler: bootstrap\n      Runtime: provided.al2\n",
                    "    Properties:\n      - CodeUri: ./\n      - Handler: bootstrap\n",
                );
            },
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["FunctionA", "Properties"],
        },
        Case {
            name: "metadata_a_string",
            setup: |d| {
                edit(
                    d,
                    "    Metadata:\n      BuildMethod: rust-cargolambda\n      BuildProperties:\n        Binary: function_a\n",
                    "    Metadata: rust-cargolambda\n",
                );
            },
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["FunctionA", "Metadata"],
        },
        Case {
            name: "globals_not_a_map",
            setup: |d| edit(d, "Resources:\n", "Globals: [Function]\nResources:\n"),
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["Globals"],
        },
        Case {
            name: "globals_unsupported_key_policies",
            setup: |d| {
                edit(
                    d,
                    "Resources:\n",
                    "Globals:\n  Function:\n    Policies: [AWSLambdaBasicExecutionRole]\nResources:\n",
                );
            },
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &[
                "Globals",
                "'Policies' is not a supported property of 'Function'",
            ],
        },
        Case {
            name: "fn_foreach_in_resources",
            setup: |d| {
                append(
                    d,
                    "  Fn::ForEach::Funcs:\n    - Name\n    - [X, Y]\n    - Fn${Name}:\n        Type: AWS::Serverless::Function\n        Properties: {CodeUri: ./, Handler: bootstrap, Runtime: provided.al2}\n",
                );
            },
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["Fn::ForEach::Funcs", "support"],
        },
        Case {
            name: "non_utf8_bytes",
            setup: |d| {
                let text = read(d, "template.yaml");
                let mut bytes = text.into_bytes();
                let at = bytes.len() / 2;
                bytes.splice(at..at, b"# caf\xe9 \xff\xfe\n".iter().copied());
                write(d, "template.yaml", bytes);
            },
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["template.yaml", "UTF-8"],
        },
        Case {
            name: "huge_document_20000_resources",
            setup: |d| write(d, "template.yaml", huge_template()),
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["Could not find handler for function: LastFunction"],
        },
        Case {
            name: "deeply_nested_5000_levels",
            setup: |d| {
                write(
                    d,
                    "template.yaml",
                    "[".repeat(5000) + &"]".repeat(5000) + "\n",
                );
            },
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["template.yaml"],
        },
        Case {
            name: "billion_laughs_alias_bomb",
            setup: |d| write(d, "template.yaml", billion_laughs()),
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["template.yaml"],
        },
        Case {
            name: "template_unreadable",
            setup: |d| {
                std::fs::set_permissions(template(d), std::fs::Permissions::from_mode(0o000))
                    .expect("chmod 000 template.yaml");
            },
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["template.yaml", "ermission denied"],
        },
        Case {
            name: "template_file_not_found",
            setup: |_| {},
            args: &["-t", "nope.yaml"],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["Error: Template file not found at", "nope.yaml"],
        },
        Case {
            name: "template_file_is_a_folder",
            setup: |_| {},
            args: &["-t", "src"],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["src"],
        },
        // --- Properties samrs reads (spec §3.3, §3.4, §4.3) ---
        Case {
            name: "runtime_a_list",
            setup: |d| edit(d, "Runtime: provided.al2\n", "Runtime: [provided.al2]\n"),
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: true,
            words: &["FunctionA", "Runtime"],
        },
        Case {
            name: "runtime_a_number",
            setup: |d| edit(d, "Runtime: provided.al2\n", "Runtime: 31337\n"),
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: true,
            words: &["FunctionA", "Runtime", "31337"],
        },
        Case {
            name: "runtime_unresolvable_intrinsic_map",
            setup: |d| {
                edit(
                    d,
                    "Runtime: provided.al2\n",
                    "Runtime: !ImportValue SharedRuntime\n",
                );
            },
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: true,
            words: &["FunctionA", "Runtime"],
        },
        Case {
            name: "runtime_ref_without_value",
            setup: |d| {
                add_parameters(d, "Parameters:\n  RuntimeParam:\n    Type: String\n");
                edit(d, "Runtime: provided.al2\n", "Runtime: !Ref RuntimeParam\n");
            },
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: true,
            words: &["FunctionA", "Runtime", "RuntimeParam"],
        },
        Case {
            name: "runtime_unknown",
            setup: |d| edit(d, "Runtime: provided.al2\n", "Runtime: nodejs99.x\n"),
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: true,
            words: &["FunctionA", "Error: 'nodejs99.x' runtime is not supported"],
        },
        Case {
            name: "runtime_python_with_rust_cargolambda",
            setup: |d| edit(d, "Runtime: provided.al2\n", "Runtime: python3.12\n"),
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: true,
            words: &["FunctionA", "Error: 'python3.12' runtime is not supported"],
        },
        Case {
            name: "runtime_missing",
            setup: |d| edit(d, "      Runtime: provided.al2\n", ""),
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["FunctionA", "Runtime"],
        },
        Case {
            name: "handler_missing",
            setup: |d| edit(d, "      Handler: bootstrap\n", ""),
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["Error: Could not find handler for function: FunctionA"],
        },
        Case {
            name: "handler_empty",
            setup: |d| edit(d, "Handler: bootstrap\n", "Handler: ''\n"),
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["Error: Could not find handler for function: FunctionA"],
        },
        Case {
            name: "handler_a_list",
            setup: |d| edit(d, "Handler: bootstrap\n", "Handler: [bootstrap]\n"),
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["FunctionA", "Handler"],
        },
        Case {
            name: "architectures_a_string",
            setup: |d| {
                edit(
                    d,
                    "Runtime: provided.al2\n",
                    "Runtime: provided.al2\n      Architectures: arm64\n",
                );
            },
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["FunctionA", "Architectures"],
        },
        Case {
            name: "architectures_two_items",
            setup: |d| {
                edit(
                    d,
                    "Runtime: provided.al2\n",
                    "Runtime: provided.al2\n      Architectures: [x86_64, arm64]\n",
                );
            },
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &[
                "Error: Function FunctionA property Architectures should be a list of length 1",
            ],
        },
        Case {
            name: "architectures_x86",
            setup: |d| {
                edit(
                    d,
                    "Runtime: provided.al2\n",
                    "Runtime: provided.al2\n      Architectures: [x86]\n",
                );
            },
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: true,
            words: &["FunctionA", "Architecture x86 is not supported"],
        },
        Case {
            name: "architectures_ref_to_missing_parameter",
            setup: |d| {
                edit(
                    d,
                    "Runtime: provided.al2\n",
                    "Runtime: provided.al2\n      Architectures: [!Ref NoSuchParam]\n",
                );
            },
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: true,
            words: &["FunctionA", "Architecture", "NoSuchParam"],
        },
        Case {
            name: "codeuri_a_number",
            setup: |d| edit(d, "CodeUri: ./\n", "CodeUri: 31337\n"),
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: true,
            words: &["FunctionA", "CodeUri", "31337"],
        },
        Case {
            name: "buildproperties_a_string",
            setup: |d| {
                edit(
                    d,
                    "      BuildProperties:\n        Binary: function_a\n",
                    "      BuildProperties: function_a\n",
                );
            },
            args: &[],
            env: NO_ENV,
            code: 1,
            // sam build crashes on it before building anything (no banner).
            build_failed_banner: false,
            words: &[
                "FunctionA",
                "template.yaml",
                "`BuildProperties: {Binary: function_a}`",
            ],
        },
        Case {
            name: "binary_a_list",
            setup: |d| edit(d, "Binary: function_a\n", "Binary: [function_a]\n"),
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: true,
            words: &["FunctionA", "Binary"],
        },
        Case {
            name: "binary_ref_without_value",
            setup: |d| {
                add_parameters(d, "Parameters:\n  BinParam:\n    Type: String\n");
                edit(d, "Binary: function_a\n", "Binary: !Ref BinParam\n");
            },
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: true,
            words: &["FunctionA", "BinParam"],
        },
        // A BuildMethod other than rust-cargolambda (or none) makes the function sam build's;
        // without `sam` on PATH (as here) that is refused before any work, with a hint when
        // the function looks meant for samrs.
        Case {
            name: "buildmethod_missing",
            setup: |d| edit(d, "      BuildMethod: rust-cargolambda\n", ""),
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &[
                "FunctionA: no Metadata.BuildMethod",
                "add `Metadata: BuildMethod: rust-cargolambda`",
                "`sam` is not on PATH",
                "--exclude FunctionA",
            ],
        },
        Case {
            name: "buildmethod_rust_cargo",
            setup: |d| {
                edit(
                    d,
                    "BuildMethod: rust-cargolambda\n",
                    "BuildMethod: rust-cargo\n",
                );
            },
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &[
                "FunctionA: BuildMethod 'rust-cargo' is not rust-cargolambda",
                "`BuildMethod: rust-cargolambda`",
                "`sam` is not on PATH",
            ],
        },
        Case {
            name: "buildmethod_makefile",
            setup: |d| {
                edit(
                    d,
                    "BuildMethod: rust-cargolambda\n",
                    "BuildMethod: makefile\n",
                );
            },
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &[
                "FunctionA (provided.al2 makefile)",
                "pip install aws-sam-cli",
                "--exclude FunctionA",
            ],
        },
        // --- What the build finds on disk (spec §4.3, §6) ---
        Case {
            name: "unknown_resource_id",
            setup: |_| {},
            args: &["Nope"],
            env: NO_ENV,
            code: 1,
            build_failed_banner: true,
            words: &[
                "Error: Unable to find a function or layer with name 'Nope'",
                "FunctionA",
            ],
        },
        Case {
            name: "codeuri_folder_missing",
            setup: |d| edit(d, "CodeUri: ./\n", "CodeUri: nosuchdir\n"),
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: true,
            words: &["FunctionA", "CodeUri", "nosuchdir"],
        },
        Case {
            name: "codeuri_is_a_file",
            setup: |d| edit(d, "CodeUri: ./\n", "CodeUri: Cargo.toml\n"),
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: true,
            words: &["FunctionA", "CodeUri", "Cargo.toml"],
        },
        Case {
            name: "codeuri_without_cargo_toml",
            setup: |d| edit(d, "CodeUri: ./\n", "CodeUri: src\n"),
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: true,
            words: &["FunctionA", "Cargo.toml", "src"],
        },
        Case {
            name: "broken_cargo_toml",
            setup: |d| {
                let text = read(d, "Cargo.toml");
                write(d, "Cargo.toml", text + "\n[broken\nkey =\n");
            },
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: true,
            words: &["FunctionA", "Cargo.toml"],
        },
        Case {
            name: "binary_not_in_package",
            setup: |d| edit(d, "Binary: function_a\n", "Binary: nope_bin\n"),
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: true,
            words: &["FunctionA", "nope_bin"],
        },
        Case {
            name: "two_bins_and_no_binary",
            setup: |d| {
                edit(
                    d,
                    "      BuildProperties:\n        Binary: function_a\n",
                    "",
                );
            },
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: true,
            words: &["FunctionA", "Binary", "function_a", "function_b"],
        },
        // --- Logical ids that could form paths: refused, nothing written outside the build dir ---
        Case {
            name: "logical_id_dot_dot",
            setup: |d| add_function(d, "\"../../../evil\""),
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["../../../evil"],
        },
        Case {
            name: "logical_id_with_slash",
            setup: |d| add_function(d, "\"a/b\""),
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["a/b"],
        },
        Case {
            name: "logical_id_absolute_path",
            setup: |d| add_function(d, &format!("\"{ABSOLUTE_EVIL}\"")),
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &[ABSOLUTE_EVIL],
        },
        // --- Nested stacks (spec §3.7) ---
        Case {
            name: "nested_stack_location_missing",
            setup: |d| {
                append(
                    d,
                    "  Child:\n    Type: AWS::Serverless::Application\n    Properties:\n      Location: child/nosuch.yaml\n",
                );
            },
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["Child", "Location", "nosuch.yaml"],
        },
        Case {
            name: "nested_stack_includes_itself",
            setup: |d| {
                append(
                    d,
                    "  Child:\n    Type: AWS::Serverless::Application\n    Properties:\n      Location: template.yaml\n",
                );
            },
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["Child", "template.yaml"],
        },
        // --- Configuration (spec §2) ---
        Case {
            name: "samconfig_bad_toml",
            setup: |d| {
                write(
                    d,
                    "samconfig.toml",
                    "version = 0.1\n[default.build.parameters]\ncached = \n",
                );
            },
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["samconfig.toml", "line 3"],
        },
        Case {
            name: "samconfig_without_version",
            setup: |d| {
                write(
                    d,
                    "samconfig.toml",
                    "[default.build.parameters]\ncached = true\n",
                );
            },
            args: &[],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["Error: 'version' key is not present or is in unrecognized format."],
        },
        Case {
            name: "config_file_missing",
            setup: |_| {},
            args: &["--config-file", "nosuch.toml"],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["Error: Config file nosuch.toml does not exist or could not be read!"],
        },
        // --- Command line and environment (spec §1, §4.6, §5.1) ---
        Case {
            name: "sam_build_mode_release",
            setup: |_| {},
            args: &[],
            env: &[("SAM_BUILD_MODE", "release")],
            code: 2,
            build_failed_banner: false,
            words: &[
                "Usage: ",
                "Error: Invalid value for 'mode': invalid choice: release. (choose from ['debug'])",
            ],
        },
        Case {
            name: "unknown_option",
            setup: |_| {},
            args: &["--frobnicate"],
            env: NO_ENV,
            code: 2,
            build_failed_banner: false,
            words: &[
                "\nUsage: ",
                " build [OPTIONS] [RESOURCE_LOGICAL_ID]\nTry '",
                " build -h' for help.\n\nError: No such option: --frobnicate",
            ],
        },
        Case {
            name: "two_positionals",
            setup: |_| {},
            args: &["FunctionA", "FunctionB"],
            env: NO_ENV,
            code: 2,
            build_failed_banner: false,
            words: &[
                "Usage: ",
                "Error: Got unexpected extra argument (FunctionB)",
            ],
        },
        Case {
            name: "parameter_overrides_garbage",
            setup: |_| {},
            args: &["--parameter-overrides", "garbage"],
            env: NO_ENV,
            code: 2,
            build_failed_banner: false,
            words: &[
                "Usage: ",
                "Error: Invalid value for '--parameter-overrides': garbage is not a valid format.",
            ],
        },
        Case {
            name: "build_dir_dot",
            setup: |_| {},
            args: &["-b", "."],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["Error: Failing build: build-dir '.' is or contains"],
        },
        Case {
            name: "build_dir_root",
            setup: |_| {},
            args: &["-b", "/"],
            env: NO_ENV,
            code: 1,
            build_failed_banner: false,
            words: &["Error: Failing build: build-dir '/' is or contains"],
        },
        Case {
            name: "build_image_without_use_container",
            setup: |_| {},
            args: &["-bi", "img"],
            env: NO_ENV,
            code: 2,
            build_failed_banner: false,
            words: &[
                "Error: Missing required parameter, need the --use-container flag in order to use --build-image flag.",
            ],
        },
        Case {
            name: "hook_name_foo",
            setup: |_| {},
            args: &["--hook-name", "foo"],
            env: NO_ENV,
            code: 2,
            build_failed_banner: false,
            words: &[
                "Error: Invalid value: foo is not a valid hook name.",
                "terraform",
            ],
        },
    ]
}

/// What is on disk under a folder: every entry (folders too), with file bytes or link targets.
fn listing(dir: &Path) -> BTreeMap<String, String> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .map(|entry| {
            let path = entry.path().to_string_lossy().into_owned();
            let kind = entry.file_type();
            let what = if kind.is_dir() {
                "dir".to_string()
            } else if kind.is_symlink() {
                format!("link -> {:?}", std::fs::read_link(entry.path()).ok())
            } else {
                match std::fs::read(entry.path()) {
                    Ok(bytes) => format!("file {} bytes, hash {:x}", bytes.len(), fnv(&bytes)),
                    Err(e) => format!("unreadable file: {e}"),
                }
            };
            (path, what)
        })
        .collect()
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn describe_changes(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> String {
    let mut changes = Vec::new();
    for (path, what) in after {
        match before.get(path) {
            None => changes.push(format!("added {path} ({what})")),
            Some(old) if old != what => changes.push(format!("changed {path}")),
            _ => {}
        }
    }
    for path in before.keys().filter(|p| !after.contains_key(*p)) {
        changes.push(format!("removed {path}"));
    }
    let more = changes.len().saturating_sub(8);
    changes.truncate(8);
    if more > 0 {
        changes.push(format!("... and {more} more"));
    }
    changes.join("; ")
}

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
    killed: bool,
}

/// Runs with a memory cap, killing the run after `KILL_AFTER`.
fn run_limited(command: &mut Command) -> Outcome {
    // SAFETY: setrlimit is async-signal-safe and touches only the child's own limits.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: MEMORY_LIMIT,
                rlim_max: MEMORY_LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &raw const limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("samrs starts");
    let mut out_pipe = child.stdout.take().expect("stdout pipe");
    let mut err_pipe = child.stderr.take().expect("stderr pipe");
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });
    let mut killed = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for samrs") {
            break status;
        }
        if started.elapsed() > KILL_AFTER {
            let _ = child.kill();
            killed = true;
            break child.wait().expect("wait for killed samrs");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed();
    let text = |h: std::thread::JoinHandle<Vec<u8>>| {
        String::from_utf8_lossy(&h.join().expect("reader thread")).into_owned()
    };
    Outcome {
        code: status.code(),
        stdout: text(out),
        stderr: text(err),
        elapsed,
        killed,
    }
}

/// Runs one case; returns what was wrong (empty when it passed), or None when skipped.
fn check(case: &Case, fake: &Path) -> Option<Vec<String>> {
    let root = tempfile::Builder::new()
        .prefix(&format!("samrs-bad-{}-", case.name))
        .tempdir()
        .expect("temp dir");
    let project = root.path().join("proj");
    copy_tree(&repo_root().join("fixtures/multi-function"), &project);
    let scratch = tempfile::tempdir().expect("scratch dir");
    let log = scratch.path().join("calls.log");
    let target = scratch.path().join("target");

    let good = run_limited(samrs_with_fake(&project, fake, &log, &target).arg("build"));
    if good.code != Some(0) {
        return Some(vec![format!(
            "the good build before breaking the input failed ({:?}):\n{}",
            good.code, good.stderr
        )]);
    }
    let aws_sam = project.join(".aws-sam");
    let previous_build = snapshot(&aws_sam);

    (case.setup)(&project);
    let template = template(&project);
    let mode_000 =
        std::fs::metadata(&template).is_ok_and(|m| m.permissions().mode().trailing_zeros() >= 9);
    if mode_000 && std::fs::File::open(&template).is_ok() {
        eprintln!(
            "SKIP {}: template.yaml is readable despite mode 000 (running as root)",
            case.name
        );
        return None;
    }
    let _ = std::fs::remove_dir_all(ABSOLUTE_EVIL);
    let before = listing(root.path());

    let mut command = samrs_with_fake(&project, fake, &log, &target);
    command.arg("build").args(case.args);
    for (key, value) in case.env {
        command.env(key, value);
    }
    let run = run_limited(&mut command);

    let mut problems = Vec::new();
    match run.code {
        Some(code) if code == case.code => {}
        Some(0) => problems.push(format!("exit code 0 (success), expected {}", case.code)),
        Some(101) => problems.push(format!("exit code 101 (a panic), expected {}", case.code)),
        Some(code) => problems.push(format!("exit code {code}, expected {}", case.code)),
        None => problems.push(format!("killed by a signal, expected exit {}", case.code)),
    }
    if run.killed {
        problems.push(format!("still running after {KILL_AFTER:?}; killed"));
    } else if run.elapsed > TIME_LIMIT {
        problems.push(format!("took {:.1?} (limit {TIME_LIMIT:?})", run.elapsed));
    }
    for bad in [
        "panicked",
        "RUST_BACKTRACE",
        "overflowed its stack",
        "memory allocation",
    ] {
        if run.stderr.contains(bad) {
            problems.push(format!("stderr contains {bad:?}"));
        }
    }
    if !run.stderr.contains("Error: ") {
        problems.push("no `Error: ` line on stderr".to_string());
    }
    let missing: Vec<&str> = case
        .words
        .iter()
        .copied()
        .filter(|w| !run.stderr.contains(w))
        .collect();
    if !missing.is_empty() {
        problems.push(format!("stderr lacks {missing:?}"));
    }
    let expected_stdout = if case.build_failed_banner {
        "\nBuild Failed\n"
    } else {
        ""
    };
    if run.stdout != expected_stdout {
        problems.push(format!(
            "stdout {:?}, expected {expected_stdout:?}",
            run.stdout
        ));
    }
    if snapshot(&aws_sam) != previous_build {
        problems.push("the previous build in .aws-sam changed".to_string());
    }
    let after = listing(root.path());
    if after != before {
        problems.push(format!(
            "files changed: {}",
            describe_changes(&before, &after)
        ));
    }
    if Path::new(ABSOLUTE_EVIL).exists() {
        problems.push(format!("{ABSOLUTE_EVIL} was written"));
        let _ = std::fs::remove_dir_all(ABSOLUTE_EVIL);
    }
    if problems.is_empty() {
        let error = run
            .stderr
            .lines()
            .find(|l| l.starts_with("Error"))
            .unwrap_or_default();
        let error: String = error.chars().take(150).collect();
        eprintln!("ok   {} ({:.2?}) {error}", case.name, run.elapsed);
    } else {
        let errors: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| l.starts_with("Error"))
            .collect();
        let shown = if errors.is_empty() {
            run.stderr
                .lines()
                .take(6)
                .collect::<Vec<_>>()
                .join("\n      ")
        } else {
            errors.join("\n      ")
        };
        problems.push(format!(
            "got exit {:?}, stdout {:?}, stderr:\n      {}",
            run.code,
            run.stdout,
            shown.chars().take(600).collect::<String>()
        ));
    }
    Some(problems)
}

/// Runs the table row `name` as its own test, so a failing case is named and rerun by name
/// (`cargo test --test bad_input yaml_syntax_error`). Cases run one at a time, as each is timed.
fn run_case(name: &str) {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let case = cases()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case {name} in the table"));
    let fake = fake_cargo_lambda();
    match check(&case, fake.path()) {
        None => eprintln!("skipped {name}"),
        Some(problems) => assert!(
            problems.is_empty(),
            "{name} (samrs build {}) was not handled well:\n  - {}",
            case.args.join(" "),
            problems.join("\n  - ")
        ),
    }
}

/// One `#[test]` per table row, named after it.
macro_rules! bad_inputs {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                run_case(stringify!($name));
            }
        )*

        const NAMED: &[&str] = &[$(stringify!($name)),*];
    };
}

bad_inputs!(
    yaml_syntax_error,
    json_syntax_error,
    document_is_a_list,
    document_is_a_scalar,
    document_is_empty,
    no_resources,
    resources_empty_map,
    resources_null,
    resources_a_list,
    resource_is_a_string,
    resource_without_type,
    properties_a_list,
    metadata_a_string,
    globals_not_a_map,
    globals_unsupported_key_policies,
    fn_foreach_in_resources,
    non_utf8_bytes,
    huge_document_20000_resources,
    deeply_nested_5000_levels,
    billion_laughs_alias_bomb,
    template_unreadable,
    template_file_not_found,
    template_file_is_a_folder,
    runtime_a_list,
    runtime_a_number,
    runtime_unresolvable_intrinsic_map,
    runtime_ref_without_value,
    runtime_unknown,
    runtime_python_with_rust_cargolambda,
    runtime_missing,
    handler_missing,
    handler_empty,
    handler_a_list,
    architectures_a_string,
    architectures_two_items,
    architectures_x86,
    architectures_ref_to_missing_parameter,
    codeuri_a_number,
    buildproperties_a_string,
    binary_a_list,
    binary_ref_without_value,
    buildmethod_missing,
    buildmethod_rust_cargo,
    buildmethod_makefile,
    unknown_resource_id,
    codeuri_folder_missing,
    codeuri_is_a_file,
    codeuri_without_cargo_toml,
    broken_cargo_toml,
    binary_not_in_package,
    two_bins_and_no_binary,
    logical_id_dot_dot,
    logical_id_with_slash,
    logical_id_absolute_path,
    nested_stack_location_missing,
    nested_stack_includes_itself,
    samconfig_bad_toml,
    samconfig_without_version,
    config_file_missing,
    sam_build_mode_release,
    unknown_option,
    two_positionals,
    parameter_overrides_garbage,
    build_dir_dot,
    build_dir_root,
    build_image_without_use_container,
    hook_name_foo,
);

#[test]
fn every_case_in_the_table_has_its_named_test() {
    let cases = cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let mut table: Vec<&str> = cases.iter().map(|c| c.name).collect();
    table.sort_unstable();
    let count = table.len();
    table.dedup();
    assert_eq!(table.len(), count, "case names must be unique");
    let mut named = NAMED.to_vec();
    named.sort_unstable();
    assert_eq!(named, table, "add each new case to bad_inputs!(…)");
}

/// A doubtful input that sam accepts: built, with a warning on stderr that names the problem
/// and the fix. Returns the run.
fn builds_with_warning(
    setup: fn(&Path),
    env: &[(&str, &str)],
    words: &[&str],
) -> (Outcome, Vec<(String, String, String)>) {
    let fake = fake_cargo_lambda();
    let root = tempfile::tempdir().expect("temp dir");
    let project = root.path().join("proj");
    copy_tree(&repo_root().join("fixtures/multi-function"), &project);
    setup(&project);
    let log = root.path().join("calls.log");
    let mut command = samrs_with_fake(&project, fake.path(), &log, &root.path().join("target"));
    command.arg("build");
    for (key, value) in env {
        command.env(key, value);
    }
    let run = run_limited(&mut command);
    assert_eq!(run.code, Some(0), "build failed:\n{}", run.stderr);
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("Warning: "))
        .collect();
    for word in words {
        assert!(
            warnings.iter().any(|w| w.contains(word)),
            "no warning containing {word:?}:\n{}",
            run.stderr
        );
    }
    let calls = fake_calls(&log);
    (run, calls)
}

/// A resource given twice under Resources: PyYAML keeps the second; built with a warning that
/// names the key, both lines and what the first one held.
#[test]
fn a_repeated_resource_key_builds_the_last_with_a_warning() {
    let (_, calls) = builds_with_warning(
        |d| append(d, &FUNCTION_A.replace("function_a", "function_b")),
        &[],
        &[
            "template.yaml: key 'FunctionA' appears more than once under Resources (lines 5 and 25)",
            "dropping Type, Metadata.BuildMethod, Metadata.BuildProperties, Properties.CodeUri",
        ],
    );
    assert_eq!(calls.len(), 1);
    assert!(
        calls[0].2.ends_with("--bin function_b --bin function_b")
            || calls[0].2.ends_with("--bin function_b"),
        "{calls:?}"
    );
}

/// A `.json` template with a trailing comma: sam reads it as YAML; built, with the JSON problem
/// and its line.
#[test]
fn a_json_template_with_trailing_commas_builds_with_a_warning() {
    builds_with_warning(
        |d| {
            std::fs::remove_file(d.join("template.yaml")).expect("remove template.yaml");
            write(
                d,
                "template.json",
                "{\"Resources\": {\"FunctionA\": {\"Type\": \"AWS::Serverless::Function\",\n  \"Metadata\": {\"BuildMethod\": \"rust-cargolambda\", \"BuildProperties\": {\"Binary\": \"function_a\"},},\n  \"Properties\": {\"CodeUri\": \".\", \"Handler\": \"bootstrap\", \"Runtime\": \"provided.al2\"}}}}\n",
            );
        },
        &[],
        &[
            "template.json is not valid JSON (trailing comma at line 2",
            "Fix line 2",
        ],
    );
}

/// `-C target-cpu=native` for a Lambda target may crash on Lambda (SIGILL): built, with where
/// it was set and the fix.
#[test]
fn target_cpu_native_builds_with_a_warning() {
    builds_with_warning(
        |d| {
            std::fs::create_dir_all(d.join(".cargo")).expect("mkdir .cargo");
            write(
                d,
                ".cargo/config.toml",
                "[target.x86_64-unknown-linux-gnu]\nrustflags = [\"-C\", \"target-cpu=znver4\"]\n",
            );
        },
        &[("RUSTFLAGS", "-C target-cpu=native")],
        &[
            "RUSTFLAGS sets `-C target-cpu=native` for the x86_64 build of FunctionA, FunctionB",
            "config.toml (target.x86_64-unknown-linux-gnu.rustflags) sets `-C target-cpu=znver4`",
            "SIGILL",
        ],
    );
}

/// zig 0.16 breaks cross-compiling C code: built (nothing here compiles C), with the fix.
#[test]
fn zig_016_builds_with_a_warning() {
    builds_with_warning(
        |_| {},
        &[("FAKE_ZIG_VERSION", "0.16.0")],
        &["cargo-lambda links with zig 0.16.0", "ziglang!=0.16.*"],
    );
}

/// A rustc that prints this release for `-vV` and runs the real rustc for everything else.
fn fake_rustc(dir: &Path, release: &str) -> PathBuf {
    let path = dir.join("fake-rustc");
    let real = which::which("rustc").expect("rustc on PATH");
    write(
        dir,
        "fake-rustc",
        format!(
            "#!/bin/sh\nif [ \"$1\" = \"-vV\" ]; then printf 'rustc {release} (fake)\\nbinary: rustc\\nhost: x86_64-unknown-linux-gnu\\nrelease: {release}\\n'; exit 0; fi\nexec {} \"$@\"\n",
            real.display()
        ),
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// rustc >= 1.98 with cargo-lambda < 1.9.2 cannot link arm64 binaries: stopped before any
/// compile (cargo-lambda never runs), with both fixes; x86_64-only builds go on.
#[test]
fn new_rustc_with_old_cargo_lambda_stops_arm64_before_compiling() {
    let fake = fake_cargo_lambda();
    let root = tempfile::tempdir().expect("temp dir");
    let project = root.path().join("proj");
    copy_tree(&repo_root().join("fixtures/multi-function"), &project);
    let rustc = fake_rustc(root.path(), "1.98.0");
    let log = root.path().join("calls.log");
    let run_with = |project: &Path| {
        let mut command = samrs_with_fake(project, fake.path(), &log, &root.path().join("target"));
        command
            .arg("build")
            .env("RUSTC", &rustc)
            .env("FAKE_CARGO_LAMBDA_VERSION", "1.9.1");
        run_limited(&mut command)
    };
    let x86 = run_with(&project);
    assert_eq!(x86.code, Some(0), "{}", x86.stderr);

    replace_in(
        &project,
        "template.yaml",
        "Runtime: provided.al2\n",
        "Runtime: provided.al2\n      Architectures: [arm64]\n",
    );
    let _ = std::fs::remove_file(&log);
    let arm = run_with(&project);
    assert_eq!(arm.code, Some(1), "{}", arm.stderr);
    assert_eq!(arm.stdout, "\nBuild Failed\n");
    let error = arm
        .stderr
        .lines()
        .find(|l| l.starts_with("Error: "))
        .unwrap_or_default();
    for word in [
        "rustc 1.98.0",
        "--fix-cortex-a53-843419",
        "cargo-lambda 1.9.1",
        "FunctionA",
        "cargo-lambda to 1.9.2",
        "rustup override set 1.97",
    ] {
        assert!(error.contains(word), "{word:?} missing from {error}");
    }
    assert!(
        fake_calls(&log).is_empty(),
        "cargo-lambda ran: {:?}",
        fake_calls(&log)
    );
}
