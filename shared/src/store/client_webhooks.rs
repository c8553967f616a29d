//! Client webhooks in the table (docs/data-model.md, Client webhooks): endpoints in the client's partition, and per
//! endpoint a log of deliveries (one per event) and attempts (30 days) spread over 32 partitions by the event's id
//! (`schema::webhook_log_shard`), read back shard by shard and merged. A delivery moves only by
//! writes conditioned on its state and attempt count, so two workers holding the same queue message record one
//! outcome; a due delivery is found through `pending-index` (its shard of bucket `WEBHOOK`, `pendingSince` = when it
//! is due).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem, Update};
use time::OffsetDateTime;

use super::items::{number, optional_number, optional_string, string};
use super::schema::{
    PENDING_INDEX, PK, SK, TTL_ATTRIBUTE, WEBHOOK_LOG_SHARDS, attr, key, webhook_bucket, webhook_log_shard,
};
use super::{DynamoStore, InOperation, StoreError, applied, first_item_applied, item_key, n, s};
use crate::domain::client_webhook::{EventSelection, LOG_RETENTION};
use crate::domain::time_format::rfc3339_millis;

type Item = HashMap<String, AttributeValue>;

/// An endpoint as stored. Its signing secrets are sealed (`crate::sealed`), never in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointRecord {
    /// Its id.
    pub endpoint_id: String,
    /// Whose.
    pub client_id: String,
    /// Where deliveries go.
    pub url: String,
    /// What it wants.
    pub events: EventSelection,
    /// Whether deliveries are attempted.
    pub enabled: bool,
    /// Why it is disabled: `client`, `operator` or `failing`.
    pub disabled_reason: Option<String>,
    /// The current signing secret, sealed.
    pub signing_secret: String,
    /// Secrets that earlier rotations replaced, sealed, each with until when it still signs (newest first, at
    /// most [`MAX_PREVIOUS_SECRETS`]).
    pub previous_secrets: Vec<(String, String)>,
    /// When it was added.
    pub created_at: String,
    /// The first failed attempt since the last success, if the endpoint is failing.
    pub failing_since: Option<String>,
}

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// An attempt got a 2xx.
    Succeeded,
    /// Every attempt failed, or the endpoint was disabled or deleted.
    Failed,
}

impl DeliveryState {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        [Self::Pending, Self::Succeeded, Self::Failed].into_iter().find(|s| s.as_str() == raw)
    }
}

/// Which delivery a queue message or a due entry names: its item's key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRef {
    /// The client.
    pub client_id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// The delivery's sort key.
    pub delivery: String,
    /// The shard of the endpoint's log it is in ([`webhook_log_shard`] of its event; 0, the default, for a
    /// delivery recorded before the log was spread, and in a queue message written then).
    #[serde(default)]
    pub log_shard: usize,
}

/// A queue message: the delivery, and the due time (the lease) it was handed to the queue under. An attempt is made
/// only while the delivery is still due at that time, so a message that arrives late, twice, or after another worker
/// moved the delivery on makes no attempt: a retry never comes before its delay.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedDelivery {
    /// The delivery.
    #[serde(flatten)]
    pub delivery: DeliveryRef,
    /// Its `pendingSince` when it was enqueued.
    pub lease: String,
}

/// A new event for one endpoint.
#[derive(Debug, Clone)]
pub struct NewDelivery<'a> {
    /// The client.
    pub client_id: &'a str,
    /// The endpoint.
    pub endpoint_id: &'a str,
    /// The event's id (`webhook-id`).
    pub event_id: &'a str,
    /// Its `type`.
    pub event_type: &'a str,
    /// When it happened (the event's `timestamp`).
    pub event_at: &'a str,
    /// The body, exactly as every attempt sends and signs it.
    pub body: &'a str,
}

/// A delivery as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// Its key.
    pub reference: DeliveryRef,
    /// The event's id.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// When the event happened.
    pub event_at: String,
    /// The body.
    pub body: String,
    /// Where it is.
    pub state: DeliveryState,
    /// Attempts in the current round (a redelivery starts a new round).
    pub attempts: u32,
    /// Attempts ever made.
    pub total_attempts: u32,
    /// When its next attempt is due, while pending.
    pub due_at: Option<String>,
}

/// One attempt, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// The event's id.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// The delivery's sort key.
    pub delivery: String,
    /// Which attempt of the delivery (1 for the first, counting every round).
    pub attempt: u32,
    /// When it was made.
    pub at: String,
    /// The endpoint's HTTP status, if it answered.
    pub http_status: Option<u16>,
    /// How long it took, in milliseconds.
    pub latency_ms: u64,
    /// The first 1 KB of the answer.
    pub answer: String,
    /// What went wrong without an answer (timeout, refused connection, forbidden address).
    pub error: Option<String>,
}

