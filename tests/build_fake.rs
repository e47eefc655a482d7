//! Fast tests of command lines and failure paths with a fake `cargo-lambda` (real cargo still
//! reads the fixtures' manifests). The real builds are proven in `build_real.rs` and `oracle.rs`.

mod common;

use common::*;
use std::path::Path;

struct Setup {
    project: tempfile::TempDir,
    fake: tempfile::TempDir,
    scratch: tempfile::TempDir,
}

impl Setup {
    fn new(fixture: &str) -> Setup {
        Setup {
            project: copy_fixture(fixture),
            fake: fake_cargo_lambda(),
            scratch: tempfile::tempdir().expect("tmp"),
        }
    }

    fn log(&self) -> std::path::PathBuf {
        self.scratch.path().join("calls.log")
    }

    fn target(&self) -> std::path::PathBuf {
        self.scratch.path().join("target")
    }

    fn samrs(&self) -> std::process::Command {
        samrs_with_fake(
            self.project.path(),
            self.fake.path(),
            &self.log(),
            &self.target(),
        )
    }

    fn dir(&self) -> String {
        self.project
            .path()
            .canonicalize()
            .expect("dir")
            .to_string_lossy()
            .into_owned()
    }
}

#[test]
fn target_flags_follow_runtime_and_architecture() {
    let s = Setup::new("arm64");
    run_ok(s.samrs().arg("build"));
    let calls = fake_calls(&s.log());
    let target = s.target().to_string_lossy().into_owned();
    assert_eq!(
        calls,
        [
            (
                s.dir(),
                format!("{target}/al2023"),
                "build --release --arm64 --bin arm_al2023".to_string()
            ),
            (
                s.dir(),
                target.clone(),
                "build --release --target aarch64-unknown-linux-gnu.2.26 --bin arm_al2".to_string()
            ),
        ]
    );
    let build = s.project.path().join(".aws-sam/build");
    assert_eq!(elf_machine(&build.join("Al2Arm/bootstrap")), EM_AARCH64);
}

#[test]
fn debug_build_mode_drops_release() {
    let s = Setup::new("multi-function");
    run_ok(s.samrs().arg("build").env("SAM_BUILD_MODE", "debug"));
    let calls = fake_calls(&s.log());
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].2,
        "build --target x86_64-unknown-linux-gnu.2.26 --bin function_a --bin function_b"
    );
}

#[test]
fn workspace_members_with_the_same_features_share_one_cargo_run() {
    let s = Setup::new("workspace");
    run_ok(s.samrs().arg("build"));
    let calls = fake_calls(&s.log());
    let target = s.target().to_string_lossy().into_owned();
    assert_eq!(
        calls,
        [(
            s.dir(),
            target,
            "build --release --target x86_64-unknown-linux-gnu.2.26 --package fa --package fb --bin fa --bin fb"
                .to_string()
        )]
    );
    let build = s.project.path().join(".aws-sam/build");
    assert!(
        build.join("FunctionA/bootstrap").is_file() && build.join("FunctionB/bootstrap").is_file()
    );
}

#[test]
fn workspace_members_with_different_features_build_apart_in_their_folders() {
    let s = Setup::new("workspace-features");
    run_ok(s.samrs().arg("build"));
    let calls = fake_calls(&s.log());
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0].0, format!("{}/plain", s.dir()));
    assert_eq!(
        calls[0].2,
        "build --release --target x86_64-unknown-linux-gnu.2.26 --bin plain"
    );
    assert_eq!(calls[1].0, format!("{}/ordered", s.dir()));
}

#[test]
fn a_cargo_failure_reports_cargo_output_and_keeps_the_previous_build() {
    let s = Setup::new("multi-function");
    run_ok(s.samrs().arg("build"));
    let before = snapshot(&s.project.path().join(".aws-sam"));
    let run = run(s.samrs().arg("build").env("FAKE_FAIL", "1"));
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "\nBuild Failed\n");
    assert!(
        run.stderr
            .contains("Error: Cargo Lambda failed for FunctionA, FunctionB (exit code 101"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("mismatched types (fake)"),
        "{}",
        run.stderr
    );
    assert_eq!(snapshot(&s.project.path().join(".aws-sam")), before);
}

