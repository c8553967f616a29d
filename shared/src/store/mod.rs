//! Storage in product words over one DynamoDB table. Every guarantee (a debit never below zero, a message created
//! once, a status that moves only forward) is a condition on the write itself, never a read followed by a write.
//! Losing a condition is a named outcome, not an error.

mod error;
mod items;
pub mod schema;
mod verification;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

use uuid::Uuid;

use crate::domain::cooldown::CooldownWindow;
use crate::domain::language::{HumanLanguage, Template};
use crate::domain::message::{MessageId, MessageStatus, OriginalResponse};
use crate::domain::phone::PhoneE164;
use crate::domain::pricing::Credits;
use crate::domain::subscription::{DebitGuard, Subscription};
use crate::domain::time_format::rfc3339_millis;
pub use error::{Cause, StoreError, backoff, pause};
pub use items::{ClientProfile, MessageRecord, WhatsAppSender, template_value};
use schema::{PK, SK, attr, key};
pub use verification::{
    InitiateLimit, NewVerification, VerificationCharge, VerificationRecord, VerificationReservation, VerificationStatus,
};

/// What a SendMessage needs to decide, read in one round trip.
#[derive(Debug, Clone)]
pub struct SendContext {
    /// The caller's profile; `None` only if the client was deleted after its key was issued.
    pub profile: Option<ClientProfile>,
    /// The destination country's listed price, if listed.
    pub listed_price: Option<Credits>,
    /// The recipient's cooldown window (version 0 when none was ever written).
    pub cooldown: CooldownWindow,
    /// The message the request's idempotency key is already bound to, if it is.
    pub binding: Option<IdempotencyBinding>,
}

/// An idempotency key a request wants to bind to the message it creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    /// The client's key.
    pub key: Uuid,
    /// Keyed hash of the request (never the code itself).
    pub fingerprint: String,
}

/// What an idempotency key is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyBinding {
    /// The message the key created.
    pub message_id: String,
    /// The fingerprint of the request that created it.
    pub fingerprint: String,
}

/// A message about to be created and charged.
#[derive(Debug)]
pub struct NewMessage<'a> {
    /// Who sends it.
    pub client_id: &'a str,
    /// Its id.
    pub id: MessageId,
    /// Where it goes.
    pub to: &'a PhoneE164,
    /// Which template carries it.
    pub template: &'a Template,
    /// What it costs.
    pub cost: Credits,
    /// When it was created.
    pub created_at: time::OffsetDateTime,
    /// The language of the request's human text.
    pub language: HumanLanguage,
}

/// What a message was charged, as failing and refunding it needs: whose, which, to which number (whose cooldown
/// window it leaves), and how much from which subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge<'a> {
    /// The client.
    pub client_id: &'a str,
    /// The message.
    pub message_id: &'a str,
    /// Its recipient.
    pub to_phone: &'a str,
    /// The credits it cost.
    pub cost: Credits,
    /// The subscription's sort key that paid, if any did.
    pub subscription: Option<&'a str>,
}

/// The outcome of reserving credits for a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// The key was bound, the cooldown advanced, the subscription debited and the message created `Pending`,
    /// together.
    Reserved,
    /// The idempotency key was bound by another request first; nothing was written.
    KeyAlreadyBound(IdempotencyBinding),
    /// Another request got there first (the cooldown window moved, the chosen subscription can no longer cover the
    /// cost, or a concurrent transaction held an item): nothing was written; read again and decide again.
    ReadAgain,
}

/// Why WhatsApp failed a message, as CheckMessageStatus shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Failure {
    /// Graph API error code.
    pub code: Option<i64>,
    /// Graph API error type or title.
    pub title: Option<String>,
    /// Human-readable reason.
    pub reason: Option<String>,
}

/// The table, through the real SDK (against AWS, or moto locally).
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

