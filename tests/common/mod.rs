//! Shared helpers for the end-to-end tests: throwaway copies of `fixtures/`, the tool PATH
//! (cargo-lambda installed by `scripts/ensure-tools`), running `samrs`, and reading results.

#![allow(dead_code)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};

/// Real cargo-lambda runs share one target folder; this keeps them one at a time, since
/// builds of one bin for different targets write the same `target/lambda/<bin>/bootstrap`.
static CARGO_LOCK: Mutex<()> = Mutex::new(());

pub(crate) fn cargo_lock() -> MutexGuard<'static, ()> {
    CARGO_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The target folder all fixture builds share, so dependencies compile once per target.
pub(crate) fn shared_target_dir() -> PathBuf {
    repo_root().join("target").join("fixtures-target")
}

/// PATH with the tools folder first: `SAMRS_TOOLS_BIN`, else `<repo>/.ci/venv/bin`.
pub(crate) fn tools_path() -> OsString {
    let mut dirs = Vec::new();
    if let Some(bin) = std::env::var_os("SAMRS_TOOLS_BIN") {
        dirs.push(PathBuf::from(bin));
    } else {
        let venv = repo_root().join(".ci/venv/bin");
        if venv.is_dir() {
            dirs.push(venv);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(dirs).expect("PATH entries are valid")
}

/// Fails the test with the fix when a real tool is missing.
pub(crate) fn require_tool(name: &str) {
    let path = tools_path();
    assert!(
        which::which_in(name, Some(&path), ".").is_ok(),
        "`{name}` is not on PATH. Run `scripts/ensure-tools` (or `scripts/test`, which runs it), or set SAMRS_TOOLS_BIN to the folder that holds it."
    );
}

/// Copies a fixture into a fresh temporary folder (without `target/` or `.aws-sam/`).
pub(crate) fn copy_fixture(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::Builder::new()
        .prefix(&format!("samrs-{name}-"))
        .tempdir()
        .expect("temp dir");
    copy_tree(&repo_root().join("fixtures").join(name), tmp.path());
    tmp
}

pub(crate) fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from).into_iter().filter_entry(|e| {
        let name = e.file_name().to_string_lossy();
        name != "target" && name != ".aws-sam"
    }) {
        let entry = entry.expect("readable fixture");
        let relative = entry.path().strip_prefix(from).expect("inside");
        let target = to.join(relative);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A `samrs` command in `dir` with this PATH and target folder, and none of the user's SAM
/// variables.
fn samrs_command(dir: &Path, path: &std::ffi::OsStr, target: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_samrs"));
    command
        .current_dir(dir)
        .env("PATH", path)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("SAM_BUILD_MODE")
        .env_remove("SAM_TEMPLATE_FILE")
        .env_remove("SAM_DEBUG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    command
}

/// A `samrs` command in `dir` with the tool PATH and the shared target folder.
pub(crate) fn samrs(dir: &Path) -> Command {
    samrs_command(dir, &tools_path(), &shared_target_dir())
}

/// The result of a run, with text outputs.
pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub(crate) fn run(command: &mut Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("samrs runs");
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked") && !run.stderr.contains("RUST_BACKTRACE"),
        "samrs panicked:\n{}",
        run.stderr
    );
    run
}

/// `run` that also asserts success, printing both streams when it fails.
pub(crate) fn run_ok(command: &mut Command) -> Run {
    let run = run(command);
    assert_eq!(
        run.code, 0,
        "samrs failed\n--- stdout\n{}\n--- stderr\n{}",
        run.stdout, run.stderr
    );
    run
}

/// SAM's success banner for the default build folder.
pub(crate) const SUCCESS_STDOUT: &str = "\nBuild Succeeded\n\nBuilt Artifacts  : .aws-sam/build\nBuilt Template   : .aws-sam/build/template.yaml\n\nCommands you can use next\n=========================\n[*] Validate SAM template: sam validate\n[*] Invoke Function: sam local invoke\n[*] Test Function in the Cloud: sam sync --stack-name {{stack-name}} --watch\n[*] Deploy: sam deploy --guided\n";

/// Relative paths and mode bits of every file under `dir`, sorted.
pub(crate) fn tree(dir: &Path) -> Vec<(String, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut files: Vec<(String, u32)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.expect("readable"))
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let mode = e.metadata().expect("metadata").permissions().mode() & 0o777;
            let path = e
                .path()
                .strip_prefix(dir)
                .expect("inside")
                .to_string_lossy()
                .into_owned();
            (path, mode)
        })
        .collect();
    files.sort();
    files
}

/// Every file under `dir` with its bytes, for "nothing changed" checks.
pub(crate) fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    tree(dir)
        .into_iter()
        .map(|(path, _)| {
            let bytes = std::fs::read(dir.join(&path)).expect("read");
            (path, bytes)
        })
        .collect()
}

pub(crate) fn read_yaml(path: &Path) -> serde_yaml::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).expect("valid YAML")
}

pub(crate) fn read_toml(path: &Path) -> toml::Table {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.parse().expect("valid TOML")
}

