//! What every crate's property tests ("fuzzing" on the stable toolchain) share: the run
//! configuration and arbitrary text.

use proptest::collection::vec;
use proptest::prelude::*;

/// `PROPTEST_CASES` when set (CI can raise it), else `default`: sized so each property runs for a
/// few seconds in a debug build.
pub fn config(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        // Shrinking a failure is worth a while, but not forever.
        max_shrink_iters: 4096,
        // A failure found becomes a named unit test next to the properties, not a file of seeds.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Arbitrary bytes as the text an env variable, header or file could hold (invalid UTF-8
/// replaced).
pub fn any_text() -> BoxedStrategy<String> {
    prop_oneof![
        any::<String>(),
        vec(any::<u8>(), 0..256).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
    .boxed()
}
