//! HERE's token endpoint, as seed 003's token provider calls it through
//! `@here/olp-sdk-authentication`: `POST /oauth2/token` signed with OAuth 1.0a HMAC-SHA256.
//!
//! Checked like HERE does (error codes from HERE's Authentication and Authorization API guide):
//! `Authorization` present (401200) and well-formed (401202), `oauth_signature_method`
//! `HMAC-SHA256` (401205), `oauth_version` 1.0 when sent (401206), `oauth_timestamp` within the
//! window, 5 minutes by default (401204), a known access key and the exact RFC 5849 signature
//! (401300), a nonce not used before by that key (401207). The signature is checked before the
//! nonce is remembered, so only holders of a secret cost memory, and nonces are forgotten once
//! their timestamp leaves the window (a replay of one would be refused as stale anyway).
//!
//! The body is JSON `{"grantType":"client_credentials","expiresIn":N,"scope":S}` (the form
//! `grant_type=client_credentials&expires_in=N` too, whose parameters are then signed, RFC 5849
//! §3.4.1.3.1); `expiresIn` is clamped to `max_expires_in` (24 h). The answer is
//! `{"accessToken","tokenType":"bearer","expiresIn"[,"scope"]}`; the token is an HS256 JWT under a
//! per-process key, so the mock keeps no token state.
//!
//! `GET /demo/whoami` is a protected demo API for the client page: it answers who the token
//! belongs to and when it expires, with `Access-Control-Allow-Origin: *` (bearer tokens, no cookies).

use crate::clock::now;
use crate::error::{Error, Result};
use crate::state::{self, Service, Shared};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hmac_sign::{base_string, parse_authorization, verify_signature};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;

pub(crate) mod store;

pub fn router(state: Shared) -> Router {
    let routes = Router::new()
        .route("/oauth2/token", post(token))
        .route("/demo/whoami", get(whoami).options(preflight));
    state::finish(routes, state, Service::Here)
}

fn here_error(status: StatusCode, code: u32, message: impl Into<String>) -> Error {
    Error::Here {
        status,
        code,
        message: message.into(),
    }
}

fn unauthorized(code: u32, message: impl Into<String>) -> Error {
    here_error(StatusCode::UNAUTHORIZED, code, message)
}

const SIGNATURE_MISMATCH: &str =
    "Signature mismatch. Authorization signature or client credential is wrong.";

/// The token's claims (HERE's tokens are JWTs too; these are the mock's own).
#[derive(Debug, Serialize, Deserialize)]
struct HereClaims {
    iss: String,
    sub: String,
    /// The access key the token was issued to.
    aid: String,
    iat: i64,
    exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

async fn token(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match issue(&state, &method, &uri, &headers, &body) {
        Ok(response) => {
            state.stats.here.incr("tokens");
            response
        }
        Err(e) => {
            state.stats.here.incr("token.errors");
            e.into_response()
        }
    }
}

fn issue(
    state: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response> {
    let stats = &state.stats.here;
    let store = &state.here;
    let config = store.config();
    let authorization = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthorized(401200, "Authorization header missing"))?
        .to_str()
        .map_err(|_| unauthorized(401202, "Malformed OAuth 1.0 header: not ASCII"))?;
    let params = parse_authorization(authorization)
        .map_err(|e| unauthorized(401202, format!("Malformed OAuth 1.0 header: {e}")))?;
    let mut oauth: HashMap<&str, &str> = HashMap::new();
    for (name, value) in &params {
        if oauth.insert(name.as_str(), value.as_str()).is_some() {
            return Err(unauthorized(
                401202,
                format!("Malformed OAuth 1.0 header: {name} is duplicated"),
            ));
        }
    }
    let required = |name: &str| {
        oauth.get(name).copied().ok_or_else(|| {
            unauthorized(
                401202,
                format!("Malformed OAuth 1.0 header: {name} is missing"),
            )
        })
    };
    let consumer_key = required("oauth_consumer_key")?;
    let nonce = required("oauth_nonce")?;
    let signature_method = required("oauth_signature_method")?;
    let timestamp = required("oauth_timestamp")?;
    let signature = required("oauth_signature")?;
    if signature_method != "HMAC-SHA256" {
        return Err(unauthorized(
            401205,
            format!("Unsupported value for signature method: {signature_method:.40}"),
        ));
    }
    if let Some(version) = oauth.get("oauth_version")
        && *version != "1.0"
    {
        return Err(unauthorized(
            401206,
            "Unsupported value for \"oauth_version\" parameter (should be 1.0)",
        ));
    }
    let timestamp: i64 = timestamp
        .parse()
        .map_err(|_| unauthorized(401202, "Malformed OAuth 1.0 header: oauth_timestamp"))?;
    if (now() - timestamp).abs() > config.timestamp_window_seconds as i64 {
        stats.incr("stale_timestamp");
        return Err(unauthorized(
            401204,
            "Time stamp is outside the valid period",
        ));
    }
    let Some(key) = config.access_keys.iter().find(|k| k.id == consumer_key) else {
        stats.incr("unknown_key");
        return Err(unauthorized(401300, SIGNATURE_MISMATCH));
    };

    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    let form = content_type.as_deref() == Some("application/x-www-form-urlencoded");
    // RFC 5849 §3.4.1.3.1: a form body's parameters are signed; a JSON body's are not.
    let mut signed: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "oauth_signature")
        .cloned()
        .collect();
    if form {
        signed.extend(url::form_urlencoded::parse(body).into_owned());
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| here_error(StatusCode::BAD_REQUEST, 400200, "Host header missing"))?;
    let base = base_string(method, host, uri, &signed)
        .ok_or_else(|| here_error(StatusCode::BAD_REQUEST, 400200, "Invalid request URL"))?;
    if !verify_signature(&base, &key.secret, signature) {
        stats.incr("signature_mismatch");
        return Err(unauthorized(401300, SIGNATURE_MISMATCH));
    }
    match store.use_nonce(&key.id, nonce, timestamp) {
        store::Nonce::Fresh => {}
        store::Nonce::Replayed => {
            stats.incr("nonce_replayed");
            return Err(unauthorized(401207, "Nonce already consumed"));
        }
        store::Nonce::Full => {
            return Err(here_error(
                StatusCode::TOO_MANY_REQUESTS,
                429002,
                "Request blocked because too many requests were made. Wait for a while before making a new request.",
            ));
        }
    }

