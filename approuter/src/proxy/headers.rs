//! What a forwarded request and its answer carry, as `@sap/approuter` rewrites them: hop-by-hop
//! and client identity headers stripped, the router's own and the platform's cookies kept back,
//! the user's token as `Authorization`, `x-forwarded-*`, `sap-client`, `tenantid` and a
//! correlation id added; on the way back `Location` and `Set-Cookie` mapped to the router's host
//! and path, and the backend's session cookies set aside for the user's session.

use super::transport::Upstream;
use crate::backend_cookies::{self, BackendCookies, SetCookie};
use crate::forwarded::{Origin, is_identity_header};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use common::Secret;

/// What the router knows about the request besides the request itself.
pub struct Forward<'a> {
    /// The route's target (or the normalized path when the route has none).
    pub target_path: &'a str,
    /// The normalized request path, to map backend paths back into the router's.
    pub request_path: &'a str,
    /// The path as the browser sent it: `x-forwarded-path`.
    pub original_path: &'a str,
    pub origin: &'a Origin,
    /// The user's access token, sent as `Authorization: Bearer` when the destination forwards it.
    pub token: Option<&'a Secret>,
    /// On authenticated routes the router is the authority: a client's own `Authorization` goes nowhere.
    pub strip_authorization: bool,
    /// The router checked the CSRF token itself; the backend does not know it.
    pub strip_csrf_header: bool,
    pub session_cookie: &'a str,
    /// `tenantid` for the backend (the subaccount's subdomain), as `@sap/approuter` sends it.
    pub tenant: Option<&'a HeaderValue>,
    /// The user's backend session cookies, replayed to this destination.
    pub backend_cookies: Option<&'a BackendCookies>,
    /// Keep the backend's session cookies in the user's session instead of sending them to the
    /// browser (a logged-in session, and the route does not set `setBackendSessionCookies`).
    pub keep_session_cookies: bool,
    /// A Destination-service destination's own authentication (`authTokens[0]`), sent in place
    /// of whatever the client sent under that name.
    pub auth_header: Option<&'a (HeaderName, HeaderValue)>,
}

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn is_hop_by_hop(name: &HeaderName, connection_tokens: &[String]) -> bool {
    HOP_BY_HOP.contains(&name.as_str()) || connection_tokens.iter().any(|t| t == name.as_str())
}