#[test]
fn a_killed_cargo_is_named_and_the_previous_build_kept() {
    let s = Setup::new("multi-function");
    run_ok(s.samrs().arg("build"));
    let before = snapshot(&s.project.path().join(".aws-sam"));
    let run = run(s.samrs().arg("build").env("FAKE_SIGNAL", "1"));
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("killed by signal 9 (SIGKILL)"),
        "{}",
        run.stderr
    );
    assert_eq!(snapshot(&s.project.path().join(".aws-sam")), before);
}

#[test]
fn a_binary_for_the_wrong_machine_is_refused() {
    let s = Setup::new("arm64");
    let run = run(s.samrs().arg("build").env("FAKE_WRONG_ARCH", "1"));
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("Al2023Arm (provided.al2023 arm64): the bootstrap is built for x86_64 but the function's Architectures says arm64"),
        "{}",
        run.stderr
    );
    assert!(!s.project.path().join(".aws-sam/build").exists());
}

#[test]
fn missing_cargo_lambda_says_how_to_install_it() {
    let s = Setup::new("single-function");
    std::fs::remove_file(s.fake.path().join("cargo-lambda")).expect("rm");
    let run = run(s.samrs().arg("build"));
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("pip install cargo-lambda"),
        "{}",
        run.stderr
    );
}

#[test]
fn identical_definitions_build_once_and_copy() {
    let s = Setup::new("multi-function");
    let template = "Resources:\n  F1:\n    Type: AWS::Serverless::Function\n    Metadata: {BuildMethod: rust-cargolambda, BuildProperties: {Binary: function_a}}\n    Properties: {CodeUri: ., Handler: bootstrap, Runtime: provided.al2}\n  F2:\n    Type: AWS::Serverless::Function\n    Metadata: {BuildMethod: rust-cargolambda, BuildProperties: {Binary: function_a}}\n    Properties: {CodeUri: ./, Handler: other.handler, Runtime: provided.al2, MemorySize: 256}\n";
    std::fs::write(s.project.path().join("template.yaml"), template).expect("write");
    let run = run_ok(s.samrs().arg("build"));
    assert!(run.stderr.contains(&format!(
        "Building codeuri: {} runtime: provided.al2 architecture: x86_64 functions: F1, F2",
        s.dir()
    )));
    assert_eq!(fake_calls(&s.log()).len(), 1);
    let build = s.project.path().join(".aws-sam/build");
    assert_eq!(
        std::fs::read(build.join("F1/bootstrap")).expect("f1"),
        std::fs::read(build.join("F2/bootstrap")).expect("f2")
    );
    let toml = read_toml(&s.project.path().join(".aws-sam/build.toml"));
    let definition = toml["function_build_definitions"]
        .as_table()
        .expect("t")
        .values()
        .next()
        .expect("one")
        .clone();
    assert_eq!(definition["functions"].as_array().map(Vec::len), Some(2));
    assert_eq!(definition["handler"].as_str(), Some("bootstrap"));
}

#[test]
fn build_dir_and_its_banner_follow_the_option() {
    let s = Setup::new("single-function");
    let run = run_ok(s.samrs().args(["build", "-b", "out/dir"]));
    assert!(
        s.project
            .path()
            .join("out/dir/MyFunction/bootstrap")
            .is_file()
    );
    assert!(
        s.project.path().join("out/build.toml").is_file(),
        "build.toml goes next to the build dir"
    );
    assert!(
        run.stdout
            .contains("Built Artifacts  : out/dir\nBuilt Template   : out/dir/template.yaml\n")
    );
    assert!(
        run.stdout
            .contains("[*] Deploy: sam deploy --guided --template-file out/dir/template.yaml")
    );
}

