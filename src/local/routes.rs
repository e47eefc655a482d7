//! Pure: the `Api` and `HttpApi` events of the template as routes, and matching a request to
//! one the way API Gateway does (literal segments before `{param}` before `{proxy+}`, a method
//! before `ANY`, `$default` last).

use indexmap::IndexMap;

use super::functions::{ApiConfig, ApiKind, LocalFunction};

/// Methods `ANY` stands for, as SAM lists them.
pub(crate) const ANY_METHODS: &str = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    Greedy(String),
}

impl Segment {
    /// Higher is more specific.
    fn rank(&self) -> u8 {
        match self {
            Segment::Literal(_) => 2,
            Segment::Param(_) => 1,
            Segment::Greedy(_) => 0,
        }
    }
}

/// One path and method of one API, served by one function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    /// Index into the function list.
    pub(crate) function: usize,
    pub(crate) kind: ApiKind,
    /// The event payload format: 1.0 for REST APIs and HttpApi events that ask for it.
    pub(crate) payload_v1: bool,
    /// None stands for ANY.
    pub(crate) method: Option<String>,
    /// None for the HTTP API `$default` route.
    pub(crate) path: Option<String>,
    segments: Vec<Segment>,
    pub(crate) stage: String,
    pub(crate) stage_variables: IndexMap<String, String>,
    pub(crate) binary_media_types: Vec<String>,
}

impl Route {
    /// `GET /items/{id}`, `ANY /x` or `$default`, as HTTP APIs name routes.
    pub(crate) fn route_key(&self) -> String {
        match &self.path {
            None => "$default".to_string(),
            Some(path) => format!("{} {path}", self.method.as_deref().unwrap_or("ANY")),
        }
    }

    /// `[GET]`, or every method for ANY, as SAM prints them.
    pub(crate) fn methods_shown(&self) -> String {
        match (&self.path, &self.method) {
            (None, _) => "[X-AMAZON-APIGATEWAY-ANY-METHOD]".to_string(),
            (_, Some(method)) => format!("[{method}]"),
            (_, None) => format!("[{ANY_METHODS}]"),
        }
    }

    fn matches_path(&self, segments: &[String]) -> Option<IndexMap<String, String>> {
        let mut params = IndexMap::new();
        let mut given = segments.iter();
        for (i, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Literal(text) => {
                    if given.next()? != text {
                        return None;
                    }
                }
                Segment::Param(name) => {
                    params.insert(name.clone(), given.next()?.clone());
                }
                Segment::Greedy(name) => {
                    let rest: Vec<&str> = given.by_ref().map(String::as_str).collect();
                    if rest.is_empty() || i + 1 != self.segments.len() {
                        return None;
                    }
                    params.insert(name.clone(), rest.join("/"));
                }
            }
        }
        given.next().is_none().then_some(params)
    }
}

fn parse_segments(path: &str) -> Vec<Segment> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => match name.strip_suffix('+') {
                    Some(greedy) => Segment::Greedy(greedy.to_string()),
                    None => Segment::Param(name.to_string()),
                },
                None => Segment::Literal(s.to_string()),
            },
        )
        .collect()
}

/// Every route of the template's functions, and warnings about routes given twice.
pub(crate) fn routes(functions: &[LocalFunction], apis: &[ApiConfig]) -> (Vec<Route>, Vec<String>) {
    let mut routes: Vec<Route> = Vec::new();
    let mut warnings = Vec::new();
    for (index, function) in functions.iter().enumerate() {
        for event in &function.events {
            let api = apis
                .iter()
                .find(|a| a.logical_id == event.api && a.kind == event.kind);
            let route = Route {
                function: index,
                kind: event.kind,
                payload_v1: event.kind == ApiKind::Rest || event.payload_v1,
                method: event.method.clone(),
                path: event.path.clone(),
                segments: event
                    .path
                    .as_deref()
                    .map(parse_segments)
                    .unwrap_or_default(),
                stage: api.map_or_else(
                    || match event.kind {
                        ApiKind::Rest => "Prod".into(),
                        ApiKind::Http => "$default".into(),
                    },
                    |a| a.stage.clone(),
                ),
                stage_variables: api.map(|a| a.stage_variables.clone()).unwrap_or_default(),
                binary_media_types: api
                    .map(|a| a.binary_media_types.clone())
                    .unwrap_or_default(),
            };
            if let Some(earlier) = routes.iter().find(|r| {
                r.segments == route.segments
                    && r.method == route.method
                    && (r.path.is_none()) == (route.path.is_none())
            }) {
                warnings.push(format!(
                    "{} {} of {} is also served by {}; {} answers it",
                    route.method.as_deref().unwrap_or("ANY"),
                    route.path.as_deref().unwrap_or("$default"),
                    function.logical_id,
                    functions[earlier.function].logical_id,
                    functions[earlier.function].logical_id,
                ));
                continue;
            }
            routes.push(route);
        }
    }
    (routes, warnings)
}

