//! Table-driven tests: each row runs as its own task, so one failing row hides no other, and the
//! test fails naming every row that failed.

/// Awaits every row's task; panics naming the rows that failed (each row's own panic message is
/// printed above by the test harness).
pub async fn all_rows_pass(rows: Vec<(&'static str, tokio::task::JoinHandle<()>)>) {
    let mut failed = Vec::new();
    for (name, row) in rows {
        if row.await.is_err() {
            failed.push(name);
        }
    }
    assert!(
        failed.is_empty(),
        "rows failed (see their panics above): {failed:?}"
    );
}
