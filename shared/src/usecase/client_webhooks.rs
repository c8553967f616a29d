//! Client webhooks (docs/webhooks.md): turning status changes into events, recording one delivery per event and
//! endpoint, attempting a delivery, and bringing due retries back to the queue.
//!
//! The status changes come from the table's DynamoDB stream: every write that changes a message's or a Verify
//! request's status is in it, with the item before and after, so no write path records events itself and a
//! function that dies after its write loses nothing (docs/architecture.md, Client webhooks).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use time::OffsetDateTime;
use tracing::{info, warn};

use crate::deps::{Deps, DepsError};
use crate::domain::client_webhook::{
    CLAIM_LEASE, DISABLE_AFTER, EventType, MAX_ATTEMPTS, message_event_id, message_sequence, otp_event_id, retry_delay,
    signature_header,
};
use crate::domain::language::HumanLanguage;
use crate::domain::message::MessageStatus;
use crate::domain::notification::webhook_endpoint_disabled;
use crate::domain::time_format::{parse_rfc3339, rfc3339_millis};
use crate::secrets::SecretError;
use crate::store::schema::{PK, SK, attr};
use crate::store::{
    AttemptRecord, DeliveryRecord, DeliveryRef, DeliveryState, EndpointRecord, NewDelivery, NextStep, QueuedDelivery,
    StoreError, message_image,
};
use crate::usecase::check_status::MessageStatusResponse;
use crate::webhook_queue::QueueError;
use crate::webhook_sender::SignedHeaders;

/// An item as the stream shows it.
pub type Image = HashMap<String, AttributeValue>;

/// One write to the table, as the stream records it: the item before and after.
#[derive(Debug, Clone, Default)]
pub struct Change {
    /// Before the write (`None` for a new item).
    pub old: Option<Image>,
    /// After the write (`None` for a deletion).
    pub new: Option<Image>,
}

/// An event for a client, with its body as every attempt sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientEvent {
    /// Whose.
    pub client_id: String,
    /// Its id, the `webhook-id`.
    pub event_id: String,
    /// What happened.
    pub event_type: EventType,
    /// When (the body's `timestamp`).
    pub at: String,
    /// `{"type", "timestamp", "data"}`.
    pub body: String,
}

/// A failure of ours: the delivery function's invocation fails, so the stream or the queue gives it again.
#[derive(Debug, thiserror::Error)]
pub enum WebhookDeliveryError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The queue failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The pepper could not be read.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The HTTP client could not be built.
    #[error(transparent)]
    Deps(#[from] DepsError),
    /// An event body could not be written.
    #[error("event body: {0}")]
    Body(#[from] serde_json::Error),
    /// The endpoint's current signing secret does not open (a changed pepper, a damaged item): nothing is posted
    /// unsigned, and no attempt is counted against the client.
    #[error("the signing secret of webhook endpoint {0} does not open")]
    Unsealable(String),
}

#[derive(Serialize)]
struct Body<'a, D: Serialize> {
    #[serde(rename = "type")]
    event_type: &'a str,
    timestamp: &'a str,
    data: D,
}

/// `message.*` data: exactly CheckMessageStatus's body, plus `sequence`.
#[derive(Serialize)]
struct MessageData {
    #[serde(flatten)]
    status: MessageStatusResponse,
    sequence: u32,
}

/// `otp.*` data, as docs/webhooks.md gives it.
#[derive(Serialize)]
struct OtpData<'a> {
    request_id: &'a str,
    status: &'a str,
    receiver: &'a str,
    #[serde(rename = "occurredAt")]
    occurred_at: &'a str,
}

fn text<'a>(image: &'a Image, name: &str) -> Option<&'a str> {
    image.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn whole(image: &Image, name: &str) -> Option<u32> {
    image.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok())
}

/// The event a write makes, if it changed a message's or a Verify request's status; `None` for every other write
/// (a new message, a repeated status, a counter, an unrelated item). Pure: the same change always makes the same
/// event, id and body included.
pub fn event_of(change: &Change) -> Result<Option<ClientEvent>, serde_json::Error> {
    let Some(new) = &change.new else { return Ok(None) };
    let Some(sk) = text(new, SK) else { return Ok(None) };
    if sk.starts_with("MSG#") {
        message_event(change.old.as_ref(), new)
    } else if sk.starts_with("OTP#") {
        otp_event(change.old.as_ref(), new)
    } else {
        Ok(None)
    }
}

