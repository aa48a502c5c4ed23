//! Response compression as `@sap/approuter` 23 does it: on by default (`compression.enabled`),
//! br, gzip or deflate as the client accepts them (brotli first at equal weight, as SAP's
//! `compression` 1.8 negotiates; brotli at quality 4, tower-http's default for on-the-fly use)
//! for compressible content types (the npm `compressible` rule: `text/*`, `+json`, `+xml`,
//! `+text` and mime-db's compressible types; `multipart/mixed` only with
//! `compressResponseMixedTypeContent`), from `minSize` bytes on (default 1024), for static files
//! and backend answers only (the login page and the router's own errors are not compressed, as
//! SAP's middleware sits after them). Never what is already encoded (`Content-Encoding`), never
//! with `Cache-Control: no-transform`, never a `HEAD`; `Vary: Accept-Encoding` on every answer of a
//! compressible type. `COMPRESSION` (env, same JSON) overrides `xs-app.json` key by key.
//!
//! The work is tower-http's `CompressionLayer`; the router marks the answers it may compress
//! ([`Compressible`]) and the layer's predicate checks the mark and the size.

use crate::error::Error;
use crate::xs_app::document::{CompressionSection, Field};
use axum::body::Body;
use axum::http::{HeaderValue, Method, Response, header};
use serde::Deserialize;
use serde_json::Value;
use tower_http::compression::predicate::Predicate;

/// `compression` with every default applied; `None` in [`crate::app::App`] when disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compression {
    pub min_size: u64,
    pub mixed: bool,
}

/// The keys of one `compression` object (`xs-app.json` or `COMPRESSION`), unset ones `None`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Settings {
    pub enabled: Option<bool>,
    pub min_size: Option<u64>,
    pub mixed: Option<bool>,
}

/// `compression`'s default threshold (the npm `compression` module's `1kb`).
pub const DEFAULT_MIN_SIZE: u64 = 1024;

impl Settings {
    /// `COMPRESSION` (the env, same JSON as `xs-app.json`'s `compression`); `here` names it.
    pub fn parse(value: &Value, here: &str) -> Result<Self, Error> {
        let section = Field::<CompressionSection>::deserialize(value)
            .map_err(|e| Error::Config(format!("{here}: {e}")))?;
        Self::compile(&section, here)
    }

    /// A `compression` object, read; `here` names the file and key, or the variable.
    pub fn compile(section: &Field<CompressionSection>, here: &str) -> Result<Self, Error> {
        let Field::Valid(section) = section else {
            return Err(Error::Config(format!(
                "{here} must be an object {{enabled, minSize, compressResponseMixedTypeContent}}"
            )));
        };
        if let Some(key) = section.extra.keys().next() {
            return Err(Error::Config(format!("{here}: unknown key {key:?}")));
        }
        let flag = |field: &Field<bool>, key: &str| match field {
            Field::Absent => Ok(None),
            Field::Valid(b) => Ok(Some(*b)),
            Field::Wrong(_) => Err(Error::Config(format!(
                "{here}: {key} must be true or false"
            ))),
        };
        let mixed = flag(
            &section.compress_response_mixed_type_content,
            "compressResponseMixedTypeContent",
        )?;
        let enabled = flag(&section.enabled, "enabled")?;
        let min_size = match &section.min_size {
            Field::Absent => None,
            Field::Valid(n) if *n >= 1 => Some(*n),
            Field::Valid(n) => {
                return Err(Error::Config(format!(
                    "{here}: minSize must be a positive number of bytes, not {n}"
                )));
            }
            Field::Wrong(v) => {
                return Err(Error::Config(format!(
                    "{here}: minSize must be a positive number of bytes, not {v}"
                )));
            }
        };
        Ok(Settings {
            enabled,
            min_size,
            mixed,
        })
    }

    /// `self` (from `xs-app.json`) with `over` (the env) on top, key by key, as SAP merges them.
    pub fn merged(self, over: Settings) -> Option<Compression> {
        let enabled = over.enabled.or(self.enabled).unwrap_or(true);
        enabled.then(|| Compression {
            min_size: over.min_size.or(self.min_size).unwrap_or(DEFAULT_MIN_SIZE),
            mixed: over.mixed.or(self.mixed).unwrap_or(false),
        })
    }
}

/// On an answer the router may compress (a static file or a backend's answer to anything but
/// `HEAD`); the layer compresses nothing else.
#[derive(Debug, Clone, Copy)]
pub struct Compressible;

impl Compression {
    /// Marks `response` for the layer and names `Vary: Accept-Encoding` when its type is
    /// compressible, as SAP's `compression` middleware does (also below `minSize`).
    pub fn prepare(&self, method: &Method, response: &mut Response<Body>) {
        let headers = response.headers();
        let compressible_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| is_compressible(t, self.mixed));
        let no_transform = headers
            .get_all(header::CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| {
                v.split(',')
                    .any(|d| d.trim().eq_ignore_ascii_case("no-transform"))
            });
        if !compressible_type || no_transform {
            return;
        }
        let has_vary = headers
            .get_all(header::VARY)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| {
                v.split(',')
                    .any(|d| d.trim().eq_ignore_ascii_case("accept-encoding") || d.trim() == "*")
            });
        let encoded = headers
            .get(header::CONTENT_ENCODING)
            .is_some_and(|e| !e.as_bytes().eq_ignore_ascii_case(b"identity"));
        if !has_vary {
            response
                .headers_mut()
                .append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        }
        if method != Method::HEAD && !encoded {
            response.extensions_mut().insert(Compressible);
        }
    }

    pub fn predicate(&self) -> MarkedAndLarge {
        MarkedAndLarge {
            min_size: self.min_size,
        }
    }
}