/// The ELF machine of a file: 62 = x86-64, 183 = aarch64.
pub(crate) fn elf_machine(path: &Path) -> u16 {
    let bytes = std::fs::read(path).expect("read bootstrap");
    assert_eq!(
        &bytes[..4],
        b"\x7fELF",
        "{} is not an ELF file",
        path.display()
    );
    u16::from_le_bytes([bytes[18], bytes[19]])
}

pub(crate) const EM_X86_64: u16 = 62;
pub(crate) const EM_AARCH64: u16 = 183;

/// A folder with a fake `cargo-lambda` that logs each call (cwd, CARGO_TARGET_DIR, args) to
/// `$FAKE_LOG` and writes a minimal ELF for each `--bin` — for fast tests of command lines and
/// failure paths. `FAKE_FAIL=1` makes it fail like a compile error, `FAKE_SIGNAL=1` kills it,
/// `FAKE_WRONG_ARCH=1` writes an x86-64 file whatever the target, `FAKE_SLEEP=S` waits first, `FAKE_FAIL_BIN=b` fails only runs that build `b` (naming it as cargo does), `FAKE_PAD=N` adds N bytes to each binary, `FAKE_FRESH=true` reports each bin up to date in cargo's JSON message, `FAKE_BAR=n/t` draws cargo's progress bar at `n/t` (before the sleep). `--message-format=…` and `--color=…` are left out of the log.
/// `--version` and `system` (the preflight's questions) answer `FAKE_CARGO_LAMBDA_VERSION` and
/// `FAKE_ZIG_VERSION` without being logged.
pub(crate) fn fake_cargo_lambda() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let script = r#"#!/usr/bin/env bash
shift  # cargo passes "lambda" first
case "${1:-}" in
  --version) echo "cargo-lambda ${FAKE_CARGO_LAMBDA_VERSION:-1.9.2} (fake)"; exit 0 ;;
  system) printf '{"zig":{"command":"fake-zig","version":"%s"}}\n' "${FAKE_ZIG_VERSION:-0.17.1}"; exit 0 ;;
esac
logged=()
for arg in "$@"; do case "$arg" in --message-format=* | --color=*) ;; *) logged+=("$arg") ;; esac; done
echo "$PWD|${CARGO_TARGET_DIR:-}|${logged[*]}" >> "$FAKE_LOG"
if [ -n "${FAKE_SIGNAL:-}" ]; then kill -9 $$; fi
if [ -n "${FAKE_BAR:-}" ]; then printf '    Building [=====>    ] %s: fake(bin)\r' "$FAKE_BAR" >&2; fi
if [ -n "${FAKE_SLEEP:-}" ]; then sleep "$FAKE_SLEEP"; fi
case " $* " in *" --bin ${FAKE_FAIL_BIN:-none} "*) FAKE_FAIL=1 ;; esac
if [ -n "${FAKE_FAIL:-}" ]; then
  echo "   Compiling fake v0.1.0" >&2
  echo "error[E0308]: mismatched types (fake)" >&2
  if [ -n "${FAKE_FAIL_BIN:-}" ]; then
    echo "error: could not compile \`fake\` (bin \"$FAKE_FAIL_BIN\") due to 1 previous error" >&2
  fi
  exit 101
fi
machine=62
extension=
case " $* " in *" --extension "*) extension=1 ;; esac
case " $* " in *" --arm64 "*|*aarch64*) machine=183 ;; esac
[ -n "${FAKE_WRONG_ARCH:-}" ] && machine=62
while [ $# -gt 0 ]; do
  if [ "$1" = "--bin" ]; then
    out="$CARGO_TARGET_DIR/lambda/$2/bootstrap"
    [ -n "$extension" ] && out="$CARGO_TARGET_DIR/lambda/extensions/$2"
    mkdir -p "$(dirname "$out")"
    { printf '\177ELF\002\001\001'; head -c 11 /dev/zero; printf "\\$(printf %03o $machine)\\000"; head -c 44 /dev/zero; echo "$2"; head -c "${FAKE_PAD:-0}" /dev/zero; } > "$out"
    chmod 755 "$out"
    printf '{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"%s"},"fresh":%s}\n' "$2" "${FAKE_FRESH:-false}"
    shift
  fi
  shift
done
"#;
    let path = dir.path().join("cargo-lambda");
    std::fs::write(&path, script).expect("write fake");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

/// A `samrs` command that finds the fake cargo-lambda first and logs to `log`.
pub(crate) fn samrs_with_fake(dir: &Path, fake: &Path, log: &Path, target: &Path) -> Command {
    let mut paths = vec![fake.to_path_buf()];
    if let Some(path) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&path).filter(|p| !p.join("cargo-lambda").exists()));
    }
    let path = std::env::join_paths(paths).expect("PATH");
    let mut command = samrs_command(dir, &path, target);
    command.env("FAKE_LOG", log);
    command
}