/// A string attribute.
pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute.
pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// An item's key: its partition and sort key.
pub fn item_key(pk: String, sk: String) -> HashMap<String, AttributeValue> {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

/// The cancellation reasons of a cancelled transaction, one per item in order; `None` when the error is not a
/// cancellation (a fault, not a race).
fn cancellation_reasons(
    err: &SdkError<TransactWriteItemsError, HttpResponse>,
) -> Option<&[aws_sdk_dynamodb::types::CancellationReason]> {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
            Some(cancelled.cancellation_reasons())
        }
        _ => None,
    }
}

fn condition_failed(reasons: &[aws_sdk_dynamodb::types::CancellationReason], index: usize) -> bool {
    reasons.get(index).is_some_and(|r| r.code() == Some("ConditionalCheckFailed"))
}

/// Whether a cancellation was a race (a failed condition or a `TransactionConflict`) rather than a fault.
fn is_race(reasons: &[aws_sdk_dynamodb::types::CancellationReason]) -> bool {
    reasons.iter().any(|r| matches!(r.code(), Some("ConditionalCheckFailed" | "TransactionConflict")))
}

/// How many times a transaction that met a `TransactionConflict` is tried again.
const CONFLICT_ATTEMPTS: u32 = 4;

/// A conditional write's outcome: `Ok(true)` when it applied, `Ok(false)` when its condition did not hold (a
/// normal, named outcome), `Err` for anything else.
fn applied<T, E>(operation: &'static str, result: Result<T, SdkError<E, HttpResponse>>) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error().and_then(ProvideErrorMetadata::code) == Some("ConditionalCheckFailedException") =>
        {
            Ok(false)
        }
        Err(e) => Err(StoreError::sdk(operation, e)),
    }
}

/// How many times a batch read retries keys DynamoDB left unprocessed (throttling) before giving up.
const BATCH_GET_ATTEMPTS: u32 = 5;

