//! The streaming reverse proxy to a destination: bodies flow through in chunks both ways, never
//! buffered whole. `transport` sends (pooled client, timeouts, upgrades), `headers` decides what
//! the request and the answer carry.

mod headers;
mod idle_timeout;
mod transport;

pub use headers::Forward;
pub(crate) use headers::request_headers;
pub(crate) use transport::Tunnel;
pub use transport::{DEFAULT_TIMEOUT, Upstream};

use crate::backend_cookies::SetCookie;
use crate::error::Error;
use axum::body::Body;
use axum::http::{Request, Response, header};

/// A backend's answer, and the session cookies it set that the caller keeps in the session.
pub struct Forwarded {
    pub response: Response<Body>,
    pub session_cookies: Vec<SetCookie>,
}

pub async fn forward(
    up: &Upstream,
    req: Request<Body>,
    f: Forward<'_>,
) -> Result<Forwarded, Error> {
    let (parts, body) = req.into_parts();
    let url = up.url_for(f.target_path, parts.uri.query());
    // Only for backend cookies: a plain request makes no copy of its path.
    let backend_path = f
        .backend_cookies
        .is_some()
        .then(|| up.backend_path(f.target_path));

    let headers = request_headers(
        up,
        &parts.headers,
        &f,
        backend_path.as_deref().unwrap_or("/"),
    );
    let has_body = parts.headers.contains_key(header::TRANSFER_ENCODING)
        || parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0");
    let response = up
        .send(parts.method, url, headers, has_body.then_some(body))
        .await?;

    let (upstream, body) = response.into_parts();
    let mut out = Response::builder().status(upstream.status);
    let session_cookies = match out.headers_mut() {
        Some(headers) => {
            headers::response_headers(up, &f, &upstream.headers, backend_path.as_deref(), headers)
        }
        None => Vec::new(),
    };
    let response = out.body(body).map_err(|e| Error::InternalCause {
        what: format!("response from {}", up.name),
        source: e.into(),
    })?;
    Ok(Forwarded {
        response,
        session_cookies,
    })
}
