//! `lightotp-admin webhook …`: a client's webhook endpoints, their attempt log and redelivery, through the same
//! console use cases as the dashboard's Webhooks page (docs/webhooks.md).

use lightotp::store::{AttemptRecord, EndpointRecord};
use lightotp::usecase::console::webhooks::{self as endpoints, NewSecret, Redeliver, RedeliverRefusal, Redelivered};
use serde::Serialize;
use time::OffsetDateTime;

use crate::ops::{Admin, AdminError};

/// An endpoint as the CLI prints it: never a secret, sealed or not.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct EndpointView {
    /// Its id.
    pub endpoint_id: String,
    /// Its URL.
    pub url: String,
    /// The events it receives.
    pub events: Vec<&'static str>,
    /// `enabled` or `disabled`.
    pub state: &'static str,
    /// Why it is disabled.
    pub disabled_reason: Option<String>,
    /// Failing every attempt since.
    pub failing_since: Option<String>,
    /// Until when the previous secret also signs.
    pub previous_secret_until: Option<String>,
    /// Added at.
    pub created_at: String,
}

impl From<&EndpointRecord> for EndpointView {
    fn from(e: &EndpointRecord) -> Self {
        Self {
            endpoint_id: e.endpoint_id.clone(),
            url: e.url.clone(),
            events: e.events.events().iter().map(|e| e.as_str()).collect(),
            state: if e.enabled { "enabled" } else { "disabled" },
            disabled_reason: e.disabled_reason.clone(),
            failing_since: e.failing_since.clone(),
            previous_secret_until: e.previous_secrets.iter().map(|(_, until)| until.clone()).max(),
            created_at: e.created_at.clone(),
        }
    }
}

/// One attempt, as the log prints it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AttemptView {
    /// When.
    pub at: String,
    /// The event's id (`webhook-id`).
    pub event_id: String,
    /// Its type.
    pub event_type: String,
    /// Which attempt.
    pub attempt: u32,
    /// The endpoint's HTTP status.
    pub http_status: Option<u16>,
    /// Milliseconds.
    pub latency_ms: u64,
    /// The first 1 KB of the answer.
    pub answer: String,
    /// Why there was no answer.
    pub error: Option<String>,
}

impl From<AttemptRecord> for AttemptView {
    fn from(a: AttemptRecord) -> Self {
        Self {
            at: a.at,
            event_id: a.event_id,
            event_type: a.event_type,
            attempt: a.attempt,
            http_status: a.http_status,
            latency_ms: a.latency_ms,
            answer: a.answer,
            error: a.error,
        }
    }
}

fn no_endpoint(endpoint_id: &str) -> AdminError {
    AdminError::NotFound(format!("webhook endpoint {endpoint_id}"))
}

impl Admin {
    /// Adds an endpoint; its signing secret is in the answer, once.
    pub async fn add_webhook(
        &self,
        client_id: &str,
        url: &str,
        events: &[String],
        now: OffsetDateTime,
    ) -> Result<NewSecret, AdminError> {
        self.existing_client(client_id).await?;
        let events: Vec<&str> = events.iter().flat_map(|e| e.split(',')).collect();
        endpoints::add_endpoint(&self.console, client_id, url, &events, now)
            .await?
            .map_err(|refusal| AdminError::Invalid(format!("--url/--events: {refusal}")))
    }

    /// The client's endpoints.
    pub async fn webhooks(&self, client_id: &str) -> Result<Vec<EndpointView>, AdminError> {
        self.existing_client(client_id).await?;
        Ok(endpoints::list_endpoints(&self.console, client_id).await?.iter().map(EndpointView::from).collect())
    }

    /// Enables or disables an endpoint (an operator's action).
    pub async fn set_webhook_enabled(
        &self,
        client_id: &str,
        endpoint_id: &str,
        enabled: bool,
    ) -> Result<(), AdminError> {
        endpoints::set_enabled(&self.console, client_id, endpoint_id, enabled, "operator")
            .await?
            .map_err(|_| no_endpoint(endpoint_id))
    }

    /// Deletes an endpoint.
    pub async fn delete_webhook(&self, client_id: &str, endpoint_id: &str) -> Result<(), AdminError> {
        endpoints::delete_endpoint(&self.console, client_id, endpoint_id).await?.map_err(|_| no_endpoint(endpoint_id))
    }

    /// A new signing secret (shown once); the old one signs too for 24 hours.
    pub async fn rotate_webhook_secret(
        &self,
        client_id: &str,
        endpoint_id: &str,
        now: OffsetDateTime,
    ) -> Result<NewSecret, AdminError> {
        endpoints::rotate_secret(&self.console, client_id, endpoint_id, now)
            .await?
            .map_err(|_| no_endpoint(endpoint_id))
    }

    /// The endpoint's attempt log, newest first.
    pub async fn webhook_attempts(
        &self,
        client_id: &str,
        endpoint_id: &str,
        limit: i32,
    ) -> Result<Vec<AttemptView>, AdminError> {
        Ok(endpoints::attempt_log(&self.console, client_id, endpoint_id, limit)
            .await?
            .map_err(|_| no_endpoint(endpoint_id))?
            .into_iter()
            .map(AttemptView::from)
            .collect())
    }

    /// Redelivers one event (`event`) or every event since a time (`since`, RFC 3339).
    pub async fn redeliver_webhooks(
        &self,
        client_id: &str,
        endpoint_id: &str,
        event: Option<&str>,
        since: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Redelivered, AdminError> {
        let what = match (event, since) {
            (Some(event), None) => Redeliver::Event(event.to_owned()),
            (None, Some(since)) => Redeliver::Since(
                endpoints::parse_since(since)
                    .ok_or_else(|| AdminError::Invalid("--since must be an RFC 3339 timestamp".to_owned()))?,
            ),
            _ => return Err(AdminError::Invalid("give exactly one of --event and --since".to_owned())),
        };
        match endpoints::redeliver(&self.console, client_id, endpoint_id, &what, now).await? {
            Ok(scheduled) => Ok(scheduled),
            Err(RedeliverRefusal::NoSuchEndpoint) => Err(no_endpoint(endpoint_id)),
            Err(RedeliverRefusal::Disabled) => {
                Err(AdminError::Invalid(format!("webhook endpoint {endpoint_id} is disabled: enable it first")))
            }
        }
    }
}
