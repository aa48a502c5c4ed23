//! Login at XSUAA (authorization code with `state` and PKCE), the callback, token refresh and
//! logout.
//!
//! The JWT is validated once, when it arrives (login or refresh); requests then trust the session's
//! copy of its expiry, zone and scopes instead of checking a signature each time.

use crate::backend_logout::BackendLogouts;
use crate::error::Error;
use crate::forwarded::Origin;
use crate::login_state::{LoginCookies, Lookup, PendingLogin};
use crate::session::{AuthInfo, Interner, SessionData, Sessions, unix_now};
use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use axum::response::IntoResponse;
use common::Secret;
use common::cf::XsuaaCredentials;
use common::jwt::JwtValidator;
use common::oauth::{OAuthClient, OAuthError, TokenResponse};
use std::sync::Arc;
use tower_sessions::session::Id;

/// What login and logout need of the router's configuration (besides the sessions and the
/// binding), so that they depend on these few values rather than on the whole router.
pub struct Settings {
    /// xs-app.json `login.callbackEndpoint` (default `/login/callback`).
    pub callback_path: String,
    /// `PRESERVE_FRAGMENT`: the login page keeps the URL's `#fragment`.
    pub preserve_fragment: bool,
    /// `ALLOWED_REDIRECT_HOSTS`: hosts an absolute `logoutPage` may point to.
    pub allowed_redirect_hosts: Vec<String>,
    /// `destinations.<name>.logoutPath` of `xs-app.json`, when any.
    pub backend_logouts: Option<Arc<BackendLogouts>>,
}

/// The xsuaa binding and what talks to it.
pub struct Xsuaa {
    pub creds: XsuaaCredentials,
    pub oauth: OAuthClient,
    pub validator: JwtValidator,
    pub zone_id: Option<String>,
    /// For calls on the user's behalf (the user API's `/userinfo`).
    pub http: reqwest::Client,
    /// Logins in flight, sealed into cookies.
    pub login_cookies: LoginCookies,
    /// Zone ids and scope lists are the same for many sessions: kept once.
    interner: Interner,
}

impl Xsuaa {
    pub fn new(creds: XsuaaCredentials, session_cookie: &str) -> Self {
        let http = common::http::client();
        Xsuaa {
            login_cookies: LoginCookies::new(&creds.clientsecret, &creds.clientid, session_cookie),
            oauth: OAuthClient::from_xsuaa(&creds, http.clone()),
            validator: JwtValidator::from_xsuaa(&creds, http.clone()),
            http,
            zone_id: creds.zone_id().map(str::to_string),
            interner: Interner::default(),
            creds,
        }
    }

    /// A session logged in to another zone is not a login here.
    pub fn accepts(&self, auth: &AuthInfo) -> bool {
        match (&self.zone_id, &auth.zid) {
            (Some(expected), Some(zid)) => expected == zid.as_str(),
            (Some(_), None) => false,
            (None, _) => true,
        }
    }

    /// Validates a fresh token answer and keeps what requests need.
    async fn auth_info(
        &self,
        sessions: &Sessions,
        tokens: TokenResponse,
        previous_refresh: Option<&Secret>,
    ) -> Result<AuthInfo, Error> {
        let claims = self
            .validator
            .validate(tokens.access_token.expose())
            .await
            .map_err(|e| Error::LoginFailed(format!("the token from XSUAA is not valid: {e}")))?;
        let expires_in = tokens.expires_in as i64;
        Ok(self.auth_from_claims(
            &claims,
            sessions.pack(tokens.access_token),
            tokens.refresh_token.or_else(|| previous_refresh.cloned()),
            expires_in,
        ))
    }

    /// Service to App Router: a client without a browser sends its own XSUAA token in
    /// `x-approuter-authorization: Bearer <JWT>` instead of logging in. The token is validated
    /// like a login's (signature via JWKS, expiry, issuer, audience) and must belong to this
    /// zone; no session is made from it.
    pub async fn service_auth(
        &self,
        sessions: &Sessions,
        header: &HeaderValue,
    ) -> Result<AuthInfo, Error> {
        let text = header
            .to_str()
            .map_err(|_| Error::BadRequest("x-approuter-authorization is not valid text".into()))?
            .trim();
        let (scheme, token) = text.split_once(' ').unwrap_or((text, ""));
        let token = token.trim();
        // @sap/approuter: a header it cannot decode as a JWT, or a scheme other than Bearer, is 400.
        if !looks_like_jwt(token) {
            return Err(Error::BadRequest(
                "x-approuter-authorization must be \"Bearer <JWT>\" with a JWT from XSUAA".into(),
            ));
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(Error::BadRequest(
                "x-approuter-authorization is not a Bearer token".into(),
            ));
        }
        let claims = self.validator.validate(token).await.map_err(|e| {
            // The reason is for the log only; the client learns that its token was refused.
            tracing::info!(reason = %e, "x-approuter-authorization token refused");
            Error::Unauthorized
        })?;
        let auth = self.auth_from_claims(
            &claims,
            sessions.pack(Secret::new(token.to_string())),
            None,
            0,
        );
        if !self.accepts(&auth) {
            tracing::info!("x-approuter-authorization token is of another identity zone");
            return Err(Error::Unauthorized);
        }
        Ok(auth)
    }

