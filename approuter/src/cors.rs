//! CORS from `xs-app.json`'s `cors` and the `CORS` env, as `@sap/approuter` 23 applies them
//! (`lib/middleware/cors-middleware.js`): before the login, so a preflight never needs a session.
//!
//! - A request without `Origin`, or from the router's own origin, is none of CORS's business.
//! - The first rule whose `uriPattern` (and `hostPattern`) matches decides; `xs-app.json`'s rules
//!   come before the env's. No rule: nothing is added and nothing refused.
//! - A preflight (`OPTIONS` with `Access-Control-Request-Method`) from an allowed origin, for an
//!   allowed method and allowed headers, is answered 200 here; anything else is 403 with the
//!   reason, as SAP does.
//! - Other requests from an allowed origin go on with `Access-Control-Allow-Origin` (and
//!   `-Credentials`, `-Expose-Headers`) on whatever answer they get; from another origin, 403.
//!
//! Differences, both safer: `uriPattern` is matched against the normalised path without the
//! query (as routes are), and an origin allowed only through `host: "*"` never gets
//! `Access-Control-Allow-Credentials` (SAP echoes any origin with credentials then, which lets
//! every web site read the user's data). Every answer names `Vary: Origin` for caches.

use crate::error::Error;
use crate::source::Source;
use crate::xs_app::document::{AllowedOriginEntry, CorsEntry, Field, Port};
use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode, header};
use serde::Deserialize;
use serde_json::Value;

const DEFAULT_METHODS: &[&str] = &["GET", "POST", "HEAD", "OPTIONS"];
const DEFAULT_HEADERS: &[&str] = &[
    "Origin",
    "Accept",
    "X-Requested-With",
    "Content-Type",
    "Access-Control-Request-Method",
    "Access-Control-Request-Headers",
];
/// The methods SAP's schema accepts in `allowedMethods`.
const METHODS: &[&str] = &[
    "DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "TRACE", "PATCH",
];
const DEFAULT_MAX_AGE: u64 = 1800;

/// One entry of a `cors` array.
#[derive(Debug)]
pub struct CorsRule {
    uri_pattern: Source,
    host_pattern: Option<Source>,
    allowed_origin: Vec<AllowedOrigin>,
    allowed_methods: Vec<Method>,
    allowed_headers: Vec<String>,
    allowed_headers_value: HeaderValue,
    expose_headers: Option<HeaderValue>,
    allowed_credentials: bool,
    max_age: u64,
}

/// `{host, protocol, port}` of `allowedOrigin`: `host` may be `*` or start with `*.`.
#[derive(Debug)]
struct AllowedOrigin {
    protocol: Option<String>,
    host: String,
    port: Option<u16>,
}

impl AllowedOrigin {
    fn any(&self) -> bool {
        self.host == "*" && self.protocol.is_none() && self.port.is_none()
    }

    fn matches(&self, origin: &RequestOrigin) -> bool {
        if let Some(p) = &self.protocol
            && !p.eq_ignore_ascii_case(&origin.scheme)
        {
            return false;
        }
        if let Some(port) = self.port
            && Some(port) != origin.port
        {
            return false;
        }
        let host = origin.host.as_str();
        match self.host.strip_prefix('*') {
            // SAP's `.*` after the wildcard: `*.example.com` is any host ending in `.example.com`.
            Some(rest) => host.len() > rest.len() && host.ends_with(rest),
            None => host == self.host,
        }
    }
}

/// The request's `Origin`, parsed: scheme, lower-case host, port (80/443 filled in for http/https
/// as SAP does before matching).
struct RequestOrigin {
    scheme: String,
    host: String,
    port: Option<u16>,
}

impl RequestOrigin {
    /// `None` where SAP answers "Invalid origin header value." (no scheme or host, or a `%`).
    fn parse(text: &str) -> Option<Self> {
        if text.contains('%') {
            return None;
        }
        let url = url::Url::parse(text).ok()?;
        let host = url.host_str()?.to_ascii_lowercase();
        let scheme = url.scheme().to_ascii_lowercase();
        Some(Self {
            port: url.port_or_known_default(),
            scheme,
            host,
        })
    }
}

/// The rules of `xs-app.json` and of the `CORS` env.
#[derive(Debug, Default)]
pub struct Cors {
    pub xs_app: Vec<CorsRule>,
    pub env: Vec<CorsRule>,
}