/// What an attempt leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// It succeeded: nothing more.
    Done,
    /// It failed: the next attempt is due then.
    RetryAt(OffsetDateTime),
    /// It failed and it was the last.
    GiveUp,
}

/// The most replaced secrets an endpoint keeps signing with (three rotations within a day).
pub const MAX_PREVIOUS_SECRETS: usize = 3;

fn endpoint_from_item(item: &Item, op: &'static str) -> Result<EndpointRecord, StoreError> {
    let events: Vec<String> = match item.get(attr::EVENTS) {
        Some(AttributeValue::L(list)) => list.iter().filter_map(|v| v.as_s().ok().cloned()).collect(),
        _ => Vec::new(),
    };
    let events = EventSelection::parse(events.iter().map(String::as_str))
        .map_err(|e| StoreError::corrupt(op, format!("events: {e}")))?;
    let previous = match item.get(attr::PREVIOUS_SIGNING_SECRETS) {
        Some(AttributeValue::L(list)) => list
            .iter()
            .filter_map(|entry| entry.as_m().ok())
            .filter_map(|m| Some((optional_string(m, attr::SECRET)?, optional_string(m, attr::UNTIL)?)))
            .collect(),
        _ => Vec::new(),
    };
    Ok(EndpointRecord {
        endpoint_id: string(item, attr::ENDPOINT_ID, op)?,
        client_id: string(item, attr::CLIENT_ID, op)?,
        url: string(item, attr::URL, op)?,
        events,
        enabled: optional_string(item, attr::STATE).as_deref() == Some("enabled"),
        disabled_reason: optional_string(item, attr::DISABLED_REASON),
        signing_secret: string(item, attr::SIGNING_SECRET, op)?,
        previous_secrets: previous,
        created_at: string(item, attr::CREATED_AT, op)?,
        failing_since: optional_string(item, attr::FAILING_SINCE),
    })
}

fn delivery_from_item(item: &Item, op: &'static str) -> Result<DeliveryRecord, StoreError> {
    let state = optional_string(item, attr::STATE).as_deref().and_then(DeliveryState::parse);
    let partition = string(item, PK, op)?;
    let (_, _, log_shard) =
        key::parse_webhook_log(&partition).ok_or_else(|| StoreError::corrupt(op, "delivery key"))?;
    Ok(DeliveryRecord {
        reference: DeliveryRef {
            client_id: string(item, attr::CLIENT_ID, op)?,
            endpoint_id: string(item, attr::ENDPOINT_ID, op)?,
            delivery: string(item, SK, op)?,
            log_shard,
        },
        event_id: string(item, attr::EVENT_ID, op)?,
        event_type: string(item, attr::EVENT_TYPE, op)?,
        event_at: string(item, attr::CREATED_AT, op)?,
        body: string(item, attr::BODY, op)?,
        state: state.ok_or_else(|| StoreError::corrupt(op, "delivery state"))?,
        attempts: number(item, attr::ATTEMPTS, op)?,
        total_attempts: number(item, attr::TOTAL_ATTEMPTS, op)?,
        due_at: optional_string(item, attr::PENDING_SINCE),
    })
}

fn attempt_from_item(item: &Item, op: &'static str) -> Result<AttemptRecord, StoreError> {
    Ok(AttemptRecord {
        event_id: string(item, attr::EVENT_ID, op)?,
        event_type: string(item, attr::EVENT_TYPE, op)?,
        delivery: string(item, attr::DELIVERY, op)?,
        attempt: number(item, attr::ATTEMPT, op)?,
        at: string(item, attr::AT, op)?,
        http_status: optional_number(item, attr::HTTP_STATUS),
        latency_ms: number(item, attr::LATENCY_MS, op)?,
        answer: optional_string(item, attr::ANSWER).unwrap_or_default(),
        error: optional_string(item, attr::ERROR),
    })
}

/// A message item as a DynamoDB stream shows it (its new image), read as the store reads it.
pub fn message_image(item: &Item) -> Result<super::MessageRecord, StoreError> {
    super::MessageRecord::from_item(item, "stream image of a message")
}

/// The key of the delivery a reference names.
fn delivery_key(reference: &DeliveryRef) -> Item {
    item_key(
        key::webhook_log(&reference.client_id, &reference.endpoint_id, reference.log_shard),
        reference.delivery.clone(),
    )
}