    fn auth_from_claims(
        &self,
        claims: &common::jwt::Claims,
        access_token: crate::token_pack::PackedToken,
        refresh_token: Option<Secret>,
        expires_in: i64,
    ) -> AuthInfo {
        let lifetime = match claims.iat {
            Some(iat) if claims.exp > iat => claims.exp - iat,
            _ => expires_in,
        };
        let user = claims
            .user_name
            .clone()
            .or_else(|| claims.sub.clone())
            .or_else(|| claims.user_id.clone())
            .unwrap_or_default()
            .into_boxed_str();
        AuthInfo {
            access_token,
            refresh_token,
            expires_at: claims.exp,
            lifetime,
            zid: claims.zid.as_deref().map(|z| self.interner.intern(z)),
            user,
            scopes: self.interner.intern(&claims.scope.join(" ")),
        }
    }
}

/// Three dot-separated parts whose middle one is a base64url JSON object: what SAP's
/// `jwt-decode` accepts before the token is validated.
fn looks_like_jwt(token: &str) -> bool {
    use base64::Engine;
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1].trim_end_matches('='))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .is_some_and(|v| v.is_object())
}

/// True for requests a person's browser makes while navigating: they can be sent to a login page.
/// XHR and API clients (no `text/html` in `Accept`) get 401 instead.
pub fn is_browser_navigation(method: &Method, headers: &HeaderMap) -> bool {
    if method != Method::GET && method != Method::HEAD {
        return false;
    }
    let xhr = headers
        .get("x-requested-with")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("XMLHttpRequest"));
    if xhr {
        return false;
    }
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("text/html"))
}

/// No usable login: a browser is sent to XSUAA, anybody else gets 401. The login in flight goes
/// into a sealed cookie ([`crate::login_state`]): nothing is kept on the server until the user
/// comes back with a code.
///
/// With `PRESERVE_FRAGMENT` (the default, as in `@sap/approuter`) the browser gets a small page
/// instead of a 302: its script (allowed by a CSP nonce) keeps `location.hash`, which never
/// reaches a server, in a short-lived cookie and then goes to XSUAA; the callback appends it to
/// the sealed return path, so a deep link such as `/app/index.html#/orders/42` survives the
/// login. Without it, a plain 302.
pub async fn require_login(
    settings: &Settings,
    sessions: &Sessions,
    xsuaa: &Xsuaa,
    req: &Parts,
    origin: &Origin,
) -> Result<Response<Body>, Error> {
    let headers = &req.headers;
    if !is_browser_navigation(&req.method, headers) {
        return Err(Error::Unauthorized);
    }
    let requested = req
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    let return_to = crate::redirect::safe_relative(requested).unwrap_or_else(|| "/".to_string());
    let redirect_uri = format!("{}{}", origin.base_url(), settings.callback_path);
    let request = xsuaa.oauth.authorization_request(&redirect_uri);
    let fragment_cookie = settings
        .preserve_fragment
        .then(|| xsuaa.login_cookies.fragment_cookie_name(&request.state));
    let now = unix_now();
    let pending = PendingLogin {
        state: Secret::new(request.state),
        verifier: request.pkce_verifier,
        return_to,
        redirect_uri,
        created: now,
    };
    let attributes = sessions.cookie_attributes(origin.https_to_browser);
    let cookie = xsuaa.login_cookies.set_cookie(pending, attributes)?;
    let mut response = match fragment_cookie {
        Some(name) => login_page(&request.url, &name, attributes)?,
        None => redirect(&request.url)?,
    };
    for old in xsuaa.login_cookies.to_evict(headers, now) {
        response.headers_mut().append(
            header::SET_COOKIE,
            xsuaa.login_cookies.clear_cookie(&old, attributes),
        );
    }
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

/// The page that keeps the URL fragment and goes on to XSUAA: `@sap/approuter`'s page (same
/// script shape, so the same tools read it), with a per-answer CSP nonce and a CSP that allows
/// nothing else.
fn login_page(
    authorize_url: &str,
    fragment_cookie: &str,
    attributes: &str,
) -> Result<Response<Body>, Error> {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    // `; SameSite=Lax; Secure` as the script writes it.
    let js_attributes = attributes.replace(' ', "").to_ascii_lowercase();
    let ttl = crate::login_state::LOGIN_TTL_SECS;
    let html = format!(
        "<html><head>\
         <link rel=\"shortcut icon\" href=\"data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7\" />\
         <script nonce=\"{nonce}\">\
         document.cookie=\"{fragment_cookie}=\"+encodeURIComponent(location.hash)+\";path=/;max-age={ttl}{js_attributes}\";\
         location=\"{url}\"</script></head></html>",
        url = js_string(authorize_url),
    );
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors *"
    );
    let mut response = Response::new(Body::from(html));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&csp).map_err(|_| Error::Internal("CSP header".into()))?,
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    Ok(response)
}

