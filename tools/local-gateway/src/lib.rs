//! The local API gateway: serves the documented paths by running the same handler code as the Lambda functions,
//! each request turned into the API Gateway HTTP API (v2) event Lambda would receive. It also owns the movable
//! clock and its route, which exist only here (docs/local-stack.md, "The movable clock").

pub mod clock;
pub mod event;
pub mod functions;
pub mod lambda;
pub mod metrics;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use lightotp::clock::Clock;
use lightotp::deps::Deps;
use lightotp::domain::time_format::rfc3339_millis;
use serde::Deserialize;
use serde_json::json;
use tracing::Instrument;

pub use clock::MovableClock;
pub use functions::Functions;

/// What every route shares.
#[derive(Clone)]
pub struct Gateway {
    functions: Arc<Functions>,
    clock: Arc<MovableClock>,
    dashboard: Arc<dashboard::Dashboard>,
    webhooks: Arc<webhooks::LocalWebhooks>,
    metrics: Arc<metrics::LocalMetrics>,
}

impl Gateway {
    /// A gateway over each function's dependencies, built with `clock`, serving the dashboard at `dashboard_url` (its
    /// emailed links and the `Origin` its forms must come from).
    pub fn new(
        functions: Arc<Functions>,
        clock: Arc<MovableClock>,
        dashboard_url: &str,
        operators_email: Option<String>,
        webhooks: Arc<webhooks::LocalWebhooks>,
    ) -> Result<Self, lightotp::config::ConfigError> {
        let dashboard = Arc::new(dashboard::Dashboard::new(
            Arc::clone(&functions.dashboard),
            Some(dashboard_url),
            operators_email,
        )?);
        Ok(Self { functions, clock, dashboard, webhooks, metrics: Arc::default() })
    }
}

/// Which function serves a route.
#[derive(Debug, Clone, Copy)]
enum Function {
    SendMessage,
    CheckMessageStatus,
    WhatsAppWebhook,
    OtpInitiate,
    OtpVerify,
    Dashboard,
}

/// The routes: the documented API paths and the local-only clock.
pub fn router(gateway: Gateway) -> Router {
    Router::new()
        .route(
            "/SendMessage",
            post(|s, c, m, u, h, b| invoke(Function::SendMessage, "POST /SendMessage", s, c, m, u, h, b)),
        )
        .route(
            "/CheckMessageStatus",
            post(|s, c, m, u, h, b| invoke(Function::CheckMessageStatus, "POST /CheckMessageStatus", s, c, m, u, h, b)),
        )
        .route(
            "/webhooks/whatsapp",
            get(|s, c, m, u, h, b| invoke(Function::WhatsAppWebhook, "GET /webhooks/whatsapp", s, c, m, u, h, b)).post(
                |s, c, m, u, h, b| invoke(Function::WhatsAppWebhook, "POST /webhooks/whatsapp", s, c, m, u, h, b),
            ),
        )
        .route(
            "/api/otp/initiate",
            post(|s, c, m, u, h, b| invoke(Function::OtpInitiate, "POST /api/otp/initiate", s, c, m, u, h, b)),
        )
        .route(
            "/api/otp/verify",
            post(|s, c, m, u, h, b| invoke(Function::OtpVerify, "POST /api/otp/verify", s, c, m, u, h, b)),
        )
        .route("/dashboard", any(|s, c, m, u, h, b| invoke(Function::Dashboard, "ANY /dashboard", s, c, m, u, h, b)))
        .route(
            "/dashboard/{*proxy}",
            any(|s, c, m, u, h, b| invoke(Function::Dashboard, "ANY /dashboard/{proxy+}", s, c, m, u, h, b)),
        )
        .route("/_local/metrics", get(metrics_now))
        .route("/_local/sweep", post(sweep_now))
        .route("/_local/webhooks/deliver", post(deliver_webhooks_now))
        .route("/_local/webhooks/crash-next", post(crash_next_webhook_pass))
        .route("/_local/clock", get(clock_now))
        .route("/_local/clock/advance", post(clock_advance))
        .route("/_local/health", get(|| async { axum::Json(json!({"ok": true, "pid": std::process::id()})) }))
        // The deployed limits, not axum's: the HTTP API takes bodies up to 10 MB (`limits::too_large` answers what
        // it answers beyond), and Lambda events up to 6 MB.
        .layer(axum::extract::DefaultBodyLimit::max(limits::MAX_BODY_BYTES))
        .with_state(gateway)
}

/// The deployed size limits, mirrored (docs/local-stack.md, "The local gateway").
pub mod limits {
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};

    /// The most an HTTP API request body may carry: 10 MB.
    pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
    /// The most a synchronous Lambda invocation's payload (the whole v2 event) may carry: 6 MB.
    pub const MAX_EVENT_BYTES: usize = 6 * 1024 * 1024;

    /// What API Gateway answers a request it cannot hand to the function, beyond either limit: its own JSON 413,
    /// the function never invoked.
    pub fn too_large() -> Response {
        (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(serde_json::json!({"message": "Request Entity Too Large"})))
            .into_response()
    }
}

