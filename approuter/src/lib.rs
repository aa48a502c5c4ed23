//! An authenticating App Router driven by `xs-app.json`, in place of SAP's `@sap/approuter`: the
//! same configuration files and env, the same behaviour towards browsers and backends.
//!
//! `main.rs` loads a [`Config`] from the env, builds the [`App`] and [`serve`]s it; tests do the
//! same on `127.0.0.1:0`.

pub mod app;
pub mod config;
pub mod csrf;
pub mod error;
pub mod forwarded;
pub mod login;
pub mod proxy;
pub mod redirect;
pub mod routes;
pub mod session;
pub mod static_files;
pub mod token_pack;
pub mod xs_app;

pub use app::{App, router, serve};
pub use config::Config;
pub use error::Error;
