//! The running router: state built once from [`Config`], the axum `Router`, and the request path
//! through login, scopes, CSRF and forwarding.

use crate::backend_logout::BackendLogouts;
use crate::config::{Config, redact_url};
use crate::destination_service::DestinationService;
use crate::error::Error;
use crate::forwarded::{Origin, TrustedProxies};
use crate::login::{self, Xsuaa, mask_user};
use crate::proxy::{self, Forward, Upstream};
use crate::routes;
use crate::session::{AuthInfo, MemoryStore, OnTimeout, Sessions, Store};
use crate::xs_app::{Logout, Route, RouteKind};
use crate::{compression, correlation, cors, csrf, error_page, static_files, websocket};
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, Response, header};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use axum::routing::get;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower_sessions_redis_store::RedisStore;
use tower_sessions_redis_store::fred::prelude::{
    Builder, ClientLike, Config as RedisConfig, ReconnectPolicy,
};
use tracing::Instrument;

const REDIS_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct App {
    pub(crate) routes: Vec<Route>,
    pub(crate) welcome_file: Option<String>,
    pub(crate) callback_path: String,
    pub(crate) logout: Option<Logout>,
    pub(crate) response_headers: Vec<(HeaderName, HeaderValue)>,
    /// `httpHeaders` env and `x-frame-options: SAMEORIGIN` unless `SEND_XFRAMEOPTIONS` is false.
    pub(crate) additional_headers: Vec<(HeaderName, HeaderValue)>,
    /// The xsuaa binding's `identityzone`, sent to destinations as `tenantid` as SAP does.
    pub(crate) tenant: Option<HeaderValue>,
    pub(crate) upstreams: HashMap<String, Upstream>,
    /// The bound Destination service, for route destinations the env does not define.
    pub(crate) destination_service: Option<Arc<DestinationService>>,
    /// `destinations.<name>.logoutPath` of `xs-app.json`, when any.
    pub(crate) backend_logouts: Option<Arc<BackendLogouts>>,
    pub(crate) sessions: Sessions,
    pub(crate) xsuaa: Option<Xsuaa>,
    pub(crate) trusted_proxies: TrustedProxies,
    pub(crate) allowed_redirect_hosts: Vec<String>,
    pub(crate) server: common::server::ServerLimits,
    /// xs-app.json `websockets.enabled`.
    pub(crate) websockets_enabled: bool,
    /// `WS_ALLOWED_ORIGINS`; `None`: the router's own URL.
    pub(crate) ws_allowed_origins: Option<Vec<websocket::AllowedOrigin>>,
    /// `cors` of xs-app.json, then the `CORS` env.
    pub(crate) cors: cors::Cors,
    /// `compression` and `COMPRESSION`; `None`: off.
    pub(crate) compression: Option<compression::Compression>,
    pub(crate) error_pages: error_page::ErrorPages,
    /// `PRESERVE_FRAGMENT`: the login page keeps the URL's `#fragment`.
    pub(crate) preserve_fragment: bool,
}

impl App {
    /// Builds the router's state; connects to Redis when one is configured (and fails, naming the
    /// URL without its password, when it cannot).
    pub async fn new(config: Config) -> Result<Arc<Self>, Error> {
        let mut upstreams = HashMap::new();
        for dest in &config.destinations {
            upstreams.insert(dest.name.clone(), Upstream::new(dest)?);
        }
        let destination_service = config
            .destination_service
            .as_ref()
            .map(|creds| Arc::new(DestinationService::new(creds)));
        let backend_logouts = BackendLogouts::new(
            &config.xs_app.backend_logout,
            &config.destinations,
            destination_service.clone(),
        );
        let store = match &config.redis_url {
            Some(url) => Store::Redis(connect_redis(url).await?),
            None => {
                let store = MemoryStore::new();
                // As `@sap/approuter`'s memory store: a session that times out is logged out of
                // the backends too (found by the sweep, so up to its interval late).
                let on_timeout: Option<OnTimeout> = backend_logouts.clone().map(|logouts| {
                    Arc::new(move |data: Arc<crate::session::SessionData>| {
                        if let Some(auth) = &data.auth {
                            logouts.call_all(
                                &auth.user,
                                auth.access_token.unpack(),
                                None,
                                "session timeout",
                            );
                        }
                    }) as OnTimeout
                });
                store.spawn_sweeper_with(
                    Duration::from_secs(60).min(config.session_timeout),
                    on_timeout,
                );
                Store::Memory(store)
            }
        };
        let sessions = Sessions::new(store, config.session_timeout, &config.cookie_name)
            .with_cookie_policy(config.cookie_same_site, config.secure_session_cookie);
        let xs_app = config.xs_app;
        let cors = cors::Cors {
            xs_app: xs_app.cors,
            env: config.cors_env,
        };
        Ok(Arc::new(App {
            cors,
            compression: config.compression,
            error_pages: xs_app.error_pages,
            preserve_fragment: config.preserve_fragment,
            routes: xs_app.routes,
            welcome_file: xs_app.welcome_file,
            callback_path: xs_app.callback_endpoint,
            logout: xs_app.logout,
            response_headers: xs_app.response_headers,
            additional_headers: config.additional_headers,
            tenant: config
                .xsuaa
                .as_ref()
                .and_then(|x| x.identityzone.as_deref())
                .and_then(|z| HeaderValue::from_str(z).ok()),
            upstreams,
            destination_service,
            backend_logouts,
            sessions,
            xsuaa: config
                .xsuaa
                .map(|creds| Xsuaa::new(creds, &config.cookie_name)),
            trusted_proxies: config.trusted_proxies,
            allowed_redirect_hosts: config.allowed_redirect_hosts,
            server: config.server,
            websockets_enabled: xs_app.websockets_enabled,
            ws_allowed_origins: config.ws_allowed_origins,
        }))
    }

    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }
}