/// What to do with a request, decided before the login.
pub enum Decision {
    /// Not a cross-origin request, or no rule for it.
    Pass,
    /// The preflight's answer.
    Preflight(Response<Body>),
    /// Go on; these headers go on the answer.
    Headers(Vec<(HeaderName, HeaderValue)>),
}

impl Cors {
    pub fn is_empty(&self) -> bool {
        self.xs_app.is_empty() && self.env.is_empty()
    }

    /// `path` is the normalised path; `own_origin` the router's `scheme://host[:port]` as the
    /// browser sees it; `host` the `Host` the browser used.
    pub fn decide(
        &self,
        method: &Method,
        headers: &HeaderMap,
        path: &str,
        own_origin: &str,
        host: &str,
    ) -> Result<Decision, Error> {
        let Some(origin_value) = headers.get(header::ORIGIN) else {
            return Ok(Decision::Pass);
        };
        let origin_text = origin_value.to_str().unwrap_or("%");
        let Some(origin) = RequestOrigin::parse(origin_text) else {
            return Err(Error::Forbidden("Invalid origin header value.".into()));
        };
        if origin_text.eq_ignore_ascii_case(own_origin) {
            return Ok(Decision::Pass);
        }
        let Some(rule) = self
            .xs_app
            .iter()
            .chain(&self.env)
            .find(|r| r.applies(path, host))
        else {
            return Ok(Decision::Pass);
        };
        if !rule.allowed_origin.iter().any(|o| o.matches(&origin)) {
            return Err(Error::Forbidden("Origin is not allowed.".into()));
        }
        let preflight = method == Method::OPTIONS
            && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        if preflight {
            rule.preflight(headers, origin_value)
                .map(Decision::Preflight)
        } else {
            if !rule.allowed_methods.contains(method) {
                return Err(Error::Forbidden("Method is not allowed.".into()));
            }
            let mut out = rule.origin_headers(origin_value);
            if let Some(expose) = &rule.expose_headers {
                out.push((header::ACCESS_CONTROL_EXPOSE_HEADERS, expose.clone()));
            }
            Ok(Decision::Headers(out))
        }
    }
}

impl CorsRule {
    fn applies(&self, path: &str, host: &str) -> bool {
        if let Some(pattern) = &self.host_pattern {
            // SAP tries the host name and `name:port`.
            let name = host.rsplit_once(':').map_or(host, |(n, _)| n);
            if !pattern.is_match(name) && !pattern.is_match(host) {
                return false;
            }
        }
        self.uri_pattern.is_match(path)
    }

    /// Only an origin allowed by name gets credentials: with `host: "*"` any site could read
    /// the user's data.
    fn credentials_for(&self, origin: &RequestOrigin) -> bool {
        self.allowed_credentials
            && self
                .allowed_origin
                .iter()
                .any(|o| !o.any() && o.matches(origin))
    }

    fn origin_headers(&self, origin_value: &HeaderValue) -> Vec<(HeaderName, HeaderValue)> {
        let origin = RequestOrigin::parse(origin_value.to_str().unwrap_or_default());
        let credentials = origin.as_ref().is_some_and(|o| self.credentials_for(o));
        let any = self.allowed_origin.iter().any(AllowedOrigin::any);
        let mut out = Vec::with_capacity(4);
        if any && !credentials {
            out.push((
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ));
        } else {
            out.push((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin_value.clone()));
            out.push((header::VARY, HeaderValue::from_static("Origin")));
        }
        if credentials {
            out.push((
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            ));
        }
        out
    }

    fn preflight(
        &self,
        headers: &HeaderMap,
        origin_value: &HeaderValue,
    ) -> Result<Response<Body>, Error> {
        let requested = headers
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let method_value = match self
            .allowed_methods
            .iter()
            .find(|m| m.as_str() == requested)
        {
            Some(m) => HeaderValue::from_str(m.as_str())
                .map_err(|_| Error::Internal("method name".into()))?,
            None => {
                return Err(Error::Forbidden(
                    "Access-Control-Request-Method is not allowed".into(),
                ));
            }
        };
        for value in headers.get_all(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            let text = value.to_str().map_err(|_| {
                Error::Forbidden(
                    "Not all requested Access-Control-Request-Headers are allowed".into(),
                )
            })?;
            let all_allowed = text
                .split(',')
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .all(|h| {
                    self.allowed_headers
                        .iter()
                        .any(|a| a.eq_ignore_ascii_case(h))
                });
            if !all_allowed {
                return Err(Error::Forbidden(
                    "Not all requested Access-Control-Request-Headers are allowed".into(),
                ));
            }
        }
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::OK;
        let out = response.headers_mut();
        for (name, value) in self.origin_headers(origin_value) {
            out.append(name, value);
        }
        out.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from(self.max_age),
        );
        out.insert(header::ACCESS_CONTROL_ALLOW_METHODS, method_value);
        out.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            self.allowed_headers_value.clone(),
        );
        Ok(response)
    }
}

