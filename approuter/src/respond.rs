//! Answers the router makes itself, from more than one step of the request path.

use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode, header};

/// 405 as `@sap/approuter` answers it: the methods the matching routes allow in `Allow`, the status
/// text as body, never cached.
pub fn method_not_allowed(allow: &[String]) -> Response<Body> {
    let mut response = Response::new(Body::from("Method Not Allowed"));
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&allow.join(", ")) {
        headers.insert(header::ALLOW, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    response
}
