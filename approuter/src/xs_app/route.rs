//! One entry of `routes`, checked and compiled: the regular expression built, the destination or
//! directory found, the scopes expanded, once at start-up.

use super::context::Context;
use super::document::{Field, Pattern, RouteEntry, Scope, ScopeList, USER_API_SERVICE};
use crate::error::Error;
use crate::source::{Source, group_references};
use crate::static_files::Replace;
use axum::http::{HeaderValue, Method};
use std::path::PathBuf;

#[derive(Debug)]
pub struct Route {
    pub index: usize,
    pub source_text: String,
    pub source: Source,
    pub target: Option<String>,
    pub kind: RouteKind,
    /// `authenticationType: xsuaa` (the default) under `authenticationMethod: route`.
    pub authenticated: bool,
    pub scope: ScopeRule,
    pub csrf_protection: bool,
    pub http_methods: Option<Vec<Method>>,
    pub cache_control: Option<HeaderValue>,
    /// `setBackendSessionCookies`: the backend's session cookies go to the browser instead of
    /// being kept in the router's session ([`crate::backend_cookies`]).
    pub set_backend_session_cookies: bool,
    /// `replace`: placeholders filled in static files.
    pub replace: Option<Replace>,
    /// The `./resources` route `@sap/approuter` adds when no route has a `localDir`.
    pub implicit: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RouteKind {
    Destination(String),
    LocalDir(PathBuf),
    /// `"service": "sap-approuter-userapi"`: the logged-in user's details.
    UserApi,
}

/// `scope`: a string, an array (any one of them suffices), or an object per HTTP method with an
/// optional `default`.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum ScopeRule {
    #[default]
    None,
    Any(Vec<String>),
    PerMethod {
        methods: Vec<(Method, Vec<String>)>,
        default: Option<Vec<String>>,
    },
}

impl ScopeRule {
    /// The scopes of which the user needs one for `method`; empty means no scope is required.
    pub fn required(&self, method: &Method) -> &[String] {
        match self {
            ScopeRule::None => &[],
            ScopeRule::Any(scopes) => scopes,
            ScopeRule::PerMethod { methods, default } => methods
                .iter()
                .find(|(m, _)| m == method)
                .map(|(_, s)| s.as_slice())
                .or(default.as_deref())
                .unwrap_or(&[]),
        }
    }

    pub fn is_none(&self) -> bool {
        matches!(self, ScopeRule::None)
    }
}

impl Route {
    pub fn destination(&self) -> Option<&str> {
        match &self.kind {
            RouteKind::Destination(name) => Some(name),
            RouteKind::LocalDir(_) | RouteKind::UserApi => None,
        }
    }

    pub fn label(&self) -> String {
        format!("routes[{}] (source {:?})", self.index, self.source_text)
    }
}

/// Route keys of `@sap/approuter` we ignore (a warning), and why.
const IGNORED: &[(&str, &str)] = &[
    (
        "dynamicIdentityProvider",
        "the identity provider cannot be chosen per request; the default one is used",
    ),
    (
        "preferLocal",
        "destinations always come from the `destinations` env",
    ),
    ("stripLeadingSlash", "not supported"),
];
/// Known keys whose absence of support would open the route wider than configured, or make it
/// route somewhere else: refused.
const REFUSED: &[(&str, &str)] = &[(
    "identityProvider",
    "restricting a route to one identity provider is not supported; ignoring it would let users of any identity provider in",
)];

