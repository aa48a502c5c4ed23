//! An error with its causes in one line, for the one place an error is logged or shown.

/// `e` and its sources joined with `": "` ("error sending request: connection refused"); a cause
/// whose text the message already contains is not repeated.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::error_chain;

    #[derive(Debug, thiserror::Error)]
    #[error("fetching the token")]
    struct Outer(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("cannot reach xsuaa: {0}")]
    struct Repeats(#[source] std::io::Error);

    #[test]
    fn causes_follow_the_message_once() {
        let refused =
            || std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        assert_eq!(
            error_chain(&Outer(refused())),
            "fetching the token: connection refused"
        );
        assert_eq!(
            error_chain(&Repeats(refused())),
            "cannot reach xsuaa: connection refused"
        );
    }
}
