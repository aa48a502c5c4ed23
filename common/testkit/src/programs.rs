//! Programs the tests drive (redis-server, chromium, wrk), found on `PATH`.

use std::path::PathBuf;

/// The first `program` on `PATH`, as the shell would run it; `None` when it is not installed.
pub fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}
