//! Client of HERE's token endpoint (seed 003's `requestToken` of `@here/olp-sdk-authentication`):
//! `POST <here.token.endpoint.url>` signed with OAuth 1.0a HMAC-SHA256 ([`crate::oauth1`]), JSON body
//! `{"grantType":"client_credentials","expiresIn":N[,"scope":S]}`, answer
//! `{"accessToken","tokenType","expiresIn"[,"scope"]}`; errors
//! `{"errorId","httpStatus","errorCode","message","error","error_description"}`.

use crate::oauth::{OAuthError, TokenResponse, read_body, snippet};
use crate::oauth1;
use crate::secret::Secret;
use serde::Deserialize;
use tracing::Instrument;

/// A HERE token endpoint and the access key that signs requests to it.
#[derive(Clone)]
pub struct HereTokenClient {
    url: url::Url,
    access_key_id: String,
    access_key_secret: Secret,
    scope: Option<String>,
    http: reqwest::Client,
}

impl HereTokenClient {
    /// `url`: `here.token.endpoint.url` (already checked to be an http(s) URL with a host).
    pub fn new(
        url: url::Url,
        access_key_id: impl Into<String>,
        access_key_secret: Secret,
        scope: Option<String>,
        http: reqwest::Client,
    ) -> Self {
        HereTokenClient {
            url,
            access_key_id: access_key_id.into(),
            access_key_secret,
            scope,
            http,
        }
    }

    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// A token living `expires_in` seconds (the endpoint may grant less; the answer says how long).
    pub async fn request_token(&self, expires_in: u64) -> Result<TokenResponse, OAuthError> {
        let url = self.url.as_str().to_owned();
        let span = tracing::info_span!("here_token", url = %url, access_key_id = %self.access_key_id, expires_in);
        async move {
            // A fresh nonce and timestamp per request: the endpoint refuses a nonce it has seen.
            let authorization = oauth1::authorization(
                "POST",
                &self.url,
                &[],
                &self.access_key_id,
                self.access_key_secret.expose(),
                &oauth1::nonce(),
                oauth1::timestamp(),
            )
            .ok_or_else(|| OAuthError::InvalidResponse {
                url: url.clone(),
                reason: "the token endpoint URL has no host".into(),
            })?;
            let mut body = serde_json::json!({
                "grantType": "client_credentials",
                "expiresIn": expires_in,
            });
            if let Some(scope) = &self.scope {
                body["scope"] = scope.clone().into();
            }
            let response = self
                .http
                .post(self.url.clone())
                .header(reqwest::header::AUTHORIZATION, authorization)
                .header(reqwest::header::ACCEPT, "application/json")
                .json(&body)
                .send()
                .await
                .map_err(|e| crate::oauth::send_error(&url, &e))?;
            crate::oauth::logged(parse(&url, response).await)
        }
        .instrument(span)
        .await
    }
}

/// HERE's error body (the fields every error carries; `errorFields` etc. are ignored).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HereError {
    error_code: serde_json::Value,
    #[serde(default)]
    message: String,
}

async fn parse(url: &str, response: reqwest::Response) -> Result<TokenResponse, OAuthError> {
    let (status, body) = read_body(url, response).await?;
    if status.is_success() {
        let token: TokenResponse =
            serde_json::from_str(&body).map_err(|e| OAuthError::InvalidResponse {
                url: url.to_owned(),
                reason: format!("not a HERE token response: {e}"),
            })?;
        if token.access_token.is_empty() || token.expires_in == 0 {
            return Err(OAuthError::InvalidResponse {
                url: url.to_owned(),
                reason: "the answer has no accessToken or no expiresIn".into(),
            });
        }
        return Ok(token);
    }
    match serde_json::from_str::<HereError>(&body) {
        Ok(e) => Err(OAuthError::Rejected {
            url: url.to_owned(),
            status: status.as_u16(),
            error: match e.error_code {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            },
            description: snippet(&e.message),
        }),
        Err(_) => Err(OAuthError::InvalidResponse {
            url: url.to_owned(),
            reason: format!("HTTP {status}: {}", snippet(&body)),
        }),
    }
}
