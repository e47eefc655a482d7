//! End-to-end builds with the real cargo-lambda on copies of `fixtures/`: the `.aws-sam` tree,
//! the ELF machine of every bootstrap, the built template, build.toml, exit codes and output.

mod common;

use common::*;

#[test]
fn multi_function_crate_builds_both_bins_in_one_cargo_run() {
    require_tool("cargo-lambda");
    let _lock = cargo_lock();
    let project = copy_fixture("multi-function");
    let run = run_ok(samrs(project.path()).arg("build"));

    assert_eq!(run.stdout, SUCCESS_STDOUT);
    let build = project.path().join(".aws-sam/build");
    assert_eq!(
        tree(&build),
        [
            ("FunctionA/bootstrap".to_string(), 0o755),
            ("FunctionB/bootstrap".to_string(), 0o755),
            ("template.yaml".to_string(), 0o644),
        ]
    );
    for f in ["FunctionA", "FunctionB"] {
        assert_eq!(elf_machine(&build.join(f).join("bootstrap")), EM_X86_64);
    }
    assert_ne!(
        std::fs::read(build.join("FunctionA/bootstrap")).expect("a"),
        std::fs::read(build.join("FunctionB/bootstrap")).expect("b"),
        "each function gets its own binary"
    );
    // One cargo run serves both functions, and its line names each once; SAM's
    // per-definition lines are still printed.
    assert_eq!(
        run.stderr
            .matches("Built FunctionA, FunctionB (provided.al2 x86_64, ")
            .count(),
        1,
        "{}",
        run.stderr
    );
    let dir = project.path().canonicalize().expect("dir");
    for f in ["FunctionA", "FunctionB"] {
        let line = format!(
            "Building codeuri: {} runtime: provided.al2 architecture: x86_64 functions: {f}",
            dir.display()
        );
        assert!(
            run.stderr.contains(&line),
            "missing `{line}` in\n{}",
            run.stderr
        );
    }

    let template = read_yaml(&build.join("template.yaml"));
    let a = &template["Resources"]["FunctionA"];
    assert_eq!(a["Properties"]["CodeUri"], "FunctionA");
    assert_eq!(a["Metadata"]["SamResourceId"], "FunctionA");
    assert_eq!(a["Metadata"]["BuildProperties"]["Binary"], "function_a");

    let build_toml = read_toml(&project.path().join(".aws-sam/build.toml"));
    let definitions = build_toml["function_build_definitions"]
        .as_table()
        .expect("table");
    assert_eq!(definitions.len(), 2);
    let first = definitions
        .values()
        .next()
        .expect("one")
        .as_table()
        .expect("table");
    assert_eq!(
        first["codeuri"].as_str(),
        Some(dir.to_str().expect("utf-8"))
    );
    assert_eq!(first["runtime"].as_str(), Some("provided.al2"));
    assert_eq!(first["functions"].as_array().map(Vec::len), Some(1));
    assert!(build_toml.contains_key("layer_build_definitions"));
}

