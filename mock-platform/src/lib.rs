//! Local XSUAA, Destination service and Backend API, wire-compatible with SAP BTP's, so the
//! scenario runs offline and SAP's own client libraries (`@sap/xssec`, SAP Cloud SDK) work
//! against it unchanged. Contracts: `DESIGN.md` §3.
//!
//! # Use
//!
//! In-process (tests of other crates):
//!
//! ```no_run
//! # async fn demo() -> Result<(), mock_platform::Error> {
//! let platform = mock_platform::start(mock_platform::MockConfig::builtin(), mock_platform::Ports::default()).await?;
//! let vcap_services = platform.vcap_services().to_string(); // what the apps get as VCAP_SERVICES
//! # Ok(()) }
//! ```
//!
//! On listeners of your own: `PlatformState::from_config(&config, urls)` and
//! [`xsuaa_router`], [`destination_router`], [`backend_router`].
//!
//! As a process: `mock-platform [--config FILE.yaml | --names scenario.yaml] [--host 127.0.0.1]
//! [--xsuaa-port N] [--xsuaa-tls-port N] [--destination-port N] [--backend-port N] [--here-port N]
//! [--ready-file FILE] [--keys-pem FILE] [--no-tls] [--print-config]` (0 = free port). When all
//! listeners are bound it prints the URLs and users and writes the ready file atomically:
//! `{"xsuaa":{"url","tls_url","uaadomain","ca_cert_file"},"destination":{"url"},
//! "backend":{"url","service_url","required_scope"},"zone":{"id","subdomain"},
//! "users":[{"name","password","id","email","role_collections","scopes"}],"vcap_services":{...}}`.
//!
//! # Services
//!
//! - **XSUAA** (`xsuaa.url`, and `https://{uaadomain}` with the generated CA): `GET /oauth/authorize`
//!   (login form, `POST /login.do`, login session cookie `mock_xsuaa_session`), `POST /oauth/token`
//!   (`authorization_code` + PKCE, `refresh_token` (rotating: each refresh token works once),
//!   `client_credentials`, `password`, `urn:ietf:params:oauth:grant-type:jwt-bearer` (the assertion
//!   must carry `uaa.user`)), `GET /token_keys`, `GET /userinfo`, `GET /logout.do?redirect=`,
//!   `GET /.well-known/openid-configuration`. `x-zid`/`?zid=` naming another zone: 404.
//! - **Destination service** (`destination.url`): `GET /destination-configuration/v1/destinations/{name}`
//!   (`?$skipTokenRetrieval=true`), `.../subaccountDestinations[/{name}]`, `.../instanceDestinations[/{name}]`.
//!   Needs a token whose client is a destination binding's. User token: `X-user-token`, else a
//!   user token in `Authorization`. Unknown name: 404 `{"ErrorMessage":"Configuration with the
//!   specified name was not found"}`. Failed token retrieval: 200 with `authTokens[0].error`.
//! - **Backend API** (`backend.url`): OData v2 at `/odata/v2/ProductService/` (`Products`,
//!   `Products(1)`, `$metadata`, `Products/$count`, `$top`, `$skip`, `$filter` (eq/ne, and/or),
//!   `$orderby`, `$select`, `$inlinecount=allpages`, `$format=json`; JSON when asked for it by
//!   `Accept` or `$format`, Atom/XML otherwise). POST/PUT/MERGE/PATCH/DELETE need the
//!   `x-csrf-token` fetched with `x-csrf-token: Fetch` on a GET. 401 without or with a bad token,
//!   403 without the scope (OData error JSON).
//! - **HERE token endpoint** (`here.url`, `--here-port`): `POST /oauth2/token` signed with OAuth 1.0a
//!   HMAC-SHA256, as `@here/olp-sdk-authentication` sends it (seed 003), answering
//!   `{"accessToken","tokenType","expiresIn"[,"scope"]}` or HERE's error JSON
//!   (`errorId`, `httpStatus`, `errorCode`, `message`); `GET /demo/whoami` is a protected demo API for
//!   its tokens (CORS `*`). Access keys: `here.access_keys` in the config (a demo key by default); the
//!   ready file has them and a ready-made `credentials.properties` (`here.credentials_properties`).
//!   Counters: `tokens`, `token.errors`, `signature_mismatch`, `stale_timestamp`, `nonce_replayed`,
//!   `unknown_key`, `demo`, `demo.unauthorized`. See [`here`].
//!
//! # Test knobs (only on the mock)
//!
//! On every service:
//! - `GET /health` → `{"status":"UP"}`.
//! - `GET /__mock/ready` → the ready-file JSON (URLs, users, `vcap_services`).
//! - `GET /__mock/stats` → flat JSON counters; `DELETE /__mock/stats` resets them. Keys:
//!   XSUAA `requests`, `token.authorization_code`, `token.refresh_token`, `token.client_credentials`,
//!   `token.password`, `token.jwt_bearer`, `token.errors`, `authorize`, `login.success`,
//!   `login.failure`, `token_keys`, `userinfo`, `logout`; Destination `requests`, `lookups`,
//!   `lookups.<name>`, `listings`, `exchanges` (token fetches from a token service), `exchange_errors`,
//!   `unauthorized`, `not_found`; Backend `requests`, `reads`, `writes`, `unauthorized`,
//!   `forbidden`, `csrf_rejected`. All services also count `status.<code>` and `injected`.
//!   `/health` and `/__mock/*` are not counted. In-process: [`RunningPlatform::stats`].
//! - `POST /__mock/fail` `{"status":500,"count":3,"path_prefix":"/odata","delay_ms":0}`: the next
//!   `count` matching requests (all, without `count`) answer `status` after `delay_ms`; without
//!   `status` they are only delayed. `GET` shows it, `DELETE /__mock/fail` ends it.
//!
//! On XSUAA:
//! - `POST /__mock/token` `{"user":"alice","client_id":"...","expires_in":-120,"scopes":[...],"claims":{...}}`
//!   → a token response (`access_token`, ...) with that lifetime (negative: expired), scopes or
//!   extra/overridden claims; without `user` a client-credentials token; `client_id` defaults to
//!   the first bound xsuaa instance's client.
//! - `POST /__mock/rotate-keys` `{"keep_old":true}` → `{"kid":"..."}`: a new signing key.
//! - `POST /__mock/logout` `{"user":"alice"}`: ends the user's login sessions, revokes their refresh tokens.

mod backend;
pub mod backend_app;
mod clock;
pub mod config;
mod destination;
mod error;
mod here;
mod ids;
mod init_data;
mod keys;
mod model;
/// `scenario.yaml`'s names, at home in `common` (re-exported for the mock's users).
pub use common::names;
pub mod odata;
pub mod platform;
mod redirect;
mod resolve;
mod signature_cache;
mod state;
mod tls;
mod urls;
mod xs_security;
pub mod xsuaa;

pub use config::{ConfigError, MockConfig};
pub use error::Error;
pub use platform::{Ports, RunningPlatform, start};
pub use state::{PlatformState, Service, Shared};
pub use urls::Urls;

/// The XSUAA routes for `state`.
pub fn xsuaa_router(state: Shared) -> axum::Router {
    xsuaa::router(state)
}

/// The Destination service routes for `state`.
pub fn destination_router(state: Shared) -> axum::Router {
    destination::router(state)
}

/// The HERE token endpoint routes for `state`.
pub fn here_router(state: Shared) -> axum::Router {
    here::router(state)
}

/// The Backend API routes for `state`.
pub fn backend_router(state: Shared) -> axum::Router {
    backend::router(state)
}