#[test]
fn a_build_dir_that_holds_the_project_is_refused() {
    let s = Setup::new("single-function");
    for dir in [".", "..", "/"] {
        let run = run(s.samrs().args(["build", "-b", dir]));
        assert_eq!(run.code, 1, "-b {dir}");
        assert!(
            run.stderr.contains("Error: Failing build: build-dir"),
            "{}",
            run.stderr
        );
        assert_eq!(run.stdout, "");
    }
    assert!(Path::new(&s.dir()).join("template.yaml").exists());
}

#[test]
fn cached_builds_skip_cargo_until_a_source_changes() {
    let s = Setup::new("multi-function");
    let first = run_ok(s.samrs().args(["build", "--cached"]));
    assert!(
        first.stderr.starts_with("Starting Build use cache\n"),
        "{}",
        first.stderr
    );
    assert!(first.stderr.contains(
        "Cache is invalid, running build and copying resources for following functions (FunctionA)"
    ));
    assert_eq!(fake_calls(&s.log()).len(), 1);
    let built = snapshot(&s.project.path().join(".aws-sam/build"));
    assert!(
        s.project
            .path()
            .join(".aws-sam/cache")
            .read_dir()
            .expect("cache")
            .count()
            == 2
    );

    let second = run_ok(s.samrs().args(["build", "--cached"]));
    assert!(second.stderr.contains("Valid cache found, copying previously built resources for following functions (FunctionA)"), "{}", second.stderr);
    assert!(second.stderr.contains(
        "Valid cache found, copying previously built resources for following functions (FunctionB)"
    ));
    assert_eq!(fake_calls(&s.log()).len(), 1, "cargo was not started");
    assert_eq!(snapshot(&s.project.path().join(".aws-sam/build")), built);

    let source = s.project.path().join("src/function_b.rs");
    let text = std::fs::read_to_string(&source).expect("read") + "\n// changed\n";
    std::fs::write(&source, text).expect("write");
    let third = run_ok(s.samrs().args(["build", "--cached"]));
    assert!(
        third.stderr.contains("Cache is invalid"),
        "{}",
        third.stderr
    );
    assert_eq!(fake_calls(&s.log()).len(), 2);

    let debug = run_ok(
        s.samrs()
            .args(["build", "--cached"])
            .env("SAM_BUILD_MODE", "debug"),
    );
    assert!(
        debug.stderr.contains("Cache is invalid"),
        "a debug build never reuses a release binary"
    );
    let calls = fake_calls(&s.log());
    assert_eq!(calls.len(), 3);
    assert!(!calls[2].2.contains("--release"));
}

#[test]
fn without_cached_the_cache_is_neither_read_nor_written() {
    let s = Setup::new("single-function");
    run_ok(s.samrs().arg("build"));
    run_ok(s.samrs().arg("build"));
    assert_eq!(fake_calls(&s.log()).len(), 2);
    assert!(!s.project.path().join(".aws-sam/cache").exists());
}

#[test]
fn an_image_function_without_build_info_is_skipped_as_sam_skips_it() {
    let s = Setup::new("multi-function");
    let template = std::fs::read_to_string(s.project.path().join("template.yaml")).expect("read");
    let template = template.replacen(
        "Runtime: provided.al2\n",
        "Runtime: provided.al2\n      PackageType: Image\n",
        1,
    );
    std::fs::write(s.project.path().join("template.yaml"), template).expect("write");
    let run = run_ok(s.samrs().arg("build"));
    assert!(
        !run.stderr.contains("functions: FunctionA"),
        "{}",
        run.stderr
    );
    let build = s.project.path().join(".aws-sam/build");
    assert!(!build.join("FunctionA").exists());
    assert!(build.join("FunctionB/bootstrap").is_file());
}

