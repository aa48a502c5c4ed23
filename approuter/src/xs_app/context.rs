//! What `xs-app.json` is checked against: the rest of the platform's configuration.

use std::collections::HashSet;
use std::path::Path;

/// What the file is validated against.
pub struct Context<'a> {
    /// Shown in every message, e.g. the file's path.
    pub origin: &'a str,
    /// Names from the `destinations` env.
    pub destinations: &'a HashSet<String>,
    /// A Destination service is bound: other destination names are looked up there at run time.
    pub destination_service: bool,
    /// `xsappname` of the xsuaa binding, for `$XSAPPNAME` in scopes.
    pub xsappname: Option<&'a str>,
    /// `localDir` is relative to this directory (where xs-app.json lives).
    pub base_dir: &'a Path,
}
