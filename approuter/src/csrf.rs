//! `@sap/approuter`'s CSRF handshake: a client asks with `x-csrf-token: fetch` on a GET or HEAD,
//! gets the session's token in the `x-csrf-token` response header, and sends it back on every
//! modifying request. A modifying request that says `fetch` is a modifying request without a
//! token: 403, and no token in the answer (SAP's `isTokenFetchRequest` is GET/HEAD only too).
//!
//! Method overrides (`X-HTTP-Method-Override`, `X-HTTP-Method`, `X-Method-Override`): SAP's router
//! ignores them and forwards them, so a backend that honours them (SAP Gateway does
//! `X-HTTP-Method: MERGE`) could be made to delete by a GET that needed no token. Here a request
//! counts as both its own method and the one it names: the CSRF token and the scopes are required
//! if either needs them, and a route's `httpMethods` must allow both. The headers are still
//! forwarded, since OData clients use them legitimately.

use crate::error::Error;
use crate::session::{SessionRef, Sessions};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use common::Secret;
use subtle::ConstantTimeEq;

pub const HEADER: &str = "x-csrf-token";

pub fn is_fetch(headers: &HeaderMap) -> bool {
    headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("fetch"))
}

const OVERRIDE_HEADERS: &[&str] = &[
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

/// The method a method-override header names, if the request has one. Several that disagree, or
/// one that is not a method name, are refused.
pub fn override_method(headers: &HeaderMap) -> Result<Option<Method>, Error> {
    let mut named: Option<Method> = None;
    for name in OVERRIDE_HEADERS {
        for value in headers.get_all(*name) {
            let text = value.to_str().unwrap_or("").trim();
            let method = (!text.is_empty() && text.len() <= 16)
                .then(|| Method::from_bytes(text.to_ascii_uppercase().as_bytes()).ok())
                .flatten()
                .ok_or_else(|| Error::BadRequest(format!("{name} does not name an HTTP method")))?;
            match &named {
                Some(m) if *m != method => {
                    return Err(Error::BadRequest(
                        "the method-override headers name different methods".into(),
                    ));
                }
                _ => named = Some(method),
            }
        }
    }
    Ok(named)
}

/// Only GET and HEAD go without a token.
pub fn needs_token(method: &Method) -> bool {
    method != Method::GET && method != Method::HEAD
}

pub fn check(headers: &HeaderMap, session_token: Option<&Secret>) -> Result<(), Error> {
    let sent = headers.get(HEADER).map(|v| v.as_bytes());
    match (sent, session_token) {
        (Some(sent), Some(expected)) if bool::from(sent.ct_eq(expected.expose().as_bytes())) => {
            Ok(())
        }
        _ => Err(Error::CsrfRequired),
    }
}

/// The CSRF step of a route with `csrfProtection`, for a logged-in session: a modifying request
/// (its own method or the one it names, `named`) must bring the session's token, checked first
/// because `fetch` on a modifying request is no token at all; a GET or HEAD that asks with `fetch`
/// gets the session's token (issued now if it has none) for the answer's `x-csrf-token`.
pub async fn protect(
    sessions: &Sessions,
    session: &SessionRef,
    req: &Parts,
    named: Option<&Method>,
) -> Result<Option<Secret>, Error> {
    let modifying = needs_token(&req.method) || named.is_some_and(needs_token);
    if modifying {
        check(&req.headers, session.data.csrf.as_ref())?;
        return Ok(None);
    }
    if !is_fetch(&req.headers) {
        return Ok(None);
    }
    if let Some(token) = &session.data.csrf {
        return Ok(Some(token.clone()));
    }
    let mut issued = None;
    sessions
        .update(session.id, |d| {
            issued = Some(d.csrf.get_or_insert_with(new_token).clone())
        })
        .await?;
    issued.ok_or(Error::Unauthorized).map(Some)
}

pub fn new_token() -> Secret {
    Secret::new(uuid::Uuid::new_v4().simple().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn tokens_must_match_exactly() {
        let token = new_token();
        let mut h = HeaderMap::new();
        assert!(check(&h, Some(&token)).is_err());
        h.insert(HEADER, HeaderValue::from_str(token.expose()).unwrap());
        assert!(check(&h, Some(&token)).is_ok());
        assert!(check(&h, None).is_err());
        h.insert(HEADER, HeaderValue::from_static("Fetch"));
        assert!(is_fetch(&h));
        assert!(check(&h, Some(&token)).is_err());
        assert!(needs_token(&Method::POST) && needs_token(&Method::DELETE));
        assert!(!needs_token(&Method::GET) && !needs_token(&Method::HEAD));
    }

    #[test]
    fn method_overrides_are_read_and_must_agree() {
        let mut h = HeaderMap::new();
        assert_eq!(override_method(&h).unwrap(), None);
        h.insert("x-http-method", HeaderValue::from_static("delete"));
        assert_eq!(override_method(&h).unwrap(), Some(Method::DELETE));
        h.insert("x-method-override", HeaderValue::from_static("DELETE"));
        assert_eq!(override_method(&h).unwrap(), Some(Method::DELETE));
        h.insert("x-http-method-override", HeaderValue::from_static("PUT"));
        assert!(override_method(&h).is_err());
        let mut bad = HeaderMap::new();
        bad.insert(
            "x-http-method-override",
            HeaderValue::from_static("DE LETE"),
        );
        assert!(override_method(&bad).is_err());
    }
}
