//! `samrs local start-api`: an HTTP server that routes each request to its function as API
//! Gateway would (`routes`, `apigw`), runs it in a warm process (`pool`), and serves until
//! Ctrl-C; with `--watch`, source edits are rebuilt and the next request runs the new code.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use anyhow::{Context as _, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use tokio::net::TcpListener;

use super::apigw::{self, HttpRequest, HttpResponse, MAX_REQUEST_BYTES};
use super::functions::{ApiKind, api_configs};
use super::logs::Logs;
use super::pool::{Engine, Pool};
use super::routes::{Route, find_route, path_segments, routes};
use super::sandbox::Invocation;
use super::settings::Mode;
use super::{Runnable, Session, clock, interrupt, watch};
use crate::ui::Ui;

/// What the request handlers share.
struct ApiState {
    routes: Vec<Route>,
    has_rest_api: bool,
    engine: Arc<Engine>,
    /// Per function: its logical id and, when it cannot run here, why.
    functions: Vec<(String, Option<String>)>,
    logs: Logs,
}

pub(crate) async fn start_api(session: &Session<'_>, ui: &Ui) -> Result<()> {
    let Mode::StartApi {
        host,
        port,
        watch: watching,
        eager,
    } = session.settings.mode
    else {
        bail!("start-api called for another command");
    };
    let routes = api_routes(session, ui)?;
    // Each function's logical id, and why it cannot run here when it cannot.
    let functions: Vec<(String, Option<String>)> = session
        .functions
        .iter()
        .zip(session.runnables)
        .map(|(f, r)| (f.logical_id.clone(), Runnable::unavailable(r.as_ref())))
        .collect();
    for route in &routes {
        if let (name, Some(reason)) = &functions[route.function] {
            ui.warn(&format!(
                "{name} cannot run here ({reason}); {} answers with an error",
                route.path.as_deref().unwrap_or("$default")
            ));
        }
    }
    let (listener, address) = listen(host, port).await?;
    announce(&routes, &functions, address, watching, ui);
    if eager {
        prewarm(&session.engine, ui).await;
    }
    let watcher = if watching {
        Some(watch::spawn(session, ui)?)
    } else {
        None
    };
    let state = Arc::new(ApiState {
        has_rest_api: routes.iter().any(|r| r.kind == ApiKind::Rest),
        routes,
        engine: session.engine.clone(),
        functions,
        logs: session.logs.clone(),
    });
    serve(listener, move |request, peer| {
        let state = state.clone();
        async move { handle(&state, request, peer).await }
    })
    .await;
    if let Some(watcher) = watcher {
        watcher.stop().await;
    }
    let running = session.engine.live.count();
    ui.log(&format!(
        "Stopping {running} function process{}",
        if running == 1 { "" } else { "es" }
    ));
    Ok(())
}

/// The routes of the template's APIs, with warnings about events that make none; an error
/// when there is no route at all.
fn api_routes(session: &Session<'_>, ui: &Ui) -> Result<Vec<Route>> {
    let apis = api_configs(session.project);
    let (routes, warnings) = routes(session.functions, &apis);
    for warning in warnings {
        ui.warn(&warning);
    }
    if routes.is_empty() {
        bail!(
            "Template does not have any APIs connected to Lambda functions: add an Api or HttpApi event to a function's Events"
        );
    }
    Ok(routes)
}

/// SAM's lines about what is mounted where and how to stop it.
fn announce(
    routes: &[Route],
    functions: &[(String, Option<String>)],
    address: SocketAddr,
    watching: bool,
    ui: &Ui,
) {
    for route in routes {
        let path = route.path.clone().unwrap_or_else(|| "$default".into());
        ui.log(&format!(
            "Mounting {} at http://{address}{path} {}",
            functions[route.function].0,
            route.methods_shown()
        ));
    }
    ui.log(if watching {
        "You can now browse to the above endpoints to invoke your functions. Source edits are rebuilt and the next request runs the new code; restart to pick up template changes."
    } else {
        "You can now browse to the above endpoints to invoke your functions. Function processes stay warm between requests; restart (or use --watch) to pick up code changes."
    });
    ui.log(&format!(" * Running on http://{address}"));
    ui.log("Press CTRL+C to quit");
}