/// One shard of an endpoint's log.
#[derive(Debug, Clone, Copy)]
struct LogShard<'a> {
    client_id: &'a str,
    endpoint_id: &'a str,
    shard: usize,
}

impl LogShard<'_> {
    fn partition(&self) -> String {
        key::webhook_log(self.client_id, self.endpoint_id, self.shard)
    }
}

/// How many shards of an endpoint's log are read at once: each read in flight holds a connection of its own, and
/// 32 at once would open 32 (each with its TLS handshake) for one page of the dashboard.
const SHARDS_READ_AT_ONCE: usize = 8;

/// What `read` finds in every shard of an endpoint's log, [`SHARDS_READ_AT_ONCE`] shards at a time; the first
/// error ends it.
async fn every_shard<T, Read>(read: impl Fn(usize) -> Read) -> Result<Vec<T>, StoreError>
where
    Read: Future<Output = Result<Vec<T>, StoreError>>,
{
    use futures::{StreamExt, TryStreamExt};
    let found: Vec<Vec<T>> =
        futures::stream::iter(0..WEBHOOK_LOG_SHARDS).map(read).buffered(SHARDS_READ_AT_ONCE).try_collect().await?;
    Ok(found.into_iter().flatten().collect())
}

/// The newest `limit` of log entries read from several shards, by their sort keys (time first): each shard's
/// newest `limit` hold the newest `limit` of all.
fn newest_first<T>(entries: impl Iterator<Item = T>, sort_key: impl Fn(&T) -> String, limit: usize) -> Vec<T> {
    let mut entries: Vec<T> = entries.collect();
    entries.sort_by_cached_key(|entry| std::cmp::Reverse(sort_key(entry)));
    entries.truncate(limit);
    entries
}

fn expires(at: OffsetDateTime) -> AttributeValue {
    n((at + LOG_RETENTION).unix_timestamp())
}

