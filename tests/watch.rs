//! `samrs build --watch` end to end: a real cargo-lambda on the tiny `watch-tiny` fixture (an
//! edit arrives, an untouched function keeps its file, a compile error keeps the last good build
//! and a fix recovers, a template edit adds a function, SIGINT ends it cleanly), and the fake
//! cargo-lambda for the queueing and interrupt paths.

mod common;

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

/// A `samrs build --watch` running in the background, its output collected as it comes.
struct Watching {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl Watching {
    fn start(command: &mut Command) -> Watching {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("samrs starts");
        let collect = |mut source: Box<dyn Read + Send>| {
            let text = Arc::new(Mutex::new(String::new()));
            let sink = text.clone();
            std::thread::spawn(move || {
                let mut buffer = [0u8; 4096];
                while let Ok(n) = source.read(&mut buffer) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut text) = sink.lock() {
                        text.push_str(&String::from_utf8_lossy(&buffer[..n]));
                    }
                }
            });
            text
        };
        let stdout = collect(Box::new(child.stdout.take().expect("stdout")));
        let stderr = collect(Box::new(child.stderr.take().expect("stderr")));
        Watching {
            child,
            stdout,
            stderr,
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr").clone()
    }

    fn stdout(&self) -> String {
        self.stdout.lock().expect("stdout").clone()
    }

