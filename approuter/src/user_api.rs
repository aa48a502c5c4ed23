//! `"service": "sap-approuter-userapi"` routes: `@sap/approuter`'s user API, which UI5 apps call
//! for the logged-in user's name and e-mail. `.../currentUser` and `.../attributes` answer from the
//! claims of the session's (validated) access token, as SAP's router does.
//!
//! SAP's `attributes` also asks XSUAA's `/userinfo` for `user_attributes`; we answer with the
//! token's details only (start-up says so), which is what `attributes` returns for a user
//! without custom attributes.

use crate::error::Error;
use crate::session::AuthInfo;
use axum::body::Body;
use axum::http::{HeaderValue, Response, header};
use base64::Engine;
use serde::Serialize;
use serde_json::Value;

pub const SERVICE: &str = "sap-approuter-userapi";

/// The fields in SAP's order; absent claims are left out, as `JSON.stringify` leaves out
/// `undefined`.
#[derive(Serialize)]
struct UserDetails<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    firstname: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lastname: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    scopes: Vec<&'a str>,
    #[serde(rename = "displayName", skip_serializing_if = "Option::is_none")]
    display_name: Option<String>,
}

/// The answer for `path` (the route's target applied): `currentUser` or `attributes` anywhere in
/// it, as SAP checks; anything else is SAP's 500 for an invalid user API endpoint.
pub fn answer(path: &str, auth: &AuthInfo) -> Result<Response<Body>, Error> {
    let current_user = if path.contains("currentUser") {
        true
    } else if path.contains("attributes") {
        false
    } else {
        return Err(Error::Internal(format!(
            "invalid user API endpoint {path:?} (currentUser or attributes)"
        )));
    };
    let token = auth.access_token.unpack();
    let claims: Value = token
        .expose()
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p.trim_end_matches('='))
                .ok()
        })
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| Error::Internal("the session's token has no readable claims".into()))?;
    let claim = |name: &str| claims.get(name).and_then(Value::as_str);
    let name = if claims.get("ext_attr").is_some() {
        claim("user_name").or(claim("email"))
    } else {
        claim("sub")
    };
    let mut details = UserDetails {
        firstname: claim("given_name"),
        lastname: claim("family_name"),
        email: claim("email").or(claim("name")),
        name,
        scopes: auth
            .scopes
            .as_str()
            .split(' ')
            .filter(|s| !s.is_empty())
            .collect(),
        display_name: None,
    };
    if current_user {
        details.display_name = match (details.firstname, details.lastname) {
            (Some(first), Some(last)) if !first.is_empty() && !last.is_empty() => Some(format!(
                "{first} {last} ({})",
                details.name.unwrap_or("undefined")
            )),
            _ => details.name.map(str::to_string),
        };
    }
    let body = serde_json::to_string_pretty(&details)
        .map_err(|e| Error::Internal(format!("user API answer: {e}")))?;
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store"),
    );
    Ok(response)
}
