//! XSUAA's server-side state: pending login requests, authorization codes (single use, short
//! lived), login sessions (the browser's SSO cookie) and refresh tokens (rotated on use).

use crate::clock::now;
use crate::ids::random_id;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// An `/oauth/authorize` request waiting for the login form.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub client_id: String,
    /// As given in the request (None when the registered one was used).
    pub redirect_uri_param: Option<String>,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub nonce: Option<String>,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub struct AuthCode {
    pub request: AuthorizationRequest,
    pub user: String,
    pub auth_time: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub struct LoginSession {
    pub user: String,
    pub auth_time: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub struct RefreshGrant {
    pub client_id: String,
    pub user: String,
    pub scopes: Option<Vec<String>>,
    pub auth_time: i64,
    pub expires_at: i64,
}

#[derive(Debug, Default)]
pub struct XsuaaStore {
    pending: Mutex<HashMap<String, AuthorizationRequest>>,
    codes: Mutex<HashMap<String, AuthCode>>,
    sessions: Mutex<HashMap<String, LoginSession>>,
    refresh: Mutex<HashMap<String, RefreshGrant>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl XsuaaStore {
    pub fn add_pending(&self, request: AuthorizationRequest) -> String {
        let id = random_id(24);
        let mut map = lock(&self.pending);
        let t = now();
        map.retain(|_, r| r.expires_at > t);
        map.insert(id.clone(), request);
        id
    }

    pub fn pending(&self, id: &str) -> Option<AuthorizationRequest> {
        lock(&self.pending)
            .get(id)
            .filter(|r| r.expires_at > now())
            .cloned()
    }

    pub fn remove_pending(&self, id: &str) {
        lock(&self.pending).remove(id);
    }

    pub fn add_code(&self, code: AuthCode) -> String {
        let id = random_id(20);
        let mut map = lock(&self.codes);
        let t = now();
        map.retain(|_, c| c.expires_at > t);
        map.insert(id.clone(), code);
        id
    }

    /// Removes the code whatever happens next: a code is redeemable once.
    pub fn take_code(&self, code: &str) -> Option<AuthCode> {
        lock(&self.codes).remove(code)
    }

    pub fn add_session(&self, session: LoginSession) -> String {
        let id = random_id(32);
        let mut map = lock(&self.sessions);
        let t = now();
        map.retain(|_, s| s.expires_at > t);
        map.insert(id.clone(), session);
        id
    }

    pub fn session(&self, id: &str) -> Option<LoginSession> {
        lock(&self.sessions)
            .get(id)
            .filter(|s| s.expires_at > now())
            .cloned()
    }

    pub fn end_session(&self, id: &str) {
        lock(&self.sessions).remove(id);
    }

    /// Ends every login session of `user` (e.g. `POST /__mock/logout`).
    pub fn end_sessions_of(&self, user: &str) {
        lock(&self.sessions).retain(|_, s| s.user != user);
    }

    pub fn add_refresh(&self, grant: RefreshGrant) -> String {
        let id = format!("{}-r", random_id(32));
        let mut map = lock(&self.refresh);
        let t = now();
        map.retain(|_, g| g.expires_at > t);
        map.insert(id.clone(), grant);
        id
    }

    /// Refresh tokens rotate: redeeming one invalidates it.
    pub fn take_refresh(&self, token: &str) -> Option<RefreshGrant> {
        lock(&self.refresh).remove(token)
    }

    /// Revokes every refresh token of `user` (e.g. after `POST /__mock/revoke`).
    pub fn revoke_refresh_of(&self, user: &str) -> usize {
        let mut map = lock(&self.refresh);
        let before = map.len();
        map.retain(|_, g| g.user != user);
        before - map.len()
    }
}