impl DynamoStore {
    /// Adds an endpoint, counted on the client's profile in the same transaction (`webhookEndpoints`, conditioned on
    /// fewer than `most`, and the profile existing), so racing adds never make more than `most`; the endpoint's put
    /// is `attribute_not_exists(pk)`. `false` when the client has `most` already (or does not exist).
    pub async fn put_endpoint(&self, endpoint: &EndpointRecord, most: usize) -> Result<bool, StoreError> {
        const OP: &str = "TransactWriteItems webhook endpoint";
        let events = endpoint.events.events().iter().map(|e| s(e.as_str())).collect();
        let count = Update::builder()
            .table_name(self.table())
            .set_key(Some(item_key(key::client(&endpoint.client_id), key::PROFILE.to_owned())))
            .update_expression("ADD #count :one")
            .condition_expression("attribute_exists(#pk) AND (attribute_not_exists(#count) OR #count < :most)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#count", attr::WEBHOOK_ENDPOINTS)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":most", n(most))
            .build()
            .in_operation(OP)?;
        let mut put = Put::builder()
            .table_name(self.table())
            .item(PK, s(key::client(&endpoint.client_id)))
            .item(SK, s(key::webhook(&endpoint.endpoint_id)))
            .item(attr::ENDPOINT_ID, s(&endpoint.endpoint_id))
            .item(attr::CLIENT_ID, s(&endpoint.client_id))
            .item(attr::URL, s(&endpoint.url))
            .item(attr::EVENTS, AttributeValue::L(events))
            .item(attr::STATE, s(if endpoint.enabled { "enabled" } else { "disabled" }))
            .item(attr::SIGNING_SECRET, s(&endpoint.signing_secret))
            .item(attr::CREATED_AT, s(&endpoint.created_at))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK);
        if let Some(reason) = &endpoint.disabled_reason {
            put = put.item(attr::DISABLED_REASON, s(reason));
        }
        let result = self
            .client()
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(count).build())
            .transact_items(TransactWriteItem::builder().put(put.build().in_operation(OP)?).build())
            .send()
            .await;
        first_item_applied(OP, result)
    }

    /// A client's endpoints, oldest first.
    pub async fn endpoints(&self, client_id: &str) -> Result<Vec<EndpointRecord>, StoreError> {
        const OP: &str = "Query webhook endpoints";
        let items = self.query_prefix(OP, key::client(client_id), key::WEBHOOK_PREFIX).await?;
        // An item that cannot be read (our bug, or a newer build's event type after a rollback) is left out and
        // logged: one bad endpoint must not stop the client's other endpoints, nor the stream behind it.
        let mut endpoints: Vec<EndpointRecord> = items
            .iter()
            .filter_map(|item| {
                endpoint_from_item(item, OP)
                    .inspect_err(|err| tracing::error!(client_id, error = %err, "unreadable webhook endpoint skipped"))
                    .ok()
            })
            .collect();
        endpoints.sort_by(|a, b| a.created_at.cmp(&b.created_at));
        Ok(endpoints)
    }

    /// One of the client's endpoints (another client's is not under this key).
    pub async fn endpoint(&self, client_id: &str, endpoint_id: &str) -> Result<Option<EndpointRecord>, StoreError> {
        const OP: &str = "GetItem webhook endpoint";
        let item = self.get_consistent(OP, item_key(key::client(client_id), key::webhook(endpoint_id))).await?;
        item.map(|item| endpoint_from_item(&item, OP)).transpose()
    }

    /// Enables an endpoint again (its failing streak forgotten); `false` when there is no such endpoint.
    pub async fn enable_endpoint(&self, client_id: &str, endpoint_id: &str) -> Result<bool, StoreError> {
        const OP: &str = "UpdateItem enable webhook endpoint";
        let result = super::update_existing(self, item_key(key::client(client_id), key::webhook(endpoint_id)))
            .update_expression("SET #state = :enabled REMOVE #reason, #failing")
            .expression_attribute_names("#state", attr::STATE)
            .expression_attribute_names("#reason", attr::DISABLED_REASON)
            .expression_attribute_names("#failing", attr::FAILING_SINCE)
            .expression_attribute_values(":enabled", s("enabled"))
            .send()
            .await;
        applied(OP, result)
    }

    /// Disables an endpoint for `reason` (`client` or `operator`); `false` when there is no such endpoint.
    pub async fn disable_endpoint(&self, client_id: &str, endpoint_id: &str, reason: &str) -> Result<bool, StoreError> {
        const OP: &str = "UpdateItem disable webhook endpoint";
        let result = super::update_existing(self, item_key(key::client(client_id), key::webhook(endpoint_id)))
            .update_expression("SET #state = :disabled, #reason = :reason")
            .expression_attribute_names("#state", attr::STATE)
            .expression_attribute_names("#reason", attr::DISABLED_REASON)
            .expression_attribute_values(":disabled", s("disabled"))
            .expression_attribute_values(":reason", s(reason))
            .send()
            .await;
        applied(OP, result)
    }

    /// Disables an endpoint that has failed every delivery since `failing_since`: conditioned on it being enabled
    /// and still failing since then, so exactly one worker disables it (and emails its client).
    pub async fn disable_failing_endpoint(
        &self,
        client_id: &str,
        endpoint_id: &str,
        failing_since: &str,
    ) -> Result<bool, StoreError> {
        const OP: &str = "UpdateItem disable failing webhook endpoint";
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(item_key(key::client(client_id), key::webhook(endpoint_id))))
            .update_expression("SET #state = :disabled, #reason = :failing")
            .condition_expression("#state = :enabled AND #since = :since")
            .expression_attribute_names("#state", attr::STATE)
            .expression_attribute_names("#reason", attr::DISABLED_REASON)
            .expression_attribute_names("#since", attr::FAILING_SINCE)
            .expression_attribute_values(":disabled", s("disabled"))
            .expression_attribute_values(":enabled", s("enabled"))
            .expression_attribute_values(":failing", s("failing"))
            .expression_attribute_values(":since", s(failing_since))
            .send()
            .await;
        applied(OP, result)
    }

    /// Deletes an endpoint and takes it off the profile's count, in one transaction; `false` when there was none.
    /// Its deliveries and log expire with their TTL.
    pub async fn delete_endpoint(&self, client_id: &str, endpoint_id: &str) -> Result<bool, StoreError> {
        const OP: &str = "TransactWriteItems delete webhook endpoint";
        let delete = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(self.table())
            .set_key(Some(item_key(key::client(client_id), key::webhook(endpoint_id))))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .build()
            .in_operation(OP)?;
        let count = Update::builder()
            .table_name(self.table())
            .set_key(Some(item_key(key::client(client_id), key::PROFILE.to_owned())))
            .update_expression("ADD #count :minus")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#count", attr::WEBHOOK_ENDPOINTS)
            .expression_attribute_values(":minus", n(-1))
            .build()
            .in_operation(OP)?;
        let result = self
            .client()
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(delete).build())
            .transact_items(TransactWriteItem::builder().update(count).build())
            .send()
            .await;
        first_item_applied(OP, result)
    }

    /// Replaces the signing secret with `new_sealed` and the replaced secrets still signing with `previous` (each
    /// sealed, with until when it signs); conditioned on the current secret being `expected`, so of two rotations at
    /// once one wins and the other stores nothing.
    pub async fn rotate_signing_secret(
        &self,
        client_id: &str,
        endpoint_id: &str,
        expected: &str,
        new_sealed: &str,
        previous: &[(String, String)],
    ) -> Result<bool, StoreError> {
        const OP: &str = "UpdateItem webhook secret";
        let previous = previous
            .iter()
            .map(|(secret, until)| {
                AttributeValue::M(HashMap::from([
                    (attr::SECRET.to_owned(), s(secret)),
                    (attr::UNTIL.to_owned(), s(until)),
                ]))
            })
            .collect();
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(item_key(key::client(client_id), key::webhook(endpoint_id))))
            .update_expression("SET #secret = :new, #previous = :previous")
            .condition_expression("#secret = :expected")
            .expression_attribute_names("#secret", attr::SIGNING_SECRET)
            .expression_attribute_names("#previous", attr::PREVIOUS_SIGNING_SECRETS)
            .expression_attribute_values(":new", s(new_sealed))
            .expression_attribute_values(":previous", AttributeValue::L(previous))
            .expression_attribute_values(":expected", s(expected))
            .send()
            .await;
        applied(OP, result)
    }

    /// Records that an attempt failed: `failingSince` is set if it is not (the streak's first failure).
    pub async fn note_endpoint_failure(&self, client_id: &str, endpoint_id: &str, now: &str) -> Result<(), StoreError> {
        const OP: &str = "UpdateItem webhook endpoint failing";
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(item_key(key::client(client_id), key::webhook(endpoint_id))))
            .update_expression("SET #failing = if_not_exists(#failing, :now)")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#failing", attr::FAILING_SINCE)
            .expression_attribute_values(":now", s(now))
            .send()
            .await;
        applied(OP, result).map(|_| ())
    }

    /// Records that an attempt succeeded: the failing streak ends (`attribute_exists(failingSince)`, so a healthy
    /// endpoint's successes write nothing: the caller only calls this when it read a streak).
    pub async fn note_endpoint_success(&self, client_id: &str, endpoint_id: &str) -> Result<(), StoreError> {
        const OP: &str = "UpdateItem webhook endpoint healthy";
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(item_key(key::client(client_id), key::webhook(endpoint_id))))
            .update_expression("REMOVE #failing")
            .condition_expression("attribute_exists(#failing)")
            .expression_attribute_names("#failing", attr::FAILING_SINCE)
            .send()
            .await;
        applied(OP, result).map(|_| ())
    }

    /// Records an event for an endpoint, due at once (`pendingSince` = `due`); `false` when this event was
    /// already recorded for it (`attribute_not_exists(pk)`): a change read twice makes one delivery.
    pub async fn record_delivery(&self, delivery: &NewDelivery<'_>, due: OffsetDateTime) -> Result<bool, StoreError> {
        const OP: &str = "PutItem webhook delivery";
        let sort_key = key::delivery(delivery.event_at, delivery.event_id);
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .item(
                PK,
                s(key::webhook_log(delivery.client_id, delivery.endpoint_id, webhook_log_shard(delivery.event_id))),
            )
            .item(attr::PENDING_BUCKET, s(webhook_bucket(&sort_key)))
            .item(SK, s(sort_key))
            .item(attr::CLIENT_ID, s(delivery.client_id))
            .item(attr::ENDPOINT_ID, s(delivery.endpoint_id))
            .item(attr::EVENT_ID, s(delivery.event_id))
            .item(attr::EVENT_TYPE, s(delivery.event_type))
            .item(attr::CREATED_AT, s(delivery.event_at))
            .item(attr::BODY, s(delivery.body))
            .item(attr::STATE, s(DeliveryState::Pending.as_str()))
            .item(attr::ATTEMPTS, n(0))
            .item(attr::TOTAL_ATTEMPTS, n(0))
            .item(attr::PENDING_SINCE, s(rfc3339_millis(due)))
            .item(TTL_ATTRIBUTE, expires(due))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await;
        applied(OP, result)
    }

    /// A delivery and its endpoint, in one strongly consistent `BatchGetItem`.
    pub async fn delivery_with_endpoint(
        &self,
        reference: &DeliveryRef,
    ) -> Result<(Option<DeliveryRecord>, Option<EndpointRecord>), StoreError> {
        const OP: &str = "BatchGetItem webhook delivery";
        let delivery_key = delivery_key(reference);
        let endpoint_key = item_key(key::client(&reference.client_id), key::webhook(&reference.endpoint_id));
        let mut wanted = vec![delivery_key, endpoint_key];
        let mut found: Vec<Item> = Vec::new();
        for _ in 0..5 {
            let keys = KeysAndAttributes::builder()
                .set_keys(Some(wanted.clone()))
                .consistent_read(true)
                .build()
                .in_operation(OP)?;
            let out = self.client().batch_get_item().request_items(self.table(), keys).send().await.in_operation(OP)?;
            found.extend(out.responses().and_then(|r| r.get(self.table())).cloned().unwrap_or_default());
            wanted =
                out.unprocessed_keys().and_then(|u| u.get(self.table())).map(|k| k.keys().to_vec()).unwrap_or_default();
            if wanted.is_empty() {
                break;
            }
            super::pause(0).await;
        }
        if !wanted.is_empty() {
            return Err(StoreError::new(OP, "keys left unprocessed"));
        }
        let is = |item: &Item, prefix: &str| super::items::sort_key(item).is_some_and(|sk| sk.starts_with(prefix));
        let delivery = found.iter().find(|i| is(i, key::DELIVERY_PREFIX)).map(|i| delivery_from_item(i, OP));
        let endpoint = found.iter().find(|i| is(i, key::WEBHOOK_PREFIX)).map(|i| endpoint_from_item(i, OP));
        Ok((delivery.transpose()?, endpoint.transpose()?))
    }

    /// Records one attempt and what it leads to, in one transaction: the delivery moves only if it is still
    /// pending at `delivery.attempts` and still due at the time it was read with (another worker that raced on the
    /// same message records nothing), and the attempt joins the log. `false` when the race was lost.
    pub async fn record_attempt(
        &self,
        delivery: &DeliveryRecord,
        attempt: &AttemptRecord,
        next: NextStep,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        const OP: &str = "TransactWriteItems webhook attempt";
        let reference = &delivery.reference;
        let pk = key::webhook_log(&reference.client_id, &reference.endpoint_id, reference.log_shard);
        let mut update = Update::builder()
            .table_name(self.table())
            .set_key(Some(item_key(pk.clone(), delivery.reference.delivery.clone())))
            .condition_expression("#state = :pending AND #attempts = :attempts AND #due = :lease")
            .expression_attribute_names("#state", attr::STATE)
            .expression_attribute_names("#attempts", attr::ATTEMPTS)
            .expression_attribute_names("#total", attr::TOTAL_ATTEMPTS)
            .expression_attribute_names("#due", attr::PENDING_SINCE)
            .expression_attribute_values(":pending", s(DeliveryState::Pending.as_str()))
            .expression_attribute_values(":attempts", n(delivery.attempts))
            .expression_attribute_values(":lease", s(delivery.due_at.clone().unwrap_or_default()))
            .expression_attribute_values(":one", n(1));
        update = match next {
            NextStep::RetryAt(due) => update
                .update_expression("SET #due = :due ADD #attempts :one, #total :one")
                .expression_attribute_values(":due", s(rfc3339_millis(due))),
            NextStep::Done | NextStep::GiveUp => {
                let state = if next == NextStep::Done { DeliveryState::Succeeded } else { DeliveryState::Failed };
                update
                    .update_expression("SET #state = :final ADD #attempts :one, #total :one REMOVE #bucket, #due")
                    .expression_attribute_names("#bucket", attr::PENDING_BUCKET)
                    .expression_attribute_values(":final", s(state.as_str()))
            }
        };
        let mut log = Put::builder()
            .table_name(self.table())
            .item(PK, s(pk))
            .item(SK, s(key::attempt(&attempt.at, &attempt.event_id, attempt.attempt)))
            .item(attr::EVENT_ID, s(&attempt.event_id))
            .item(attr::EVENT_TYPE, s(&attempt.event_type))
            .item(attr::DELIVERY, s(&attempt.delivery))
            .item(attr::ATTEMPT, n(attempt.attempt))
            .item(attr::AT, s(&attempt.at))
            .item(attr::LATENCY_MS, n(attempt.latency_ms))
            .item(attr::ANSWER, s(&attempt.answer))
            .item(TTL_ATTRIBUTE, expires(now));
        if let Some(status) = attempt.http_status {
            log = log.item(attr::HTTP_STATUS, n(status));
        }
        if let Some(error) = &attempt.error {
            log = log.item(attr::ERROR, s(error));
        }
        let result = self
            .client()
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update.build().in_operation(OP)?).build())
            .transact_items(TransactWriteItem::builder().put(log.build().in_operation(OP)?).build())
            .send()
            .await;
        first_item_applied(OP, result)
    }

    /// A page of the deliveries of shard `bucket` ([`webhook_bucket`]) due by `now`, oldest first, at most `limit`,
    /// with the due time each was read at, and where the next page starts (`None` after the last).
    pub async fn due_deliveries(
        &self,
        bucket: &str,
        now: OffsetDateTime,
        limit: i32,
        start: Option<Item>,
    ) -> Result<(Vec<(DeliveryRef, String)>, Option<Item>), StoreError> {
        const OP: &str = "Query due webhook deliveries";
        let out = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(PENDING_INDEX)
            .key_condition_expression("#bucket = :bucket AND #due <= :now")
            .expression_attribute_names("#bucket", attr::PENDING_BUCKET)
            .expression_attribute_names("#due", attr::PENDING_SINCE)
            .expression_attribute_values(":bucket", s(bucket))
            .expression_attribute_values(":now", s(rfc3339_millis(now)))
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .in_operation(OP)?;
        let due = out
            .items()
            .iter()
            .filter_map(|item| {
                let pk = item.get(PK)?.as_s().ok()?;
                let (client_id, endpoint_id, log_shard) = key::parse_webhook_log(pk)?;
                let due = item.get(attr::PENDING_SINCE)?.as_s().ok()?.clone();
                Some((
                    DeliveryRef {
                        client_id: client_id.to_owned(),
                        endpoint_id: endpoint_id.to_owned(),
                        delivery: super::items::sort_key(item)?.to_owned(),
                        log_shard,
                    },
                    due,
                ))
            })
            .collect();
        Ok((due, out.last_evaluated_key().cloned()))
    }

    /// Claims a due delivery for the queue: its due time moves to `until` (the lease), conditioned on it still
    /// being `seen`, so two ticks never both enqueue it, and a worker that dies leaves it due again at `until`.
    pub async fn claim_due(
        &self,
        reference: &DeliveryRef,
        seen: &str,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        const OP: &str = "UpdateItem claim webhook delivery";
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(delivery_key(reference)))
            .update_expression("SET #due = :until")
            .condition_expression("#due = :seen")
            .expression_attribute_names("#due", attr::PENDING_SINCE)
            .expression_attribute_values(":seen", s(seen))
            .expression_attribute_values(":until", s(rfc3339_millis(until)))
            .send()
            .await;
        applied(OP, result)
    }

    /// Starts a new round of attempts for a delivery that is not pending, due at `due`: its attempts in the round
    /// go back to 0 (the log keeps every earlier attempt), and it is kept 30 days from now. `false` when it is pending already or does not exist.
    pub async fn redeliver(&self, reference: &DeliveryRef, due: OffsetDateTime) -> Result<bool, StoreError> {
        const OP: &str = "UpdateItem redeliver webhook";
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(delivery_key(reference)))
            .update_expression("SET #state = :pending, #attempts = :zero, #bucket = :bucket, #due = :due, #ttl = :ttl")
            .condition_expression("attribute_exists(#pk) AND #state <> :pending")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":ttl", expires(due))
            .expression_attribute_names("#state", attr::STATE)
            .expression_attribute_names("#attempts", attr::ATTEMPTS)
            .expression_attribute_names("#bucket", attr::PENDING_BUCKET)
            .expression_attribute_names("#due", attr::PENDING_SINCE)
            .expression_attribute_values(":pending", s(DeliveryState::Pending.as_str()))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":bucket", s(webhook_bucket(&reference.delivery)))
            .expression_attribute_values(":due", s(rfc3339_millis(due)))
            .send()
            .await;
        applied(OP, result)
    }

    /// An endpoint's deliveries of events at or after `since` (all of them when `None`), newest first, at most
    /// `limit`: every shard of its log read, merged by sort key (the event's time first).
    pub async fn deliveries(
        &self,
        client_id: &str,
        endpoint_id: &str,
        since: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let found = every_shard(|shard| {
            let at = LogShard { client_id, endpoint_id, shard };
            self.query_deliveries(at, since, None, false, limit)
        })
        .await?;
        Ok(newest_first(found.into_iter(), |d| d.reference.delivery.clone(), limit))
    }

    /// An endpoint's deliveries of events at or after `since`, oldest first, at most `limit` (every shard, merged).
    pub async fn deliveries_oldest_first(
        &self,
        client_id: &str,
        endpoint_id: &str,
        since: &str,
        limit: usize,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let mut found = every_shard(|shard| {
            let at = LogShard { client_id, endpoint_id, shard };
            self.query_deliveries(at, Some(since), None, true, limit)
        })
        .await?;
        found.sort_by(|a, b| a.reference.delivery.cmp(&b.reference.delivery));
        found.truncate(limit);
        Ok(found)
    }

    /// The endpoint's delivery of one event: a `Query` of the event's shard filtered by its id (every delivery of
    /// the shard is read, none but the match returned), then of shard 0 if it is not there (a delivery recorded
    /// before the log was spread; they expire 30 days after).
    pub async fn delivery_of_event(
        &self,
        client_id: &str,
        endpoint_id: &str,
        event_id: &str,
    ) -> Result<Option<DeliveryRecord>, StoreError> {
        let own = webhook_log_shard(event_id);
        let shards: &[usize] = if own == 0 { &[0] } else { &[own, 0] };
        for &shard in shards {
            let at = LogShard { client_id, endpoint_id, shard };
            if let Some(found) = self.query_deliveries(at, None, Some(event_id), false, 1).await?.into_iter().next() {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    async fn query_deliveries(
        &self,
        at: LogShard<'_>,
        since: Option<&str>,
        event_id: Option<&str>,
        oldest_first: bool,
        limit: usize,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        const OP: &str = "Query webhook deliveries";
        let from = key::delivery(since.unwrap_or(""), "");
        let to = format!("{}~", key::DELIVERY_PREFIX);
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let mut query = self
                .client()
                .query()
                .table_name(self.table())
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", s(at.partition()))
                .expression_attribute_values(":from", s(from.trim_end_matches('#')))
                .expression_attribute_values(":to", s(&to))
                .scan_index_forward(oldest_first)
                .set_exclusive_start_key(start);
            if let Some(event_id) = event_id {
                query = query
                    .filter_expression("#event = :event")
                    .expression_attribute_names("#event", attr::EVENT_ID)
                    .expression_attribute_values(":event", s(event_id));
            }
            let out = query.send().await.in_operation(OP)?;
            for item in out.items() {
                found.push(delivery_from_item(item, OP)?);
                if found.len() >= limit {
                    return Ok(found);
                }
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(found);
            }
        }
    }

    /// An endpoint's attempt log, newest first, at most `limit` (30 days: older attempts expire).
    pub async fn attempts(
        &self,
        client_id: &str,
        endpoint_id: &str,
        limit: i32,
    ) -> Result<Vec<AttemptRecord>, StoreError> {
        const OP: &str = "Query webhook attempts";
        let found = every_shard(|shard| async move {
            let at = LogShard { client_id, endpoint_id, shard };
            let out = self
                .prefix_query(at.partition(), key::ATTEMPT_PREFIX)
                .scan_index_forward(false)
                .limit(limit)
                .send()
                .await
                .in_operation(OP)?;
            out.items().iter().map(|item| attempt_from_item(item, OP)).collect::<Result<Vec<_>, StoreError>>()
        })
        .await?;
        let sort_key = |a: &AttemptRecord| key::attempt(&a.at, &a.event_id, a.attempt);
        Ok(newest_first(found.into_iter(), sort_key, usize::try_from(limit).unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::{DeliveryRef, QueuedDelivery, newest_first};

    #[test]
    fn a_queue_message_written_before_the_log_was_spread_names_shard_0() {
        let before = r#"{"clientId":"c1","endpointId":"e1","delivery":"DELIVERY#t#evt_1","lease":"l"}"#;
        let read: QueuedDelivery = serde_json::from_str(before).expect("a message from before");
        assert_eq!(read.delivery.log_shard, 0);
        let now = QueuedDelivery {
            delivery: DeliveryRef {
                client_id: "c1".into(),
                endpoint_id: "e1".into(),
                delivery: "DELIVERY#t#evt_1".into(),
                log_shard: 7,
            },
            lease: "l".into(),
        };
        let written = serde_json::to_string(&now).expect("json");
        assert!(written.contains(r#""logShard":7"#), "{written}");
        assert_eq!(serde_json::from_str::<QueuedDelivery>(&written).expect("back"), now);
    }

    #[test]
    fn the_newest_entries_of_several_shards_are_taken_by_sort_key() {
        let entries = ["A#2026-12-03T10:00:01", "A#2026-12-03T10:00:03", "A#2026-12-03T10:00:02"];
        let newest = newest_first(entries.into_iter(), |e| (*e).to_owned(), 2);
        assert_eq!(newest, ["A#2026-12-03T10:00:03", "A#2026-12-03T10:00:02"]);
    }
}
