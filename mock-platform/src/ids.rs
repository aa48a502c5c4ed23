//! Random identifiers (codes, session ids, error ids), at the bottom of the module graph.

use rand::Rng;
use rand::distributions::Alphanumeric;

/// A random URL-safe string.
pub fn random_id(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}
