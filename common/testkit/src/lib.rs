//! The one test-support library of the workspace, used by the tests of every crate and by the
//! `scenario` harness: a browser client that walks the login pages of our App Router,
//! `@sap/approuter` and the mock XSUAA ([`browser`]), a recording backend with a WebSocket echo
//! ([`backend`]), the mock platform started in-process ([`platform`]), loopback and raw-socket
//! helpers ([`net`]) and token helpers ([`tokens`]).
//!
//! Why a crate of its own rather than `scenario`: it depends only on `mock-platform` (and what every
//! crate already has), so `common`, `mock-platform`, `bsclient` and `approuter` can dev-depend on it
//! without pulling in the harness's process starters, `wrk` runner and differential tables; the
//! `scenario` library depends on it for its browser like everyone else.
//!
//! Test support: helpers that cannot do their job panic with the reason (a test wants the failure
//! at the line that caused it), except the browser, which the `scenario` binaries also use and which
//! returns [`Error`].

pub mod backend;
pub mod browser;
mod error;
pub mod login_script;
pub mod net;
pub mod platform;
pub mod programs;
pub mod properties;
pub mod table;
pub mod tokens;

pub use backend::{Backend, Recorded};
pub use browser::{Browser, Page};
pub use error::Error;