fn message_event(old: Option<&Image>, new: &Image) -> Result<Option<ClientEvent>, serde_json::Error> {
    let channel_of =
        |image: &Image| text(image, attr::CHANNEL).and_then(crate::domain::channel::Channel::parse).unwrap_or_default();
    let before = old.and_then(|o| Some((channel_of(o), text(o, attr::STATUS).and_then(MessageStatus::parse)?)));
    let Ok(record) = message_image(new) else { return Ok(None) };
    if before == Some((record.channel, record.status)) {
        return Ok(None);
    }
    let Some(event_type) = EventType::for_message_status(record.status) else { return Ok(None) };
    let at = text(new, attr::UPDATED_AT).unwrap_or(&record.created_at).to_owned();
    let event_id = message_event_id(&record.id, record.channel, record.status);
    let client_id = record.client_id.clone();
    let sequence = message_sequence(record.channel, record.status);
    let body = serde_json::to_string(&Body {
        event_type: event_type.as_str(),
        timestamp: &at,
        data: MessageData { status: record.into(), sequence },
    })?;
    Ok(Some(ClientEvent { client_id, event_id, event_type, at, body }))
}

fn otp_event(old: Option<&Image>, new: &Image) -> Result<Option<ClientEvent>, serde_json::Error> {
    let max = crate::domain::verification::MAX_ATTEMPTS;
    let status = text(new, attr::STATUS).unwrap_or("pending");
    let before = old.and_then(|o| text(o, attr::STATUS)).unwrap_or("pending");
    let attempts = whole(new, attr::ATTEMPTS).unwrap_or(0);
    let attempts_before = old.and_then(|o| whole(o, attr::ATTEMPTS)).unwrap_or(0);
    let (event_type, at) = if status == "verified" && before != "verified" {
        (EventType::OtpVerified, text(new, attr::VERIFIED_AT))
    } else if status == "failed" && before != "failed" {
        (EventType::OtpFailed, text(new, attr::REFUNDED_AT))
    } else if status == "pending" && attempts >= max && attempts_before < max {
        // The last wrong code: the request can no longer be verified.
        (EventType::OtpFailed, text(new, attr::UPDATED_AT))
    } else {
        return Ok(None);
    };
    let (Some(client_id), Some(request_id), Some(receiver)) = (
        text(new, PK).and_then(|pk| pk.strip_prefix("CLIENT#")),
        text(new, attr::REQUEST_ID),
        text(new, attr::RECEIVER),
    ) else {
        return Ok(None);
    };
    let Some(at) = at.or_else(|| text(new, attr::UPDATED_AT)).or_else(|| text(new, attr::CREATED_AT)) else {
        tracing::warn!(request_id, "a Verify request's change has no time; no event");
        return Ok(None);
    };
    let outcome = if event_type == EventType::OtpVerified { "verified" } else { "failed" };
    let body = serde_json::to_string(&Body {
        event_type: event_type.as_str(),
        timestamp: at,
        data: OtpData { request_id, status: outcome, receiver, occurred_at: at },
    })?;
    Ok(Some(ClientEvent {
        client_id: client_id.to_owned(),
        event_id: otp_event_id(request_id, event_type),
        event_type,
        at: at.to_owned(),
        body,
    }))
}

/// What recording a batch of changes did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Recorded {
    /// Events found in the changes.
    pub events: usize,
    /// Deliveries recorded (one per event and endpoint that wants it).
    pub deliveries: usize,
}

