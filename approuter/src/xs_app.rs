//! `xs-app.json`, as `@sap/approuter` reads it: parsed and validated once at start-up.
//!
//! Every key of the file is known to this module: supported keys are applied, keys of
//! `@sap/approuter` we do not implement are reported (a warning when ignoring them is harmless, an
//! error when ignoring them would weaken security or break the route), anything else is an error.

use crate::error::Error;
use crate::routes::Source;
use axum::http::{HeaderName, HeaderValue, Method};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_CALLBACK: &str = "/login/callback";

/// The longest idle timeout accepted (`sessionTimeout`, `SESSION_TIMEOUT`), in minutes: one year.
/// Beyond it the minutes overflow the seconds and the stores' expiry arithmetic (found by the
/// property tests); no real session needs more.
pub const MAX_SESSION_TIMEOUT_MINUTES: u64 = 365 * 24 * 60;

#[derive(Debug)]
pub struct XsApp {
    pub welcome_file: Option<String>,
    pub authentication_method: AuthenticationMethod,
    /// `sessionTimeout` in minutes, when the file sets it.
    pub session_timeout: Option<Duration>,
    pub logout: Option<Logout>,
    /// `login.callbackEndpoint`, default `/login/callback`.
    pub callback_endpoint: String,
    pub routes: Vec<Route>,
    /// `responseHeaders`: added to every response the router sends.
    pub response_headers: Vec<(HeaderName, HeaderValue)>,
    /// `websockets.enabled` (default false, as SAP).
    pub websockets_enabled: bool,
    /// `cors`: rules for cross-origin requests (the `CORS` env's come after them).
    pub cors: Vec<crate::cors::CorsRule>,
    /// `compression`, before the `COMPRESSION` env is laid over it.
    pub compression: crate::compression::Settings,
    /// `errorPage`: the router's error answers replaced per status.
    pub error_pages: crate::error_page::ErrorPages,
    /// `destinations.<name>.logoutPath`: called at central logout and when a session times out.
    pub backend_logout: Vec<BackendLogout>,
    /// Known `@sap/approuter` keys that we ignore, one line each, for the start-up log.
    pub warnings: Vec<String>,
}

/// `destinations: {"<name>": {"logoutPath": "/logout", "logoutMethod": "POST"}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct BackendLogout {
    pub destination: String,
    pub path: String,
    /// Default POST, as `@sap/approuter`.
    pub method: Method,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthenticationMethod {
    Route,
    None,
}

#[derive(Debug, Clone)]
pub struct Logout {
    pub endpoint: String,
    /// Where XSUAA sends the browser after its own logout: a same-origin path or an absolute URL.
    pub page: Option<String>,
    /// `logoutMethod`: only this method ends the session; unset: GET only (as `@sap/approuter`).
    pub method: Option<Method>,
    /// `csrfProtection` (default true when `logoutMethod` is POST): a logout needs the session's
    /// CSRF token.
    pub csrf_protection: bool,
}

#[derive(Debug)]
pub struct Route {
    pub index: usize,
    pub source_text: String,
    pub source: Source,
    pub target: Option<String>,
    pub kind: RouteKind,
    /// `authenticationType: xsuaa` (the default) under `authenticationMethod: route`.
    pub authenticated: bool,
    pub scope: ScopeRule,
    pub csrf_protection: bool,
    pub http_methods: Option<Vec<Method>>,
    pub cache_control: Option<HeaderValue>,
    /// `setBackendSessionCookies`: the backend's session cookies go to the browser instead of
    /// being kept in the router's session ([`crate::backend_cookies`]).
    pub set_backend_session_cookies: bool,
    /// `replace`: placeholders filled in static files.
    pub replace: Option<crate::static_files::Replace>,
    /// The `./resources` route `@sap/approuter` adds when no route has a `localDir`.
    pub implicit: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RouteKind {
    Destination(String),
    LocalDir(PathBuf),
    /// `"service": "sap-approuter-userapi"`: the logged-in user's details.
    UserApi,
}

/// `scope`: a string, an array (any one of them suffices), or an object per HTTP method with an
/// optional `default`.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum ScopeRule {
    #[default]
    None,
    Any(Vec<String>),
    PerMethod {
        methods: Vec<(Method, Vec<String>)>,
        default: Option<Vec<String>>,
    },
}

