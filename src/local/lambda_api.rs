//! `samrs local start-lambda`: the Lambda Invoke API
//! (`POST /2015-03-31/functions/<name>/invocations`) on a local port, so tests can call the
//! functions through an AWS SDK with `endpoint_url`. Same warm processes as start-api.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};

use super::apigw::{HttpRequest, HttpResponse};
use super::functions::LocalFunction;
use super::logs::Logs;
use super::pool::Engine;
use super::routes::percent_decode;
use super::sandbox::{Invocation, MAX_PAYLOAD_BYTES};
use super::server::{listen, prewarm, read_request, serve, to_hyper};
use super::settings::Mode;
use super::{Runnable, Session};
use crate::ui::Ui;

/// What the request handler knows of each function.
struct Target {
    function: LocalFunction,
    unavailable: Option<String>,
}

struct LambdaState {
    targets: Vec<Target>,
    engine: Arc<Engine>,
    region: String,
    logs: Logs,
}

pub(crate) async fn start_lambda(session: &Session<'_>, ui: &Ui) -> Result<()> {
    let Mode::StartLambda { host, port, eager } = session.settings.mode else {
        bail!("start-lambda called for another command");
    };
    let (listener, address) = listen(host, port).await?;
    let targets: Vec<Target> = session
        .functions
        .iter()
        .zip(session.runnables)
        .map(|(f, r)| Target {
            function: f.clone(),
            unavailable: Runnable::unavailable(r.as_ref()),
        })
        .collect();
    for target in &targets {
        if let Some(reason) = &target.unavailable {
            ui.warn(&format!(
                "{} cannot run here: {reason}",
                target.function.logical_id
            ));
        }
    }
    if eager {
        prewarm(&session.engine, ui).await;
    }
    ui.log("Starting the Local Lambda Service. You can now invoke your Lambda Functions defined in your template through the endpoint.");
    ui.log(&format!(" * Running on http://{address}"));
    ui.log("Press CTRL+C to quit");
    let state = Arc::new(LambdaState {
        targets,
        engine: session.engine.clone(),
        region: session.settings.region.clone(),
        logs: session.logs.clone(),
    });
    serve(listener, move |request, peer| {
        let state = state.clone();
        async move { handle(&state, request, peer).await }
    })
    .await;
    Ok(())
}

fn error(status: u16, kind: &str, message: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("x-amzn-errortype".into(), kind.into()),
        ],
        body: serde_json::json!({"Type": "User", "Message": message})
            .to_string()
            .into_bytes(),
    }
}

async fn handle(
    state: &LambdaState,
    request: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    let response = match read_request(request, peer, MAX_PAYLOAD_BYTES).await {
        None => error(
            413,
            "RequestTooLargeException",
            "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
        ),
        Some(request) => invoke(state, &request).await,
    };
    to_hyper(response)
}

/// Answers one Invoke API request: finds the function, reads the event and runs it
/// (synchronously, as an `Event` in the background, or not at all for a `DryRun`).
async fn invoke(state: &LambdaState, request: &HttpRequest) -> HttpResponse {
    let (name, qualifier) = match invoke_path(request) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let index = match find_target(state, &name, qualifier.as_deref()) {
        Ok(index) => index,
        Err(response) => return response,
    };
    let target = &state.targets[index];
    let Some(pool) = state.engine.pools[index].clone() else {
        let reason = target
            .unavailable
            .as_deref()
            .unwrap_or("it cannot run here");
        return error(
            502,
            "ServiceException",
            &format!(
                "{} cannot run in samrs local: {reason}",
                target.function.logical_id
            ),
        );
    };
    let invocation = match invocation_of(request) {
        Ok(invocation) => invocation,
        Err(response) => return response,
    };
    match first_header(request, "x-amz-invocation-type") {
        Some("DryRun") => return empty_response(204),
        Some("Event") => {
            let logs = state.logs.clone();
            let id = target.function.logical_id.clone();
            tokio::spawn(async move {
                let outcome = pool.invoke(invocation).await;
                if outcome.is_error() {
                    logs.platform(&format!(
                        "{id}: asynchronous invocation failed: {}",
                        String::from_utf8_lossy(&outcome.payload())
                    ));
                }
            });
            return empty_response(202);
        }
        _ => {}
    }
    state.engine.wait_current().await;
    let outcome = pool.invoke(invocation).await;
    let mut headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("x-amz-executed-version".to_string(), "$LATEST".to_string()),
    ];
    if outcome.is_error() {
        headers.push(("x-amz-function-error".into(), "Unhandled".into()));
    }
    HttpResponse {
        status: 200,
        headers,
        body: outcome.payload().to_vec(),
    }
}

