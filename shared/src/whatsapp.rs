//! The WhatsApp Cloud (Graph) API client: sends an authentication template carrying the code (docs/whatsapp.md).
//!
//! Retries only what cannot have been delivered: a connection that was never made, and a 5xx answer. A timeout
//! or a dropped connection after the request left may mean WhatsApp accepted the message, and there is no
//! idempotency key in the Graph API, so those are not retried: the message fails (and is refunded) rather than
//! risk reaching the user twice.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use crate::domain::language::Template;
use crate::domain::otp_code::OtpCode;
use crate::domain::outside_text::bounded;
use crate::domain::phone::PhoneE164;
use crate::on_first_use::OnFirstUse;
use crate::secrets::LazySecret;

/// Attempts per send, the first included.
const ATTEMPTS: u32 = 3;
/// Pause before the second attempt; doubled before each later one.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// A send WhatsApp did not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// WhatsApp refused it (4xx): mirrored to the client (docs/api.md, WhatsApp outcomes).
    #[error("WhatsApp rejected the send with HTTP {status}: {message}")]
    Rejected {
        /// WhatsApp's HTTP status.
        status: u16,
        /// WhatsApp's error message.
        message: String,
        /// Graph API error code.
        code: Option<i64>,
        /// Graph API error type.
        title: Option<String>,
        /// Details, when WhatsApp gave any.
        details: Option<String>,
    },
    /// No acceptance: 5xx or no connection after every retry, or a timeout (not retried).
    #[error("WhatsApp unavailable after retries: {0}")]
    Unavailable(String),
}

/// What is sent: who, through which number and template, with which code.
#[derive(Debug)]
pub struct OutgoingOtp<'a> {
    /// The client's WhatsApp phone-number id.
    pub phone_number_id: &'a str,
    /// Recipient.
    pub to: &'a PhoneE164,
    /// Template and language.
    pub template: &'a Template,
    /// The code, placed in the body and in the copy-code button.
    pub code: &'a OtpCode,
    /// Echoed by WhatsApp in status webhooks: our message id.
    pub callback_data: &'a str,
}

/// Calls the Graph API with the system-user token.
#[derive(Debug)]
pub struct WhatsAppClient {
    /// Built on the first send (or by `warm`): only SendMessage sends, and ~150 roots take 0.4 M instructions to load.
    http: OnFirstUse<reqwest::Result<reqwest::Client>>,
    base_url: String,
    version: String,
    token: LazySecret,
}

#[derive(Deserialize)]
struct Accepted {
    messages: Vec<AcceptedMessage>,
}

#[derive(Deserialize)]
struct AcceptedMessage {
    id: String,
}

#[derive(Deserialize)]
struct GraphErrorBody {
    error: GraphError,
}

#[derive(Deserialize)]
struct GraphError {
    message: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    code: Option<i64>,
    error_data: Option<GraphErrorData>,
}

#[derive(Deserialize)]
struct GraphErrorData {
    details: Option<String>,
}

impl WhatsAppClient {
    /// A client for `base_url` (e.g. `https://graph.facebook.com`) and API `version` (e.g. `v23.0`).
    pub fn new(
        http: OnFirstUse<reqwest::Result<reqwest::Client>>,
        base_url: &str,
        version: &str,
        token: LazySecret,
    ) -> Self {
        Self { http, base_url: base_url.trim_end_matches('/').to_owned(), version: version.to_owned(), token }
    }

    /// Fetches the token and builds the HTTP client now (during a cold start).
    pub async fn warm(&self) -> Result<(), crate::secrets::SecretError> {
        if let Err(err) = self.http.get() {
            tracing::warn!(error = %err, "the WhatsApp HTTP client could not be built; sends will fail");
        }
        self.token.warm().await
    }