fn connection_tokens(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

/// The backend's answer head as the browser gets it: hop-by-hop headers dropped, `Location` and
/// `Set-Cookie` mapped to the router; the backend's session cookies the user's session keeps
/// (`f.keep_session_cookies`) are returned instead of passed on. `backend_path` is known when
/// the request carried backend cookies.
pub(super) fn response_headers(
    up: &Upstream,
    f: &Forward<'_>,
    backend: &HeaderMap,
    backend_path: Option<&str>,
    out: &mut HeaderMap,
) -> Vec<SetCookie> {
    let mapping = PathMapping::new(&up.base_path, f.request_path, f.target_path);
    let tokens = connection_tokens(backend);
    let mut session_cookies = Vec::new();
    for (name, value) in backend {
        if is_hop_by_hop(name, &tokens) {
            continue;
        }
        if name == header::LOCATION
            && let Some(v) = value
                .to_str()
                .ok()
                .and_then(|l| rewrite_location(l, up, &mapping, f.origin))
        {
            out.append(name, v);
            continue;
        }
        if name == header::SET_COOKIE {
            if f.keep_session_cookies
                && let Some(cookie) = match backend_path {
                    Some(path) => backend_cookies::parse(value, path),
                    None => backend_cookies::parse(value, &up.backend_path(f.target_path)),
                }
            {
                let session = cookie.session;
                if session || cookie.deletes {
                    session_cookies.push(cookie);
                }
                if session {
                    continue;
                }
            }
            if let Some(v) = rewrite_set_cookie(value, up, &mapping, f.session_cookie) {
                out.append(name, v);
            }
            continue;
        }
        out.append(name, value.clone());
    }
    session_cookies
}

pub(crate) fn request_headers(
    up: &Upstream,
    incoming: &HeaderMap,
    f: &Forward<'_>,
    backend_path: &str,
) -> HeaderMap {
    let tokens = connection_tokens(incoming);
    let mut headers = HeaderMap::with_capacity(incoming.len() + 5);
    let mut cookies: Option<Vec<u8>> = None;
    for (name, value) in incoming {
        if is_hop_by_hop(name, &tokens) || is_identity_header(name.as_str()) {
            continue;
        }
        if name == header::HOST && !up.preserve_host_header {
            continue;
        }
        if name == header::EXPECT {
            continue;
        }
        let lower = name.as_str();
        let sets_own = up.forward_auth_token && f.token.is_some();
        if (f.strip_authorization || sets_own) && lower == "authorization" {
            continue;
        }
        if f.strip_csrf_header && lower == "x-csrf-token" {
            continue;
        }
        if let Some((own, _)) = f.auth_header
            && own == name
        {
            continue;
        }
        if name == header::COOKIE {
            if let Some(kept) = strip_cookie(value, f.session_cookie) {
                join_cookies(&mut cookies, kept.as_bytes());
            }
            continue;
        }
        headers.append(name, value.clone());
    }
    if let Some(jar) = f.backend_cookies
        && let Some(kept) = jar.header_for(&up.name, backend_path, up.https)
    {
        join_cookies(&mut cookies, kept.as_bytes());
    }
    if let Some(cookies) = cookies
        && let Ok(mut v) = HeaderValue::from_bytes(&cookies)
    {
        v.set_sensitive(true);
        headers.insert(header::COOKIE, v);
    }
    if up.preserve_host_header
        && !headers.contains_key(header::HOST)
        && let Ok(v) = HeaderValue::from_str(&f.origin.host)
    {
        headers.insert(header::HOST, v);
    }
    if up.set_x_forwarded_headers {
        let mut set = |name: &'static str, value: &str| {
            if let Ok(v) = HeaderValue::from_str(value) {
                headers.insert(name, v);
            }
        };
        set("x-forwarded-host", &f.origin.host);
        set("x-forwarded-proto", f.origin.proto);
        if let Some(chain) = &f.origin.forwarded_for {
            set("x-forwarded-for", chain);
        }
        set("x-forwarded-path", f.original_path);
    }
    if let Some(client) = &up.sap_client {
        headers.insert("sap-client", client.clone());
    }
    // `@sap/approuter` gives every forwarded request a correlation id (the client's, else new),
    // so that the backend's log lines can be matched with the router's.
    if !headers.contains_key(crate::correlation::HEADER) {
        headers.insert(crate::correlation::HEADER, crate::correlation::generate());
    }
    if let Some(tenant) = f.tenant
        && !headers.contains_key("tenantid")
    {
        headers.insert("tenantid", tenant.clone());
    }
    if up.forward_auth_token
        && let Some(token) = f.token
        && let Ok(mut v) = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
    {
        v.set_sensitive(true);
        headers.insert(header::AUTHORIZATION, v);
    }
    // Last, as `@sap/approuter`'s addOauthHeader: the destination's own credentials win.
    if let Some((name, value)) = f.auth_header {
        headers.insert(name, value.clone());
    }
    headers
}

/// `<session cookie>_STATE_...`: the router's login-in-flight cookies ([`crate::login_state`]).
fn is_login_cookie(name: &str, session_cookie: &str) -> bool {
    name.strip_prefix(session_cookie)
        .is_some_and(|rest| rest.starts_with("_STATE_"))
}

/// Cookies of the platform, not of the application, which `@sap/approuter` does not forward
/// either: the gorouter's sticky-session cookie `__VCAP_ID__` (it names an instance of the
/// router, not of the backend) and SAP's load balancer cookies `sapextlb*`.
fn is_platform_cookie(name: &str) -> bool {
    name == "__VCAP_ID__"
        || name
            .get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case("sapextlb"))
}

/// The `Cookie` header without the router's own and the platform's cookies; `None` when nothing
/// is left. Other cookies keep their bytes, non-ASCII ones included.
fn strip_cookie(value: &HeaderValue, session_cookie: &str) -> Option<HeaderValue> {
    crate::cookies::retain(value, |name| {
        // Not UTF-8: not one of the router's or the platform's cookies, whose names are ASCII.
        std::str::from_utf8(name).map_or(true, |name| {
            name != session_cookie
                && !is_login_cookie(name, session_cookie)
                && !is_platform_cookie(name)
        })
    })
}

