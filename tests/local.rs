//! `samrs local` for real: the `local-echo` fixture built with the real cargo-lambda, its
//! functions run as processes, HTTP requests on 127.0.0.1. The functions echo what they were
//! given (event, context, environment, process id), so the tests read what Lambda and API
//! Gateway handed them.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

/// `samrs local …` in `dir`, without the AWS settings of the machine running the tests.
fn local(dir: &Path, args: &[&str]) -> Command {
    let mut command = samrs(dir);
    command.arg("local").args(args);
    for name in [
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "GREETING",
    ] {
        command.env_remove(name);
    }
    command
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

/// One copy of the fixture, built once, serves every real run (a build per copy would
/// compile the echo crate again): invoke, then start-lambda, then start-api with --watch.
#[test]
fn invoke_start_lambda_and_start_api_run_the_built_functions() {
    require_tool("cargo-lambda");
    let _lock = cargo_lock();
    let project = copy_fixture("local-echo");
    let dir = project.path().canonicalize().expect("dir");
    invoke_hands_the_function_its_event_environment_and_context(&dir);
    start_lambda_serves_the_invoke_api(&dir);
    start_api_serves_rest_and_http_apis_until_sigint(&dir);
}

fn invoke_hands_the_function_its_event_environment_and_context(dir: &Path) {
    let dir = dir.to_path_buf();
    let task_root = dir.join(".aws-sam/local/build/EchoFunction");

    let first = run_ok(&mut local(
        &dir,
        &["invoke", "EchoFunction", "-e", "event.json"],
    ));
    assert!(
        !first.stdout.ends_with('\n') && first.stdout.contains("\"event\": {\"name\": \"Ada\""),
        "one line, Python's separators, no newline: {}",
        first.stdout
    );
    let out = json_of(&first.stdout);
    assert_eq!(
        out["event"],
        json!({"name": "Ada", "nested": {"list": [1, 2.5, "é"]}})
    );
    let env = &out["env"];
    let expected = [
        ("AWS_LAMBDA_FUNCTION_NAME", "echo-dev"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_SAM_LOCAL", "true"),
        ("_HANDLER", "bootstrap"),
        ("STAGE", "dev"),
        ("FROM_GLOBALS", "global"),
        ("GREETING", "hello from dev in us-east-1"),
        ("OVERRIDDEN", "template"),
    ];
    for (name, value) in expected {
        assert_eq!(env[name], value, "{name} in {env}");
    }
    assert_eq!(env["LAMBDA_TASK_ROOT"], task_root.to_str().expect("utf-8"));
    assert_eq!(out["cwd"], task_root.to_str().expect("utf-8"));
    for inherited in ["HOME", "CARGO_TARGET_DIR", "NO_COLOR"] {
        assert!(env.get(inherited).is_none(), "{inherited} leaked: {env}");
    }
    assert_eq!(out["context"]["function_name"], "echo-dev");
    assert_eq!(
        out["context"]["invoked_function_arn"],
        "arn:aws:lambda:us-east-1:123456789012:function:echo-dev"
    );
    let id = out["context"]["request_id"].as_str().expect("request id");
    for line in [
        "Invoking bootstrap (provided.al2)".to_string(),
        format!("START RequestId: {id} Version: $LATEST"),
        format!("echo: request {id} received"),
        format!("END RequestId: {id}"),
        format!("REPORT RequestId: {id}\tDuration: "),
    ] {
        assert!(
            first.stderr.contains(&line),
            "no `{line}` in\n{}",
            first.stderr
        );
    }
    assert_eq!(elf_machine(&task_root.join("bootstrap")), EM_X86_64);
    assert!(
        !dir.join(".aws-sam/build").exists(),
        "the build sam deploy reads is left alone"
    );

    // Parameter overrides, --env-vars (function entry > Parameters > this shell > template),
    // --region and an event on stdin; the unchanged project is not rebuilt.
    let mut command = local(
        &dir,
        &[
            "invoke",
            "EchoFunction",
            "--parameter-overrides",
            "Stage=test",
            "--env-vars",
            "env.json",
            "--region",
            "eu-west-1",
            "-e",
            "-",
        ],
    );
    command
        .env("GREETING", "from the shell")
        .stdin(Stdio::piped());
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(br#"{"from": "stdin"}"#)
        .expect("write");
    let output = child.wait_with_output().expect("runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    );
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains("Compiling") && !stderr.lines().any(|l| l.starts_with("Built ")),
        "cache hit expected:\n{stderr}"
    );
    assert!(
        stderr.contains("Valid cache found"),
        "the build is reused:\n{stderr}"
    );
    let out = json_of(&stdout);
    assert_eq!(out["event"], json!({"from": "stdin"}));
    let env = &out["env"];
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "echo-test");
    assert_eq!(env["STAGE"], "test");
    assert_eq!(env["AWS_REGION"], "eu-west-1");
    assert_eq!(env["OVERRIDDEN"], "from the function entry");
    assert_eq!(env["GREETING"], "from the shell");
    assert!(env.get("NOT_DECLARED").is_none(), "undeclared: {env}");

    // A handler error, a timeout and a crash: Lambda's error objects on stdout, exit 0.
    // Event files outside the CodeUri folder, so the build stays up to date.
    let events = tempfile::tempdir().expect("tmp");
    let event = |text: &str| {
        let path = events.path().join(format!("{}.json", text.len()));
        std::fs::write(&path, text).expect("write");
        path.to_string_lossy().into_owned()
    };
    let failed = run_ok(&mut local(
        &dir,
        &[
            "invoke",
            "EchoFunction",
            "-e",
            &event(r#"{"fail": "boom"}"#),
        ],
    ));
    assert_eq!(
        failed.stdout,
        r#"{"errorType": "EchoError", "errorMessage": "boom"}"#
    );
    let started = Instant::now();
    let slow = run_ok(&mut local(
        &dir,
        &[
            "invoke",
            "SlowFunction",
            "-e",
            &event(r#"{"sleep_ms": 10000}"#),
        ],
    ));
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "Timeout: 1 is enforced"
    );
    let out = json_of(&slow.stdout);
    assert_eq!(out["errorType"], "Sandbox.Timedout");
    assert!(
        slow.stderr.contains("Task timed out after 1.00 seconds"),
        "{}",
        slow.stderr
    );
    // --debug says which binary runs; -l sends the logs and the response to a file.
    let log = events.path().join("invoke.log");
    let logged = run_ok(&mut local(
        &dir,
        &[
            "invoke",
            "EchoFunction",
            "--debug",
            "-l",
            log.to_str().expect("utf-8"),
        ],
    ));
    let how = if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        "EchoFunction: runs .aws-sam/local/build/EchoFunction/bootstrap (a Linux x86_64 bootstrap; this machine, linux x86_64, runs it directly)"
    } else {
        "EchoFunction: runs a host build"
    };
    assert!(logged.stderr.contains(how), "{}", logged.stderr);
    assert_eq!(logged.stdout, "", "the response went to the log file");
    let written = std::fs::read_to_string(&log).expect("log file");
    assert!(
        written.contains("START RequestId: ") && written.contains("\"function\": \"echo\""),
        "{written}"
    );
    let crashed = run_ok(&mut local(
        &dir,
        &["invoke", "EchoFunction", "-e", &event(r#"{"exit": 3}"#)],
    ));
    let out = json_of(&crashed.stdout);
    assert_eq!(out["errorType"], "Runtime.ExitError");
    assert!(
        out["errorMessage"]
            .as_str()
            .is_some_and(|m| m.ends_with("Runtime exited with error: exit status 3")),
        "{out}"
    );
}

#[test]
fn functions_that_cannot_run_here_and_bad_input_are_named() {
    let project = copy_fixture("local-echo");
    let dir = project.path();

    let python = run(&mut local(dir, &["invoke", "PythonFunction"]));
    assert_eq!(python.code, 1);
    assert!(
        python.stderr.contains(
            "Error: PythonFunction is a python3.12 function: run it with `sam local` (Docker)"
        ),
        "{}",
        python.stderr
    );
    let unknown = run(&mut local(dir, &["invoke", "Nope"]));
    assert_eq!(unknown.code, 1);
    assert!(
        unknown.stderr.contains("Nope not found. Possible options in your template: ['EchoFunction', 'SlowFunction', 'TinyArm', 'PythonFunction']")
            && unknown.stderr.contains("Error: Function Nope not found in template"),
        "{}",
        unknown.stderr
    );
    let unnamed = run(&mut local(dir, &["invoke"]));
    assert_eq!(unnamed.code, 1);
    assert!(
        unnamed.stderr.contains(
            "Error: You must provide a function logical ID when there are more than one functions in your template."
        ),
        "{}",
        unnamed.stderr
    );
    std::fs::write(dir.join("bad-env.json"), r#"{"Parameters": {}, "x": 5}"#).expect("write");
    let bad_env = run(&mut local(
        dir,
        &["invoke", "EchoFunction", "--env-vars", "bad-env.json"],
    ));
    assert_eq!(bad_env.code, 1);
    assert!(
        bad_env
            .stderr
            .contains("Error: Environment variables ['x'] in incorrect format"),
        "{}",
        bad_env.stderr
    );
    std::fs::write(dir.join("not-json.txt"), "hello").expect("write");
    let not_json = run(&mut local(
        dir,
        &["invoke", "EchoFunction", "-e", "not-json.txt"],
    ));
    assert_eq!(not_json.code, 1);
    assert!(
        not_json.stderr.contains("is not JSON"),
        "{}",
        not_json.stderr
    );
    let missing = run(&mut local(
        dir,
        &["invoke", "EchoFunction", "-e", "nope.json"],
    ));
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(
        missing
            .stderr
            .contains("Usage: samrs local invoke [OPTIONS] [FUNCTION_IDENTIFIER]"),
        "{}",
        missing.stderr
    );
    assert!(
        !dir.join(".aws-sam").exists(),
        "nothing was built for these"
    );
}

/// A `samrs local start-*` server, stopped with SIGKILL if the test ends early.
struct Server {
    child: Child,
    address: String,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    fn start(dir: &Path, args: &[&str]) -> Server {
        let mut child = local(dir, args)
            .args(["--port", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("samrs starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (ready_sender, ready) = std::sync::mpsc::channel();
        let pipe = child.stderr.take().expect("stderr");
        let collected = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Some(address) = line.strip_prefix(" * Running on http://") {
                    let _ = ready_sender.send(address.to_string());
                }
                if let Ok(mut text) = collected.lock() {
                    text.push_str(&line);
                    text.push('\n');
                }
            }
        });
        let address = ready
            .recv_timeout(Duration::from_secs(900))
            .unwrap_or_else(|_| {
                panic!(
                    "the server did not start:\n{}",
                    stderr.lock().map(|s| s.clone()).unwrap_or_default()
                )
            });
        Server {
            child,
            address,
            stderr,
        }
    }

    fn log(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Sends SIGINT and returns how long the server took to exit, and its exit code.
    fn interrupt(&mut self) -> (Duration, Option<i32>) {
        let pid = i32::try_from(self.child.id()).expect("pid");
        // SAFETY: kill(2) with a valid signal on our own child.
        unsafe {
            libc::kill(pid, libc::SIGINT);
        }
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return (started.elapsed(), status.code());
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "still running 20 s after SIGINT"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response read from a plain HTTP/1.1 exchange.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        json_of(&String::from_utf8_lossy(&self.body))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn http(address: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(address).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .expect("timeout");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("write");
    stream.write_all(body).expect("write body");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

fn get(address: &str, path: &str) -> Reply {
    http(address, "GET", path, &[], b"")
}

fn alive(pid: u64) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// The echo function's output behind API Gateway: the proxy response's body.
fn echoed(reply: &Reply) -> Value {
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.header("x-echo"), Some("yes"));
    reply.json()
}

fn start_lambda_serves_the_invoke_api(dir: &Path) {
    let mut lambda = Server::start(dir, &["start-lambda"]);
    let invoke = |name: &str, headers: &[(&str, &str)], body: &str| {
        http(
            &lambda.address,
            "POST",
            &format!("/2015-03-31/functions/{name}/invocations"),
            headers,
            body.as_bytes(),
        )
    };
    let ok = invoke("EchoFunction", &[], r#"{"a": 1}"#);
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["event"], json!({"a": 1}));
    let by_name = invoke("echo-dev", &[], "");
    assert_eq!(by_name.json()["event"], json!({}), "an empty body is {{}}");
    let failed = invoke("EchoFunction", &[], r#"{"fail": "no"}"#);
    assert_eq!(failed.status, 200);
    assert_eq!(failed.header("x-amz-function-error"), Some("Unhandled"));
    assert_eq!(failed.json()["errorType"], "EchoError");
    let missing = invoke("Nope", &[], "{}");
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.header("x-amzn-errortype"),
        Some("ResourceNotFoundException")
    );
    let queued = invoke("EchoFunction", &[("X-Amz-Invocation-Type", "Event")], "{}");
    assert_eq!(queued.status, 202);
    let (took, code) = lambda.interrupt();
    assert_eq!(code, Some(0), "{}", lambda.log());
    assert!(took < Duration::from_secs(5), "stopped in {took:?}");
}

/// A REST API (payload 1.0) and an HTTP API (payload 2.0) in one template.
fn start_api_serves_rest_and_http_apis_until_sigint(dir: &Path) {
    let mut api = Server::start(dir, &["start-api", "--watch"]);
    let log = api.log();
    for line in [
        "Mounting EchoFunction at http://ADDR/items/{id} [GET]",
        "Mounting EchoFunction at http://ADDR/items [POST]",
        "Mounting EchoFunction at http://ADDR/http/{proxy+} [DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT]",
        "Mounting TinyArm at http://ADDR/tiny [GET]",
    ] {
        let line = line.replace("ADDR", &api.address);
        assert!(log.contains(&line), "no `{line}` in\n{log}");
    }
    let address = api.address.clone();

    let rest = echoed(&get(&address, "/items/42?color=red&color=blue&x=%20y"));
    let event = &rest["event"];
    assert_eq!(event["httpMethod"], "GET");
    assert_eq!(event["resource"], "/items/{id}");
    assert_eq!(event["path"], "/items/42");
    assert_eq!(event["pathParameters"], json!({"id": "42"}));
    assert_eq!(
        event["queryStringParameters"],
        json!({"color": "blue", "x": " y"})
    );
    assert_eq!(
        event["multiValueQueryStringParameters"]["color"],
        json!(["red", "blue"])
    );
    assert_eq!(event["requestContext"]["stage"], "Prod");
    assert_eq!(event["body"], Value::Null);
    let first_pid = rest["pid"].as_u64().expect("pid");

    let posted = echoed(&http(
        &address,
        "POST",
        "/items",
        &[("Content-Type", "text/plain")],
        b"hello body",
    ));
    assert_eq!(posted["event"]["httpMethod"], "POST");
    assert_eq!(posted["event"]["body"], "hello body");
    assert_eq!(posted["event"]["isBase64Encoded"], false);
    assert_eq!(
        posted["pid"].as_u64(),
        Some(first_pid),
        "the warm process is reused"
    );

    let v2 = echoed(&http(
        &address,
        "POST",
        "/http/a/b?x=1&x=2",
        &[
            ("Content-Type", "application/octet-stream"),
            ("Cookie", "c1=v1; c2=v2"),
        ],
        &[0, 159, 146, 150],
    ));
    let event = &v2["event"];
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "ANY /http/{proxy+}");
    assert_eq!(event["rawPath"], "/http/a/b");
    assert_eq!(event["pathParameters"], json!({"proxy": "a/b"}));
    assert_eq!(event["queryStringParameters"], json!({"x": "1,2"}));
    assert_eq!(event["cookies"], json!(["c1=v1", "c2=v2"]));
    assert_eq!(event["isBase64Encoded"], true);
    assert_eq!(event["body"], "AJ+Slg==");
    assert_eq!(event["requestContext"]["http"]["method"], "POST");

    let tiny = get(&address, "/tiny");
    assert_eq!(tiny.status, 200);
    let tiny = tiny.json();
    assert_eq!(tiny["function"], "tiny");
    assert_eq!(
        tiny["arch"],
        std::env::consts::ARCH,
        "the arm64 function runs from a host build"
    );
    assert!(log.contains("Building TinyArm for this machine"), "{log}");

    let unknown = get(&address, "/nope");
    assert_eq!(unknown.status, 403);
    assert_eq!(
        unknown.json(),
        json!({"message": "Missing Authentication Token"})
    );
    let rest_error = get(&address, "/items/1?fail=x");
    assert_eq!(rest_error.status, 502);
    assert_eq!(
        rest_error.json(),
        json!({"message": "Internal server error"})
    );
    let http_error = get(&address, "/http/x?fail=x");
    assert_eq!(http_error.status, 500);
    assert_eq!(
        http_error.json(),
        json!({"message": "Internal Server Error"})
    );

    // Concurrent requests run in parallel processes.
    let started = Instant::now();
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let address = address.clone();
            std::thread::spawn(move || echoed(&get(&address, &format!("/items/{i}?sleep_ms=1500"))))
        })
        .collect();
    let mut pids: Vec<u64> = threads
        .into_iter()
        .map(|t| t.join().expect("request")["pid"].as_u64().expect("pid"))
        .collect();
    let took = started.elapsed();
    pids.sort_unstable();
    pids.dedup();
    assert_eq!(pids.len(), 4, "one process per concurrent request");
    assert!(took < Duration::from_secs(6), "in parallel: {took:?}");

    // --watch: an edit is rebuilt and the next request runs the new code (the tiny crate
    // compiles in seconds; its function runs from a host build, rebuilt too).
    let source = dir.join("tiny/src/main.rs");
    let text = std::fs::read_to_string(&source).expect("read");
    std::fs::write(
        &source,
        text.replace(
            "\\\"function\\\": \\\"tiny\\\"",
            "\\\"function\\\": \\\"tiny-edited\\\"",
        ),
    )
    .expect("write");
    let deadline = Instant::now() + Duration::from_secs(600);
    let edited = loop {
        let reply = get(&address, "/tiny");
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        let reply = reply.json();
        if reply["function"] == "tiny-edited" {
            break reply;
        }
        assert!(
            Instant::now() < deadline,
            "the edit never arrived:\n{}",
            api.log()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let edited_pid = edited["pid"].as_u64().expect("pid");
    assert_ne!(
        Some(edited_pid),
        tiny["pid"].as_u64(),
        "a new process runs the new code"
    );
    let log = api.log();
    assert!(log.contains("Rebuilt TinyArm in "), "{log}");
    assert!(
        log.contains("TinyArm: the next request runs the new code"),
        "{log}"
    );
    // Only the edited function's processes start again: EchoFunction's stay warm.
    let echo_pid = echoed(&get(&address, "/items/7"))["pid"]
        .as_u64()
        .expect("pid");
    assert!(
        pids.contains(&echo_pid) || echo_pid == first_pid,
        "EchoFunction was restarted though its binary did not change:\n{log}"
    );

    let (took, code) = api.interrupt();
    assert_eq!(code, Some(0), "{}", api.log());
    assert!(took < Duration::from_secs(5), "stopped in {took:?}");
    std::thread::sleep(Duration::from_millis(200));
    for pid in pids.iter().chain([&first_pid, &edited_pid]) {
        assert!(!alive(*pid), "function process {pid} outlived the server");
    }
    assert!(TcpStream::connect(&address).is_err(), "the port is closed");
}
