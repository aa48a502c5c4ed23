//! Where the workspace and its build output are, and its members: what every task starts from.

use crate::error::Error;
use std::path::{Path, PathBuf};

/// The workspace this xtask was built from; `cargo xtask` always runs from a build of it.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in a folder of the workspace")
        .to_path_buf()
}

/// Where cargo puts build output: `CARGO_TARGET_DIR` when set, as cargo itself does.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace_root().join("target"),
    }
}

/// The member folders of the workspace manifest's `members = [...]` (one line, as it is written).
pub fn workspace_members(root: &Path) -> Result<Vec<String>, Error> {
    let path = root.join("Cargo.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
    Ok(text
        .lines()
        .find_map(|line| line.trim().strip_prefix("members"))
        .and_then(|rest| Some(rest.split_once('[')?.1.split_once(']')?.0.to_string()))
        .map(|list| {
            list.split(',')
                .map(|s| s.trim().trim_matches('"').to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default())
}