fn join_cookies(into: &mut Option<Vec<u8>>, more: &[u8]) {
    match into {
        Some(bytes) => {
            bytes.extend_from_slice(b"; ");
            bytes.extend_from_slice(more);
        }
        None => *into = Some(more.to_vec()),
    }
}

/// Maps backend paths under the destination URL back to the router path the browser used, when
/// the route's target is a suffix of the request path (`^/api/(.*)$` -> `$1`).
struct PathMapping<'a> {
    base_path: &'a str,
    router_prefix: Option<String>,
}

impl<'a> PathMapping<'a> {
    fn new(base_path: &'a str, request_path: &str, target_path: &str) -> Self {
        let tail = target_path.trim_start_matches('/');
        let router_prefix = request_path.strip_suffix(tail).map(|p| {
            let mut p = p.to_string();
            if !p.ends_with('/') {
                p.push('/');
            }
            p
        });
        PathMapping {
            base_path,
            router_prefix,
        }
    }

    fn map(&self, backend_path: &str) -> Option<String> {
        let prefix = self.router_prefix.as_ref()?;
        let rest = if self.base_path.is_empty() {
            backend_path
        } else if backend_path == self.base_path {
            ""
        } else {
            backend_path
                .strip_prefix(self.base_path)
                .filter(|r| r.starts_with('/'))?
        };
        Some(format!("{prefix}{}", rest.trim_start_matches('/')))
    }
}

/// A `Location` pointing at the backend (absolute, or a path under the destination URL) made to
/// point at the router; anything else is left alone.
fn rewrite_location(
    location: &str,
    up: &Upstream,
    mapping: &PathMapping<'_>,
    origin: &Origin,
) -> Option<HeaderValue> {
    if location.starts_with('/') && !location.starts_with("//") {
        let (path, rest) = split_path(location);
        let mapped = mapping.map(path)?;
        return HeaderValue::from_str(&format!("{mapped}{rest}")).ok();
    }
    let url = url::Url::parse(location).ok()?;
    if !url
        .origin()
        .ascii_serialization()
        .eq_ignore_ascii_case(&up.backend_origin)
    {
        return None;
    }
    let path = mapping
        .map(url.path())
        .unwrap_or_else(|| url.path().to_string());
    let mut rewritten = format!("{}{}", origin.base_url(), path);
    if let Some(q) = url.query() {
        rewritten.push('?');
        rewritten.push_str(q);
    }
    if let Some(fragment) = url.fragment() {
        rewritten.push('#');
        rewritten.push_str(fragment);
    }
    HeaderValue::from_str(&rewritten).ok()
}

fn split_path(location: &str) -> (&str, &str) {
    match location.find(['?', '#']) {
        Some(i) => (&location[..i], &location[i..]),
        None => (location, ""),
    }
}

