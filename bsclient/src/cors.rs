//! CORS for `/getToken`: headers only for the origins in `TOKEN_PROVIDER_ALLOWED_ORIGINS`, or for
//! any origin with `*` (seed 003's `Access-Control-Allow-Origin: *`): then the answer is `*` and
//! never `Access-Control-Allow-Credentials`, so a page elsewhere gets a token only with a bearer
//! token of its own, never riding on the user's cookies.
//!
//! Hand-written rather than tower-http's `CorsLayer`, which also sends
//! `Access-Control-Allow-Credentials` and the preflight headers to origins it does not allow.

use crate::config::AllowedOrigins;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

const ALLOWED_METHODS: &str = "GET";
/// Request headers a page may send: the token for bsclient (when not going through the router's
/// session cookie) and the App Router's AJAX marker.
const ALLOWED_HEADERS: [&str; 2] = ["authorization", "x-requested-with"];
const MAX_AGE_SECONDS: &str = "600";

#[derive(Clone)]
pub struct Cors {
    origins: Arc<[String]>,
    any: bool,
}

/// What an allowed request gets: its own origin echoed with credentials, or `*` without.
#[derive(Clone)]
enum Grant {
    Origin(HeaderValue),
    Any,
}

impl Grant {
    fn apply(self, headers: &mut axum::http::HeaderMap) {
        match self {
            Grant::Origin(origin) => {
                headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
                headers.insert(
                    header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                    HeaderValue::from_static("true"),
                );
            }
            Grant::Any => {
                headers.insert(
                    header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    HeaderValue::from_static("*"),
                );
            }
        }
    }
}

impl Cors {
    pub fn new(origins: &AllowedOrigins) -> Self {
        match origins {
            AllowedOrigins::List(list) => Cors {
                origins: list.as_slice().into(),
                any: false,
            },
            AllowedOrigins::Any => Cors {
                origins: Arc::new([]),
                any: true,
            },
        }
    }

    /// The grant for the request's `Origin`, when it is allowed.
    fn allowed(&self, origin: Option<&HeaderValue>) -> Option<Grant> {
        let origin = origin?;
        if self.any {
            return Some(Grant::Any);
        }
        let text = origin.to_str().ok()?;
        self.origins
            .iter()
            .any(|o| o == text)
            .then(|| Grant::Origin(origin.clone()))
    }
}

fn vary(response: &mut Response, value: &'static str) {
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static(value));
}

pub async fn middleware(State(cors): State<Cors>, request: Request, next: Next) -> Response {
    let origin = request.headers().get(header::ORIGIN).cloned();
    let allowed = cors.allowed(origin.as_ref());

    let is_preflight = request.method() == Method::OPTIONS
        && origin.is_some()
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if is_preflight {
        return preflight(&request, allowed);
    }
    if request.method() == Method::OPTIONS {
        let mut response = StatusCode::NO_CONTENT.into_response();
        response.headers_mut().insert(
            header::ALLOW,
            HeaderValue::from_static("GET, HEAD, OPTIONS"),
        );
        return response;
    }

    let mut response = next.run(request).await;
    // The answer depends on Origin, so caches must key on it even when we add nothing.
    vary(&mut response, "origin");
    if let Some(grant) = allowed {
        grant.apply(response.headers_mut());
    }
    response
}

fn preflight(request: &Request, allowed: Option<Grant>) -> Response {
    let Some(grant) = allowed else {
        let mut response = (StatusCode::FORBIDDEN, "origin not allowed\n").into_response();
        vary(&mut response, "origin");
        return response;
    };
    let method_ok = request
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|m| m.to_str().ok())
        .is_some_and(|m| m == "GET" || m == "HEAD");
    let headers_ok = request
        .headers()
        .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .all(|h| ALLOWED_HEADERS.contains(&h.as_str()));
    let mut response = if method_ok && headers_ok {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let headers = response.headers_mut();
        grant.apply(headers);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOWED_METHODS),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, x-requested-with"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(MAX_AGE_SECONDS),
        );
        response
    } else {
        // An allowed origin asking for more than we allow: no grant, so the browser says why.
        (
            StatusCode::FORBIDDEN,
            "only GET with the headers authorization and x-requested-with is allowed\n",
        )
            .into_response()
    };
    vary(&mut response, "origin");
    vary(&mut response, "access-control-request-method");
    vary(&mut response, "access-control-request-headers");
    response
}
