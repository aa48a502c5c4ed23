//! The workspace stays one a forker can live in: modules depend only downward (`cargo xtask modules
//! --check`), and every entry point builds the dependencies with the same features, so one build serves
//! `cargo xtask run`, `cargo test --workspace` and `cargo build -p …` alike (`cargo xtask hack --check`).

use std::process::Command;

fn xtask(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .expect("xtask runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn no_module_depends_on_a_module_that_depends_back_on_it() {
    let (ok, report) = xtask(&["modules", "--check"]);
    assert!(ok, "{report}");
    for krate in [
        "approuter:",
        "approuter (bin):",
        "common:",
        "bsclient:",
        "bsclient (bin):",
        "mock-platform:",
        "xtask (bin):",
        "scenario:",
    ] {
        assert!(
            report
                .lines()
                .any(|l| l.starts_with(krate) && l.ends_with("no cycle")),
            "{krate} has a cycle or was not checked:\n{report}"
        );
    }
}

#[test]
fn every_entry_point_builds_dependencies_with_the_same_features() {
    let (ok, report) = xtask(&["hack", "--check"]);
    assert!(ok, "{report}");
}
