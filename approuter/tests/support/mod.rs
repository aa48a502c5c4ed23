//! Test harness: the router in-process or as the real binary, and the scenario in front of the mock
//! platform. The browser, the recording backend and the loopback helpers are `testkit`'s.

#![allow(dead_code, unused_imports)]

pub mod platform;
pub mod router;

pub use platform::Scenario;
pub use router::{RouterProcess, TestRouter};
pub use testkit::net::{free_port, wait_healthy};
pub use testkit::{Backend, Browser, Page, Recorded};
