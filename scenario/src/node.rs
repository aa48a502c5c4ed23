//! The tutorial's own Node.js client app (`scenario/node-tutorial`, seed 000's `app.js`) as the
//! benchmark's baseline: the numbers we claim to beat, measured in the same run on the same mock.
//!
//! Its npm packages are installed from the registry into `target/node-tutorial` (kept between runs).
//! Without `node`/`npm` or the registry the benchmark skips this case and says why.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SOURCES: [(&str, &str); 2] = [
    (
        "package.json",
        include_str!("../node-tutorial/package.json"),
    ),
    ("app.js", include_str!("../node-tutorial/app.js")),
];

/// Seed 003's `token-provider.js` (Express + `@here/olp-sdk-authentication`) and a script that
/// drives HERE's own client, for the HERE compatibility test.
pub const HERE_SOURCES: [(&str, &str); 3] = [
    (
        "package.json",
        include_str!("../here-token-provider/package.json"),
    ),
    (
        "token-provider.js",
        include_str!("../here-token-provider/token-provider.js"),
    ),
    (
        "here-client-check.js",
        include_str!("../here-token-provider/here-client-check.js"),
    ),
];

/// Writes the app into `dir` and installs its packages (bounded to five minutes) unless the
/// same `package.json` is installed there already. Returns why it could not, for the skip message.
pub fn prepare(dir: &Path) -> Result<(), String> {
    install(dir, &SOURCES)
}

/// [`prepare`] for [`HERE_SOURCES`].
pub fn prepare_here(dir: &Path) -> Result<(), String> {
    install(dir, &HERE_SOURCES)
}

/// Writes `sources` (the first is `package.json`) into `dir` and runs `npm install` when needed.
pub fn install(dir: &Path, sources: &[(&str, &str)]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let installed_manifest = std::fs::read_to_string(dir.join("package.json")).ok();
    let up_to_date =
        installed_manifest.as_deref() == Some(sources[0].1) && dir.join("node_modules").is_dir();
    for &(name, text) in sources {
        std::fs::write(dir.join(name), text).map_err(|e| format!("{name}: {e}"))?;
    }
    if up_to_date {
        return Ok(());
    }
    let mut npm = Command::new("npm");
    npm.current_dir(dir)
        .args(["install", "--no-audit", "--no-fund", "--omit=dev"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = npm.spawn().map_err(|e| format!("npm: {e}"))?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                let output = child.wait_with_output().map_err(|e| e.to_string())?;
                // A half-done install must not count as installed next time.
                let _ = std::fs::remove_dir_all(dir.join("node_modules"));
                return Err(format!(
                    "npm install failed ({status}): {}",
                    String::from_utf8_lossy(&output.stderr)
                ));
            }
            Ok(None) if started.elapsed() > Duration::from_secs(300) => {
                let _ = child.kill();
                let _ = std::fs::remove_dir_all(dir.join("node_modules"));
                return Err("npm install took more than 5 minutes".into());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(200)),
            Err(e) => return Err(e.to_string()),
        }
    }
}
