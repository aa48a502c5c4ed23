//! The whole scenario on one machine: `mock-platform`, `bsclient` and `approuter` started as real
//! processes on free loopback ports, with the Cloud Foundry-style env each gets on BTP, plus a
//! browser-like HTTP client that logs in through the mock XSUAA's login page.
//!
//! Used by `cargo xtask run` and by the full-scenario tests in `tests/`.

pub mod bench;
pub mod browser;
pub mod differential;
pub mod env;
mod error;
pub mod measure;
pub mod node;
mod ports;
pub mod process;
pub mod sap_approuter;
pub mod stack;

pub use browser::{Browser, Page};
pub use error::ScenarioError;
pub use ports::free_port;
pub use stack::{Stack, StackOptions};