impl ScopeRule {
    /// The scopes of which the user needs one for `method`; empty means no scope is required.
    pub fn required(&self, method: &Method) -> &[String] {
        match self {
            ScopeRule::None => &[],
            ScopeRule::Any(scopes) => scopes,
            ScopeRule::PerMethod { methods, default } => methods
                .iter()
                .find(|(m, _)| m == method)
                .map(|(_, s)| s.as_slice())
                .or(default.as_deref())
                .unwrap_or(&[]),
        }
    }

    pub fn is_none(&self) -> bool {
        matches!(self, ScopeRule::None)
    }
}

impl Route {
    pub fn destination(&self) -> Option<&str> {
        match &self.kind {
            RouteKind::Destination(name) => Some(name),
            RouteKind::LocalDir(_) | RouteKind::UserApi => None,
        }
    }

    pub fn label(&self) -> String {
        format!("routes[{}] (source {:?})", self.index, self.source_text)
    }
}

/// What the file is validated against.
pub struct Context<'a> {
    /// Shown in every message, e.g. the file's path.
    pub origin: &'a str,
    /// Names from the `destinations` env.
    pub destinations: &'a HashSet<String>,
    /// A Destination service is bound: other destination names are looked up there at run time.
    pub destination_service: bool,
    /// `xsappname` of the xsuaa binding, for `$XSAPPNAME` in scopes.
    pub xsappname: Option<&'a str>,
    /// `localDir` is relative to this directory (where xs-app.json lives).
    pub base_dir: &'a Path,
}

const TOP_KEYS: &[&str] = &[
    "stateProtection",
    "welcomeFile",
    "authenticationMethod",
    "sessionTimeout",
    "logout",
    "login",
    "routes",
    "responseHeaders",
    "websockets",
    "cors",
    "compression",
    "errorPage",
    "destinations",
];
/// Known to `@sap/approuter`, harmless to ignore.
const TOP_IGNORED: &[(&str, &str)] = &[
    (
        "pluginMetadataEndpoint",
        "no plugin metadata endpoint is served",
    ),
    (
        "services",
        "service-level logout settings are not supported",
    ),
    (
        "whitelistService",
        "no frame-whitelisting endpoint is served (framing is not enabled by the router)",
    ),
    (
        "cookies",
        "cookie attributes are fixed (HttpOnly, SameSite=Lax, Secure over https)",
    ),
    ("headerCookies", "cookies from headers are not supported"),
];
const ROUTE_KEYS: &[&str] = &[
    "source",
    "target",
    "destination",
    "localDir",
    "authenticationType",
    "scope",
    "csrfProtection",
    "httpMethods",
    "cacheControl",
    "service",
    "endpoint",
    "setBackendSessionCookies",
    "replace",
];
const ROUTE_IGNORED: &[(&str, &str)] = &[
    (
        "dynamicIdentityProvider",
        "the identity provider cannot be chosen per request; the default one is used",
    ),
    (
        "preferLocal",
        "destinations always come from the `destinations` env",
    ),
    ("stripLeadingSlash", "not supported"),
];
/// Known keys whose absence of support would open the route wider than configured, or make it
/// route somewhere else: refused.
const ROUTE_REFUSED: &[(&str, &str)] = &[(
    "identityProvider",
    "restricting a route to one identity provider is not supported; ignoring it would let users of any identity provider in",
)];