/// `text` inside a double-quoted JavaScript string in a `<script>` element: nothing in it can end
/// the string or the element.
fn js_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' | '\\' | '<' | '>' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_ascii_graphic() || c == ' ' => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out
}

/// `GET /login/callback?code=...&state=...`: the `state` must be that of a login this browser
/// started (its sealed cookie) and not used yet; the code is exchanged with the PKCE verifier, the
/// token validated, and a new session made. The login cookie is cleared whatever the outcome.
pub async fn callback(
    sessions: &Sessions,
    xsuaa: &Xsuaa,
    req: &Parts,
    origin: &Origin,
) -> Result<Response<Body>, Error> {
    let (uri, headers) = (&req.uri, &req.headers);
    let mut answer = XsuaaAnswer::default();
    let mut state = None;
    for (key, value) in url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "code" => answer.code = Some(value.into_owned()),
            "state" => state = Some(value.into_owned()),
            "error" => answer.error = Some(value.into_owned()),
            "error_description" => answer.error_description = Some(value.into_owned()),
            _ => {}
        }
    }
    let Some(state) = state else {
        return Err(Error::BadRequest(
            "the login callback has no state parameter".into(),
        ));
    };
    let pending = match xsuaa.login_cookies.find(headers, &state) {
        Lookup::Found(pending) => pending,
        Lookup::Missing => {
            return Err(Error::BadRequest(
                "no login with this state is in progress in this browser (used already, expired, or not started here); open the application again".into(),
            ));
        }
        Lookup::Invalid => {
            tracing::warn!("login callback with a login cookie this router did not seal");
            return Err(Error::BadRequest(
                "the login cookie is not valid; open the application again".into(),
            ));
        }
    };
    let attributes = sessions.cookie_attributes(origin.https_to_browser);
    let clear = xsuaa
        .login_cookies
        .clear_cookie(&xsuaa.login_cookies.cookie_name(&state), attributes);
    let fragment = xsuaa.login_cookies.fragment(headers, &state);
    let fragment_name = xsuaa.login_cookies.fragment_cookie_name(&state);
    let had_fragment_cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(&fragment_name));
    let outcome = complete_login(
        sessions,
        xsuaa,
        pending,
        &state,
        answer,
        headers,
        origin,
        fragment.as_deref(),
    )
    .await;
    let mut response = match outcome {
        Ok(response) => response,
        Err(e) => e.into_response(),
    };
    response.headers_mut().append(header::SET_COOKIE, clear);
    if had_fragment_cookie {
        response.headers_mut().append(
            header::SET_COOKIE,
            xsuaa.login_cookies.clear_cookie(&fragment_name, attributes),
        );
    }
    Ok(response)
}

