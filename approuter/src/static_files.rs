//! Files from a route's `localDir`. The path comes from the route's target; it can never leave
//! the directory (no `..`, no encoded separators, symlinks resolved and checked).
//!
//! A route's `replace` fills placeholders in the files whose path ends in one of its
//! `pathSuffixes`, as `@sap/approuter` does with mustache: `{{name}}` HTML-escaped, `{{{name}}}`
//! and `{{&name}}` as they are, `{{a.b}}` a property of an object; the values are the env
//! variables named in `vars` and the credentials of the bound services named in `services`,
//! fixed at start-up.

use crate::error::Error;
use crate::xs_app::document::{Field, ReplaceSection};
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, Response, StatusCode, header};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use tower::ServiceExt;
use tower_http::services::ServeFile;

const INDEX: &str = "index.html";

/// A route's `replace`.
#[derive(Debug, Clone, Default)]
pub struct Replace {
    pub path_suffixes: Vec<String>,
    /// Env variables, by name.
    pub vars: Vec<String>,
    /// Name in the files -> the query that finds the bound service (a name, or an object of
    /// `name`, `label`, `tag`, `plan`).
    pub services: Map<String, Value>,
    /// What the placeholders are filled with: built at start-up ([`Replace::resolve`]).
    pub view: Map<String, Value>,
}

impl Replace {
    /// A route's `replace`, read (the view is filled later, by [`Replace::resolve`]).
    pub fn compile(section: &Field<ReplaceSection>) -> Result<Self, String> {
        let Field::Valid(section) = section else {
            return Err("replace must be an object {pathSuffixes, vars, services}".into());
        };
        if let Some(key) = section.extra.keys().next() {
            return Err(format!("replace: unknown key {key:?}"));
        }
        let strings =
            |field: &Field<Vec<Field<String>>>, key: &str| -> Result<Vec<String>, String> {
                let wrong = || format!("replace.{key} must be an array of non-empty strings");
                match field {
                    Field::Absent => Ok(Vec::new()),
                    Field::Valid(items) => items
                        .iter()
                        .map(|v| match v {
                            Field::Valid(s) if !s.is_empty() => Ok(s.clone()),
                            _ => Err(wrong()),
                        })
                        .collect(),
                    Field::Wrong(_) => Err(wrong()),
                }
            };
        if !section.path_suffixes.is_present() {
            return Err("replace.pathSuffixes is missing".into());
        }
        let path_suffixes = strings(&section.path_suffixes, "pathSuffixes")?;
        if let Some(bad) = path_suffixes.iter().find(|s| s.contains("://")) {
            return Err(format!(
                "replace.pathSuffixes: {bad:?} must be a relative path"
            ));
        }
        let vars = strings(&section.vars, "vars")?;
        let services = match &section.services {
            Field::Absent => Map::new(),
            Field::Valid(map) => map.clone(),
            Field::Wrong(_) => return Err("replace.services must be an object".into()),
        };
        if let Some(both) = vars.iter().find(|v| services.contains_key(*v)) {
            return Err(format!(
                "replace: {both:?} is both in vars and in services (colliding services and vars)"
            ));
        }
        Ok(Replace {
            path_suffixes,
            vars,
            services,
            view: Map::new(),
        })
    }

    /// Fills the view: `env` for `vars` (a variable not set is empty, as in SAP), the bound
    /// services' credentials for `services` (a query that finds none stops start-up).
    pub fn resolve(
        &mut self,
        env: &dyn Fn(&str) -> Option<String>,
        vcap: Option<&common::cf::VcapServices>,
    ) -> Result<(), String> {
        let mut view = Map::new();
        for name in &self.vars {
            if let Some(value) = env(name) {
                view.insert(name.clone(), Value::String(value));
            }
        }
        for (name, query) in &self.services {
            let found = vcap.and_then(|v| v.bindings().find(|b| service_matches(b, query)));
            let Some(binding) = found else {
                return Err(format!(
                    "replace.services.{name}: no bound service in VCAP_SERVICES matches {query}"
                ));
            };
            view.insert(name.clone(), binding.credentials.clone());
        }
        self.view = view;
        Ok(())
    }

    fn applies(&self, target: &str) -> bool {
        self.path_suffixes
            .iter()
            .any(|s| target.ends_with(s.as_str()))
    }
}

/// `@sap/xsenv`'s service query: a name, or an object whose `name`, `label`, `tag` and `plan`
/// all match.
fn service_matches(binding: &common::cf::ServiceBinding, query: &Value) -> bool {
    match query {
        Value::String(name) => {
            binding.name == *name || binding.instance_name.as_deref() == Some(name)
        }
        Value::Object(obj) => {
            !obj.is_empty()
                && obj.iter().all(|(key, want)| {
                    let Some(want) = want.as_str() else {
                        return false;
                    };
                    match key.as_str() {
                        "name" => binding.name == want,
                        "label" => binding.label == want,
                        "tag" => binding.tags.iter().any(|t| t == want),
                        "plan" => binding.plan.as_deref() == Some(want),
                        _ => false,
                    }
                })
        }
        _ => false,
    }
}