/// A `cors` array from the `CORS` env (same JSON as `xs-app.json`'s); `here` names the variable
/// in messages.
pub fn parse(value: &Value, here: &str) -> Result<Vec<CorsRule>, Error> {
    let entries = Field::<Vec<Field<CorsEntry>>>::deserialize(value)
        .map_err(|e| Error::Config(format!("{here}: {e}")))?;
    compile(&entries, here)
}

/// A `cors` array, read; `here` names the file and key, or the variable, in messages.
pub fn compile(entries: &Field<Vec<Field<CorsEntry>>>, here: &str) -> Result<Vec<CorsRule>, Error> {
    let Field::Valid(items) = entries else {
        return Err(Error::Config(format!(
            "{here} must be an array of {{uriPattern, allowedOrigin, ...}}"
        )));
    };
    if items.is_empty() {
        return Err(Error::Config(format!("{here} must not be empty")));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Field::Valid(entry) => compile_rule(entry, &format!("{here}[{i}]")),
            _ => Err(Error::Config(format!("{here}[{i}] must be an object"))),
        })
        .collect()
}

fn compile_rule(entry: &CorsEntry, here: &str) -> Result<CorsRule, Error> {
    let err = |reason: String| Error::Config(format!("{here}: {reason}"));
    if let Some(key) = entry.extra.keys().next() {
        return Err(err(format!("unknown key {key:?}")));
    }
    let (path, match_case) = entry
        .uri_pattern
        .path_and_case("uriPattern", false)
        .map_err(&err)?;
    let uri_pattern = Source::new(path, match_case)
        .map_err(|e| err(format!("uriPattern is not a valid regular expression: {e}")))?;
    let host_pattern = match &entry.host_pattern {
        Field::Absent => None,
        Field::Valid(s) if !s.is_empty() => Some(Source::new(s, true).map_err(|e| {
            err(format!(
                "hostPattern is not a valid regular expression: {e}"
            ))
        })?),
        _ => return Err(err("hostPattern must be a regular expression string".into())),
    };
    let allowed_origin = match &entry.allowed_origin {
        Field::Valid(items) => items
            .iter()
            .enumerate()
            .map(|(i, o)| compile_origin(o).map_err(|r| err(format!("allowedOrigin[{i}]: {r}"))))
            .collect::<Result<Vec<_>, _>>()?,
        Field::Absent => return Err(err("allowedOrigin is missing".into())),
        Field::Wrong(_) => {
            return Err(err(
                "allowedOrigin must be an array of {host, protocol, port}".into(),
            ));
        }
    };
    // SAP: an empty list means any origin.
    let allowed_origin = if allowed_origin.is_empty() {
        vec![AllowedOrigin {
            protocol: None,
            host: "*".into(),
            port: None,
        }]
    } else {
        allowed_origin
    };
    let allowed_methods = match strings(&entry.allowed_methods, "allowedMethods").map_err(&err)? {
        None => DEFAULT_METHODS
            .iter()
            .map(|m| Method::from_bytes(m.as_bytes()).map_err(|e| err(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?,
        Some(list) => list
            .iter()
            .map(|m| {
                if METHODS.contains(&m.as_str()) {
                    Method::from_bytes(m.as_bytes()).map_err(|e| err(e.to_string()))
                } else {
                    Err(err(format!(
                        "allowedMethods: {m:?} is not one of {}",
                        METHODS.join(", ")
                    )))
                }
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let allowed_headers = strings(&entry.allowed_headers, "allowedHeaders")
        .map_err(&err)?
        .unwrap_or_else(|| DEFAULT_HEADERS.iter().map(|h| h.to_string()).collect());
    let allowed_headers_value = HeaderValue::from_str(&allowed_headers.join(", "))
        .map_err(|_| err("allowedHeaders: not a valid header value".into()))?;
    let expose_headers = match strings(&entry.expose_headers, "exposeHeaders").map_err(&err)? {
        None => None,
        Some(list) => Some(
            HeaderValue::from_str(&list.join(", "))
                .map_err(|_| err("exposeHeaders: not a valid header value".into()))?,
        ),
    };
    let allowed_credentials = match entry.allowed_credentials {
        Field::Absent => true,
        Field::Valid(b) => b,
        Field::Wrong(_) => return Err(err("allowedCredentials must be true or false".into())),
    };
    let max_age = match &entry.max_age {
        Field::Absent => DEFAULT_MAX_AGE,
        Field::Valid(n) if *n >= 1 => *n,
        Field::Valid(n) => {
            return Err(err(format!(
                "maxAge must be a positive number of seconds, not {n}"
            )));
        }
        Field::Wrong(v) => {
            return Err(err(format!(
                "maxAge must be a positive number of seconds, not {v}"
            )));
        }
    };
    Ok(CorsRule {
        uri_pattern,
        host_pattern,
        allowed_origin,
        allowed_methods,
        allowed_headers,
        allowed_headers_value,
        expose_headers,
        allowed_credentials,
        max_age,
    })
}

/// A non-empty array of non-empty strings under `key`, if present.
fn strings(field: &Field<Vec<Field<String>>>, key: &str) -> Result<Option<Vec<String>>, String> {
    let list = match field {
        Field::Absent => return Ok(None),
        Field::Valid(list) if !list.is_empty() => list,
        _ => return Err(format!("{key} must be a non-empty array of strings")),
    };
    list.iter()
        .map(|v| match v {
            Field::Valid(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            _ => Err(format!("{key} must be a non-empty array of strings")),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn compile_origin(field: &Field<AllowedOriginEntry>) -> Result<AllowedOrigin, String> {
    let Field::Valid(entry) = field else {
        return Err("must be an object {host, protocol, port}".into());
    };
    if let Some(key) = entry.extra.keys().next() {
        return Err(format!("unknown key {key:?}"));
    }
    let host = match &entry.host {
        Field::Valid(h) if valid_host_pattern(h) => h.to_ascii_lowercase(),
        Field::Valid(h) => {
            return Err(format!(
                "host {h:?} is not correct: a host name, an IP address, or a host name prefixed with \"*.\""
            ));
        }
        _ => return Err("host is missing".into()),
    };
    let protocol = match &entry.protocol {
        Field::Absent => None,
        Field::Valid(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphabetic()) => {
            Some(p.to_ascii_lowercase())
        }
        Field::Valid(p) => {
            return Err(format!(
                "protocol {} is not a scheme such as \"https\"",
                Value::from(p.as_str())
            ));
        }
        Field::Wrong(other) => {
            return Err(format!(
                "protocol {other} is not a scheme such as \"https\""
            ));
        }
    };
    let port = match &entry.port {
        Field::Absent => None,
        Field::Valid(Port::Number(n)) if *n != 0 => Some(*n),
        Field::Valid(Port::Text(s)) if s.trim().parse::<u16>().is_ok_and(|p| p != 0) => {
            s.trim().parse::<u16>().ok()
        }
        Field::Valid(Port::Number(n)) => return Err(format!("port {n} is not a port number")),
        Field::Valid(Port::Text(s)) => {
            return Err(format!(
                "port {} is not a port number",
                Value::from(s.as_str())
            ));
        }
        Field::Wrong(v) => return Err(format!("port {v} is not a port number")),
    };
    Ok(AllowedOrigin {
        protocol,
        host,
        port,
    })
}

/// SAP's whitelist rule: a host name, an IPv4 address, `*`, or a host name prefixed with `*.`.
fn valid_host_pattern(host: &str) -> bool {
    if host == "*" {
        return true;
    }
    let name = host.strip_prefix("*.").unwrap_or(host);
    !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(value: Value) -> Cors {
        Cors {
            xs_app: parse(&value, "xs-app.json: cors").unwrap(),
            env: Vec::new(),
        }
    }

    fn request(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    #[test]
    fn origins_match_by_scheme_host_and_port() {
        let cors = rules(json!([{"uriPattern": "^/api/", "allowedOrigin": [
            {"host": "app.example.com", "protocol": "https"},
            {"host": "*.trusted.org", "port": 8443},
        ]}]));
        let decide = |origin: &str| {
            cors.decide(
                &Method::GET,
                &request(&[("origin", origin)]),
                "/api/x",
                "http://router:5000",
                "router:5000",
            )
        };
        assert!(matches!(
            decide("https://app.example.com"),
            Ok(Decision::Headers(_))
        ));
        assert!(matches!(
            decide("https://APP.example.com:443"),
            Ok(Decision::Headers(_))
        ));
        assert!(matches!(
            decide("https://a.trusted.org:8443"),
            Ok(Decision::Headers(_))
        ));
        for refused in [
            "http://app.example.com",
            "https://app.example.com.evil.org",
            "https://evilapp.example.com",
            "https://trusted.org:8443",
            "https://a.trusted.org",
        ] {
            assert!(
                matches!(decide(refused), Err(Error::Forbidden(_))),
                "{refused}"
            );
        }
        assert!(matches!(decide("null"), Err(Error::Forbidden(_))));
        assert!(matches!(decide("http://router:5000"), Ok(Decision::Pass)));
    }

    #[test]
    fn any_origin_never_gets_credentials() {
        let cors = rules(json!([{"uriPattern": ".", "allowedOrigin": [{"host": "*"}]}]));
        let Ok(Decision::Headers(headers)) = cors.decide(
            &Method::GET,
            &request(&[("origin", "https://anybody.example")]),
            "/x",
            "http://router",
            "router",
        ) else {
            panic!("no headers");
        };
        assert!(headers.contains(&(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*")
        )));
        assert!(
            !headers
                .iter()
                .any(|(n, _)| n == header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
        );
    }

    #[test]
    fn preflight_checks_method_and_headers() {
        let cors = rules(
            json!([{"uriPattern": "^/api/", "allowedOrigin": [{"host": "ui.example"}],
            "allowedMethods": ["GET", "PUT"], "allowedHeaders": ["Content-Type", "X-Csrf-Token"], "maxAge": 60}]),
        );
        let preflight = |method: &str, headers: &str| {
            cors.decide(
                &Method::OPTIONS,
                &request(&[
                    ("origin", "http://ui.example"),
                    ("access-control-request-method", method),
                    ("access-control-request-headers", headers),
                ]),
                "/api/x",
                "http://router",
                "router",
            )
        };
        let Ok(Decision::Preflight(ok)) = preflight("PUT", "content-type, x-csrf-token") else {
            panic!("no preflight answer");
        };
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(
            ok.headers()["access-control-allow-origin"],
            "http://ui.example"
        );
        assert_eq!(ok.headers()["access-control-allow-credentials"], "true");
        assert_eq!(ok.headers()["access-control-allow-methods"], "PUT");
        assert_eq!(ok.headers()["access-control-max-age"], "60");
        assert_eq!(ok.headers()["vary"], "Origin");
        assert!(matches!(
            preflight("DELETE", "content-type"),
            Err(Error::Forbidden(_))
        ));
        assert!(matches!(
            preflight("PUT", "authorization"),
            Err(Error::Forbidden(_))
        ));
    }

    #[test]
    fn bad_rules_are_refused_with_the_key() {
        for (value, part) in [
            (json!({}), "must be an array"),
            (json!([]), "must not be empty"),
            (
                json!([{"allowedOrigin": [{"host": "a"}]}]),
                "uriPattern is missing",
            ),
            (
                json!([{"uriPattern": "^/", "allowedOrigin": [{"host": "a/b"}]}]),
                "allowedOrigin[0]: host",
            ),
            (
                json!([{"uriPattern": "^/", "allowedOrigin": [{"host": "a", "port": 70000}]}]),
                "port",
            ),
            (
                json!([{"uriPattern": "^/", "allowedOrigin": [{"host": "a"}], "allowedMethods": ["FETCH"]}]),
                "allowedMethods",
            ),
            (
                json!([{"uriPattern": "^/", "allowedOrigin": [{"host": "a"}], "maxAge": 0}]),
                "maxAge",
            ),
            (
                json!([{"uriPattern": "(", "allowedOrigin": [{"host": "a"}]}]),
                "uriPattern is not a valid",
            ),
            (
                json!([{"uriPattern": "^/", "allowedOrigin": [{"host": "a"}], "origin": 1}]),
                "unknown key",
            ),
        ] {
            let e = parse(&value, "CORS").unwrap_err().to_string();
            assert!(e.starts_with("CORS") && e.contains(part), "{e}");
        }
    }
}