async fn connect_redis(
    url: &str,
) -> Result<RedisStore<tower_sessions_redis_store::fred::prelude::Pool>, Error> {
    let shown = redact_url(url);
    let config =
        RedisConfig::from_url(url).map_err(|e| Error::Config(format!("REDIS_URL {shown}: {e}")))?;
    let pool = Builder::from_config(config)
        .with_connection_config(|c| {
            c.connection_timeout = Duration::from_secs(5);
            c.internal_command_timeout = Duration::from_secs(5);
        })
        .with_performance_config(|p| {
            p.default_command_timeout = Duration::from_secs(5);
        })
        .set_policy(ReconnectPolicy::new_constant(0, 500))
        .build_pool(4)
        .map_err(|e| Error::Config(format!("REDIS_URL {shown}: {e}")))?;
    match tokio::time::timeout(REDIS_CONNECT_TIMEOUT, pool.init()).await {
        Ok(Ok(_task)) => {}
        Ok(Err(e)) => {
            return Err(Error::Config(format!(
                "Redis at {shown}: cannot connect: {e}"
            )));
        }
        Err(_) => {
            return Err(Error::Config(format!(
                "Redis at {shown}: no connection within {} s",
                REDIS_CONNECT_TIMEOUT.as_secs()
            )));
        }
    }
    tracing::info!(redis = %shown, "sessions are kept in Redis");
    Ok(RedisStore::new(pool))
}

/// The router: `GET /health`, then every other request through [`handle`]; br, gzip or deflate for the answers
/// [`compression::Compression::prepare`] marks, when compression is on.
pub fn router(app: Arc<App>) -> Router {
    let router = Router::new().route("/health", get(health)).fallback(handle);
    let router = match app.compression {
        Some(c) => router
            .layer(tower_http::compression::CompressionLayer::new().compress_when(c.predicate())),
        None => router,
    };
    router
        .layer(middleware::from_fn(access_log))
        .with_state(app)
}

/// Serves `app` on `listener` until `shutdown` completes, with the peer address each request needs
/// for `x-forwarded-for` and the trusted-proxy check, and the timeouts and connection limit of
/// `INCOMING_*` (see `common::server`: TCP_NODELAY, header-read timeout, 408 on a request that
/// does not arrive in time, idle connections closed).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = app.server.clone();
    common::server::serve(listener, router(app), &limits, shutdown).await
}

async fn health() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        "{\"status\":\"UP\"}",
    )
}

/// What the handler tells the access log (the log never sees tokens, codes or query strings).
#[derive(Clone, Default)]
struct AccessInfo {
    user: Option<String>,
    route: Option<usize>,
}

async fn access_log(mut req: Request, next: Next) -> Response<Body> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let correlation = correlation::adopt(req.headers_mut());
    let span = tracing::info_span!(
        "request",
        correlation_id = correlation.to_str().unwrap_or("-")
    );
    let mut response = correlation::scope(correlation.clone(), next.run(req))
        .instrument(span.clone())
        .await;
    response
        .headers_mut()
        .insert(correlation::HEADER, correlation);
    let info = response
        .extensions()
        .get::<AccessInfo>()
        .cloned()
        .unwrap_or_default();
    let _entered = span.enter();
    tracing::info!(
        target: "access",
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        millis = %format_args!("{:.3}", started.elapsed().as_secs_f64() * 1000.0),
        user = info.user.as_deref().unwrap_or("-"),
        route = info.route.map(|r| r as i64).unwrap_or(-1),
    );
    response
}