    let request = TokenRequest::parse(content_type.as_deref(), body)?;
    let expires_in = request.expires_in.min(config.max_expires_in);
    let iat = now();
    let claims = HereClaims {
        iss: format!("http://{host}/"),
        sub: key.user_id.clone(),
        aid: key.id.clone(),
        iat,
        exp: iat + expires_in as i64,
        scope: request.scope.clone(),
    };
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&store.signing_key),
    )?;
    let mut answer = json!({
        "accessToken": token,
        "tokenType": "bearer",
        "expiresIn": expires_in,
    });
    if let Some(scope) = request.scope {
        answer["scope"] = Value::String(scope);
    }
    Ok((
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        axum::Json(answer),
    )
        .into_response())
}

struct TokenRequest {
    expires_in: u64,
    scope: Option<String>,
}

impl TokenRequest {
    /// The body of a token request: JSON (HERE's SDKs) or a form (HERE's curl examples).
    fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Self> {
        let invalid = |field: &str, why: &str| {
            here_error(
                StatusCode::BAD_REQUEST,
                400203,
                format!("Invalid value for {field}: {why}"),
            )
        };
        let (grant, expires, scope) = match content_type {
            None => {
                return Err(here_error(
                    StatusCode::BAD_REQUEST,
                    400003,
                    "Content-Type header missing",
                ));
            }
            Some("application/json") => {
                let value: Value = serde_json::from_slice(body)
                    .map_err(|_| here_error(StatusCode::BAD_REQUEST, 400002, "Invalid JSON"))?;
                let field = |name: &str| value.get(name).filter(|v| !v.is_null()).cloned();
                (field("grantType"), field("expiresIn"), field("scope"))
            }
            Some("application/x-www-form-urlencoded") => {
                let form: HashMap<String, String> =
                    url::form_urlencoded::parse(body).into_owned().collect();
                let field = |name: &str| form.get(name).map(|v| Value::String(v.clone()));
                (field("grant_type"), field("expires_in"), field("scope"))
            }
            Some(_) => {
                return Err(here_error(
                    StatusCode::BAD_REQUEST,
                    400004,
                    "Content-Type header something else than 'application/json'.",
                ));
            }
        };
        match grant.as_ref().and_then(Value::as_str) {
            Some("client_credentials") => {}
            None => {
                return Err(here_error(
                    StatusCode::BAD_REQUEST,
                    400201,
                    "Missing required field: grantType",
                ));
            }
            Some(_) => return Err(invalid("grantType", "only client_credentials")),
        }
        // `@here/olp-sdk-authentication` sends what it was given: seed 003 passes the query string.
        let expires_in = match expires {
            None => 86_400,
            Some(Value::Number(n)) => n
                .as_u64()
                .filter(|n| *n > 0)
                .ok_or_else(|| invalid("expiresIn", "a positive whole number of seconds"))?,
            Some(Value::String(s)) => s
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| invalid("expiresIn", "a positive whole number of seconds"))?,
            Some(_) => return Err(invalid("expiresIn", "a positive whole number of seconds")),
        };
        let scope = match scope {
            None => None,
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s),
            Some(_) => return Err(invalid("scope", "a non-empty string")),
        };
        Ok(TokenRequest { expires_in, scope })
    }
}

