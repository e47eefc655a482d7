//! One execution environment: a function's `bootstrap` process and the Lambda Runtime API it
//! talks to (`AWS_LAMBDA_RUNTIME_API`), served on a port of its own. Like a Lambda sandbox it
//! handles one invocation at a time, stays warm between them, and is thrown away after a
//! timeout or a crash.

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::net::TcpListener;
use tokio::process::Child;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::logs::Logs;

/// Lambda's limit for a synchronous invocation's request and response (6 MB).
pub(crate) const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// How long a process may take to reach its first `next` call (Lambda's init limit), unless
/// the function's Timeout is longer.
const INIT_LIMIT: Duration = Duration::from_secs(10);

/// What starting a function's process needs: the program, its folder and its environment.
#[derive(Debug, Clone)]
pub(crate) struct ProcessSpec {
    /// The logical id, for log lines.
    pub(crate) logical_id: String,
    pub(crate) program: PathBuf,
    /// The working folder and `LAMBDA_TASK_ROOT`.
    pub(crate) task_root: PathBuf,
    /// Every variable the process gets except `AWS_LAMBDA_RUNTIME_API`.
    pub(crate) env: Vec<(String, String)>,
    pub(crate) timeout: Duration,
    pub(crate) memory_mb: u64,
    /// The ARN the Runtime API reports as invoked.
    pub(crate) arn: String,
}

/// One event to run.
#[derive(Debug, Clone, Default)]
pub(crate) struct Invocation {
    pub(crate) payload: Bytes,
    /// The client context (JSON text) and Cognito identity, passed on as Lambda does.
    pub(crate) client_context: Option<String>,
    pub(crate) cognito_identity: Option<String>,
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The function's response, as it posted it.
    Response(Bytes),
    /// The error object the function posted (a handler error).
    FunctionError(Bytes),
    /// Lambda's own error: a timeout, a crash, a failed start.
    Failed { error_type: String, message: String },
}

impl Outcome {
    pub(crate) fn is_error(&self) -> bool {
        !matches!(self, Outcome::Response(_))
    }

    /// The payload Lambda would return: the response, or an error object.
    pub(crate) fn payload(&self) -> Bytes {
        match self {
            Outcome::Response(body) | Outcome::FunctionError(body) => body.clone(),
            Outcome::Failed {
                error_type,
                message,
            } => Bytes::from(
                serde_json::json!({"errorType": error_type, "errorMessage": message}).to_string(),
            ),
        }
    }
}

/// Process ids of every function process alive, so a shutdown can stop them all.
#[derive(Debug, Clone, Default)]
pub(crate) struct LiveProcesses(Arc<Mutex<HashSet<i32>>>);

impl LiveProcesses {
    fn insert(&self, pid: i32) {
        if let Ok(mut set) = self.0.lock() {
            set.insert(pid);
        }
    }

    fn remove(&self, pid: i32) {
        if let Ok(mut set) = self.0.lock() {
            set.remove(&pid);
        }
    }

    /// Stops the process group of `pid` if that process is still ours and alive.
    pub(crate) fn kill(&self, pid: i32) {
        if pid <= 0 {
            return;
        }
        if let Ok(set) = self.0.lock()
            && set.contains(&pid)
        {
            // SAFETY: kill(2) on the process group our own live child leads, with a valid signal.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }

    pub(crate) fn kill_all(&self) {
        let pids: Vec<i32> = self
            .0
            .lock()
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        for pid in pids {
            self.kill(pid);
        }
    }

    pub(crate) fn count(&self) -> usize {
        self.0.lock().map_or(0, |s| s.len())
    }
}

/// The request handed to a waiting `next` call.
#[derive(Debug)]
struct Delivery {
    request_id: String,
    deadline_ms: u128,
    invocation: Invocation,
    arn: String,
}

#[derive(Debug)]
enum Reply {
    Response(Bytes),
    Error(Bytes),
}

/// The Runtime API state of one sandbox, shared with its HTTP handlers.
struct RuntimeApi {
    deliveries: tokio::sync::Mutex<mpsc::Receiver<Delivery>>,
    ready: watch::Sender<bool>,
    reply: Mutex<Option<(String, oneshot::Sender<Reply>)>>,
    init_error: watch::Sender<Option<Bytes>>,
    logs: Logs,
}

type Body = Full<Bytes>;

fn respond(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}

impl RuntimeApi {
    async fn handle(&self, request: Request<Incoming>) -> Response<Body> {
        let method = request.method().clone();
        let path = request.uri().path().to_string();
        let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
            return respond(StatusCode::NOT_FOUND, "{\"errorType\":\"NotFound\"}");
        };
        if method == Method::GET && rest == "invocation/next" {
            return self.next().await;
        }
        if method != Method::POST {
            return respond(StatusCode::METHOD_NOT_ALLOWED, "");
        }
        let body = match request.into_body().collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return respond(StatusCode::BAD_REQUEST, ""),
        };
        if rest == "init/error" {
            self.logs.debug("Runtime API: init/error");
            self.init_error.send_replace(Some(body));
            return respond(StatusCode::ACCEPTED, "{\"status\":\"OK\"}");
        }
        let Some(rest) = rest.strip_prefix("invocation/") else {
            return respond(StatusCode::NOT_FOUND, "");
        };
        let (id, reply) = if let Some(id) = rest.strip_suffix("/response") {
            (id, Reply::Response(body))
        } else if let Some(id) = rest.strip_suffix("/error") {
            (id, Reply::Error(body))
        } else {
            return respond(StatusCode::NOT_FOUND, "");
        };
        let waiting = match self.reply.lock() {
            Ok(mut slot) => match slot.take() {
                Some((expected, sender)) if expected == id => Some(sender),
                other => {
                    *slot = other;
                    None
                }
            },
            Err(_) => None,
        };
        match waiting {
            Some(sender) => {
                let _ = sender.send(reply);
                respond(StatusCode::ACCEPTED, "{\"status\":\"OK\"}")
            }
            None => respond(
                StatusCode::BAD_REQUEST,
                "{\"errorType\":\"InvalidRequestID\",\"errorMessage\":\"Invalid request ID\"}",
            ),
        }
    }

