//! Everything the router is told at start-up, from the same places `@sap/approuter` reads it:
//! `xs-app.json`, `destinations`, `VCAP_SERVICES`, `PORT`, `SESSION_TIMEOUT`, plus `REDIS_URL`,
//! `XS_APP_JSON`, `TRUSTED_PROXIES` and `ALLOWED_REDIRECT_HOSTS`, and the server's
//! `INCOMING_CONNECTION_TIMEOUT` / `INCOMING_REQUEST_TIMEOUT` (as `@sap/approuter`) and
//! `INCOMING_MAX_CONNECTIONS`. Loaded and validated once;
//! any error stops start-up with a message naming the file or variable, the key and the reason.

use crate::error::Error;
use crate::forwarded::TrustedProxies;
use crate::session::DEFAULT_COOKIE_NAME;
/// The session cookie's `SameSite`, as `COOKIES` sets it.
pub use crate::session::SameSite;
use crate::xs_app::{self, XsApp};
use axum::http::{HeaderName, HeaderValue};
use common::cf::{
    AppRouterDestination, DestinationCredentials, VcapServices, XsuaaCredentials,
    parse_destinations,
};
use common::server::ServerLimits;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_PORT: u16 = 5000;
/// `@sap/approuter`'s default idle timeout.
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(15 * 60);

pub struct Config {
    pub port: u16,
    pub xs_app: XsApp,
    pub xs_app_path: PathBuf,
    pub destinations: Vec<AppRouterDestination>,
    pub xsuaa: Option<XsuaaCredentials>,
    /// The bound Destination service (label or tag `destination`): route destinations that the
    /// `destinations` env does not define are looked up there.
    pub destination_service: Option<DestinationCredentials>,
    pub session_timeout: Duration,
    pub redis_url: Option<String>,
    pub trusted_proxies: TrustedProxies,
    /// Hosts an absolute `logoutPage` may point to.
    pub allowed_redirect_hosts: Vec<String>,
    pub cookie_name: String,
    /// `WS_ALLOWED_ORIGINS`: the origins that may open WebSockets (default: the router's own).
    pub ws_allowed_origins: Option<Vec<crate::websocket::AllowedOrigin>>,
    /// `httpHeaders` (env) plus `x-frame-options: SAMEORIGIN` unless `SEND_XFRAMEOPTIONS` is
    /// false: added to every answer.
    pub additional_headers: Vec<(HeaderName, HeaderValue)>,
    /// `COOKIES: {"SameSite": "None"|"Lax"}` for the session cookie (default Lax).
    pub cookie_same_site: SameSite,
    /// `SECURE_SESSION_COOKIE`: `Some(true)` always Secure (and plain-http requests refused, as
    /// SAP does), `Some(false)` never, `None` Secure whenever the request came over https.
    pub secure_session_cookie: Option<bool>,
    /// `XS_BIND_ADDRESS` (else `BIND_ADDRESS`), default all interfaces.
    pub bind_address: String,
    /// Timeouts and connection limit of the listener (`INCOMING_*`, see `common::server`).
    pub server: ServerLimits,
    /// `CORS` env rules, tried after `xs-app.json`'s `cors`.
    pub cors_env: Vec<crate::cors::CorsRule>,
    /// `compression` with `COMPRESSION` laid over it; `None`: disabled.
    pub compression: Option<crate::compression::Compression>,
    /// `PRESERVE_FRAGMENT` (default true): a browser sent to the login gets a small page that
    /// keeps the URL's `#fragment` instead of a bare redirect.
    pub preserve_fragment: bool,
    /// Harmless oddities found while loading, for the start-up log.
    pub warnings: Vec<String>,
}

impl Config {
    /// From the process env, with `default-env.json` in the working directory (as
    /// `@sap/approuter` reads it for local runs) filling in the variables the env does not set.
    pub fn from_env() -> Result<Self, Error> {
        let defaults = default_env(Path::new("default-env.json"))?;
        Self::from_lookup(|name| {
            std::env::var(name)
                .ok()
                .or_else(|| defaults.get(name).cloned())
        })
    }

    /// Like [`Config::from_env`], with the variables coming from `env` (tests pass a map).
    pub fn from_lookup(env: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());

        let port = match var("PORT") {
            None => DEFAULT_PORT,
            Some(p) => p
                .trim()
                .parse::<u16>()
                .map_err(|_| Error::Config(format!("PORT: {p:?} is not a port number")))?,
        };