pub async fn serve(
    dir: &Path,
    target: &str,
    req: Request<Body>,
    cache_control: Option<&HeaderValue>,
    replace: Option<&Replace>,
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
    if let Some(replace) = replace {
        let named = if target.is_empty() || target.ends_with('/') {
            format!("{target}{INDEX}")
        } else {
            target.to_string()
        };
        if replace.applies(&named) {
            return serve_replaced(&path, req.method(), replace).await;
        }
    }
    let response = ServeFile::new(path)
        .oneshot(req)
        .await
        .map_err(|e| Error::InternalCause {
            what: "static file".into(),
            source: e.into(),
        })?;
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

/// A file with its placeholders filled, declared as SAP declares it (by extension, no charset).
async fn serve_replaced(
    path: &Path,
    method: &Method,
    replace: &Replace,
) -> Result<Response<Body>, Error> {
    let text = tokio::fs::read_to_string(path).await.map_err(|e| {
        tracing::info!(error = %e, "replace: the file cannot be read as UTF-8 text");
        Error::NotFound
    })?;
    let body = render(&text, &replace.view);
    let content_type = match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("json") => "application/json",
        Some("txt") => "text/plain",
        Some("js") => "application/javascript",
        Some("css") => "text/css",
        _ => "text/html",
    };
    let length = body.len();
    let mut response = Response::new(if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(body)
    });
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    Ok(response)
}

/// Mustache's variables: `{{name}}` (HTML-escaped), `{{{name}}}` and `{{&name}}` (as they are),
/// `{{! comment}}`; a name not in `view` is empty. Sections and partials, which `replace` has
/// no use for, are left as written.
pub fn render(template: &str, view: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let tag = &rest[start..];
        if let Some(inner) = tag.strip_prefix("{{{")
            && let Some(end) = inner.find("}}}")
        {
            out.push_str(&lookup(view, inner[..end].trim()));
            rest = &inner[end + 3..];
            continue;
        }
        let inner = &tag[2..];
        let Some(end) = inner.find("}}") else {
            out.push_str(tag);
            return out;
        };
        let name = inner[..end].trim();
        match name.chars().next() {
            Some('&') => out.push_str(&lookup(view, name[1..].trim())),
            Some('!') => {}
            Some('#' | '^' | '/' | '>' | '=' | '<' | '$') => out.push_str(&tag[..end + 4]),
            _ => out.push_str(&escape(&lookup(view, name))),
        }
        rest = &inner[end + 2..];
    }
    out.push_str(rest);
    out
}

fn lookup(view: &Map<String, Value>, name: &str) -> String {
    let mut parts = name.split('.');
    let mut value = parts.next().and_then(|first| view.get(first));
    for part in parts {
        value = value.and_then(|v| v.get(part));
    }
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(_)) => "[object Object]".into(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(","),
        Some(other) => other.to_string(),
    }
}

/// mustache.js's HTML escape.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // mustache.js escapes `/`, `` ` `` and `=` on top of the HTML five.
    for part in text.split_inclusive(['/', '`', '=']) {
        let (plain, extra) = match part.char_indices().last() {
            Some((i, '/')) => (&part[..i], "&#x2F;"),
            Some((i, '`')) => (&part[..i], "&#x60;"),
            Some((i, '=')) => (&part[..i], "&#x3D;"),
            _ => (part, ""),
        };
        common::html::escape_into(&mut out, plain);
        out.push_str(extra);
    }
    out
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

/// Percent-decoding; an encoded `/` is refused, as it would be a separator on disk. Not the
/// `percent-encoding` crate's decoder: it passes a malformed escape on as text, and a path with
/// one is no file of ours.
fn decode(text: &str) -> Option<String> {
    if text.to_ascii_lowercase().contains("%2f") {
        return None;
    }
    crate::redirect::percent_decode(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_mustache_js() {
        assert_eq!(
            escape("a=`b`/'c'\"&<>é"),
            "a&#x3D;&#x60;b&#x60;&#x2F;&#39;c&#39;&quot;&amp;&lt;&gt;é"
        );
        assert_eq!(escape("=/"), "&#x3D;&#x2F;");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn placeholders_as_mustache() {
        let view: Map<String, Value> = serde_json::from_value(serde_json::json!({
            "TITLE": "<b>A & B</b>",
            "svc": {"url": "https://ui5.example/x", "n": 3},
        }))
        .unwrap();
        assert_eq!(
            render(
                "{{TITLE}}|{{{TITLE}}}|{{& TITLE}}|{{svc.url}}|{{svc.n}}|{{MISSING}}|{{! c }}|{{#s}}x{{/s}}|{{open",
                &view
            ),
            "&lt;b&gt;A &amp; B&lt;&#x2F;b&gt;|<b>A & B</b>|<b>A & B</b>|https:&#x2F;&#x2F;ui5.example&#x2F;x|3|||{{#s}}x{{/s}}|{{open"
        );
        let parse =
            |value: Value| Replace::compile(&serde::Deserialize::deserialize(&value).unwrap());
        let r = parse(
            serde_json::json!({"pathSuffixes": ["index.html"], "vars": ["A"], "services": {"A": "x"}}),
        );
        assert!(r.unwrap_err().contains("colliding"));
        assert!(
            parse(serde_json::json!({"vars": ["A"]}))
                .unwrap_err()
                .contains("pathSuffixes")
        );
    }

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