    async fn next(&self) -> Response<Body> {
        self.ready.send_replace(true);
        let delivery = self.deliveries.lock().await.recv().await;
        let Some(delivery) = delivery else {
            return respond(StatusCode::INTERNAL_SERVER_ERROR, "");
        };
        self.logs.debug(&format!(
            "Runtime API: next -> {} ({} bytes)",
            delivery.request_id,
            delivery.invocation.payload.len()
        ));
        let mut response = Response::new(Full::new(delivery.invocation.payload));
        let headers = response.headers_mut();
        let mut put = |name: &'static str, value: String| {
            if let Ok(value) = value.parse() {
                headers.insert(name, value);
            }
        };
        put("content-type", "application/json".into());
        put("lambda-runtime-aws-request-id", delivery.request_id.clone());
        put(
            "lambda-runtime-deadline-ms",
            delivery.deadline_ms.to_string(),
        );
        put("lambda-runtime-invoked-function-arn", delivery.arn);
        put("lambda-runtime-trace-id", trace_id(&delivery.request_id));
        if let Some(context) = delivery.invocation.client_context {
            put("lambda-runtime-client-context", context);
        }
        if let Some(identity) = delivery.invocation.cognito_identity {
            put("lambda-runtime-cognito-identity", identity);
        }
        response
    }
}

/// An X-Ray style trace header (`Root=1-<time>-<24 hex>;Parent=<16 hex>;Sampled=0`).
fn trace_id(request_id: &str) -> String {
    let hex: String = request_id.chars().filter(char::is_ascii_hexdigit).collect();
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "Root=1-{seconds:08x}-{};Parent={};Sampled=0",
        &hex[..24.min(hex.len())],
        &hex[hex.len().saturating_sub(16)..]
    )
}

/// A running function process with its Runtime API.
pub(crate) struct Sandbox {
    pid: i32,
    api: Arc<RuntimeApi>,
    deliver: mpsc::Sender<Delivery>,
    exit: watch::Receiver<Option<String>>,
    started: Instant,
    initialized: bool,
    /// The pool's code version this process runs (see `Pool::replace`).
    pub(crate) generation: u64,
    server: JoinHandle<()>,
    readers: Vec<JoinHandle<()>>,
    live: LiveProcesses,
}

/// Figures for Lambda's REPORT line.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    pub(crate) request_id: String,
    pub(crate) init: Option<Duration>,
    pub(crate) duration: Duration,
    pub(crate) max_memory_mb: Option<u64>,
}