/// A backend cookie rewritten for the router's host: its `Domain` dropped when it names the
/// backend, its `Path` mapped like a `Location`. A cookie named like the session cookie would
/// replace the user's session in the browser and is dropped.
fn rewrite_set_cookie(
    value: &HeaderValue,
    up: &Upstream,
    mapping: &PathMapping<'_>,
    session_cookie: &str,
) -> Option<HeaderValue> {
    let text = value.to_str().ok()?;
    let mut parts = text.split(';');
    let pair = parts.next()?.trim();
    let name = pair.split('=').next().unwrap_or("").trim();
    if name.eq_ignore_ascii_case(session_cookie) || is_login_cookie(name, session_cookie) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    out.push_str(pair);
    for attr in parts {
        let attr = attr.trim();
        let (key, val) = match attr.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (attr, None),
        };
        if key.eq_ignore_ascii_case("domain") {
            let domain = val
                .unwrap_or("")
                .trim_start_matches('.')
                .to_ascii_lowercase();
            if up.backend_host == domain || up.backend_host.ends_with(&format!(".{domain}")) {
                continue;
            }
        }
        if key.eq_ignore_ascii_case("path")
            && let Some(mapped) = val.and_then(|p| mapping.map(p))
        {
            out.push_str("; Path=");
            out.push_str(&mapped);
            continue;
        }
        out.push_str("; ");
        out.push_str(attr);
    }
    HeaderValue::from_str(&out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forwarded::TrustedProxies;
    use common::cf::AppRouterDestination;

    fn upstream(url: &str) -> Upstream {
        let dest = AppRouterDestination {
            name: "backend".into(),
            url: url::Url::parse(url).unwrap(),
            forward_auth_token: true,
            timeout: None,
            strict_ssl: true,
            set_x_forwarded_headers: true,
            preserve_host_header: false,
            proxy_host: None,
            proxy_port: None,
            sap_client: None,
        };
        Upstream::new(&dest).unwrap()
    }

    fn origin() -> Origin {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("router.local:5000"));
        Origin::from_request(
            &h,
            None,
            Some("127.0.0.1:1".parse().unwrap()),
            &TrustedProxies::default(),
        )
        .unwrap()
    }

    #[test]
    fn locations_to_the_backend_come_back_to_the_router() {
        let up = upstream("http://127.0.0.1:9000/base");
        let mapping = PathMapping::new(&up.base_path, "/api/items", "items");
        let o = origin();
        let rewrite = |l: &str| {
            rewrite_location(l, &up, &mapping, &o).map(|v| v.to_str().unwrap().to_string())
        };
        assert_eq!(
            rewrite("http://127.0.0.1:9000/base/other?x=1").as_deref(),
            Some("http://router.local:5000/api/other?x=1")
        );
        assert_eq!(
            rewrite("/base/other#top").as_deref(),
            Some("/api/other#top")
        );
        assert_eq!(
            rewrite("http://127.0.0.1:9000/elsewhere").as_deref(),
            Some("http://router.local:5000/elsewhere")
        );
        assert_eq!(
            rewrite("https://idp.example/login"),
            None,
            "foreign locations stay"
        );
        assert_eq!(rewrite("/elsewhere"), None);
    }

    #[test]
    fn backend_cookies_are_scoped_to_the_router() {
        let up = upstream("http://backend.internal:9000/base");
        let mapping = PathMapping::new(&up.base_path, "/api/x", "x");
        let v = |s: &str| {
            rewrite_set_cookie(
                &HeaderValue::from_str(s).unwrap(),
                &up,
                &mapping,
                "JSESSIONID",
            )
            .map(|v| v.to_str().unwrap().to_string())
        };
        assert_eq!(
            v("a=1; Domain=backend.internal; Path=/base/x; HttpOnly").as_deref(),
            Some("a=1; Path=/api/x; HttpOnly")
        );
        assert_eq!(
            v("a=1; Domain=.internal; Secure").as_deref(),
            Some("a=1; Secure")
        );
        assert_eq!(
            v("a=1; Domain=other.example").as_deref(),
            Some("a=1; Domain=other.example")
        );
        assert_eq!(v("JSESSIONID=evil; Path=/"), None);
    }

    #[test]
    fn the_session_cookie_is_not_forwarded() {
        let kept = strip_cookie(
            &HeaderValue::from_static("a=1; JSESSIONID=abc; JSESSIONID_STATE_x=sealed; b=2"),
            "JSESSIONID",
        )
        .unwrap();
        assert_eq!(kept, "a=1; b=2", "nor a login cookie");
        assert!(strip_cookie(&HeaderValue::from_static("JSESSIONID=abc"), "JSESSIONID").is_none());
        let kept = strip_cookie(
            &HeaderValue::from_static("__VCAP_ID__=i1; SAPEXTLB_x=1; sapextlbsome=2; c=3"),
            "JSESSIONID",
        );
        assert_eq!(kept.unwrap(), "c=3", "nor the platform's cookies");
    }

    #[test]
    fn the_users_backend_cookies_go_back_with_the_browsers() {
        let up = upstream("http://127.0.0.1:9000/base");
        let mut jar = BackendCookies::default();
        let set = |text: &'static str| {
            backend_cookies::parse(&HeaderValue::from_static(text), "/base/x").unwrap()
        };
        jar.apply("backend", &[set("JSESSIONID=java1; Path=/base")]);
        jar.apply("other", &[set("o=1; Path=/")]);
        let mut incoming = HeaderMap::new();
        incoming.insert(
            "cookie",
            HeaderValue::from_static("JSESSIONID=router; theme=dark"),
        );
        let o = origin();
        let f = Forward {
            target_path: "x",
            request_path: "/x",
            original_path: "/x",
            origin: &o,
            token: None,
            strip_authorization: true,
            strip_csrf_header: true,
            session_cookie: "JSESSIONID",
            tenant: None,
            backend_cookies: Some(&jar),
            keep_session_cookies: true,
            auth_header: None,
        };
        let h = request_headers(&up, &incoming, &f, "/base/x");
        assert_eq!(h["cookie"], "theme=dark; JSESSIONID=java1");
        assert_eq!(h.get_all("cookie").iter().count(), 1);
        let h = request_headers(&up, &HeaderMap::new(), &f, "/elsewhere");
        assert!(!h.contains_key("cookie"), "path does not match");
    }

    #[test]
    fn client_identity_and_hop_by_hop_headers_are_replaced() {
        let up = upstream("http://127.0.0.1:9000");
        let mut incoming = HeaderMap::new();
        for (k, v) in [
            ("host", "router.local:5000"),
            ("x-forwarded-for", "6.6.6.6"),
            ("x_forwarded_host", "evil"),
            ("x-user-token", "forged"),
            ("authorization", "Bearer forged"),
            ("connection", "keep-alive, x-secret-hop"),
            ("x-secret-hop", "1"),
            ("cookie", "JSESSIONID=abc; theme=dark"),
            ("accept", "application/json"),
            ("x-csrf-token", "abc"),
        ] {
            incoming.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_static(v),
            );
        }
        let o = origin();
        let token = Secret::new("user.jwt.token");
        let f = Forward {
            target_path: "x",
            request_path: "/x",
            original_path: "/x",
            origin: &o,
            token: Some(&token),
            strip_authorization: true,
            strip_csrf_header: true,
            session_cookie: "JSESSIONID",
            tenant: None,
            backend_cookies: None,
            keep_session_cookies: true,
            auth_header: None,
        };
        let h = request_headers(&up, &incoming, &f, "/x");
        assert_eq!(h["authorization"], "Bearer user.jwt.token");
        assert_eq!(h["x-forwarded-for"], "127.0.0.1");
        assert_eq!(h["x-forwarded-host"], "router.local:5000");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-path"], "/x");
        assert_eq!(h["cookie"], "theme=dark");
        assert_eq!(h["accept"], "application/json");
        for gone in [
            "host",
            "x_forwarded_host",
            "x-user-token",
            "connection",
            "x-secret-hop",
            "x-csrf-token",
        ] {
            assert!(!h.contains_key(gone), "{gone} must not reach the backend");
        }
    }
}

