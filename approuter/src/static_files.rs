//! Files from a route's `localDir`. The path comes from the route's target; it can never leave
//! the directory (no `..`, no encoded separators, symlinks resolved and checked).

use crate::error::Error;
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, Response, StatusCode, header};
use std::path::{Path, PathBuf};
use tower::ServiceExt;
use tower_http::services::ServeFile;

const INDEX: &str = "index.html";

pub async fn serve(
    dir: &Path,
    target: &str,
    req: Request<Body>,
    cache_control: Option<&HeaderValue>,
) -> Result<Response<Body>, Error> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut response = Response::new(Body::from("Method Not Allowed"));
        *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return Ok(response);
    }
    let path = resolve(dir, target).await.ok_or(Error::NotFound)?;
    let response = ServeFile::new(path)
        .oneshot(req)
        .await
        .map_err(|e| Error::Internal(format!("static file: {e}")))?;
    let mut response = response.map(Body::new);
    add_charset(response.headers_mut());
    if let Some(value) = cache_control
        && (response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED)
    {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, value.clone());
    }
    Ok(response)
}

/// `; charset=UTF-8` on text types, as `@sap/approuter`'s static handler (`send`) declares them:
/// the files of a UI5 app are UTF-8, and a browser must not guess.
fn add_charset(headers: &mut axum::http::HeaderMap) {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return;
    };
    let textual = value.starts_with("text/")
        || value.starts_with("application/javascript")
        || value.starts_with("application/json");
    if textual
        && !value.contains("charset")
        && let Ok(v) = HeaderValue::from_str(&format!("{value}; charset=UTF-8"))
    {
        headers.insert(header::CONTENT_TYPE, v);
    }
}

/// The file under `dir` that `target` names, if it exists and stays inside `dir` (which is
/// canonical). Directories and names ending in `/` mean their `index.html`.
pub async fn resolve(dir: &Path, target: &str) -> Option<PathBuf> {
    let relative = decode(target.trim_start_matches('/'))?;
    let mut path = dir.to_path_buf();
    for segment in relative.split('/') {
        match segment {
            "" | "." => continue,
            ".." => return None,
            s if s.contains('\\') || s.contains('\0') => return None,
            s => path.push(s),
        }
    }
    if relative.is_empty() || relative.ends_with('/') {
        path.push(INDEX);
    }
    let mut canonical = tokio::fs::canonicalize(&path).await.ok()?;
    if !canonical.starts_with(dir) {
        return None;
    }
    let mut meta = tokio::fs::metadata(&canonical).await.ok()?;
    if meta.is_dir() {
        canonical.push(INDEX);
        meta = tokio::fs::metadata(&canonical).await.ok()?;
    }
    meta.is_file().then_some(canonical)
}

/// Percent-decoding; an encoded `/` is refused, as it would be a separator on disk.
fn decode(text: &str) -> Option<String> {
    if text.to_ascii_lowercase().contains("%2f") {
        return None;
    }
    crate::redirect::percent_decode(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_resolve_inside_the_directory_only() {
        let root = tempfile::tempdir().unwrap();
        let web = root.path().join("web");
        std::fs::create_dir_all(web.join("sub")).unwrap();
        std::fs::write(web.join("index.html"), "home").unwrap();
        std::fs::write(web.join("sub/a b.txt"), "a").unwrap();
        std::fs::write(root.path().join("secret.txt"), "secret").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.path().join("secret.txt"), web.join("link.txt")).unwrap();
        let web = web.canonicalize().unwrap();

        assert_eq!(resolve(&web, "").await, Some(web.join("index.html")));
        assert_eq!(
            resolve(&web, "sub/a%20b.txt").await,
            Some(web.join("sub/a b.txt"))
        );
        assert_eq!(resolve(&web, "sub/").await, None, "no index.html in sub");
        for bad in [
            "../secret.txt",
            "sub/../../secret.txt",
            "%2e%2e/secret.txt",
            "..%2fsecret.txt",
            "link.txt",
            "sub\\..\\..\\secret.txt",
            "missing",
        ] {
            assert_eq!(resolve(&web, bad).await, None, "{bad}");
        }
    }
}