impl DynamoStore {
    /// A store over `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// One item, read strongly consistently.
    pub(crate) async fn get_consistent(
        &self,
        operation: &'static str,
        key: HashMap<String, AttributeValue>,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::sdk(operation, e))?;
        Ok(out.item().cloned())
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The SDK client, for operator tooling built on the same connection.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Reads, in one strongly consistent `BatchGetItem`, everything a SendMessage decides on besides the balances:
    /// the caller's profile, the destination's price, the recipient's cooldown window and the idempotency key's
    /// binding.
    pub async fn send_context(
        &self,
        client_id: &str,
        to: &PhoneE164,
        key: Option<Uuid>,
    ) -> Result<SendContext, StoreError> {
        const OP: &str = "BatchGetItem send context";
        let cooldown_sk = key::cooldown(to.as_str());
        let price_sk = key::price(to.region().as_str());
        let binding_sk = key.map(|key| key::idempotency(&key.to_string()));
        let mut pending = vec![
            item_key(key::client(client_id), key::PROFILE.to_owned()),
            item_key(key::PRICING.to_owned(), price_sk.clone()),
            item_key(key::client(client_id), cooldown_sk.clone()),
        ];
        if let Some(binding_sk) = &binding_sk {
            pending.push(item_key(key::client(client_id), binding_sk.clone()));
        }
        let mut found = Vec::new();
        for attempt in 0..BATCH_GET_ATTEMPTS {
            if attempt > 0 {
                // DynamoDB left keys unprocessed: it is throttling this table, so wait before asking again.
                pause(attempt).await;
            }
            let keys = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::new(OP, e))?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, keys)
                .send()
                .await
                .map_err(|e| StoreError::sdk(OP, e))?;
            if let Some(items) = out.responses().and_then(|r| r.get(&self.table)) {
                found.extend(items.iter().cloned());
            }
            if let Some(left) = out.unprocessed_keys().and_then(|u| u.get(&self.table)) {
                pending = left.keys().to_vec();
            }
            if pending.is_empty() {
                break;
            }
        }
        if !pending.is_empty() {
            return Err(StoreError::Throttled {
                operation: OP,
                cause: "keys left unprocessed after every retry".into(),
            });
        }
        let mut context =
            SendContext { profile: None, listed_price: None, cooldown: CooldownWindow::default(), binding: None };
        for item in found {
            match items::sort_key(&item) {
                Some(key::PROFILE) => context.profile = Some(ClientProfile::from_item(&item, OP)?),
                Some(sk) if sk == cooldown_sk => context.cooldown = items::cooldown_from_item(&item, OP)?,
                Some(sk) if Some(sk) == binding_sk.as_deref() => {
                    context.binding = Some(items::binding_from_item(&item, OP)?)
                }
                Some(sk) if sk == price_sk => context.listed_price = Some(items::number(&item, attr::CREDITS, OP)?),
                Some(sk) => return Err(StoreError::corrupt(OP, format!("an item it did not ask for: {sk}"))),
                None => return Err(StoreError::corrupt(OP, "item without a sort key")),
            }
        }
        Ok(context)
    }

    /// Reads a client's profile.
    pub async fn client_profile(&self, client_id: &str) -> Result<Option<ClientProfile>, StoreError> {
        const OP: &str = "GetItem client";
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item_key(key::client(client_id), key::PROFILE.to_owned())))
            .send()
            .await
            .map_err(|e| StoreError::sdk(OP, e))?;
        out.item().map(|item| ClientProfile::from_item(item, OP)).transpose()
    }

    /// The client's subscriptions, newest first (one `Query`, paginated only past 1 MB).
    pub async fn subscriptions_newest_first(&self, client_id: &str) -> Result<Vec<Subscription>, StoreError> {
        const OP: &str = "Query subscriptions";
        let mut subscriptions = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", s(key::client(client_id)))
                .expression_attribute_values(":prefix", s(key::SUBSCRIPTION_PREFIX))
                .scan_index_forward(false)
                // A stale balance would refuse a send that could be paid, or pick a payer that cannot pay.
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::sdk(OP, e))?;
            for item in out.items() {
                subscriptions.push(items::subscription_from_item(item, OP)?);
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(subscriptions);
            }
        }
    }

    /// Reserves a message in one transaction, all or nothing:
    /// 1. debit `payer` (`attribute_exists(pk) AND state = Active AND balance >= cost`, plus `guard`'s threshold
    ///    clause): never below zero, and exactly one debit claims the low-balance email;
    /// 2. create the message `Pending` (`attribute_not_exists(pk)`): created once;
    /// 3. write the cooldown window `next` (`version = read.version`, or `attribute_not_exists(pk)` for a first
    ///    send): two racing sends to one number cannot both pass the cooldown;
    /// 4. bind the idempotency key, if any (`attribute_not_exists(pk)`): bound to one message for ever.
    pub async fn reserve(
        &self,
        message: &NewMessage<'_>,
        payer: &Subscription,
        guard: DebitGuard,
        read: &CooldownWindow,
        next: &CooldownWindow,
        claim: Option<&IdempotencyClaim>,
    ) -> Result<Reservation, StoreError> {
        const OP: &str = "TransactWriteItems reserve";
        const KEY_ITEM: usize = 3;
        let debit = self
            .subscription_debit(message.client_id, payer, guard, message.cost, message.created_at)
            .map_err(|e| StoreError::new(OP, e))?;
        let create = Put::builder()
            .table_name(&self.table)
            .set_item(Some(items::new_message_item(message, payer, claim.map(|c| c.key))))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .build()
            .map_err(|e| StoreError::new(OP, e))?;
        let cooldown = self
            .cooldown_put(message.client_id, message.to.as_str(), read, next)
            .map_err(|e| StoreError::new(OP, e))?;
        let mut request = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(debit).build())
            .transact_items(TransactWriteItem::builder().put(create).build())
            .transact_items(TransactWriteItem::builder().put(cooldown).build());
        if let Some(claim) = claim {
            let bind = Put::builder()
                .table_name(&self.table)
                .item(PK, s(key::client(message.client_id)))
                .item(SK, s(key::idempotency(&claim.key.to_string())))
                .item(attr::MESSAGE_ID, s(message.id.to_string()))
                .item(attr::FINGERPRINT, s(claim.fingerprint.clone()))
                .item(attr::CREATED_AT, s(rfc3339_millis(message.created_at)))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PK)
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build()
                .map_err(|e| StoreError::new(OP, e))?;
            request = request.transact_items(TransactWriteItem::builder().put(bind).build());
        }
        let err = match request.send().await {
            Ok(_) => return Ok(Reservation::Reserved),
            Err(err) => err,
        };
        let Some(reasons) = cancellation_reasons(&err) else { return Err(StoreError::transaction(OP, err)) };
        if condition_failed(reasons, KEY_ITEM) {
            let bound = reasons.get(KEY_ITEM).and_then(|r| r.item());
            return match bound {
                Some(item) => Ok(Reservation::KeyAlreadyBound(items::binding_from_item(item, OP)?)),
                // The old item is always returned (ALL_OLD); without it, a fresh read will find the binding.
                None => Ok(Reservation::ReadAgain),
            };
        }
        if is_race(reasons) { Ok(Reservation::ReadAgain) } else { Err(StoreError::transaction(OP, err)) }
    }

    /// The debit of `cost` from `payer`, guarded so that it never goes below zero and, per `guard`, so that exactly
    /// one debit claims the low-balance email.
    pub(crate) fn subscription_debit(
        &self,
        client_id: &str,
        payer: &Subscription,
        guard: DebitGuard,
        cost: Credits,
        now: time::OffsetDateTime,
    ) -> Result<Update, aws_sdk_dynamodb::error::BuildError> {
        let debit = Update::builder()
            .table_name(&self.table)
            .set_key(Some(item_key(key::client(client_id), payer.sort_key.clone())))
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#balance", attr::BALANCE)
            .expression_attribute_names("#state", attr::STATE)
            .expression_attribute_values(":cost", n(cost))
            .expression_attribute_values(":active", s("Active"));
        const DEBITABLE: &str = "attribute_exists(#pk) AND #state = :active AND #balance >= :cost";
        match guard {
            DebitGuard::AlreadyNotified => {
                debit.update_expression("SET #balance = #balance - :cost").condition_expression(DEBITABLE)
            }
            DebitGuard::StaysAbove { floor } => debit
                .update_expression("SET #balance = #balance - :cost")
                .condition_expression(format!("{DEBITABLE} AND #balance >= :floor"))
                .expression_attribute_values(":floor", n(floor)),
            DebitGuard::Crosses { floor } => debit
                .update_expression("SET #balance = #balance - :cost, #notified = :now")
                .condition_expression(format!("{DEBITABLE} AND #balance < :floor AND attribute_not_exists(#notified)"))
                .expression_attribute_names("#notified", attr::LOW_BALANCE_NOTIFIED_AT)
                .expression_attribute_values(":floor", n(floor))
                .expression_attribute_values(":now", s(rfc3339_millis(now))),
        }
        .build()
    }

    /// The conditional write of a cooldown window: `next` replaces what was `read`, only if nobody wrote in between.
    fn cooldown_put(
        &self,
        client_id: &str,
        phone: &str,
        read: &CooldownWindow,
        next: &CooldownWindow,
    ) -> Result<Put, aws_sdk_dynamodb::error::BuildError> {
        let put = Put::builder().table_name(&self.table).set_item(Some(items::cooldown_item(client_id, phone, next)));
        let put = if read.version == 0 {
            put.condition_expression("attribute_not_exists(#pk)").expression_attribute_names("#pk", PK)
        } else {
            put.condition_expression("#version = :read")
                .expression_attribute_names("#version", attr::VERSION)
                .expression_attribute_values(":read", n(read.version))
        };
        put.build()
    }

    /// Records WhatsApp's id and the response to replay, once (`attribute_not_exists(replayStatus)`), whatever
    /// status webhooks have moved the message to meanwhile. Returns `false` when an answer was already recorded.
    pub async fn record_sent(
        &self,
        client_id: &str,
        id: MessageId,
        wamid: &str,
        response: &OriginalResponse,
        now: time::OffsetDateTime,
    ) -> Result<bool, StoreError> {
        const OP: &str = "UpdateItem record sent";
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(key::client(client_id), key::message(&id.to_string()))))
            .update_expression(
                "SET #wamid = :wamid, #replayStatus = :status, #replayBody = :body, #updatedAt = :now \
                 REMOVE #pending, #bucket",
            )
            // Once, whatever webhooks did meanwhile (a `sent` may beat this write): the client got this answer.
            .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#replayStatus)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#wamid", attr::WAMID)
            .expression_attribute_names("#replayStatus", attr::REPLAY_STATUS)
            .expression_attribute_names("#replayBody", attr::REPLAY_BODY)
            .expression_attribute_names("#updatedAt", attr::UPDATED_AT)
            .expression_attribute_names("#pending", attr::PENDING_SINCE)
            .expression_attribute_names("#bucket", attr::PENDING_BUCKET)
            .expression_attribute_values(":wamid", s(wamid))
            .expression_attribute_values(":status", n(response.status))
            .expression_attribute_values(":body", s(response.body.clone()))
            .expression_attribute_values(":now", s(rfc3339_millis(now)))
            .send()
            .await;
        applied(OP, result)
    }

    /// Fails a message that is `Pending`, `Sent` or `Delivered`, refunds what it was charged and takes it out of the
    /// recipient's cooldown streak, in one transaction guarded by
    /// `status IN (Pending, Sent, Delivered) AND attribute_not_exists(refundedAt)`: however many callers race (the
    /// send itself, webhooks delivered twice, the sweep), the credits come back once. `replay` is what an idempotent
    /// retry will answer from now on (set when the client never got an answer, or got this failure); `None` keeps
    /// the original answer. Returns `false` when the message could not fail any more (or was already refunded).
    pub async fn fail_and_refund(
        &self,
        message: Charge<'_>,
        failure: &Failure,
        replay: Option<&OriginalResponse>,
        now: time::OffsetDateTime,
    ) -> Result<bool, StoreError> {
        const OP: &str = "TransactWriteItems fail and refund";
        let client_id = message.client_id;
        let now = rfc3339_millis(now);
        for attempt in 0..CONFLICT_ATTEMPTS {
            if attempt > 0 {
                pause(attempt).await;
            }
            let window = self.cooldown_window(client_id, message.to_phone).await?;
            let mut set = String::from(
                "SET #status = :failed, #failedAt = :now, #refundedAt = :now, #updatedAt = :now, \
                 #fcode = :fcode, #ftitle = :ftitle, #freason = :freason",
            );
            let mut fail = Update::builder()
                .table_name(&self.table)
                .set_key(Some(item_key(key::client(client_id), key::message(message.message_id))))
                .condition_expression("#status IN (:pending, :sent, :delivered) AND attribute_not_exists(#refundedAt)")
                .expression_attribute_names("#status", attr::STATUS)
                .expression_attribute_names("#failedAt", attr::FAILED_AT)
                .expression_attribute_names("#refundedAt", attr::REFUNDED_AT)
                .expression_attribute_names("#updatedAt", attr::UPDATED_AT)
                .expression_attribute_names("#fcode", attr::FAILURE_CODE)
                .expression_attribute_names("#ftitle", attr::FAILURE_TITLE)
                .expression_attribute_names("#freason", attr::FAILURE_REASON)
                .expression_attribute_names("#pending", attr::PENDING_SINCE)
                .expression_attribute_names("#bucket", attr::PENDING_BUCKET)
                .expression_attribute_values(":failed", s(MessageStatus::Failed.as_str()))
                .expression_attribute_values(":pending", s(MessageStatus::Pending.as_str()))
                .expression_attribute_values(":sent", s(MessageStatus::Sent.as_str()))
                .expression_attribute_values(":delivered", s(MessageStatus::Delivered.as_str()))
                .expression_attribute_values(":now", s(now.clone()))
                .expression_attribute_values(":fcode", failure.code.map_or(AttributeValue::Null(true), n))
                .expression_attribute_values(":ftitle", failure.title.clone().map_or(AttributeValue::Null(true), s))
                .expression_attribute_values(":freason", failure.reason.clone().map_or(AttributeValue::Null(true), s));
            if let Some(replay) = replay {
                set.push_str(", #replayStatus = :rstatus, #replayBody = :rbody");
                fail = fail
                    .expression_attribute_names("#replayStatus", attr::REPLAY_STATUS)
                    .expression_attribute_names("#replayBody", attr::REPLAY_BODY)
                    .expression_attribute_values(":rstatus", n(replay.status))
                    .expression_attribute_values(":rbody", s(replay.body.clone()));
            }
            set.push_str(" REMOVE #pending, #bucket");
            let fail = fail.update_expression(set).build().map_err(|e| StoreError::new(OP, e))?;
            let mut request =
                self.client.transact_write_items().transact_items(TransactWriteItem::builder().update(fail).build());
            if let Some(payer) = message.subscription {
                let refund = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(item_key(key::client(client_id), payer.to_owned())))
                    .update_expression("SET #balance = #balance + :cost")
                    .condition_expression("attribute_exists(#pk)")
                    .expression_attribute_names("#pk", PK)
                    .expression_attribute_names("#balance", attr::BALANCE)
                    .expression_attribute_values(":cost", n(message.cost))
                    .build()
                    .map_err(|e| StoreError::new(OP, e))?;
                request = request.transact_items(TransactWriteItem::builder().update(refund).build());
            }
            if let Some(next) = window.without(message.message_id) {
                let put = self
                    .cooldown_put(client_id, message.to_phone, &window, &next)
                    .map_err(|e| StoreError::new(OP, e))?;
                request = request.transact_items(TransactWriteItem::builder().put(put).build());
            }
            let err = match request.send().await {
                Ok(_) => return Ok(true),
                Err(err) => err,
            };
            match cancellation_reasons(&err) {
                Some(reasons) if condition_failed(reasons, 0) => return Ok(false),
                // The window moved (another send or failure) or a transaction held an item: read again.
                Some(reasons) if is_race(reasons) => continue,
                _ => return Err(StoreError::transaction(OP, err)),
            }
        }
        Err(StoreError::Conflict { operation: OP, cause: "kept losing races to other transactions".into() })
    }

    /// Moves a message forward to `to` (`Sent`, `Delivered`, `Read` or `Deleted`), guarded by
    /// `status IN (<to's predecessors>)`: a repeated or backward update changes nothing and returns `false`.
    pub async fn advance_status(
        &self,
        client_id: &str,
        message_id: &str,
        to: MessageStatus,
        now: time::OffsetDateTime,
    ) -> Result<bool, StoreError> {
        const OP: &str = "UpdateItem advance status";
        let from = to.predecessors();
        if from.is_empty() || to == MessageStatus::Failed {
            return Err(StoreError::new(OP, format!("{to:?} is not reached by advancing")));
        }
        let placeholders: Vec<String> = (0..from.len()).map(|i| format!(":from{i}")).collect();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(key::client(client_id), key::message(message_id))))
            .update_expression("SET #status = :to, #updatedAt = :now REMOVE #pending, #bucket")
            .condition_expression(format!("#status IN ({})", placeholders.join(", ")))
            .expression_attribute_names("#status", attr::STATUS)
            .expression_attribute_names("#updatedAt", attr::UPDATED_AT)
            .expression_attribute_names("#pending", attr::PENDING_SINCE)
            .expression_attribute_names("#bucket", attr::PENDING_BUCKET)
            .expression_attribute_values(":to", s(to.as_str()))
            .expression_attribute_values(":now", s(rfc3339_millis(now)));
        for (placeholder, status) in placeholders.iter().zip(from) {
            update = update.expression_attribute_values(placeholder, s(status.as_str()));
        }
        applied(OP, update.send().await)
    }

    /// The message WhatsApp knows as `wamid`, through the sparse `wamid-index`; `None` for an id that is not ours.
    pub async fn message_by_wamid(&self, wamid: &str) -> Result<Option<MessageRecord>, StoreError> {
        const OP: &str = "Query wamid-index";
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(schema::WAMID_INDEX)
            .key_condition_expression("#wamid = :wamid")
            .expression_attribute_names("#wamid", attr::WAMID)
            .expression_attribute_values(":wamid", s(wamid))
            .limit(1)
            .send()
            .await
            .map_err(|e| StoreError::sdk(OP, e))?;
        let Some(keys) = out.items().first() else { return Ok(None) };
        self.message_at(keys.clone()).await
    }

    /// Messages still `Pending` without a WhatsApp answer since before `cutoff`, oldest first, through the sparse
    /// `pending-index` (at most `limit`).
    pub async fn stranded_messages(
        &self,
        cutoff: time::OffsetDateTime,
        limit: i32,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        const OP: &str = "Query pending-index";
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(schema::PENDING_INDEX)
            .key_condition_expression("#bucket = :bucket AND #since < :cutoff")
            .expression_attribute_names("#bucket", attr::PENDING_BUCKET)
            .expression_attribute_names("#since", attr::PENDING_SINCE)
            .expression_attribute_values(":bucket", s(schema::PENDING_BUCKET))
            .expression_attribute_values(":cutoff", s(rfc3339_millis(cutoff)))
            .limit(limit)
            .send()
            .await
            .map_err(|e| StoreError::sdk(OP, e))?;
        let mut stranded = Vec::new();
        for keys in out.items() {
            if let Some(message) = self.message_at(keys.clone()).await? {
                stranded.push(message);
            }
        }
        Ok(stranded)
    }

    /// The message at an index entry's table key (indexes project keys only).
    async fn message_at(
        &self,
        index_entry: HashMap<String, AttributeValue>,
    ) -> Result<Option<MessageRecord>, StoreError> {
        const OP: &str = "GetItem message";
        let key: HashMap<String, AttributeValue> =
            index_entry.into_iter().filter(|(name, _)| name == PK || name == SK).collect();
        let item = self.get_consistent(OP, key).await?;
        item.as_ref().map(|item| MessageRecord::from_item(item, OP)).transpose()
    }

    /// What an idempotency key is bound to, read consistently on its own.
    pub async fn idempotency_binding(
        &self,
        client_id: &str,
        key: Uuid,
    ) -> Result<Option<IdempotencyBinding>, StoreError> {
        const OP: &str = "GetItem idempotency key";
        let item =
            self.get_consistent(OP, item_key(key::client(client_id), key::idempotency(&key.to_string()))).await?;
        item.as_ref().map(|item| items::binding_from_item(item, OP)).transpose()
    }

    async fn cooldown_window(&self, client_id: &str, phone: &str) -> Result<CooldownWindow, StoreError> {
        const OP: &str = "GetItem cooldown";
        let item = self.get_consistent(OP, item_key(key::client(client_id), key::cooldown(phone))).await?;
        item.as_ref().map_or(Ok(CooldownWindow::default()), |item| items::cooldown_from_item(item, OP))
    }

    /// One message of one client, read consistently (a client checks right after sending). Another client's id is
    /// simply not under this client's key.
    pub async fn message(&self, client_id: &str, id: MessageId) -> Result<Option<MessageRecord>, StoreError> {
        const OP: &str = "GetItem message";
        let item = self.get_consistent(OP, item_key(key::client(client_id), key::message(&id.to_string()))).await?;
        item.as_ref().map(|item| MessageRecord::from_item(item, OP)).transpose()
    }

    /// Counts a request from `source_ip` in its one-minute window: `ADD count 1` guarded by
    /// `attribute_not_exists(count) OR count < :limit`, so the counter stops at the limit. Returns `false` when
    /// the window is full. The counter expires (TTL) an hour after its window.
    pub async fn count_request(&self, source_ip: &str, window: i64, limit: u32) -> Result<bool, StoreError> {
        const OP: &str = "UpdateItem rate window";
        let expires = (window + 61) * 60;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(key::rate_window(source_ip, window), key::RATE.to_owned())))
            .update_expression("ADD #count :one SET #ttl = :expires")
            .condition_expression("attribute_not_exists(#count) OR #count < :limit")
            .expression_attribute_names("#count", attr::COUNT)
            .expression_attribute_names("#ttl", schema::TTL_ATTRIBUTE)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(limit))
            .expression_attribute_values(":expires", n(expires))
            .send()
            .await;
        applied(OP, result)
    }
}
