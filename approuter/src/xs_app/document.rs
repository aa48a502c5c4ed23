//! `xs-app.json` as written: one serde type per section, with the file's key names. Pure data (and
//! the shape check that `source` and `uriPattern` share), nothing of the rest of the crate, so
//! every module that compiles a section (routes, `cors`, `compression`, `errorPage`, `replace`)
//! can sit above it.
//!
//! Every key is a [`Field`]: a value of the wrong type is kept instead of failing the whole
//! document, so the checks above can name the key in their own words (`routes[3] (source "^/a"):
//! target must be a string`) and report errors in the order they always have. Keys no struct
//! names land in `extra`, where the checks tell `@sap/approuter`'s keys we do not implement (a
//! warning, or an error when ignoring them is unsafe) from typos (an error); `deny_unknown_fields`
//! would lose that distinction.

use serde::Deserialize;
use serde_json::{Map, Number, Value};
use std::collections::BTreeMap;

/// The service name of the route to the user API (`"service": "sap-approuter-userapi"`).
pub const USER_API_SERVICE: &str = "sap-approuter-userapi";

/// One key of a section: absent, of the expected shape, or something else (kept for the message).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(untagged)]
pub enum Field<T> {
    /// The key is not in the file.
    #[default]
    #[serde(skip_deserializing)]
    Absent,
    Valid(T),
    /// Present with a value of another shape (`null` included).
    Wrong(Value),
}

impl<T> Field<T> {
    pub fn is_present(&self) -> bool {
        !matches!(self, Field::Absent)
    }
}

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Document {
    pub state_protection: Field<bool>,
    /// `null` is the same as absent, as in `@sap/approuter`.
    pub welcome_file: Field<Option<String>>,
    pub authentication_method: Field<String>,
    pub session_timeout: Field<u64>,
    pub logout: Field<LogoutSection>,
    pub login: Field<LoginSection>,
    pub routes: Field<Vec<Field<RouteEntry>>>,
    pub response_headers: Field<Vec<Field<ResponseHeader>>>,
    pub websockets: Field<WebsocketsSection>,
    pub cors: Field<Vec<Field<CorsEntry>>>,
    pub compression: Field<CompressionSection>,
    pub error_page: Field<Vec<Field<ErrorPageEntry>>>,
    /// `destinations: {"<name>": {logoutPath, logoutMethod}}`.
    pub destinations: Field<BTreeMap<String, Field<DestinationSection>>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LogoutSection {
    pub logout_endpoint: Field<String>,
    pub logout_page: Field<String>,
    pub logout_method: Field<String>,
    pub csrf_protection: Field<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LoginSection {
    pub callback_endpoint: Field<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ResponseHeader {
    pub name: Field<String>,
    pub value: Field<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WebsocketsSection {
    pub enabled: Field<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DestinationSection {
    pub logout_path: Field<String>,
    pub logout_method: Field<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One entry of `routes`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RouteEntry {
    pub source: Field<Pattern>,
    pub target: Field<String>,
    pub destination: Field<String>,
    pub local_dir: Field<String>,
    pub service: Field<String>,
    pub endpoint: Field<String>,
    pub authentication_type: Field<String>,
    pub scope: Field<Scope>,
    pub csrf_protection: Field<bool>,
    pub http_methods: Field<Vec<Field<String>>>,
    pub cache_control: Field<String>,
    pub set_backend_session_cookies: Field<bool>,
    pub replace: Field<ReplaceSection>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A route's `source` or a CORS rule's `uriPattern`: a regular expression, or `{path, matchCase}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Pattern {
    Text(String),
    Object(PatternObject),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PatternObject {
    pub path: Field<String>,
    pub match_case: Field<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Field<Pattern> {
    /// The expression and whether it matches case (`matchCase`, default true) of a key shaped
    /// like `source`, or why it has another shape, naming it `key`. An empty string counts as
    /// a wrong shape only where `allow_empty` is false.
    pub fn path_and_case(&self, key: &str, allow_empty: bool) -> Result<(&str, bool), String> {
        match self {
            Field::Valid(Pattern::Text(s)) if allow_empty || !s.is_empty() => Ok((s, true)),
            Field::Valid(Pattern::Object(o)) => {
                if let Some(extra) = o.extra.keys().next() {
                    return Err(format!("{key}: unknown key {extra:?}"));
                }
                let Field::Valid(path) = &o.path else {
                    return Err(format!("{key}.path must be a string"));
                };
                let match_case = match o.match_case {
                    Field::Absent => true,
                    Field::Valid(b) => b,
                    Field::Wrong(_) => {
                        return Err(format!("{key}.matchCase must be true or false"));
                    }
                };
                Ok((path, match_case))
            }
            Field::Absent => Err(format!("{key} is missing")),
            _ => Err(format!("{key} must be a regular expression string")),
        }
    }
}

/// A route's `scope`: a list (one string or an array), or a list per HTTP method with `default`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Scope {
    List(ScopeList),
    PerMethod(BTreeMap<String, Field<ScopeList>>),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ScopeList {
    One(String),
    Many(Vec<Field<String>>),
}

/// A route's `replace`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReplaceSection {
    pub path_suffixes: Field<Vec<Field<String>>>,
    pub vars: Field<Vec<Field<String>>>,
    /// Name in the files -> `@sap/xsenv`'s service query (a name, or an object of `name`,
    /// `label`, `tag`, `plan`), kept as JSON: the query is matched against the bindings as is.
    pub services: Field<Map<String, Value>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One entry of `cors` (or of the `CORS` env).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CorsEntry {
    pub uri_pattern: Field<Pattern>,
    pub host_pattern: Field<String>,
    pub allowed_origin: Field<Vec<Field<AllowedOriginEntry>>>,
    pub allowed_methods: Field<Vec<Field<String>>>,
    pub allowed_headers: Field<Vec<Field<String>>>,
    pub expose_headers: Field<Vec<Field<String>>>,
    pub allowed_credentials: Field<bool>,
    pub max_age: Field<u64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `{host, protocol, port}` of a CORS rule's `allowedOrigin`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AllowedOriginEntry {
    pub host: Field<String>,
    pub protocol: Field<String>,
    pub port: Field<Port>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// SAP's schema takes a port as a number or as a string of digits.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Port {
    Number(u16),
    Text(String),
}

/// `compression` (or the `COMPRESSION` env).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CompressionSection {
    pub enabled: Field<bool>,
    pub min_size: Field<u64>,
    pub compress_response_mixed_type_content: Field<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One entry of `errorPage`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ErrorPageEntry {
    pub status: Field<Statuses>,
    pub file: Field<String>,
    pub path: Field<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `status`: one status code or an array of them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Statuses {
    Many(Vec<Field<u16>>),
    One(Number),
}