/// `routes[index]`; `authenticate` is `authenticationMethod: route` (routes may need a login).
pub fn compile(
    index: usize,
    entry: &RouteEntry,
    authenticate: bool,
    ctx: &Context<'_>,
    warnings: &mut Vec<String>,
) -> Result<Route, Error> {
    let origin = ctx.origin;
    let source_label = match &entry.source {
        Field::Valid(Pattern::Text(s)) => s.as_str(),
        Field::Valid(Pattern::Object(o)) => match &o.path {
            Field::Valid(path) => path.as_str(),
            _ => "?",
        },
        _ => "?",
    };
    let source_label = crate::error::excerpt(source_label, crate::error::ECHO_LIMIT).into_owned();
    let here = format!("{origin}: routes[{index}] (source {source_label:?})");
    let err = |reason: String| Error::Config(format!("{here}: {reason}"));

    for key in entry.extra.keys() {
        if let Some((_, why)) = REFUSED.iter().find(|(k, _)| k == key) {
            return Err(err(format!("key {key:?} is not supported: {why}")));
        }
        if let Some((_, why)) = IGNORED.iter().find(|(k, _)| k == key) {
            warnings.push(format!(
                "{here}: key {key:?} is not supported and ignored: {why}"
            ));
            continue;
        }
        return Err(err(format!("unknown key {key:?}")));
    }

    let (path, match_case) = entry.source.path_and_case("source", true).map_err(&err)?;
    let source = Source::new(path, match_case).map_err(|e| {
        err(format!(
            "source is not a valid regular expression: {}",
            crate::error::excerpt(&e, 2 * crate::error::ECHO_LIMIT)
        ))
    })?;

    let target = string(&entry.target, "target").map_err(&err)?;
    if let Some(target) = &target {
        let groups = source.group_count();
        for n in group_references(target) {
            if n > groups && (n < 10 || n / 10 > groups) {
                // JavaScript's replace keeps such a reference as text; so do we, but it is
                // most likely a mistake in the file.
                warnings.push(format!(
                    "{here}: target {target:?} refers to ${n}, but source has {groups} group(s); it is forwarded as the text \"${n}\", as @sap/approuter does"
                ));
            }
        }
    }

    let destination = string(&entry.destination, "destination").map_err(&err)?;
    let local_dir = string(&entry.local_dir, "localDir").map_err(&err)?;
    let service = match &entry.service {
        Field::Absent => None,
        Field::Valid(s) if s == USER_API_SERVICE => Some(s.clone()),
        Field::Valid(s) => {
            return Err(err(format!(
                "service {s:?} is not supported (only {USER_API_SERVICE:?}): routes to bound services such as html5-apps-repo-rt would go nowhere"
            )));
        }
        Field::Wrong(_) => return Err(err("service must be a string".into())),
    };
    match (&entry.endpoint, &service) {
        (Field::Absent, _) => {}
        (Field::Valid(_), Some(_)) => warnings.push(format!(
            "{here}: endpoint is ignored: the user API answers currentUser and attributes"
        )),
        (_, _) => {
            return Err(err(
                "endpoint belongs to a service route, and this route has no service".into(),
            ));
        }
    }
    let kind = match (destination, local_dir, service) {
        (_, _, Some(_)) if entry.destination.is_present() || entry.local_dir.is_present() => {
            return Err(err(
                "has a service and a destination or localDir: only one of them".into(),
            ));
        }
        (_, _, Some(_)) => RouteKind::UserApi,
        (Some(_), Some(_), None) => {
            return Err(err("has both destination and localDir".into()));
        }
        (None, None, None) => {
            return Err(err("needs a destination, a localDir or a service".into()));
        }
        (Some(name), None, None) => {
            if !ctx.destinations.contains(&name) && !ctx.destination_service {
                let mut known: Vec<&str> = ctx.destinations.iter().map(String::as_str).collect();
                known.sort_unstable();
                return Err(err(format!(
                    "destination {name:?} is not defined in the `destinations` env (defined: {}) and no Destination service is bound",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )));
            }
            RouteKind::Destination(name)
        }
        (None, Some(dir), None) => {
            let path = ctx.base_dir.join(&dir);
            let canonical = path
                .canonicalize()
                .map_err(|e| err(format!("localDir {dir:?} ({}): {e}", path.display())))?;
            if !canonical.is_dir() {
                return Err(err(format!("localDir {dir:?} is not a directory")));
            }
            RouteKind::LocalDir(canonical)
        }
    };

    let route_wants_auth = match &entry.authentication_type {
        Field::Absent => true,
        Field::Valid(s) if s == "xsuaa" => true,
        Field::Valid(s) if s == "none" => false,
        Field::Valid(other) => {
            return Err(err(format!(
                "authenticationType {other:?} is not supported (supported: \"xsuaa\", \"none\"); ignoring it would leave the route unprotected"
            )));
        }
        Field::Wrong(_) => return Err(err("authenticationType must be a string".into())),
    };
    let authenticated = route_wants_auth && authenticate;

    let scope = match &entry.scope {
        Field::Absent => ScopeRule::None,
        Field::Valid(scope) => {
            compile_scope(scope, ctx.xsappname).map_err(|reason| err(format!("scope: {reason}")))?
        }
        Field::Wrong(_) => {
            return Err(err(
                "scope: must be a string, an array of strings or an object per HTTP method".into(),
            ));
        }
    };
    if !scope.is_none() && !authenticated {
        return Err(err(
            "has a scope but no authentication (authenticationType \"none\" or authenticationMethod \"none\"): the scope could not be checked".into(),
        ));
    }
    if let ScopeRule::PerMethod { default: None, .. } = &scope {
        warnings.push(format!(
            "{here}: scope has no \"default\": HTTP methods not listed need no scope, only a login"
        ));
    }

    let csrf_protection = match entry.csrf_protection {
        Field::Absent => authenticated,
        Field::Valid(b) => {
            if b && !authenticated {
                warnings.push(format!(
                    "{here}: csrfProtection applies to authenticated routes only; this route has no login, so there is no session to protect"
                ));
            }
            b && authenticated
        }
        Field::Wrong(_) => return Err(err("csrfProtection must be true or false".into())),
    };

    let http_methods = match &entry.http_methods {
        Field::Absent => None,
        Field::Valid(items) => {
            let mut methods = Vec::with_capacity(items.len());
            for item in items {
                let Field::Valid(name) = item else {
                    return Err(err("httpMethods must be an array of method names".into()));
                };
                methods.push(
                    parse_method(name)
                        .ok_or_else(|| err(format!("httpMethods: unknown method {name:?}")))?,
                );
            }
            if methods.is_empty() {
                return Err(err(
                    "httpMethods is empty, so the route could never match".into()
                ));
            }
            Some(methods)
        }
        Field::Wrong(_) => return Err(err("httpMethods must be an array of method names".into())),
    };

    let cache_control = match string(&entry.cache_control, "cacheControl").map_err(&err)? {
        None => None,
        Some(s) => Some(
            HeaderValue::from_str(&s)
                .map_err(|_| err(format!("cacheControl {s:?} is not a valid header value")))?,
        ),
    };
    if cache_control.is_some() && matches!(kind, RouteKind::Destination(_)) {
        warnings.push(format!(
            "{here}: cacheControl applies to localDir routes only and is ignored here"
        ));
    }
    let replace = if entry.replace.is_present() {
        if !matches!(kind, RouteKind::LocalDir(_)) {
            return Err(err(
                "replace needs a localDir: it fills placeholders in static files".into(),
            ));
        }
        Some(Replace::compile(&entry.replace).map_err(err)?)
    } else {
        None
    };

    let set_backend_session_cookies = match entry.set_backend_session_cookies {
        Field::Absent => false,
        Field::Valid(b) => b,
        Field::Wrong(_) => {
            return Err(err("setBackendSessionCookies must be true or false".into()));
        }
    };

    Ok(Route {
        index,
        source_text: source_label,
        source,
        target,
        kind,
        authenticated,
        scope,
        csrf_protection,
        http_methods,
        cache_control,
        set_backend_session_cookies,
        replace,
        implicit: false,
    })
}

