//! A local fake of Meta's WhatsApp Cloud (Graph) API send endpoint (docs/local-stack.md, "The fake WhatsApp";
//! docs/whatsapp.md, "The fake"). It speaks the real request, success and error shapes so the product's WhatsApp
//! client is exercised as written, and it never reaches the internet: the only outbound call it makes is the
//! status webhook, to the URL it was started with.
//!
//! Routes:
//! - `POST /{version}/{phone_number_id}/messages`: the Graph send endpoint (authentication templates only).
//! - `GET /_fake/messages`: every accepted send, oldest first.
//! - `POST /_fake/fail-next`: make the next n sends fail, or answer late.
//! - `POST /_fake/status`: post a signed status webhook for a send, as Meta does.
//! - `POST /_fake/reset`: forget every send and every planned failure.
//!
//! This module owns the configuration and the router; `graph` owns the send endpoint, `control` the `/_fake`
//! routes, `ledger` what is remembered between requests, and `webhook` the status notification and its signature.

mod control;
mod graph;
mod ledger;
mod webhook;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

pub use ledger::{DeliveryStatus, SentMessage};
pub use webhook::{SIGNATURE_HEADER, sign};

/// How the fake is started: the access token it accepts, the app secret it signs webhooks with, and where the
/// product's webhook listens.
#[derive(Clone)]
pub struct FakeConfig {
    /// The system-user access token a send must carry as `Authorization: Bearer <token>`.
    pub token: String,
    /// The app secret that keys `X-Hub-Signature-256` on status webhooks.
    pub app_secret: String,
    /// Where `POST /_fake/status` delivers status webhooks; `None` makes that route answer 502.
    pub webhook_url: Option<String>,
}

/// Never prints the token or the app secret.
impl std::fmt::Debug for FakeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeConfig")
            .field("token", &"<redacted>")
            .field("app_secret", &"<redacted>")
            .field("webhook_url", &self.webhook_url)
            .finish()
    }
}

/// What every handler shares: the configuration, the ledger and one HTTP client for webhooks.
#[derive(Clone)]
pub(crate) struct App {
    pub(crate) config: Arc<FakeConfig>,
    pub(crate) ledger: ledger::Ledger,
    pub(crate) http: reqwest::Client,
}

/// The fake's routes, with fresh state: no sends recorded and no failures planned.
pub fn router(config: FakeConfig) -> Router {
    let app = App { config: Arc::new(config), ledger: ledger::Ledger::default(), http: reqwest::Client::new() };
    Router::new()
        .route("/{version}/{phone_number_id}/messages", post(graph::send_message))
        .route("/_fake/messages", get(control::messages))
        .route("/_fake/fail-next", post(control::fail_next))
        .route("/_fake/status", post(control::status))
        .route("/_fake/reset", post(control::reset))
        .route("/_fake/health", get(control::health))
        .fallback(graph::unknown_path)
        .with_state(app)
}

/// Serves [`router`] on `listener` until the listener fails or the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, config: FakeConfig) -> std::io::Result<()> {
    axum::serve(listener, router(config)).await
}
