//! State shared by the three services: the resolved model, the signing keys, the URLs the
//! services are reachable at, and per-service request counters and injected faults.

use crate::error::{Error, Result};
use crate::keys::{KeyRing, SigningKey};
use crate::model::Model;
pub use crate::urls::Urls;
use crate::xsuaa::store::XsuaaStore;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct PlatformState {
    pub model: Model,
    pub keys: KeyRing,
    pub urls: Urls,
    pub xsuaa: XsuaaStore,
    pub backend: crate::backend::store::BackendStore,
    pub here: crate::here::store::HereStore,
    pub stats: ServiceStats,
    pub faults: ServiceFaults,
    /// Outbound client of the Destination service (token exchange over real HTTP); trusts the
    /// mock's own CA so `https://localhost` token URLs work too.
    pub http: reqwest::Client,
    /// The ready-file JSON, served at `GET /__mock/ready` (set once by [`crate::start`]).
    pub ready: std::sync::OnceLock<Value>,
    /// Tokens this XSUAA issued whose signature was checked, with their claims and `kid`: the
    /// Backend API and the Destination service see the same token on every request, as real
    /// services behind `@sap/xssec` 4 (which keeps such a cache) do.
    pub verified: crate::signature_cache::SignatureCache<VerifiedToken>,
}

/// A token that passed [`PlatformState::verify`].
pub struct VerifiedToken {
    pub kid: String,
    pub claims: Map<String, Value>,
}

impl std::ops::Deref for VerifiedToken {
    type Target = Map<String, Value>;

    fn deref(&self) -> &Map<String, Value> {
        &self.claims
    }
}

pub type Shared = Arc<PlatformState>;

impl PlatformState {
    /// State for services reachable at `urls`, for serving the routers on listeners of your own
    /// (`xsuaa_router(state)` etc.); a signing key is generated unless the config names one.
    /// [`crate::start`] does all of this and binds the listeners itself.
    pub fn from_config(config: &crate::MockConfig, urls: Urls) -> Result<Shared> {
        let mut model = Model::resolve(config)?;
        model.fill_urls(&urls);
        let key = match &model.keys_pem {
            Some(path) => SigningKey::load(path)?,
            None => SigningKey::generate()?,
        };
        Self::new(model, key, urls, None)
    }

    /// `model` must have its placeholders filled for `urls` ([`Model::fill_urls`]).
    pub fn new(model: Model, key: SigningKey, urls: Urls, ca_pem: Option<&str>) -> Result<Shared> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none());
        if let Some(pem) = ca_pem {
            let cert = reqwest::Certificate::from_pem(pem.as_bytes())
                .map_err(|e| Error::startup("CA certificate", e))?;
            builder = builder.add_root_certificate(cert);
        }
        let http = builder
            .build()
            .map_err(|e| Error::startup("HTTP client", e))?;
        let backend = crate::backend::store::BackendStore::new(&model.backend);
        let here = crate::here::store::HereStore::new(&model.here);
        Ok(Arc::new(Self {
            model,
            keys: KeyRing::new(key),
            urls,
            xsuaa: XsuaaStore::default(),
            backend,
            here,
            stats: ServiceStats::default(),
            faults: ServiceFaults::default(),
            http,
            ready: std::sync::OnceLock::new(),
            verified: crate::signature_cache::SignatureCache::new(
                crate::signature_cache::DEFAULT_CAPACITY,
            ),
        }))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Xsuaa,
    Destination,
    Backend,
    /// The HERE-style token endpoint (seed 003).
    Here,
}

/// Monotonic counters, readable in-process and at `GET /__mock/stats` on each service.
#[derive(Debug, Default)]
pub struct Stats {
    counters: Mutex<BTreeMap<String, u64>>,
}

impl Stats {
    pub fn incr(&self, key: &str) {
        *self.lock().entry(key.to_string()).or_default() += 1;
    }

    pub fn get(&self, key: &str) -> u64 {
        self.lock().get(key).copied().unwrap_or_default()
    }

    pub fn snapshot(&self, known: &[&str]) -> BTreeMap<String, u64> {
        let mut out: BTreeMap<String, u64> = known.iter().map(|k| (k.to_string(), 0)).collect();
        out.extend(self.lock().iter().map(|(k, v)| (k.clone(), *v)));
        out
    }