pub fn parse(text: &str, ctx: &Context<'_>) -> Result<XsApp, Error> {
    let origin = ctx.origin;
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Error::Config(format!("{origin}: not valid JSON: {e}")))?;
    let Value::Object(top) = value else {
        return Err(Error::Config(format!("{origin}: must be a JSON object")));
    };
    let mut warnings = Vec::new();
    for key in top.keys() {
        if TOP_KEYS.contains(&key.as_str()) {
            continue;
        }
        if let Some((_, why)) = TOP_IGNORED.iter().find(|(k, _)| k == key) {
            warnings.push(format!(
                "{origin}: key {key:?} is not supported and ignored: {why}"
            ));
            continue;
        }
        return Err(Error::Config(format!("{origin}: unknown key {key:?}")));
    }

    match top.get("stateProtection") {
        None | Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => warnings.push(format!(
            "{origin}: stateProtection false is ignored: the login always checks its state parameter (and PKCE), as it must"
        )),
        Some(_) => return Err(type_error(origin, "stateProtection", "true or false")),
    }

    let welcome_file = match top.get("welcomeFile") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            let path = if s.starts_with('/') {
                s.clone()
            } else {
                format!("/{s}")
            };
            if crate::redirect::safe_relative(&path).is_none() {
                return Err(Error::Config(format!(
                    "{origin}: welcomeFile {s:?} must be a path on this router"
                )));
            }
            Some(path)
        }
        Some(_) => return Err(type_error(origin, "welcomeFile", "a string")),
    };

    let authentication_method = match top.get("authenticationMethod") {
        None => AuthenticationMethod::Route,
        Some(Value::String(s)) if s == "route" => AuthenticationMethod::Route,
        Some(Value::String(s)) if s == "none" => AuthenticationMethod::None,
        Some(other) => {
            return Err(Error::Config(format!(
                "{origin}: authenticationMethod must be \"route\" or \"none\", not {other}"
            )));
        }
    };

    let session_timeout = match top.get("sessionTimeout") {
        None => None,
        Some(v) => match v.as_u64() {
            Some(minutes) if (1..=MAX_SESSION_TIMEOUT_MINUTES).contains(&minutes) => {
                Some(Duration::from_secs(minutes * 60))
            }
            _ => {
                return Err(Error::Config(format!(
                    "{origin}: sessionTimeout must be a positive number of minutes up to {MAX_SESSION_TIMEOUT_MINUTES}, not {v}"
                )));
            }
        },
    };

    let logout = match top.get("logout") {
        None => None,
        Some(Value::Object(obj)) => Some(parse_logout(obj, origin, &mut warnings)?),
        Some(_) => return Err(type_error(origin, "logout", "an object")),
    };

    let backend_logout = match top.get("destinations") {
        None => Vec::new(),
        Some(Value::Object(obj)) => parse_backend_logout(obj, ctx)?,
        Some(_) => return Err(type_error(origin, "destinations", "an object")),
    };

    let callback_endpoint = match top.get("login") {
        None => DEFAULT_CALLBACK.to_string(),
        Some(Value::Object(obj)) => {
            let mut callback = DEFAULT_CALLBACK.to_string();
            for (key, value) in obj {
                match (key.as_str(), value) {
                    ("callbackEndpoint", Value::String(s)) => {
                        callback = endpoint_path(origin, "login.callbackEndpoint", s)?
                    }
                    ("callbackEndpoint", _) => {
                        return Err(type_error(origin, "login.callbackEndpoint", "a string"));
                    }
                    _ => {
                        return Err(Error::Config(format!(
                            "{origin}: login: unknown key {key:?}"
                        )));
                    }
                }
            }
            callback
        }
        Some(_) => return Err(type_error(origin, "login", "an object")),
    };

    let response_headers = match top.get("responseHeaders") {
        None => Vec::new(),
        Some(Value::Array(items)) => parse_response_headers(items, origin)?,
        Some(_) => {
            return Err(type_error(
                origin,
                "responseHeaders",
                "an array of {name, value}",
            ));
        }
    };

    let websockets_enabled = match top.get("websockets") {
        None => false,
        Some(Value::Object(obj)) => {
            if let Some(key) = obj.keys().find(|k| *k != "enabled") {
                return Err(Error::Config(format!(
                    "{origin}: websockets: unknown key {key:?}"
                )));
            }
            match obj.get("enabled") {
                Some(Value::Bool(b)) => *b,
                _ => return Err(type_error(origin, "websockets.enabled", "true or false")),
            }
        }
        Some(_) => {
            return Err(type_error(
                origin,
                "websockets",
                "an object like {\"enabled\": true}",
            ));
        }
    };

    let routes_value = match top.get("routes") {
        None => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(_) => return Err(type_error(origin, "routes", "an array")),
    };
    let mut routes = Vec::with_capacity(routes_value.len());
    for (index, value) in routes_value.iter().enumerate() {
        routes.push(parse_route(
            index,
            value,
            authentication_method,
            ctx,
            &mut warnings,
        )?);
    }

    // As `@sap/approuter` (app-config.js): without any `localDir` route, a `resources` folder
    // next to xs-app.json is served by a last route `^/(.*)` with the defaults (login included).
    if !routes
        .iter()
        .any(|r| matches!(r.kind, RouteKind::LocalDir(_)))
        && ctx.base_dir.join("resources").is_dir()
    {
        let implicit = serde_json::json!({"source": "^/(.*)", "localDir": "resources"});
        let mut route = parse_route(
            routes.len(),
            &implicit,
            authentication_method,
            ctx,
            &mut warnings,
        )?;
        route.implicit = true;
        routes.push(route);
    }

    let cors = match top.get("cors") {
        None => Vec::new(),
        Some(v) => crate::cors::parse(v, &format!("{origin}: cors"))?,
    };
    let compression = match top.get("compression") {
        None => crate::compression::Settings::default(),
        Some(v) => crate::compression::Settings::parse(v, &format!("{origin}: compression"))?,
    };
    let error_pages = match top.get("errorPage") {
        None => crate::error_page::ErrorPages::default(),
        Some(v) => {
            crate::error_page::ErrorPages::parse(v, &format!("{origin}: errorPage"), ctx.base_dir)?
        }
    };

    if let Some(logout) = &logout
        && logout.endpoint == callback_endpoint
    {
        return Err(Error::Config(format!(
            "{origin}: logout.logoutEndpoint and the login callback are both {:?}",
            logout.endpoint
        )));
    }

    Ok(XsApp {
        welcome_file,
        authentication_method,
        session_timeout,
        logout,
        callback_endpoint,
        routes,
        response_headers,
        websockets_enabled,
        cors,
        compression,
        error_pages,
        backend_logout,
        warnings,
    })
}

