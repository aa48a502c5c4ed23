//! A login in flight lives in the browser, not in the router: its `state`, PKCE verifier, return
//! path, `redirect_uri` and start time are sealed (AES-256-GCM) into a short-lived cookie, so an
//! anonymous request costs the server no memory at all (`@sap/approuter` keeps the same data in a
//! server-side cache for 180 s instead; an anonymous flood fills that cache).
//!
//! - One cookie per login, named `<session cookie>_STATE_<hash of the state>`, so several tabs can
//!   log in at once without overwriting each other (their requests race; a shared list would lose
//!   all but the last). A browser holds at most [`MAX_LOGINS_PER_BROWSER`]; the oldest go first.
//! - The key is derived (HKDF-SHA256) from the xsuaa binding's client secret, which every instance
//!   of the app shares: a login started at one instance completes at another, with or without
//!   Redis and without sticky sessions. Whoever knows the client secret can get tokens for the app
//!   anyway, so the cookie key adds no new secret to protect; rotating the secret only voids logins
//!   in flight. Every cookie gets its own key (HKDF-Expand over a random 128-bit id), so random
//!   96-bit GCM nonces never meet the same key twice, however long a secret lives.
//! - The cookie name is the AEAD's associated data: a sealed value is good under its own name only.
//! - One-time use: the callback clears the cookie whatever happens, XSUAA redeems a code once, and
//!   this process remembers states it has seen at its callback until they expire (bounded; when
//!   full, the oldest are forgotten first, and the other two guarantees remain).
//! - Cookies are read with `crate::cookies` and written with one `format!` (fixed shape), not with
//!   the `cookie` crate, for the reasons `crate::cookies` and `crate::session::cookie` give.

use crate::error::Error;
use axum::http::{HeaderMap, HeaderValue};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::Secret;
use ring::rand::SecureRandom;
use ring::{aead, digest, hkdf};
use serde::{Deserialize, Serialize};
use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use subtle::ConstantTimeEq;

/// A login must come back from XSUAA within this time: `@sap/approuter`'s `STATE_CACHE` default.
pub const LOGIN_TTL_SECS: i64 = 180;
/// Logins in flight per browser (tabs opened at once); older ones are dropped.
pub const MAX_LOGINS_PER_BROWSER: usize = 4;
/// States remembered as used by this process; far more than logins in 180 s of a busy router.
const USED_STATES_LIMIT: usize = 10_000;
/// Browsers keep cookies up to 4096 bytes (name, value and attributes); stay well below.
const MAX_COOKIE_VALUE: usize = 3500;
const KEY_ID_LEN: usize = 16;
const NONCE_LEN: usize = 12;
const HKDF_SALT: &[u8] = b"approuter pending-login cookie v1";

/// An authorization request sent to XSUAA whose answer has not come back yet.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    #[serde(rename = "s")]
    pub state: Secret,
    #[serde(rename = "v")]
    pub verifier: Secret,
    /// Same-origin path to return to after login.
    #[serde(rename = "r")]
    pub return_to: String,
    /// Exactly the `redirect_uri` sent to `/oauth/authorize`; the code exchange must repeat it.
    #[serde(rename = "u")]
    pub redirect_uri: String,
    /// Unix seconds.
    #[serde(rename = "t")]
    pub created: i64,
}

impl PendingLogin {
    pub fn expired(&self, now: i64) -> bool {
        now - self.created > LOGIN_TTL_SECS || self.created > now + 60
    }
}

/// A `#fragment` longer than this (percent-encoded) is not kept across the login: cookies hold
/// about 4 KB, and a deep link into an app is far shorter.
pub const MAX_FRAGMENT: usize = 2048;

pub struct LoginCookies {
    prk: hkdf::Prk,
    /// `<session cookie>_STATE_`
    prefix: String,
    /// `<session cookie>_FRAGMENT_`: the URL fragment of a login in flight, set by the login
    /// page's script (the server never sees a fragment). Not sealed: the fragment was in the
    /// address bar and is only ever appended to the sealed same-origin return path.
    fragment_prefix: String,
    rng: ring::rand::SystemRandom,
    used: Mutex<UsedStates>,
}

#[derive(Default)]
struct UsedStates {
    seen: HashSet<[u8; 16]>,
    /// Insertion order with expiry (unix seconds), to forget the oldest first.
    order: VecDeque<([u8; 16], i64)>,
}

