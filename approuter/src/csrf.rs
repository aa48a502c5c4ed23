//! `@sap/approuter`'s CSRF handshake: a client asks with `x-csrf-token: fetch`, gets the session's
//! token in the `x-csrf-token` response header, and sends it back on every modifying request.

use crate::error::Error;
use crate::session::constant_time_eq;
use axum::http::{HeaderMap, Method};
use common::Secret;

pub const HEADER: &str = "x-csrf-token";

pub fn is_fetch(headers: &HeaderMap) -> bool {
    headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("fetch"))
}

/// Only GET and HEAD go without a token.
pub fn needs_token(method: &Method) -> bool {
    method != Method::GET && method != Method::HEAD
}

pub fn check(headers: &HeaderMap, session_token: Option<&Secret>) -> Result<(), Error> {
    let sent = headers.get(HEADER).map(|v| v.as_bytes());
    match (sent, session_token) {
        (Some(sent), Some(expected)) if constant_time_eq(sent, expected.expose().as_bytes()) => {
            Ok(())
        }
        _ => Err(Error::CsrfRequired),
    }
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
}
