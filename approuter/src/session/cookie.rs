//! The session cookie: its name, its attributes (`COOKIES`, `SECURE_SESSION_COOKIE`), reading the
//! id from a request and the `Set-Cookie` values that set and clear it.
//! Not the `cookie` crate: a `Set-Cookie` here has one fixed shape (name, id, `Path=/; HttpOnly`,
//! then the attributes of `COOKIES`/`SECURE_SESSION_COOKIE`), one `format!` each; reading cookies is
//! byte-level on purpose (`crate::cookies` says why).

use axum::http::{HeaderMap, HeaderValue};
use tower_sessions::session::Id;

/// `@sap/approuter`'s cookie name, so browser tooling and load balancers see what they know.
pub const DEFAULT_COOKIE_NAME: &str = "JSESSIONID";

/// The session cookie's `SameSite`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SameSite {
    #[default]
    Lax,
    /// For apps embedded in another site's frame (Work Zone, iframes); needs Secure.
    None,
}

pub struct SessionCookie {
    name: String,
    /// `COOKIES: {"SameSite": "None"}` (implies Secure).
    same_site_none: bool,
    /// `SECURE_SESSION_COOKIE`: forced on or off; `None` follows the request's scheme.
    force_secure: Option<bool>,
}

impl SessionCookie {
    pub fn new(name: &str) -> Self {
        SessionCookie {
            name: name.to_string(),
            same_site_none: false,
            force_secure: None,
        }
    }

    pub fn with_policy(mut self, same_site: SameSite, secure: Option<bool>) -> Self {
        self.same_site_none = same_site == SameSite::None;
        self.force_secure = secure;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `; SameSite=...` and `; Secure` for a request that came over https or not.
    pub fn attributes(&self, https: bool) -> &'static str {
        let secure = self.same_site_none || self.force_secure.unwrap_or(https);
        match (self.same_site_none, secure) {
            (true, _) => "; SameSite=None; Secure",
            (false, true) => "; SameSite=Lax; Secure",
            (false, false) => "; SameSite=Lax",
        }
    }

    /// The session id from the `Cookie` header(s), if one parses.
    pub fn id_from_headers(&self, headers: &HeaderMap) -> Option<Id> {
        crate::cookies::find(headers, &self.name)
    }

    pub fn set(&self, id: Id, secure: bool) -> HeaderValue {
        let value = format!(
            "{}={}; Path=/; HttpOnly{}",
            self.name,
            id,
            self.attributes(secure)
        );
        HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    pub fn clear(&self, secure: bool) -> HeaderValue {
        let value = format!(
            "{}=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly{}",
            self.name,
            self.attributes(secure)
        );
        HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_read_among_others() {
        let cookie = SessionCookie::new("JSESSIONID");
        let id = Id::default();
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            HeaderValue::from_str(&format!("a=1; JSESSIONID=garbage; JSESSIONID={id}; b=2"))
                .unwrap(),
        );
        assert_eq!(cookie.id_from_headers(&headers), Some(id));
        let set = cookie.set(id, true);
        let text = set.to_str().unwrap();
        assert!(
            text.contains("HttpOnly") && text.contains("SameSite=Lax") && text.ends_with("Secure")
        );
        assert!(!cookie.set(id, false).to_str().unwrap().contains("Secure"));
        let embedded = SessionCookie::new("JSESSIONID").with_policy(SameSite::None, None);
        assert_eq!(embedded.attributes(false), "; SameSite=None; Secure");
    }
}
