//! The whole scenario on one machine: `mock-platform`, `bsclient` and `approuter` started as real
//! processes on free loopback ports, with the Cloud Foundry-style env each gets on BTP, plus the
//! browser-like client of `testkit` that logs in through the mock XSUAA's login page.
//!
//! Used by `cargo xtask run` and by the full-scenario tests in `tests/`.

pub mod bench;
pub mod differential;
pub mod env;
mod error;
pub mod measure;
pub mod node;
mod ports;
pub mod process;
pub mod sap_approuter;
pub mod stack;

pub use error::ScenarioError;
pub use ports::free_port;
pub use stack::{Stack, StackOptions};
pub use testkit::{Browser, Page};