    /// Waits until stderr holds `needle` `count` times; returns stderr.
    fn wait_for(&mut self, needle: &str, count: usize, timeout: Duration) -> String {
        let started = Instant::now();
        loop {
            let stderr = self.stderr();
            if stderr.matches(needle).count() >= count {
                return stderr;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("samrs ended ({status}) before `{needle}` x{count}:\n{stderr}");
            }
            assert!(
                started.elapsed() <= timeout,
                "no `{needle}` x{count} within {timeout:?}:\n{stderr}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).expect("pid");
        // SAFETY: kill(2) on our own child with a valid signal number.
        unsafe {
            libc::kill(pid, signal);
        }
    }

    /// Waits for the exit; returns its code.
    fn exit_code(&mut self, timeout: Duration) -> i32 {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Let the readers drain the pipes.
                std::thread::sleep(Duration::from_millis(200));
                return status.code().unwrap_or(-1);
            }
            assert!(
                started.elapsed() <= timeout,
                "samrs did not exit within {timeout:?}:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.signal(libc::SIGTERM);
            std::thread::sleep(Duration::from_millis(500));
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

struct FileId {
    bytes: Vec<u8>,
    inode: u64,
    mtime: (i64, i64),
}

fn file_id(path: &Path) -> FileId {
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    FileId {
        bytes: std::fs::read(path).expect("read"),
        inode: meta.ino(),
        mtime: (meta.mtime(), meta.mtime_nsec()),
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn write_bin(project: &Path, bin: &str, version: u32) {
    let text = format!(
        "fn main() {{\n    println!(\"{{{{\\\"function\\\": \\\"{bin}\\\", \\\"version\\\": {version}}}}}\");\n}}\n"
    );
    std::fs::write(project.join(format!("src/bin/{bin}.rs")), text).expect("edit");
}

/// What `write_bin` makes the binary print (and so contain).
fn marker(bin: &str, version: u32) -> String {
    format!("{{\"function\": \"{bin}\", \"version\": {version}}}")
}

/// Files samrs must never leave behind: staging folders and half-written temp files.
fn leftovers(aws_sam: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(aws_sam)
        .into_iter()
        .filter_map(Result::ok)
        .map(walkdir::DirEntry::into_path)
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.contains("samrs-staging") || name.contains("samrs-tmp")
        })
        .collect()
}

const FIRST_BUILD: Duration = Duration::from_secs(900);
const REBUILD: Duration = Duration::from_secs(600);

#[test]
fn watch_rebuilds_in_place_recovers_from_errors_and_follows_the_template() {
    require_tool("cargo-lambda");
    let _lock = cargo_lock();
    let project = copy_fixture("watch-tiny");
    let dir = project.path();
    let build = dir.join(".aws-sam/build");
    let mut watch = Watching::start(samrs(dir).args(["build", "--watch"]));

    // A normal build first, with SAM's report, then the watch.
    let stderr = watch.wait_for("Watching ", 1, FIRST_BUILD);
    assert!(stderr.contains("Building codeuri:"), "{stderr}");
    assert_eq!(watch.stdout(), SUCCESS_STDOUT);
    let a_before = file_id(&build.join("FunctionA/bootstrap"));
    let b_before = file_id(&build.join("FunctionB/bootstrap"));
    let template_before = file_id(&build.join("template.yaml"));
    let toml_before = file_id(&dir.join(".aws-sam/build.toml"));
    assert!(contains(&a_before.bytes, &marker("fn_a", 1)));

    // Touching a file changes no content: no cargo run, no rebuild line. The edit after it is
    // the first rebuild.
    let touched = std::fs::File::options()
        .write(true)
        .open(dir.join("src/bin/fn_b.rs"))
        .expect("open");
    touched
        .set_modified(std::time::SystemTime::now())
        .expect("touch");
    drop(touched);
    std::thread::sleep(Duration::from_secs(1));
    write_bin(dir, "fn_a", 2);
    let stderr = watch.wait_for("Rebuilt ", 1, REBUILD);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("Rebuilt "))
        .expect("a rebuild line");
    assert!(
        line.starts_with("Rebuilt FunctionA, FunctionB in ")
            && line.ends_with("(FunctionB unchanged)"),
        "{line}"
    );
    let a_after = file_id(&build.join("FunctionA/bootstrap"));
    assert!(
        contains(&a_after.bytes, &marker("fn_a", 2)),
        "the edit arrived"
    );
    assert_ne!(a_after.inode, a_before.inode, "replaced by a rename");
    let b_after = file_id(&build.join("FunctionB/bootstrap"));
    assert_eq!(b_after.bytes, b_before.bytes);
    assert_eq!(
        b_after.inode, b_before.inode,
        "FunctionB's bootstrap is not rewritten"
    );
    assert_eq!(b_after.mtime, b_before.mtime);
    for (before, path) in [
        (&template_before, build.join("template.yaml")),
        (&toml_before, dir.join(".aws-sam/build.toml")),
    ] {
        let after = file_id(&path);
        assert_eq!(
            (after.inode, after.mtime),
            (before.inode, before.mtime),
            "{} rewritten",
            path.display()
        );
    }

    // A compile error: cargo's diagnostics, the last good build stays, the watch goes on.
    std::fs::write(
        dir.join("src/bin/fn_a.rs"),
        "fn main() { let x: u32 = \"no\"; }\n",
    )
    .expect("break");
    let stderr = watch.wait_for("Rebuild failed", 1, REBUILD);
    assert!(stderr.contains("error[E0308]"), "{stderr}");
    // Cargo names the function whose bin failed; FunctionB's, in the same run, is not built.
    assert!(
        stderr.contains("(FunctionA); the last good build stays in .aws-sam/build, still watching"),
        "{stderr}"
    );
    assert!(
        stderr.contains("FunctionB not built (same cargo run)"),
        "{stderr}"
    );
    assert_eq!(
        file_id(&build.join("FunctionA/bootstrap")).bytes,
        a_after.bytes
    );

    // The fix recovers.
    write_bin(dir, "fn_a", 3);
    watch.wait_for("Rebuilt ", 2, REBUILD);
    let a_fixed = file_id(&build.join("FunctionA/bootstrap"));
    assert!(contains(&a_fixed.bytes, &marker("fn_a", 3)));
    assert_eq!(
        file_id(&build.join("FunctionB/bootstrap")).inode,
        b_before.inode
    );

    // A template edit adds a function: a new plan, the build folder swapped whole.
    let mut template = std::fs::read_to_string(dir.join("template.yaml")).expect("template");
    template.push_str("  FunctionC:\n    Type: AWS::Serverless::Function\n    Metadata:\n      BuildMethod: rust-cargolambda\n      BuildProperties:\n        Binary: fn_c\n    Properties:\n      CodeUri: ./\n      Handler: bootstrap\n      Runtime: provided.al2\n      Architectures: [x86_64]\n");
    std::fs::write(dir.join("template.yaml"), template).expect("edit template");
    let stderr = watch.wait_for("new plan", 1, REBUILD);
    assert!(
        stderr.contains("Rebuilt FunctionA, FunctionB, FunctionC in "),
        "{stderr}"
    );
    let c = file_id(&build.join("FunctionC/bootstrap"));
    assert_eq!(elf_machine(&build.join("FunctionC/bootstrap")), EM_X86_64);
    assert!(contains(&c.bytes, &marker("fn_c", 1)));
    let built = read_yaml(&build.join("template.yaml"));
    assert_eq!(
        built["Resources"]["FunctionC"]["Properties"]["CodeUri"],
        "FunctionC"
    );
    let record = read_toml(&dir.join(".aws-sam/build.toml"));
    assert_eq!(
        record["function_build_definitions"]
            .as_table()
            .map(toml::Table::len),
        Some(3)
    );

    // Ctrl-C: exit 0, nothing half-done left.
    watch.signal(libc::SIGINT);
    assert_eq!(watch.exit_code(Duration::from_secs(60)), 0);
    let stderr = watch.stderr();
    assert!(stderr.trim_end().ends_with("Stopped watching"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(leftovers(&dir.join(".aws-sam")), Vec::<PathBuf>::new());
}

#[test]
fn a_change_during_a_build_queues_one_more_and_sigterm_stops_cargo() {
    let fake = fake_cargo_lambda();
    let project = copy_fixture("watch-tiny");
    let dir = project.path();
    let target = tempfile::tempdir().expect("target");
    let log = target.path().join("calls.log");
    let calls = || fake_calls(&log).len();
    let mut watch = Watching::start(
        samrs_with_fake(dir, fake.path(), &log, target.path())
            .args(["build", "--watch", "--output", "json"])
            .env("FAKE_SLEEP", "2"),
    );
    watch.wait_for("Watching ", 1, Duration::from_secs(120));
    assert_eq!(calls(), 1);
    let first = watch.stdout();
    assert!(
        first.contains("\"status\": \"success\""),
        "SAM's JSON result: {first}"
    );

    // Three saves, two of them while the rebuild of the first runs: one more build, not two.
    write_bin(dir, "fn_a", 2);
    let started = Instant::now();
    while calls() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no rebuild started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    write_bin(dir, "fn_a", 3);
    std::thread::sleep(Duration::from_millis(300));
    write_bin(dir, "fn_b", 3);
    watch.wait_for("Rebuilt ", 2, Duration::from_secs(120));
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(calls(), 3, "{}", watch.stderr());
    let rebuilds: Vec<serde_json::Value> = watch
        .stdout()
        .lines()
        .filter(|l| l.contains("\"type\": \"rebuild\""))
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(rebuilds.len(), 2, "{}", watch.stdout());
    assert_eq!(rebuilds[1]["status"], "success");
    assert_eq!(
        rebuilds[1]["functions"],
        serde_json::json!(["FunctionA", "FunctionB"])
    );
    // The fake writes the same bytes every time: nothing replaced.
    assert_eq!(
        rebuilds[1]["unchanged"],
        serde_json::json!(["FunctionA", "FunctionB"])
    );

    // SIGTERM while cargo runs: cargo's process group is stopped, exit 0, nothing left.
    write_bin(dir, "fn_b", 4);
    let started = Instant::now();
    while calls() < 4 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no rebuild started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let written = target.path().join("lambda/fn_b/bootstrap");
    let before = std::fs::metadata(&written)
        .and_then(|m| m.modified())
        .expect("mtime");
    watch.signal(libc::SIGTERM);
    assert_eq!(watch.exit_code(Duration::from_secs(30)), 0);
    // The fake writes its binaries after its 2 s sleep: had it not been stopped with samrs,
    // it would have written them by now.
    std::thread::sleep(Duration::from_secs(3));
    let after = std::fs::metadata(&written)
        .and_then(|m| m.modified())
        .expect("mtime");
    assert_eq!(before, after, "cargo's process group was not stopped");
    assert_eq!(
        watch.stdout().matches("\"type\": \"rebuild\"").count(),
        2,
        "an interrupted rebuild reports nothing"
    );
    assert!(watch.stderr().trim_end().ends_with("Stopped watching"));
    assert_eq!(leftovers(&dir.join(".aws-sam")), Vec::<PathBuf>::new());
}

/// An edit reruns only its member's cargo run, and with `--reproducible` that run keeps the first
/// build's path remaps (other flags would make cargo rebuild every dependency).
#[test]
fn an_edit_in_one_workspace_member_reruns_only_its_cargo_run() {
    // plain and ordered never share a cargo run (they unify serde_json's features differently).
    let fake = fake_cargo_lambda();
    let project = copy_fixture("workspace-features");
    let dir = project.path();
    let target = tempfile::tempdir().expect("target");
    let log = target.path().join("calls.log");
    let mut watch = Watching::start(
        samrs_with_fake(dir, fake.path(), &log, target.path()).args([
            "build",
            "--watch",
            "--reproducible",
        ]),
    );
    watch.wait_for("Watching ", 1, Duration::from_secs(300));
    let first = fake_calls(&log);
    assert_eq!(first.len(), 2, "{first:?}");

    let main = dir.join("plain/src/main.rs");
    let mut text = std::fs::read_to_string(&main).expect("read");
    text.push_str("// edited\n");
    std::fs::write(&main, text).expect("edit");
    let stderr = watch.wait_for("Rebuilt ", 1, Duration::from_secs(120));
    let calls = fake_calls(&log);
    assert_eq!(calls.len(), 3, "one more cargo run: {calls:?}");
    let (cwd, _, args) = &calls[2];
    assert!(cwd.ends_with("/plain"), "{cwd}");
    assert!(args.ends_with("--bin plain"), "{args}");
    let remaps = |args: &str| {
        args.split(' ')
            .filter(|a| a.contains("--remap-path-prefix="))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let first_plain = first
        .iter()
        .find(|(cwd, _, _)| cwd.ends_with("/plain"))
        .expect("plain built first");
    assert!(!remaps(args).is_empty(), "{args}");
    assert_eq!(remaps(args), remaps(&first_plain.2));
    // The fake writes the same bytes again: the bootstrap stays as it was.
    assert!(
        stderr.contains("Rebuilt PlainFunction in ") && stderr.contains(": unchanged"),
        "{stderr}"
    );
    watch.signal(libc::SIGINT);
    assert_eq!(watch.exit_code(Duration::from_secs(30)), 0);
}

#[test]
fn a_source_change_of_a_resource_sam_builds_reruns_sams_part_and_rust_edits_stay_in_place() {
    require_tool("cargo-lambda");
    require_tool("sam");
    let _lock = cargo_lock();
    let project = copy_fixture("mixed");
    let dir = project.path();
    let build = dir.join(".aws-sam/build");
    // The two makefile resources are sam's part (the Python and Node.js ones would install
    // packages); RustFunction is samrs's.
    let mut watch = Watching::start(samrs(dir).args([
        "build",
        "--watch",
        "-x",
        "NodeFunction",
        "-x",
        "WebApp",
        "-x",
        "PythonFunction",
        "-x",
        "PythonLayer",
    ]));
    let stderr = watch.wait_for("Watching ", 1, FIRST_BUILD);
    assert!(stderr.contains("[sam] "), "sam built its part: {stderr}");
    let rust_before = file_id(&build.join("RustFunction/bootstrap"));

    // sam's function changes: sam's part runs again and the build folder is swapped.
    let script = dir.join("make_app/bootstrap");
    let mut text = std::fs::read_to_string(&script).expect("read");
    text.push_str("# edited under --watch\n");
    std::fs::write(&script, text).expect("edit");
    let stderr = watch.wait_for("with sam build's part", 1, REBUILD);
    let line = stderr
        .lines()
        .find(|l| l.contains("with sam build's part"))
        .expect("the rebuild line");
    assert!(
        line.starts_with("Rebuilt RustFunction, ") && line.contains("MakeFunction"),
        "{line}"
    );
    let (_, rebuilds) = stderr.split_once("Watching ").expect("watching");
    assert!(
        !rebuilds.contains("[sam] "),
        "one line per rebuild: {rebuilds}"
    );
    let make = file_id(&build.join("MakeFunction/bootstrap"));
    assert!(contains(&make.bytes, "# edited under --watch"), "{line}");
    assert_eq!(
        file_id(&build.join("RustFunction/bootstrap")).bytes,
        rust_before.bytes
    );
    let built = read_yaml(&build.join("template.yaml"));
    assert_eq!(
        built["Resources"]["MakeFunction"]["Properties"]["CodeUri"],
        "MakeFunction"
    );

    // A Rust edit: only cargo runs, RustFunction's bootstrap is replaced in place, sam's
    // artifacts stay as they are.
    let main = dir.join("rust_app/src/main.rs");
    let text = std::fs::read_to_string(&main).expect("read");
    std::fs::write(
        &main,
        text.replace("Hello from Rust!", "Hello from an edit!"),
    )
    .expect("edit");
    let stderr = watch.wait_for("Rebuilt RustFunction in ", 1, REBUILD);
    assert!(!stderr.contains("Rebuild failed"), "{stderr}");
    let rust_after = file_id(&build.join("RustFunction/bootstrap"));
    assert!(contains(&rust_after.bytes, "Hello from an edit!"));
    let make_after = file_id(&build.join("MakeFunction/bootstrap"));
    assert_eq!(
        (make_after.inode, make_after.mtime),
        (make.inode, make.mtime),
        "sam's part did not run again"
    );

    watch.signal(libc::SIGINT);
    assert_eq!(watch.exit_code(Duration::from_secs(60)), 0);
    assert_eq!(leftovers(&dir.join(".aws-sam")), Vec::<PathBuf>::new());
}