fn parse_backend_logout(
    obj: &Map<String, Value>,
    ctx: &Context<'_>,
) -> Result<Vec<BackendLogout>, Error> {
    let origin = ctx.origin;
    let mut out = Vec::new();
    for (name, value) in obj {
        let here = format!("destinations.{name}");
        let Value::Object(props) = value else {
            return Err(type_error(origin, &here, "an object"));
        };
        if !ctx.destinations.contains(name) && !ctx.destination_service {
            return Err(Error::Config(format!(
                "{origin}: {here}: destination {name:?} is not defined in the `destinations` env and no Destination service is bound"
            )));
        }
        let mut path = None;
        let mut method = Method::POST;
        for (key, v) in props {
            match (key.as_str(), v) {
                ("logoutPath", Value::String(p)) => {
                    if !p.starts_with('/') || crate::redirect::safe_relative(p).is_none() {
                        return Err(Error::Config(format!(
                            "{origin}: {here}.logoutPath {p:?} must be a path like \"/logout\" (relative to the destination URL)"
                        )));
                    }
                    path = Some(p.clone());
                }
                ("logoutPath", _) => {
                    return Err(type_error(
                        origin,
                        &format!("{here}.logoutPath"),
                        "a string",
                    ));
                }
                ("logoutMethod", Value::String(m))
                    if ["GET", "POST", "PUT"].contains(&m.as_str()) =>
                {
                    method = Method::from_bytes(m.as_bytes()).unwrap_or(Method::POST);
                }
                ("logoutMethod", _) => {
                    return Err(Error::Config(format!(
                        "{origin}: {here}.logoutMethod must be \"GET\", \"POST\" or \"PUT\""
                    )));
                }
                _ => {
                    return Err(Error::Config(format!(
                        "{origin}: {here}: unknown key {key:?} (known: logoutPath, logoutMethod)"
                    )));
                }
            }
        }
        if let Some(path) = path {
            out.push(BackendLogout {
                destination: name.clone(),
                path,
                method,
            });
        }
    }
    Ok(out)
}

