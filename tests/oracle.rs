//! Oracle test: run the real `sam build` and `samrs build` on the same project and compare what
//! they do (spec `sam-build.md`, Appendix B).
//!
//! For every case the project is copied into a fresh temporary folder. `sam build` runs first, its
//! `.aws-sam` is moved aside, then `samrs build` runs in the *same* folder with the same arguments
//! and the same environment. Both share one `CARGO_TARGET_DIR` (`<repo>/target/fixtures-target`, shared with build_real.rs), so
//! the second build is a cargo no-op and the `bootstrap` binaries must be byte-identical.
//!
//! Compared:
//! 1. exit codes;
//! 2. stdout, exactly (text mode, stdout is a pipe, not a TTY);
//! 3. the `.aws-sam` file tree (relative paths, file kind and mode bits; UUID folder names in the
//!    cache are mapped to `D0`, `D1`… through that run's build.toml);
//! 4. every non-template file in the build folder (the `bootstrap`s), byte for byte;
//! 5. every output `template.yaml`, parsed (`serde_yaml::Value`), and byte for byte for the cases
//!    whose templates are in the spec's "simple subset" (§5.3, Appendix B item 3);
//! 6. `build.toml`, parsed, with the UUID section names replaced by `D0`, `D1`… in file order;
//! 7. the sets of `Building codeuri: …` and `Error: …` lines on stderr (the rest of stderr is not
//!    compared: samrs prints its own progress and none of SAM's `Workflow RustCargoLambdaBuilder…`
//!    / ` Running RustCargoLambdaBuilder:…` lines, a documented deviation).
//!
//! Tools: `SAMRS_TOOLS_BIN` (if set) or `<repo>/.ci/venv/bin` (if it exists) is put first on PATH;
//! `cargo-lambda` and `sam` must then be found there (`scripts/ensure-tools` installs both).
//!
//! The cases share the target folder (and cargo-lambda writes `target/lambda/<bin>/bootstrap`,
//! which builds for different targets would race on), so they are serialised with a static mutex.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Serialises the cases: they share `CARGO_TARGET_DIR`.
static ORACLE_LOCK: Mutex<()> = Mutex::new(());

/// One oracle case: a project (fixture plus optional template overlay) and a command line.
struct Case {
    /// Test name, used in messages.
    name: &'static str,
    /// Folder under `fixtures/` to copy.
    fixture: &'static str,
    /// Folder under `tests/oracle/` whose files replace the fixture's `template.yaml`.
    overlay: Option<&'static str>,
    /// Arguments after `build`.
    args: &'static [&'static str],
    /// Output templates must match SAM's byte for byte (spec §5.3 "simple subset").
    exact_template_bytes: bool,
    /// Functions samrs builds itself when the template mixes languages: the rest of SAM's
    /// console lines must be what samrs shows of its `sam build` part (empty: Rust only).
    rust_functions: &'static [&'static str],
    /// Build in the project's own `target/` (CARGO_TARGET_DIR unset), as a fresh project does:
    /// sam picks the binary of a package without Binary from what is in `target/lambda/`.
    own_target: bool,
    /// Both tools fail (same exit code and stdout) and samrs's `Error:` names the cause with
    /// this text, where sam's is cargo's (the output trees then differ on purpose: sam leaves
    /// what it built before failing, samrs leaves the previous build).
    samrs_error: Option<&'static str>,
    /// A warning samrs must print (sam accepts the input silently).
    samrs_warning: Option<&'static str>,
    /// The project has no committed Cargo.lock: it is removed before each tool runs, and each
    /// must leave one in the project (cargo writes it, as under sam).
    fresh_lock: bool,
}

/// The defaults of the cases added for real-project shapes.
const SHAPE: Case = Case {
    name: "",
    fixture: "",
    overlay: None,
    args: &[],
    exact_template_bytes: true,
    own_target: false,
    samrs_error: None,
    samrs_warning: None,
    fresh_lock: false,
    rust_functions: &[],
};

/// What one tool run left behind.
struct RunResult {
    exit_code: Option<i32>,
    stdout: String,
    stderr: String,
    /// Where this run's `.aws-sam` ended up (after moving SAM's aside), if it was created.
    aws_sam: Option<PathBuf>,
    wall: Duration,
}

// ------------------------------------------------------------------------------------------------
// Cases
// ------------------------------------------------------------------------------------------------

#[test]
fn multi_function() {
    run_case(&Case {
        name: "multi_function",
        fixture: "multi-function",
        overlay: None,
        args: &[],
        exact_template_bytes: true, // proj-multi shape
        rust_functions: &[],
        ..SHAPE
    });
}

/// Real drop-in usage: its samconfig.toml turns on `cached` and `parallel`.
#[test]
fn hello_rust() {
    run_case(&Case {
        name: "hello_rust",
        fixture: "hello-rust",
        overlay: None,
        args: &[],
        // Folded `>` description with a blank line: outside the spec's simple subset.
        exact_template_bytes: false,
        rust_functions: &[],
        ..SHAPE
    });
}

#[test]
fn single_function() {
    run_case(&Case {
        name: "single_function",
        fixture: "single-function",
        overlay: None,
        args: &[],
        exact_template_bytes: true,
        rust_functions: &[],
        ..SHAPE
    });
}