/// Records a delivery of each event in `changes` to each enabled endpoint of its client that wants it, due after
/// the claim lease (the queue message sent next makes the first attempt at once; if it is lost, the delivery is
/// due again when the lease ends). Returns the deliveries to enqueue: a delivery recorded by an earlier reading of
/// the same change is not returned again, since its lease brings it back if its message was lost.
pub async fn record(deps: &Deps, changes: &[Change]) -> Result<(Recorded, Vec<QueuedDelivery>), WebhookDeliveryError> {
    let now = deps.clock.now();
    let lease = now + CLAIM_LEASE;
    let mut endpoints_of: HashMap<String, Vec<EndpointRecord>> = HashMap::new();
    let mut recorded = Recorded::default();
    let mut fresh = Vec::new();
    for change in changes {
        let Some(event) = event_of(change)? else { continue };
        recorded.events += 1;
        if !endpoints_of.contains_key(&event.client_id) {
            let endpoints = deps.store.endpoints(&event.client_id).await?;
            endpoints_of.insert(event.client_id.clone(), endpoints);
        }
        let endpoints = endpoints_of.get(&event.client_id).map(Vec::as_slice).unwrap_or_default();
        for endpoint in endpoints.iter().filter(|e| e.enabled && e.events.wants(event.event_type)) {
            let delivery = NewDelivery {
                client_id: &event.client_id,
                endpoint_id: &endpoint.endpoint_id,
                event_id: &event.event_id,
                event_type: event.event_type.as_str(),
                event_at: &event.at,
                body: &event.body,
            };
            if deps.store.record_delivery(&delivery, lease).await? {
                recorded.deliveries += 1;
                fresh.push(QueuedDelivery {
                    delivery: DeliveryRef {
                        client_id: event.client_id.clone(),
                        endpoint_id: endpoint.endpoint_id.clone(),
                        delivery: crate::store::schema::key::delivery(&event.at, &event.event_id),
                        log_shard: crate::store::schema::webhook_log_shard(&event.event_id),
                    },
                    lease: rfc3339_millis(lease),
                });
            }
        }
    }
    Ok((recorded, fresh))
}

/// What became of one queue message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Attempt {
    /// The endpoint answered 2xx.
    Delivered,
    /// It failed; another attempt is due later.
    WillRetry,
    /// It failed for the last time (or the endpoint is disabled or gone): the delivery is failed.
    Failed,
    /// Nothing to do: the delivery is gone, no longer pending, or another worker recorded this attempt.
    Skipped,
}

