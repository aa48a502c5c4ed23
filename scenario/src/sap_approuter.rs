//! SAP's own `@sap/approuter`, pinned, installed from npm into `target/` and run as a child process:
//! the reference the differential harness compares our App Router with.
//!
//! `@sap/approuter` 23.0.0 pins `@sap/logging` 9.2.1, which the npm registry no longer serves; the
//! `overrides` entry takes the next patch release (9.2.2) so the pinned router still installs.

use crate::ScenarioError;
use crate::process::AppProcess;
use std::path::{Path, PathBuf};

/// The version the harness pins: the newest 23.x on npm.
pub const VERSION: &str = "23.0.0";

const PACKAGE_JSON: &str = r#"{
  "name": "sap-approuter-reference",
  "private": true,
  "description": "SAP's App Router, the reference of the differential harness",
  "dependencies": { "@sap/approuter": "23.0.0" },
  "overrides": { "@sap/logging": "9.2.2" }
}
"#;

/// Installs `@sap/approuter` into `dir` (kept between runs). Returns why it could not, for the
/// skip message.
pub fn prepare(dir: &Path) -> Result<(), String> {
    crate::node::install(dir, &[("package.json", PACKAGE_JSON)])
}

/// The router's entry point inside an installed `dir`.
pub fn entry_point(dir: &Path) -> PathBuf {
    dir.join("node_modules/@sap/approuter/approuter.js")
}

/// Starts `@sap/approuter` with `workdir` as its working directory (where it reads `xs-app.json`,
/// `default-env.json` and `default-services.json`, as on Cloud Foundry) and exactly `env`.
const LOCALHOST_SHIM: &str = r#"'use strict';
const dns = require('dns');
const lookup = dns.lookup;
dns.lookup = function (hostname, options, callback) {
  if (typeof hostname === 'string' && hostname.endsWith('.localhost')) {
    if (typeof options === 'function') { callback = options; options = {}; }
    if (typeof options === 'number') { options = {family: options}; }
    if (options && options.all) { return process.nextTick(callback, null, [{address: '127.0.0.1', family: 4}]); }
    return process.nextTick(callback, null, '127.0.0.1', 4);
  }
  return lookup.apply(this, arguments);
};
"#;

pub fn spawn(
    node: &Path,
    dir: &Path,
    workdir: &Path,
    env: &[(String, String)],
    echo: bool,
) -> Result<AppProcess, ScenarioError> {
    let entry = entry_point(dir);
    if !entry.is_file() {
        return Err(ScenarioError::BinaryMissing {
            app: "@sap/approuter".into(),
            path: entry.display().to_string(),
        });
    }
    // The mock XSUAA's zone answers at https://{subdomain}.localhost, where SAP's libraries send
    // a zone's token requests. Every *.localhost name is the loopback (RFC 6761), but the system
    // resolver may not know that: Node is told so before the router starts.
    let shim = dir.join("localhost-subdomains.js");
    std::fs::write(&shim, LOCALHOST_SHIM).map_err(|e| ScenarioError::Io(e.to_string()))?;
    AppProcess::spawn(
        "sap-approuter",
        node,
        &[
            "--require".to_string(),
            shim.display().to_string(),
            entry.display().to_string(),
        ],
        env,
        workdir,
        echo,
    )
}