/// The layer's predicate: marked by [`Compression::prepare`], and at least `minSize` bytes
/// (by `Content-Length`, else the body's exact size; a stream of unknown size is compressed).
#[derive(Debug, Clone, Copy)]
pub struct MarkedAndLarge {
    min_size: u64,
}

impl Predicate for MarkedAndLarge {
    fn should_compress<B>(&self, response: &Response<B>) -> bool
    where
        B: http_body::Body,
    {
        if response.extensions().get::<Compressible>().is_none() {
            return false;
        }
        let size = response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .or_else(|| response.body().size_hint().exact());
        size.is_none_or(|s| s >= self.min_size)
    }
}

/// The npm `compressible` rule (mime-db's `compressible` flag, else `text/*`, `+json`, `+text`,
/// `+xml`), with `multipart/mixed` / `multipart/x-mixed-replace` when `mixed` is on.
pub fn is_compressible(content_type: &str, mixed: bool) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence.starts_with("multipart/mixed") || essence.starts_with("multipart/x-mixed-replace") {
        return mixed;
    }
    // Deliberately unlike SAP: an encoder holds events back until its buffer fills, which breaks
    // server-sent events (tower-http's default predicate leaves them alone too).
    if essence == "text/event-stream" {
        return false;
    }
    if MIME_DB_COMPRESSIBLE
        .binary_search(&essence.as_str())
        .is_ok()
    {
        return true;
    }
    essence.starts_with("text/")
        || essence.ends_with("+json")
        || essence.ends_with("+text")
        || essence.ends_with("+xml")
}

/// mime-db 1.54 (what `compressible` 2.0.18 in `@sap/approuter` 23 reads): the types flagged
/// `compressible: true` that the suffix rule does not cover (`application/octet-stream` among
/// them, as in mime-db). None of its types is flagged `false` where the suffix rule says yes.
/// Sorted, for the binary search.
const MIME_DB_COMPRESSIBLE: &[&str] = &[
    "application/dart",
    "application/ecmascript",
    "application/javascript",
    "application/json",
    "application/octet-stream",
    "application/postscript",
    "application/raml+yaml",
    "application/rtf",
    "application/tar",
    "application/toml",
    "application/vnd.dart",
    "application/vnd.ms-fontobject",
    "application/vnd.ms-opentype",
    "application/wasm",
    "application/x-httpd-php",
    "application/x-javascript",
    "application/x-ns-proxy-autoconfig",
    "application/x-sh",
    "application/x-tar",
    "application/x-virtualbox-hdd",
    "application/x-virtualbox-ova",
    "application/x-virtualbox-ovf",
    "application/x-virtualbox-vbox",
    "application/x-virtualbox-vdi",
    "application/x-virtualbox-vhd",
    "application/x-virtualbox-vmdk",
    "application/x-www-form-urlencoded",
    "application/xml",
    "application/xml-dtd",
    "font/otf",
    "font/ttf",
    "image/bmp",
    "image/vnd.adobe.photoshop",
    "image/vnd.microsoft.icon",
    "image/vnd.ms-dds",
    "image/x-icon",
    "image/x-ms-bmp",
    "message/rfc822",
    "model/gltf-binary",
    "x-shader/x-fragment",
    "x-shader/x-vertex",
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_as_the_npm_compressible_module() {
        for yes in [
            "text/html; charset=utf-8",
            "application/json",
            "application/javascript",
            "image/svg+xml",
            "application/vnd.api+json",
            "TEXT/CSS",
        ] {
            assert!(is_compressible(yes, false), "{yes}");
        }
        for no in [
            "image/png",
            "image/jpeg",
            "video/mp4",
            "application/zip",
            "font/woff2",
            "text/event-stream",
        ] {
            assert!(!is_compressible(no, false), "{no}");
        }
        assert!(!is_compressible("multipart/mixed; boundary=x", false));
        assert!(is_compressible("multipart/mixed; boundary=x", true));
        assert!(
            MIME_DB_COMPRESSIBLE.windows(2).all(|w| w[0] < w[1]),
            "sorted for binary search"
        );
    }

    #[test]
    fn env_overrides_xs_app_key_by_key() {
        let file = Settings::parse(&json!({"minSize": 2048, "enabled": true}), "f").unwrap();
        let env = Settings::parse(&json!({"compressResponseMixedTypeContent": true}), "e").unwrap();
        assert_eq!(
            file.merged(env),
            Some(Compression {
                min_size: 2048,
                mixed: true
            })
        );
        assert_eq!(
            Settings::default().merged(Settings::default()),
            Some(Compression {
                min_size: DEFAULT_MIN_SIZE,
                mixed: false
            }),
            "on by default, as SAP"
        );
        let off = Settings::parse(&json!({"enabled": false}), "e").unwrap();
        assert_eq!(file.merged(off), None);
        for bad in [
            json!({"minSize": 0}),
            json!({"enabled": "yes"}),
            json!({"level": 9}),
            json!([]),
        ] {
            assert!(Settings::parse(&bad, "COMPRESSION").is_err(), "{bad}");
        }
    }
}