async fn handle(State(app): State<Arc<App>>, req: Request) -> Response<Body> {
    let mut info = AccessInfo::default();
    // Only kept when `errorPage` could need it: a redirect to the failing page would loop.
    let asked_for = (!app.error_pages.is_empty()).then(|| {
        req.uri()
            .path_and_query()
            .map(|pq| pq.as_str().to_string())
            .unwrap_or_default()
    });
    let mut cors_headers = None;
    // A preflight or a CORS refusal is answered before SAP's header middleware runs: neither
    // `httpHeaders`, `x-frame-options` nor `responseHeaders` go on it there.
    let mut answered_by_cors = false;
    let outcome = match cors_step(&app, &req) {
        Ok(cors::Decision::Pass) => dispatch(&app, req, &mut info).await,
        Ok(cors::Decision::Preflight(answer)) => {
            answered_by_cors = true;
            Ok(answer)
        }
        Ok(cors::Decision::Headers(headers)) => {
            cors_headers = Some(headers);
            dispatch(&app, req, &mut info).await
        }
        Err(e) => {
            answered_by_cors = true;
            Err(e)
        }
    };
    let mut response = match outcome {
        Ok(response) => response,
        Err(e) => {
            let page = asked_for
                .as_deref()
                .and_then(|path| app.error_pages.answer(&e, path));
            // Logged as always, whatever the browser gets.
            let default = e.into_response();
            page.unwrap_or(default)
        }
    };
    // As SAP's CORS middleware sets them before everything else: on every answer.
    for (name, value) in cors_headers.into_iter().flatten() {
        response.headers_mut().append(name, value);
    }
    // `httpHeaders` and `x-frame-options` (SEND_XFRAMEOPTIONS) first, then xs-app.json's
    // `responseHeaders`, which override them, as in `@sap/approuter`.
    if !answered_by_cors {
        for (name, value) in app.additional_headers.iter().chain(&app.response_headers) {
            response.headers_mut().insert(name, value.clone());
        }
    }
    // As `@sap/approuter`: every answer names its request, for support cases.
    if !response.headers().contains_key("x-request-id")
        && let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().simple().to_string())
    {
        response.headers_mut().insert("x-request-id", id);
    }
    response.extensions_mut().insert(info);
    response
}

/// Where the browser thinks it is (forwarded headers believed only from trusted proxies) and the
/// normalised path the routes match.
fn origin_and_path(app: &App, req: &Request) -> Result<(Origin, String), Error> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let origin = Origin::from_request(
        req.headers(),
        req.uri().authority().map(|a| a.as_str()),
        peer,
        &app.trusted_proxies,
    )?;
    Ok((origin, routes::normalize_path(req.uri().path())?))
}

/// CORS comes before the login (a preflight carries no cookies); nothing to do without rules or
/// without an `Origin`. A WebSocket upgrade is not a CORS request: its origin is checked against
/// `WS_ALLOWED_ORIGINS` instead (SAP handles upgrades outside its CORS middleware too).
fn cors_step(app: &App, req: &Request) -> Result<cors::Decision, Error> {
    if app.cors.is_empty()
        || !req.headers().contains_key(header::ORIGIN)
        || websocket::is_upgrade(req.method(), req.headers())
    {
        return Ok(cors::Decision::Pass);
    }
    let (origin, path) = origin_and_path(app, req)?;
    app.cors.decide(
        req.method(),
        req.headers(),
        &path,
        &origin.base_url(),
        &origin.host,
    )
}

