//! `xs-app.json`, as `@sap/approuter` reads it: parsed and validated once at start-up.
//!
//! Every key of the file is known to this module: supported keys are applied, keys of
//! `@sap/approuter` we do not implement are reported (a warning when ignoring them is harmless, an
//! error when ignoring them would weaken security or break the route), anything else is an error.
//!
//! Layers, each using only those below it: [`document`] (the file as serde reads it, pure data);
//! the compiled sections ([`crate::source`], [`crate::cors`], [`crate::compression`],
//! [`crate::error_page`], [`crate::static_files`]'s `replace`, [`route`], [`logout`]); this module,
//! which checks the whole file into an [`XsApp`]; [`crate::routes`], which matches requests
//! against its routes.

pub mod context;
pub mod document;
pub mod logout;
pub mod route;

pub use context::Context;
pub use logout::{BackendLogout, Logout};
pub use route::{Route, RouteKind, ScopeRule};

use crate::error::Error;
use axum::http::{HeaderName, HeaderValue};
use document::{Document, Field, Pattern, ResponseHeader, RouteEntry};
use logout::{compile_backend_logout, compile_logout, endpoint_path, type_error};
use serde::Deserialize;
use serde_json::Value;
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthenticationMethod {
    Route,
    None,
}

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
pub fn parse(text: &str, ctx: &Context<'_>) -> Result<XsApp, Error> {
    let origin = ctx.origin;
    // Read as JSON first, then into the sections: a document with a key twice keeps the last, as
    // `JSON.parse` does in `@sap/approuter`.
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Error::Config(format!("{origin}: not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(Error::Config(format!("{origin}: must be a JSON object")));
    }
    let doc = Document::deserialize(&value).map_err(|e| Error::Config(format!("{origin}: {e}")))?;
    let mut warnings = Vec::new();
    for key in doc.extra.keys() {
        if let Some((_, why)) = TOP_IGNORED.iter().find(|(k, _)| k == key) {
            warnings.push(format!(
                "{origin}: key {key:?} is not supported and ignored: {why}"
            ));
            continue;
        }
        return Err(Error::Config(format!("{origin}: unknown key {key:?}")));
    }

    match doc.state_protection {
        Field::Absent | Field::Valid(true) => {}
        Field::Valid(false) => warnings.push(format!(
            "{origin}: stateProtection false is ignored: the login always checks its state parameter (and PKCE), as it must"
        )),
        Field::Wrong(_) => return Err(type_error(origin, "stateProtection", "true or false")),
    }

    let welcome_file = match &doc.welcome_file {
        Field::Absent | Field::Valid(None) => None,
        Field::Valid(Some(s)) => {
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
        Field::Wrong(_) => return Err(type_error(origin, "welcomeFile", "a string")),
    };

    let authentication_method = match &doc.authentication_method {
        Field::Absent => AuthenticationMethod::Route,
        Field::Valid(s) if s == "route" => AuthenticationMethod::Route,
        Field::Valid(s) if s == "none" => AuthenticationMethod::None,
        Field::Valid(other) => {
            return Err(Error::Config(format!(
                "{origin}: authenticationMethod must be \"route\" or \"none\", not {}",
                Value::from(other.as_str())
            )));
        }
        Field::Wrong(other) => {
            return Err(Error::Config(format!(
                "{origin}: authenticationMethod must be \"route\" or \"none\", not {other}"
            )));
        }
    };

    let session_timeout = match &doc.session_timeout {
        Field::Absent => None,
        Field::Valid(minutes) if (1..=MAX_SESSION_TIMEOUT_MINUTES).contains(minutes) => {
            Some(Duration::from_secs(minutes * 60))
        }
        Field::Valid(minutes) => return Err(session_timeout_error(origin, minutes)),
        Field::Wrong(v) => return Err(session_timeout_error(origin, v)),
    };

    let logout = match &doc.logout {
        Field::Absent => None,
        Field::Valid(section) => Some(compile_logout(section, origin, &mut warnings)?),
        Field::Wrong(_) => return Err(type_error(origin, "logout", "an object")),
    };

    let backend_logout = match &doc.destinations {
        Field::Absent => Vec::new(),
        Field::Valid(sections) => compile_backend_logout(sections, ctx)?,
        Field::Wrong(_) => return Err(type_error(origin, "destinations", "an object")),
    };

    let callback_endpoint = match &doc.login {
        Field::Absent => DEFAULT_CALLBACK.to_string(),
        Field::Valid(login) => {
            if let Some(key) = login.extra.keys().next() {
                return Err(Error::Config(format!(
                    "{origin}: login: unknown key {key:?}"
                )));
            }
            match &login.callback_endpoint {
                Field::Absent => DEFAULT_CALLBACK.to_string(),
                Field::Valid(s) => endpoint_path(origin, "login.callbackEndpoint", s)?,
                Field::Wrong(_) => {
                    return Err(type_error(origin, "login.callbackEndpoint", "a string"));
                }
            }
        }
        Field::Wrong(_) => return Err(type_error(origin, "login", "an object")),
    };

    let response_headers = match &doc.response_headers {
        Field::Absent => Vec::new(),
        Field::Valid(items) => compile_response_headers(items, origin)?,
        Field::Wrong(_) => {
            return Err(type_error(
                origin,
                "responseHeaders",
                "an array of {name, value}",
            ));
        }
    };

    let websockets_enabled = match &doc.websockets {
        Field::Absent => false,
        Field::Valid(section) => {
            if let Some(key) = section.extra.keys().next() {
                return Err(Error::Config(format!(
                    "{origin}: websockets: unknown key {key:?}"
                )));
            }
            match section.enabled {
                Field::Valid(b) => b,
                _ => return Err(type_error(origin, "websockets.enabled", "true or false")),
            }
        }
        Field::Wrong(_) => {
            return Err(type_error(
                origin,
                "websockets",
                "an object like {\"enabled\": true}",
            ));
        }
    };

    let authenticate = authentication_method == AuthenticationMethod::Route;
    let entries: &[Field<RouteEntry>] = match &doc.routes {
        Field::Absent => &[],
        Field::Valid(items) => items,
        Field::Wrong(_) => return Err(type_error(origin, "routes", "an array")),
    };
    let mut routes = Vec::with_capacity(entries.len() + 1);
    for (index, entry) in entries.iter().enumerate() {
        let Field::Valid(entry) = entry else {
            return Err(Error::Config(format!(
                "{origin}: routes[{index}] must be an object"
            )));
        };
        routes.push(route::compile(
            index,
            entry,
            authenticate,
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
        let implicit = RouteEntry {
            source: Field::Valid(Pattern::Text("^/(.*)".into())),
            local_dir: Field::Valid("resources".into()),
            ..RouteEntry::default()
        };
        let mut route = route::compile(routes.len(), &implicit, authenticate, ctx, &mut warnings)?;
        route.implicit = true;
        routes.push(route);
    }

    let cors = match &doc.cors {
        Field::Absent => Vec::new(),
        entries => crate::cors::compile(entries, &format!("{origin}: cors"))?,
    };
    let compression = match &doc.compression {
        Field::Absent => crate::compression::Settings::default(),
        section => {
            crate::compression::Settings::compile(section, &format!("{origin}: compression"))?
        }
    };
    let error_pages = match &doc.error_page {
        Field::Absent => crate::error_page::ErrorPages::default(),
        entries => crate::error_page::ErrorPages::compile(
            entries,
            &format!("{origin}: errorPage"),
            ctx.base_dir,
        )?,
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

fn session_timeout_error(origin: &str, value: &dyn std::fmt::Display) -> Error {
    Error::Config(format!(
        "{origin}: sessionTimeout must be a positive number of minutes up to {MAX_SESSION_TIMEOUT_MINUTES}, not {value}"
    ))
}

fn compile_response_headers(
    items: &[Field<ResponseHeader>],
    origin: &str,
) -> Result<Vec<(HeaderName, HeaderValue)>, Error> {
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Field::Valid(ResponseHeader {
            name: Field::Valid(name),
            value: Field::Valid(value),
            extra,
        }) = item
        else {
            return Err(Error::Config(format!(
                "{origin}: responseHeaders[{i}] needs string \"name\" and \"value\""
            )));
        };
        if let Some(key) = extra.keys().next() {
            return Err(Error::Config(format!(
                "{origin}: responseHeaders[{i}]: unknown key {key:?}"
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

#[cfg(test)]
mod tests;
