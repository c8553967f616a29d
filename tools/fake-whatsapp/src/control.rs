//! The `/_fake` routes that tests and people use to inspect and steer the fake (docs/local-stack.md, "The fake
//! WhatsApp"): list accepted sends, plan failures for the next sends, post a signed status webhook to the product,
//! and reset. Their errors are plain `{"error": "..."}` bodies, not Graph's shape, since no Graph client ever calls
//! them.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use hmac::digest::InvalidLength;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::App;
use crate::graph::{GraphError, known_title};
use crate::ledger::{DeliveryStatus, PlannedFailure, SentMessage};
use crate::webhook::{SIGNATURE_HEADER, StatusError, sign, status_notification};

/// How long the product gets to answer a status webhook; Meta expects a fast 2xx.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// Default Graph codes for a planned failure without one.
const DEFAULT_CLIENT_ERROR_CODE: i64 = 131026;
const DEFAULT_SERVER_ERROR_CODE: i64 = 131000;
/// Title for a code `known_title` does not know.
const FALLBACK_TITLE: &str = "Fake failure";

#[derive(Debug, thiserror::Error)]
pub(crate) enum ControlError {
    #[error("invalid request body: {0}")]
    InvalidBody(String),
    #[error("a count above 0 needs httpStatus, delayMs or both")]
    NothingPlanned,
    #[error("code, title and message describe an error answer: they need httpStatus")]
    ErrorFieldsWithoutStatus,
    #[error("httpStatus must be between 400 and 599, not {0}")]
    NotAnErrorStatus(u16),
    #[error("an error is only reported with status \"failed\"")]
    ErrorWithoutFailure,
    #[error("unknown wamid")]
    UnknownWamid,
    #[error("no webhook URL configured: start the fake with --webhook-url or FAKE_WHATSAPP_WEBHOOK_URL")]
    NoWebhookUrl,
    #[error("cannot deliver the webhook to {url}: {reason}")]
    WebhookUnreachable { url: String, reason: String },
    #[error("cannot sign the webhook: {0}")]
    Signing(#[from] InvalidLength),
    #[error("cannot encode the webhook: {0}")]
    Encoding(#[from] serde_json::Error),
}

impl ControlError {
    fn status(&self) -> StatusCode {
        match self {
            Self::InvalidBody(_)
            | Self::NothingPlanned
            | Self::ErrorFieldsWithoutStatus
            | Self::NotAnErrorStatus(_)
            | Self::ErrorWithoutFailure => StatusCode::BAD_REQUEST,
            Self::UnknownWamid => StatusCode::NOT_FOUND,
            Self::NoWebhookUrl | Self::WebhookUnreachable { .. } => StatusCode::BAD_GATEWAY,
            Self::Signing(_) | Self::Encoding(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<JsonRejection> for ControlError {
    fn from(rejection: JsonRejection) -> Self {
        Self::InvalidBody(rejection.body_text())
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(error = %self, "fake control request failed");
        } else {
            tracing::info!(error = %self, "fake control request refused");
        }
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

/// `GET /_fake/messages`: every accepted send, oldest first.
pub(crate) async fn messages(State(app): State<App>) -> Json<Vec<SentMessage>> {
    Json(app.ledger.sent())
}

/// Body of `POST /_fake/fail-next`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct FailNextRequest {
    count: u32,
    http_status: Option<u16>,
    code: Option<i64>,
    title: Option<String>,
    message: Option<String>,
    error_subcode: Option<i64>,
    delay_ms: Option<u64>,
    /// Only sends through this sender fail (our extension of the route, for tests sharing the fake).
    phone_number_id: Option<String>,
}

impl FailNextRequest {
    /// The failure each of the next `count` sends meets.
    fn planned_failure(self) -> Result<PlannedFailure, ControlError> {
        let delay = self.delay_ms.map(Duration::from_millis);
        let Some(http_status) = self.http_status else {
            if self.code.is_some() || self.title.is_some() || self.message.is_some() || self.error_subcode.is_some() {
                return Err(ControlError::ErrorFieldsWithoutStatus);
            }
            if delay.is_none() && self.count > 0 {
                return Err(ControlError::NothingPlanned);
            }
            return Ok(PlannedFailure { delay, answer: None });
        };
        let status = StatusCode::from_u16(http_status)
            .ok()
            .filter(|s| s.is_client_error() || s.is_server_error())
            .ok_or(ControlError::NotAnErrorStatus(http_status))?;
        let default_code = if status.is_server_error() { DEFAULT_SERVER_ERROR_CODE } else { DEFAULT_CLIENT_ERROR_CODE };
        let code = self.code.unwrap_or(default_code);
        let title = self.title.unwrap_or_else(|| known_title(code).unwrap_or(FALLBACK_TITLE).to_owned());
        let (message, details) = match self.message {
            Some(message) => (message.clone(), message),
            None => (format!("(#{code}) {title}"), title),
        };
        let answer = GraphError { status, code, message, details: Some(details), subcode: self.error_subcode };
        Ok(PlannedFailure { delay, answer: Some(answer) })
    }
}

/// `POST /_fake/fail-next`: the next `count` sends fail as described, replacing whatever was still planned;
/// `{"count": 0}` clears.
pub(crate) async fn fail_next(
    State(app): State<App>,
    request: Result<Json<FailNextRequest>, JsonRejection>,
) -> Result<Json<Value>, ControlError> {
    let Json(request) = request?;
    let count = request.count;
    let sender = request.phone_number_id.clone();
    let failure = request.planned_failure()?;
    tracing::info!(
        count,
        http_status = failure.answer.as_ref().map(|a| a.status.as_u16()),
        code = failure.answer.as_ref().map(|a| a.code),
        delay_ms = failure.delay.map(|d| d.as_millis()),
        "failures planned"
    );
    app.ledger.plan_failures(count, failure, sender);
    Ok(Json(json!({})))
}

/// `error` in the body of `POST /_fake/status`; every field has a default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusErrorRequest {
    code: Option<i64>,
    title: Option<String>,
    message: Option<String>,
    details: Option<String>,
}

impl StatusErrorRequest {
    fn status_error(self) -> StatusError {
        let code = self.code.unwrap_or(DEFAULT_CLIENT_ERROR_CODE);
        let title = self.title.unwrap_or_else(|| known_title(code).unwrap_or(FALLBACK_TITLE).to_owned());
        let message = self.message.unwrap_or_else(|| title.clone());
        let details = self.details.unwrap_or_else(|| message.clone());
        StatusError { code, title, message, details }
    }
}

/// Body of `POST /_fake/status`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusRequest {
    wamid: String,
    status: DeliveryStatus,
    error: Option<StatusErrorRequest>,
}

/// `POST /_fake/status`: posts a signed status webhook for an accepted send to the product and answers
/// `{"webhookStatus": <the product's HTTP status>}`.
pub(crate) async fn status(
    State(app): State<App>,
    request: Result<Json<StatusRequest>, JsonRejection>,
) -> Result<Json<Value>, ControlError> {
    let Json(request) = request?;
    let error = match (request.status, request.error) {
        (DeliveryStatus::Failed, error) => Some(error.unwrap_or_default().status_error()),
        (_, Some(_)) => return Err(ControlError::ErrorWithoutFailure),
        (_, None) => None,
    };
    let message = app.ledger.find(&request.wamid).ok_or(ControlError::UnknownWamid)?;
    let url = app.config.webhook_url.as_deref().ok_or(ControlError::NoWebhookUrl)?;

    let notification = status_notification(&message, request.status, error.as_ref(), OffsetDateTime::now_utc());
    let body = serde_json::to_vec(&notification)?;
    let signature = sign(&app.config.app_secret, &body)?;
    let answer = app
        .http
        .post(url)
        .header(CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature)
        .body(body)
        .timeout(WEBHOOK_TIMEOUT)
        .send()
        .await
        .map_err(|e| ControlError::WebhookUnreachable { url: url.to_owned(), reason: error_chain(&e) })?;

    let webhook_status = answer.status().as_u16();
    tracing::info!(wamid = %message.wamid, status = ?request.status, webhook_status, "status webhook delivered");
    Ok(Json(json!({ "webhookStatus": webhook_status })))
}

/// `POST /_fake/reset`: forgets every send and every planned failure.
pub(crate) async fn reset(State(app): State<App>) -> Json<Value> {
    app.ledger.reset();
    tracing::info!("fake reset");
    Json(json!({}))
}

/// `GET /_fake/health`: this process's id, so that the stack knows the server on its port is the fake it started.
pub(crate) async fn health() -> Json<Value> {
    Json(json!({"ok": true, "pid": std::process::id()}))
}

/// An error and its causes on one line: reqwest's own `Display` hides why a connection failed.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(body: Value) -> Result<PlannedFailure, ControlError> {
        serde_json::from_value::<FailNextRequest>(body).unwrap().planned_failure()
    }

    #[test]
    fn a_planned_error_reads_like_graph_with_defaults_by_status_class() {
        let cases = [
            (json!({"count": 1, "httpStatus": 400}), 400, 131026, "(#131026) Message undeliverable"),
            (json!({"count": 1, "httpStatus": 503}), 503, 131000, "(#131000) Something went wrong"),
            (json!({"count": 1, "httpStatus": 400, "code": 4242, "title": "Odd"}), 400, 4242, "(#4242) Odd"),
            (json!({"count": 1, "httpStatus": 429, "code": 130429, "message": "Slow down"}), 429, 130429, "Slow down"),
        ];
        for (body, status, code, message) in cases {
            let answer = plan(body.clone()).unwrap().answer.unwrap_or_else(|| panic!("{body}: no answer"));
            assert_eq!(
                (answer.status.as_u16(), answer.code, answer.message.as_str()),
                (status, code, message),
                "{body}"
            );
        }
    }

    #[test]
    fn a_plan_that_would_change_nothing_or_mislead_is_refused() {
        let cases = [
            json!({"count": 1}),
            json!({"count": 1, "httpStatus": 200}),
            json!({"count": 1, "httpStatus": 302}),
            json!({"count": 1, "delayMs": 10, "code": 131026}),
        ];
        for body in cases {
            assert!(plan(body.clone()).is_err(), "{body} was accepted");
        }
    }

    #[test]
    fn a_delay_alone_answers_normally_after_waiting() {
        let failure = plan(json!({"count": 1, "delayMs": 250})).unwrap();
        assert_eq!(failure.delay, Some(Duration::from_millis(250)));
        assert!(failure.answer.is_none());
    }

    #[test]
    fn a_failed_status_without_error_reports_undeliverable() {
        let error = StatusErrorRequest::default().status_error();
        assert_eq!((error.code, error.title.as_str()), (131026, "Message undeliverable"));
    }
}
