//! `"service": "sap-approuter-userapi"` routes: `@sap/approuter`'s user API, which UI5 apps call
//! for the logged-in user's name and e-mail. `.../currentUser` and `.../attributes` answer from the
//! claims of the session's (validated) access token, as SAP's router does; `attributes` merges
//! in the `user_attributes` that XSUAA's `/userinfo` returns for the user's token, as SAP's does
//! (and, as SAP's, answers with the token's details alone when `/userinfo` fails).

use crate::error::Error;
use crate::session::AuthInfo;
use axum::body::Body;
use axum::http::{HeaderValue, Response, header};
use base64::Engine;
use serde::Serialize;
use serde_json::{Map, Value};
use std::time::Duration;

/// `/userinfo` is asked on the user's click: a slow XSUAA must not hold the page for long.
const USERINFO_TIMEOUT: Duration = Duration::from_secs(10);

/// Claims SAP's router drops from `user_attributes` before merging them (`ignoreClaims` in its
/// `user-api-middleware.js`): identity and token bookkeeping, not custom attributes.
const IGNORED_ATTRIBUTES: &[&str] = &[
    "aud",
    "nonce",
    "remoteEntityId",
    "zone_uuid",
    "sub",
    "given_name",
    "family_name",
    "email",
    "first_name",
    "last_name",
    "azp",
    "mail",
    "app_tid",
    "iss",
    "sid",
    "ias_iss",
    "scim_id",
    "cnf",
    "jti",
    "exp",
    "iat",
    "nbf",
    "auth_time",
    "acr",
    "amr",
    "at_hash",
    "c_hash",
    "sub_jwk",
    "ias_apis",
];

/// Where `attributes` asks for the user's custom attributes: XSUAA's `/userinfo`.
pub struct UserInfo<'a> {
    pub http: &'a reqwest::Client,
    /// The xsuaa binding's `url`.
    pub xsuaa_url: &'a str,
}

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
    /// `attributes`: the user's custom attributes after the fields above, as SAP's
    /// `Object.assign` orders them.
    #[serde(flatten)]
    attributes: Map<String, Value>,
}

/// The answer for `path` (the route's target applied): `currentUser` or `attributes` anywhere in
/// it, as SAP checks; anything else is SAP's 500 for an invalid user API endpoint.
pub async fn answer(
    path: &str,
    auth: &AuthInfo,
    userinfo: Option<UserInfo<'_>>,
) -> Result<Response<Body>, Error> {
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
        attributes: Map::new(),
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
    if !current_user && let Some(userinfo) = userinfo {
        details.attributes = user_attributes(userinfo, token.expose()).await;
        // A custom attribute named like a field of SAP's answer would repeat the key: the
        // field (from the validated token) stays.
        for field in [
            "firstname",
            "lastname",
            "email",
            "name",
            "scopes",
            "displayName",
        ] {
            details.attributes.remove(field);
        }
    }
    let body = serde_json::to_string_pretty(&details).map_err(|e| Error::InternalCause {
        what: "user API answer".into(),
        source: e.into(),
    })?;
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

/// `user_attributes` from `/userinfo`, without [`IGNORED_ATTRIBUTES`], to lay over the token's
/// details (SAP's `Object.assign`). A failing `/userinfo` gives none, so the details are answered
/// as they are, as in SAP; the log names the status or error kind, never the token.
async fn user_attributes(userinfo: UserInfo<'_>, token: &str) -> Map<String, Value> {
    let mut merged = Map::new();
    let url = format!("{}/userinfo", userinfo.xsuaa_url.trim_end_matches('/'));
    let response = userinfo
        .http
        .get(&url)
        .bearer_auth(token)
        .timeout(USERINFO_TIMEOUT)
        .send()
        .await;
    let body = match response {
        Ok(r) if r.status().is_success() => r.json::<Value>().await,
        Ok(r) => {
            tracing::info!(status = %r.status(), "user API: XSUAA /userinfo refused; answering with the token's details");
            return merged;
        }
        Err(e) => Err(e),
    };
    match body {
        Ok(Value::Object(mut info)) => {
            if let Some(Value::Object(attributes)) = info.remove("user_attributes") {
                for (name, value) in attributes {
                    if !IGNORED_ATTRIBUTES.contains(&name.as_str()) {
                        merged.insert(name, value);
                    }
                }
            }
        }
        Ok(_) => tracing::info!("user API: XSUAA /userinfo answered no JSON object"),
        Err(e) => {
            let error = common::error_chain(&e.without_url());
            tracing::info!(
                %error,
                "user API: XSUAA /userinfo failed; answering with the token's details"
            );
        }
    }
    merged
}