fn type_error(origin: &str, key: &str, expected: &str) -> Error {
    Error::Config(format!("{origin}: {key} must be {expected}"))
}

fn endpoint_path(origin: &str, key: &str, s: &str) -> Result<String, Error> {
    let path = if s.starts_with('/') {
        s.to_string()
    } else {
        format!("/{s}")
    };
    if path.len() < 2
        || path.contains(['?', '#', ' '])
        || crate::redirect::safe_relative(&path).is_none()
    {
        return Err(Error::Config(format!(
            "{origin}: {key} {s:?} must be a plain path like \"/logout\""
        )));
    }
    Ok(path)
}

fn parse_logout(
    obj: &Map<String, Value>,
    origin: &str,
    warnings: &mut Vec<String>,
) -> Result<Logout, Error> {
    let mut endpoint = None;
    let mut page = None;
    let mut method = None;
    let mut csrf = None;
    for (key, value) in obj {
        match key.as_str() {
            "logoutEndpoint" => match value {
                Value::String(s) => endpoint = Some(endpoint_path(origin, "logout.logoutEndpoint", s)?),
                _ => return Err(type_error(origin, "logout.logoutEndpoint", "a string")),
            },
            "logoutPage" => match value {
                Value::String(s) if s.starts_with('/') || s.contains("://") => page = Some(s.clone()),
                Value::String(s) => page = Some(format!("/{s}")),
                _ => return Err(type_error(origin, "logout.logoutPage", "a string")),
            },
            "logoutMethod" => match value.as_str() {
                Some("GET") => method = Some(Method::GET),
                Some("POST") => method = Some(Method::POST),
                _ => return Err(Error::Config(format!("{origin}: logout.logoutMethod must be \"GET\" or \"POST\""))),
            },
            "csrfProtection" => match value {
                Value::Bool(b) => csrf = Some(*b),
                _ => return Err(type_error(origin, "logout.csrfProtection", "true or false")),
            },
            "backChannelLogoutEndpoint" => warnings.push(format!(
                "{origin}: logout.backChannelLogoutEndpoint is not supported and ignored: sessions end by logout or timeout only"
            )),
            _ => return Err(Error::Config(format!("{origin}: logout: unknown key {key:?}"))),
        }
    }
    let endpoint = endpoint
        .ok_or_else(|| Error::Config(format!("{origin}: logout needs a logoutEndpoint")))?;
    // As `@sap/approuter`'s validator: a GET logout cannot carry a CSRF token.
    if csrf.is_some() && method != Some(Method::POST) {
        return Err(Error::Config(format!(
            "{origin}: logout.csrfProtection needs logout.logoutMethod \"POST\" (a GET logout cannot carry a CSRF token)"
        )));
    }
    let csrf_protection = method == Some(Method::POST) && csrf.unwrap_or(true);
    Ok(Logout {
        endpoint,
        page,
        method,
        csrf_protection,
    })
}

