//! Backend session cookies, as `@sap/approuter` keeps them: a cookie a destination sets without
//! `Expires`/`Max-Age` (a session cookie, e.g. a Java backend's `JSESSIONID`) is kept in the
//! user's router session, never shown to the browser, and sent back to that destination on the
//! user's later requests; persistent cookies go to the browser. A route with
//! `setBackendSessionCookies: true` sends all of them to the browser instead.
//!
//! Unlike SAP's cookie jar (one per session, matched by the backend URL's host), cookies are kept
//! per destination name: two destinations on the same host never see each other's cookies.
//! They are bounded per session ([`MAX_COOKIES`], [`MAX_BYTES`]): a backend cannot make a
//! session, which every request of the user reads, grow without limit.

use axum::http::HeaderValue;
use common::Secret;
use serde::{Deserialize, Serialize};

/// At most this many backend cookies per user session (all destinations together).
pub const MAX_COOKIES: usize = 32;
/// At most this many bytes of names, values and paths per user session.
pub const MAX_BYTES: usize = 16 * 1024;
/// A single cookie larger than browsers keep (RFC 6265 §6.1 minimum) is not kept either.
pub const MAX_COOKIE_BYTES: usize = 4096;

/// The backend cookies of one user session. Serialized into the session record (memory and
/// Redis alike), with short keys: Redis holds one copy per session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BackendCookies(Vec<StoredCookie>);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredCookie {
    /// The destination that set it; it goes back to that destination only.
    #[serde(rename = "d")]
    destination: String,
    #[serde(rename = "n")]
    name: String,
    #[serde(rename = "v")]
    value: Secret,
    #[serde(rename = "p")]
    path: String,
    #[serde(rename = "s", default, skip_serializing_if = "std::ops::Not::not")]
    secure: bool,
}

impl StoredCookie {
    fn size(&self) -> usize {
        self.name.len() + self.value.expose().len() + self.path.len()
    }
}

/// A `Set-Cookie` from a backend, as far as the router cares.
#[derive(Debug, Clone, PartialEq)]
pub struct SetCookie {
    pub name: String,
    pub value: String,
    pub path: String,
    pub secure: bool,
    /// Neither `Expires` nor `Max-Age`: lives as long as the browser session, so it is kept in
    /// the router's session.
    pub session: bool,
    /// `Max-Age` of zero or less, or an `Expires` in the past (roughly: the year 1970): the
    /// backend deletes the cookie.
    pub deletes: bool,
}

/// Parses a `Set-Cookie` value (RFC 6265 §5.2); `None` when it has no `name=`. `request_path` is
/// the backend path of the request, for the default `Path`.
pub fn parse(value: &HeaderValue, request_path: &str) -> Option<SetCookie> {
    let text = std::str::from_utf8(value.as_bytes()).ok()?;
    let mut parts = text.split(';');
    let (name, value) = parts.next()?.split_once('=')?;
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let mut cookie = SetCookie {
        name: name.to_string(),
        value: value.trim().to_string(),
        path: String::new(),
        secure: false,
        session: true,
        deletes: false,
    };
    for attr in parts {
        let (key, val) = match attr.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (attr.trim(), ""),
        };
        if key.eq_ignore_ascii_case("max-age") {
            cookie.session = false;
            if val.parse::<i64>().map(|s| s <= 0).unwrap_or(false) {
                cookie.deletes = true;
            }
        } else if key.eq_ignore_ascii_case("expires") {
            cookie.session = false;
            if val.contains("1970") {
                cookie.deletes = true;
            }
        } else if key.eq_ignore_ascii_case("path") && val.starts_with('/') {
            cookie.path = val.to_string();
        } else if key.eq_ignore_ascii_case("secure") {
            cookie.secure = true;
        }
    }
    if cookie.path.is_empty() {
        cookie.path = default_path(request_path);
    }
    Some(cookie)
}

/// RFC 6265 §5.1.4: the request path up to its last `/`, or `/`.
fn default_path(request_path: &str) -> String {
    match request_path.rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(i) => request_path[..i].to_string(),
    }
}

/// RFC 6265 §5.1.4 path-match.
fn path_matches(cookie_path: &str, request_path: &str) -> bool {
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/')
                || request_path.as_bytes().get(cookie_path.len()) == Some(&b'/')))
}

/// Why a cookie was not kept (for the log: names only, never values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotKept {
    TooLarge,
    TooMany,
}

impl BackendCookies {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// `name=value; ...` for a request to `destination` at `path` (longest paths first, as
    /// browsers and tough-cookie order them); `None` when nothing applies. `Secure` cookies only
    /// over https.
    pub fn header_for(&self, destination: &str, path: &str, https: bool) -> Option<String> {
        let mut matching: Vec<&StoredCookie> = self
            .0
            .iter()
            .filter(|c| c.destination == destination)
            .filter(|c| https || !c.secure)
            .filter(|c| path_matches(&c.path, path))
            .collect();
        if matching.is_empty() {
            return None;
        }
        matching.sort_by_key(|c| std::cmp::Reverse(c.path.len()));
        let mut out = String::new();
        for c in matching {
            if !out.is_empty() {
                out.push_str("; ");
            }
            out.push_str(&c.name);
            out.push('=');
            out.push_str(c.value.expose());
        }
        Some(out)
    }

    /// Whether [`BackendCookies::apply`] would change anything (so that a backend repeating the
    /// same cookie costs no store write).
    pub fn would_change(&self, destination: &str, cookies: &[SetCookie]) -> bool {
        cookies.iter().any(|c| {
            let existing = self.find(destination, &c.name, &c.path);
            match existing {
                Some(i) => {
                    c.deletes || self.0[i].value.expose() != c.value || self.0[i].secure != c.secure
                }
                None => !c.deletes,
            }
        })
    }