impl Sandbox {
    /// Starts the process of `spec`; it initialises on its own and calls `next` when ready.
    pub(crate) async fn start(
        spec: &ProcessSpec,
        generation: u64,
        logs: &Logs,
        live: &LiveProcesses,
    ) -> Result<Sandbox, String> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("Unable to open a port for the Runtime API: {e}"))?;
        let address = listener
            .local_addr()
            .map_err(|e| format!("Unable to open a port for the Runtime API: {e}"))?;
        let (deliver, deliveries) = mpsc::channel(1);
        let api = Arc::new(RuntimeApi {
            deliveries: tokio::sync::Mutex::new(deliveries),
            ready: watch::channel(false).0,
            reply: Mutex::new(None),
            init_error: watch::channel(None).0,
            logs: logs.clone(),
        });

        let mut child = function_command(spec, address).spawn().map_err(|e| {
            format!(
                "Unable to start {} for {}: {e}",
                spec.program.display(),
                spec.logical_id
            )
        })?;
        let Some(pid) = child
            .id()
            .and_then(|p| i32::try_from(p).ok())
            .filter(|p| *p > 0)
        else {
            return Err(format!(
                "{} for {} ended as soon as it started",
                spec.program.display(),
                spec.logical_id
            ));
        };
        live.insert(pid);
        logs.debug(&format!(
            "Started {} (pid {pid}) for {} with AWS_LAMBDA_RUNTIME_API={address}",
            spec.program.display(),
            spec.logical_id
        ));

        let readers = forward_output(&mut child, logs);
        let exit = wait_for_exit(child, pid, live.clone());
        let server = tokio::spawn(serve_runtime_api(listener, api.clone()));
        Ok(Sandbox {
            pid,
            api,
            deliver,
            exit,
            started: Instant::now(),
            initialized: false,
            generation,
            server,
            readers,
            live: live.clone(),
        })
    }

    /// True while the process runs.
    pub(crate) fn alive(&self) -> bool {
        self.exit.borrow().is_none()
    }

    /// Runs one invocation. Returns the outcome, Lambda's figures, and whether the process can
    /// take another one.
    pub(crate) async fn invoke(
        &mut self,
        spec: &ProcessSpec,
        request_id: &str,
        invocation: Invocation,
    ) -> (Outcome, Report, bool) {
        let mut report = Report {
            request_id: request_id.to_string(),
            init: None,
            duration: Duration::ZERO,
            max_memory_mb: None,
        };
        if !self.initialized {
            let limit = INIT_LIMIT.max(spec.timeout);
            if let Err(outcome) = self.wait_ready(request_id, limit).await {
                report.init = Some(self.started.elapsed());
                return (outcome, report, false);
            }
            self.initialized = true;
            report.init = Some(self.started.elapsed());
        }

        let started = Instant::now();
        let deadline_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
            + spec.timeout.as_millis();
        let (sender, receiver) = oneshot::channel();
        if let Ok(mut slot) = self.api.reply.lock() {
            *slot = Some((request_id.to_string(), sender));
        }
        let delivery = Delivery {
            request_id: request_id.to_string(),
            deadline_ms,
            invocation,
            arn: spec.arn.clone(),
        };
        if self.deliver.send(delivery).await.is_err() {
            return (self.exit_failure(request_id), report, false);
        }
        let mut exit = self.exit.clone();
        let (outcome, keep) = tokio::select! {
            biased;
            reply = receiver => match reply {
                Ok(Reply::Response(body)) if body.len() > MAX_PAYLOAD_BYTES => (Outcome::Failed {
                    error_type: "Function.ResponseSizeTooLarge".into(),
                    message: format!("Response payload size ({} bytes) exceeded maximum allowed payload size ({MAX_PAYLOAD_BYTES} bytes).", body.len()),
                }, true),
                Ok(Reply::Response(body)) => (Outcome::Response(body), true),
                Ok(Reply::Error(body)) => (Outcome::FunctionError(body), true),
                Err(_) => (self.exit_failure(request_id), false),
            },
            _ = exit.wait_for(Option::is_some) => (self.exit_failure(request_id), false),
            () = tokio::time::sleep(spec.timeout) => (Outcome::Failed {
                error_type: "Sandbox.Timedout".into(),
                message: format!(
                    "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
                    spec.timeout.as_secs_f64()
                ),
            }, false),
        };
        report.duration = started.elapsed();
        report.max_memory_mb = max_memory_mb(self.pid);
        (outcome, report, keep && self.alive())
    }

    async fn wait_ready(&mut self, request_id: &str, limit: Duration) -> Result<(), Outcome> {
        let mut ready = self.api.ready.subscribe();
        let mut init_error = self.api.init_error.subscribe();
        let mut exit = self.exit.clone();
        tokio::select! {
            biased;
            _ = ready.wait_for(|r| *r) => Ok(()),
            error = init_error.wait_for(Option::is_some) => {
                let body = error.ok().and_then(|e| e.clone()).unwrap_or_default();
                Err(init_error_outcome(&body, request_id))
            }
            _ = exit.wait_for(Option::is_some) => Err(self.exit_failure(request_id)),
            () = tokio::time::sleep(limit) => Err(Outcome::Failed {
                error_type: "Sandbox.Timedout".into(),
                message: format!(
                    "RequestId: {request_id} Error: Init timed out after {:.2} seconds (the process did not ask the Runtime API for an event)",
                    limit.as_secs_f64()
                ),
            }),
        }
    }

    fn exit_failure(&self, request_id: &str) -> Outcome {
        let status = self
            .exit
            .borrow()
            .clone()
            .unwrap_or_else(|| "unknown".to_string());
        Outcome::Failed {
            error_type: "Runtime.ExitError".into(),
            message: format!("RequestId: {request_id} Error: Runtime exited with error: {status}"),
        }
    }

    /// Stops the process and waits (briefly) until its output has been forwarded.
    pub(crate) async fn stop(mut self) {
        self.live.kill(self.pid);
        let mut exit = self.exit.clone();
        let _ = tokio::time::timeout(Duration::from_secs(2), exit.wait_for(Option::is_some)).await;
        for reader in std::mem::take(&mut self.readers) {
            let _ = tokio::time::timeout(Duration::from_secs(1), reader).await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.live.kill(self.pid);
        self.server.abort();
    }
}