#[test]
fn parallel_builds_of_independent_target_folders_give_the_same_result() {
    let serial = Setup::new("arm64");
    run_ok(serial.samrs().arg("build"));
    let parallel = Setup::new("arm64");
    let run = run_ok(parallel.samrs().args(["build", "--parallel"]));
    assert_eq!(fake_calls(&parallel.log()).len(), 2);
    assert_eq!(
        snapshot(&parallel.project.path().join(".aws-sam/build")),
        snapshot(&serial.project.path().join(".aws-sam/build"))
            .into_iter()
            .map(|(path, bytes)| {
                let template = String::from_utf8_lossy(&bytes).replace(
                    serial.project.path().to_str().expect("utf-8"),
                    parallel.project.path().to_str().expect("utf-8"),
                );
                if Path::new(&path).extension().is_some_and(|e| e == "yaml") {
                    (path, template.into_bytes())
                } else {
                    (path, bytes)
                }
            })
            .collect::<Vec<_>>()
    );
    assert!(run.stderr.contains("Al2023Arm"));
}

#[test]
fn the_closing_summary_lists_each_function() {
    let s = Setup::new("multi-function");
    let run = run_ok(s.samrs().arg("build"));
    assert!(run.stderr.contains("Resource   Target"), "{}", run.stderr);
    assert!(
        run.stderr.contains("FunctionA  provided.al2 x86_64"),
        "{}",
        run.stderr
    );
    let cached = run_ok(s.samrs().args(["build", "--cached"]));
    assert!(cached.stderr.contains("built in"), "{}", cached.stderr);
    let cached = run_ok(s.samrs().args(["build", "--cached"]));
    assert!(cached.stderr.contains("from cache"), "{}", cached.stderr);
}

#[test]
fn sigint_mid_build_stops_cargo_and_keeps_the_previous_build() {
    use std::time::{Duration, Instant};
    let s = Setup::new("multi-function");
    run_ok(s.samrs().arg("build"));
    let before = snapshot(&s.project.path().join(".aws-sam"));

    let child = s
        .samrs()
        .arg("build")
        .env("FAKE_SLEEP", "30")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("samrs starts");
    let started = Instant::now();
    while fake_calls(&s.log()).len() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "cargo-lambda never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: sending SIGINT to the child this test started.
    unsafe {
        libc::kill(pid, libc::SIGINT);
    }
    let output = child.wait_with_output().expect("samrs ends");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "samrs stopped promptly"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Build interrupted"), "{stderr}");
    assert_eq!(snapshot(&s.project.path().join(".aws-sam")), before);
    let leftovers = std::fs::read_dir(s.project.path().join(".aws-sam"))
        .expect("ls")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().contains("staging"))
        })
        .count();
    assert_eq!(leftovers, 0);
}

