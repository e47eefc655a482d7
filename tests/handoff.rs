//! The hand-off of non-Rust resources to the real `sam build`: what happens without sam, when
//! sam's part fails, on Ctrl-C, with container options and image functions, and that options
//! reach sam. (That a mixed template builds exactly as `sam build` builds it is the oracle's
//! `mixed_*` cases.)

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;

/// A previous build to check that a failed run leaves alone.
fn previous_build(project: &Path) -> Vec<(String, Vec<u8>)> {
    let build = project.join(".aws-sam/build");
    std::fs::create_dir_all(build.join("OldFunction")).expect("mkdir");
    std::fs::write(build.join("OldFunction/bootstrap"), "old").expect("write");
    std::fs::write(build.join("template.yaml"), "Resources: {}\n").expect("write");
    std::fs::write(project.join(".aws-sam/build.toml"), "# old\n").expect("write");
    snapshot(&project.join(".aws-sam"))
}

/// Nothing but the build folder and build.toml is left in `.aws-sam` (no staging or sam folders).
fn assert_no_leftovers(project: &Path) {
    let names: Vec<String> = std::fs::read_dir(project.join(".aws-sam"))
        .expect("read .aws-sam")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n != "build" && n != "build.toml")
        .collect();
    assert!(names.is_empty(), "left in .aws-sam: {names:?}");
}

/// A PATH with the tools a Rust build needs and no `sam`: stand-ins for cargo-lambda and the
/// Python that runs zig, then the folder of the real cargo (so cargo's fingerprints match the
/// other tests' and the shared target folder stays warm). The folder lives as long as the guard.
fn rust_tools_without_sam() -> (tempfile::TempDir, std::ffi::OsString) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = tools_path();
    let find = |tool: &str| {
        which::which_in(tool, Some(&path), ".")
            .unwrap_or_else(|_| panic!("{tool} not on PATH: run scripts/ensure-tools"))
    };
    for tool in ["cargo-lambda", "python3"] {
        // A script, not a link: a venv's Python finds its packages (zig) from its own path.
        script(
            dir.path(),
            tool,
            &format!("#!/bin/sh\nexec '{}' \"$@\"\n", find(tool).display()),
        );
    }
    let cargo_dir = find("cargo")
        .parent()
        .expect("cargo's folder")
        .to_path_buf();
    assert!(
        !cargo_dir.join("sam").exists(),
        "sam is beside cargo in {}",
        cargo_dir.display()
    );
    let joined = std::env::join_paths([dir.path().to_path_buf(), cargo_dir]).expect("PATH");
    (dir, joined)
}