#[allow(clippy::too_many_arguments)]
async fn invoke(
    function: Function,
    route_key: &'static str,
    State(gateway): State<Gateway>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let Ok(body) = body else {
        return limits::too_large();
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    let incoming = event::IncomingRequest {
        method: &method,
        uri: &uri,
        headers: &headers,
        body: &body,
        source_ip: peer.ip(),
        route_key,
        request_id: &request_id,
        at: gateway.clock.now(),
    };
    let event = event::api_gateway_v2_event(&incoming);
    // Only a large body can make the event too large (the rest of it is a few KB): measure those alone.
    if body.len() > limits::MAX_EVENT_BYTES / 2
        && serde_json::to_vec(&event).map_or(true, |bytes| bytes.len() > limits::MAX_EVENT_BYTES)
    {
        return limits::too_large();
    }
    let span = tracing::info_span!("invoke", requestId = %request_id, route = route_key);
    let functions = &gateway.functions;
    let result = async {
        match function {
            Function::SendMessage => lambda::invoke(event, |r| send_message::handle(&functions.send_message, r)).await,
            Function::CheckMessageStatus => {
                lambda::invoke(event, |r| check_message_status::handle(&functions.check_message_status, r)).await
            }
            Function::WhatsAppWebhook => {
                lambda::invoke(event, |r| whatsapp_webhook::handle(&functions.whatsapp_webhook, r)).await
            }
            Function::OtpInitiate => lambda::invoke(event, |r| otp_initiate::handle(&functions.otp_initiate, r)).await,
            Function::OtpVerify => lambda::invoke(event, |r| otp_verify::handle(&functions.otp_verify, r)).await,
            Function::Dashboard => lambda::invoke(event, |r| dashboard::handle(&gateway.dashboard, r)).await,
        }
    }
    .instrument(span)
    .await;
    gateway.metrics.absorb();
    match result {
        Ok(response) => response,
        // What API Gateway answers when a function errors.
        Err(err) => {
            tracing::error!(requestId = %request_id, error = %err, "function returned an error");
            (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({"message": "Internal Server Error"}))).into_response()
        }
    }
}

/// The sums of every metric the functions wrote (docs/local-stack.md, "Metrics").
async fn metrics_now(State(gateway): State<Gateway>) -> Response {
    axum::Json(gateway.metrics.snapshot()).into_response()
}

/// Runs the scheduled sweep now (EventBridge runs it every minute on AWS).
async fn sweep_now(State(gateway): State<Gateway>) -> Response {
    let swept = sweep_stuck_messages::run(&gateway.functions.sweep_stuck_messages).await;
    gateway.metrics.absorb();
    match swept {
        Ok(summary) => axum::Json(summary).into_response(),
        // `run` logged the failure with its causes.
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({"error": err.to_string()}))).into_response(),
    }
}

/// Delivers every client webhook due now: reads the stream, runs the due retries, drains the queue
/// (docs/local-stack.md, "Client webhooks, locally").
async fn deliver_webhooks_now(State(gateway): State<Gateway>) -> Response {
    match gateway.webhooks.pass().await {
        Ok(pass) => axum::Json(pass).into_response(),
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({"error": err}))).into_response(),
    }
}

/// Makes the next delivery pass that records events die before enqueueing them (a test's crash).
async fn crash_next_webhook_pass(State(gateway): State<Gateway>) -> Response {
    gateway.webhooks.crash_next_pass();
    axum::Json(json!({"crashNext": true})).into_response()
}

/// Runs the sweep every `period`, as the schedule does on AWS, until the process ends.
pub async fn sweep_periodically(deps: Arc<Deps>, period: std::time::Duration) {
    let mut ticks = tokio::time::interval(period);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        // A failed run logs itself, with its causes; the next tick tries again.
        let _ = sweep_stuck_messages::run(&deps).await;
    }
}

async fn clock_now(State(gateway): State<Gateway>) -> impl IntoResponse {
    axum::Json(json!({
        "now": rfc3339_millis(gateway.clock.now()),
        "offsetSeconds": gateway.clock.offset().as_seconds_f64(),
    }))
}

#[derive(Deserialize)]
struct Advance {
    seconds: f64,
}

async fn clock_advance(State(gateway): State<Gateway>, body: Bytes) -> Response {
    match serde_json::from_slice::<Advance>(&body) {
        Ok(Advance { seconds }) if seconds.is_finite() && seconds >= 0.0 => {
            let now = gateway.clock.advance(seconds);
            axum::Json(json!({"now": rfc3339_millis(now), "offsetSeconds": gateway.clock.offset().as_seconds_f64()}))
                .into_response()
        }
        _ => (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "expected {\"seconds\": n} with n >= 0"})))
            .into_response(),
    }
}
