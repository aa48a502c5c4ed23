//! `errorPage` of `xs-app.json`: the router's own error answers (no route, no login for an API
//! client, missing scope or CSRF token, unreachable destination...) replaced by a file, or by a
//! redirect to a `path`, per status, as `@sap/approuter` 23's error handler does. A backend's own
//! error answers pass unchanged, as in SAP.
//!
//! Files are read and checked at start-up (SAP checks that they exist then too) and kept in
//! memory: an error answer never touches the disk. They are served with the original status and
//! what SAP's `send` gives them (`Content-Type` by extension, `Cache-Control: public, max-age=0`).

use crate::error::Error;
use crate::xs_app::document::{ErrorPageEntry, Field, Statuses};
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Response, StatusCode, header};
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
    pub fn compile(
        entries: &Field<Vec<Field<ErrorPageEntry>>>,
        here: &str,
        base_dir: &Path,
    ) -> Result<Self, Error> {
        let Field::Valid(items) = entries else {
            return Err(Error::Config(format!(
                "{here} must be an array of {{status, file}} or {{status, path}}"
            )));
        };
        let mut by_status = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{here}[{i}]");
            let err = |reason: String| Error::Config(format!("{at}: {reason}"));
            let Field::Valid(entry) = item else {
                return Err(err(
                    "must be an object {status, file} or {status, path}".into()
                ));
            };
            if let Some(key) = entry.extra.keys().next() {
                return Err(err(format!("unknown key {key:?}")));
            }
            let not_a_status =
                |s: &dyn std::fmt::Display| err(format!("status {s} is not an HTTP status"));
            let statuses: Vec<u16> = match &entry.status {
                Field::Valid(Statuses::Many(list)) if !list.is_empty() => list
                    .iter()
                    .map(|s| match s {
                        Field::Valid(n) if is_status(*n) => Ok(*n),
                        Field::Valid(n) => Err(not_a_status(n)),
                        Field::Wrong(v) => Err(not_a_status(v)),
                        // Not in an array; said as for a wrong shape.
                        Field::Absent => Err(err(
                            "status must be a status code or a non-empty array of them".into(),
                        )),
                    })
                    .collect::<Result<_, _>>()?,
                Field::Valid(Statuses::One(n)) => {
                    let status = n
                        .as_u64()
                        .and_then(|n| u16::try_from(n).ok())
                        .filter(|n| is_status(*n));
                    vec![status.ok_or_else(|| not_a_status(n))?]
                }
                _ => {
                    return Err(err(
                        "status must be a status code or a non-empty array of them".into(),
                    ));
                }
            };
            let page = match (&entry.file, &entry.path) {
                (Field::Valid(file), Field::Absent) if !file.is_empty() => {
                    read_file(base_dir, file).map_err(&err)?
                }
                (Field::Absent, Field::Valid(path)) if !path.is_empty() => {
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
                (file, path) if file.is_present() && path.is_present() => {
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

fn is_status(n: u16) -> bool {
    (100..=999).contains(&n)
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
    use serde::Deserialize;
    use serde_json::{Value, json};

    fn parse(value: &Value, here: &str, base_dir: &Path) -> Result<ErrorPages, Error> {
        ErrorPages::compile(&Field::deserialize(value).unwrap(), here, base_dir)
    }

    #[test]
    fn files_and_paths_per_status() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("oops.html"), "<h1>oops</h1>").unwrap();
        let pages = parse(
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
            let e = parse(&value, "xs-app.json: errorPage", dir.path())
                .unwrap_err()
                .to_string();
            assert!(e.contains("errorPage") && e.contains(part), "{e}");
        }
    }
}
