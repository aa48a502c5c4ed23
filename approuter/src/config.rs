//! Everything the router is told at start-up, from the same places `@sap/approuter` reads it:
//! `xs-app.json`, `destinations`, `VCAP_SERVICES`, `PORT`, `SESSION_TIMEOUT`, plus `REDIS_URL`,
//! `XS_APP_JSON`, `TRUSTED_PROXIES` and `ALLOWED_REDIRECT_HOSTS`, and the server's
//! `INCOMING_CONNECTION_TIMEOUT` / `INCOMING_REQUEST_TIMEOUT` (as `@sap/approuter`) and
//! `INCOMING_MAX_CONNECTIONS`. Loaded and validated once;
//! any error stops start-up with a message naming the file or variable, the key and the reason.

use crate::error::Error;
use crate::forwarded::TrustedProxies;
use crate::session::DEFAULT_COOKIE_NAME;
use crate::xs_app::{self, XsApp};
use common::cf::{AppRouterDestination, VcapServices, XsuaaCredentials, parse_destinations};
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
    pub session_timeout: Duration,
    pub redis_url: Option<String>,
    pub trusted_proxies: TrustedProxies,
    /// Hosts an absolute `logoutPage` may point to.
    pub allowed_redirect_hosts: Vec<String>,
    pub cookie_name: String,
    /// Timeouts and connection limit of the listener (`INCOMING_*`, see `common::server`).
    pub server: ServerLimits,
    /// Harmless oddities found while loading, for the start-up log.
    pub warnings: Vec<String>,
}

impl Config {
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
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
        let xsuaa = match &vcap {
            Some(v)
                if v.bindings()
                    .any(|b| b.label == "xsuaa" || b.tags.iter().any(|t| t == "xsuaa")) =>
            {
                Some(v.xsuaa().map_err(|e| Error::Config(e.to_string()))?)
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
        let xs_app = xs_app::parse(
            &text,
            &xs_app::Context {
                origin: &origin,
                destinations: &names,
                xsappname: xsuaa.as_ref().map(|x| x.xsappname.as_str()),
                base_dir: &base_dir,
            },
        )?;

        if xsuaa.is_none()
            && let Some(route) = xs_app.routes.iter().find(|r| r.authenticated)
        {
            return Err(Error::Config(format!(
                "{origin}: {} needs an XSUAA login (authenticationType \"xsuaa\" is the default), but VCAP_SERVICES has no xsuaa binding",
                route.label()
            )));
        }

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

        let session_timeout = match (xs_app.session_timeout, var("SESSION_TIMEOUT")) {
            (Some(t), _) => t,
            (None, Some(minutes)) => match minutes.trim().parse::<u64>() {
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
            (None, None) => DEFAULT_SESSION_TIMEOUT,
        };

        let redis_url = match var("REDIS_URL") {
            Some(url) => Some(check_redis_url(&url, "REDIS_URL")?),
            None => match vcap.as_ref().and_then(VcapServices::redis_uri) {
                Some(url) => Some(check_redis_url(&url, "VCAP_SERVICES (redis binding)")?),
                None => None,
            },
        };

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

        let server = ServerLimits::from_lookup(var).map_err(Error::Config)?;

        Ok(Config {
            port,
            xs_app,
            xs_app_path,
            destinations,
            xsuaa,
            session_timeout,
            redis_url,
            trusted_proxies,
            allowed_redirect_hosts,
            cookie_name: DEFAULT_COOKIE_NAME.to_string(),
            server,
            warnings,
        })
    }
}

fn check_redis_url(url: &str, origin: &str) -> Result<String, Error> {
    let parsed = url::Url::parse(url)
        .map_err(|e| Error::Config(format!("{origin}: not a valid Redis URL: {e}")))?;
    if !matches!(parsed.scheme(), "redis") {
        return Err(Error::Config(format!(
            "{origin}: scheme {:?} is not supported (use redis://host:port)",
            parsed.scheme()
        )));
    }
    Ok(url.to_string())
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
