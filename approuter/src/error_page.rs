//! `errorPage` of `xs-app.json`: the router's own error answers (no route, no login for an API
//! client, missing scope or CSRF token, unreachable destination...) replaced by a file, or by a
//! redirect to a `path`, per status, as `@sap/approuter` 23's error handler does. A backend's own
//! error answers pass unchanged, as in SAP.
//!
//! Files are read and checked at start-up (SAP checks that they exist then too) and kept in
//! memory: an error answer never touches the disk. They are served with the original status and
//! what SAP's `send` gives them (`Content-Type` by extension, `Cache-Control: public, max-age=0`).

use crate::error::Error;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Response, StatusCode, header};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// An error page bigger than this is refused at start-up: it is sent from memory.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Clone)]
pub enum ErrorPage {
    File {
        body: Bytes,
        content_type: HeaderValue,
    },
    /// A path on this router the browser is sent to (302).
    Path(String),
}

#[derive(Debug, Default)]
pub struct ErrorPages {
    by_status: HashMap<u16, ErrorPage>,
}

impl ErrorPages {
    pub fn is_empty(&self) -> bool {
        self.by_status.is_empty()
    }

    /// `errorPage` (an array of `{status, file | path}`); files are relative to `base_dir`.
    pub fn parse(value: &Value, here: &str, base_dir: &Path) -> Result<Self, Error> {
        let Value::Array(items) = value else {
            return Err(Error::Config(format!(
                "{here} must be an array of {{status, file}} or {{status, path}}"
            )));
        };
        let mut by_status = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{here}[{i}]");
            let err = |reason: String| Error::Config(format!("{at}: {reason}"));
            let Value::Object(obj) = item else {
                return Err(err(
                    "must be an object {status, file} or {status, path}".into()
                ));
            };
            if let Some(key) = obj
                .keys()
                .find(|k| !matches!(k.as_str(), "status" | "file" | "path"))
            {
                return Err(err(format!("unknown key {key:?}")));
            }
            let statuses: Vec<u16> = match obj.get("status") {
                Some(Value::Array(list)) if !list.is_empty() => list
                    .iter()
                    .map(|s| {
                        status(s).ok_or_else(|| err(format!("status {s} is not an HTTP status")))
                    })
                    .collect::<Result<_, _>>()?,
                Some(s) if s.is_number() => {
                    vec![
                        status(s)
                            .ok_or_else(|| err(format!("status {s} is not an HTTP status")))?,
                    ]
                }
                _ => {
                    return Err(err(
                        "status must be a status code or a non-empty array of them".into(),
                    ));
                }
            };
            let page = match (obj.get("file"), obj.get("path")) {
                (Some(Value::String(file)), None) if !file.is_empty() => {
                    read_file(base_dir, file).map_err(&err)?
                }
                (None, Some(Value::String(path))) if !path.is_empty() => {
                    let path = if path.starts_with('/') {
                        path.clone()
                    } else {
                        format!("/{path}")
                    };
                    if crate::redirect::safe_relative(&path).is_none() {
                        return Err(err(format!(
                            "path {path:?} must be a relative path on this router"
                        )));
                    }
                    ErrorPage::Path(path)
                }
                (Some(_), Some(_)) => {
                    return Err(err("has both file and path: only one of them".into()));
                }
                _ => return Err(err("needs a file (a non-empty string) or a path".into())),
            };
            for s in statuses {
                // As SAP's map: a later entry for the same status wins.
                by_status.insert(s, page.clone());
            }
        }
        Ok(Self { by_status })
    }

    /// The configured answer for `error`, if any. `request_path` is what the browser asked for:
    /// a redirect to the page that failed would loop, so it is not made (SAP's check).
    pub fn answer(&self, error: &Error, request_path: &str) -> Option<Response<Body>> {
        let status = error.status();
        match self.by_status.get(&status.as_u16())? {
            ErrorPage::File { body, content_type } => {
                let mut response = Response::new(Body::from(body.clone()));
                *response.status_mut() = status;
                let headers = response.headers_mut();
                headers.insert(header::CONTENT_TYPE, content_type.clone());
                headers.insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=0"),
                );
                if matches!(error, Error::CsrfRequired) {
                    headers.insert("x-csrf-token", HeaderValue::from_static("Required"));
                }
                Some(response)
            }
            ErrorPage::Path(path) if path != request_path => {
                let mut response = Response::new(Body::empty());
                *response.status_mut() = StatusCode::FOUND;
                let headers = response.headers_mut();
                headers.insert(header::LOCATION, HeaderValue::from_str(path).ok()?);
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                Some(response)
            }
            ErrorPage::Path(_) => None,
        }
    }
}

