//! A token's header and claims read without validation.

use super::claims::Claims;
use super::error::JwtError;
use base64::Engine;

fn b64_json(part: &str, what: &str) -> Result<serde_json::Value, JwtError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|e| JwtError::Malformed(format!("{what} is not base64url: {e}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| JwtError::Malformed(format!("{what} is not JSON: {e}")))
}

fn split(token: &str) -> Result<(&str, &str), JwtError> {
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(_), None) => Ok((h, p)),
        _ => Err(JwtError::Malformed(
            "expected three dot-separated parts".into(),
        )),
    }
}

/// The header as JSON, parsed by hand so that `alg: none` and unknown algorithms are reported as
/// such (jsonwebtoken refuses to parse them at all).
pub(super) fn decode_header(token: &str) -> Result<serde_json::Value, JwtError> {
    let (header, _) = split(token)?;
    b64_json(header, "header")
}

/// Claims WITHOUT validation: only for introspecting a token we just received from XSUAA.
pub fn decode_unverified(token: &str) -> Result<Claims, JwtError> {
    let (_, payload) = split(token)?;
    serde_json::from_value(b64_json(payload, "payload")?)
        .map_err(|e| JwtError::Malformed(format!("claims: {e}")))
}