#[test]
fn a_second_build_of_the_same_folder_waits_for_the_first() {
    let s = Setup::new("single-function");
    let mut first = s
        .samrs()
        .arg("build")
        .env("FAKE_SLEEP", "2")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("first build starts");
    let started = std::time::Instant::now();
    while fake_calls(&s.log()).is_empty() {
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let second = run_ok(s.samrs().arg("build"));
    assert!(
        second.stderr.contains("Waiting for another samrs build"),
        "{}",
        second.stderr
    );
    assert!(first.wait().expect("first ends").success());
    assert_eq!(fake_calls(&s.log()).len(), 2);
}

#[test]
fn a_missing_zig_gets_an_install_hint() {
    let s = Setup::new("single-function");
    std::fs::write(
        s.fake.path().join("cargo-lambda"),
        "#!/usr/bin/env bash\necho '  x Zig is not installed in your system.' >&2\nexit 1\n",
    )
    .expect("write fake");
    // Only the fake and the system folders: no zig, no ziglang.
    let path = format!(
        "{}:{}:/usr/bin:/bin",
        s.fake.path().display(),
        std::path::Path::new(env!("CARGO"))
            .parent()
            .expect("cargo's folder")
            .display()
    );
    let run = run(s.samrs().arg("build").env("PATH", path));
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("Zig is not installed"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("pip install ziglang"), "{}", run.stderr);
}

#[test]
fn a_build_folder_that_cannot_be_written_fails_cleanly() {
    let s = Setup::new("single-function");
    // A file where the build folder's parent should be: nothing can be created below it.
    std::fs::write(s.project.path().join(".aws-sam"), "not a folder").expect("write");
    let run = run(s.samrs().arg("build"));
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("Error: Unable to use build dir"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(s.project.path().join(".aws-sam")).expect("read"),
        "not a folder"
    );
}

#[test]
fn one_failing_group_of_several_fails_the_build_and_keeps_the_previous_one() {
    let s = Setup::new("arm64");
    run_ok(s.samrs().arg("build"));
    let before = snapshot(&s.project.path().join(".aws-sam"));
    let serial = run(s.samrs().arg("build").env("FAKE_FAIL_BIN", "arm_al2"));
    assert_eq!(serial.code, 1);
    assert!(
        serial.stderr.contains("Cargo Lambda failed for Al2Arm"),
        "{}",
        serial.stderr
    );
    assert!(!serial.stderr.contains("Cargo Lambda failed for Al2023Arm"));
    assert_eq!(snapshot(&s.project.path().join(".aws-sam")), before);
    let parallel = run(s
        .samrs()
        .args(["build", "--parallel"])
        .env("FAKE_FAIL_BIN", "arm_al2"));
    assert_eq!(parallel.code, 1);
    assert_eq!(snapshot(&s.project.path().join(".aws-sam")), before);
}

#[test]
fn nested_stacks_two_levels_deep_are_built_into_their_folders() {
    let s = Setup::new("multi-function");
    let function = |binary: &str, code: &str| {
        format!(
            "    Type: AWS::Serverless::Function\n    Metadata: {{BuildMethod: rust-cargolambda, BuildProperties: {{Binary: {binary}}}}}\n    Properties: {{CodeUri: {code}, Handler: bootstrap, Runtime: provided.al2}}\n"
        )
    };
    let root = format!(
        "Resources:\n  RootFn:\n{}  Child:\n    Type: AWS::Serverless::Application\n    Properties:\n      Location: child/template.yaml\n",
        function("function_a", ".")
    );
    let child = format!(
        "Resources:\n  ChildFn:\n{}  Grand:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: grand/template.yaml\n",
        function("function_b", "..")
    );
    let grand = format!(
        "Resources:\n  GrandFn:\n{}",
        function("function_a", "../..")
    );
    std::fs::write(s.project.path().join("template.yaml"), root).expect("write");
    std::fs::create_dir_all(s.project.path().join("child/grand")).expect("mkdir");
    std::fs::write(s.project.path().join("child/template.yaml"), child).expect("write");
    std::fs::write(s.project.path().join("child/grand/template.yaml"), grand).expect("write");

    let run = run_ok(s.samrs().arg("build"));
    assert!(
        run.stderr
            .contains("functions: RootFn, Child/Grand/GrandFn"),
        "{}",
        run.stderr
    );
    let build = s.project.path().join(".aws-sam/build");
    assert_eq!(
        tree(&build).into_iter().map(|(p, _)| p).collect::<Vec<_>>(),
        [
            "Child/ChildFn/bootstrap",
            "Child/Grand/GrandFn/bootstrap",
            "Child/Grand/template.yaml",
            "Child/template.yaml",
            "RootFn/bootstrap",
            "template.yaml",
        ]
    );
    let root = read_yaml(&build.join("template.yaml"));
    assert_eq!(
        root["Resources"]["Child"]["Properties"]["Location"],
        "Child/template.yaml"
    );
    assert_eq!(
        root["Resources"]["Child"]["Metadata"]["SamResourceId"],
        "Child"
    );
    let child = read_yaml(&build.join("Child/template.yaml"));
    assert_eq!(
        child["Resources"]["Grand"]["Properties"]["TemplateURL"],
        "Grand/template.yaml"
    );
    assert_eq!(
        child["Resources"]["ChildFn"]["Properties"]["CodeUri"],
        "ChildFn"
    );
    let grand = read_yaml(&build.join("Child/Grand/template.yaml"));
    assert_eq!(
        grand["Resources"]["GrandFn"]["Properties"]["CodeUri"],
        "GrandFn"
    );

    let one = run_ok(s.samrs().args(["build", "Child/Grand/GrandFn"]));
    assert!(
        one.stderr.contains("functions: Child/Grand/GrandFn"),
        "{}",
        one.stderr
    );
}

#[test]
fn build_properties_reach_the_cargo_command() {
    let s = Setup::new("multi-function");
    let template = std::fs::read_to_string(s.project.path().join("template.yaml")).expect("read");
    let template = template.replacen(
        "Binary: function_a\n",
        "Binary: function_a\n        Features: [fast]\n        Profile: lean\n        Flags: [--locked]\n",
        1,
    );
    std::fs::write(s.project.path().join("template.yaml"), template).expect("write");
    run_ok(s.samrs().arg("build"));
    let calls: Vec<String> = fake_calls(&s.log()).into_iter().map(|c| c.2).collect();
    assert_eq!(
        calls,
        [
            "build --profile lean --target x86_64-unknown-linux-gnu.2.26 --features fast --locked --bin function_a",
            "build --release --target x86_64-unknown-linux-gnu.2.26 --bin function_b",
        ]
    );
}

#[test]
fn a_symlink_in_the_old_build_cannot_redirect_writes() {
    let s = Setup::new("single-function");
    let outside = tempfile::tempdir().expect("tmp");
    std::fs::write(outside.path().join("keep.txt"), "mine").expect("write");
    let build = s.project.path().join(".aws-sam/build");
    std::fs::create_dir_all(&build).expect("mkdir");
    std::os::unix::fs::symlink(outside.path(), build.join("MyFunction")).expect("symlink");
    run_ok(s.samrs().arg("build"));
    assert!(build.join("MyFunction/bootstrap").is_file());
    assert!(!build.join("MyFunction").is_symlink());
    let outside_files: Vec<_> = std::fs::read_dir(outside.path())
        .expect("ls")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        outside_files,
        ["keep.txt"],
        "nothing written through the link"
    );
}