        let vcap = match var("VCAP_SERVICES") {
            None => None,
            Some(json) => {
                Some(VcapServices::parse(&json).map_err(|e| Error::Config(e.to_string()))?)
            }
        };
        let xsuaa = match (&vcap, var("UAA_SERVICE_NAME")) {
            (Some(v), Some(name)) => Some(
                v.xsuaa_named(name.trim())
                    .map_err(|e| Error::Config(e.to_string()))?,
            ),
            (Some(v), None)
                if v.bindings()
                    .any(|b| b.label == "xsuaa" || b.tags.iter().any(|t| t == "xsuaa")) =>
            {
                Some(v.xsuaa().map_err(|e| Error::Config(e.to_string()))?)
            }
            _ => None,
        };
        // Local runs: `default-services.json` next to the app holds `{"uaa": {credentials}}`.
        let xsuaa = match xsuaa {
            Some(x) => Some(x),
            None => default_services_uaa(Path::new("default-services.json"))?,
        };

        let destination_service = match &vcap {
            Some(v)
                if v.bindings().any(|b| {
                    b.label == "destination" || b.tags.iter().any(|t| t == "destination")
                }) =>
            {
                Some(
                    v.destination()
                        .map_err(|e| Error::Config(format!("VCAP_SERVICES: {e}")))?,
                )
            }
            _ => None,
        };

        let destinations = match var("destinations") {
            None => Vec::new(),
            Some(json) => parse_destinations(&json).map_err(|e| Error::Config(e.to_string()))?,
        };
        let names: HashSet<String> = destinations.iter().map(|d| d.name.clone()).collect();

        let xs_app_path = PathBuf::from(var("XS_APP_JSON").unwrap_or_else(|| "xs-app.json".into()));
        let text = std::fs::read_to_string(&xs_app_path).map_err(|e| {
            Error::Config(format!(
                "{}: cannot read xs-app.json ({e}); set XS_APP_JSON to its path",
                xs_app_path.display()
            ))
        })?;
        let origin = xs_app_path.display().to_string();
        let base_dir = xs_app_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let mut xs_app = xs_app::parse(
            &text,
            &xs_app::Context {
                origin: &origin,
                destinations: &names,
                destination_service: destination_service.is_some(),
                xsappname: xsuaa.as_ref().map(|x| x.xsappname.as_str()),
                base_dir: &base_dir,
            },
        )?;

        if xsuaa.is_none()
            && let Some(route) = xs_app.routes.iter().find(|r| r.authenticated)
        {
            let which = if route.implicit {
                "the route @sap/approuter adds for the resources folder (no route has a localDir)"
                    .to_string()
            } else {
                route.label()
            };
            return Err(Error::Config(format!(
                "{origin}: {which} needs an XSUAA login (authenticationType \"xsuaa\" is the default), but VCAP_SERVICES has no xsuaa binding",
            )));
        }
        for route in &mut xs_app.routes {
            let label = route.label();
            if let Some(replace) = &mut route.replace {
                replace
                    .resolve(&var, vcap.as_ref())
                    .map_err(|e| Error::Config(format!("{origin}: {label}: {e}")))?;
            }
        }
        let cors_env = match var("CORS") {
            None => Vec::new(),
            Some(json) => {
                let value: serde_json::Value = serde_json::from_str(&json)
                    .map_err(|e| Error::Config(format!("CORS: not valid JSON: {e}")))?;
                crate::cors::parse(&value, "CORS")?
            }
        };
        let compression_env = match var("COMPRESSION") {
            None => crate::compression::Settings::default(),
            Some(json) => {
                let value: serde_json::Value = serde_json::from_str(&json)
                    .map_err(|e| Error::Config(format!("COMPRESSION: not valid JSON: {e}")))?;
                crate::compression::Settings::parse(&value, "COMPRESSION")?
            }
        };
        let compression = xs_app.compression.merged(compression_env);
        let preserve_fragment = match var("PRESERVE_FRAGMENT").as_deref().map(str::trim) {
            None | Some("true") => true,
            Some("false") => false,
            Some(other) => {
                return Err(Error::Config(format!(
                    "PRESERVE_FRAGMENT: {other:?} must be true or false"
                )));
            }
        };

        let mut warnings = xs_app.warnings.clone();
        for route in &xs_app.routes {
            if let Some(name) = route.destination() {
                let forwards = destinations
                    .iter()
                    .any(|d| d.name == name && d.forward_auth_token);
                if forwards && !route.authenticated {
                    warnings.push(format!(
                        "{origin}: {} has no login, so destination {name:?} gets no token despite forwardAuthToken",
                        route.label()
                    ));
                }
            }
        }

        // `SESSION_TIMEOUT || sessionTimeout` in `@sap/approuter` (configuration.js): the env wins.
        let session_timeout = match (var("SESSION_TIMEOUT"), xs_app.session_timeout) {
            (Some(minutes), _) => match minutes.trim().parse::<u64>() {
                Ok(m) if (1..=xs_app::MAX_SESSION_TIMEOUT_MINUTES).contains(&m) => {
                    Duration::from_secs(m * 60)
                }
                _ => {
                    return Err(Error::Config(format!(
                        "SESSION_TIMEOUT: {minutes:?} is not a positive number of minutes up to {}",
                        xs_app::MAX_SESSION_TIMEOUT_MINUTES
                    )));
                }
            },
            (None, Some(t)) => t,
            (None, None) => DEFAULT_SESSION_TIMEOUT,
        };