    pub fn reset(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, u64>> {
        self.counters.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[derive(Debug, Default)]
pub struct ServiceStats {
    pub xsuaa: Stats,
    pub destination: Stats,
    pub backend: Stats,
    pub here: Stats,
}

impl ServiceStats {
    pub fn of(&self, service: Service) -> &Stats {
        match service {
            Service::Xsuaa => &self.xsuaa,
            Service::Destination => &self.destination,
            Service::Backend => &self.backend,
            Service::Here => &self.here,
        }
    }
}

/// Counter names always present (0 until counted) in each service's stats.
pub fn known_counters(service: Service) -> &'static [&'static str] {
    match service {
        Service::Xsuaa => &[
            "requests",
            "token.authorization_code",
            "token.refresh_token",
            "token.client_credentials",
            "token.password",
            "token.jwt_bearer",
            "token.errors",
            "authorize",
            "login.success",
            "login.failure",
            "token_keys",
            "userinfo",
            "logout",
        ],
        Service::Destination => &[
            "requests",
            "lookups",
            "listings",
            "exchanges",
            "exchange_errors",
            "unauthorized",
            "not_found",
        ],
        Service::Backend => &[
            "requests",
            "reads",
            "writes",
            "unauthorized",
            "forbidden",
            "csrf_rejected",
        ],
        Service::Here => &[
            "requests",
            "tokens",
            "token.errors",
            "signature_mismatch",
            "stale_timestamp",
            "nonce_replayed",
            "unknown_key",
            "demo",
            "demo.unauthorized",
        ],
    }
}

/// `POST /__mock/fail` body: answer `status` (after `delay_ms`) for the next `count` requests
/// (all when absent) whose path starts with `path_prefix` (any when absent). With only
/// `delay_ms`, requests are slowed down but answered normally.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default)]
    pub path_prefix: Option<String>,
    #[serde(default)]
    pub delay_ms: u64,
}

#[derive(Debug, Default)]
pub struct Faults {
    current: Mutex<Option<Fault>>,
}

impl Faults {
    pub fn set(&self, fault: Option<Fault>) {
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = fault;
    }

    /// The fault to apply to a request for `path`, counting it down.
    fn take(&self, path: &str) -> Option<Fault> {
        let mut guard = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let fault = guard.as_mut()?;
        if let Some(prefix) = &fault.path_prefix
            && !path.starts_with(prefix.as_str())
        {
            return None;
        }
        let applied = fault.clone();
        if let Some(count) = fault.count.as_mut() {
            *count = count.saturating_sub(1);
            if *count == 0 {
                *guard = None;
            }
        }
        Some(applied)
    }

    pub fn current(&self) -> Option<Fault> {
        self.current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[derive(Debug, Default)]
pub struct ServiceFaults {
    pub xsuaa: Faults,
    pub destination: Faults,
    pub backend: Faults,
    pub here: Faults,
}

impl ServiceFaults {
    pub fn of(&self, service: Service) -> &Faults {
        match service {
            Service::Xsuaa => &self.xsuaa,
            Service::Destination => &self.destination,
            Service::Backend => &self.backend,
            Service::Here => &self.here,
        }
    }
}

/// Counts requests and applies injected faults; `/health` and `/__mock/*` are exempt.
pub async fn count_and_inject(
    State((state, service)): State<(Shared, Service)>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    if path == "/health" || path.starts_with("/__mock/") {
        return next.run(request).await;
    }
    let stats = state.stats.of(service);
    stats.incr("requests");
    if let Some(fault) = state.faults.of(service).take(&path) {
        if fault.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
        }
        if let Some(status) = fault.status {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            stats.incr("injected");
            return Error::Injected { status }.into_response();
        }
    }
    let method = request.method().clone();
    let response = next.run(request).await;
    stats.incr(&format!("status.{}", response.status().as_u16()));
    // The path only: query strings may carry codes or state.
    tracing::debug!(?service, %method, path, status = response.status().as_u16(), "request");
    response
}

/// The `/__mock/stats` and `/__mock/fail` routes every service has.
pub fn mock_routes(service: Service) -> axum::Router<Shared> {
    use axum::routing::get;
    axum::Router::new()
        .route(
            "/__mock/stats",
            get(move |State(state): State<Shared>| async move {
                axum::Json(json!(state.stats.of(service).snapshot(known_counters(service))))
            })
            .delete(move |State(state): State<Shared>| async move {
                state.stats.of(service).reset();
                StatusCode::NO_CONTENT
            }),
        )
        .route(
            "/__mock/fail",
            get(move |State(state): State<Shared>| async move {
                axum::Json(json!({"fault": state.faults.of(service).current()}))
            })
            .post(move |State(state): State<Shared>, body: axum::body::Bytes| async move {
                match serde_json::from_slice::<Fault>(&body) {
                    Ok(fault) => {
                        if let Some(status) = fault.status
                            && StatusCode::from_u16(status).is_err()
                        {
                            return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": format!("status {status} is not an HTTP status")})));
                        }
                        state.faults.of(service).set(Some(fault.clone()));
                        (StatusCode::OK, axum::Json(json!({"fault": fault})))
                    }
                    Err(e) => (StatusCode::BAD_REQUEST, axum::Json(json!({"error": e.to_string()}))),
                }
            })
            .delete(move |State(state): State<Shared>| async move {
                state.faults.of(service).set(None);
                StatusCode::NO_CONTENT
            }),
        )
        .route(
            "/__mock/ready",
            get(|State(state): State<Shared>| async move {
                axum::Json(state.ready.get().cloned().unwrap_or(Value::Null))
            }),
        )
        .route("/health", get(|| async { axum::Json(json!({"status": "UP"})) }))
}

/// Wraps a service's routes with the shared routes and the counting/fault layer.
pub fn finish(router: axum::Router<Shared>, state: Shared, service: Service) -> axum::Router {
    router
        .merge(mock_routes(service))
        .layer(axum::middleware::from_fn_with_state(
            (state.clone(), service),
            count_and_inject,
        ))
        .with_state(state)
}

/// A bearer token from `Authorization` (scheme case-insensitive: the tutorial's app sends `bearer`).
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}