/// The function's process: its own environment only (as in Lambda) plus the Runtime API
/// address, in its task root, in a process group of its own.
fn function_command(spec: &ProcessSpec, address: SocketAddr) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(&spec.program);
    command
        .current_dir(&spec.task_root)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: prctl(2) is async-signal-safe; it only asks the kernel to stop the child when
    // the thread that started it (a runtime thread of samrs, alive as long as samrs) ends,
    // so no function process outlives samrs even when samrs is killed.
    #[cfg(target_os = "linux")]
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    command
}

/// Tasks that pass the child's stdout and stderr lines to the log.
fn forward_output(child: &mut Child, logs: &Logs) -> Vec<JoinHandle<()>> {
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(tokio::spawn(forward_lines(out, logs.clone())));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(tokio::spawn(forward_lines(err, logs.clone())));
    }
    readers
}

/// Waits for the child in the background; the receiver gets how it ended.
fn wait_for_exit(
    mut child: Child,
    pid: i32,
    live: LiveProcesses,
) -> watch::Receiver<Option<String>> {
    let (exit_sender, exit) = watch::channel(None);
    tokio::spawn(async move {
        let status = child.wait().await;
        live.remove(pid);
        let text = match status {
            Ok(status) => exit_text(status),
            Err(e) => format!("unknown ({e})"),
        };
        exit_sender.send_replace(Some(text));
    });
    exit
}

fn init_error_outcome(body: &[u8], request_id: &str) -> Outcome {
    let posted: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        posted
            .as_ref()
            .and_then(|p| p.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    Outcome::Failed {
        error_type: field("errorType").unwrap_or_else(|| "Runtime.InitError".into()),
        message: field("errorMessage").unwrap_or_else(|| {
            format!("RequestId: {request_id} Error: the function reported an init error")
        }),
    }
}

/// Lambda's wording for how a runtime process ended (`exit status 3`, `signal: killed`).
fn exit_text(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(9)) => "signal: killed".to_string(),
        (None, Some(11)) => "signal: segmentation fault".to_string(),
        (None, Some(6)) => "signal: aborted".to_string(),
        (None, Some(signal)) => format!("signal: {signal}"),
        _ => "unknown".to_string(),
    }
}

/// The peak memory of a process (`VmHWM`), in MB.
fn max_memory_mb(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb.div_ceil(1024))
}

async fn forward_lines(source: impl AsyncRead + Unpin, logs: Logs) {
    let mut reader = BufReader::new(source);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match reader.read_until(b'\n', &mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buffer);
                logs.function_line(line.trim_end_matches(['\n', '\r']));
            }
        }
    }
}

async fn serve_runtime_api(listener: TcpListener, api: Arc<RuntimeApi>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let api = api.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let api = api.clone();
                async move { Ok::<_, Infallible>(api.handle(request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_errors_are_error_objects() {
        let outcome = Outcome::Failed {
            error_type: "Sandbox.Timedout".into(),
            message: "RequestId: x Error: Task timed out after 3.00 seconds".into(),
        };
        let payload: serde_json::Value = serde_json::from_slice(&outcome.payload()).expect("json");
        assert_eq!(payload["errorType"], "Sandbox.Timedout");
        assert!(outcome.is_error());
        assert!(!Outcome::Response(Bytes::from_static(b"{}")).is_error());
    }

    #[test]
    fn trace_ids_have_xray_shape() {
        let id = trace_id("8476a536-e9f4-11e8-9739-2dfe598c3fcd");
        assert!(id.starts_with("Root=1-"), "{id}");
        assert!(id.ends_with(";Sampled=0"), "{id}");
    }

    #[test]
    fn an_init_error_keeps_the_posted_type() {
        let outcome = init_error_outcome(
            br#"{"errorType":"Config.Missing","errorMessage":"no TABLE"}"#,
            "r",
        );
        assert_eq!(
            outcome,
            Outcome::Failed {
                error_type: "Config.Missing".into(),
                message: "no TABLE".into()
            }
        );
    }
}
