//! `logout` and `destinations.<name>.logoutPath` of `xs-app.json`: where a session ends, at the
//! router and at the backends.

use super::context::Context;
use super::document::{DestinationSection, Field, LogoutSection};
use crate::error::Error;
use axum::http::Method;
use std::collections::BTreeMap;

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

/// `destinations: {"<name>": {"logoutPath": "/logout", "logoutMethod": "POST"}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct BackendLogout {
    pub destination: String,
    pub path: String,
    /// Default POST, as `@sap/approuter`.
    pub method: Method,
}

pub(super) fn compile_backend_logout(
    sections: &BTreeMap<String, Field<DestinationSection>>,
    ctx: &Context<'_>,
) -> Result<Vec<BackendLogout>, Error> {
    let origin = ctx.origin;
    let mut out = Vec::new();
    for (name, section) in sections {
        let here = format!("destinations.{name}");
        let Field::Valid(section) = section else {
            return Err(type_error(origin, &here, "an object"));
        };
        if !ctx.destinations.contains(name) && !ctx.destination_service {
            return Err(Error::Config(format!(
                "{origin}: {here}: destination {name:?} is not defined in the `destinations` env and no Destination service is bound"
            )));
        }
        if let Some(key) = section.extra.keys().next() {
            return Err(Error::Config(format!(
                "{origin}: {here}: unknown key {key:?} (known: logoutPath, logoutMethod)"
            )));
        }
        let method = match &section.logout_method {
            Field::Absent => Method::POST,
            Field::Valid(m) if m == "GET" => Method::GET,
            Field::Valid(m) if m == "POST" => Method::POST,
            Field::Valid(m) if m == "PUT" => Method::PUT,
            _ => {
                return Err(Error::Config(format!(
                    "{origin}: {here}.logoutMethod must be \"GET\", \"POST\" or \"PUT\""
                )));
            }
        };
        let path = match &section.logout_path {
            Field::Absent => None,
            Field::Valid(p) => {
                if !p.starts_with('/') || crate::redirect::safe_relative(p).is_none() {
                    return Err(Error::Config(format!(
                        "{origin}: {here}.logoutPath {p:?} must be a path like \"/logout\" (relative to the destination URL)"
                    )));
                }
                Some(p.clone())
            }
            Field::Wrong(_) => {
                return Err(type_error(
                    origin,
                    &format!("{here}.logoutPath"),
                    "a string",
                ));
            }
        };
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

pub(super) fn type_error(origin: &str, key: &str, expected: &str) -> Error {
    Error::Config(format!("{origin}: {key} must be {expected}"))
}

pub(super) fn endpoint_path(origin: &str, key: &str, s: &str) -> Result<String, Error> {
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

pub(super) fn compile_logout(
    section: &LogoutSection,
    origin: &str,
    warnings: &mut Vec<String>,
) -> Result<Logout, Error> {
    for key in section.extra.keys() {
        match key.as_str() {
            "backChannelLogoutEndpoint" => warnings.push(format!(
                "{origin}: logout.backChannelLogoutEndpoint is not supported and ignored: sessions end by logout or timeout only"
            )),
            _ => {
                return Err(Error::Config(format!(
                    "{origin}: logout: unknown key {key:?}"
                )));
            }
        }
    }
    let endpoint = match &section.logout_endpoint {
        Field::Absent => {
            return Err(Error::Config(format!(
                "{origin}: logout needs a logoutEndpoint"
            )));
        }
        Field::Valid(s) => endpoint_path(origin, "logout.logoutEndpoint", s)?,
        Field::Wrong(_) => return Err(type_error(origin, "logout.logoutEndpoint", "a string")),
    };
    let page = match &section.logout_page {
        Field::Absent => None,
        Field::Valid(s) if s.starts_with('/') || s.contains("://") => Some(s.clone()),
        Field::Valid(s) => Some(format!("/{s}")),
        Field::Wrong(_) => return Err(type_error(origin, "logout.logoutPage", "a string")),
    };
    let method = match &section.logout_method {
        Field::Absent => None,
        Field::Valid(m) if m == "GET" => Some(Method::GET),
        Field::Valid(m) if m == "POST" => Some(Method::POST),
        _ => {
            return Err(Error::Config(format!(
                "{origin}: logout.logoutMethod must be \"GET\" or \"POST\""
            )));
        }
    };
    let csrf = match section.csrf_protection {
        Field::Absent => None,
        Field::Valid(b) => Some(b),
        Field::Wrong(_) => {
            return Err(type_error(origin, "logout.csrfProtection", "true or false"));
        }
    };
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