/// An optional string key; the reason names the key when it holds something else.
fn string(field: &Field<String>, key: &str) -> Result<Option<String>, String> {
    match field {
        Field::Absent => Ok(None),
        Field::Valid(s) => Ok(Some(s.clone())),
        Field::Wrong(_) => Err(format!("{key} must be a string")),
    }
}

const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
];

fn parse_method(name: &str) -> Option<Method> {
    let upper = name.to_ascii_uppercase();
    METHODS
        .contains(&upper.as_str())
        .then(|| Method::from_bytes(upper.as_bytes()).ok())
        .flatten()
}

fn compile_scope(scope: &Scope, xsappname: Option<&str>) -> Result<ScopeRule, String> {
    match scope {
        Scope::List(list) => Ok(ScopeRule::Any(scope_list(list, xsappname)?)),
        Scope::PerMethod(by_method) => {
            let mut methods = Vec::new();
            let mut default = None;
            for (key, field) in by_method {
                let list = |field: &Field<ScopeList>| match field {
                    Field::Valid(list) => scope_list(list, xsappname),
                    Field::Wrong(other) => {
                        Err(format!("{other} is not a string or an array of strings"))
                    }
                    // Not in a map; said as for a wrong shape.
                    Field::Absent => {
                        Err("a scope list must be a string or an array of strings".into())
                    }
                };
                if key == "default" {
                    default = Some(list(field)?);
                } else {
                    let method =
                        parse_method(key).ok_or_else(|| format!("unknown HTTP method {key:?}"))?;
                    methods.push((method, list(field)?));
                }
            }
            Ok(ScopeRule::PerMethod { methods, default })
        }
    }
}

fn scope_list(list: &ScopeList, xsappname: Option<&str>) -> Result<Vec<String>, String> {
    let raw: Vec<&str> = match list {
        ScopeList::One(s) => vec![s.as_str()],
        ScopeList::Many(items) => items
            .iter()
            .map(|v| match v {
                Field::Valid(s) => Ok(s.as_str()),
                Field::Wrong(v) => Err(format!("{v} is not a string")),
                Field::Absent => Err("a scope must be a string".to_string()),
            })
            .collect::<Result<_, _>>()?,
    };
    if raw.is_empty() {
        return Err("an empty list of scopes would let nobody in".into());
    }
    raw.into_iter()
        .map(|s| {
            if s.trim().is_empty() {
                return Err("empty scope name".to_string());
            }
            if s.contains("$XSAPPNAME") {
                let name = xsappname.ok_or_else(|| {
                    format!("{s:?} uses $XSAPPNAME but there is no xsuaa binding in VCAP_SERVICES")
                })?;
                Ok(s.replace("$XSAPPNAME", name))
            } else {
                Ok(s.to_string())
            }
        })
        .collect()
}