    /// Sends the template; returns WhatsApp's message id (`wamid…`).
    pub async fn send_otp(&self, otp: &OutgoingOtp<'_>) -> Result<String, SendError> {
        let token = self.token.get().await.map_err(|e| SendError::Unavailable(e.to_string()))?;
        let http = self.http.get().as_ref().map_err(|e| SendError::Unavailable(format!("building the client: {e}")))?;
        let url = format!("{}/{}/{}/messages", self.base_url, self.version, otp.phone_number_id);
        let body = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": otp.to.digits(),
            "type": "template",
            "biz_opaque_callback_data": otp.callback_data,
            "template": {
                "name": otp.template.name,
                "language": { "code": otp.template.language.as_str() },
                "components": [
                    { "type": "body", "parameters": [ { "type": "text", "text": otp.code.expose() } ] },
                    { "type": "button", "sub_type": "url", "index": "0",
                      "parameters": [ { "type": "text", "text": otp.code.expose() } ] }
                ]
            }
        });
        let mut backoff = FIRST_BACKOFF;
        let mut last_failure = String::new();
        for attempt in 1..=ATTEMPTS {
            let started = std::time::Instant::now();
            let attempt_result = Self::attempt(http, &url, token.expose(), &body).await;
            crate::metrics::graph_latency(started.elapsed());
            match attempt_result {
                Attempt::Accepted(wamid) => return Ok(wamid),
                Attempt::Rejected(err) => return Err(err),
                Attempt::Unknown(why) => return Err(SendError::Unavailable(why)),
                Attempt::Retryable(why) => {
                    tracing::warn!(attempt, reason = %why, "WhatsApp send attempt failed");
                    last_failure = why;
                }
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        }
        Err(SendError::Unavailable(last_failure))
    }

    async fn attempt(http: &reqwest::Client, url: &str, token: &str, body: &serde_json::Value) -> Attempt {
        let response = match http.post(url).bearer_auth(token).json(body).send().await {
            Ok(response) => response,
            Err(e) if e.is_connect() => return Attempt::Retryable(format!("connecting: {e}")),
            Err(e) => return Attempt::Unknown(format!("no answer: {e}")),
        };
        let status = response.status();
        if status.is_server_error() {
            return Attempt::Retryable(format!("HTTP {status}"));
        }
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(e) => return Attempt::Unknown(format!("reading the response: {e}")),
        };
        if status.is_success() {
            return match serde_json::from_slice::<Accepted>(&bytes) {
                Ok(accepted) => match accepted.messages.into_iter().next() {
                    Some(message) => Attempt::Accepted(message.id),
                    None => Attempt::Unknown("accepted without a message id".to_owned()),
                },
                Err(e) => Attempt::Unknown(format!("unreadable success body: {e}")),
            };
        }
        let graph = serde_json::from_slice::<GraphErrorBody>(&bytes).ok().map(|b| b.error);
        // WhatsApp's texts are bounded before anything keeps or repeats them (domain/outside_text.rs).
        let message = graph
            .as_ref()
            .and_then(|g| g.message.as_deref())
            .map(bounded)
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("WhatsApp error").to_owned());
        Attempt::Rejected(SendError::Rejected {
            status: status.as_u16(),
            message,
            code: graph.as_ref().and_then(|g| g.code),
            // The title part of `(#131026) Message undeliverable`, as webhooks report it; else the error type.
            title: graph
                .as_ref()
                .and_then(|g| g.message.as_deref())
                .and_then(|m| m.split_once(") ").map(|(_, title)| bounded(title)))
                .or_else(|| graph.as_ref().and_then(|g| g.kind.as_deref()).map(bounded)),
            details: graph.and_then(|g| g.error_data).and_then(|d| d.details).map(|d| bounded(&d)),
        })
    }
}

enum Attempt {
    Accepted(String),
    Rejected(SendError),
    /// Certainly not delivered: worth another attempt.
    Retryable(String),
    /// Maybe delivered: never retried.
    Unknown(String),
}

/// The HTTP client every function builds once: rustls, bounded timeouts.
pub fn http_client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(2)))
        .tls_certs_only(crate::tls::mozilla_roots())
        .build()
}
