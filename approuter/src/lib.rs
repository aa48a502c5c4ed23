//! An authenticating App Router driven by `xs-app.json`, in place of SAP's `@sap/approuter`: the
//! same configuration files and env, the same behaviour towards browsers and backends.
//!
//! `main.rs` loads a [`Config`] from the env, builds the [`App`] and [`serve`]s it; tests do the
//! same on `127.0.0.1:0`.
//!
//! # Configuration
//!
//! | variable | meaning |
//! |---|---|
//! | `XS_APP_JSON` | path of `xs-app.json` (default `./xs-app.json`); `localDir` is relative to its directory |
//! | `destinations` | JSON array `{name, url, forwardAuthToken, timeout (ms, default 30000), strictSSL, proxyHost, proxyPort, setXForwardedHeaders, preserveHostHeader, sap-client}` |
//! | `VCAP_SERVICES` | the `xsuaa` binding (needed as soon as one route needs a login); a `redis` binding (label contains or tag is `redis`) keeps sessions in Redis; a `destination` binding: route destinations the `destinations` env lacks are looked up at that Destination service ([`destination_service`]) |
//! | `PORT` | listen port (default 5000); `XS_BIND_ADDRESS` (or `BIND_ADDRESS`) the address (default `0.0.0.0`) |
//! | `SESSION_TIMEOUT` | idle timeout in minutes (default 15); wins over `sessionTimeout` in `xs-app.json`, as in `@sap/approuter` |
//! | `UAA_SERVICE_NAME` | the xsuaa binding to use, by name (when more than one is bound) |
//! | `httpHeaders`, `SEND_XFRAMEOPTIONS` | headers added to every answer (`[{"Name": "value"}]`); `x-frame-options: SAMEORIGIN` unless `SEND_XFRAMEOPTIONS` is `false` |
//! | `COOKIES`, `SECURE_SESSION_COOKIE` | `{"SameSite": "None"}` for embedding in other sites' frames (implies `Secure`); `true`/`false` force `Secure` on or off |
//! | `JWT_REFRESH` | read and validated; refresh happens in the last part of the token's lifetime |
//! | `CORS` | JSON array as xs-app.json's `cors`, tried after it ([`cors`]) |
//! | `COMPRESSION` | JSON `{enabled, minSize, compressResponseMixedTypeContent}` over xs-app.json's `compression` ([`compression`]; on by default) |
//! | `PRESERVE_FRAGMENT` | `true` (default): a browser sent to the login gets a small page that keeps the URL's `#fragment`; `false`: a plain 302 |
//! | `REDIS_URL` | `redis://` or `rediss://` (TLS) `[:password@]host:port[/db]`: sessions in Redis, shared by all instances (wins over a binding) |
//! | `TRUSTED_PROXIES` | comma list of IPs/CIDRs (or `*`) whose `X-Forwarded-*` headers are believed; on Cloud Foundry (`CF_INSTANCE_IP` set) the private networks by default, else nobody |
//! | `WS_ALLOWED_ORIGINS` | origins that may open WebSockets, SAP's format `[{"protocol", "host" (`*.` prefix allowed), "port"}]` (default: the router's own URL) |
//! | `ALLOWED_REDIRECT_HOSTS` | hosts an absolute `logout.logoutPage` may point to |
//! | `SSL_CERT_FILE`, `NODE_EXTRA_CA_CERTS`, `XS_CACERT_PATH` | PEM bundles of CA certificates trusted besides the webpki roots (https destinations, XSUAA) |
//! | `default-env.json`, `default-services.json` | in the working directory, for local runs: variables the env does not set, and `{"uaa": credentials}` when no xsuaa is bound |
//! | `SCHED_SLICE_US` | the worker threads' scheduler slice in µs (default 100, `0` = the kernel's; read by `main.rs`, see `common::runtime`) |
//! | `RUST_LOG`, `LOG_FORMAT=json` | log filter and format (one access-log line per request, target `access`) |
//!
//! `xs-app.json` keys: `welcomeFile`, `authenticationMethod` (`route`|`none`), `sessionTimeout`,
//! `logout{logoutEndpoint, logoutPage, logoutMethod, csrfProtection}` (`?skip-redirect`),
//! `destinations{<name>: {logoutPath, logoutMethod}}` ([`backend_logout`]), `login{callbackEndpoint}` (default
//! `/login/callback`), `responseHeaders[{name, value}]`, `routes[]{source (ECMAScript regex, or
//! {path, matchCase}), target (JavaScript `replace`: $1, $$...), destination | localDir | service
//! sap-approuter-userapi, authenticationType (xsuaa|none), scope (string | array | {METHOD: ...,
//! default: ...}; `$XSAPPNAME` expanded), csrfProtection, httpMethods (else 405 with `Allow`),
//! cacheControl, setBackendSessionCookies, replace{pathSuffixes, vars, services}}`,
//! `websockets{enabled}` ([`websocket`]), `cors[]`, `compression`, `errorPage[]{status, file | path}`;
//! backends' session cookies are kept in the user's session ([`backend_cookies`]); a `resources`
//! folder is served when no route has a `localDir`, as in `@sap/approuter`. Other keys of `@sap/approuter` are reported at start-up (a warning, or an
//! error where ignoring them would weaken security); unknown keys are errors.
//!
//! # Endpoints of the router itself
//!
//! `GET /health` (no login), the login callback (`/login/callback`), the `logoutEndpoint`; the
//! session cookie is `JSESSIONID` (`HttpOnly; SameSite=Lax`, `Secure` behind https), made at
//! login only; a login in flight is a sealed `JSESSIONID_STATE_...` cookie ([`login_state`]). Every
//! answer carries the request's `x-correlationid` ([`correlation`]).

mod app;
mod backend_cookies;
mod backend_logout;
mod compression;
mod config;
mod cookies;
mod correlation;
mod cors;
mod csrf;
mod destination_service;
pub mod error;
mod error_page;
pub mod forwarded;
mod login;
pub mod login_state;
mod proxy;
pub mod redirect;
mod respond;
pub mod routes;
pub mod session;
mod source;
mod static_files;
mod token_pack;
mod user_api;
mod websocket;
pub mod xs_app;

pub use app::{App, router, serve};
pub use config::Config;
pub use error::Error;