        let additional_headers = additional_headers(
            var("httpHeaders").as_deref(),
            var("SEND_XFRAMEOPTIONS").as_deref(),
        )?;
        let cookie_same_site = match var("COOKIES") {
            None => SameSite::Lax,
            Some(json) => parse_cookies(&json)?,
        };
        let secure_session_cookie = match var("SECURE_SESSION_COOKIE").as_deref().map(str::trim) {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(other) => {
                return Err(Error::Config(format!(
                    "SECURE_SESSION_COOKIE: {other:?} must be true or false"
                )));
            }
        };
        if cookie_same_site == SameSite::None && secure_session_cookie == Some(false) {
            return Err(Error::Config(
                "COOKIES SameSite=None needs a Secure cookie, but SECURE_SESSION_COOKIE is false: browsers drop such cookies".into(),
            ));
        }
        let bind_address = var("XS_BIND_ADDRESS")
            .or_else(|| var("BIND_ADDRESS"))
            .unwrap_or_else(|| "0.0.0.0".into());
        if let Some(minutes) = var("JWT_REFRESH") {
            match minutes.trim().parse::<u64>() {
                Ok(_) => warnings.push(
                    "JWT_REFRESH is read but the token is refreshed on its own schedule: when a request comes in the last part of its lifetime (proportional to the lifetime), not a fixed number of minutes before it expires".into(),
                ),
                Err(_) => {
                    return Err(Error::Config(format!(
                        "JWT_REFRESH: {minutes:?} is not a number of minutes"
                    )));
                }
            }
        }

        let redis_url = match var("REDIS_URL") {
            Some(url) => Some(check_redis_url(&url, "REDIS_URL")?),
            None => match vcap.as_ref().and_then(VcapServices::redis_uri) {
                Some(url) => Some(check_redis_url(&url, "VCAP_SERVICES (redis binding)")?),
                None => None,
            },
        };

        if redis_url.is_some() && !xs_app.backend_logout.is_empty() {
            warnings.push(format!(
                "{origin}: destinations.*.logoutPath is called at central logout only: Redis expires idle sessions by itself, so a session timeout is not seen by the router (the memory store calls it on timeout too, as @sap/approuter's does)"
            ));
        }

        let trusted_proxies = match var("TRUSTED_PROXIES") {
            Some(list) => TrustedProxies::parse(&list, "TRUSTED_PROXIES")?,
            // On Cloud Foundry only the gorouter, from the platform's private network, can reach
            // the container.
            None if var("CF_INSTANCE_IP").is_some() => TrustedProxies::private_networks(),
            None => TrustedProxies::default(),
        };

        let allowed_redirect_hosts: Vec<String> = var("ALLOWED_REDIRECT_HOSTS")
            .map(|list| {
                list.split(',')
                    .map(|h| h.trim().to_string())
                    .filter(|h| !h.is_empty())
                    .collect()
            })
            .unwrap_or_default();

        if let Some(page) = xs_app.logout.as_ref().and_then(|l| l.page.as_deref()) {
            check_logout_page(page, &allowed_redirect_hosts, &origin)?;
        }

        let ws_allowed_origins = match var("WS_ALLOWED_ORIGINS") {
            Some(json) => Some(crate::websocket::parse_allowed_origins(&json)?),
            None => None,
        };

        let server = ServerLimits::from_lookup(var).map_err(Error::Config)?;

        Ok(Config {
            port,
            xs_app,
            xs_app_path,
            destinations,
            xsuaa,
            destination_service,
            session_timeout,
            redis_url,
            trusted_proxies,
            allowed_redirect_hosts,
            cookie_name: DEFAULT_COOKIE_NAME.to_string(),
            ws_allowed_origins,
            additional_headers,
            cookie_same_site,
            secure_session_cookie,
            bind_address,
            server,
            cors_env,
            compression,
            preserve_fragment,
            warnings,
        })
    }
}

fn check_redis_url(url: &str, origin: &str) -> Result<String, Error> {
    let parsed = url::Url::parse(url)
        .map_err(|e| Error::Config(format!("{origin}: not a valid Redis URL: {e}")))?;
    if !matches!(parsed.scheme(), "redis" | "rediss") {
        return Err(Error::Config(format!(
            "{origin}: scheme {:?} is not supported (use redis://host:port or rediss:// for TLS)",
            parsed.scheme()
        )));
    }
    Ok(url.to_string())
}