/// Makes an executable script.
fn script(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

#[test]
fn without_sam_on_path_one_message_names_every_other_resource_and_both_ways_out() {
    let project = copy_fixture("mixed");
    let before = previous_build(project.path());
    let (_tools, path) = rust_tools_without_sam();
    let failed = run(samrs(project.path()).arg("build").env("PATH", &path));
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(!failed.stdout.contains("Build Failed"), "{}", failed.stdout);
    let errors: Vec<&str> = failed
        .stderr
        .lines()
        .filter(|l| l.starts_with("Error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{}", failed.stderr);
    for named in [
        "PythonFunction (python3.11)",
        "NodeFunction (nodejs20.x)",
        "WebApp (WebFunction nodejs20.x)",
        "MakeFunction (provided.al2023 makefile)",
        "ConfigLayer (layer makefile)",
        "PythonLayer (layer python3.11)",
        "`sam` is not on PATH",
        "pip install aws-sam-cli",
        "samrs build --exclude PythonFunction --exclude NodeFunction --exclude WebApp --exclude MakeFunction --exclude ConfigLayer --exclude PythonLayer",
    ] {
        assert!(
            errors[0].contains(named),
            "missing {named:?} in {}",
            errors[0]
        );
    }
    assert!(!errors[0].contains("RustFunction"), "{}", errors[0]);
    assert!(
        !failed.stderr.contains("Compiling"),
        "work started: {}",
        failed.stderr
    );
    assert_eq!(snapshot(&project.path().join(".aws-sam")), before);
    assert_no_leftovers(project.path());

    // The way out it names works, with real cargo-lambda and no sam.
    let _cargo = cargo_lock();
    let mut excluded = samrs(project.path());
    excluded.arg("build").env("PATH", &path);
    for id in [
        "PythonFunction",
        "NodeFunction",
        "WebApp",
        "MakeFunction",
        "ConfigLayer",
        "PythonLayer",
    ] {
        excluded.args(["--exclude", id]);
    }
    let built_run = run_ok(&mut excluded);
    assert_eq!(built_run.stdout, SUCCESS_STDOUT);
    let built = project.path().join(".aws-sam/build");
    assert_eq!(
        elf_machine(&built.join("RustFunction/bootstrap")),
        EM_X86_64
    );
    assert!(!built.join("PythonFunction").exists());
}

#[test]
fn a_rust_only_template_never_needs_sam() {
    let _cargo = cargo_lock();
    let project = copy_fixture("mixed");
    std::fs::write(
        project.path().join("template.yaml"),
        "Resources:\n  RustFunction:\n    Type: AWS::Serverless::Function\n    Metadata: {BuildMethod: rust-cargolambda}\n    Properties: {CodeUri: rust_app, Handler: bootstrap, Runtime: provided.al2}\n",
    )
    .expect("write template");
    let (_tools, path) = rust_tools_without_sam();
    let run = run_ok(samrs(project.path()).arg("build").env("PATH", &path));
    assert_eq!(run.stdout, SUCCESS_STDOUT);
    assert!(!run.stderr.contains("[sam]"), "{}", run.stderr);
}

#[test]
fn a_failing_sam_part_is_named_with_sams_message_and_the_previous_build_stays() {
    require_tool("sam");
    let project = copy_fixture("mixed");
    std::fs::write(
        project.path().join("python_app/requirements.txt"),
        "samrs-no-such-package-for-tests==9.9.9\n",
    )
    .expect("write requirements");
    let before = previous_build(project.path());
    let _cargo = cargo_lock();
    // Only PythonFunction (and the Rust function) are built, to keep the test short.
    let failed = run(samrs(project.path()).args([
        "build",
        "-x",
        "NodeFunction",
        "-x",
        "WebApp",
        "-x",
        "MakeFunction",
        "-x",
        "ConfigLayer",
        "-x",
        "PythonLayer",
        "--output",
        "json",
    ]));
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    // The JSON result carries sam's error type and the resource it blamed, as sam's would.
    let result: serde_json::Value =
        serde_json::from_str(failed.stdout.trim()).expect("one JSON line");
    assert_eq!(result["status"], "failure");
    assert_eq!(result["error"]["type"], "WorkflowFailedError");
    assert_eq!(
        result["error"]["resources"],
        serde_json::json!(["PythonFunction"])
    );
    let error = failed
        .stderr
        .lines()
        .find(|l| l.starts_with("Error: "))
        .unwrap_or_else(|| panic!("no Error line: {}", failed.stderr));
    assert!(
        error.starts_with("Error: The part handed to sam build failed (the Rust part built; the previous build in .aws-sam/build is unchanged): sam build failed for PythonFunction: PythonPipBuilder:ResolveDependencies - Could not satisfy the requirement: samrs-no-such-package-for-tests==9.9.9"),
        "{error}"
    );
    assert!(
        failed.stderr.contains("[sam] Building codeuri: "),
        "sam's lines are shown: {}",
        failed.stderr
    );
    assert_eq!(snapshot(&project.path().join(".aws-sam")), before);
    assert_no_leftovers(project.path());
}

#[test]
fn image_functions_and_use_container_go_to_sam_which_reports_the_missing_docker() {
    require_tool("sam");
    let project = copy_fixture("mixed");
    std::fs::create_dir_all(project.path().join("image")).expect("mkdir");
    std::fs::write(
        project.path().join("image/Dockerfile"),
        "FROM public.ecr.aws/lambda/python:3.11\nCOPY app.py ./\nCMD [\"app.handler\"]\n",
    )
    .expect("write Dockerfile");
    std::fs::write(
        project.path().join("template.yaml"),
        "Resources:\n  ImageFunction:\n    Type: AWS::Serverless::Function\n    Metadata: {Dockerfile: Dockerfile, DockerContext: ./image}\n    Properties: {PackageType: Image}\n",
    )
    .expect("write template");
    let image = run(samrs(project.path()).arg("build"));
    assert_eq!(image.code, 1, "{}", image.stderr);
    assert!(
        image
            .stderr
            .contains("Running AWS SAM projects locally requires a container runtime"),
        "{}",
        image.stderr
    );

    std::fs::write(
        project.path().join("template.yaml"),
        "Resources:\n  PythonFunction:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: python_app/, Handler: app.handler, Runtime: python3.11}\n",
    )
    .expect("write template");
    let container = run(samrs(project.path()).args(["build", "-u", "-e", "PythonFunction.A=1"]));
    assert_eq!(container.code, 1, "{}", container.stderr);
    assert!(
        container
            .stderr
            .contains("[sam] Starting Build inside a container"),
        "{}",
        container.stderr
    );
    assert!(
        container.stderr.contains("requires a container runtime"),
        "{}",
        container.stderr
    );
}

#[test]
fn use_container_on_a_rust_only_template_only_warns() {
    let project = copy_fixture("single-function");
    let fake = fake_cargo_lambda();
    let log = project.path().join("calls.log");
    let target = project.path().join("target");
    let run =
        run_ok(samrs_with_fake(project.path(), fake.path(), &log, &target).args(["build", "-u"]));
    assert!(
        run.stderr.contains("--use-container has no effect here"),
        "{}",
        run.stderr
    );
    assert_eq!(fake_calls(&log).len(), 1);
}

#[test]
fn parameter_overrides_from_a_config_env_reach_sam() {
    require_tool("sam");
    let project = copy_fixture("mixed");
    std::fs::rename(
        project.path().join("python_app"),
        project.path().join("python app"),
    )
    .expect("rename");
    std::fs::write(
        project.path().join("template.yaml"),
        "Parameters:\n  Dir: {Type: String, Default: nowhere}\nResources:\n  PythonFunction:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: !Ref Dir, Handler: app.handler, Runtime: python3.11}\n",
    )
    .expect("write template");
    std::fs::write(
        project.path().join("samconfig.toml"),
        "version = 0.1\n\n[dev.build.parameters]\nparameter_overrides = \"Dir='python app'\"\n",
    )
    .expect("write samconfig");
    let run = run_ok(samrs(project.path()).args(["build", "--config-env", "dev"]));
    assert_eq!(run.stdout, SUCCESS_STDOUT);
    assert!(
        project
            .path()
            .join(".aws-sam/build/PythonFunction/six.py")
            .is_file()
    );
    let template = read_yaml(&project.path().join(".aws-sam/build/template.yaml"));
    assert_eq!(
        template["Resources"]["PythonFunction"]["Properties"]["CodeUri"],
        "PythonFunction"
    );
}

/// True while a process with this id runs (a zombie waiting for its parent does not).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

fn read_pids(file: &Path) -> Vec<i32> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn ctrl_c_stops_cargo_and_sam_with_everything_they_started() {
    let project = copy_fixture("mixed");
    let before = previous_build(project.path());
    let tools = tempfile::tempdir().expect("temp dir");
    let pids = tools.path().join("pids");
    // Stand-ins that start a child and wait: the interrupt must reach the children too.
    let sleeper = format!(
        "#!/bin/sh\necho $$ >> {0}\nsleep 120 &\necho $! >> {0}\nwait\n",
        pids.display()
    );
    script(tools.path(), "sam", &sleeper);
    script(tools.path(), "cargo-lambda", &sleeper);
    let mut paths = vec![tools.path().to_path_buf()];
    paths.extend(
        std::env::split_paths(&tools_path())
            .filter(|p| !p.join("sam").exists() && !p.join("cargo-lambda").exists()),
    );
    let child = samrs(project.path())
        .arg("build")
        .env("PATH", std::env::join_paths(paths).expect("PATH"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("samrs starts");
    wait_for("sam, cargo-lambda and their children", || {
        read_pids(&pids).len() == 4
    });
    let started = Instant::now();
    // SAFETY: SIGINT to the samrs child this test started.
    unsafe {
        libc::kill(i32::try_from(child.id()).expect("pid"), libc::SIGINT);
    }
    let output = child.wait_with_output().expect("samrs ends");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "samrs took {:?}",
        started.elapsed()
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Build interrupted"), "{stderr}");
    wait_for("every stand-in to stop", || {
        read_pids(&pids).into_iter().all(|p| !alive(p))
    });
    assert_eq!(snapshot(&project.path().join(".aws-sam")), before);
    assert_no_leftovers(project.path());
}