/// Attempts one delivery: posts its body, signed with the endpoint's current secret (and the replaced ones while a
/// rotation overlaps), and records the outcome with the attempt in the log. Only a delivery still pending and due at
/// the time the message was enqueued under is attempted: a message that comes late or twice makes no attempt, so a
/// retry never comes before its delay. After the last failed attempt the delivery is failed and put on the
/// dead-letter queue. An endpoint failing every attempt for 5 days is disabled and its client emailed, once.
pub async fn attempt(deps: &Deps, queued: &QueuedDelivery) -> Result<Attempt, WebhookDeliveryError> {
    let (delivery, endpoint) = deps.store.delivery_with_endpoint(&queued.delivery).await?;
    let Some(delivery) =
        delivery.filter(|d| d.state == DeliveryState::Pending && d.due_at.as_deref() == Some(queued.lease.as_str()))
    else {
        return Ok(Attempt::Skipped);
    };
    let now = deps.clock.now();
    let at = rfc3339_millis(now);
    let number = delivery.total_attempts + 1;
    let usable = endpoint.filter(|e| e.enabled);
    let Some(endpoint) = usable else {
        let log = AttemptRecord {
            event_id: delivery.event_id.clone(),
            event_type: delivery.event_type.clone(),
            delivery: delivery.reference.delivery.clone(),
            attempt: number,
            at,
            http_status: None,
            latency_ms: 0,
            answer: String::new(),
            error: Some("the endpoint is disabled or deleted: not attempted".to_owned()),
        };
        return Ok(if deps.store.record_attempt(&delivery, &log, NextStep::GiveUp, now).await? {
            crate::metrics::webhook_attempt(crate::metrics::WebhookAttempt::Failed, None);
            Attempt::Failed
        } else {
            Attempt::Skipped
        });
    };
    let pepper = deps.pepper.get().await?.expose().as_bytes().to_vec();
    let Ok(current) = crate::sealed::open(
        crate::sealed::Purpose::WebhookSigningSecret,
        &pepper,
        &endpoint.endpoint_id,
        &endpoint.signing_secret,
    ) else {
        return Err(WebhookDeliveryError::Unsealable(endpoint.endpoint_id.clone()));
    };
    let mut secrets = vec![current];
    for (sealed, until) in &endpoint.previous_secrets {
        if parse_rfc3339(until).is_some_and(|until| until > now)
            && let Ok(previous) = crate::sealed::open(
                crate::sealed::Purpose::WebhookSigningSecret,
                &pepper,
                &endpoint.endpoint_id,
                sealed,
            )
        {
            secrets.push(previous);
        }
    }
    let timestamp = now.unix_timestamp();
    let signature = signature_header(
        &secrets.iter().map(String::as_str).collect::<Vec<_>>(),
        &delivery.event_id,
        timestamp,
        &delivery.body,
    );
    let headers = SignedHeaders { id: &delivery.event_id, timestamp, signature: &signature };
    let sent = deps.webhook_sender()?.post(&endpoint.url, &headers, &delivery.body).await;
    let succeeded = sent.succeeded();
    let made = delivery.attempts + 1;
    let next = if succeeded {
        NextStep::Done
    } else {
        match retry_delay(made).filter(|_| made < MAX_ATTEMPTS) {
            Some(delay) => NextStep::RetryAt(now + delay),
            None => NextStep::GiveUp,
        }
    };
    let log = AttemptRecord {
        event_id: delivery.event_id.clone(),
        event_type: delivery.event_type.clone(),
        delivery: delivery.reference.delivery.clone(),
        attempt: number,
        at: at.clone(),
        http_status: sent.status,
        latency_ms: u64::try_from(sent.latency.as_millis()).unwrap_or(u64::MAX),
        answer: sent.answer.clone(),
        error: sent.error.clone(),
    };
    info!(
        client_id = %endpoint.client_id,
        endpoint_id = %endpoint.endpoint_id,
        event_id = %delivery.event_id,
        attempt = number,
        status = sent.status,
        latency_ms = log.latency_ms,
        error = sent.error.as_deref(),
        "client webhook attempt"
    );
    if !deps.store.record_attempt(&delivery, &log, next, now).await? {
        return Ok(Attempt::Skipped);
    }
    // The outcome is recorded: what follows must not fail the message (it would come back and find nothing to do).
    if let Err(err) = note_health(deps, &endpoint, succeeded, now).await {
        tracing::error!(endpoint_id = %endpoint.endpoint_id, error = %err, "webhook endpoint health not recorded");
    }
    let counted = match next {
        NextStep::Done => crate::metrics::WebhookAttempt::Delivered,
        NextStep::RetryAt(_) => crate::metrics::WebhookAttempt::WillRetry,
        NextStep::GiveUp => crate::metrics::WebhookAttempt::Failed,
    };
    crate::metrics::webhook_attempt(counted, Some(sent.latency));
    Ok(match next {
        NextStep::Done => Attempt::Delivered,
        NextStep::RetryAt(_) => Attempt::WillRetry,
        NextStep::GiveUp => {
            if let Err(err) = deps.webhook_queue.dead_letter(&delivery.reference, "every attempt failed").await {
                tracing::error!(event_id = %delivery.event_id, error = %err, "failed delivery not dead-lettered");
            }
            Attempt::Failed
        }
    })
}

/// Keeps the endpoint's failing streak: its first failure since the last success, and disabling after 5 days.
async fn note_health(
    deps: &Deps,
    endpoint: &EndpointRecord,
    succeeded: bool,
    now: OffsetDateTime,
) -> Result<(), WebhookDeliveryError> {
    let (client, id) = (&endpoint.client_id, &endpoint.endpoint_id);
    match (succeeded, &endpoint.failing_since) {
        (true, None) => {}
        (true, Some(_)) => deps.store.note_endpoint_success(client, id).await?,
        (false, None) => deps.store.note_endpoint_failure(client, id, &rfc3339_millis(now)).await?,
        (false, Some(since)) => {
            let long_enough = parse_rfc3339(since).is_some_and(|since| now - since >= DISABLE_AFTER);
            if long_enough && deps.store.disable_failing_endpoint(client, id, since).await? {
                warn!(endpoint_id = %id, failing_since = %since, "webhook endpoint disabled after failing for 5 days");
                email_disabled(deps, endpoint, since).await;
            }
        }
    }
    Ok(())
}

async fn email_disabled(deps: &Deps, endpoint: &EndpointRecord, since: &str) {
    let profile = match deps.store.client_profile(&endpoint.client_id).await {
        Ok(Some(profile)) => profile,
        Ok(None) => return,
        Err(err) => {
            warn!(error = %err, "the disabled endpoint's client could not be read; no email");
            return;
        }
    };
    let language = HumanLanguage::from_code(&profile.language);
    let email = webhook_endpoint_disabled(language, &profile.name, &endpoint.url, since);
    if let Err(err) = deps.mailer.send(&profile.email, &email).await {
        warn!(error = %err, "the disabled endpoint email was not sent");
    }
}