/// The calls the fake cargo-lambda logged: (cwd, CARGO_TARGET_DIR, args).
pub(crate) fn fake_calls(log: &Path) -> Vec<(String, String, String)> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|line| {
            let mut parts = line.splitn(3, '|');
            (
                parts.next().unwrap_or_default().to_string(),
                parts.next().unwrap_or_default().to_string(),
                parts.next().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// A real S3-protocol server (moto, installed by `scripts/ensure-tools`) on a free port of
/// 127.0.0.1, stopped when dropped.
pub(crate) struct S3Server {
    child: Option<std::process::Child>,
    pub port: u16,
}

impl S3Server {
    pub(crate) fn start() -> S3Server {
        require_tool("moto_server");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let program = which::which_in("moto_server", Some(tools_path()), ".").expect("moto_server");
        let child = Command::new(program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let server = S3Server {
            child: Some(child),
            port,
        };
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "moto_server did not listen on 127.0.0.1:{port} within 30 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        server
    }

    pub(crate) fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One plain HTTP request (moto accepts unsigned ones); returns the status code.
    pub(crate) fn request(&self, method: &str, path: &str, body: &[u8]) -> u16 {
        use std::io::{Read, Write};
        let mut stream =
            std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect to moto");
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.port,
            body.len()
        );
        stream.write_all(head.as_bytes()).expect("send");
        stream.write_all(body).expect("send");
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        response
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0)
    }

    pub(crate) fn create_bucket(&self, bucket: &str) {
        assert_eq!(self.request("PUT", &format!("/{bucket}"), b""), 200);
    }

    /// Overwrites an object with a signed request from boto3 (in moto's own virtualenv).
    pub(crate) fn put_object(&self, bucket: &str, key: &str, body: &[u8]) {
        let server = which::which_in("moto_server", Some(tools_path()), ".").expect("moto_server");
        let python = std::fs::canonicalize(server)
            .expect("moto_server resolves")
            .with_file_name("python");
        let script = "import sys, boto3\nboto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing').put_object(Bucket=sys.argv[2], Key=sys.argv[3], Body=sys.stdin.buffer.read())\n";
        let mut child = Command::new(python)
            .args(["-c", script, &self.endpoint(), bucket, key])
            .stdin(Stdio::piped())
            .spawn()
            .expect("python runs");
        std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), body)
            .expect("write body");
        assert!(child.wait().expect("wait").success(), "put_object failed");
    }

    /// The environment a samrs run needs to reach this server.
    pub(crate) fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A folder with `cargo` and `cargo-lambda` shims that append each start (program and
/// arguments) to `$SHIM_LOG` and then run the real tool found on `$SHIM_PATH`.
pub(crate) fn logging_shims() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    for tool in ["cargo", "cargo-lambda"] {
        let script = format!(
            "#!/usr/bin/env bash\necho \"{tool} $*\" >> \"$SHIM_LOG\"\nPATH=\"$SHIM_PATH\" exec {tool} \"$@\"\n"
        );
        let path = dir.path().join(tool);
        std::fs::write(&path, script).expect("write shim");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    dir
}

/// Runs `samrs <args>` in `dir` under a pseudo-terminal (Python's pty module, 160 columns, a
/// cursor-moving `TERM` unless `command` sets one) with `command`'s environment; once the
/// first text of `reply` has appeared on the screen, types the second (`"\x03"` is Ctrl-C).
/// Returns the exit code and every byte samrs wrote to the terminal.
pub(crate) fn at_a_terminal(
    command: &Command,
    dir: &Path,
    args: &[&str],
    reply: Option<(&str, &str)>,
) -> (i32, String) {
    let envs: Vec<(String, String)> = command
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_str()?.to_string(), v?.to_str()?.to_string())))
        .collect();
    let removed: Vec<String> = command
        .get_envs()
        .filter(|(_, v)| v.is_none())
        .filter_map(|(k, _)| k.to_str().map(str::to_string))
        .collect();
    let script = r#"
import os, pty, sys, select, json
args = json.loads(sys.argv[2])
wait_for, typed = sys.argv[3].encode(), sys.argv[4].encode()
pid, fd = pty.fork()
if pid == 0:
    import fcntl, struct, termios
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    os.execv(sys.argv[1], [sys.argv[1]] + args)
out = b""
replied = False
while True:
    r, _, _ = select.select([fd], [], [], 120)
    if not r:
        break
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    out += data
    if wait_for and not replied and wait_for in out:
        os.write(fd, typed)
        replied = True
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
"#;
    let args_json = format!(
        "[{}]",
        args.iter()
            .map(|a| format!("\"{a}\""))
            .collect::<Vec<_>>()
            .join(",")
    );
    let mut python = Command::new("python3");
    python
        .args([
            "-c",
            script,
            env!("CARGO_BIN_EXE_samrs"),
            &args_json,
            reply.map_or("", |r| r.0),
            reply.map_or("", |r| r.1),
        ])
        .current_dir(dir)
        // A terminal that can move the cursor, whatever the suite's own TERM (unset or `dumb`
        // on CI runners, where samrs, like cargo, draws no spinner); `command` may override it.
        .env("TERM", "xterm-256color")
        .envs(envs);
    for key in removed {
        python.env_remove(key);
    }
    let output = python.output().expect("python3 runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}
