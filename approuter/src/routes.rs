//! Which `xs-app.json` route a request takes, and the path it is forwarded with.
//!
//! Matching runs on the normalized path only (no query, no fragment, dot segments resolved,
//! unreserved characters decoded), so `^/api/.*/status` cannot be met through
//! `/api/private/x?path=/status` and `/public/../admin` is `/admin` for the router and the backend
//! alike.

use crate::error::Error;
use crate::xs_app::Route;
use axum::http::Method;

/// The first route whose `source` matches `path` and whose `httpMethods` (if any) has `method`.
pub fn find<'a>(routes: &'a [Route], method: &Method, path: &str) -> Option<(&'a Route, String)> {
    for route in routes {
        if let Some(methods) = &route.http_methods {
            // HEAD is a GET without body for every route that allows GET.
            let allowed = methods.contains(method)
                || (method == Method::HEAD && methods.contains(&Method::GET));
            if !allowed {
                continue;
            }
        }
        if let Some(captures) = route.source.captures(path) {
            let forwarded = match &route.target {
                Some(target) => expand(target, &captures),
                None => path.to_string(),
            };
            return Some((route, forwarded));
        }
    }
    None
}

/// `$1`...`$99` in `target` replaced by the groups of `captures` (an unmatched group is empty).
/// Done by hand because `regex`'s expansion reads `$1abc` as a group named `1abc`.
pub fn expand(target: &str, captures: &regex::Captures<'_>) -> String {
    let mut out = String::with_capacity(target.len() + 32);
    let bytes = target.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let digits = bytes[i + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if digits > 0 {
                let n: usize = target[i + 1..i + 1 + digits].parse().unwrap_or(usize::MAX);
                if let Some(m) = captures.get(n) {
                    out.push_str(m.as_str());
                }
                i += 1 + digits;
                continue;
            }
        }
        let ch = target[i..].chars().next().unwrap_or('$');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// The group numbers a target refers to, for start-up validation.
pub fn group_references(target: &str) -> Vec<usize> {
    let bytes = target.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let digits = bytes[i + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if digits > 0 {
                out.push(target[i + 1..i + 1 + digits].parse().unwrap_or(usize::MAX));
                i += 1 + digits;
                continue;
            }
        }
        i += 1;
    }
    out
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
            source: regex::Regex::new(source).unwrap(),
            target: target.map(str::to_string),
            kind: RouteKind::Destination("d".into()),
            authenticated: true,
            scope: ScopeRule::None,
            csrf_protection: true,
            http_methods: methods,
            cache_control: None,
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

    #[test]
    fn first_matching_route_wins_and_targets_expand() {
        let routes = vec![
            route(0, "^/api/(.*)$", Some("v1/$1"), None),
            route(1, "^/(.*)$", Some("$1"), None),
        ];
        let (r, path) = find(&routes, &Method::GET, "/api/items").unwrap();
        assert_eq!((r.index, path.as_str()), (0, "v1/items"));
        let (r, path) = find(&routes, &Method::GET, "/mainentry").unwrap();
        assert_eq!((r.index, path.as_str()), (1, "mainentry"));
    }

    #[test]
    fn the_query_string_takes_no_part_in_matching() {
        let routes = vec![route(0, "^/api/.*/status", None, None)];
        let path = normalize_path("/api/private/x").unwrap();
        assert!(find(&routes, &Method::GET, &path).is_none());
    }

    #[test]
    fn http_methods_restrict_a_route() {
        let routes = vec![
            route(0, "^/(.*)$", Some("ro/$1"), Some(vec![Method::GET])),
            route(1, "^/(.*)$", Some("rw/$1"), None),
        ];
        assert_eq!(find(&routes, &Method::GET, "/x").unwrap().1, "ro/x");
        assert_eq!(find(&routes, &Method::HEAD, "/x").unwrap().1, "ro/x");
        assert_eq!(find(&routes, &Method::POST, "/x").unwrap().1, "rw/x");
    }

    #[test]
    fn expansion_reads_whole_numbers_and_keeps_other_dollars() {
        let re = regex::Regex::new("^/(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)$").unwrap();
        let caps = re.captures("/abcdefghijk").unwrap();
        assert_eq!(expand("$1-$11-$1x-$$-$", &caps), "a-k-ax-$$-$");
        assert_eq!(expand("$12", &caps), "");
        assert_eq!(group_references("x/$1/$23$"), vec![1, 23]);
    }
}
