//! OAuth2 client for XSUAA: client credentials, password, authorization code with PKCE (S256) and
//! `state`, refresh token, and the jwt-bearer user token exchange. The grants are small form POSTs
//! (XSUAA accepts a raw, un-encoded `id:secret` in HTTP Basic, which the `oauth2` crate would
//! URL-encode); the `oauth2` crate provides PKCE and the random `state`.

use crate::cf::XsuaaCredentials;
use crate::secret::Secret;
use base64::Engine;
use tracing::Instrument;

mod error;
mod response;

pub use error::OAuthError;
pub use response::TokenResponse;
use response::parse_token_response;
pub(crate) use response::{logged, send_error};
pub(crate) use response::{read_body, snippet};

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClientAuth {
    /// `Authorization: Basic base64(id:secret)` with the raw id and secret, as XSUAA accepts.
    Basic,
    /// `client_id`/`client_secret` in the form body (the default, like `@sap/xssec`).
    #[default]
    Form,
}

/// Where to send the browser, plus what to keep in the session to finish the login.
pub struct AuthorizationRequest {
    pub url: String,
    pub state: String,
    pub pkce_verifier: Secret,
}

impl std::fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub struct OAuthClient {
    token_url: String,
    authorize_url: String,
    client_id: String,
    client_secret: Secret,
    auth: ClientAuth,
    http: reqwest::Client,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl OAuthClient {
    /// `base_url`: the XSUAA url; endpoints `{base_url}/oauth/token` and `{base_url}/oauth/authorize`.
    pub fn new(
        base_url: &str,
        client_id: &str,
        client_secret: Secret,
        http: reqwest::Client,
    ) -> Self {
        let base = base_url.trim_end_matches('/');
        OAuthClient {
            token_url: format!("{base}/oauth/token"),
            authorize_url: format!("{base}/oauth/authorize"),
            client_id: client_id.to_owned(),
            client_secret,
            auth: ClientAuth::default(),
            http,
        }
    }

    /// The token endpoint given in full (seed 003's `*.token.endpoint.url`, destinations).
    pub fn with_token_url(
        token_url: &str,
        client_id: &str,
        client_secret: Secret,
        http: reqwest::Client,
    ) -> Self {
        let authorize_url = match token_url.strip_suffix("/oauth/token") {
            Some(base) => format!("{base}/oauth/authorize"),
            None => match url::Url::parse(token_url) {
                Ok(u) => format!("{}/oauth/authorize", u.origin().ascii_serialization()),
                Err(_) => format!("{token_url}/../authorize"),
            },
        };
        OAuthClient {
            token_url: token_url.to_owned(),
            authorize_url,
            client_id: client_id.to_owned(),
            client_secret,
            auth: ClientAuth::default(),
            http,
        }
    }

    pub fn from_xsuaa(creds: &XsuaaCredentials, http: reqwest::Client) -> Self {
        Self::new(
            &creds.url,
            &creds.clientid,
            creds.clientsecret.clone(),
            http,
        )
    }

    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.auth = auth;
        self
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub fn token_url(&self) -> &str {
        &self.token_url
    }

    pub async fn client_credentials(
        &self,
        scope: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("response_type", "token"),
        ];
        if let Some(scope) = scope.filter(|s| !s.trim().is_empty()) {
            form.push(("scope", scope));
        }
        self.token_request("client_credentials", form).await
    }

    pub async fn password(
        &self,
        username: &str,
        password: &Secret,
    ) -> Result<TokenResponse, OAuthError> {
        let form = vec![
            ("grant_type", "password"),
            ("response_type", "token"),
            ("username", username),
            ("password", password.expose()),
        ];
        self.token_request("password", form).await
    }

    /// Authorization-code request with PKCE S256 and a random `state` (both from the `oauth2` crate).
    /// Keep `state` and `pkce_verifier` in the session; compare `state` on the callback.
    pub fn authorization_request(&self, redirect_uri: &str) -> AuthorizationRequest {
        let (challenge, verifier) = oauth2::PkceCodeChallenge::new_random_sha256();
        let state = oauth2::CsrfToken::new_random();
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state.secret())
            .append_pair("code_challenge", challenge.as_str())
            .append_pair("code_challenge_method", challenge.method().as_str())
            .finish();
        let sep = if self.authorize_url.contains('?') {
            '&'
        } else {
            '?'
        };
        AuthorizationRequest {
            url: format!("{}{sep}{query}", self.authorize_url),
            state: state.secret().clone(),
            pkce_verifier: Secret::new(verifier.secret().clone()),
        }
    }

    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        pkce_verifier: &Secret,
    ) -> Result<TokenResponse, OAuthError> {
        let form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", pkce_verifier.expose()),
        ];
        self.token_request("authorization_code", form).await
    }

    pub async fn refresh(&self, refresh_token: &Secret) -> Result<TokenResponse, OAuthError> {
        let form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
        ];
        self.token_request("refresh_token", form).await
    }

    /// User token exchange: `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`, `assertion=<user JWT>`.
    pub async fn jwt_bearer(&self, assertion: &str) -> Result<TokenResponse, OAuthError> {
        let form = vec![
            ("grant_type", JWT_BEARER),
            ("response_type", "token"),
            ("assertion", assertion),
        ];
        self.token_request("jwt_bearer", form).await
    }

    async fn token_request(
        &self,
        grant: &'static str,
        form: Vec<(&str, &str)>,
    ) -> Result<TokenResponse, OAuthError> {
        let span = tracing::info_span!("oauth_token", url = %self.token_url, grant, client_id = %self.client_id);
        async move {
            let mut form = form;
            let mut req = self
                .http
                .post(&self.token_url)
                .header(reqwest::header::ACCEPT, "application/json");
            match self.auth {
                ClientAuth::Basic => {
                    let raw = format!("{}:{}", self.client_id, self.client_secret.expose());
                    let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
                    req = req.header(reqwest::header::AUTHORIZATION, format!("Basic {encoded}"));
                }
                ClientAuth::Form => {
                    form.push(("client_id", &self.client_id));
                    form.push(("client_secret", self.client_secret.expose()));
                }
            }
            let resp = req
                .form(&form)
                .send()
                .await
                .map_err(|e| send_error(&self.token_url, &e))?;
            logged(parse_token_response(&self.token_url, resp).await)
        }
        .instrument(span)
        .await
    }
}

#[cfg(test)]
mod tests;
