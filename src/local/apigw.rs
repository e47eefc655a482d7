//! Pure: API Gateway's Lambda proxy integration. An HTTP request becomes a payload 1.0 (REST,
//! or HTTP API 1.0) or 2.0 event, and the function's answer becomes the HTTP response, with
//! the real service's rules where SAM differs (see README, "samrs local").

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use super::clock::request_time;
use super::functions::ApiKind;
use super::routes::{Route, percent_decode};
use super::sandbox::Outcome;

/// API Gateway's payload limit for a request (10 MB).
pub(crate) const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;

/// An HTTP request as the server received it.
#[derive(Debug, Clone, Default)]
pub(crate) struct HttpRequest {
    pub(crate) method: String,
    /// The path as sent (percent-encoded).
    pub(crate) raw_path: String,
    pub(crate) raw_query: String,
    /// Header names in lower case, in the order received (repeats kept).
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) source_ip: String,
    /// `HTTP/1.1`.
    pub(crate) protocol: String,
}

impl HttpRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn query_pairs(&self) -> Vec<(String, String)> {
        self.raw_query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect()
    }
}

/// An HTTP response to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HttpResponse {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl HttpResponse {
    fn json(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        }
    }
}

/// The answer when no route matches: REST APIs say 403 Missing Authentication Token; a
/// template with only HTTP APIs gets their 404.
pub(crate) fn no_route(has_rest_api: bool) -> HttpResponse {
    if has_rest_api {
        HttpResponse::json(403, r#"{"message":"Missing Authentication Token"}"#)
    } else {
        HttpResponse::json(404, r#"{"message":"Not Found"}"#)
    }
}

/// The answer when the function failed or its answer is malformed: 502 from a REST API, 500
/// from an HTTP API.
pub(crate) fn integration_error(kind: ApiKind) -> HttpResponse {
    match kind {
        ApiKind::Rest => HttpResponse::json(502, r#"{"message": "Internal server error"}"#),
        ApiKind::Http => HttpResponse::json(500, r#"{"message":"Internal Server Error"}"#),
    }
}

/// The request body is over API Gateway's limit.
pub(crate) fn too_large() -> HttpResponse {
    HttpResponse::json(413, r#"{"message":"Request Entity Too Large"}"#)
}

/// The event for `route`, as API Gateway builds it.
pub(crate) fn event(
    route: &Route,
    params: &IndexMap<String, String>,
    request: &HttpRequest,
    request_id: &str,
    now: SystemTime,
) -> Value {
    if route.payload_v1 {
        event_v1(route, params, request, request_id, now)
    } else {
        event_v2(route, params, request, request_id, now)
    }
}

fn epoch(now: SystemTime) -> (u64, u128) {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    (since.as_secs(), since.as_millis())
}

fn map_or_null(map: Map<String, Value>) -> Value {
    if map.is_empty() {
        Value::Null
    } else {
        Value::Object(map)
    }
}

fn string_map(map: &IndexMap<String, String>) -> Map<String, Value> {
    map.iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect()
}

/// The body as API Gateway passes it: text, or base64 with `isBase64Encoded`.
fn body_value(route: &Route, request: &HttpRequest) -> (Option<String>, bool) {
    if request.body.is_empty() {
        return (None, false);
    }
    let content_type = request.header("content-type").unwrap_or_default();
    let binary = match route.kind {
        ApiKind::Rest => route
            .binary_media_types
            .iter()
            .any(|t| media_type_matches(t, content_type)),
        ApiKind::Http if content_type.is_empty() => std::str::from_utf8(&request.body).is_err(),
        ApiKind::Http => !is_text_type(content_type),
    };
    if binary {
        (Some(STANDARD.encode(&request.body)), true)
    } else {
        (
            Some(String::from_utf8_lossy(&request.body).into_owned()),
            false,
        )
    }
}

/// Content types HTTP APIs pass as text.
fn is_text_type(content_type: &str) -> bool {
    let t = content_type.to_ascii_lowercase();
    t.starts_with("text/")
        || [
            "json",
            "xml",
            "javascript",
            "x-www-form-urlencoded",
            "yaml",
            "graphql",
        ]
        .iter()
        .any(|s| t.contains(s))
}

/// `image/*` matches `image/png; x=y`; `*/*` matches everything.
fn media_type_matches(pattern: &str, content_type: &str) -> bool {
    let actual = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if actual.is_empty() {
        return false;
    }
    let pattern = pattern.trim().to_ascii_lowercase();
    match pattern.split_once('/') {
        Some(("*", "*")) => true,
        Some((kind, "*")) => actual.split_once('/').is_some_and(|(k, _)| k == kind),
        _ => actual == pattern,
    }
}

fn event_v1(
    route: &Route,
    params: &IndexMap<String, String>,
    request: &HttpRequest,
    request_id: &str,
    now: SystemTime,
) -> Value {
    let mut headers = Map::new();
    let mut multi_headers: Map<String, Value> = Map::new();
    for (name, value) in &request.headers {
        headers.insert(name.clone(), Value::String(value.clone()));
        push_multi(&mut multi_headers, name, value);
    }
    let mut query = Map::new();
    let mut multi_query: Map<String, Value> = Map::new();
    for (name, value) in request.query_pairs() {
        query.insert(name.clone(), Value::String(value.clone()));
        push_multi(&mut multi_query, &name, &value);
    }
    let (body, base64) = body_value(route, request);
    let (seconds, millis) = epoch(now);
    let path = percent_decode(&request.raw_path);
    let resource = route.path.clone().unwrap_or_else(|| "/{proxy+}".into());
    let host = request.header("host").unwrap_or("localhost").to_string();
    let mut event = json!({
        "resource": resource,
        "path": path,
        "httpMethod": request.method,
        "headers": map_or_null(headers),
        "multiValueHeaders": map_or_null(multi_headers),
        "queryStringParameters": map_or_null(query),
        "multiValueQueryStringParameters": map_or_null(multi_query),
        "pathParameters": map_or_null(string_map(params)),
        "stageVariables": map_or_null(string_map(&route.stage_variables)),
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "1234567890",
            "domainName": host,
            "domainPrefix": host.split('.').next().unwrap_or_default(),
            "extendedRequestId": request_id,
            "httpMethod": request.method,
            "identity": {
                "accessKey": null,
                "accountId": null,
                "caller": null,
                "cognitoAuthenticationProvider": null,
                "cognitoAuthenticationType": null,
                "cognitoIdentityId": null,
                "cognitoIdentityPoolId": null,
                "principalOrgId": null,
                "sourceIp": request.source_ip,
                "user": null,
                "userAgent": request.header("user-agent"),
                "userArn": null,
            },
            "path": format!("/{}{path}", route.stage),
            "protocol": request.protocol,
            "requestId": request_id,
            "requestTime": request_time(seconds),
            "requestTimeEpoch": millis,
            "resourceId": "123456",
            "resourcePath": resource,
            "stage": route.stage,
        },
        "body": body,
        "isBase64Encoded": base64,
    });
    if route.kind == ApiKind::Http
        && let Value::Object(map) = &mut event
    {
        map.insert("version".into(), Value::String("1.0".into()));
    }
    event
}

fn push_multi(map: &mut Map<String, Value>, name: &str, value: &str) {
    match map.get_mut(name) {
        Some(Value::Array(values)) => values.push(Value::String(value.to_string())),
        _ => {
            map.insert(name.to_string(), json!([value]));
        }
    }
}

fn event_v2(
    route: &Route,
    params: &IndexMap<String, String>,
    request: &HttpRequest,
    request_id: &str,
    now: SystemTime,
) -> Value {
    let mut headers: Map<String, Value> = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in &request.headers {
        if name == "cookie" {
            cookies.extend(
                value
                    .split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(|c| Value::String(c.to_string())),
            );
            continue;
        }
        join_value(&mut headers, name, value);
    }
    let mut query: Map<String, Value> = Map::new();
    for (name, value) in request.query_pairs() {
        join_value(&mut query, &name, &value);
    }
    let (body, base64) = body_value(route, request);
    let (seconds, millis) = epoch(now);
    let host = request.header("host").unwrap_or("localhost").to_string();
    let route_key = route.route_key();
    let mut event = Map::new();
    event.insert("version".into(), json!("2.0"));
    event.insert("routeKey".into(), json!(route_key));
    event.insert("rawPath".into(), json!(request.raw_path));
    event.insert("rawQueryString".into(), json!(request.raw_query));
    if !cookies.is_empty() {
        event.insert("cookies".into(), Value::Array(cookies));
    }
    event.insert("headers".into(), Value::Object(headers));
    if !query.is_empty() {
        event.insert("queryStringParameters".into(), Value::Object(query));
    }
    if !params.is_empty() {
        event.insert("pathParameters".into(), Value::Object(string_map(params)));
    }
    if !route.stage_variables.is_empty() {
        event.insert(
            "stageVariables".into(),
            Value::Object(string_map(&route.stage_variables)),
        );
    }
    event.insert(
        "requestContext".into(),
        json!({
            "accountId": "123456789012",
            "apiId": "1234567890",
            "domainName": host,
            "domainPrefix": host.split('.').next().unwrap_or_default(),
            "http": {
                "method": request.method,
                "path": percent_decode(&request.raw_path),
                "protocol": request.protocol,
                "sourceIp": request.source_ip,
                "userAgent": request.header("user-agent").unwrap_or_default(),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": route.stage,
            "time": request_time(seconds),
            "timeEpoch": millis,
        }),
    );
    if let Some(body) = body {
        event.insert("body".into(), Value::String(body));
    }
    event.insert("isBase64Encoded".into(), Value::Bool(base64));
    Value::Object(event)
}

fn join_value(map: &mut Map<String, Value>, name: &str, value: &str) {
    match map.get_mut(name) {
        Some(Value::String(existing)) => {
            existing.push(',');
            existing.push_str(value);
        }
        _ => {
            map.insert(name.to_string(), Value::String(value.to_string()));
        }
    }
}

/// The HTTP response for the function's outcome; `Err` carries the integration-error response
/// and the reason to log.
pub(crate) fn response(
    route: &Route,
    request: &HttpRequest,
    outcome: &Outcome,
) -> Result<HttpResponse, (HttpResponse, String)> {
    let fail = |why: String| (integration_error(route.kind), why);
    let payload = match outcome {
        Outcome::Response(payload) => payload,
        Outcome::FunctionError(body) => {
            return Err(fail(format!(
                "the function returned an error: {}",
                String::from_utf8_lossy(body)
            )));
        }
        Outcome::Failed {
            error_type,
            message,
        } => return Err(fail(format!("{error_type}: {message}"))),
    };
    let parsed: Option<Value> = serde_json::from_slice(payload).ok();
    if !route.payload_v1 {
        match &parsed {
            Some(Value::Object(map)) if map.contains_key("statusCode") => {}
            Some(_) => {
                return Ok(HttpResponse {
                    status: 200,
                    headers: vec![("content-type".into(), "application/json".into())],
                    body: payload.to_vec(),
                });
            }
            None => {
                return Err(fail(
                    "the function's response is not JSON (HTTP APIs need JSON)".into(),
                ));
            }
        }
    }
    let Some(Value::Object(map)) = parsed else {
        return Err(fail(
            "Malformed Lambda proxy response: the response is not a JSON object with statusCode, headers and body".into(),
        ));
    };
    proxy_response(route, request, &map).map_err(fail)
}

/// The HTTP response a function's proxy response map stands for, checked as API Gateway
/// checks it (REST APIs refuse unknown keys).
fn proxy_response(
    route: &Route,
    request: &HttpRequest,
    map: &Map<String, Value>,
) -> Result<HttpResponse, String> {
    if route.kind == ApiKind::Rest {
        check_rest_keys(map)?;
    }
    let status = status_code(map)?;
    let mut headers = response_headers(route, map)?;
    let body = response_body(route, request, map)?;
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        headers.push(("content-type".into(), "application/json".into()));
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn malformed(what: &str) -> String {
    format!("Malformed Lambda proxy response: {what}")
}

/// A REST API's proxy response holds only the keys API Gateway knows.
fn check_rest_keys(map: &Map<String, Value>) -> Result<(), String> {
    const KEYS: &[&str] = &[
        "statusCode",
        "headers",
        "multiValueHeaders",
        "body",
        "isBase64Encoded",
        "base64Encoded",
    ];
    match map.keys().find(|k| !KEYS.contains(&k.as_str())) {
        Some(extra) => Err(malformed(&format!(
            "unexpected key '{extra}' (REST APIs accept {})",
            KEYS[..5].join(", ")
        ))),
        None => Ok(()),
    }
}

/// `statusCode`: an HTTP status, as a number or a string.
fn status_code(map: &Map<String, Value>) -> Result<u16, String> {
    match map.get("statusCode") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .and_then(|s| u16::try_from(s).ok())
    .filter(|s| (100..=599).contains(s))
    .ok_or_else(|| malformed("statusCode must be an HTTP status number"))
}

/// `headers`, then (payload 1.0) `multiValueHeaders` replacing headers of the same name, or
/// (payload 2.0) `cookies` as `set-cookie` headers.
fn response_headers(
    route: &Route,
    map: &Map<String, Value>,
) -> Result<Vec<(String, String)>, String> {
    let mut headers: Vec<(String, String)> = Vec::new();
    if let Some(given) = map.get("headers").filter(|v| !v.is_null()) {
        let Value::Object(given) = given else {
            return Err(malformed("headers must be an object"));
        };
        for (name, value) in given {
            let value = scalar(value)
                .ok_or_else(|| malformed(&format!("header '{name}' must be a string")))?;
            headers.push((name.clone(), value));
        }
    }
    if route.payload_v1
        && let Some(given) = map.get("multiValueHeaders").filter(|v| !v.is_null())
    {
        let Value::Object(given) = given else {
            return Err(malformed("multiValueHeaders must be an object"));
        };
        for (name, values) in given {
            let Value::Array(values) = values else {
                return Err(malformed(&format!(
                    "multiValueHeaders '{name}' must be a list"
                )));
            };
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
            for value in values {
                let value = scalar(value).ok_or_else(|| {
                    malformed(&format!("multiValueHeaders '{name}' must hold strings"))
                })?;
                headers.push((name.clone(), value));
            }
        }
    }
    if !route.payload_v1
        && let Some(Value::Array(cookies)) = map.get("cookies")
    {
        let cookies = cookies.iter().filter_map(scalar);
        headers.extend(cookies.map(|cookie| ("set-cookie".to_string(), cookie)));
    }
    Ok(headers)
}

/// `body`, base64-decoded when `isBase64Encoded` and the API treats the response as binary
/// (HTTP APIs always; REST APIs when the request accepts one of the binary media types).
fn response_body(
    route: &Route,
    request: &HttpRequest,
    map: &Map<String, Value>,
) -> Result<Vec<u8>, String> {
    let base64 = match map
        .get("isBase64Encoded")
        .or_else(|| map.get("base64Encoded"))
    {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
        Some(_) => return Err(malformed("isBase64Encoded must be true or false")),
    };
    let body = match map.get("body") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) if !route.payload_v1 => other.to_string(),
        Some(_) => {
            return Err(malformed(
                "body must be a string (serialize JSON bodies with serde_json::to_string)",
            ));
        }
    };
    let decode = base64
        && match route.kind {
            ApiKind::Http => true,
            ApiKind::Rest => {
                let accept = request.header("accept").unwrap_or_default();
                accept.split(',').any(|t| {
                    route
                        .binary_media_types
                        .iter()
                        .any(|b| media_type_matches(b, t))
                })
            }
        };
    if decode {
        STANDARD
            .decode(body.trim())
            .map_err(|_| malformed("isBase64Encoded is true but body is not base64"))
    } else {
        Ok(body.into_bytes())
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::functions::{ApiEvent, test_function};
    use crate::local::routes::{find_route, path_segments, routes};
    use bytes::Bytes;

    fn route(kind: ApiKind, method: Option<&str>, path: Option<&str>, payload_v1: bool) -> Route {
        let function = test_function(
            "F",
            vec![ApiEvent {
                name: "E".into(),
                kind,
                path: path.map(str::to_string),
                method: method.map(str::to_string),
                api: "X".into(),
                payload_v1,
            }],
        );
        let mut route = routes(&[function], &[]).0.remove(0);
        route.binary_media_types = vec!["image/png".into()];
        route
    }

    fn request(method: &str, path: &str, query: &str, body: &[u8]) -> HttpRequest {
        HttpRequest {
            method: method.into(),
            raw_path: path.into(),
            raw_query: query.into(),
            headers: vec![
                ("host".into(), "127.0.0.1:3000".into()),
                ("x-multi".into(), "1".into()),
                ("x-multi".into(), "2".into()),
                ("cookie".into(), "a=1; b=2".into()),
                ("user-agent".into(), "curl/8".into()),
            ],
            body: body.to_vec(),
            source_ip: "127.0.0.1".into(),
            protocol: "HTTP/1.1".into(),
        }
    }

    fn event_for(route: &Route, request: &HttpRequest) -> Value {
        let (_, params) = find_route(
            std::slice::from_ref(route),
            &request.method,
            &path_segments(&request.raw_path),
        )
        .expect("matches");
        event(
            route,
            &params,
            request,
            "req-1",
            UNIX_EPOCH + std::time::Duration::from_millis(1_428_582_896_123),
        )
    }

    #[test]
    fn rest_events_have_payload_1_0_fields() {
        let route = route(ApiKind::Rest, Some("GET"), Some("/items/{id}"), true);
        let e = event_for(
            &route,
            &request("GET", "/items/a%20b", "q=1&q=2&x=%C3%A9", b""),
        );
        assert_eq!(e["resource"], "/items/{id}");
        assert_eq!(e["path"], "/items/a b");
        assert_eq!(e["pathParameters"]["id"], "a b");
        assert_eq!(e["queryStringParameters"], json!({"q": "2", "x": "é"}));
        assert_eq!(e["multiValueQueryStringParameters"]["q"], json!(["1", "2"]));
        assert_eq!(e["headers"]["x-multi"], "2");
        assert_eq!(e["multiValueHeaders"]["x-multi"], json!(["1", "2"]));
        assert_eq!(e["body"], Value::Null);
        assert_eq!(e["isBase64Encoded"], false);
        assert_eq!(e["stageVariables"], Value::Null);
        assert_eq!(e["requestContext"]["stage"], "Prod");
        assert_eq!(e["requestContext"]["path"], "/Prod/items/a b");
        assert_eq!(
            e["requestContext"]["requestTime"],
            "09/Apr/2015:12:34:56 +0000"
        );
        assert_eq!(
            e["requestContext"]["requestTimeEpoch"],
            1_428_582_896_123u64
        );
        assert_eq!(e["requestContext"]["identity"]["userAgent"], "curl/8");
        assert!(e.get("version").is_none());
    }

    #[test]
    fn http_events_have_payload_2_0_fields() {
        let route = route(ApiKind::Http, None, Some("/{proxy+}"), false);
        let e = event_for(&route, &request("POST", "/a/b", "q=1&q=2", b"{\"k\":1}"));
        assert_eq!(e["version"], "2.0");
        assert_eq!(e["routeKey"], "ANY /{proxy+}");
        assert_eq!(e["rawPath"], "/a/b");
        assert_eq!(e["rawQueryString"], "q=1&q=2");
        assert_eq!(e["queryStringParameters"], json!({"q": "1,2"}));
        assert_eq!(e["cookies"], json!(["a=1", "b=2"]));
        assert!(e["headers"].get("cookie").is_none());
        assert_eq!(e["headers"]["x-multi"], "1,2");
        assert_eq!(e["pathParameters"], json!({"proxy": "a/b"}));
        assert_eq!(e["body"], "{\"k\":1}");
        assert_eq!(e["requestContext"]["http"]["method"], "POST");
        assert_eq!(e["requestContext"]["stage"], "$default");
        assert_eq!(e["requestContext"]["timeEpoch"], 1_428_582_896_123u64);
    }

    #[test]
    fn binary_bodies_are_base64() {
        let rest = route(ApiKind::Rest, None, Some("/up"), true);
        let mut png = request("POST", "/up", "", &[0x89, b'P', b'N', b'G']);
        png.headers
            .push(("content-type".into(), "image/png".into()));
        let e = event_for(&rest, &png);
        assert_eq!(e["isBase64Encoded"], true);
        assert_eq!(e["body"], STANDARD.encode([0x89, b'P', b'N', b'G']));
        let http = route(ApiKind::Http, None, Some("/up"), false);
        let mut octets = request("POST", "/up", "", b"abc");
        octets
            .headers
            .push(("content-type".into(), "application/octet-stream".into()));
        assert_eq!(event_for(&http, &octets)["isBase64Encoded"], true);
    }

    fn respond(
        route: &Route,
        accept: Option<&str>,
        payload: &str,
    ) -> Result<HttpResponse, (HttpResponse, String)> {
        let mut request = request("GET", "/x", "", b"");
        if let Some(accept) = accept {
            request.headers.push(("accept".into(), accept.into()));
        }
        response(
            route,
            &request,
            &Outcome::Response(Bytes::from(payload.to_string())),
        )
    }

    #[test]
    fn proxy_responses_map_back() {
        let rest = route(ApiKind::Rest, None, Some("/x"), true);
        let ok = respond(
            &rest,
            None,
            r#"{"statusCode": 201, "headers": {"x-a": "1"}, "multiValueHeaders": {"set-cookie": ["a=1", "b=2"]}, "body": "hi"}"#,
        )
        .expect("ok");
        assert_eq!(ok.status, 201);
        assert_eq!(ok.body, b"hi");
        assert_eq!(
            ok.headers,
            [
                ("x-a".to_string(), "1".to_string()),
                ("set-cookie".to_string(), "a=1".to_string()),
                ("set-cookie".to_string(), "b=2".to_string()),
                ("content-type".to_string(), "application/json".to_string()),
            ]
        );
        let (error, why) = respond(&rest, None, r#"{"statusCode": 200, "body": {"a": 1}}"#)
            .expect_err("body object");
        assert_eq!(error.status, 502);
        assert!(why.contains("body must be a string"), "{why}");
        let (error, _) =
            respond(&rest, None, r#"{"statusCode": 200, "bogus": 1}"#).expect_err("extra key");
        assert_eq!(error.status, 502);
        let image = r#"{"statusCode": 200, "headers": {"content-type": "image/png"}, "body": "aGk=", "isBase64Encoded": true}"#;
        assert_eq!(
            respond(&rest, Some("image/png"), image).expect("ok").body,
            b"hi"
        );
        assert_eq!(
            respond(&rest, Some("text/html"), image).expect("ok").body,
            b"aGk=",
            "REST decodes only for a binary Accept"
        );
    }

    #[test]
    fn unknown_routes_answer_as_the_api_kind_does() {
        let rest = no_route(true);
        assert_eq!(
            (rest.status, rest.body.as_slice()),
            (
                403,
                br#"{"message":"Missing Authentication Token"}"#.as_slice()
            )
        );
        let http = no_route(false);
        assert_eq!(
            (http.status, http.body.as_slice()),
            (404, br#"{"message":"Not Found"}"#.as_slice())
        );
    }

    #[test]
    fn http_api_responses_may_omit_status_code() {
        let http = route(ApiKind::Http, None, Some("/x"), false);
        let plain = respond(&http, None, r#"{"hello": "world"}"#).expect("ok");
        assert_eq!(
            (plain.status, plain.body.as_slice()),
            (200, br#"{"hello": "world"}"#.as_slice())
        );
        let cookies = respond(&http, None, r#"{"statusCode": 204, "cookies": ["a=1", "b=2"], "body": "aGk=", "isBase64Encoded": true}"#).expect("ok");
        assert_eq!(cookies.status, 204);
        assert_eq!(cookies.body, b"hi");
        assert_eq!(
            cookies
                .headers
                .iter()
                .filter(|(k, _)| k == "set-cookie")
                .count(),
            2
        );
        let (error, _) = response(
            &http,
            &request("GET", "/x", "", b""),
            &Outcome::FunctionError(Bytes::from_static(b"{}")),
        )
        .expect_err("error");
        assert_eq!(
            (error.status, error.body.as_slice()),
            (500, br#"{"message":"Internal Server Error"}"#.as_slice())
        );
    }
}