/// Claims every delivery due now (its retry time reached, or its lease ended) and hands it to the queue; returns
/// how many. Run every minute on AWS, and by the local stack's delivery loop. It reads each of the
/// [`WEBHOOK_SHARDS`](crate::store::schema::WEBHOOK_SHARDS) shards of the index in turn, paging through each once, and
/// stops a shard at a page where it claimed nothing (entries the eventually consistent index still shows as due). A
/// shard that fails does not hold up the others: the run goes on and then fails with the first error.
pub async fn enqueue_due(deps: &Deps) -> Result<usize, WebhookDeliveryError> {
    let now = deps.clock.now();
    let mut total = 0;
    let mut oldest: Option<time::OffsetDateTime> = None;
    let mut first_error = None;
    for shard in 0..crate::store::schema::WEBHOOK_SHARDS {
        let bucket = crate::store::schema::shard_name(crate::store::schema::PENDING_WEBHOOKS_BUCKET, shard);
        match enqueue_due_in(deps, &bucket, now).await {
            Ok((claimed, oldest_in_shard)) => {
                total += claimed;
                oldest = oldest.into_iter().chain(oldest_in_shard).min();
            }
            Err(err) => {
                warn!(bucket = %bucket, error = %err, "due deliveries of one shard were not enqueued");
                first_error.get_or_insert(err);
            }
        }
    }
    // The most overdue delivery, if any is due.
    let late = oldest.map_or(time::Duration::ZERO, |due_at| (now - due_at).max(time::Duration::ZERO));
    crate::metrics::webhook_oldest_due(std::time::Duration::try_from(late).unwrap_or_default());
    match first_error {
        Some(err) => Err(err),
        None => Ok(total),
    }
}

/// [`enqueue_due`] for one shard: how many it claimed, and when its oldest due delivery was due.
async fn enqueue_due_in(
    deps: &Deps,
    bucket: &str,
    now: time::OffsetDateTime,
) -> Result<(usize, Option<time::OffsetDateTime>), WebhookDeliveryError> {
    const PAGE: i32 = 100;
    let until = now + CLAIM_LEASE;
    let lease = rfc3339_millis(until);
    let mut total = 0;
    let mut start = None;
    let mut oldest = None;
    loop {
        let (due, next) = deps.store.due_deliveries(bucket, now, PAGE, start).await?;
        if oldest.is_none() {
            // Oldest first: the first entry of the first page.
            oldest = due.first().and_then(|(_, seen)| parse_rfc3339(seen));
        }
        let mut claimed = Vec::new();
        for (reference, seen) in &due {
            if deps.store.claim_due(reference, seen, until).await? {
                claimed.push(QueuedDelivery { delivery: reference.clone(), lease: lease.clone() });
            }
        }
        deps.webhook_queue.enqueue(&claimed).await?;
        total += claimed.len();
        if claimed.is_empty() || next.is_none() {
            return Ok((total, oldest));
        }
        start = next;
    }
}

