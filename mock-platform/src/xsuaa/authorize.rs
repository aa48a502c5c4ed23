//! The browser side of XSUAA: `GET /oauth/authorize` (authorization code flow with `state`,
//! PKCE and `redirect_uri` checked against the client's `redirect-uris`), the login form posted
//! to `/login.do`, the login session cookie, and `GET /logout.do`.

use crate::clock::now;
use crate::error::{Error, Result};
use crate::model::{App, OPENID};
use crate::redirect;
use crate::state::Shared;
use crate::xsuaa::pages;
use crate::xsuaa::store::{AuthCode, AuthorizationRequest, LoginSession};
use crate::xsuaa::tokens::resolve_scopes;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::collections::HashMap;

/// The login session cookie. Cookies do not separate ports, so the name must not collide with
/// the apps' own session cookies on 127.0.0.1.
pub const SESSION_COOKIE: &str = "mock_xsuaa_session";
/// How long the login form may sit before it is submitted.
const PENDING_VALIDITY: i64 = 900;

pub async fn authorize(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response> {
    state.stats.xsuaa.incr("authorize");
    let client_id = params
        .get("client_id")
        .ok_or_else(|| Error::page(StatusCode::BAD_REQUEST, "Missing client_id"))?;
    let app = state.model.app_by_client(client_id).ok_or_else(|| {
        Error::page(
            StatusCode::BAD_REQUEST,
            format!("Invalid client_id: no client {client_id}"),
        )
    })?;
    // Without a trustworthy redirect_uri, errors are shown here, never redirected (RFC 6749 §4.1.2.1).
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) if redirect::allowed(&app.redirect_uris, uri) => uri.clone(),
        Some(uri) => {
            return Err(Error::page(
                StatusCode::BAD_REQUEST,
                format!(
                    "Invalid redirect {uri} did not match one of the registered values ({}) of client {client_id}",
                    app.redirect_uris
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        None => match app.redirect_uris.as_slice() {
            [only] if !only.as_str().contains('*') => only.as_str().to_string(),
            _ => {
                return Err(Error::page(
                    StatusCode::BAD_REQUEST,
                    "A redirect_uri is required: the client has none or several registered",
                ));
            }
        },
    };
    let state_param = params.get("state").cloned();
    let fail = |error: &str, description: &str| -> Result<Response> {
        Ok(redirect_with(
            &redirect_uri,
            &[("error", error), ("error_description", description)],
            state_param.as_deref(),
        ))
    };
    if params.get("response_type").map(String::as_str) != Some("code") {
        return fail(
            "unsupported_response_type",
            "Only response_type=code is supported",
        );
    }
    if !app.allows_grant("authorization_code") {
        return fail(
            "unauthorized_client",
            "The client may not use the authorization code grant",
        );
    }
    let challenge = params.get("code_challenge").cloned();
    let method = params.get("code_challenge_method").cloned();
    match (&challenge, method.as_deref()) {
        (Some(c), None | Some("S256") | Some("plain")) => {
            if !(43..=128).contains(&c.len()) {
                return fail(
                    "invalid_request",
                    "code_challenge must be 43 to 128 characters",
                );
            }
        }
        (Some(_), _) => {
            return fail(
                "invalid_request",
                "Unsupported code_challenge_method (S256 or plain)",
            );
        }
        (None, Some(_)) => {
            return fail(
                "invalid_request",
                "code_challenge_method without code_challenge",
            );
        }
        (None, None) => {}
    }
    let scopes: Option<Vec<String>> = params
        .get("scope")
        .map(|s| s.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .filter(|s| !s.is_empty());
    if let Some(scopes) = &scopes {
        let unknown: Vec<&String> = scopes
            .iter()
            .filter(|s| *s != OPENID && !app.may_hold(s))
            .collect();
        if !unknown.is_empty() {
            let list: Vec<&str> = unknown.iter().map(|s| s.as_str()).collect();
            return fail(
                "invalid_scope",
                &format!("Invalid scope: {}", list.join(" ")),
            );
        }
    }
    let request = AuthorizationRequest {
        client_id: app.client_id.clone(),
        redirect_uri_param: params.get("redirect_uri").cloned(),
        redirect_uri: redirect_uri.clone(),
        state: state_param.clone(),
        scopes,
        code_challenge: challenge,
        code_challenge_method: method
            .or_else(|| params.get("code_challenge").map(|_| "plain".into())),
        nonce: params.get("nonce").cloned(),
        expires_at: now() + PENDING_VALIDITY,
    };
    let prompt = params.get("prompt").map(String::as_str);
    if prompt != Some("login")
        && let Some(session) = session_cookie(&headers).and_then(|id| state.xsuaa.session(&id))
    {
        return complete(&state, app, request, &session.user, session.auth_time, None);
    }
    if prompt == Some("none") {
        return fail("login_required", "The user is not logged in");
    }
    let id = state.xsuaa.add_pending(request);
    Ok(login_page(StatusCode::OK, &id, app, "", None))
}

fn login_page(
    status: StatusCode,
    request_id: &str,
    app: &App,
    username: &str,
    error: Option<&str>,
) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Html(pages::login_form(
            request_id,
            &app.xsappname,
            username,
            error,
        )),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

pub async fn login_post(
    State(state): State<Shared>,
    Form(form): Form<LoginForm>,
) -> Result<Response> {
    let request = state.xsuaa.pending(&form.request_id).ok_or_else(|| {
        Error::page(
            StatusCode::BAD_REQUEST,
            "The login request is unknown or expired. Go back to the application and start again.",
        )
    })?;
    let app = state
        .model
        .app_by_client(&request.client_id)
        .ok_or_else(|| Error::page(StatusCode::BAD_REQUEST, "The client no longer exists"))?;
    let user = state
        .model
        .user(form.username.trim())
        .filter(|u| u.password == form.password);
    let Some(user) = user else {
        state.stats.xsuaa.incr("login.failure");
        tracing::info!("login failed");
        return Ok(login_page(
            StatusCode::UNAUTHORIZED,
            &form.request_id,
            app,
            &form.username,
            Some("Unable to verify email or password. Please try again."),
        ));
    };
    state.stats.xsuaa.incr("login.success");
    state.xsuaa.remove_pending(&form.request_id);
    let auth_time = now();
    let session = state.xsuaa.add_session(LoginSession {
        user: user.name.clone(),
        auth_time,
        expires_at: auth_time + state.model.session_validity,
    });
    complete(&state, app, request, &user.name, auth_time, Some(session))
}

/// Issues the code and sends the browser back to the client.
fn complete(
    state: &Shared,
    app: &App,
    request: AuthorizationRequest,
    user: &str,
    auth_time: i64,
    new_session: Option<String>,
) -> Result<Response> {
    let Some(user_model) = state.model.user(user) else {
        return Err(Error::page(StatusCode::BAD_REQUEST, "Unknown user"));
    };
    // Scope errors surface at the token endpoint; here only make sure there is a grantable set.
    resolve_scopes(app, Some(user_model), request.scopes.as_deref())
        .map_err(|e| Error::page(StatusCode::BAD_REQUEST, e))?;
    let redirect_uri = request.redirect_uri.clone();
    let state_param = request.state.clone();
    let code = state.xsuaa.add_code(AuthCode {
        request,
        user: user.to_string(),
        auth_time,
        expires_at: now() + state.model.code_validity,
    });
    let mut response = redirect_with(&redirect_uri, &[("code", &code)], state_param.as_deref());
    if let Some(session) = new_session {
        let cookie = format!("{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax");
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    Ok(response)
}

fn redirect_with(base: &str, params: &[(&str, &str)], state: Option<&str>) -> Response {
    let Ok(mut url) = url::Url::parse(base) else {
        return Error::page(StatusCode::BAD_REQUEST, "Invalid redirect_uri").into_response();
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in params {
            query.append_pair(k, v);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
    }
    Redirect::to(url.as_str()).into_response()
}

pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string())
}

/// `GET /login`: the login page without a pending request (someone opened XSUAA directly).
pub async fn login_get() -> Html<String> {
    Html(pages::error_page(
        "Open the application to log in: it sends you here with a login request.",
    ))
}

/// `GET /logout.do?redirect=<uri>[&client_id=<id>]`: ends the login session, then redirects
/// only to a URI allowed by the client's (or, without `client_id`, any client's) `redirect-uris`.
pub async fn logout(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    state.stats.xsuaa.incr("logout");
    if let Some(id) = session_cookie(&headers) {
        state.xsuaa.end_session(&id);
    }
    let target = params
        .get("redirect")
        .or_else(|| params.get("post_logout_redirect_uri"));
    let allowed = target.filter(|t| match params.get("client_id") {
        Some(id) => state
            .model
            .app_by_client(id)
            .is_some_and(|app| redirect::allowed(&app.redirect_uris, t)),
        None => state
            .model
            .apps
            .iter()
            .any(|app| redirect::allowed(&app.redirect_uris, t)),
    });
    let clear = format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
    let mut response = match (allowed, target) {
        (Some(t), _) => Redirect::to(t).into_response(),
        (None, Some(_)) => Html(pages::logged_out(Some(
            "The redirect target is not an allowed redirect URI of the client.",
        )))
        .into_response(),
        (None, None) => Html(pages::logged_out(None)).into_response(),
    };
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