    fn find(&self, destination: &str, name: &str, path: &str) -> Option<usize> {
        self.0
            .iter()
            .position(|s| s.destination == destination && s.name == name && s.path == path)
    }

    /// Keeps the session cookies of `destination` (replacing one of the same name and path) and
    /// forgets those the backend deletes. Cookies beyond the bounds are not kept.
    pub fn apply(&mut self, destination: &str, cookies: &[SetCookie]) -> Vec<(String, NotKept)> {
        let mut refused = Vec::new();
        for c in cookies {
            let existing = self.find(destination, &c.name, &c.path);
            if c.deletes || (!c.session && existing.is_some()) {
                if let Some(i) = existing {
                    self.0.remove(i);
                }
                continue;
            }
            if !c.session {
                continue;
            }
            let stored = StoredCookie {
                destination: destination.to_string(),
                name: c.name.clone(),
                value: Secret::new(c.value.clone()),
                path: c.path.clone(),
                secure: c.secure,
            };
            if stored.size() > MAX_COOKIE_BYTES {
                refused.push((c.name.clone(), NotKept::TooLarge));
                continue;
            }
            if let Some(i) = existing {
                self.0.remove(i);
            }
            let total: usize = self.0.iter().map(StoredCookie::size).sum();
            if self.0.len() >= MAX_COOKIES {
                refused.push((c.name.clone(), NotKept::TooMany));
                continue;
            }
            if total + stored.size() > MAX_BYTES {
                refused.push((c.name.clone(), NotKept::TooLarge));
                continue;
            }
            self.0.push(stored);
        }
        refused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str) -> SetCookie {
        parse(&HeaderValue::from_str(text).unwrap(), "/base/app/x").unwrap()
    }

    #[test]
    fn session_and_persistent_cookies_are_told_apart() {
        let s = set("JSESSIONID=abc; Path=/base; HttpOnly");
        assert!(s.session && !s.deletes);
        assert_eq!(
            (s.name.as_str(), s.value.as_str(), s.path.as_str()),
            ("JSESSIONID", "abc", "/base")
        );
        assert!(!set("a=1; Max-Age=60").session);
        assert!(!set("a=1; Expires=Wed, 21 Oct 2099 07:28:00 GMT").session);
        assert!(set("a=; Max-Age=0").deletes);
        assert!(set("a=; Expires=Thu, 01 Jan 1970 00:00:00 GMT").deletes);
        assert_eq!(set("a=1").path, "/base/app", "default path");
        assert!(parse(&HeaderValue::from_static("novalue"), "/").is_none());
        assert!(parse(&HeaderValue::from_static("=x"), "/").is_none());
    }

    #[test]
    fn cookies_go_back_only_to_their_destination_and_path() {
        let mut jar = BackendCookies::default();
        assert!(
            jar.apply(
                "a",
                &[
                    set("s=1; Path=/base"),
                    set("t=2; Path=/other"),
                    set("p=3; Max-Age=9")
                ]
            )
            .is_empty()
        );
        assert_eq!(jar.len(), 2, "the persistent one is not kept");
        assert_eq!(
            jar.header_for("a", "/base/x", false).as_deref(),
            Some("s=1")
        );
        assert_eq!(jar.header_for("a", "/base", false).as_deref(), Some("s=1"));
        assert_eq!(jar.header_for("a", "/basement", false), None);
        assert_eq!(
            jar.header_for("b", "/base/x", false),
            None,
            "another destination"
        );
        jar.apply("a", &[set("s=9; Path=/base")]);
        assert_eq!(
            jar.header_for("a", "/base/x", false).as_deref(),
            Some("s=9"),
            "replaced"
        );
        assert!(!jar.would_change("a", &[set("s=9; Path=/base")]));
        assert!(jar.would_change("a", &[set("s=; Path=/base; Max-Age=0")]));
        jar.apply("a", &[set("s=; Path=/base; Max-Age=0")]);
        assert_eq!(
            jar.header_for("a", "/base/x", false),
            None,
            "deleted by the backend"
        );
        jar.apply("a", &[set("sec=1; Path=/; Secure")]);
        assert_eq!(
            jar.header_for("a", "/x", false),
            None,
            "Secure only over https"
        );
        assert_eq!(jar.header_for("a", "/x", true).as_deref(), Some("sec=1"));
    }

    #[test]
    fn a_session_holds_a_bounded_number_of_bytes() {
        let mut jar = BackendCookies::default();
        let big = format!("big={}", "x".repeat(MAX_COOKIE_BYTES));
        assert_eq!(
            jar.apply("a", &[set(&big)]),
            vec![("big".to_string(), NotKept::TooLarge)]
        );
        for i in 0..MAX_COOKIES + 3 {
            jar.apply("a", &[set(&format!("c{i}=v"))]);
        }
        assert_eq!(jar.len(), MAX_COOKIES);
        let mut jar = BackendCookies::default();
        let value = "y".repeat(3000);
        for i in 0..10 {
            jar.apply("a", &[set(&format!("c{i}={value}"))]);
        }
        let total: usize = jar.0.iter().map(StoredCookie::size).sum();
        assert!(total <= MAX_BYTES, "{total}");
        // 3011 bytes each (name, value, the default path /base/app): five fit in 16 KiB.
        assert_eq!(jar.len(), 5);
    }

    #[test]
    fn values_are_not_in_debug_output() {
        let mut jar = BackendCookies::default();
        jar.apply("a", &[set("s=secret-value")]);
        assert!(!format!("{jar:?}").contains("secret-value"));
        let json = serde_json::to_string(&jar).unwrap();
        let back: BackendCookies = serde_json::from_str(&json).unwrap();
        assert_eq!(back, jar, "the Redis codec carries them");
    }
}
