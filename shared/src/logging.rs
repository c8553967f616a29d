//! Structured logs: one JSON line per event (`tracing`), carrying the request id of the invocation.

/// Installs the JSON subscriber. `RUST_LOG` (or `AWS_LAMBDA_LOG_LEVEL`) sets the level; `info` by default.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| {
            std::env::var("AWS_LAMBDA_LOG_LEVEL")
                .map_err(|_| ())
                .and_then(|level| tracing_subscriber::EnvFilter::try_new(level.to_lowercase()).map_err(|_| ()))
        })
        .unwrap_or_else(|()| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(true)
        .with_target(false)
        .try_init();
}

/// The span of one API request: every line logged while it runs carries its fields, which the handler records as it
/// learns them (`client_id` once the key is authenticated, `message_id` once there is one), besides the invocation's
/// request id (Lambda's span, or the local gateway's). Never a phone number, a code or a key.
pub fn request_span(endpoint: &'static str) -> tracing::Span {
    tracing::info_span!("request", endpoint, client_id = tracing::field::Empty, message_id = tracing::field::Empty)
}

/// Records the authenticated client on the current request span.
pub fn record_client(client: &crate::auth::ClientId) {
    tracing::Span::current().record("client_id", client.as_str());
}

/// An error and every cause beneath it on one line, for the one log line of a failure (`Display` alone shows only
/// the top, and the cause is what an operator needs).
pub fn cause_chain(err: &dyn std::error::Error) -> String {
    let mut line = err.to_string();
    let mut cause = err.source();
    while let Some(next) = cause {
        line.push_str(": ");
        line.push_str(&next.to_string());
        cause = next.source();
    }
    line
}
