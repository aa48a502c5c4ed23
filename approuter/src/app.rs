//! The running router: state built once from [`Config`], the axum `Router`, and the request path
//! through login, scopes, CSRF and forwarding ([`dispatch`] and its steps).

use crate::backend_logout::BackendLogouts;
use crate::config::{Config, redact_url};
use crate::destination_service::DestinationService;
use crate::error::Error;
use crate::forwarded::{Origin, TrustedProxies};
use crate::login::{self, Xsuaa, mask_user};
use crate::proxy::{self, Forward, Upstream};
use crate::respond::method_not_allowed;
use crate::routes;
use crate::session::{AuthInfo, MemoryStore, OnTimeout, SessionData, SessionRef, Sessions, Store};
use crate::xs_app::{Logout, Route, RouteKind};
use crate::{compression, correlation, cors, csrf, error_page, static_files, user_api, websocket};
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Method, Response, header};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use axum::routing::get;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::ControlFlow;
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
    pub(crate) logout: Option<Logout>,
    pub(crate) response_headers: Vec<(HeaderName, HeaderValue)>,
    /// `httpHeaders` env and `x-frame-options: SAMEORIGIN` unless `SEND_XFRAMEOPTIONS` is false.
    pub(crate) additional_headers: Vec<(HeaderName, HeaderValue)>,
    /// The xsuaa binding's `identityzone`, sent to destinations as `tenantid` as SAP does.
    pub(crate) tenant: Option<HeaderValue>,
    pub(crate) upstreams: HashMap<String, Upstream>,
    /// The bound Destination service, for route destinations the env does not define.
    pub(crate) destination_service: Option<Arc<DestinationService>>,
    /// Shared with the tasks of open WebSockets, which watch the user's session.
    pub(crate) sessions: Arc<Sessions>,
    pub(crate) xsuaa: Option<Xsuaa>,
    /// The callback path, `PRESERVE_FRAGMENT`, `ALLOWED_REDIRECT_HOSTS` and the backends' logouts.
    pub(crate) login: login::Settings,
    pub(crate) trusted_proxies: TrustedProxies,
    pub(crate) server: common::server::ServerLimits,
    /// `websockets.enabled` and `WS_ALLOWED_ORIGINS`.
    pub(crate) websockets: websocket::Settings,
    /// `cors` of xs-app.json, then the `CORS` env.
    pub(crate) cors: cors::Cors,
    /// `compression` and `COMPRESSION`; `None`: off.
    pub(crate) compression: Option<compression::Compression>,
    pub(crate) error_pages: error_page::ErrorPages,
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
                    Arc::new(move |data: Arc<SessionData>| {
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
            routes: xs_app.routes,
            welcome_file: xs_app.welcome_file,
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
            sessions: Arc::new(sessions),
            xsuaa: config
                .xsuaa
                .map(|creds| Xsuaa::new(creds, &config.cookie_name)),
            login: login::Settings {
                callback_path: xs_app.callback_endpoint,
                preserve_fragment: config.preserve_fragment,
                allowed_redirect_hosts: config.allowed_redirect_hosts,
                backend_logouts,
            },
            trusted_proxies: config.trusted_proxies,
            server: config.server,
            websockets: websocket::Settings {
                enabled: xs_app.websockets_enabled,
                allowed_origins: config.ws_allowed_origins,
            },
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
    let (req, body) = req.into_parts();
    // Only kept when `errorPage` could need it: a redirect to the failing page would loop.
    let asked_for = (!app.error_pages.is_empty()).then(|| {
        req.uri
            .path_and_query()
            .map(|pq| pq.as_str().to_string())
            .unwrap_or_default()
    });
    let mut cors_headers = None;
    // A preflight or a CORS refusal is answered before SAP's header middleware runs: neither
    // `httpHeaders`, `x-frame-options` nor `responseHeaders` go on it there.
    let mut answered_by_cors = false;
    let outcome = match cors_step(&app, &req) {
        Ok(cors::Decision::Pass) => dispatch(&app, req, body, &mut info).await,
        Ok(cors::Decision::Preflight(answer)) => {
            answered_by_cors = true;
            Ok(answer)
        }
        Ok(cors::Decision::Headers(headers)) => {
            cors_headers = Some(headers);
            dispatch(&app, req, body, &mut info).await
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
    // A counter-based UUID (see `correlation::generate`): no syscall for randomness per answer.
    if !response.headers().contains_key("x-request-id") {
        response
            .headers_mut()
            .insert("x-request-id", correlation::generate());
    }
    response.extensions_mut().insert(info);
    response
}

/// Where the browser thinks it is (forwarded headers believed only from trusted proxies) and the
/// normalised path the routes match.
fn origin_and_path(app: &App, req: &Parts) -> Result<(Origin, String), Error> {
    let peer = req.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let origin = Origin::from_request(
        &req.headers,
        req.uri.authority().map(|a| a.as_str()),
        peer,
        &app.trusted_proxies,
    )?;
    Ok((origin, routes::normalize_path(req.uri.path())?))
}

/// CORS comes before the login (a preflight carries no cookies); nothing to do without rules or
/// without an `Origin`. A WebSocket upgrade is not a CORS request: its origin is checked against
/// `WS_ALLOWED_ORIGINS` instead (SAP handles upgrades outside its CORS middleware too).
fn cors_step(app: &App, req: &Parts) -> Result<cors::Decision, Error> {
    if app.cors.is_empty()
        || !req.headers.contains_key(header::ORIGIN)
        || websocket::is_upgrade(&req.method, &req.headers)
    {
        return Ok(cors::Decision::Pass);
    }
    let (origin, path) = origin_and_path(app, req)?;
    app.cors.decide(
        &req.method,
        &req.headers,
        &path,
        &origin.base_url(),
        &origin.host,
    )
}

/// What the steps after the first learn about the request, in the order they learn it.
struct Ctx {
    /// Where the browser thinks it is.
    origin: Origin,
    /// The normalised path the routes match.
    path: String,
    /// An HTTP/1.1 WebSocket upgrade.
    upgrade: bool,
}

/// The request's route, as the steps after matching need it.
struct Routed<'a> {
    route: &'a Route,
    /// The path the route forwards to (its `target` applied).
    target: String,
    /// The path matches but no route allows the method: the 405's `Allow`, answered only after
    /// the login, scope and CSRF checks of the first route that matches the path (SAP's order).
    not_allowed: Option<Vec<String>>,
    /// A method the request names in an override header: it counts as a second method (see `csrf`).
    named: Option<Method>,
}

/// Who is asking, as the route's authentication found out.
enum User {
    /// A route without login.
    Anonymous,
    /// `x-approuter-authorization`: a service's own XSUAA token; no session, no CSRF token.
    Service(AuthInfo),
    /// A browser's login session, its token fresh.
    Session(SessionRef),
}

impl User {
    fn auth(&self) -> Option<&AuthInfo> {
        match self {
            User::Anonymous => None,
            User::Service(auth) => Some(auth),
            User::Session(session) => session.data.auth.as_ref(),
        }
    }

    fn session(&self) -> Option<&SessionRef> {
        match self {
            User::Session(session) => Some(session),
            _ => None,
        }
    }
}

/// The request path, one step after the other, in `@sap/approuter`'s order; a step either lets
/// the request go on or answers it.
async fn dispatch(
    app: &Arc<App>,
    req: Parts,
    body: Body,
    info: &mut AccessInfo,
) -> Result<Response<Body>, Error> {
    let (origin, path) = origin_and_path(app, &req)?;
    let upgrade = websocket::is_upgrade(&req.method, &req.headers);
    if upgrade {
        websocket::check_handshake(&app.websockets, &req.headers, &origin)?;
    }
    let ctx = Ctx {
        origin,
        path,
        upgrade,
    };
    if let ControlFlow::Break(answer) = own_endpoint(app, &req, &ctx).await? {
        return Ok(answer);
    }
    let routed = match_route(app, &req, &ctx, info)?;
    let user = match authenticate(app, routed.route, &req, &ctx).await? {
        ControlFlow::Continue(user) => user,
        ControlFlow::Break(to_login) => return Ok(to_login),
    };
    if let Some(auth) = user.auth() {
        info.user = Some(mask_user(&auth.user));
        authorize(routed.route, &req.method, routed.named.as_ref(), auth)?;
    }
    let csrf_answer = match user.session() {
        Some(session) if routed.route.csrf_protection => {
            csrf::protect(&app.sessions, session, &req, routed.named.as_ref()).await?
        }
        _ => None,
    };
    if let Some(allow) = &routed.not_allowed {
        return Ok(method_not_allowed(allow));
    }
    let method = req.method.clone();
    // Whole again for the backend or the file server (a `&Request` is not `Send`: its body is not
    // `Sync`, so the steps above read the head alone).
    let req = Request::from_parts(req, body);
    let mut response = match &routed.route.kind {
        RouteKind::UserApi => return answer_user_api(app, &routed.target, user.auth()).await,
        RouteKind::Destination(name) => {
            let answer = to_destination(app, name, &routed, &ctx, req, &user).await;
            if ctx.upgrade {
                return answer;
            }
            answer?
        }
        RouteKind::LocalDir(dir) => {
            static_files::serve(
                dir,
                &routed.target,
                req,
                routed.route.cache_control.as_ref(),
                routed.route.replace.as_ref(),
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

/// The router's own endpoints, before any route: the login callback, the logout endpoint and the
/// welcome file's redirect.
async fn own_endpoint(
    app: &App,
    req: &Parts,
    ctx: &Ctx,
) -> Result<ControlFlow<Response<Body>>, Error> {
    if ctx.path == app.login.callback_path {
        let xsuaa = app.xsuaa.as_ref().ok_or(Error::NotFound)?;
        return login::callback(&app.sessions, xsuaa, req, &ctx.origin)
            .await
            .map(ControlFlow::Break);
    }
    if let Some(logout) = &app.logout
        && ctx.path == logout.endpoint
        && (req.method == Method::GET || req.method == Method::POST)
    {
        let xsuaa = app.xsuaa.as_ref();
        return login::logout(&app.login, &app.sessions, xsuaa, logout, req, &ctx.origin)
            .await
            .map(ControlFlow::Break);
    }
    if ctx.path == "/"
        && let Some(welcome) = &app.welcome_file
    {
        return login::redirect(welcome).map(ControlFlow::Break);
    }
    Ok(ControlFlow::Continue(()))
}

/// The route for the path and method (404 without one; a WebSocket only to a destination), and
/// the method an override header names, which the route's `httpMethods` must allow as well.
fn match_route<'a>(
    app: &'a App,
    req: &Parts,
    ctx: &Ctx,
    info: &mut AccessInfo,
) -> Result<Routed<'a>, Error> {
    let (route, target, not_allowed) = match routes::find(&app.routes, &req.method, &ctx.path) {
        routes::Match::Route(route, target) => (route, target, None),
        routes::Match::MethodNotAllowed { route, allow } => (route, String::new(), Some(allow)),
        routes::Match::NotFound => return Err(Error::NotFound),
    };
    info.route = Some(route.index);
    if ctx.upgrade && !matches!(route.kind, RouteKind::Destination(_)) {
        // SAP: "not able to match the web socket request to any configured backend".
        return Err(Error::NotFound);
    }
    let named = csrf::override_method(&req.headers)?.filter(|m| *m != req.method);
    if let (Some(named), Some(allowed)) = (&named, &route.http_methods)
        && !allowed.contains(named)
    {
        return Err(Error::Forbidden(format!(
            "this route does not allow the method {named} that the request names in a method-override header"
        )));
    }
    Ok(Routed {
        route,
        target,
        not_allowed,
        named,
    })
}

/// Who is asking. A route without login: nobody in particular. Otherwise a service's own token,
/// or the browser's session with its token refreshed when due; without a usable login a browser
/// is sent to log in (`Break`) and anybody else gets 401.
async fn authenticate(
    app: &App,
    route: &Route,
    req: &Parts,
    ctx: &Ctx,
) -> Result<ControlFlow<Response<Body>, User>, Error> {
    if !route.authenticated {
        return Ok(ControlFlow::Continue(User::Anonymous));
    }
    let xsuaa = app
        .xsuaa
        .as_ref()
        .ok_or_else(|| Error::Internal("authenticated route without xsuaa binding".into()))?;
    if let Some(header) = req.headers.get(SERVICE_TO_APPROUTER) {
        // Service to App Router: the client's own XSUAA token instead of a login. No session,
        // no CSRF token (there is no browser to forge with), the scopes of the token decide.
        let auth = xsuaa.service_auth(&app.sessions, header).await?;
        return Ok(ControlFlow::Continue(User::Service(auth)));
    }
    let Some(session) = load_session(&app.sessions, xsuaa, req).await? else {
        return to_login(app, xsuaa, req, ctx).await;
    };
    let session = match refresh(&app.sessions, xsuaa, session).await {
        Ok(session) => session,
        Err(Error::Unauthorized) => return to_login(app, xsuaa, req, ctx).await,
        Err(e) => return Err(e),
    };
    if session.data.auth.is_none() {
        return Err(Error::Unauthorized);
    }
    Ok(ControlFlow::Continue(User::Session(session)))
}

/// The browser's session, when its cookie names one that holds a login to this zone.
async fn load_session(
    sessions: &Sessions,
    xsuaa: &Xsuaa,
    req: &Parts,
) -> Result<Option<SessionRef>, Error> {
    let Some(id) = sessions.id_from_headers(&req.headers) else {
        return Ok(None);
    };
    let data = sessions.load(id).await?;
    Ok(data
        .filter(|d| d.auth.as_ref().is_some_and(|a| xsuaa.accepts(a)))
        .map(|data| SessionRef { id, data }))
}

/// The session with a token that is not about to expire ([`login::ensure_fresh`]);
/// `Err(Unauthorized)`: log in again.
async fn refresh(
    sessions: &Sessions,
    xsuaa: &Xsuaa,
    session: SessionRef,
) -> Result<SessionRef, Error> {
    let data = login::ensure_fresh(sessions, xsuaa, session.id, session.data).await?;
    Ok(SessionRef {
        id: session.id,
        data,
    })
}

/// No usable login: a WebSocket cannot follow a login redirect (401, as SAP answers), a browser
/// is sent to XSUAA.
async fn to_login(
    app: &App,
    xsuaa: &Xsuaa,
    req: &Parts,
    ctx: &Ctx,
) -> Result<ControlFlow<Response<Body>, User>, Error> {
    if ctx.upgrade {
        return Err(Error::Unauthorized);
    }
    login::require_login(&app.login, &app.sessions, xsuaa, req, &ctx.origin)
        .await
        .map(ControlFlow::Break)
}

/// `x-approuter-authorization`: a service's own token instead of a browser login.
const SERVICE_TO_APPROUTER: &str = "x-approuter-authorization";

/// The route's scopes for the request's method (and a method it names in an override header).
fn authorize(
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

/// The user API answers about the logged-in user; a route without a login has nobody to tell
/// about (404).
async fn answer_user_api(
    app: &App,
    target: &str,
    auth: Option<&AuthInfo>,
) -> Result<Response<Body>, Error> {
    let auth = auth.ok_or(Error::NotFound)?;
    let userinfo = app.xsuaa.as_ref().map(|x| user_api::UserInfo {
        http: &x.http,
        xsuaa_url: &x.creds.url,
    });
    user_api::answer(target, auth, userinfo).await
}

/// Forwards to the route's destination (from the env, else the Destination service, asked on the
/// user's behalf), or tunnels a WebSocket to it; the backend's session cookies are kept in the
/// user's session.
async fn to_destination(
    app: &Arc<App>,
    name: &str,
    routed: &Routed<'_>,
    ctx: &Ctx,
    req: Request,
    user: &User,
) -> Result<Response<Body>, Error> {
    let auth = user.auth();
    let token = auth.map(|a| a.access_token.unpack());
    let session = user.session();
    let resolved;
    let (upstream, auth_header) = match app.upstreams.get(name) {
        Some(upstream) => (upstream, None),
        None => {
            let service = app.destination_service.as_ref().ok_or_else(|| {
                Error::Internal(format!("destination {name} missing at run time"))
            })?;
            let on_behalf = match (auth, &token) {
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
    let keep_session_cookies = session.is_some() && !routed.route.set_backend_session_cookies;
    let forward = Forward {
        target_path: &routed.target,
        request_path: &ctx.path,
        original_path: &original_path,
        origin: &ctx.origin,
        token: token.as_ref(),
        strip_authorization: routed.route.authenticated,
        strip_csrf_header: routed.route.csrf_protection,
        session_cookie: app.sessions.cookie_name(),
        tenant: app.tenant.as_ref(),
        backend_cookies: session.and_then(|s| s.data.backend_cookies.as_deref()),
        keep_session_cookies,
        auth_header,
    };
    if ctx.upgrade {
        return websocket::proxy(app.sessions.clone(), upstream, req, forward, session).await;
    }
    let forwarded = proxy::forward(upstream, req, forward).await?;
    if !forwarded.session_cookies.is_empty()
        && let Some(s) = session
    {
        app.sessions
            .keep_backend_cookies(s.id, &s.data, name, &forwarded.session_cookies)
            .await;
    }
    Ok(forwarded.response)
}
