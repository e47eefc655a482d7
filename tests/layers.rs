//! Rust layers (Lambda extensions), samrs's beta feature: the opt-in in all its forms, the
//! terminal prompt (through a pseudo-terminal), and the built layer (fake and real cargo-lambda).

mod common;

use common::*;
use std::process::Command;

fn setup() -> (tempfile::TempDir, tempfile::TempDir, tempfile::TempDir) {
    (
        copy_fixture("layer-extension"),
        fake_cargo_lambda(),
        tempfile::tempdir().expect("tmp"),
    )
}

fn fake(
    project: &tempfile::TempDir,
    fake: &tempfile::TempDir,
    scratch: &tempfile::TempDir,
) -> Command {
    samrs_with_fake(
        project.path(),
        fake.path(),
        &scratch.path().join("calls.log"),
        &scratch.path().join("target"),
    )
}

#[test]
fn without_opt_in_and_without_a_terminal_the_three_ways_are_named() {
    let (project, bin, scratch) = setup();
    let run = run(fake(&project, &bin, &scratch).arg("build"));
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "", "refused before building");
    for way in [
        "--beta-features",
        "SAM_CLI_BETA_RUST_CARGO_LAMBDA=1",
        "beta_features = true",
    ] {
        assert!(
            run.stderr.contains(way),
            "{way} missing from\n{}",
            run.stderr
        );
    }
    assert!(run.stderr.contains("LogExtension"));
    assert!(fake_calls(&scratch.path().join("calls.log")).is_empty());
    assert!(!project.path().join(".aws-sam/build").exists());
}

#[test]
fn beta_features_flag_builds_the_extension_into_the_layer() {
    let (project, bin, scratch) = setup();
    let run = run_ok(fake(&project, &bin, &scratch).args(["build", "--beta-features"]));
    assert!(
        run.stderr
            .contains("Experimental features are enabled for this session.")
    );
    assert!(
        run.stderr.contains("Building layer 'LogExtension'"),
        "{}",
        run.stderr
    );
    let calls = fake_calls(&scratch.path().join("calls.log"));
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].2, "build --release --extension --bin log-ext");
    let build = project.path().join(".aws-sam/build");
    assert_eq!(
        tree(&build),
        [
            ("LogExtension/extensions/log-ext".to_string(), 0o755),
            ("template.yaml".to_string(), 0o644)
        ]
    );
    let template = read_yaml(&build.join("template.yaml"));
    let layer = &template["Resources"]["LogExtension"];
    assert_eq!(layer["Properties"]["ContentUri"], "LogExtension");
    assert_eq!(layer["Metadata"]["SamResourceId"], "LogExtension");
    let toml = read_toml(&project.path().join(".aws-sam/build.toml"));
    let layer = toml["layer_build_definitions"]
        .as_table()
        .expect("table")
        .values()
        .next()
        .expect("one layer")
        .clone();
    assert_eq!(layer["layer_name"].as_str(), Some("LogExtension"));
    assert_eq!(layer["build_method"].as_str(), Some("rust-cargolambda"));
    assert_eq!(layer["architecture"].as_str(), Some("x86_64"));
}

#[test]
fn environment_and_samconfig_opt_in_and_no_beta_features_wins() {
    let (project, bin, scratch) = setup();
    run_ok(
        fake(&project, &bin, &scratch)
            .arg("build")
            .env("SAM_CLI_BETA_RUST_CARGO_LAMBDA", "1"),
    );
    run_ok(
        fake(&project, &bin, &scratch)
            .arg("build")
            .env("SAM_CLI_BETA_FEATURES", "1"),
    );
    let refused = run(fake(&project, &bin, &scratch)
        .arg("build")
        .env("SAM_CLI_BETA_RUST_CARGO_LAMBDA", "true"));
    assert_eq!(refused.code, 1, "only the value 1 counts");
    let refused = run(fake(&project, &bin, &scratch)
        .args(["build", "--no-beta-features"])
        .env("SAM_CLI_BETA_FEATURES", "1"));
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("--no-beta-features"),
        "{}",
        refused.stderr
    );

    std::fs::write(
        project.path().join("samconfig.toml"),
        "version = 0.1\n[default.build.parameters]\nbeta_features = true\n",
    )
    .expect("write");
    let run = run_ok(fake(&project, &bin, &scratch).arg("build"));
    assert!(run.stderr.contains("Experimental features are enabled"));
}