/// The route for `method` and the request path's (decoded) segments, with its path parameters.
pub(crate) fn find_route<'r>(
    routes: &'r [Route],
    method: &str,
    segments: &[String],
) -> Option<(&'r Route, IndexMap<String, String>)> {
    let mut best: Option<(&Route, IndexMap<String, String>)> = None;
    for route in routes {
        if route.path.is_none() {
            continue;
        }
        if route.method.as_deref().is_some_and(|m| m != method) {
            continue;
        }
        let Some(params) = route.matches_path(segments) else {
            continue;
        };
        let better = match &best {
            None => true,
            Some((current, _)) => {
                let rank = |r: &Route| r.segments.iter().map(Segment::rank).collect::<Vec<_>>();
                match rank(route).cmp(&rank(current)) {
                    std::cmp::Ordering::Greater => true,
                    std::cmp::Ordering::Less => false,
                    std::cmp::Ordering::Equal => current.method.is_none() && route.method.is_some(),
                }
            }
        };
        if better {
            best = Some((route, params));
        }
    }
    best.or_else(|| {
        routes
            .iter()
            .find(|r| r.path.is_none())
            .map(|r| (r, IndexMap::new()))
    })
}

/// A request path as decoded segments (`%2F` decoded first, empty segments and a trailing `/`
/// ignored).
pub(crate) fn path_segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect()
}

/// `%XX` sequences decoded (invalid ones kept as they are); `+` stays `+`, as in API Gateway.
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::functions::{ApiEvent, test_function as function};

    fn event(kind: ApiKind, method: Option<&str>, path: Option<&str>) -> ApiEvent {
        ApiEvent {
            name: "E".into(),
            kind,
            path: path.map(str::to_string),
            method: method.map(str::to_string),
            api: match kind {
                ApiKind::Rest => "ServerlessRestApi".into(),
                ApiKind::Http => "ServerlessHttpApi".into(),
            },
            payload_v1: false,
        }
    }

    fn table() -> Vec<Route> {
        let functions = vec![
            function(
                "Items",
                vec![event(ApiKind::Rest, Some("GET"), Some("/items/{id}"))],
            ),
            function(
                "New",
                vec![event(ApiKind::Rest, Some("GET"), Some("/items/new"))],
            ),
            function("Proxy", vec![event(ApiKind::Rest, None, Some("/{proxy+}"))]),
            function(
                "Post",
                vec![event(ApiKind::Http, Some("POST"), Some("/items/{id}"))],
            ),
            function("Default", vec![event(ApiKind::Http, None, None)]),
        ];
        let (routes, warnings) = routes(&functions, &[]);
        assert!(warnings.is_empty());
        routes
    }

    fn answer(
        routes: &[Route],
        method: &str,
        path: &str,
    ) -> Option<(usize, Vec<(String, String)>)> {
        find_route(routes, method, &path_segments(path))
            .map(|(r, p)| (r.function, p.into_iter().collect()))
    }

    #[test]
    fn literal_beats_parameter_beats_greedy_and_default_comes_last() {
        let routes = table();
        let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
        assert_eq!(answer(&routes, "GET", "/items/new"), Some((1, vec![])));
        assert_eq!(
            answer(&routes, "GET", "/items/42/"),
            Some((0, vec![pair("id", "42")]))
        );
        assert_eq!(
            answer(&routes, "POST", "/items/42"),
            Some((3, vec![pair("id", "42")]))
        );
        assert_eq!(
            answer(&routes, "DELETE", "/a/b%2Fc"),
            Some((2, vec![pair("proxy", "a/b/c")]))
        );
        assert_eq!(answer(&routes, "GET", "/"), Some((4, vec![])), "$default");
    }

    #[test]
    fn without_a_default_route_nothing_answers() {
        let functions = vec![function(
            "Hello",
            vec![event(ApiKind::Rest, Some("GET"), Some("/hello"))],
        )];
        let (routes, _) = routes(&functions, &[]);
        assert!(answer(&routes, "GET", "/hello").is_some());
        assert!(answer(&routes, "POST", "/hello").is_none(), "method");
        assert!(answer(&routes, "GET", "/hello/x").is_none(), "longer path");
        assert!(answer(&routes, "GET", "/Hello").is_none(), "case");
    }

    #[test]
    fn route_keys_and_shown_methods() {
        let routes = table();
        assert_eq!(routes[0].route_key(), "GET /items/{id}");
        assert_eq!(routes[2].route_key(), "ANY /{proxy+}");
        assert_eq!(routes[2].methods_shown(), format!("[{ANY_METHODS}]"));
        assert_eq!(routes[4].route_key(), "$default");
    }

    #[test]
    fn a_route_given_twice_is_served_by_the_first() {
        let functions = vec![
            function("A", vec![event(ApiKind::Rest, Some("GET"), Some("/x"))]),
            function("B", vec![event(ApiKind::Http, Some("GET"), Some("/x/"))]),
        ];
        let (routes, warnings) = routes(&functions, &[]);
        assert_eq!(routes.len(), 1);
        assert_eq!(warnings, ["GET /x/ of B is also served by A; A answers it"]);
    }

    #[test]
    fn percent_decoding_keeps_plus_and_bad_escapes() {
        assert_eq!(percent_decode("a%20b+c%2"), "a b+c%2");
        assert_eq!(percent_decode("%E2%9C%93"), "✓");
    }
}