/// The function name and `Qualifier` of an Invoke API request; the 404 for any other request.
fn invoke_path(request: &HttpRequest) -> Result<(String, Option<String>), HttpResponse> {
    let name = request
        .raw_path
        .strip_prefix("/2015-03-31/functions/")
        .and_then(|rest| rest.strip_suffix("/invocations"))
        .map(percent_decode);
    let (Some(name), "POST") = (name, request.method.as_str()) else {
        return Err(error(
            404,
            "UnknownOperationException",
            &format!(
                "{} {} is not a Lambda Invoke API path; POST /2015-03-31/functions/<name>/invocations",
                request.method, request.raw_path
            ),
        ));
    };
    let qualifier = request
        .raw_query
        .split('&')
        .find_map(|p| p.strip_prefix("Qualifier="))
        .map(percent_decode);
    Ok((name, qualifier))
}

/// The index of the function `name` (a name or an ARN) answers to; only `$LATEST` exists here.
fn find_target(
    state: &LambdaState,
    name: &str,
    qualifier: Option<&str>,
) -> Result<usize, HttpResponse> {
    let latest = qualifier.is_none_or(|q| q == "$LATEST");
    let found = state
        .targets
        .iter()
        .position(|t| t.function.answers_to(name));
    match found {
        Some(index) if latest => Ok(index),
        _ => Err(error(
            404,
            "ResourceNotFoundException",
            &format!(
                "Function not found: arn:aws:lambda:{}:123456789012:function:{name}{}",
                state.region,
                qualifier.map(|q| format!(":{q}")).unwrap_or_default()
            ),
        )),
    }
}

/// The event (an empty body is `{}`; anything else must be JSON, else Lambda's 400) and the
/// client context (base64 in `X-Amz-Client-Context`) of a request.
fn invocation_of(request: &HttpRequest) -> Result<Invocation, HttpResponse> {
    let payload = if request.body.iter().all(u8::is_ascii_whitespace) {
        Bytes::from_static(b"{}")
    } else if let Err(e) = serde_json::from_slice::<serde_json::Value>(&request.body) {
        return Err(error(
            400,
            "InvalidRequestContentException",
            &format!("Could not parse request body into json: {e}"),
        ));
    } else {
        Bytes::from(request.body.clone())
    };
    let client_context = first_header(request, "x-amz-client-context")
        .and_then(|c| STANDARD.decode(c.trim()).ok())
        .map(|c| String::from_utf8_lossy(&c).into_owned());
    Ok(Invocation {
        payload,
        client_context,
        cognito_identity: None,
    })
}

/// The first value of a header (names are lower case).
fn first_header<'a>(request: &'a HttpRequest, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A response with no headers and no body.
fn empty_response(status: u16) -> HttpResponse {
    HttpResponse {
        status,
        headers: Vec::new(),
        body: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, path: &str, query: &str, body: &str) -> HttpRequest {
        HttpRequest {
            method: method.into(),
            raw_path: path.into(),
            raw_query: query.into(),
            headers: vec![(
                "x-amz-client-context".into(),
                STANDARD.encode(r#"{"custom":{"a":"b"}}"#),
            )],
            body: body.as_bytes().to_vec(),
            source_ip: "127.0.0.1".into(),
            protocol: "HTTP/1.1".into(),
        }
    }

    #[test]
    fn the_invoke_path_names_the_function_and_its_qualifier() {
        let path = "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3AHello/invocations";
        let (name, qualifier) =
            invoke_path(&request("POST", path, "Qualifier=%24LATEST", "")).expect("invoke");
        assert_eq!(name, "arn:aws:lambda:us-east-1:1:function:Hello");
        assert_eq!(qualifier.as_deref(), Some("$LATEST"));
        let other = invoke_path(&request("GET", path, "", "")).expect_err("not invoke");
        assert_eq!(other.status, 404);
        let other = invoke_path(&request("POST", "/2015-03-31/functions/", "", ""));
        assert!(other.is_err());
    }

    #[test]
    fn an_empty_body_is_an_empty_event_and_a_bad_one_is_refused() {
        let invocation = invocation_of(&request("POST", "/", "", " \n")).expect("empty");
        assert_eq!(&invocation.payload[..], b"{}");
        assert_eq!(
            invocation.client_context.as_deref(),
            Some(r#"{"custom":{"a":"b"}}"#)
        );
        let invocation = invocation_of(&request("POST", "/", "", "[1]")).expect("json");
        assert_eq!(&invocation.payload[..], b"[1]");
        let refused = invocation_of(&request("POST", "/", "", "{")).expect_err("not json");
        assert_eq!(refused.status, 400);
        assert!(String::from_utf8_lossy(&refused.body).contains("Could not parse request body"));
    }
}