/// Listens on `host:port` (port 0: any free one); the address actually bound.
pub(crate) async fn listen(host: IpAddr, port: u16) -> Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind((host, port)).await.with_context(|| {
        format!("Unable to listen on {host}:{port}; is another server using the port? Pick another with --port")
    })?;
    let address = listener
        .local_addr()
        .context("Unable to read the server's address")?;
    Ok((listener, address))
}

/// Starts one process per runnable function (`--warm-containers EAGER`).
pub(crate) async fn prewarm(engine: &Engine, ui: &Ui) {
    let pools: Vec<Arc<Pool>> = engine.pools.iter().flatten().cloned().collect();
    for pool in pools {
        if let Err(message) = pool.prewarm().await {
            ui.warn(&message);
        }
    }
}

/// Serves HTTP/1.1 on `listener` until Ctrl-C, one task per connection.
pub(crate) async fn serve<H, F>(listener: TcpListener, handler: H)
where
    H: Fn(Request<Incoming>, SocketAddr) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = interrupt() => break,
        };
        let Ok((stream, peer)) = accepted else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let response = handler(request, peer);
                async move { Ok::<_, Infallible>(response.await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Reads a request's parts and body (up to `limit` bytes; `None` when over).
pub(crate) async fn read_request(
    request: Request<Incoming>,
    peer: SocketAddr,
    limit: usize,
) -> Option<HttpRequest> {
    let (parts, body) = request.into_parts();
    let body = Limited::new(body, limit).collect().await.ok()?.to_bytes();
    Some(HttpRequest {
        method: parts.method.as_str().to_string(),
        raw_path: parts.uri.path().to_string(),
        raw_query: parts.uri.query().unwrap_or_default().to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
        source_ip: peer.ip().to_string(),
        protocol: format!("{:?}", parts.version),
    })
}

/// A hyper response from status, headers and body.
pub(crate) fn to_hyper(response: HttpResponse) -> Response<Full<Bytes>> {
    let mut out = Response::new(Full::new(Bytes::from(response.body)));
    *out.status_mut() =
        hyper::StatusCode::from_u16(response.status).unwrap_or(hyper::StatusCode::BAD_GATEWAY);
    for (name, value) in response.headers {
        if let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            hyper::header::HeaderValue::from_str(&value),
        ) {
            out.headers_mut().append(name, value);
        }
    }
    out
}

async fn handle(
    state: &ApiState,
    request: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let line = format!(
        "{} {}{} {:?}",
        request.method(),
        request.uri().path(),
        request
            .uri()
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default(),
        request.version()
    );
    let response = match read_request(request, peer, MAX_REQUEST_BYTES).await {
        None => apigw::too_large(),
        Some(request) => answer(state, &request).await,
    };
    let seconds = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let when = clock::request_time(seconds);
    state.logs.debug(&format!(
        "Answered in {:.1} ms",
        started.elapsed().as_secs_f64() * 1000.0
    ));
    state.logs.access(&format!(
        "{} - - [{}] \"{line}\" {} -",
        peer.ip(),
        when.trim_end_matches(" +0000"),
        response.status
    ));
    to_hyper(response)
}

async fn answer(state: &ApiState, request: &HttpRequest) -> HttpResponse {
    let segments = path_segments(&request.raw_path);
    let Some((route, params)) = find_route(&state.routes, &request.method, &segments) else {
        return apigw::no_route(state.has_rest_api);
    };
    let (name, reason) = &state.functions[route.function];
    let Some(pool) = state.engine.pools[route.function].clone() else {
        state.logs.platform(&format!(
            "{name}: {}",
            reason.as_deref().unwrap_or("cannot run here")
        ));
        return apigw::integration_error(route.kind);
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    let event = apigw::event(route, &params, request, &request_id, SystemTime::now());
    state.engine.wait_current().await;
    let outcome = pool
        .invoke(Invocation {
            payload: Bytes::from(event.to_string()),
            ..Invocation::default()
        })
        .await;
    match apigw::response(route, request, &outcome) {
        Ok(response) => response,
        Err((response, why)) => {
            let api = match route.kind {
                ApiKind::Rest => "a REST API",
                ApiKind::Http => "an HTTP API",
            };
            state
                .logs
                .platform(&format!("{name}: {why}; {api} answers {}", response.status));
            response
        }
    }
}