/// What XSUAA sent back besides the state.
#[derive(Default)]
struct XsuaaAnswer {
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn complete_login(
    sessions: &Sessions,
    xsuaa: &Xsuaa,
    pending: PendingLogin,
    state: &str,
    answer: XsuaaAnswer,
    headers: &HeaderMap,
    origin: &Origin,
    fragment: Option<&str>,
) -> Result<Response<Body>, Error> {
    let now = unix_now();
    if pending.expired(now) {
        return Err(Error::BadRequest(
            "the login took too long; open the application again".into(),
        ));
    }
    if !xsuaa.login_cookies.first_use(state, now) {
        tracing::warn!("login callback replayed with a state used before");
        return Err(Error::BadRequest(
            "this login was completed already; open the application again".into(),
        ));
    }
    if let Some(error) = answer.error {
        let description = answer.error_description.unwrap_or_default();
        tracing::warn!(error = %error, description = %description, "XSUAA refused the login");
        return Err(Error::LoginFailed(format!(
            "XSUAA answered {error}: {description}"
        )));
    }
    let Some(code) = answer.code else {
        return Err(Error::BadRequest(
            "the login callback has no code parameter".into(),
        ));
    };

    let tokens = xsuaa
        .oauth
        .exchange_code(&code, &pending.redirect_uri, &pending.verifier)
        .await
        .map_err(|e| oauth_error(e, "exchanging the authorization code"))?;
    let auth = xsuaa.auth_info(sessions, tokens, None).await?;
    if !xsuaa.accepts(&auth) {
        return Err(Error::LoginFailed(
            "the token is for another identity zone".into(),
        ));
    }
    tracing::info!(
        user = %mask_user(&auth.user),
        token_bytes_kept = auth.access_token.stored_len(),
        "login"
    );

    // Always a new id for the logged-in session: an id known before login (fixation) is worth
    // nothing, and a session this browser had (expired login) is replaced.
    let data = SessionData {
        auth: Some(auth),
        ..SessionData::default()
    };
    let new_id = sessions.create(data).await?;
    if let Some(old_id) = sessions.id_from_headers(headers) {
        sessions.destroy(old_id).await?;
    }

    // The fragment the login page kept goes after the sealed path: it cannot change where the
    // browser goes, only which view of the page it opens.
    let mut response = match fragment {
        Some(fragment) => redirect(&format!("{}{fragment}", pending.return_to))?,
        None => redirect(&pending.return_to)?,
    };
    response.headers_mut().append(
        header::SET_COOKIE,
        sessions.set_cookie(new_id, origin.https_to_browser),
    );
    Ok(response)
}

/// The session's login with a token that is not about to expire. Refreshes under the session's
/// lock, so parallel requests redeem a refresh token once; a session gone meanwhile (logout) is
/// not refreshed. `Err(Unauthorized)` means: log in again.
pub async fn ensure_fresh(
    sessions: &Sessions,
    xsuaa: &Xsuaa,
    id: Id,
    data: Arc<SessionData>,
) -> Result<Arc<SessionData>, Error> {
    let now = unix_now();
    match &data.auth {
        None => return Err(Error::Unauthorized),
        Some(auth) if !auth.needs_refresh(now) => return Ok(data),
        Some(_) => {}
    }
    let _lock = sessions.lock(id).await;
    let Some(current) = sessions.reload(id).await? else {
        return Err(Error::Unauthorized);
    };
    let Some(auth) = current.auth.clone() else {
        return Err(Error::Unauthorized);
    };
    let now = unix_now();
    if !auth.needs_refresh(now) {
        // Somebody refreshed while we waited.
        return Ok(current);
    }
    let Some(refresh_token) = auth.refresh_token.clone() else {
        return if auth.expires_at > now {
            Ok(current)
        } else {
            Err(Error::Unauthorized)
        };
    };
    let refreshed = match xsuaa.oauth.refresh(&refresh_token).await {
        Ok(tokens) => {
            xsuaa
                .auth_info(sessions, tokens, Some(&refresh_token))
                .await
        }
        Err(e) => Err(oauth_error(e, "refreshing the token")),
    };
    match refreshed {
        Ok(new_auth) if new_auth.user == auth.user && new_auth.zid == auth.zid => {
            tracing::debug!(user = %mask_user(&new_auth.user), "token refreshed");
            let updated = sessions
                .update_locked(id, |d| d.auth = Some(new_auth))
                .await?;
            updated.ok_or(Error::Unauthorized)
        }
        Ok(_) => {
            tracing::warn!("refresh answered a token for another user or zone; ending the session");
            sessions.destroy_locked(id).await?;
            Err(Error::Unauthorized)
        }
        // XSUAA is down or slow, but the token still works: keep using it and retry next time.
        Err(Error::Xsuaa { .. }) if auth.expires_at > now + 5 => Ok(current),
        Err(e) => {
            tracing::info!(error = %e, "token refresh failed; the user has to log in again");
            sessions.update_locked(id, |d| d.auth = None).await?;
            Err(Error::Unauthorized)
        }
    }
}

/// The logout endpoint, as `@sap/approuter`'s: only `logout.logoutMethod` ends the session (GET
/// when unset); with `csrfProtection` (the default for POST) the session's CSRF token is needed.
/// The session is deleted (after any refresh in flight on it), the cookie cleared, the backends'
/// `logoutPath`s called in the background, and the browser sent to XSUAA's `/logout.do` with
/// `redirect` to the `logoutPage`: a 302 for GET, for POST a 200 whose body is that URL (for the
/// page's script to open), nothing at all with `?skip-redirect`.
pub async fn logout(
    settings: &Settings,
    sessions: &Sessions,
    xsuaa: Option<&Xsuaa>,
    config: &crate::xs_app::Logout,
    req: &Parts,
    origin: &Origin,
) -> Result<Response<Body>, Error> {
    let (method, uri, headers) = (&req.method, &req.uri, &req.headers);
    let allowed = config.method.as_ref().unwrap_or(&Method::GET);
    if method != allowed {
        // @sap/approuter fails such a request with 500 ("request method (POST) does not match
        // logout configuration logoutMethod (GET)"); it is the client's mistake: 405 and `Allow`.
        return Ok(crate::respond::method_not_allowed(&[allowed.to_string()]));
    }
    let id = sessions.id_from_headers(headers);
    let data = match id {
        Some(id) => sessions.load(id).await?,
        None => None,
    };
    if config.csrf_protection {
        crate::csrf::check(headers, data.as_ref().and_then(|d| d.csrf.as_ref()))?;
    }
    if let Some(id) = id {
        sessions.destroy(id).await?;
    }
    if let (Some(logouts), Some(auth)) = (
        &settings.backend_logouts,
        data.as_ref().and_then(|d| d.auth.as_ref()),
    ) {
        logouts.call_all(
            &auth.user,
            auth.access_token.unpack(),
            crate::correlation::current(),
            "logout",
        );
    }
    let clear = sessions.clear_cookie(origin.https_to_browser);
    if uri.query().is_some_and(|q| q.contains("skip-redirect")) {
        let mut response = Response::new(Body::empty());
        response.headers_mut().append(header::SET_COOKIE, clear);
        return Ok(response);
    }
    let page = config.page.as_deref().unwrap_or("/");
    let own_host = origin.host.as_str();
    let back = crate::redirect::safe_target(page, own_host, &settings.allowed_redirect_hosts)
        .unwrap_or_else(|| "/".to_string());
    let back = if back.starts_with('/') {
        format!("{}{back}", origin.base_url())
    } else {
        back
    };
    let location = match xsuaa {
        Some(xsuaa) => {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("redirect", &back)
                .append_pair("client_id", &xsuaa.creds.clientid)
                .finish();
            format!(
                "{}/logout.do?{query}",
                xsuaa.creds.url.trim_end_matches('/')
            )
        }
        None => back,
    };
    let mut response = if method == Method::POST {
        let mut response = Response::new(Body::from(location));
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("script-src 'self' 'unsafe-inline'; frame-ancestors *"),
        );
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache, no-store, must-revalidate"),
        );
        response
    } else {
        redirect(&location)?
    };
    response.headers_mut().append(header::SET_COOKIE, clear);
    Ok(response)
}