#[test]
fn a_failed_build_leaves_the_previous_build_intact() {
    require_tool("cargo-lambda");
    let _lock = cargo_lock();
    let project = copy_fixture("multi-function");
    run_ok(samrs(project.path()).arg("build"));
    // Nothing changed: cargo compiles nothing, and the summary says so.
    let again = run_ok(samrs(project.path()).arg("build"));
    let rows: Vec<&str> = again
        .stderr
        .lines()
        .filter(|l| l.trim_start().starts_with("Function"))
        .collect();
    assert_eq!(rows.len(), 2, "{}", again.stderr);
    assert!(
        rows.iter().all(|r| r.ends_with("up to date")),
        "{}",
        again.stderr
    );
    let before = snapshot(&project.path().join(".aws-sam"));

    let source = project.path().join("src/function_a.rs");
    let mut text = std::fs::read_to_string(&source).expect("read");
    text.push_str("\nfn broken() -> u32 { \"not a number\" }\n");
    std::fs::write(&source, text).expect("write");

    let run = run(samrs(project.path()).arg("build"));
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "\nBuild Failed\n");
    // Only function_a's source is broken: cargo names that bin, so FunctionB is "not built".
    assert!(
        run.stderr
            .contains("Error: Cargo Lambda failed for FunctionA (exit code 101"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("; FunctionB not built (same cargo run):\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("mismatched types"),
        "cargo's diagnostics are shown:\n{}",
        run.stderr
    );
    assert_eq!(
        snapshot(&project.path().join(".aws-sam")),
        before,
        "previous build untouched"
    );
    let leftovers: Vec<String> = std::fs::read_dir(project.path().join(".aws-sam"))
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("staging"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "staging folders removed: {leftovers:?}"
    );
}

#[test]
fn single_function_at_the_root_uses_the_only_bin() {
    require_tool("cargo-lambda");
    let _lock = cargo_lock();
    let project = copy_fixture("single-function");
    let run = run_ok(samrs(project.path()).arg("build"));
    assert_eq!(run.stdout, SUCCESS_STDOUT);
    let build = project.path().join(".aws-sam/build");
    assert_eq!(elf_machine(&build.join("MyFunction/bootstrap")), EM_X86_64);
    let template = read_yaml(&build.join("template.yaml"));
    assert_eq!(
        template["Resources"]["MyFunction"]["Properties"]["CodeUri"],
        "MyFunction"
    );
}

#[test]
fn workspace_members_build_from_their_own_folders() {
    require_tool("cargo-lambda");
    let _lock = cargo_lock();
    let project = copy_fixture("workspace");
    let run = run_ok(samrs(project.path()).arg("build"));
    let build = project.path().join(".aws-sam/build");
    for f in ["FunctionA", "FunctionB"] {
        assert_eq!(elf_machine(&build.join(f).join("bootstrap")), EM_X86_64);
    }
    let dir = project.path().canonicalize().expect("dir");
    assert!(
        run.stderr
            .contains(&format!("Building codeuri: {}/fa runtime", dir.display())),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(&format!("Building codeuri: {}/fb runtime", dir.display())),
        "{}",
        run.stderr
    );
    assert_ne!(
        std::fs::read(build.join("FunctionA/bootstrap")).expect("a"),
        std::fs::read(build.join("FunctionB/bootstrap")).expect("b")
    );
}

/// Also the toolchain preflight on the real tools: `--debug` lists the versions the tools
/// themselves report, and a healthy toolchain gets no warning.
#[test]
fn arm64_functions_get_aarch64_binaries_for_al2_and_al2023() {
    require_tool("cargo-lambda");
    let _lock = cargo_lock();
    let project = copy_fixture("arm64");
    let run = run_ok(samrs(project.path()).args(["build", "--debug"]));
    let ask = |program: &str, args: &[&str]| {
        let out = std::process::Command::new(program)
            .args(args)
            .current_dir(project.path())
            .env("PATH", tools_path())
            .output()
            .expect("tool runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let rustc = ask("rustc", &["-vV"]);
    let release = rustc
        .lines()
        .find_map(|l| l.strip_prefix("release: "))
        .expect("rustc release");
    let cargo_lambda = ask("cargo-lambda", &["lambda", "--version"]);
    let cargo_lambda = cargo_lambda.split_whitespace().nth(1).expect("version");
    let toolchain = run
        .stderr
        .lines()
        .find(|l| l.starts_with("Toolchain: "))
        .unwrap_or_else(|| panic!("no toolchain line:\n{}", run.stderr));
    assert!(
        toolchain.starts_with(&format!(
            "Toolchain: rustc {release}, cargo-lambda {cargo_lambda}, zig 0."
        )),
        "{toolchain}"
    );
    assert!(toolchain.ends_with("rustup found"), "{toolchain}");
    assert!(!run.stderr.contains("Warning: "), "{}", run.stderr);
    let build = project.path().join(".aws-sam/build");
    for f in ["Al2023Arm", "Al2Arm"] {
        assert_eq!(
            elf_machine(&build.join(f).join("bootstrap")),
            EM_AARCH64,
            "{f}"
        );
    }
    assert!(
        run.stderr
            .contains("runtime: provided.al2023 architecture: arm64 functions: Al2023Arm")
    );
    assert!(
        run.stderr
            .contains("runtime: provided.al2 architecture: arm64 functions: Al2Arm")
    );
    let build_toml = read_toml(&project.path().join(".aws-sam/build.toml"));
    let architectures: Vec<&str> = build_toml["function_build_definitions"]
        .as_table()
        .expect("table")
        .values()
        .filter_map(|d| d["architecture"].as_str())
        .collect();
    assert_eq!(architectures, ["arm64", "arm64"]);
}

#[test]
fn hello_rust_from_sam_init_builds_with_its_samconfig() {
    require_tool("cargo-lambda");
    let _lock = cargo_lock();
    let project = copy_fixture("hello-rust");
    let run = run_ok(samrs(project.path()).arg("build"));
    assert_eq!(run.stdout, SUCCESS_STDOUT);
    let build = project.path().join(".aws-sam/build");
    assert_eq!(
        elf_machine(&build.join("HelloWorldFunction/bootstrap")),
        EM_X86_64
    );
    let template = read_yaml(&build.join("template.yaml"));
    let function = &template["Resources"]["HelloWorldFunction"];
    assert_eq!(function["Properties"]["CodeUri"], "HelloWorldFunction");
    assert_eq!(
        function["Properties"]["Events"]["HelloWorld"]["Type"],
        "Api"
    );
}

#[test]
fn building_one_function_keeps_build_toml_and_points_the_others_at_their_source() {
    require_tool("cargo-lambda");
    let _lock = cargo_lock();
    let project = copy_fixture("multi-function");
    run_ok(samrs(project.path()).arg("build"));
    let build_toml = project.path().join(".aws-sam/build.toml");
    let before = std::fs::read(&build_toml).expect("build.toml");

    let run = run_ok(samrs(project.path()).args(["build", "FunctionA"]));
    assert_eq!(run.stdout, SUCCESS_STDOUT);
    let build = project.path().join(".aws-sam/build");
    assert_eq!(
        tree(&build),
        [
            ("FunctionA/bootstrap".to_string(), 0o755),
            ("template.yaml".to_string(), 0o644),
        ]
    );
    let template = read_yaml(&build.join("template.yaml"));
    let b = &template["Resources"]["FunctionB"];
    assert_eq!(b["Properties"]["CodeUri"], "../..");
    assert!(b["Metadata"].get("SamResourceId").is_none());
    assert_eq!(std::fs::read(&build_toml).expect("build.toml"), before);
}
