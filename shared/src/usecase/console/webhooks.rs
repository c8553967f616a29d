//! A client's webhook endpoints (docs/webhooks.md, docs/dashboard.md "Webhooks"): add, list, enable, disable,
//! delete, rotate the signing secret; the attempt log; redelivery of one event or of every event since a time. The
//! dashboard and `lightotp-admin webhook …` call these same functions. A signing secret is returned once, when
//! made, and stored only sealed.

use time::OffsetDateTime;

use super::{Console, ConsoleError};
use crate::domain::client_webhook::{EventSelection, UnknownEvent, UrlRefusal, signing_secret_text};
use crate::domain::time_format::{parse_rfc3339, rfc3339_millis};
use futures::StreamExt;

use crate::store::{AttemptRecord, DeliveryRecord, EndpointRecord};
use crate::webhook_sender::check_endpoint_url;

/// The most endpoints one client may have.
pub const MAX_ENDPOINTS: usize = 10;

/// How long the previous secret keeps signing after a rotation.
pub const ROTATION_OVERLAP: time::Duration = time::Duration::hours(24);

/// An endpoint just added or a secret just rotated: the only time the secret is seen.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NewSecret {
    /// The endpoint.
    pub endpoint_id: String,
    /// Its URL.
    pub url: String,
    /// `whsec_…`.
    pub signing_secret: String,
    /// Until when the previous secret also signs, after a rotation.
    pub previous_secret_until: Option<String>,
}

/// Why an endpoint was not added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointRefusal {
    /// The URL.
    #[error(transparent)]
    Url(#[from] UrlRefusal),
    /// The events.
    #[error(transparent)]
    Events(#[from] UnknownEvent),
    /// Too many endpoints already.
    #[error("a client may have at most 10 endpoints")]
    TooMany,
}

/// An action on an endpoint (or delivery) the client does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoSuchEndpoint;

/// Why nothing was redelivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedeliverRefusal {
    /// The client has no such endpoint.
    NoSuchEndpoint,
    /// The endpoint is disabled: enable it first.
    Disabled,
}

fn new_secret() -> Result<String, ConsoleError> {
    let mut random = [0u8; 32];
    getrandom::fill(&mut random).map_err(|e| ConsoleError::Random(e.to_string()))?;
    Ok(signing_secret_text(&random))
}

/// Adds an endpoint for `client_id`, enabled, after checking its URL (form, then every address its host resolves
/// to) and its events (none named: all).
pub async fn add_endpoint(
    console: &Console,
    client_id: &str,
    url: &str,
    events: &[&str],
    now: OffsetDateTime,
) -> Result<Result<NewSecret, EndpointRefusal>, ConsoleError> {
    let events = match EventSelection::parse(events.iter().copied()) {
        Ok(events) => events,
        Err(unknown) => return Ok(Err(unknown.into())),
    };
    let url = match check_endpoint_url(console.webhook_policy, url).await {
        Ok(url) => url,
        Err(refusal) => return Ok(Err(refusal.into())),
    };
    let endpoint_id = uuid::Uuid::new_v4().to_string();
    let secret = new_secret()?;
    let pepper = console.pepper().await?;
    let sealed = crate::sealed::seal(crate::sealed::Purpose::WebhookSigningSecret, &pepper, &endpoint_id, &secret)
        .map_err(|e| ConsoleError::Random(e.to_string()))?;
    let record = EndpointRecord {
        endpoint_id: endpoint_id.clone(),
        client_id: client_id.to_owned(),
        url: url.as_str().to_owned(),
        events,
        enabled: true,
        disabled_reason: None,
        signing_secret: sealed,
        previous_secrets: Vec::new(),
        created_at: rfc3339_millis(now),
        failing_since: None,
    };
    if !console.store.put_endpoint(&record, MAX_ENDPOINTS).await? {
        return Ok(Err(EndpointRefusal::TooMany));
    }
    Ok(Ok(NewSecret { endpoint_id, url: record.url, signing_secret: secret, previous_secret_until: None }))
}

/// The client's endpoints, oldest first.
pub async fn list_endpoints(console: &Console, client_id: &str) -> Result<Vec<EndpointRecord>, ConsoleError> {
    Ok(console.store.endpoints(client_id).await?)
}

/// Enables an endpoint (forgetting its failing streak) or disables it; `by` is `client` or `operator`.
pub async fn set_enabled(
    console: &Console,
    client_id: &str,
    endpoint_id: &str,
    enabled: bool,
    by: &str,
) -> Result<Result<(), NoSuchEndpoint>, ConsoleError> {
    let applied = if enabled {
        console.store.enable_endpoint(client_id, endpoint_id).await?
    } else {
        console.store.disable_endpoint(client_id, endpoint_id, by).await?
    };
    Ok(if applied { Ok(()) } else { Err(NoSuchEndpoint) })
}

/// Deletes an endpoint: it receives nothing more (deliveries still pending fail without an attempt).
pub async fn delete_endpoint(
    console: &Console,
    client_id: &str,
    endpoint_id: &str,
) -> Result<Result<(), NoSuchEndpoint>, ConsoleError> {
    Ok(if console.store.delete_endpoint(client_id, endpoint_id).await? { Ok(()) } else { Err(NoSuchEndpoint) })
}