/// A delivery as the dashboard and the CLI list it.
pub type Delivery = DeliveryRecord;

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.to_owned())
    }

    fn message(status: &str, updated: &str) -> Image {
        HashMap::from([
            (PK.to_owned(), s("CLIENT#c1")),
            (SK.to_owned(), s("MSG#3f0c8a4e-5b7d-4e1a-9c2b-1d2e3f4a5b6c")),
            (attr::MESSAGE_ID.to_owned(), s("3f0c8a4e-5b7d-4e1a-9c2b-1d2e3f4a5b6c")),
            (attr::CLIENT_ID.to_owned(), s("c1")),
            (attr::STATUS.to_owned(), s(status)),
            (attr::TO_PHONE.to_owned(), s("+966551234567")),
            (attr::CREATED_AT.to_owned(), s("2027-01-15T08:00:00.000Z")),
            (attr::UPDATED_AT.to_owned(), s(updated)),
            (attr::COST.to_owned(), AttributeValue::N("1".to_owned())),
            (attr::HUMAN_LANGUAGE.to_owned(), s("en")),
        ])
    }

    #[test]
    fn a_message_status_change_makes_one_event_with_the_check_status_body_and_its_sequence() {
        let change = Change {
            old: Some(message("Sent", "2027-01-15T08:00:01.000Z")),
            new: Some(message("Delivered", "2027-01-15T08:00:02.500Z")),
        };
        let event = event_of(&change).unwrap().expect("an event");
        assert_eq!(event.event_type, EventType::MessageDelivered);
        assert_eq!(event.client_id, "c1");
        assert_eq!(event.event_id, "evt_msg_3f0c8a4e-5b7d-4e1a-9c2b-1d2e3f4a5b6c_2");
        let body: serde_json::Value = serde_json::from_str(&event.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "type": "message.delivered",
                "timestamp": "2027-01-15T08:00:02.500Z",
                "data": {
                    "id": "3f0c8a4e-5b7d-4e1a-9c2b-1d2e3f4a5b6c",
                    "messageStatus": "Delivered",
                    "toPhoneE164": "+966551234567",
                    "createdAt": "2027-01-15T08:00:00.000Z",
                    "failureCode": null,
                    "failureTitle": null,
                    "failureReason": null,
                    "failedAt": null,
                    "channel": "whatsapp",
                    "fallback": null,
                    "sequence": 2
                }
            })
        );
        assert_eq!(event_of(&change).unwrap(), Some(event), "the same change makes the same event");
    }

    #[test]
    fn writes_that_change_no_status_make_no_event() {
        let same = Change { old: Some(message("Sent", "a")), new: Some(message("Sent", "b")) };
        assert_eq!(event_of(&same).unwrap(), None);
        let created = Change { old: None, new: Some(message("Pending", "a")) };
        assert_eq!(event_of(&created).unwrap(), None);
        let deleted = Change { old: Some(message("Sent", "a")), new: None };
        assert_eq!(event_of(&deleted).unwrap(), None);
        let other = Change { old: None, new: Some(HashMap::from([(SK.to_owned(), s("COOL#+966551234567"))])) };
        assert_eq!(event_of(&other).unwrap(), None);
    }

    fn verification(status: &str, attempts: u32) -> Image {
        HashMap::from([
            (PK.to_owned(), s("CLIENT#c1")),
            (SK.to_owned(), s("OTP#r-1")),
            (attr::REQUEST_ID.to_owned(), s("r-1")),
            (attr::RECEIVER.to_owned(), s("+966551234567")),
            (attr::STATUS.to_owned(), s(status)),
            (attr::ATTEMPTS.to_owned(), AttributeValue::N(attempts.to_string())),
            (attr::CREATED_AT.to_owned(), s("2027-01-15T08:00:00.000Z")),
            (attr::VERIFIED_AT.to_owned(), s("2027-01-15T08:01:00.000Z")),
            (attr::UPDATED_AT.to_owned(), s("2027-01-15T08:02:00.000Z")),
        ])
    }

    #[test]
    fn a_verify_request_makes_otp_verified_or_otp_failed_once() {
        let verified = Change { old: Some(verification("pending", 1)), new: Some(verification("verified", 1)) };
        let event = event_of(&verified).unwrap().expect("verified");
        assert_eq!(event.event_type, EventType::OtpVerified);
        let body: serde_json::Value = serde_json::from_str(&event.body).unwrap();
        assert_eq!(
            body["data"],
            serde_json::json!({"request_id": "r-1", "status": "verified", "receiver": "+966551234567", "occurredAt": "2027-01-15T08:01:00.000Z"})
        );
        let max = crate::domain::verification::MAX_ATTEMPTS;
        let ran_out = Change { old: Some(verification("pending", max - 1)), new: Some(verification("pending", max)) };
        let event = event_of(&ran_out).unwrap().expect("ran out");
        assert_eq!(event.event_type, EventType::OtpFailed);
        assert!(event.body.contains(r#""status":"failed""#));
        let wrong_code = Change { old: Some(verification("pending", 0)), new: Some(verification("pending", 1)) };
        assert_eq!(event_of(&wrong_code).unwrap(), None);
        let new_request = Change { old: None, new: Some(verification("pending", 0)) };
        assert_eq!(event_of(&new_request).unwrap(), None);
    }
}