fn status(value: &Value) -> Option<u16> {
    value
        .as_u64()
        .and_then(|n| u16::try_from(n).ok())
        .filter(|n| (100..=999).contains(n))
}

fn read_file(base_dir: &Path, file: &str) -> Result<ErrorPage, String> {
    let path = base_dir.join(file);
    let meta =
        std::fs::metadata(&path).map_err(|e| format!("file {file:?} ({}): {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("file {file:?} ({}) is not a file", path.display()));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "file {file:?} has {} bytes; error pages are sent from memory, at most {MAX_FILE_BYTES}",
            meta.len()
        ));
    }
    let body = std::fs::read(&path).map_err(|e| format!("file {file:?}: {e}"))?;
    let mime = mime_guess::from_path(&path).first_or_octet_stream();
    let text = mime.type_() == mime_guess::mime::TEXT
        || mime.essence_str() == "application/javascript"
        || mime.essence_str() == "application/json";
    // `send` declares text as UTF-8, as the static files get it.
    let content_type = if text {
        format!("{}; charset=UTF-8", mime.essence_str())
    } else {
        mime.essence_str().to_string()
    };
    Ok(ErrorPage::File {
        body: Bytes::from(body),
        content_type: HeaderValue::from_str(&content_type)
            .map_err(|_| format!("file {file:?}: no content type"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn files_and_paths_per_status() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("oops.html"), "<h1>oops</h1>").unwrap();
        let pages = ErrorPages::parse(
            &json!([{"status": [403, 404], "file": "oops.html"}, {"status": 502, "path": "down.html"}]),
            "xs-app.json: errorPage",
            dir.path(),
        )
        .unwrap();
        let page = pages.answer(&Error::NotFound, "/x").unwrap();
        assert_eq!(page.status(), StatusCode::NOT_FOUND);
        assert_eq!(page.headers()["content-type"], "text/html; charset=UTF-8");
        let bad_gateway = Error::BadGateway {
            destination: "d".into(),
            reason: "r".into(),
        };
        let redirect = pages.answer(&bad_gateway, "/x").unwrap();
        assert_eq!(redirect.headers()["location"], "/down.html");
        assert!(
            pages.answer(&bad_gateway, "/down.html").is_none(),
            "no loop"
        );
        assert!(pages.answer(&Error::Unauthorized, "/x").is_none());
    }

    #[test]
    fn bad_entries_name_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        for (value, part) in [
            (json!({}), "must be an array"),
            (json!([{"status": 404}]), "needs a file"),
            (
                json!([{"status": 404, "file": "missing.html"}]),
                "missing.html",
            ),
            (json!([{"status": "404", "file": "x"}]), "status"),
            (
                json!([{"status": 404, "path": "//evil.example"}]),
                "relative path",
            ),
            (
                json!([{"status": 404, "path": "/a", "file": "b"}]),
                "only one",
            ),
            (
                json!([{"status": 404, "path": "/a", "redirect": true}]),
                "unknown key",
            ),
        ] {
            let e = ErrorPages::parse(&value, "xs-app.json: errorPage", dir.path())
                .unwrap_err()
                .to_string();
            assert!(e.contains("errorPage") && e.contains(part), "{e}");
        }
    }
}