#[test]
fn a_full_disk_fails_the_build_and_keeps_the_previous_one() {
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(self.0).status();
        }
    }
    // A 1 MiB tmpfs holds the project; the new binaries do not fit. Needs mount rights (root).
    let mount_point = tempfile::tempdir().expect("tmp");
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(mount_point.path())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("SKIP: cannot mount a small tmpfs here (needs root)");
        return;
    }
    let _unmount = Unmount(mount_point.path());
    let project = mount_point.path().join("project");
    copy_tree(&repo_root().join("fixtures/multi-function"), &project);
    let fake = fake_cargo_lambda();
    let scratch = tempfile::tempdir().expect("tmp");
    let samrs = || {
        samrs_with_fake(
            &project,
            fake.path(),
            &scratch.path().join("calls.log"),
            &scratch.path().join("target"),
        )
    };
    run_ok(samrs().arg("build"));
    let before = snapshot(&project.join(".aws-sam"));
    let full = run(samrs().arg("build").env("FAKE_PAD", "800000"));
    assert_eq!(full.code, 1, "{}", full.stderr);
    assert!(
        full.stderr.contains("No space left on device"),
        "{}",
        full.stderr
    );
    assert_eq!(snapshot(&project.join(".aws-sam")), before);
    let leftovers = std::fs::read_dir(project.join(".aws-sam"))
        .expect("ls")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().contains("staging"))
        })
        .count();
    assert_eq!(leftovers, 0, "the staging folder is removed");
}