/// Runs samrs under a pseudo-terminal and types `answer` at the beta prompt.
fn build_at_a_terminal(answer: &str) -> (i32, String, tempfile::TempDir) {
    let (project, bin, scratch) = setup();
    let command = fake(&project, &bin, &scratch);
    let typed = format!("{answer}\n");
    let (code, screen) = at_a_terminal(
        &command,
        project.path(),
        &["build"],
        Some(("[y/N]:", typed.as_str())),
    );
    (code, screen, project)
}

#[test]
fn at_a_terminal_yes_builds_the_layer() {
    let (code, screen, project) = build_at_a_terminal("y");
    assert!(
        screen.contains("is a beta feature.\r\nPlease confirm if you would like to proceed"),
        "{screen}"
    );
    assert!(
        screen.contains("\"samrs build --beta-features\". [y/N]:"),
        "{screen}"
    );
    assert_eq!(code, 0, "{screen}");
    assert!(
        project
            .path()
            .join(".aws-sam/build/LogExtension/extensions/log-ext")
            .is_file()
    );
}

#[test]
fn at_a_terminal_no_refuses() {
    let (code, screen, project) = build_at_a_terminal("n");
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains("was not confirmed"), "{screen}");
    assert!(!project.path().join(".aws-sam/build").exists());
}

#[test]
fn a_real_extension_is_built_by_cargo_lambda() {
    require_tool("cargo-lambda");
    let _lock = cargo_lock();
    let project = copy_fixture("layer-extension");
    run_ok(samrs(project.path()).args(["build", "--beta-features"]));
    let extension = project
        .path()
        .join(".aws-sam/build/LogExtension/extensions/log-ext");
    assert_eq!(elf_machine(&extension), EM_X86_64);
}

/// Under `--cached` a Rust layer is cached as SAM caches layers (build.toml `source_hash`, "for
/// following layers"), and a folder remote restores it into a checkout at another path.
#[test]
fn cached_layers_are_restored_without_cargo_locally_and_from_a_remote() {
    let (project, bin, scratch) = setup();
    let remote = scratch.path().join("remote");
    let build = |project: &std::path::Path, log: &str| {
        let mut command = samrs_with_fake(
            project,
            bin.path(),
            &scratch.path().join(log),
            &scratch.path().join("target"),
        );
        command
            .args(["build", "--beta-features", "--cached", "--remote-cache"])
            .arg(&remote);
        run_ok(&mut command)
    };
    let first = build(project.path(), "first.log");
    assert!(
        first.stderr.contains(
            "Cache is invalid, running build and copying resources for following layers (LogExtension)"
        ) && first.stderr.contains("Uploaded 1 layer(s) to"),
        "{}",
        first.stderr
    );
    let toml = read_toml(&project.path().join(".aws-sam/build.toml"));
    let layers = toml["layer_build_definitions"]
        .as_table()
        .expect("layer definitions");
    let hash = layers.values().next().expect("one layer")["source_hash"]
        .as_str()
        .expect("source_hash")
        .to_string();
    assert_eq!(hash.len(), 64);

    let second = build(project.path(), "second.log");
    assert!(
        second.stderr.contains(
            "Valid cache found, copying previously built resources for following layers (LogExtension)"
        ),
        "{}",
        second.stderr
    );
    assert!(fake_calls(&scratch.path().join("second.log")).is_empty());

    let elsewhere = scratch.path().join("elsewhere/checkout");
    std::fs::create_dir_all(&elsewhere).expect("mkdir");
    copy_tree(&repo_root().join("fixtures/layer-extension"), &elsewhere);
    let third = build(&elsewhere, "third.log");
    assert!(
        third.stderr.contains("Downloaded 1 layer(s) from"),
        "{}",
        third.stderr
    );
    assert!(fake_calls(&scratch.path().join("third.log")).is_empty());
    assert_eq!(
        snapshot(&elsewhere.join(".aws-sam/build/LogExtension")),
        snapshot(&project.path().join(".aws-sam/build/LogExtension"))
    );
}