fn parse_response_headers(
    items: &[Value],
    origin: &str,
) -> Result<Vec<(HeaderName, HeaderValue)>, Error> {
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let (Some(name), Some(value)) = (
            item.get("name").and_then(Value::as_str),
            item.get("value").and_then(Value::as_str),
        ) else {
            return Err(Error::Config(format!(
                "{origin}: responseHeaders[{i}] needs string \"name\" and \"value\""
            )));
        };
        if let Some(obj) = item.as_object()
            && let Some(extra) = obj.keys().find(|k| *k != "name" && *k != "value")
        {
            return Err(Error::Config(format!(
                "{origin}: responseHeaders[{i}]: unknown key {extra:?}"
            )));
        }
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            Error::Config(format!(
                "{origin}: responseHeaders[{i}]: invalid header name {name:?}"
            ))
        })?;
        let value = HeaderValue::from_str(value).map_err(|_| {
            Error::Config(format!(
                "{origin}: responseHeaders[{i}]: invalid header value for {name}"
            ))
        })?;
        out.push((name, value));
    }
    Ok(out)
}

fn parse_route(
    index: usize,
    value: &Value,
    method: AuthenticationMethod,
    ctx: &Context<'_>,
    warnings: &mut Vec<String>,
) -> Result<Route, Error> {
    let origin = ctx.origin;
    let Value::Object(obj) = value else {
        return Err(Error::Config(format!(
            "{origin}: routes[{index}] must be an object"
        )));
    };
    let source_label = match obj.get("source") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => o
            .get("path")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string(),
        _ => String::from("?"),
    };
    let source_label = crate::error::excerpt(&source_label, crate::error::ECHO_LIMIT).into_owned();
    let here = format!("{origin}: routes[{index}] (source {source_label:?})");
    let err = |reason: String| Error::Config(format!("{here}: {reason}"));

    for key in obj.keys() {
        if ROUTE_KEYS.contains(&key.as_str()) {
            continue;
        }
        if let Some((_, why)) = ROUTE_REFUSED.iter().find(|(k, _)| k == key) {
            return Err(err(format!("key {key:?} is not supported: {why}")));
        }
        if let Some((_, why)) = ROUTE_IGNORED.iter().find(|(k, _)| k == key) {
            warnings.push(format!(
                "{here}: key {key:?} is not supported and ignored: {why}"
            ));
            continue;
        }
        return Err(err(format!("unknown key {key:?}")));
    }

    let source = match obj.get("source") {
        Some(Value::String(s)) => Source::new(s, true),
        Some(Value::Object(o)) => {
            if let Some(extra) = o.keys().find(|k| *k != "path" && *k != "matchCase") {
                return Err(err(format!("source: unknown key {extra:?}")));
            }
            let Some(path) = o.get("path").and_then(Value::as_str) else {
                return Err(err("source.path must be a string".into()));
            };
            let match_case = match o.get("matchCase") {
                None => true,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(err("source.matchCase must be true or false".into())),
            };
            Source::new(path, match_case)
        }
        None => return Err(err("source is missing".into())),
        Some(_) => return Err(err("source must be a regular expression string".into())),
    }
    .map_err(|e| {
        err(format!(
            "source is not a valid regular expression: {}",
            crate::error::excerpt(&e, 2 * crate::error::ECHO_LIMIT)
        ))
    })?;

    let target = match obj.get("target") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(err("target must be a string".into())),
    };
    if let Some(target) = &target {
        let groups = source.group_count();
        for n in crate::routes::group_references(target) {
            if n > groups && (n < 10 || n / 10 > groups) {
                // JavaScript's replace keeps such a reference as text; so do we, but it is
                // most likely a mistake in the file.
                warnings.push(format!(
                    "{here}: target {target:?} refers to ${n}, but source has {groups} group(s); it is forwarded as the text \"${n}\", as @sap/approuter does"
                ));
            }
        }
    }

    let destination = match obj.get("destination") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(err("destination must be a string".into())),
    };
    let local_dir = match obj.get("localDir") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(err("localDir must be a string".into())),
    };
    let service = match obj.get("service") {
        None => None,
        Some(Value::String(s)) if s == crate::user_api::SERVICE => Some(s.clone()),
        Some(Value::String(s)) => {
            return Err(err(format!(
                "service {s:?} is not supported (only {:?}): routes to bound services such as html5-apps-repo-rt would go nowhere",
                crate::user_api::SERVICE
            )));
        }
        Some(_) => return Err(err("service must be a string".into())),
    };
    match (obj.get("endpoint"), &service) {
        (None, _) => {}
        (Some(Value::String(_)), Some(_)) => warnings.push(format!(
            "{here}: endpoint is ignored: the user API answers currentUser and attributes"
        )),
        (Some(_), _) => {
            return Err(err(
                "endpoint belongs to a service route, and this route has no service".into(),
            ));
        }
    }
    let kind = match (destination, local_dir, service) {
        (_, _, Some(_)) if obj.contains_key("destination") || obj.contains_key("localDir") => {
            return Err(err(
                "has a service and a destination or localDir: only one of them".into(),
            ));
        }
        (_, _, Some(_)) => RouteKind::UserApi,
        (Some(_), Some(_), None) => {
            return Err(err("has both destination and localDir".into()));
        }
        (None, None, None) => {
            return Err(err("needs a destination, a localDir or a service".into()));
        }
        (Some(name), None, None) => {
            if !ctx.destinations.contains(&name) && !ctx.destination_service {
                let mut known: Vec<&str> = ctx.destinations.iter().map(String::as_str).collect();
                known.sort_unstable();
                return Err(err(format!(
                    "destination {name:?} is not defined in the `destinations` env (defined: {}) and no Destination service is bound",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )));
            }
            RouteKind::Destination(name)
        }
        (None, Some(dir), None) => {
            let path = ctx.base_dir.join(&dir);
            let canonical = path
                .canonicalize()
                .map_err(|e| err(format!("localDir {dir:?} ({}): {e}", path.display())))?;
            if !canonical.is_dir() {
                return Err(err(format!("localDir {dir:?} is not a directory")));
            }
            RouteKind::LocalDir(canonical)
        }
    };

    let authentication_type = match obj.get("authenticationType") {
        None => "xsuaa".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(err("authenticationType must be a string".into())),
    };
    let route_wants_auth = match authentication_type.as_str() {
        "xsuaa" => true,
        "none" => false,
        other => {
            return Err(err(format!(
                "authenticationType {other:?} is not supported (supported: \"xsuaa\", \"none\"); ignoring it would leave the route unprotected"
            )));
        }
    };
    let authenticated = route_wants_auth && method == AuthenticationMethod::Route;

    let scope = match obj.get("scope") {
        None => ScopeRule::None,
        Some(v) => {
            parse_scope(v, ctx.xsappname).map_err(|reason| err(format!("scope: {reason}")))?
        }
    };
    if !scope.is_none() && !authenticated {
        return Err(err(
            "has a scope but no authentication (authenticationType \"none\" or authenticationMethod \"none\"): the scope could not be checked".into(),
        ));
    }
    if let ScopeRule::PerMethod { default: None, .. } = &scope {
        warnings.push(format!(
            "{here}: scope has no \"default\": HTTP methods not listed need no scope, only a login"
        ));
    }

    let csrf_protection = match obj.get("csrfProtection") {
        None => authenticated,
        Some(Value::Bool(b)) => {
            if *b && !authenticated {
                warnings.push(format!(
                    "{here}: csrfProtection applies to authenticated routes only; this route has no login, so there is no session to protect"
                ));
            }
            *b && authenticated
        }
        Some(_) => return Err(err("csrfProtection must be true or false".into())),
    };

    let http_methods = match obj.get("httpMethods") {
        None => None,
        Some(Value::Array(items)) => {
            let mut methods = Vec::new();
            for item in items {
                let Some(name) = item.as_str() else {
                    return Err(err("httpMethods must be an array of method names".into()));
                };
                methods.push(
                    parse_method(name)
                        .ok_or_else(|| err(format!("httpMethods: unknown method {name:?}")))?,
                );
            }
            if methods.is_empty() {
                return Err(err(
                    "httpMethods is empty, so the route could never match".into()
                ));
            }
            Some(methods)
        }
        Some(_) => return Err(err("httpMethods must be an array of method names".into())),
    };

    let cache_control = match obj.get("cacheControl") {
        None => None,
        Some(Value::String(s)) => Some(
            HeaderValue::from_str(s)
                .map_err(|_| err(format!("cacheControl {s:?} is not a valid header value")))?,
        ),
        Some(_) => return Err(err("cacheControl must be a string".into())),
    };
    if cache_control.is_some() && matches!(kind, RouteKind::Destination(_)) {
        warnings.push(format!(
            "{here}: cacheControl applies to localDir routes only and is ignored here"
        ));
    }
    let replace = match obj.get("replace") {
        None => None,
        Some(v) => {
            if !matches!(kind, RouteKind::LocalDir(_)) {
                return Err(err(
                    "replace needs a localDir: it fills placeholders in static files".into(),
                ));
            }
            Some(crate::static_files::Replace::parse(v).map_err(err)?)
        }
    };

    let set_backend_session_cookies = match obj.get("setBackendSessionCookies") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(err("setBackendSessionCookies must be true or false".into())),
    };

    Ok(Route {
        index,
        source_text: source_label,
        source,
        target,
        kind,
        authenticated,
        scope,
        csrf_protection,
        http_methods,
        cache_control,
        set_backend_session_cookies,
        replace,
        implicit: false,
    })
}

