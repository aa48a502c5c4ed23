//! What a session holds: the logged-in user's tokens, expiry, zone and scopes, the CSRF token and
//! the backends' session cookies.

use super::shared::Shared;
use crate::backend_cookies::BackendCookies;
use crate::token_pack::PackedToken;
use common::Secret;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tower_sessions::session::Id;

/// Kept small on purpose: tokens, expiry, zone, CSRF token, scopes (and backend session cookies
/// where a destination sets them). Only a login makes one; a
/// login in flight lives in a cookie ([`crate::login_state`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SessionData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf: Option<Secret>,
    /// Session cookies the user's destinations set ([`crate::backend_cookies`]); boxed, as most
    /// sessions have none.
    #[serde(default, rename = "bc", skip_serializing_if = "Option::is_none")]
    pub backend_cookies: Option<Box<BackendCookies>>,
}

/// The logged-in user: validated at login or refresh, trusted until `expires_at`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthInfo {
    pub access_token: PackedToken,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    /// `exp` of the access token, unix seconds.
    pub expires_at: i64,
    /// `exp - iat` (or `expires_in`), to refresh proportionally early for short-lived tokens.
    pub lifetime: i64,
    /// The identity zone the user logged in to; a session is never used for another zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zid: Option<Shared>,
    /// `user_name` (else `sub`), for the access log (masked there) and refresh consistency.
    pub user: Box<str>,
    /// The token's scopes, space separated; users with the same roles share one copy.
    pub scopes: Shared,
}

impl AuthInfo {
    /// True when the token should be renewed now: within a third of its lifetime (at most five
    /// minutes) of expiry, so short-lived tokens too are refreshed before a backend sees them expire.
    pub fn needs_refresh(&self, now: i64) -> bool {
        let margin = (self.lifetime / 3).clamp(0, 300);
        now + margin >= self.expires_at
    }

    pub fn has_any_scope(&self, required: &[String]) -> bool {
        required.is_empty()
            || required
                .iter()
                .any(|r| self.scopes.split(' ').any(|s| s == r))
    }
}

/// A logged-in user's session as a request holds it: its id and the data it was loaded with.
pub struct SessionRef {
    pub id: Id,
    pub data: Arc<SessionData>,
}

/// A session as read from the store.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub data: Arc<SessionData>,
    pub expires: SystemTime,
}

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(expires_at: i64, lifetime: i64) -> AuthInfo {
        AuthInfo {
            access_token: PackedToken::plain(Secret::new("t")),
            refresh_token: None,
            expires_at,
            lifetime,
            zid: None,
            user: "alice".into(),
            scopes: Shared::from("openid a.Read"),
        }
    }

    #[test]
    fn refresh_margin_scales_with_the_token_lifetime() {
        assert!(!auth(1000 + 43200, 43200).needs_refresh(1000));
        assert!(auth(1000 + 299, 43200).needs_refresh(1000));
        assert!(!auth(1000 + 5, 9).needs_refresh(1000));
        assert!(auth(1000 + 2, 9).needs_refresh(1000));
        assert!(auth(999, 9).needs_refresh(1000));
    }

    #[test]
    fn a_session_stays_small() {
        // 10,000 sessions must fit in a small process: every word here is 80 KB there.
        assert!(
            std::mem::size_of::<SessionData>() <= 160,
            "{}",
            std::mem::size_of::<SessionData>()
        );
    }

    #[test]
    fn scopes_any_of() {
        let a = auth(0, 0);
        assert!(a.has_any_scope(&[]));
        assert!(a.has_any_scope(&["x".into(), "a.Read".into()]));
        assert!(!a.has_any_scope(&["a.read".into()]));
    }
}