/// Property tests of the `Cookie` header the router forwards (see README, Fuzzing).
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn cookie_pair() -> impl Strategy<Value = String> {
        prop_oneof![
            ("[a-zA-Z_]{1,10}", "[a-zA-Z0-9=_-]{0,12}").prop_map(|(k, v)| format!("{k}={v}")),
            prop::sample::select(vec![
                "JSESSIONID=abc",
                " JSESSIONID = abc",
                "JSESSIONID",
                "JSESSIONID=",
                "jsessionid=x",
                "JSESSIONID=a=b",
                "=",
                "",
                " ",
                "a=b",
            ])
            .prop_map(str::to_string),
            any::<String>(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(5000),
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// Whatever the browser sends, no cookie named like the session cookie reaches a
        /// backend, and every other cookie does.
        #[test]
        fn the_session_cookie_never_reaches_a_backend(pairs in vec(cookie_pair(), 0..6)) {
            let Ok(value) = HeaderValue::from_str(&pairs.join("; ")) else { return Ok(()) };
            let kept = strip_cookie(&value, "JSESSIONID");
            // Cookie values may be any bytes (non-ASCII ones included): compare as bytes.
            let text = |v: &HeaderValue| String::from_utf8_lossy(v.as_bytes()).into_owned();
            let trim = |p: &str| p.trim_matches(|c: char| c.is_ascii_whitespace()).to_string();
            let kept_pairs: Vec<String> = kept
                .as_ref()
                .map(|v| text(v).split(';').map(trim).collect())
                .unwrap_or_default();
            for pair in &kept_pairs {
                let name = pair.split('=').next().map(trim);
                prop_assert_ne!(name.as_deref(), Some("JSESSIONID"), "{:?}", kept);
            }
            let others = text(&value)
                .split(';')
                .map(trim)
                .filter(|p| !p.is_empty() && p.split('=').next().map(trim).as_deref() != Some("JSESSIONID"))
                .count();
            prop_assert_eq!(kept_pairs.len(), others);
        }
    }
}