#[test]
fn workspace() {
    run_case(&Case {
        name: "workspace",
        fixture: "workspace",
        overlay: None,
        args: &[],
        exact_template_bytes: true, // plain keys/strings/lists only
        rust_functions: &[],
        ..SHAPE
    });
}

/// Members with different features of a shared dependency: samrs must build them apart, so
/// every bootstrap is byte-identical to SAM's per-package builds.
#[test]
fn workspace_features() {
    run_case(&Case {
        name: "workspace_features",
        fixture: "workspace-features",
        overlay: None,
        args: &[],
        exact_template_bytes: true,
        rust_functions: &[],
        ..SHAPE
    });
}

#[test]
fn arm64() {
    run_case(&Case {
        name: "arm64",
        fixture: "arm64",
        overlay: None,
        args: &[],
        exact_template_bytes: true, // plain keys/strings/lists only
        rust_functions: &[],
        ..SHAPE
    });
}

/// Spec fixture `single-function` (A3): `sam build FunctionA` on proj-multi.
#[test]
fn single_resource() {
    run_case(&Case {
        name: "single_resource",
        fixture: "multi-function",
        overlay: None,
        args: &["FunctionA"],
        exact_template_bytes: true,
        rust_functions: &[],
        ..SHAPE
    });
}

/// Spec fixture `unknown-id`: `sam build Nope` on proj-multi (fails with exit 1).
#[test]
fn unknown_id() {
    run_case(&Case {
        name: "unknown_id",
        fixture: "multi-function",
        overlay: None,
        args: &["Nope"],
        exact_template_bytes: true,
        rust_functions: &[],
        ..SHAPE
    });
}

/// Spec fixture `resource-kinds` (A1). The paths it references need not exist.
#[test]
fn resource_kinds() {
    run_case(&Case {
        name: "resource_kinds",
        fixture: "multi-function",
        overlay: Some("resource-kinds"),
        args: &[],
        exact_template_bytes: true,
        rust_functions: &[],
        ..SHAPE
    });
}

/// Spec fixture `identical-definitions` (A4).
#[test]
fn identical_definitions() {
    run_case(&Case {
        name: "identical_definitions",
        fixture: "multi-function",
        overlay: Some("identical-definitions"),
        args: &[],
        exact_template_bytes: true,
        rust_functions: &[],
        ..SHAPE
    });
}

/// Spec fixture `globals-params` (A2).
#[test]
fn globals_params() {
    run_case(&Case {
        name: "globals_params",
        fixture: "multi-function",
        overlay: Some("globals-params"),
        args: &[],
        exact_template_bytes: false, // folded long scalar: parsed equality only
        rust_functions: &[],
        ..SHAPE
    });
}

/// Spec fixture `nested-stacks` (§3.7): child/ (YAML) and child2/ (JSON) stacks, one remote stack.
#[test]
fn nested_stacks() {
    run_case(&Case {
        name: "nested_stacks",
        fixture: "multi-function",
        overlay: Some("nested-stacks"),
        args: &[],
        exact_template_bytes: false,
        rust_functions: &[],
        ..SHAPE
    });
}

/// Spec fixture `json-root` (§3.2). The copy in tests/oracle uses `Binary: function_a` instead of
/// the spec's `fn1` (the spec ran it against an eight-bin crate; see tests/oracle/README.md).
#[test]
fn json_root() {
    run_case(&Case {
        name: "json_root",
        fixture: "multi-function",
        overlay: Some("json-root"),
        args: &[],
        exact_template_bytes: false,
        rust_functions: &[],
        ..SHAPE
    });
}

/// Spec fixture `yaml-format` (§5.3), run with `-t fmt.yaml`. Same `fn1` → `function_a` change as
/// `json_root`.
#[test]
fn yaml_format() {
    run_case(&Case {
        name: "yaml_format",
        fixture: "multi-function",
        overlay: Some("yaml-format"),
        args: &["-t", "fmt.yaml"],
        exact_template_bytes: false,
        rust_functions: &[],
        ..SHAPE
    });
}

/// A template mixing Rust with Python (requirements.txt and a layer), Node.js (package.json), a
/// Web Function and makefile functions and layers: samrs builds the Rust function and hands the
/// rest to the real `sam build`; the result must be one `sam build` of the whole template.
#[test]
fn mixed_languages() {
    run_case(&Case {
        name: "mixed_languages",
        fixture: "mixed",
        overlay: None,
        args: &[],
        exact_template_bytes: false, // long Description folded: parsed equality only
        rust_functions: &["RustFunction"],
        ..SHAPE
    });
}

/// `build PythonFunction`: sam builds it with the Python layer it uses; samrs builds nothing.
#[test]
fn mixed_single_python_function() {
    run_case(&Case {
        name: "mixed_single_python_function",
        fixture: "mixed",
        overlay: None,
        args: &["PythonFunction"],
        exact_template_bytes: false,
        rust_functions: &["RustFunction"],
        ..SHAPE
    });
}

/// `build RustFunction`: samrs builds it, and sam builds the makefile layer it uses (SAM builds
/// a function's layers with it, whatever their BuildMethod).
#[test]
fn mixed_single_rust_function_with_makefile_layer() {
    run_case(&Case {
        name: "mixed_single_rust_function_with_makefile_layer",
        fixture: "mixed",
        overlay: None,
        args: &["RustFunction"],
        exact_template_bytes: false,
        rust_functions: &["RustFunction"],
        ..SHAPE
    });
}