#[test]
fn options_that_shape_the_build_are_honoured() {
    // --base-dir: relative CodeUris start there; the raw CodeUri is shown and recorded.
    let s = Setup::new("single-function");
    let infra = s.project.path().join("infra");
    std::fs::create_dir(&infra).expect("mkdir");
    std::fs::rename(
        s.project.path().join("template.yaml"),
        infra.join("template.yaml"),
    )
    .expect("move template");
    let run = run_ok(
        s.samrs()
            .args(["build", "-t", "infra/template.yaml", "-s", "."]),
    );
    assert!(
        run.stderr.contains("Building codeuri: ./ runtime"),
        "{}",
        run.stderr
    );
    let toml = read_toml(&s.project.path().join(".aws-sam/build.toml"));
    let definition = toml["function_build_definitions"]
        .as_table()
        .expect("t")
        .values()
        .next()
        .expect("one")
        .clone();
    assert_eq!(definition["codeuri"].as_str(), Some("./"));

    // --region: AWS::Region in an intrinsic that decides the build.
    let s = Setup::new("multi-function");
    let template = std::fs::read_to_string(s.project.path().join("template.yaml")).expect("read");
    let template = template.replacen(
        "Binary: function_a",
        "Binary: !If [InEurope, function_a, function_b]",
        1,
    );
    let template = template.replacen(
        "Resources:",
        "Conditions:\n  InEurope: !Equals [!Ref 'AWS::Region', eu-west-1]\nResources:",
        1,
    );
    std::fs::write(s.project.path().join("template.yaml"), template).expect("write");
    run_ok(s.samrs().args(["build", "--region", "eu-west-1"]));
    assert_eq!(
        fake_calls(&s.log())[0].2,
        "build --release --target x86_64-unknown-linux-gnu.2.26 --bin function_a --bin function_b"
    );
    run_ok(s.samrs().arg("build"));
    assert_eq!(
        fake_calls(&s.log())[1].2,
        "build --release --target x86_64-unknown-linux-gnu.2.26 --bin function_b"
    );

    // --debug: the exact cargo command line, folder and environment, with what samrs adds to
    // read cargo's progress (the fake logs the command without it, as SAM would run it).
    let run = run_ok(s.samrs().args(["build", "--debug"]));
    let expected = format!(
        "Running cargo lambda build --release --target x86_64-unknown-linux-gnu.2.26 --bin function_b --message-format=json-render-diagnostics --color=never in {} (CARGO_TARGET_DIR={} CARGO_TERM_COLOR=never CARGO_TERM_PROGRESS_WHEN=always CARGO_TERM_PROGRESS_WIDTH=100 RUST_LOG=debug)\n",
        s.dir(),
        s.target().display()
    );
    assert!(run.stderr.contains(&expected), "{expected}\n{}", run.stderr);
    assert_eq!(
        fake_calls(&s.log())[2].2,
        "build --release --target x86_64-unknown-linux-gnu.2.26 --bin function_b"
    );

    // -m and --build-in-source are accepted and change nothing.
    run_ok(
        s.samrs()
            .args(["build", "-m", "Cargo.toml", "--build-in-source"]),
    );

    // --output json: one line of JSON on stdout, no banner.
    let run = run_ok(s.samrs().args(["build", "--output", "json"]));
    let json: serde_json::Value = serde_json::from_str(run.stdout.trim()).expect("one JSON line");
    assert_eq!(json["status"], "success");
    assert_eq!(json["resources"][0]["resource_id"], "FunctionA");
}