fn cors(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

async fn preflight() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    cors(response)
}

/// `GET /demo/whoami` with `Authorization: Bearer <token from /oauth2/token>`.
async fn whoami(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let stats = &state.stats.here;
    let claims = state::bearer(&headers)
        .ok_or("send Authorization: Bearer <access token of /oauth2/token>")
        .and_then(|token| {
            let mut validation = Validation::new(Algorithm::HS256);
            validation.leeway = 0;
            validation.set_required_spec_claims(&["exp", "sub"]);
            jsonwebtoken::decode::<HereClaims>(
                token,
                &DecodingKey::from_secret(&state.here.signing_key),
                &validation,
            )
            .map(|data| data.claims)
            .map_err(|_| "the access token is invalid or expired")
        });
    let response = match claims {
        Ok(claims) => {
            stats.incr("demo");
            axum::Json(json!({
                "userId": claims.sub,
                "accessKeyId": claims.aid,
                "expiresAt": claims.exp,
                "scope": claims.scope,
            }))
            .into_response()
        }
        Err(why) => {
            stats.incr("demo.unauthorized");
            let mut response = unauthorized(401300, why).into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"HERE demo\""),
            );
            response
        }
    };
    cors(response)
}

/// RFC 5849 on the request as it arrived: the scheme http, the `Host` header, the raw path and
/// query (as a server behind any name would), not a URL known in advance. Written out here rather
/// than taken from `common::oauth1`, so a mistake in bsclient's signer cannot hide behind the same
/// mistake in the mock (HERE's own npm client is checked against this in `tests/here_compat.rs`).
mod hmac_sign {
    use axum::http::{Method, Uri};
    use base64::Engine;
    use hmac::{Hmac, Mac};
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
    use sha2::Sha256;

    /// §3.6: all but ALPHA, DIGIT, '-', '.', '_', '~'.
    const RFC5849: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');

    fn enc(s: &str) -> String {
        utf8_percent_encode(s, RFC5849).to_string()
    }

    /// §3.4.1.1: METHOD & enc(base string URI) & enc(normalised parameters).
    pub fn base_string(
        method: &Method,
        host: &str,
        uri: &Uri,
        params: &[(String, String)],
    ) -> Option<String> {
        // §3.4.1.2: lower-case scheme and host, no default port.
        let host = host.to_ascii_lowercase();
        let host = host.strip_suffix(":80").unwrap_or(&host);
        if host.is_empty() || host.contains(['/', '?', '#', '@']) {
            return None;
        }
        let base_uri = format!("http://{host}{}", uri.path());
        // §3.4.1.3.1: query parameters decoded as a form, then §3.4.1.3.2: encoded and sorted.
        let mut pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
                .map(|(k, v)| (enc(&k), enc(&v)))
                .chain(params.iter().map(|(k, v)| (enc(k), enc(v))))
                .collect();
        pairs.sort();
        let normalised = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        Some(format!(
            "{}&{}&{}",
            method.as_str(),
            enc(&base_uri),
            enc(&normalised)
        ))
    }

    /// §3.4.2 with SHA-256: key = enc(consumer secret) & enc(token secret, empty here).
    pub fn verify_signature(base: &str, secret: &str, signature: &str) -> bool {
        let Ok(expected) = base64::engine::general_purpose::STANDARD.decode(signature) else {
            return false;
        };
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(format!("{}&", enc(secret)).as_bytes())
        else {
            return false;
        };
        mac.update(base.as_bytes());
        mac.verify_slice(&expected).is_ok()
    }

    /// §3.5.1: `OAuth name="value", ...`, values percent-decoded, `realm` dropped.
    pub fn parse_authorization(header: &str) -> Result<Vec<(String, String)>, String> {
        let rest = header
            .trim()
            .strip_prefix("OAuth ")
            .ok_or("expected the OAuth scheme")?;
        let mut params = Vec::new();
        for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:.40} is not name=\"value\""))?;
            let value = value
                .trim()
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .ok_or_else(|| format!("{name:.40} is not quoted"))?;
            let value = percent_decode_str(value)
                .decode_utf8()
                .map_err(|_| format!("{name:.40} is not UTF-8"))?;
            if name.trim() != "realm" {
                params.push((name.trim().to_owned(), value.into_owned()));
            }
        }
        Ok(params)
    }
}

/// The `credentials.properties` a HERE user downloads, for `key` at `token_url`.
pub fn credentials_properties(key: &crate::config::HereAccessKey, token_url: &str) -> String {
    format!(
        "here.user.id = {}\nhere.client.id = mock-here-client\nhere.access.key.id = {}\n\
         here.access.key.secret = {}\nhere.token.endpoint.url = {token_url}\n",
        key.user_id, key.id, key.secret
    )
}