pub fn redirect(location: &str) -> Result<Response<Body>, Error> {
    let value = HeaderValue::from_str(location)
        .map_err(|_| Error::BadRequest("invalid redirect target".into()))?;
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::FOUND;
    response.headers_mut().insert(header::LOCATION, value);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

fn oauth_error(e: OAuthError, doing: &'static str) -> Error {
    match e {
        OAuthError::Rejected {
            status,
            error,
            description,
            ..
        } => Error::LoginFailed(format!(
            "XSUAA refused {doing} ({status} {error}: {description})"
        )),
        source => Error::Xsuaa { doing, source },
    }
}

/// `alice` -> `a***e`: enough to tell users apart in a log, not enough to name them.
pub fn mask_user(user: &str) -> String {
    let chars: Vec<char> = user.chars().collect();
    match chars.len() {
        0 => "-".into(),
        1..=2 => format!("{}***", chars[0]),
        n => format!("{}***{}", chars[0], chars[n - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_are_told_apart_from_scripts() {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml,*/*;q=0.8"),
        );
        assert!(is_browser_navigation(&Method::GET, &h));
        assert!(
            !is_browser_navigation(&Method::POST, &h),
            "a POST body cannot survive a login round trip"
        );
        h.insert(
            "x-requested-with",
            HeaderValue::from_static("XMLHttpRequest"),
        );
        assert!(!is_browser_navigation(&Method::GET, &h));
        let mut api = HeaderMap::new();
        api.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        assert!(!is_browser_navigation(&Method::GET, &api));
        assert!(!is_browser_navigation(&Method::GET, &HeaderMap::new()));
    }

    #[test]
    fn user_names_are_masked() {
        assert_eq!(mask_user("alice"), "a***e");
        assert_eq!(mask_user("al"), "a***");
        assert_eq!(mask_user(""), "-");
    }
}