const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
];

fn parse_method(name: &str) -> Option<Method> {
    let upper = name.to_ascii_uppercase();
    METHODS
        .contains(&upper.as_str())
        .then(|| Method::from_bytes(upper.as_bytes()).ok())
        .flatten()
}

fn parse_scope(value: &Value, xsappname: Option<&str>) -> Result<ScopeRule, String> {
    match value {
        Value::String(_) | Value::Array(_) => Ok(ScopeRule::Any(scope_list(value, xsappname)?)),
        Value::Object(obj) => {
            let mut methods = Vec::new();
            let mut default = None;
            for (key, v) in obj {
                if key == "default" {
                    default = Some(scope_list(v, xsappname)?);
                } else {
                    let method =
                        parse_method(key).ok_or_else(|| format!("unknown HTTP method {key:?}"))?;
                    methods.push((method, scope_list(v, xsappname)?));
                }
            }
            Ok(ScopeRule::PerMethod { methods, default })
        }
        _ => Err("must be a string, an array of strings or an object per HTTP method".into()),
    }
}

fn scope_list(value: &Value, xsappname: Option<&str>) -> Result<Vec<String>, String> {
    let raw: Vec<&str> = match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().ok_or_else(|| format!("{v} is not a string")))
            .collect::<Result<_, _>>()?,
        other => return Err(format!("{other} is not a string or an array of strings")),
    };
    if raw.is_empty() {
        return Err("an empty list of scopes would let nobody in".into());
    }
    raw.into_iter()
        .map(|s| {
            if s.trim().is_empty() {
                return Err("empty scope name".to_string());
            }
            if s.contains("$XSAPPNAME") {
                let name = xsappname.ok_or_else(|| {
                    format!("{s:?} uses $XSAPPNAME but there is no xsuaa binding in VCAP_SERVICES")
                })?;
                Ok(s.replace("$XSAPPNAME", name))
            } else {
                Ok(s.to_string())
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
