//! Which `xs-app.json` route a request takes, and the path it is forwarded with.
//!
//! Matching runs on the normalized path only (no query, no fragment, dot segments resolved,
//! unreserved characters decoded), so `^/api/.*/status` cannot be met through
//! `/api/private/x?path=/status` and `/public/../admin` is `/admin` for the router and the backend
//! alike.
//!
//! The decoding is ours, not the `percent-encoding` crate's: that crate decodes every escape, and
//! here only unreserved characters may be decoded (an encoded `/` or `?` stays data) and a
//! malformed escape is refused, not passed on as text.

use crate::error::Error;
use crate::xs_app::Route;
use axum::http::Method;

/// Where they were before the source got a module of its own (tests and tools name them here).
pub use crate::source::{Source, group_references};

/// Which route a request takes.
#[derive(Debug)]
pub enum Match<'a> {
    /// The route and the path it forwards to (`target` applied).
    Route(&'a Route, String),
    /// Routes match the path but none allows the method: `@sap/approuter` answers 405 with these
    /// methods (sorted, without duplicates) in `Allow`, after the login, scope and CSRF checks of
    /// the first route that matches the path (as its middleware order has it).
    MethodNotAllowed {
        route: &'a Route,
        allow: Vec<String>,
    },
    NotFound,
}

/// The first route whose `source` matches `path` and whose `httpMethods` (if any) has `method`.
/// As in `@sap/approuter`, a route that matches the path but not the method is passed over and
/// remembered: when no later route takes the request, the answer is 405 with their methods.
pub fn find<'a>(routes: &'a [Route], method: &Method, path: &str) -> Match<'a> {
    let mut allowed: Vec<String> = Vec::new();
    let mut first = None;
    for route in routes {
        let forwarded = match &route.target {
            Some(target) => route.source.replace(path, target),
            None => route.source.is_match(path).then(|| path.to_string()),
        };
        let Some(forwarded) = forwarded else {
            continue;
        };
        match &route.http_methods {
            Some(methods) if !methods.contains(method) => {
                first.get_or_insert(route);
                allowed.extend(methods.iter().map(|m| m.as_str().to_string()));
            }
            _ => return Match::Route(route, forwarded),
        }
    }
    match first {
        None => Match::NotFound,
        Some(route) => {
            allowed.sort();
            allowed.dedup();
            Match::MethodNotAllowed {
                route,
                allow: allowed,
            }
        }
    }
}

/// The path as routes see it. Percent-encoded unreserved characters are decoded (so `%2e%2e` is
/// `..`), hex digits of the remaining escapes upper-cased, empty and `.` segments dropped, `..`
/// segments resolved (never above the root). An encoded slash stays encoded: it is data, not a
/// separator. Bad escapes, control characters and backslashes are refused.
pub fn normalize_path(raw: &str) -> Result<String, Error> {
    if !raw.starts_with('/') {
        return Err(Error::BadRequest(
            "the request path must start with '/'".into(),
        ));
    }
    let decoded = decode_unreserved(raw)?;
    let trailing_slash = decoded.ends_with('/');
    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(decoded.len());
    for segment in &segments {
        out.push('/');
        out.push_str(segment);
    }
    if out.is_empty() || (trailing_slash && !segments.is_empty()) {
        out.push('/');
    }
    Ok(out)
}

fn decode_unreserved(raw: &str) -> Result<String, Error> {
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .ok_or_else(|| {
                        Error::BadRequest("malformed percent-encoding in the path".into())
                    })?;
                let value = (hex_value(hex[0]) << 4) | hex_value(hex[1]);
                if value.is_ascii_alphanumeric() || matches!(value, b'-' | b'.' | b'_' | b'~') {
                    out.push(value as char);
                } else if value < 0x20 || value == 0x7f || value == b'\\' {
                    return Err(Error::BadRequest(
                        "control characters and backslashes are not allowed in the path".into(),
                    ));
                } else {
                    out.push('%');
                    out.push(hex[0].to_ascii_uppercase() as char);
                    out.push(hex[1].to_ascii_uppercase() as char);
                }
                i += 3;
            }
            b'\\' => {
                return Err(Error::BadRequest(
                    "backslashes are not allowed in the path".into(),
                ));
            }
            b if b < 0x20 || b == 0x7f => {
                return Err(Error::BadRequest(
                    "control characters are not allowed in the path".into(),
                ));
            }
            _ => {
                // The URI parser only hands us ASCII; copy runs of plain bytes at once.
                let start = i;
                while i < bytes.len()
                    && !matches!(bytes[i], b'%' | b'\\')
                    && bytes[i] >= 0x20
                    && bytes[i] != 0x7f
                {
                    i += 1;
                }
                out.push_str(&raw[start..i]);
                continue;
            }
        }
    }
    Ok(out)
}

