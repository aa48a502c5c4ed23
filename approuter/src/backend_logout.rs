//! Backend logout: `xs-app.json`'s `destinations.<name>.logoutPath` / `logoutMethod` are called
//! when a user logs out centrally and when a session times out, as `@sap/approuter` does, so that
//! backends can end their own sessions for the user.
//!
//! The calls go out in the background: a backend that fails or hangs never holds up the user's
//! logout; it is logged (status or reason, the correlation id, never a token). Each call has the
//! destination's timeout. An env destination gets the user's token as `Authorization: Bearer`
//! when it has `forwardAuthToken` (as SAP); a Destination-service destination gets what the
//! service answers for it (`authTokens[0]`).

use crate::destination_service::DestinationService;
use crate::xs_app::BackendLogout;
use axum::http::{HeaderValue, Method};
use common::Secret;
use common::cf::AppRouterDestination;
use std::sync::Arc;
use std::time::Duration;

/// One configured backend logout, with where it goes.
struct Target {
    destination: String,
    path: String,
    method: Method,
    /// `None`: looked up at the Destination service at logout time.
    env: Option<EnvTarget>,
}

struct EnvTarget {
    base: String,
    forward_auth_token: bool,
    timeout: Duration,
}

pub struct BackendLogouts {
    targets: Vec<Target>,
    http: reqwest::Client,
    destination_service: Option<Arc<DestinationService>>,
}

impl BackendLogouts {
    /// `None` when no destination has a `logoutPath` (nothing to do at logout).
    pub fn new(
        configured: &[BackendLogout],
        env: &[AppRouterDestination],
        destination_service: Option<Arc<DestinationService>>,
    ) -> Option<Arc<Self>> {
        if configured.is_empty() {
            return None;
        }
        let targets = configured
            .iter()
            .map(|c| Target {
                destination: c.destination.clone(),
                path: c.path.clone(),
                method: c.method.clone(),
                env: env
                    .iter()
                    .find(|d| d.name == c.destination)
                    .map(|d| EnvTarget {
                        base: d.url.as_str().trim_end_matches('/').to_string(),
                        forward_auth_token: d.forward_auth_token,
                        timeout: d.timeout.unwrap_or(crate::proxy::DEFAULT_TIMEOUT),
                    }),
            })
            .collect();
        Some(Arc::new(BackendLogouts {
            targets,
            // The CA certificates the rest of the router trusts (`SSL_CERT_FILE`...); each call
            // sets its destination's timeout.
            http: common::http::client_with_timeouts(
                Duration::from_secs(5),
                crate::proxy::DEFAULT_TIMEOUT,
            ),
            destination_service,
        }))
    }

    /// Calls every backend logout for the user whose token this is, in the background.
    /// `reason`: "logout" or "session timeout", for the log.
    pub fn call_all(
        self: &Arc<Self>,
        user: &str,
        token: Secret,
        correlation: Option<HeaderValue>,
        reason: &'static str,
    ) {
        for index in 0..self.targets.len() {
            let this = self.clone();
            let token = token.clone();
            let correlation = correlation.clone();
            let user: Arc<str> = Arc::from(user);
            tokio::spawn(async move {
                let target = &this.targets[index];
                let correlation_id = correlation
                    .as_ref()
                    .and_then(|c| c.to_str().ok())
                    .unwrap_or("-")
                    .to_string();
                match this.call(target, &user, &token, correlation).await {
                    Ok(status) if status == 200 || status == 202 || status == 204 => {
                        tracing::info!(destination = %target.destination, %status, correlation_id, reason, "backend logout done");
                    }
                    Ok(status) => {
                        tracing::warn!(destination = %target.destination, %status, correlation_id, reason, "backend logout answered with an error status")
                    }
                    Err(e) => {
                        tracing::warn!(destination = %target.destination, error = %e, correlation_id, reason, "backend logout failed")
                    }
                }
            });
        }
    }

    async fn call(
        &self,
        target: &Target,
        user: &str,
        token: &Secret,
        correlation: Option<HeaderValue>,
    ) -> Result<u16, String> {
        let (url, timeout, auth) = match &target.env {
            Some(env) => {
                let auth = env
                    .forward_auth_token
                    .then(|| format!("Bearer {}", token.expose()));
                (
                    format!("{}{}", env.base, target.path),
                    env.timeout,
                    auth.map(|a| ("authorization".to_string(), a)),
                )
            }
            None => {
                let service = self
                    .destination_service
                    .as_ref()
                    .ok_or("no Destination service is bound")?;
                let resolved = service
                    .resolve(&target.destination, Some((user, token.expose())))
                    .await
                    .map_err(|e| e.to_string())?;
                let auth = resolved.auth_header.as_ref().and_then(|(name, value)| {
                    value
                        .to_str()
                        .ok()
                        .map(|v| (name.as_str().to_string(), v.to_string()))
                });
                let auth = auth.or_else(|| {
                    resolved.upstream.forward_auth_token.then(|| {
                        (
                            "authorization".to_string(),
                            format!("Bearer {}", token.expose()),
                        )
                    })
                });
                (
                    format!("{}{}", resolved.upstream.base_url(), target.path),
                    resolved.upstream.timeout,
                    auth,
                )
            }
        };
        let mut request = self
            .http
            .request(target.method.clone(), &url)
            .timeout(timeout);
        if let Some((name, value)) = auth {
            request = request.header(name, value);
        }
        if let Some(correlation) = correlation {
            request = request.header(crate::correlation::HEADER, correlation);
        }
        // Without the URL in the message: the log names the destination.
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                format!("no answer within {} ms", timeout.as_millis())
            } else if e.is_connect() {
                "cannot connect".to_string()
            } else {
                "request failed".to_string()
            }
        })?;
        Ok(response.status().as_u16())
    }
}