/// `--exclude` across both parts (a Rust function and two Node.js ones) with `--output json`:
/// sam's part alone builds, and the one result line lists what one `sam build` lists.
#[test]
fn mixed_exclude_json() {
    run_case(&Case {
        name: "mixed_exclude_json",
        fixture: "mixed",
        overlay: None,
        args: &[
            "-x",
            "RustFunction",
            "-x",
            "NodeFunction",
            "-x",
            "WebApp",
            "--output",
            "json",
        ],
        exact_template_bytes: false,
        rust_functions: &["RustFunction"],
        ..SHAPE
    });
}

// ------------------------------------------------------------------------------------------------
// Shapes of real projects (issue 8): each one a public SAM project taught (fixtures/README.md)
// ------------------------------------------------------------------------------------------------

/// CodeUri at a virtual workspace root, Binary naming each member's bin (cargo lambda builds
/// from the root), plus a crate inside the folder that opts out with an empty `[workspace]`.
#[test]
fn virtual_workspace_root() {
    run_case(&Case {
        name: "virtual_workspace_root",
        fixture: "virtual-workspace",
        ..SHAPE
    });
}

/// CodeUri at a virtual workspace root without Binary: the workspace's only bin. sam finds it
/// in `target/lambda/`, so the project builds in its own `target/` as a fresh checkout does.
#[test]
fn virtual_workspace_root_one_bin() {
    run_case(&Case {
        name: "virtual_workspace_root_one_bin",
        fixture: "virtual-workspace-one-bin",
        own_target: true,
        ..SHAPE
    });
}

/// A root that is a package and a workspace: Binary naming another member's bin fails in
/// cargo under sam; samrs fails before compiling and names the member's folder.
#[test]
fn root_package_naming_a_member_bin() {
    run_case(&Case {
        name: "root_package_naming_a_member_bin",
        fixture: "root-package-workspace",
        samrs_error: Some("Binary 'member-fn' belongs to package 'member'"),
        ..SHAPE
    });
}

/// Two `Globals:` sections and a repeated property: PyYAML keeps the last value at the first
/// key's place; samrs builds the same and warns with both lines.
#[test]
fn duplicate_keys() {
    run_case(&Case {
        name: "duplicate_keys",
        fixture: "multi-function",
        overlay: Some("duplicate-keys"),
        samrs_warning: Some(
            "key 'Globals' appears more than once at the top level (lines 4 and 31)",
        ),
        ..SHAPE
    });
}

/// `BuildProperties: hello_world` (the user's guide): sam build crashes on it; samrs stops
/// before building with the map form to write.
#[test]
fn build_properties_string() {
    run_case(&Case {
        name: "build_properties_string",
        fixture: "hello-rust",
        overlay: Some("build-properties-string"),
        samrs_error: Some("`BuildProperties: {Binary: hello_world}`"),
        ..SHAPE
    });
}

/// A `.json` template with trailing commas: sam reads it as YAML; samrs too, with a warning.
#[test]
fn json_trailing_comma() {
    run_case(&Case {
        name: "json_trailing_comma",
        fixture: "multi-function",
        overlay: Some("json-trailing-comma"),
        exact_template_bytes: false,
        samrs_warning: Some("template.json is not valid JSON (trailing comma at line 10"),
        ..SHAPE
    });
}

/// Two bins, one behind `required-features` that are off: without Binary, the other one.
#[test]
fn required_features() {
    run_case(&Case {
        name: "required_features",
        fixture: "required-features",
        own_target: true,
        ..SHAPE
    });
}

/// Binary naming the bin whose required feature is off: cargo refuses under sam; samrs says so
/// before compiling, with the feature to turn on.
#[test]
fn required_features_named() {
    run_case(&Case {
        name: "required_features_named",
        fixture: "required-features",
        overlay: Some("required-features-named"),
        samrs_error: Some("Binary 'admin-fn' needs feature(s) `admin`"),
        ..SHAPE
    });
}

/// A `[[bin]]` whose source file is gone while Binary names another bin.
#[test]
fn missing_bin_source() {
    run_case(&Case {
        name: "missing_bin_source",
        fixture: "missing-bin-source",
        ..SHAPE
    });
}

/// An old Cargo.lock whose dependency no longer compiles on today's rustc: samrs names the
/// crate and the `cargo update -p` that fixes it.
#[test]
fn old_lock() {
    run_case(&Case {
        name: "old_lock",
        fixture: "old-lock",
        samrs_error: Some("cargo update -p lexical-core"),
        ..SHAPE
    });
}

/// No committed Cargo.lock: cargo writes one into the source folder under both tools.
#[test]
fn no_lock() {
    run_case(&Case {
        name: "no_lock",
        fixture: "no-lock",
        fresh_lock: true,
        ..SHAPE
    });
}

/// One CodeUri for three functions: one names the package's only bin, two rely on it.
#[test]
fn shared_code_uri() {
    run_case(&Case {
        name: "shared_code_uri",
        fixture: "single-function",
        overlay: Some("shared-code-uri"),
        ..SHAPE
    });
}

/// CodeUri, Handler, Runtime and Architectures only in Globals (one function overriding two).
#[test]
fn globals_only() {
    run_case(&Case {
        name: "globals_only",
        fixture: "multi-function",
        overlay: Some("globals-only"),
        ..SHAPE
    });
}

