//! What the scenario's apps share: Cloud Foundry environment parsing, XSUAA JWT validation,
//! a single-flight token cache, an OAuth2 client for XSUAA and a Destination service client.
//!
//! Every outbound call goes through [`http::client`] (connect and total timeouts), and every token,
//! secret or password is held in a [`secret::Secret`] so it cannot end up in a log line by accident.

pub mod cf;
mod chain;
pub mod destination;
pub mod generated;
pub mod here;
pub mod html;
pub mod http;
pub mod jwt;
pub mod logging;
pub mod names;
pub mod oauth;
pub mod oauth1;
pub mod properties;
pub mod runtime;
pub mod secret;
pub mod server;
pub mod token_cache;

pub use chain::error_chain;
pub use secret::Secret;