async fn dispatch(
    app: &Arc<App>,
    req: Request,
    info: &mut AccessInfo,
) -> Result<Response<Body>, Error> {
    let (origin, path) = origin_and_path(app, &req)?;
    let upgrade = websocket::is_upgrade(req.method(), req.headers());
    if upgrade {
        websocket::check_handshake(app, req.headers(), &origin)?;
    }

    if path == app.callback_path {
        let xsuaa = app.xsuaa.as_ref().ok_or(Error::NotFound)?;
        return login::callback(app, xsuaa, req.uri(), req.headers(), &origin).await;
    }
    if let Some(logout) = &app.logout
        && path == logout.endpoint
        && (req.method() == Method::GET || req.method() == Method::POST)
    {
        return login::logout(app, logout, req.method(), req.uri(), req.headers(), &origin).await;
    }
    if path == "/"
        && let Some(welcome) = &app.welcome_file
    {
        return login::redirect(welcome);
    }

    let (route, target, not_allowed) = match routes::find(&app.routes, req.method(), &path) {
        routes::Match::Route(route, target) => (route, target, None),
        routes::Match::MethodNotAllowed { route, allow } => (route, String::new(), Some(allow)),
        routes::Match::NotFound => return Err(Error::NotFound),
    };
    info.route = Some(route.index);
    if upgrade && !matches!(route.kind, RouteKind::Destination(_)) {
        // SAP: "not able to match the web socket request to any configured backend".
        return Err(Error::NotFound);
    }
    // A method override counts as a second method of the request (see `csrf`).
    let named = csrf::override_method(req.headers())?.filter(|m| m != req.method());
    if let (Some(named), Some(allowed)) = (&named, &route.http_methods)
        && !allowed.contains(named)
    {
        return Err(Error::Forbidden(format!(
            "this route does not allow the method {named} that the request names in a method-override header"
        )));
    }

    let mut token = None;
    let mut csrf_answer = None;
    // The logged-in user, kept (moved, not copied: the hot path allocates nothing for it) for lookups that the
    // Destination service makes on the user's behalf.
    let mut session = None;
    let mut service_user: Option<AuthInfo> = None;
    if route.authenticated
        && let Some(header) = req.headers().get(SERVICE_TO_APPROUTER)
    {
        // Service to App Router: the client's own XSUAA token instead of a login. No session,
        // no CSRF token (there is no browser to forge with), the scopes of the token decide.
        let xsuaa = app
            .xsuaa
            .as_ref()
            .ok_or_else(|| Error::Internal("authenticated route without xsuaa binding".into()))?;
        let auth = xsuaa.service_auth(&app.sessions, header).await?;
        info.user = Some(mask_user(&auth.user));
        check_scopes(route, req.method(), named.as_ref(), &auth)?;
        if let Some(allow) = &not_allowed {
            return Ok(method_not_allowed(allow));
        }
        if route.kind == RouteKind::UserApi {
            let userinfo = Some(crate::user_api::UserInfo {
                http: &xsuaa.http,
                xsuaa_url: &xsuaa.creds.url,
            });
            return crate::user_api::answer(&target, &auth, userinfo).await;
        }
        token = Some(auth.access_token.unpack());
        service_user = Some(auth);
    } else if route.authenticated {
        let xsuaa = app
            .xsuaa
            .as_ref()
            .ok_or_else(|| Error::Internal("authenticated route without xsuaa binding".into()))?;
        let id = app.sessions.id_from_headers(req.headers());
        let loaded = match id {
            Some(id) => app.sessions.load(id).await?.map(|data| (id, data)),
            None => None,
        };
        let logged_in = loaded.filter(|(_, d)| d.auth.as_ref().is_some_and(|a| xsuaa.accepts(a)));
        let Some((id, data)) = logged_in else {
            if upgrade {
                // A WebSocket cannot follow a login redirect: 401, as SAP answers.
                return Err(Error::Unauthorized);
            }
            return login::require_login(
                app,
                xsuaa,
                req.method(),
                req.uri(),
                req.headers(),
                &origin,
            )
            .await;
        };
        let data = match login::ensure_fresh(app, xsuaa, id, data).await {
            Ok(data) => data,
            Err(Error::Unauthorized) if upgrade => return Err(Error::Unauthorized),
            Err(Error::Unauthorized) => {
                return login::require_login(
                    app,
                    xsuaa,
                    req.method(),
                    req.uri(),
                    req.headers(),
                    &origin,
                )
                .await;
            }
            Err(e) => return Err(e),
        };
        let Some(auth) = data.auth.as_ref() else {
            return Err(Error::Unauthorized);
        };
        info.user = Some(mask_user(&auth.user));
        check_scopes(route, req.method(), named.as_ref(), auth)?;

        if route.csrf_protection {
            // The token check comes first: `fetch` on a modifying request is no token at all.
            let modifying =
                csrf::needs_token(req.method()) || named.as_ref().is_some_and(csrf::needs_token);
            if modifying {
                csrf::check(req.headers(), data.csrf.as_ref())?;
            } else if csrf::is_fetch(req.headers()) {
                csrf_answer = Some(match &data.csrf {
                    Some(token) => token.clone(),
                    None => {
                        let mut issued = None;
                        app.sessions
                            .update(id, |d| {
                                issued = Some(d.csrf.get_or_insert_with(csrf::new_token).clone())
                            })
                            .await?;
                        issued.ok_or(Error::Unauthorized)?
                    }
                });
            }
        }
        if let Some(allow) = &not_allowed {
            return Ok(method_not_allowed(allow));
        }
        if route.kind == RouteKind::UserApi {
            let userinfo = app.xsuaa.as_ref().map(|x| crate::user_api::UserInfo {
                http: &x.http,
                xsuaa_url: &x.creds.url,
            });
            return crate::user_api::answer(&target, auth, userinfo).await;
        }
        token = Some(auth.access_token.unpack());
        session = Some(websocket::SessionRef { id, data });
    }

    if let Some(allow) = &not_allowed {
        return Ok(method_not_allowed(allow));
    }
    let method = req.method().clone();
    let mut response = match &route.kind {
        RouteKind::Destination(name) => {
            let resolved;
            let (upstream, auth_header) = match app.upstreams.get(name) {
                Some(upstream) => (upstream, None),
                None => {
                    let service = app.destination_service.as_ref().ok_or_else(|| {
                        Error::Internal(format!("destination {name} missing at run time"))
                    })?;
                    let user = service_user
                        .as_ref()
                        .or_else(|| session.as_ref().and_then(|s| s.data.auth.as_ref()));
                    let on_behalf = match (user, &token) {
                        (Some(user), Some(token)) => Some((&*user.user, token.expose())),
                        _ => None,
                    };
                    resolved = service.resolve(name, on_behalf).await?;
                    (&*resolved.upstream, resolved.auth_header.as_ref())
                }
            };
            let original_path = req.uri().path().to_string();
            // SAP's default: the backend's session cookies stay in the user's session; with
            // `setBackendSessionCookies` they go to the browser. Without a login there is no
            // session to keep them in (and none is made for them): they go to the browser.
            let keep_session_cookies = session.is_some() && !route.set_backend_session_cookies;
            let forward = Forward {
                target_path: &target,
                request_path: &path,
                original_path: &original_path,
                origin: &origin,
                token: token.as_ref(),
                strip_authorization: route.authenticated,
                strip_csrf_header: route.csrf_protection,
                session_cookie: app.sessions.cookie_name(),
                tenant: app.tenant.as_ref(),
                backend_cookies: session
                    .as_ref()
                    .and_then(|s| s.data.backend_cookies.as_deref()),
                keep_session_cookies,
                auth_header,
            };
            if upgrade {
                return websocket::proxy(app.clone(), upstream, req, forward, session.as_ref())
                    .await;
            }
            let forwarded = proxy::forward(upstream, req, forward).await?;
            if !forwarded.session_cookies.is_empty()
                && let Some(s) = &session
            {
                app.sessions
                    .keep_backend_cookies(s.id, &s.data, name, &forwarded.session_cookies)
                    .await;
            }
            forwarded.response
        }
        // A user API route without a login has no user to tell about.
        RouteKind::UserApi => return Err(Error::NotFound),
        RouteKind::LocalDir(dir) => {
            static_files::serve(
                dir,
                &target,
                req,
                route.cache_control.as_ref(),
                route.replace.as_ref(),
            )
            .await?
        }
    };
    if let Some(compression) = &app.compression {
        compression.prepare(&method, &mut response);
    }
    if let Some(token) = csrf_answer
        && let Ok(v) = HeaderValue::from_str(token.expose())
    {
        response.headers_mut().insert(csrf::HEADER, v);
    }
    Ok(response)
}

/// `x-approuter-authorization`: a service's own token instead of a browser login.
const SERVICE_TO_APPROUTER: &str = "x-approuter-authorization";

/// The route's scopes for the request's method (and a method it names in an override header).
fn check_scopes(
    route: &Route,
    method: &Method,
    named: Option<&Method>,
    auth: &AuthInfo,
) -> Result<(), Error> {
    for method in std::iter::once(method).chain(named) {
        let required = route.scope.required(method);
        if !auth.has_any_scope(required) {
            // Which scope is missing is for the log, not for the browser (SAP's 403 names none).
            tracing::info!(route = route.index, required = %required.join(" or "), "scope missing");
            return Err(Error::Forbidden(
                "you are logged in, but not authorized for this page".into(),
            ));
        }
    }
    Ok(())
}

/// 405 as `@sap/approuter` answers it: the methods the matching routes allow in `Allow`, the status
/// text as body, never cached.
pub(crate) fn method_not_allowed(allow: &[String]) -> Response<Body> {
    let mut response = Response::new(Body::from("Method Not Allowed"));
    *response.status_mut() = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&allow.join(", ")) {
        headers.insert(header::ALLOW, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    response
}