/// Metadata after Properties; Lambda Web Adapter and Insights layers through `!Sub`.
#[test]
fn metadata_after_properties() {
    run_case(&Case {
        name: "metadata_after_properties",
        fixture: "multi-function",
        overlay: Some("metadata-after-properties"),
        ..SHAPE
    });
}

/// samconfig.toml with `cached`, `parallel` and `beta_features` as the string "yes".
#[test]
fn samconfig_strings() {
    run_case(&Case {
        name: "samconfig_strings",
        fixture: "multi-function",
        overlay: Some("samconfig-strings"),
        ..SHAPE
    });
}

/// samconfig.yaml (no samconfig.toml) with `cached`, `parallel` and `beta_features`.
#[test]
fn samconfig_yaml() {
    run_case(&Case {
        name: "samconfig_yaml",
        fixture: "multi-function",
        overlay: Some("samconfig-yaml"),
        ..SHAPE
    });
}

// ------------------------------------------------------------------------------------------------
// Driver
// ------------------------------------------------------------------------------------------------

/// Usage errors, "Did you mean" suggestions included: the same text and exit code as SAM's,
/// with `sam build` read as `samrs build`.
#[test]
fn usage_errors_suggest_as_sam_does() {
    let target_dir = repo_root().join("target").join("fixtures-target");
    fs::create_dir_all(&target_dir).expect("create target/fixtures-target");
    let env = ToolEnv {
        path: tools_path(),
        app_dir: sam_app_dir(&target_dir),
        target_dir: Some(target_dir),
    };
    let tmp = tempfile::tempdir().expect("create tempdir");
    let cases: [&[&str]; 6] = [
        &["--cachd"],
        &["--mw"],
        &["--outpt", "json"],
        &["--paralel=1"],
        &["--parameter"],
        &["--output", "yaml"],
    ];
    let mut diffs = Vec::new();
    for args in cases {
        let sam = run_tool(Path::new("sam"), args, tmp.path(), &env, None);
        let samrs = run_tool(
            Path::new(env!("CARGO_BIN_EXE_samrs")),
            args,
            tmp.path(),
            &env,
            None,
        );
        let expected = sam.stderr.replace("sam build", "samrs build");
        if sam.exit_code != Some(2) || samrs.exit_code != Some(2) || samrs.stderr != expected {
            diffs.push(format!(
                "build {}: sam (exit {:?}):\n{expected}samrs (exit {:?}):\n{}",
                args.join(" "),
                sam.exit_code,
                samrs.exit_code,
                samrs.stderr
            ));
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

fn run_case(case: &Case) {
    let _guard = ORACLE_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let path = tools_path();
    let target_dir = repo_root().join("target").join("fixtures-target");
    fs::create_dir_all(&target_dir).expect("create target/fixtures-target");
    let app_dir = sam_app_dir(&target_dir);

    let tmp = tempfile::tempdir().expect("create tempdir");
    let project = tmp.path().join("proj");
    copy_tree(&repo_root().join("fixtures").join(case.fixture), &project);
    if let Some(overlay) = case.overlay {
        fs::remove_file(project.join("template.yaml")).expect("remove fixture template");
        copy_tree(&repo_root().join("tests/oracle").join(overlay), &project);
    }
    let env = ToolEnv {
        path,
        target_dir: (!case.own_target).then_some(target_dir),
        app_dir,
    };

    let lock = project.join("Cargo.lock");
    let mut lock_problems = Vec::new();
    let mut run = |program: &Path, label: &str, aside: Option<&Path>| {
        if case.fresh_lock {
            let _ = fs::remove_file(&lock);
        }
        let result = run_tool(program, case.args, &project, &env, aside);
        if case.fresh_lock && !lock.is_file() {
            lock_problems.push(format!("{label} left no Cargo.lock in the project"));
        }
        result
    };
    let sam_aside = tmp.path().join("sam.aws-sam");
    let sam = run(Path::new("sam"), "sam", Some(&sam_aside));
    let samrs = run(Path::new(env!("CARGO_BIN_EXE_samrs")), "samrs", None);
    eprintln!(
        "[oracle] {:<22} sam {:>7.2}s  samrs {:>7.2}s",
        case.name,
        sam.wall.as_secs_f64(),
        samrs.wall.as_secs_f64()
    );

    let mut diffs = compare_runs(case, &sam, &samrs);
    diffs.extend(lock_problems);
    if !diffs.is_empty() {
        eprintln!("--- sam stderr ({}) ---\n{}", case.name, sam.stderr);
        eprintln!("--- samrs stderr ({}) ---\n{}", case.name, samrs.stderr);
        panic!(
            "{}: samrs differs from sam build in {} way(s):\n\n{}",
            case.name,
            diffs.len(),
            diffs.join("\n\n")
        );
    }
}

/// Environment shared by both tools.
struct ToolEnv {
    path: OsString,
    /// The shared CARGO_TARGET_DIR, or none: each project's own `target/`.
    target_dir: Option<PathBuf>,
    app_dir: PathBuf,
}

/// Runs `<program> build <args>` in `project`. If `move_aside` is given, the resulting `.aws-sam`
/// is moved there afterwards.
fn run_tool(
    program: &Path,
    args: &[&str],
    project: &Path,
    env: &ToolEnv,
    move_aside: Option<&Path>,
) -> RunResult {
    let mut cmd = Command::new(program);
    cmd.arg("build")
        .args(args)
        .current_dir(project)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, _) in std::env::vars_os() {
        if is_scrubbed_env(&key.to_string_lossy()) {
            cmd.env_remove(&key);
        }
    }
    match &env.target_dir {
        Some(dir) => cmd.env("CARGO_TARGET_DIR", dir),
        None => cmd.env_remove("CARGO_TARGET_DIR"),
    };
    cmd.env("PATH", &env.path)
        .env("SAM_CLI_TELEMETRY", "0")
        .env("__SAM_CLI_APP_DIR", &env.app_dir);
    let start = Instant::now();
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let wall = start.elapsed();

    let produced = project.join(".aws-sam");
    let aws_sam = if !produced.exists() {
        None
    } else if let Some(dest) = move_aside {
        fs::rename(&produced, dest).expect("move .aws-sam aside");
        Some(dest.to_path_buf())
    } else {
        Some(produced)
    };
    RunResult {
        exit_code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        aws_sam,
        wall,
    }
}

/// Variables from the test process that would change either tool's behaviour (cargo sets the
/// `CARGO_PKG_*`/`CARGO_MANIFEST_*` ones for the test binary; the `SAM_*` ones are options).
fn is_scrubbed_env(key: &str) -> bool {
    key.starts_with("SAM_")
        || key.starts_with("CARGO_PKG_")
        || key.starts_with("CARGO_MANIFEST_")
        || key.starts_with("CARGO_CRATE_")
        || key == "CARGO_PRIMARY_PACKAGE"
        || key == "RUST_LOG"
}

// ------------------------------------------------------------------------------------------------
// Comparison
// ------------------------------------------------------------------------------------------------

/// Every difference between the two runs, as readable messages (empty = same).
fn compare_runs(case: &Case, sam: &RunResult, samrs: &RunResult) -> Vec<String> {
    let mut diffs = Vec::new();
    if sam.exit_code != samrs.exit_code {
        diffs.push(format!(
            "exit code: sam {:?}, samrs {:?}",
            sam.exit_code, samrs.exit_code
        ));
    }
    if sam.stdout != samrs.stdout {
        diffs.push(format!(
            "stdout differs:\n{}",
            line_diff(&sam.stdout, &samrs.stdout)
        ));
    }
    if let Some(text) = case.samrs_warning
        && !samrs
            .stderr
            .lines()
            .any(|l| l.starts_with("Warning: ") && l.contains(text))
    {
        diffs.push(format!("samrs printed no warning containing {text:?}"));
    }
    if let Some(text) = case.samrs_error {
        if sam.exit_code == Some(0) {
            diffs.push("sam build succeeded where the case expects both to fail".into());
        }
        // The message runs from its `Error: ` line to the end (cargo's output, then the hint).
        let message = samrs
            .stderr
            .find("Error: ")
            .map_or("", |at| &samrs.stderr[at..]);
        if !message.contains(text) {
            diffs.push(format!(
                "samrs's Error: message does not contain {text:?}: {:?}",
                error_lines(&samrs.stderr)
            ));
        }
        return diffs;
    }
    compare_building_lines(sam, samrs, &mut diffs);
    compare_error_lines(sam, samrs, &mut diffs);
    if !case.rust_functions.is_empty() {
        compare_sam_part_lines(case, sam, samrs, &mut diffs);
    }

    let (sam_dir, samrs_dir) = (sam.aws_sam.as_deref(), samrs.aws_sam.as_deref());
    if sam_dir.is_some() != samrs_dir.is_some() {
        diffs.push(format!(
            ".aws-sam created: sam {}, samrs {}",
            sam_dir.is_some(),
            samrs_dir.is_some()
        ));
    }
    compare_trees(sam_dir, samrs_dir, &mut diffs);
    if let (Some(sam_dir), Some(samrs_dir)) = (sam_dir, samrs_dir) {
        compare_build_toml(sam_dir, samrs_dir, &mut diffs);
        compare_build_files(
            case,
            &sam_dir.join("build"),
            &samrs_dir.join("build"),
            &mut diffs,
        );
    }
    diffs
}

/// The `Building codeuri: …` lines on stderr, compared as sets (the order depends on an older
/// build.toml, spec §4.2; a different order is only noted).
fn compare_building_lines(sam: &RunResult, samrs: &RunResult, diffs: &mut Vec<String>) {
    let sam_lines = building_lines(&sam.stderr);
    let samrs_lines = building_lines(&samrs.stderr);
    let sam_set: BTreeSet<&str> = sam_lines.iter().copied().collect();
    let samrs_set: BTreeSet<&str> = samrs_lines.iter().copied().collect();
    if sam_set != samrs_set {
        diffs.push(format!(
            "`Building codeuri:` lines on stderr differ:\n  sam:   {sam_lines:?}\n  samrs: {samrs_lines:?}"
        ));
    } else if sam_lines != samrs_lines {
        eprintln!(
            "[oracle] note: `Building codeuri:` lines in another order:\n  sam:   {sam_lines:?}\n  samrs: {samrs_lines:?}"
        );
    }
}

/// The `Building codeuri: …` lines, samrs's own and those of its `sam build` part (shown with
/// the `[sam] ` prefix).
fn building_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .map(|line| line.strip_prefix(SAM_PREFIX).unwrap_or(line))
        .filter(|line| line.starts_with("Building codeuri: "))
        .collect()
}

/// How samrs shows the lines of the `sam build` it runs for the non-Rust resources.
const SAM_PREFIX: &str = "[sam] ";

/// SAM's stderr without what it printed for the Rust functions (from their `Building codeuri:`
/// line to the next `Building` line) must be, line for line, what samrs shows of its `sam build`
/// part; sam's own build folder in those lines is read as the final one.
fn compare_sam_part_lines(
    case: &Case,
    sam: &RunResult,
    samrs: &RunResult,
    diffs: &mut Vec<String>,
) {
    let mut expected = Vec::new();
    let mut in_rust_block = false;
    for line in sam.stderr.lines() {
        if line.starts_with("Building ") {
            in_rust_block = line.split_once(" functions: ").is_some_and(|(_, names)| {
                names.split(", ").any(|n| case.rust_functions.contains(&n))
            });
        }
        if !in_rust_block {
            expected.push(line.to_string());
        }
    }
    let shown: Vec<String> = samrs
        .stderr
        .lines()
        .filter_map(|line| line.strip_prefix(SAM_PREFIX))
        .map(final_build_dir)
        .collect();
    if expected != shown {
        diffs.push(format!(
            "sam's part of the console differs:\n{}",
            line_diff(
                &format!("{}\n", expected.join("\n")),
                &format!("{}\n", shown.join("\n"))
            )
        ));
    }
}

/// `…/.aws-sam/.build.samrs-staging-<pid>.sam/build` (the folder samrs gives sam) read as
/// `…/.aws-sam/build`.
fn final_build_dir(line: &str) -> String {
    let mark = "/.build.samrs-staging-";
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find(mark) {
        out.push_str(&rest[..start]);
        let after = &rest[start + mark.len()..];
        match after.find(".sam/build") {
            Some(end) if after[..end].chars().all(|c| c.is_ascii_digit()) => {
                out.push_str("/build");
                rest = &after[end + ".sam/build".len()..];
            }
            _ => {
                out.push_str(mark);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The `Error: …` lines on stderr, compared as sets (spec Appendix B item 1: "same set of
/// `Error:` messages").
fn compare_error_lines(sam: &RunResult, samrs: &RunResult, diffs: &mut Vec<String>) {
    let sam_set: BTreeSet<&str> = error_lines(&sam.stderr);
    let samrs_set: BTreeSet<&str> = error_lines(&samrs.stderr);
    if sam_set != samrs_set {
        diffs.push(format!(
            "`Error:` lines on stderr differ:\n  sam:   {sam_set:?}\n  samrs: {samrs_set:?}"
        ));
    }
}

fn error_lines(stderr: &str) -> BTreeSet<&str> {
    stderr
        .lines()
        .filter(|line| line.starts_with("Error: "))
        .collect()
}

/// Documented deviation: samrs's `--cached` key (`source_hash`) hashes the package sources,
/// manifests, toolchain and build settings, not SAM's checksum of the whole CodeUri with its
/// `target/`; so the values differ while their presence must match.
fn normalise_hashes(text: &str) -> String {
    text.lines()
        .map(|line| {
            if line.starts_with("source_hash = ") {
                "source_hash = \"<hash>\"".to_string()
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `build.toml` (next to the build folder), parsed, with UUID section names normalised.
fn compare_build_toml(sam_dir: &Path, samrs_dir: &Path, diffs: &mut Vec<String>) {
    let sam_text = fs::read_to_string(sam_dir.join("build.toml")).ok();
    let samrs_text = fs::read_to_string(samrs_dir.join("build.toml")).ok();
    let (sam_text, samrs_text) = match (sam_text, samrs_text) {
        (Some(a), Some(b)) => (a, b),
        (None, None) => return,
        (a, b) => {
            diffs.push(format!(
                "build.toml written: sam {}, samrs {}",
                a.is_some(),
                b.is_some()
            ));
            return;
        }
    };
    let sam_norm = normalise_hashes(&normalise_uuids(&sam_text, &uuid_map(&sam_text)));
    let samrs_norm = normalise_hashes(&normalise_uuids(&samrs_text, &uuid_map(&samrs_text)));
    let sam_value: Result<toml::Table, _> = toml::from_str(&sam_norm);
    let samrs_value: Result<toml::Table, _> = toml::from_str(&samrs_norm);
    match (sam_value, samrs_value) {
        (Ok(a), Ok(b)) if a == b => {
            if sam_norm != samrs_norm {
                eprintln!(
                    "[oracle] note: build.toml parses equal but the text differs:\n{}",
                    line_diff(&sam_norm, &samrs_norm)
                );
            }
        }
        (Ok(_), Ok(_)) => diffs.push(format!(
            "build.toml differs (UUIDs normalised):\n{}",
            line_diff(&sam_norm, &samrs_norm)
        )),
        (a, b) => diffs.push(format!(
            "build.toml does not parse: sam {:?}, samrs {:?}",
            a.err(),
            b.err()
        )),
    }
}

/// The `.aws-sam` tree: relative paths, kinds and mode bits. The build folder and the rest of
/// `.aws-sam` (build.toml, cache/, deps/, anything else a tool leaves there) are reported apart.
/// A missing `.aws-sam` counts as an empty tree.
fn compare_trees(sam_dir: Option<&Path>, samrs_dir: Option<&Path>, diffs: &mut Vec<String>) {
    let (sam_build, sam_rest) = split_build_entries(file_tree(sam_dir));
    let (samrs_build, samrs_rest) = split_build_entries(file_tree(samrs_dir));
    if sam_build != samrs_build {
        diffs.push(format!(
            "build folder tree differs (kind, mode, path under .aws-sam):\n{}",
            line_diff(&tree_listing(&sam_build), &tree_listing(&samrs_build))
        ));
    }
    if sam_rest != samrs_rest {
        diffs.push(format!(
            ".aws-sam tree outside build/ differs (kind, mode, path; UUIDs normalised):\n{}",
            line_diff(&tree_listing(&sam_rest), &tree_listing(&samrs_rest))
        ));
    }
}

/// Splits a `.aws-sam` tree into the build folder's entries (`build` itself included) and the rest.
fn split_build_entries(
    tree: BTreeMap<String, String>,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    tree.into_iter()
        .partition(|(path, _)| path == "build" || path.starts_with("build/"))
}

/// Files present in both build folders: templates parsed (and maybe bytes), the rest bytes.
fn compare_build_files(case: &Case, sam_build: &Path, samrs_build: &Path, diffs: &mut Vec<String>) {
    for entry in walkdir::WalkDir::new(sam_build).sort_by_file_name() {
        let entry = entry.expect("walk sam build folder");
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(sam_build)
            .expect("path inside build folder");
        let theirs = samrs_build.join(rel);
        if !theirs.is_file() {
            continue; // reported by the tree comparison
        }
        let ours = fs::read(entry.path()).expect("read sam file");
        let theirs = fs::read(&theirs).expect("read samrs file");
        if rel.file_name().is_some_and(|n| n == "template.yaml") {
            compare_template(case, rel, &ours, &theirs, diffs);
        } else if ours != theirs {
            diffs.push(format!(
                "build/{}: bytes differ (sam {} bytes, samrs {} bytes)",
                rel.display(),
                ours.len(),
                theirs.len()
            ));
        }
    }
}

fn compare_template(case: &Case, rel: &Path, sam: &[u8], samrs: &[u8], diffs: &mut Vec<String>) {
    let sam_text = String::from_utf8_lossy(sam);
    let samrs_text = String::from_utf8_lossy(samrs);
    let sam_value: Result<serde_yaml::Value, _> = serde_yaml::from_str(&sam_text);
    let samrs_value: Result<serde_yaml::Value, _> = serde_yaml::from_str(&samrs_text);
    let parsed_equal = match (&sam_value, &samrs_value) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !parsed_equal {
        let parse_errors = match (sam_value.err(), samrs_value.err()) {
            (None, None) => String::new(),
            (a, b) => format!(" (parse errors: sam {a:?}, samrs {b:?})"),
        };
        diffs.push(format!(
            "build/{}: parsed templates differ{parse_errors}:\n{}",
            rel.display(),
            line_diff(&sam_text, &samrs_text)
        ));
    } else if sam != samrs {
        let diff = line_diff(&sam_text, &samrs_text);
        if case.exact_template_bytes {
            diffs.push(format!(
                "build/{}: parses equal but bytes differ (exact bytes required):\n{diff}",
                rel.display()
            ));
        } else {
            eprintln!(
                "[oracle] note: {} build/{}: parses equal, bytes differ (allowed here):\n{diff}",
                case.name,
                rel.display()
            );
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------------

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// PATH for both tools: `SAMRS_TOOLS_BIN`, else `<repo>/.ci/venv/bin` if it exists, in front of
/// the inherited PATH. Panics unless `cargo-lambda` and `sam` are on it.
fn tools_path() -> OsString {
    let inherited = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(bin) = std::env::var_os("SAMRS_TOOLS_BIN").filter(|v| !v.is_empty()) {
        dirs.push(PathBuf::from(bin));
    } else {
        let ci_bin = repo_root().join(".ci/venv/bin");
        if ci_bin.is_dir() {
            dirs.push(ci_bin);
        }
    }
    dirs.extend(std::env::split_paths(&inherited));
    for tool in ["cargo-lambda", "sam"] {
        assert!(
            find_executable(&dirs, tool).is_some(),
            "oracle test: `{tool}` not found on PATH (looked in SAMRS_TOOLS_BIN or \
             <repo>/.ci/venv/bin, then PATH): run scripts/ensure-tools to install it, or set \
             SAMRS_TOOLS_BIN to a folder holding both cargo-lambda and sam"
        );
    }
    std::env::join_paths(dirs).expect("PATH entries are joinable")
}

fn find_executable(dirs: &[PathBuf], name: &str) -> Option<PathBuf> {
    dirs.iter().map(|dir| dir.join(name)).find(|candidate| {
        fs::metadata(candidate).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// A private SAM config folder (`__SAM_CLI_APP_DIR`) whose metadata.json says the weekly PyPI
/// version check just ran and telemetry is off, so `sam` never goes to the network.
fn sam_app_dir(target_dir: &Path) -> PathBuf {
    let dir = target_dir.join("sam-app-dir");
    fs::create_dir_all(&dir).expect("create sam app dir");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let metadata = format!(
        "{{\"telemetryEnabled\": false, \"lastVersionCheck\": {now}, \"installationId\": \"samrs-oracle\"}}"
    );
    fs::write(dir.join("metadata.json"), metadata).expect("write sam metadata.json");
    dir
}

/// Copies a project, skipping `target/` and `.aws-sam/` folders. Modification times are kept so
/// that cargo's fingerprints stay fresh between cases that use the same crate (no rebuild).
fn copy_tree(src: &Path, dest: &Path) {
    let walker = walkdir::WalkDir::new(src)
        .into_iter()
        .filter_entry(|e| !(e.file_type().is_dir() && is_skipped_dir(e.file_name())));
    for entry in walker {
        let entry = entry.expect("walk fixture");
        let rel = entry.path().strip_prefix(src).expect("path inside fixture");
        let to = dest.join(rel);
        if entry.file_type().is_dir() {
            fs::create_dir_all(&to).expect("create folder");
        } else {
            fs::copy(entry.path(), &to).expect("copy file");
            let modified = entry
                .metadata()
                .expect("fixture metadata")
                .modified()
                .expect("mtime");
            fs::File::options()
                .write(true)
                .open(&to)
                .and_then(|f| f.set_modified(modified))
                .expect("keep mtime");
        }
    }
}

fn is_skipped_dir(name: &std::ffi::OsStr) -> bool {
    name == "target" || name == ".aws-sam"
}

/// `relative path → "kind mode"` for everything under `root`. Path components that are UUIDs (the
/// cache folders) are replaced by `D<n>` using that run's build.toml.
fn file_tree(root: Option<&Path>) -> BTreeMap<String, String> {
    let mut tree = BTreeMap::new();
    let Some(root) = root else {
        return tree;
    };
    let uuids = fs::read_to_string(root.join("build.toml"))
        .map(|text| uuid_map(&text))
        .unwrap_or_default();
    for entry in walkdir::WalkDir::new(root).min_depth(1) {
        let entry = entry.expect("walk .aws-sam");
        let rel = entry.path().strip_prefix(root).expect("path inside root");
        let rel = normalise_uuids(&rel.to_string_lossy(), &uuids);
        let meta = fs::symlink_metadata(entry.path()).expect("metadata");
        let kind = if meta.file_type().is_symlink() {
            "l"
        } else if meta.is_dir() {
            "d"
        } else {
            "f"
        };
        tree.insert(
            rel,
            format!("{kind} {:04o}", meta.permissions().mode() & 0o7777),
        );
    }
    tree
}

fn tree_listing(tree: &BTreeMap<String, String>) -> String {
    tree.iter()
        .map(|(path, kind_mode)| format!("{kind_mode} {path}\n"))
        .collect()
}

/// Each UUID in `text`, in order of first appearance, mapped to `D0`, `D1`, …
fn uuid_map(text: &str) -> Vec<(String, String)> {
    let mut map: Vec<(String, String)> = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i + 36 <= bytes.len() {
        if is_uuid(&bytes[i..i + 36]) {
            let uuid = &text[i..i + 36];
            if !map.iter().any(|(u, _)| u == uuid) {
                map.push((uuid.to_string(), format!("D{}", map.len())));
            }
            i += 36;
        } else {
            i += 1;
        }
    }
    map
}

fn is_uuid(candidate: &[u8]) -> bool {
    candidate.iter().enumerate().all(|(i, b)| match i {
        8 | 13 | 18 | 23 => *b == b'-',
        _ => b.is_ascii_hexdigit(),
    })
}

fn normalise_uuids(text: &str, map: &[(String, String)]) -> String {
    map.iter().fold(text.to_string(), |acc, (uuid, name)| {
        acc.replace(uuid, name)
    })
}

/// A small line diff (longest common subsequence): `-` sam only, `+` samrs only, two lines of
/// context around each change.
fn line_diff(sam: &str, samrs: &str) -> String {
    let a: Vec<&str> = sam.split_inclusive('\n').collect();
    let b: Vec<&str> = samrs.split_inclusive('\n').collect();
    let ops = diff_ops(&a, &b);
    let changed: Vec<bool> = ops.iter().map(|(tag, _)| *tag != ' ').collect();
    let mut out = String::from("  (- sam, + samrs)\n");
    let mut skipped = false;
    for (i, (tag, line)) in ops.iter().enumerate() {
        let lo = i.saturating_sub(2);
        let hi = (i + 3).min(ops.len());
        if changed[lo..hi].iter().any(|c| *c) {
            if skipped {
                out.push_str("  ...\n");
                skipped = false;
            }
            out.push_str(&format!("  {tag}{}\n", visible(line)));
        } else {
            skipped = true;
        }
    }
    out
}

/// Shows a missing final newline and trailing spaces.
fn visible(line: &str) -> String {
    match line.strip_suffix('\n') {
        Some(body) if body.ends_with(' ') => format!("{body}$"),
        Some(body) => body.to_string(),
        None => format!("{line}  (no newline at end)"),
    }
}

fn diff_ops<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<(char, &'a str)> {
    // lcs[i][j] = length of the LCS of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut ops = Vec::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            ops.push(('+', b[j]));
            j += 1;
        } else {
            ops.push(('-', a[i]));
            i += 1;
        }
    }
    ops
}
