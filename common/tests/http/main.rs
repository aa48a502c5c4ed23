//! HTTP tests: real servers on 127.0.0.1:0 standing in for XSUAA (token endpoint, JWKS) and the
//! Destination service, talked to through the public `common` API.

mod attacks;
mod destination;
mod jwt;
mod oauth;
mod support;