/// `default-env.json`: `{"VAR": value}`; strings as they are, other values as JSON text (what
/// `@sap/xsenv` puts into `process.env`). No file: nothing.
fn default_env(path: &Path) -> Result<std::collections::HashMap<String, String>, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Default::default()),
        Err(e) => return Err(Error::Config(format!("{}: {e}", path.display()))),
    };
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text)
        .map_err(|e| Error::Config(format!("{}: not a JSON object: {e}", path.display())))?;
    Ok(map
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect())
}

/// `default-services.json`'s `uaa` entry: the xsuaa credentials of a local run.
fn default_services_uaa(path: &Path) -> Result<Option<XsuaaCredentials>, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::Config(format!("{}: {e}", path.display()))),
    };
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::Config(format!("{}: not valid JSON: {e}", path.display())))?;
    match value.get("uaa") {
        None => Ok(None),
        Some(uaa) => serde_json::from_value(uaa.clone())
            .map(Some)
            .map_err(|e| Error::Config(format!("{}: uaa: {e}", path.display()))),
    }
}

/// `httpHeaders` (`[{"Name": "value"}, ...]`) and the `x-frame-options: SAMEORIGIN` that
/// `@sap/approuter` sends unless `SEND_XFRAMEOPTIONS` is false or `httpHeaders` sets its own.
fn additional_headers(
    http_headers: Option<&str>,
    send_xframeoptions: Option<&str>,
) -> Result<Vec<(HeaderName, HeaderValue)>, Error> {
    let mut out = Vec::new();
    if let Some(json) = http_headers {
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| Error::Config(format!("httpHeaders: not valid JSON: {e}")))?;
        let items = value.as_array().ok_or_else(|| {
            Error::Config("httpHeaders: must be an array of {\"Header-Name\": \"value\"}".into())
        })?;
        for (i, item) in items.iter().enumerate() {
            let object = item
                .as_object()
                .ok_or_else(|| Error::Config(format!("httpHeaders[{i}]: must be an object")))?;
            for (name, value) in object {
                let header =
                    HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).map_err(|_| {
                        Error::Config(format!("httpHeaders[{i}]: invalid header name {name:?}"))
                    })?;
                let value = value
                    .as_str()
                    .and_then(|v| HeaderValue::from_str(v).ok())
                    .ok_or_else(|| {
                        Error::Config(format!(
                            "httpHeaders[{i}]: the value of {name:?} must be a valid header string"
                        ))
                    })?;
                out.push((header, value));
            }
        }
    }
    let send = match send_xframeoptions.map(str::trim) {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => {
            return Err(Error::Config(format!(
                "SEND_XFRAMEOPTIONS: {other:?} must be true or false"
            )));
        }
    };
    if send && !out.iter().any(|(n, _)| n == "x-frame-options") {
        out.insert(
            0,
            (
                HeaderName::from_static("x-frame-options"),
                HeaderValue::from_static("SAMEORIGIN"),
            ),
        );
    }
    Ok(out)
}

/// `COOKIES`: `{"SameSite": "None"|"Lax"}` (SAP's `Partitioned` is accepted and ignored).
fn parse_cookies(json: &str) -> Result<SameSite, Error> {
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| Error::Config(format!("COOKIES: not valid JSON: {e}")))?;
    let object = value.as_object().ok_or_else(|| {
        Error::Config("COOKIES: must be an object like {\"SameSite\": \"None\"}".into())
    })?;
    let mut same_site = SameSite::Lax;
    for (key, v) in object {
        match (key.as_str(), v.as_str()) {
            ("SameSite", Some("None")) => same_site = SameSite::None,
            ("SameSite", Some("Lax")) => same_site = SameSite::Lax,
            ("SameSite", _) => {
                return Err(Error::Config(format!(
                    "COOKIES: SameSite must be \"None\" or \"Lax\", not {v}"
                )));
            }
            ("Partitioned", _) => {}
            _ => return Err(Error::Config(format!("COOKIES: unknown key {key:?}"))),
        }
    }
    Ok(same_site)
}

/// A Redis URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "(unparsable URL)".into(),
    }
}

fn check_logout_page(page: &str, allowed: &[String], origin: &str) -> Result<(), Error> {
    if page.starts_with('/') {
        return crate::redirect::safe_relative(page)
            .map(|_| ())
            .ok_or_else(|| {
                Error::Config(format!(
                    "{origin}: logout.logoutPage {page:?} is not a plain path on this router"
                ))
            });
    }
    let Ok(url) = url::Url::parse(page) else {
        return Err(Error::Config(format!(
            "{origin}: logout.logoutPage {page:?} must start with '/' or be an absolute http(s) URL"
        )));
    };
    let host = url.host_str().unwrap_or_default();
    if crate::redirect::safe_target(page, "", allowed).is_none() {
        return Err(Error::Config(format!(
            "{origin}: logout.logoutPage {page:?}: host {host:?} is not listed in ALLOWED_REDIRECT_HOSTS"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
