//! Test harness: a recording backend, the router in-process or as the real binary, on loopback.

#![allow(dead_code, unused_imports)]

pub mod backend;
pub mod browser;
pub mod platform;
pub mod router;

pub use backend::{Backend, Recorded};
pub use browser::{Browser, Page};
pub use platform::Scenario;
pub use router::{RouterProcess, TestRouter, free_port, wait_healthy};