fn hex_value(h: u8) -> u8 {
    match h {
        b'0'..=b'9' => h - b'0',
        b'a'..=b'f' => h - b'a' + 10,
        _ => h - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xs_app::{Route, RouteKind, ScopeRule};

    fn route(
        index: usize,
        source: &str,
        target: Option<&str>,
        methods: Option<Vec<Method>>,
    ) -> Route {
        Route {
            index,
            source_text: source.into(),
            source: Source::new(source, true).unwrap(),
            target: target.map(str::to_string),
            kind: RouteKind::Destination("d".into()),
            authenticated: true,
            scope: ScopeRule::None,
            csrf_protection: true,
            http_methods: methods,
            cache_control: None,
            set_backend_session_cookies: false,
            replace: None,
            implicit: false,
        }
    }

    #[test]
    fn normalizes_dot_segments_slashes_and_unreserved_escapes() {
        assert_eq!(normalize_path("/").unwrap(), "/");
        assert_eq!(normalize_path("/a/b/").unwrap(), "/a/b/");
        assert_eq!(normalize_path("//a///b").unwrap(), "/a/b");
        assert_eq!(normalize_path("/public/../admin").unwrap(), "/admin");
        assert_eq!(normalize_path("/public/%2e%2E/admin").unwrap(), "/admin");
        assert_eq!(normalize_path("/../../etc/passwd").unwrap(), "/etc/passwd");
        assert_eq!(normalize_path("/a/./b/.").unwrap(), "/a/b");
        assert_eq!(normalize_path("/%7euser/%41").unwrap(), "/~user/A");
        assert_eq!(normalize_path("/a%2fb%3f").unwrap(), "/a%2Fb%3F");
        assert_eq!(normalize_path("/..").unwrap(), "/");
    }

    #[test]
    fn refuses_bad_escapes_control_characters_and_backslashes() {
        for bad in [
            "/a%zz",
            "/a%2",
            "/a%00b",
            "/a%5c..%5cb",
            "/a\\b",
            "/a%0d%0aSet-Cookie:x",
            "relative",
        ] {
            assert!(normalize_path(bad).is_err(), "{bad}");
        }
    }

    fn forwarded(routes: &[Route], method: &Method, path: &str) -> (usize, String) {
        match find(routes, method, path) {
            Match::Route(route, path) => (route.index, path),
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn first_matching_route_wins_and_targets_expand() {
        let routes = vec![
            route(0, "^/api/(.*)$", Some("v1/$1"), None),
            route(1, "^/(.*)$", Some("$1"), None),
        ];
        assert_eq!(
            forwarded(&routes, &Method::GET, "/api/items"),
            (0, "v1/items".into())
        );
        assert_eq!(
            forwarded(&routes, &Method::GET, "/mainentry"),
            (1, "mainentry".into())
        );
    }

    #[test]
    fn target_replaces_the_match_and_keeps_the_rest_as_javascript_does() {
        let routes = vec![route(0, "^/api/", Some("/"), None)];
        assert_eq!(
            forwarded(&routes, &Method::GET, "/api/x/y"),
            (0, "/x/y".into())
        );
        let routes = vec![route(0, "/v1/", Some("/v2/"), None)];
        assert_eq!(
            forwarded(&routes, &Method::GET, "/a/v1/b"),
            (0, "/a/v2/b".into())
        );
    }

    #[test]
    fn the_query_string_takes_no_part_in_matching() {
        let routes = vec![route(0, "^/api/.*/status", None, None)];
        let path = normalize_path("/api/private/x").unwrap();
        assert!(matches!(
            find(&routes, &Method::GET, &path),
            Match::NotFound
        ));
    }

    #[test]
    fn ecmascript_look_aheads_and_back_references_work() {
        let routes = vec![route(0, "^/(?!api/).*$", None, None)];
        assert!(matches!(
            find(&routes, &Method::GET, "/api/x"),
            Match::NotFound
        ));
        assert_eq!(
            forwarded(&routes, &Method::GET, "/web/x"),
            (0, "/web/x".into())
        );
        let source = Source::new("^/(?<first>[a-z]+)/(\\w)\\2$", true).unwrap();
        assert_eq!(source.group_count(), 2);
        assert_eq!(
            source.replace("/ab/cc", "$<first>-$2").as_deref(),
            Some("ab-c")
        );
        let source = Source::new("^/API/", false).unwrap();
        assert_eq!(source.replace("/api/x", "/").as_deref(), Some("/x"));
    }

    #[test]
    fn a_method_no_matching_route_allows_is_405_with_the_allowed_methods() {
        let routes = vec![
            route(
                0,
                "^/(.*)$",
                Some("ro/$1"),
                Some(vec![Method::POST, Method::GET]),
            ),
            route(1, "^/rw/(.*)$", Some("rw/$1"), None),
            route(2, "^/(.*)$", None, Some(vec![Method::GET, Method::PUT])),
        ];
        assert_eq!(forwarded(&routes, &Method::GET, "/x").1, "ro/x");
        assert_eq!(forwarded(&routes, &Method::DELETE, "/rw/x").1, "rw/x");
        match find(&routes, &Method::DELETE, "/x") {
            Match::MethodNotAllowed { route, allow } => {
                assert_eq!(route.index, 0);
                assert_eq!(allow, ["GET", "POST", "PUT"]);
            }
            other => panic!("{other:?}"),
        }
    }
}