/// Gives an endpoint a new signing secret; the one it replaces keeps signing too for 24 hours, so the client can
/// deploy the new one without dropping a delivery. Secrets replaced earlier keep signing until their own 24 hours
/// end (the newest three), so two rotations in a row (a double click) never stop the secret the client has deployed.
pub async fn rotate_secret(
    console: &Console,
    client_id: &str,
    endpoint_id: &str,
    now: OffsetDateTime,
) -> Result<Result<NewSecret, NoSuchEndpoint>, ConsoleError> {
    let Some(endpoint) = console.store.endpoint(client_id, endpoint_id).await? else { return Ok(Err(NoSuchEndpoint)) };
    let secret = new_secret()?;
    let pepper = console.pepper().await?;
    let sealed = crate::sealed::seal(crate::sealed::Purpose::WebhookSigningSecret, &pepper, endpoint_id, &secret)
        .map_err(|e| ConsoleError::Random(e.to_string()))?;
    let until = rfc3339_millis(now + ROTATION_OVERLAP);
    let mut previous = vec![(endpoint.signing_secret.clone(), until.clone())];
    previous.extend(
        endpoint
            .previous_secrets
            .iter()
            .filter(|(_, until)| parse_rfc3339(until).is_some_and(|until| until > now))
            .cloned(),
    );
    previous.truncate(crate::store::MAX_PREVIOUS_SECRETS);
    let rotated = console
        .store
        .rotate_signing_secret(client_id, endpoint_id, &endpoint.signing_secret, &sealed, &previous)
        .await?;
    if !rotated {
        // Another rotation got there first: this secret was never stored, so it must not be shown.
        return Ok(Err(NoSuchEndpoint));
    }
    Ok(Ok(NewSecret {
        endpoint_id: endpoint_id.to_owned(),
        url: endpoint.url,
        signing_secret: secret,
        previous_secret_until: Some(until),
    }))
}

/// An endpoint's attempt log, newest first (30 days).
pub async fn attempt_log(
    console: &Console,
    client_id: &str,
    endpoint_id: &str,
    limit: i32,
) -> Result<Result<Vec<AttemptRecord>, NoSuchEndpoint>, ConsoleError> {
    if console.store.endpoint(client_id, endpoint_id).await?.is_none() {
        return Ok(Err(NoSuchEndpoint));
    }
    Ok(Ok(console.store.attempts(client_id, endpoint_id, limit).await?))
}

/// An endpoint's deliveries (one per event), newest first.
pub async fn deliveries(
    console: &Console,
    client_id: &str,
    endpoint_id: &str,
    limit: usize,
) -> Result<Result<Vec<DeliveryRecord>, NoSuchEndpoint>, ConsoleError> {
    if console.store.endpoint(client_id, endpoint_id).await?.is_none() {
        return Ok(Err(NoSuchEndpoint));
    }
    Ok(Ok(console.store.deliveries(client_id, endpoint_id, None, limit).await?))
}

/// What to redeliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeliver {
    /// One event, by its id (`webhook-id`).
    Event(String),
    /// Every event at or after this time.
    Since(OffsetDateTime),
}

/// What a redelivery did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Redelivered {
    /// Deliveries that start a new round of attempts.
    pub scheduled: usize,
    /// When [`REDELIVER_AT_ONCE`] events were read and more may follow: the time to redeliver again from.
    pub more_from: Option<String>,
}

/// The most events one "since" redelivery reads, oldest first (a dashboard request must end well within the
/// function's 15 s).
pub const REDELIVER_AT_ONCE: usize = 500;

/// Redelivers to an enabled endpoint: each chosen delivery that is not already pending starts a new round of
/// attempts, due now (the next delivery pass, at most a minute away on AWS, sends it), with its `webhook-id`
/// unchanged. "Since" takes the oldest [`REDELIVER_AT_ONCE`] events from that time and says where to go on from.
pub async fn redeliver(
    console: &Console,
    client_id: &str,
    endpoint_id: &str,
    what: &Redeliver,
    now: OffsetDateTime,
) -> Result<Result<Redelivered, RedeliverRefusal>, ConsoleError> {
    let Some(endpoint) = console.store.endpoint(client_id, endpoint_id).await? else {
        return Ok(Err(RedeliverRefusal::NoSuchEndpoint));
    };
    if !endpoint.enabled {
        return Ok(Err(RedeliverRefusal::Disabled));
    }
    let (chosen, more_from): (Vec<DeliveryRecord>, Option<String>) = match what {
        Redeliver::Event(event_id) => {
            (console.store.delivery_of_event(client_id, endpoint_id, event_id).await?.into_iter().collect(), None)
        }
        Redeliver::Since(since) => {
            let found = console
                .store
                .deliveries_oldest_first(client_id, endpoint_id, &rfc3339_millis(*since), REDELIVER_AT_ONCE)
                .await?;
            let more = (found.len() == REDELIVER_AT_ONCE).then(|| found.last().map(|d| d.event_at.clone())).flatten();
            (found, more)
        }
    };
    // Ten writes at a time: a few hundred take about a second.
    let writes: Vec<_> = chosen.iter().map(|d| console.store.redeliver(&d.reference, now)).collect();
    let outcomes: Vec<Result<bool, crate::store::StoreError>> =
        futures::stream::iter(writes).buffer_unordered(10).collect().await;
    let mut scheduled = 0;
    for outcome in outcomes {
        if outcome? {
            scheduled += 1;
        }
    }
    Ok(Ok(Redelivered { scheduled, more_from }))
}

/// Reads "since" as the dashboard and the CLI take it: RFC 3339.
pub fn parse_since(raw: &str) -> Option<OffsetDateTime> {
    parse_rfc3339(raw.trim())
}