/// What a callback found for its `state`.
pub enum Lookup {
    /// No cookie for this state in the request.
    Missing,
    /// A cookie, but not one this router sealed (tampered, another app's, or a rotated secret).
    Invalid,
    Found(PendingLogin),
}

impl LoginCookies {
    /// `secret` is the xsuaa binding's client secret, `client_id` its client id.
    pub fn new(secret: &Secret, client_id: &str, session_cookie: &str) -> Self {
        let mut ikm = Vec::with_capacity(secret.expose().len() + client_id.len() + 1);
        ikm.extend_from_slice(secret.expose().as_bytes());
        ikm.push(0);
        ikm.extend_from_slice(client_id.as_bytes());
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, HKDF_SALT).extract(&ikm);
        LoginCookies {
            prk,
            prefix: format!("{session_cookie}_STATE_"),
            fragment_prefix: format!("{session_cookie}_FRAGMENT_"),
            rng: ring::rand::SystemRandom::new(),
            used: Mutex::default(),
        }
    }

    /// The cookie that carries the login with this `state`.
    pub fn cookie_name(&self, state: &str) -> String {
        format!("{}{}", self.prefix, state_id(state))
    }

    /// The cookie the login page's script puts the URL fragment of the login with this `state`
    /// into.
    pub fn fragment_cookie_name(&self, state: &str) -> String {
        format!("{}{}", self.fragment_prefix, state_id(state))
    }

    /// The fragment (`#...`) the login with this `state` started from, if the browser kept one:
    /// decoded, at most [`MAX_FRAGMENT`] bytes, and with every character that has no place in a
    /// URL fragment percent-encoded, so that it can only ever be a fragment of the return path.
    pub fn fragment(&self, headers: &HeaderMap, state: &str) -> Option<String> {
        let name = self.fragment_cookie_name(state);
        let raw = cookies(headers).find(|(n, _)| *n == name).map(|(_, v)| v)?;
        if raw.is_empty() || raw.len() > MAX_FRAGMENT {
            return None;
        }
        let decoded = crate::redirect::percent_decode(raw)?;
        let rest = decoded.strip_prefix('#')?;
        if rest.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(decoded.len() + 8);
        out.push('#');
        for b in rest.bytes() {
            // The URL standard's fragment percent-encode set (the browser's `location.hash` has
            // encoded these already; `%` stays, it starts the browser's own escapes).
            if b.is_ascii_graphic() && !matches!(b, b'"' | b'<' | b'>' | b'`') {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        Some(out)
    }

    fn key(&self, key_id: &[u8]) -> Result<aead::LessSafeKey, Error> {
        let info = [key_id];
        let okm = self
            .prk
            .expand(&info, &aead::AES_256_GCM)
            .map_err(|_| Error::Internal("login cookie key derivation failed".into()))?;
        Ok(aead::LessSafeKey::new(aead::UnboundKey::from(okm)))
    }

    /// `base64url(key id ‖ nonce ‖ ciphertext ‖ tag)`, sealed under the cookie's name.
    fn seal(&self, name: &str, login: &PendingLogin) -> Result<String, Error> {
        let mut random = [0u8; KEY_ID_LEN + NONCE_LEN];
        self.rng
            .fill(&mut random)
            .map_err(|_| Error::Internal("no randomness for the login cookie".into()))?;
        let (key_id, nonce) = random.split_at(KEY_ID_LEN);
        let mut buf = serde_json::to_vec(login).map_err(|e| Error::InternalCause {
            what: "login cookie encoding".into(),
            source: e.into(),
        })?;
        let nonce = aead::Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| Error::Internal("login cookie nonce".into()))?;
        self.key(key_id)?
            .seal_in_place_append_tag(nonce, aead::Aad::from(name.as_bytes()), &mut buf)
            .map_err(|_| Error::Internal("login cookie sealing failed".into()))?;
        let mut sealed = Vec::with_capacity(random.len() + buf.len());
        sealed.extend_from_slice(&random);
        sealed.extend_from_slice(&buf);
        Ok(URL_SAFE_NO_PAD.encode(sealed))
    }

    fn open(&self, name: &str, value: &str) -> Option<PendingLogin> {
        if value.len() > MAX_COOKIE_VALUE {
            return None;
        }
        let mut sealed = URL_SAFE_NO_PAD.decode(value.trim()).ok()?;
        if sealed.len() < KEY_ID_LEN + NONCE_LEN + aead::AES_256_GCM.tag_len() {
            return None;
        }
        let mut body = sealed.split_off(KEY_ID_LEN + NONCE_LEN);
        let (key_id, nonce) = sealed.split_at(KEY_ID_LEN);
        let nonce = aead::Nonce::try_assume_unique_for_key(nonce).ok()?;
        let plain = self
            .key(key_id)
            .ok()?
            .open_in_place(nonce, aead::Aad::from(name.as_bytes()), &mut body)
            .ok()?;
        serde_json::from_slice(plain).ok()
    }

    /// The `Set-Cookie` for a new login. A `return_to` too long for a cookie becomes `/`.
    /// `attributes` are the session cookie's (`; SameSite=...` and `; Secure`, from `COOKIES` and
    /// `SECURE_SESSION_COOKIE`): a login inside another site's frame needs `SameSite=None` here too.
    pub fn set_cookie(
        &self,
        mut login: PendingLogin,
        attributes: &str,
    ) -> Result<HeaderValue, Error> {
        let name = self.cookie_name(login.state.expose());
        let mut value = self.seal(&name, &login)?;
        if value.len() > MAX_COOKIE_VALUE && login.return_to != "/" {
            login.return_to = "/".into();
            value = self.seal(&name, &login)?;
        }
        if value.len() > MAX_COOKIE_VALUE {
            return Err(Error::BadRequest(
                "the request's host name is too long to log in with".into(),
            ));
        }
        let cookie =
            format!("{name}={value}; Path=/; Max-Age={LOGIN_TTL_SECS}; HttpOnly{attributes}");
        HeaderValue::from_str(&cookie)
            .map_err(|_| Error::Internal("login cookie is not a header value".into()))
    }

    pub fn clear_cookie(&self, name: &str, attributes: &str) -> HeaderValue {
        let cookie = format!(
            "{name}=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly{attributes}"
        );
        HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The login cookie for `state` in the request, opened and checked against the state in
    /// constant time.
    pub fn find(&self, headers: &HeaderMap, state: &str) -> Lookup {
        let name = self.cookie_name(state);
        let Some(value) = cookies(headers).find(|(n, _)| *n == name).map(|(_, v)| v) else {
            return Lookup::Missing;
        };
        match self.open(&name, value) {
            Some(login) if bool::from(login.state.expose().as_bytes().ct_eq(state.as_bytes())) => {
                Lookup::Found(login)
            }
            _ => Lookup::Invalid,
        }
    }

    /// Names of this browser's login cookies to clear so that, with one more, it holds at most
    /// [`MAX_LOGINS_PER_BROWSER`]: unreadable and expired ones, then the oldest.
    pub fn to_evict(&self, headers: &HeaderMap, now: i64) -> Vec<String> {
        let mut evict = Vec::new();
        let mut live = Vec::new();
        // A browser sends what we set (at most a handful); more is somebody else's doing.
        for (name, value) in cookies(headers)
            .filter(|(n, _)| n.starts_with(&self.prefix))
            .take(4 * MAX_LOGINS_PER_BROWSER)
        {
            match self.open(name, value) {
                Some(login) if !login.expired(now) => live.push((login.created, name)),
                _ => evict.push(name.to_string()),
            }
        }
        if live.len() >= MAX_LOGINS_PER_BROWSER {
            live.sort_by_key(|(created, _)| std::cmp::Reverse(*created));
            evict.extend(
                live.drain(MAX_LOGINS_PER_BROWSER - 1..)
                    .map(|(_, n)| n.to_string()),
            );
        }
        evict
    }

    /// Records `state` as used; false when it was used before (a replayed callback).
    pub fn first_use(&self, state: &str, now: i64) -> bool {
        let hash = digest::digest(&digest::SHA256, state.as_bytes());
        let mut key = [0u8; 16];
        key.copy_from_slice(&hash.as_ref()[..16]);
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        while let Some((old, expires)) = used.order.front().copied() {
            if expires > now && used.order.len() < USED_STATES_LIMIT {
                break;
            }
            used.order.pop_front();
            used.seen.remove(&old);
        }
        if !used.seen.insert(key) {
            return false;
        }
        used.order.push_back((key, now + LOGIN_TTL_SECS + 60));
        true
    }
}

fn state_id(state: &str) -> String {
    let hash = digest::digest(&digest::SHA256, state.as_bytes());
    URL_SAFE_NO_PAD.encode(&hash.as_ref()[..12])
}

/// `(name, value)` of every cookie in the request's `Cookie` headers that is text (ours are:
/// base64url values); a non-ASCII cookie of another app does not hide them.
fn cookies(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    crate::cookies::pairs(headers)
        .filter_map(|(n, v)| Some((std::str::from_utf8(n).ok()?, std::str::from_utf8(v).ok()?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookies_for(secret: &str) -> LoginCookies {
        LoginCookies::new(&Secret::new(secret), "sb-app", "JSESSIONID")
    }

    fn login(state: &str, created: i64) -> PendingLogin {
        PendingLogin {
            state: Secret::new(state),
            verifier: Secret::new("verifier"),
            return_to: "/app?x=1".into(),
            redirect_uri: "http://127.0.0.1/login/callback".into(),
            created,
        }
    }

    fn request_with(set_cookies: &[HeaderValue]) -> HeaderMap {
        let pairs: Vec<String> = set_cookies
            .iter()
            .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_string())
            .collect();
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            HeaderValue::from_str(&pairs.join("; ")).unwrap(),
        );
        headers
    }

    #[test]
    fn a_sealed_login_opens_with_the_same_secret_only() {
        let now = 1_000_000;
        let a = cookies_for("secret");
        let set = a
            .set_cookie(login("st1", now), "; SameSite=Lax; Secure")
            .unwrap();
        let text = set.to_str().unwrap();
        assert!(
            text.contains("HttpOnly") && text.contains("Max-Age=180") && text.ends_with("Secure")
        );
        assert!(
            !text.contains("verifier") && !text.contains("/app"),
            "{text}"
        );
        let headers = request_with(std::slice::from_ref(&set));

        let other_instance = cookies_for("secret");
        let Lookup::Found(found) = other_instance.find(&headers, "st1") else {
            panic!("another instance with the same binding opens it");
        };
        assert_eq!(found.verifier.expose(), "verifier");
        assert_eq!(found.return_to, "/app?x=1");
        assert!(matches!(
            cookies_for("rotated").find(&headers, "st1"),
            Lookup::Invalid
        ));
        assert!(matches!(a.find(&headers, "st2"), Lookup::Missing));
    }

    #[test]
    fn a_tampered_or_moved_cookie_is_refused() {
        let a = cookies_for("secret");
        let set = a.set_cookie(login("st1", 5), "; SameSite=Lax").unwrap();
        let pair = set.to_str().unwrap().split(';').next().unwrap().to_string();
        let (name, value) = pair.split_once('=').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(value).unwrap();
        let last = bytes.len() - 20;
        bytes[last] ^= 1;
        let flipped = URL_SAFE_NO_PAD.encode(bytes);
        assert!(a.open(name, value).is_some());
        assert!(a.open(name, &flipped).is_none(), "integrity");
        let other = a.cookie_name("st2");
        assert!(a.open(&other, value).is_none(), "bound to its name");
    }

    #[test]
    fn a_browser_keeps_a_few_logins_and_loses_the_oldest() {
        let a = cookies_for("secret");
        let now = 1_000_000;
        let sets: Vec<_> = (0..MAX_LOGINS_PER_BROWSER as i64)
            .map(|i| {
                a.set_cookie(login(&format!("s{i}"), now - 10 + i), "; SameSite=Lax")
                    .unwrap()
            })
            .collect();
        let mut all = sets.clone();
        all.push(
            a.set_cookie(login("old", now - LOGIN_TTL_SECS - 1), "; SameSite=Lax")
                .unwrap(),
        );
        let evicted = a.to_evict(&request_with(&all), now);
        assert_eq!(evicted.len(), 2, "{evicted:?}");
        assert!(evicted.contains(&a.cookie_name("old")), "expired");
        assert!(
            evicted.contains(&a.cookie_name("s0")),
            "the oldest live one"
        );
        assert!(a.to_evict(&request_with(&sets[1..]), now).is_empty());
    }

    #[test]
    fn a_state_is_used_once() {
        let a = cookies_for("secret");
        assert!(a.first_use("s", 100));
        assert!(!a.first_use("s", 101));
        assert!(
            a.first_use("s", 100 + LOGIN_TTL_SECS + 61),
            "forgotten after expiry"
        );
        for i in 0..USED_STATES_LIMIT + 10 {
            a.first_use(&i.to_string(), 500);
        }
        assert!(a.used.lock().unwrap().order.len() <= USED_STATES_LIMIT);
    }
}