#[test]
fn help_and_refused_options_answer_as_sam_does() {
    let s = Setup::new("single-function");
    let help = run(s.samrs().args(["build", "-h"]));
    assert_eq!(help.code, 0);
    assert!(
        help.stdout
            .contains("Usage: samrs build [OPTIONS] [RESOURCE_LOGICAL_ID]")
    );
    let run_args = |args: &[&str]| run(s.samrs().args(args));
    let skip = run_args(&["build", "--skip-prepare-infra"]);
    assert_eq!(skip.code, 2);
    assert!(
        skip.stderr.contains("Error: Missing option --hook-name"),
        "{}",
        skip.stderr
    );
    let terraform = run_args(&["build", "--hook-name", "terraform"]);
    assert_eq!(terraform.code, 1);
    assert!(
        terraform.stderr.contains("not supported by samrs"),
        "{}",
        terraform.stderr
    );
    let both = run_args(&["build", "--build-in-source", "--use-container"]);
    assert_eq!(both.code, 2);
    assert!(both.stderr.contains(
        "You must not provide both the --build-in-source and --use-container parameters."
    ));
    assert!(fake_calls(&s.log()).is_empty());
}

/// Was: `Compiling test-handler [function_a, function_b]` and `built in 0.7s` for a run that
/// compiled nothing. One line per cargo run names its functions once; the summary says
/// "up to date" when cargo found every binary fresh.
#[test]
fn a_run_that_compiled_nothing_is_up_to_date() {
    let s = Setup::new("multi-function");
    let built = run_ok(s.samrs().arg("build"));
    let lines: Vec<&str> = built
        .stderr
        .lines()
        .filter(|l| l.starts_with("Built "))
        .collect();
    assert_eq!(lines.len(), 1, "{}", built.stderr);
    assert!(
        lines[0].starts_with(
            "Built FunctionA, FunctionB (provided.al2 x86_64, 2 of 2 crates compiled) in "
        ),
        "{}",
        lines[0]
    );
    assert!(!built.stderr.contains("up to date"), "{}", built.stderr);
    let fresh = run_ok(s.samrs().arg("build").env("FAKE_FRESH", "true"));
    assert!(
        fresh
            .stderr
            .contains("Built FunctionA, FunctionB (provided.al2 x86_64, up to date) in "),
        "{}",
        fresh.stderr
    );
    let rows: Vec<&str> = fresh
        .stderr
        .lines()
        .filter(|l| l.trim_start().starts_with("Function"))
        .collect();
    assert_eq!(rows.len(), 2, "{}", fresh.stderr);
    assert!(rows.iter().all(|r| r.ends_with("up to date")), "{rows:?}");
}

/// Was: `Cargo Lambda failed for FunctionA, FunctionB` when only function_b did not compile.
#[test]
fn a_failed_bin_names_its_function_and_the_others_are_not_built() {
    let s = Setup::new("multi-function");
    let run = run(s.samrs().arg("build").env("FAKE_FAIL_BIN", "function_b"));
    assert_eq!(run.code, 1);
    let dir = s.dir();
    let expected = format!(
        "Error: Cargo Lambda failed for FunctionB (exit code 101, `cargo lambda build --release --target x86_64-unknown-linux-gnu.2.26 --bin function_a --bin function_b` in {dir}); FunctionA not built (same cargo run):\n   Compiling fake v0.1.0\nerror[E0308]: mismatched types (fake)\nerror: could not compile `fake` (bin \"function_b\") due to 1 previous error\n"
    );
    assert!(run.stderr.ends_with(&expected), "{}", run.stderr);

    // --output json: the resources blamed are those whose bins failed.
    let json_run = common::run(
        s.samrs()
            .args(["build", "--output", "json"])
            .env("FAKE_FAIL_BIN", "function_b"),
    );
    assert_eq!(json_run.code, 1);
    let json: serde_json::Value =
        serde_json::from_str(json_run.stdout.trim()).expect("JSON result");
    assert_eq!(
        json["error"]["resources"],
        serde_json::json!(["FunctionB"]),
        "{}",
        json_run.stdout
    );
}
