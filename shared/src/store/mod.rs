//! Storage in product words over one DynamoDB table. Every guarantee (a debit never below zero, a message created
//! once, a status that moves only forward) is a condition on the write itself, never a read followed by a write.
//! Losing a condition is a named outcome, not an error.

mod admin;
mod items;
pub mod schema;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem, Update};

use crate::domain::language::Template;
use crate::domain::message::{MessageId, MessageStatus};
use crate::domain::phone::{PhoneE164, Region};
use crate::domain::pricing::Credits;
use crate::domain::subscription::Subscription;
use crate::domain::time_format::rfc3339_millis;
pub use admin::{ApiKeyMetadata, PriceEntry};
pub use items::{ClientProfile, MessageRecord, WhatsAppSender};
use schema::{PK, SK, attr, key};

/// A storage failure: the operation and the SDK's whole cause chain, for the log (never for a client).
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed: {detail}")]
pub struct StoreError {
    operation: &'static str,
    detail: String,
}

impl StoreError {
    /// Wraps an SDK (or any) error with the operation it broke.
    pub fn new(operation: &'static str, err: impl std::fmt::Display) -> Self {
        Self {
            operation,
            detail: err.to_string(),
        }
    }

    pub(crate) fn sdk<E: std::error::Error>(operation: &'static str, err: E) -> Self {
        Self::new(operation, DisplayErrorContext(err))
    }

    pub(crate) fn corrupt(operation: &'static str, what: impl std::fmt::Display) -> Self {
        Self::new(operation, format!("unreadable item: {what}"))
    }
}

/// What a SendMessage needs to decide, read in one round trip.
#[derive(Debug, Clone)]
pub struct SendContext {
    /// The caller's profile; `None` only if the client was deleted after its key was issued.
    pub profile: Option<ClientProfile>,
    /// The destination country's listed price, if listed.
    pub listed_price: Option<Credits>,
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
}

/// The outcome of reserving credits for a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// The subscription was debited and the message created `Pending`, together.
    Reserved,
    /// Another request got there first (the chosen subscription can no longer cover the cost, or a concurrent
    /// transaction held it): nothing was written; read again and choose again.
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

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn item_key(pk: String, sk: String) -> HashMap<String, AttributeValue> {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

/// Why a transaction was cancelled, when the cause is a race rather than a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LostRace {
    /// The first item's condition failed: the state it guards has moved on.
    FirstCondition,
    /// Another transaction on the same items was in flight (`TransactionConflict`): worth retrying as is.
    Conflict,
}

fn lost_race(err: &SdkError<TransactWriteItemsError, HttpResponse>) -> Option<LostRace> {
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        err.as_service_error()
    else {
        return None;
    };
    let reasons = cancelled.cancellation_reasons();
    if reasons
        .first()
        .is_some_and(|r| r.code() == Some("ConditionalCheckFailed"))
    {
        Some(LostRace::FirstCondition)
    } else if reasons
        .iter()
        .any(|r| r.code() == Some("TransactionConflict"))
    {
        Some(LostRace::Conflict)
    } else {
        None
    }
}

/// How many times a transaction that met a `TransactionConflict` is tried again.
const CONFLICT_ATTEMPTS: usize = 4;

/// How many times a batch read retries keys DynamoDB left unprocessed (throttling) before giving up.
const BATCH_GET_ATTEMPTS: usize = 5;

impl DynamoStore {
    /// A store over `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The SDK client, for operator tooling built on the same connection.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Reads the caller's profile and the destination's price in one `BatchGetItem`.
    pub async fn send_context(
        &self,
        client_id: &str,
        region: &Region,
    ) -> Result<SendContext, StoreError> {
        const OP: &str = "BatchGetItem send context";
        let profile_key = item_key(key::client(client_id), key::PROFILE.to_owned());
        let price_key = item_key(key::PRICING.to_owned(), key::price(region.as_str()));
        let mut pending = vec![profile_key, price_key];
        let mut found = Vec::new();
        for _ in 0..BATCH_GET_ATTEMPTS {
            let keys = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
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
            return Err(StoreError::new(OP, "keys left unprocessed after retries"));
        }
        let mut context = SendContext {
            profile: None,
            listed_price: None,
        };
        for item in found {
            match items::sort_key(&item) {
                Some(key::PROFILE) => context.profile = Some(ClientProfile::from_item(&item, OP)?),
                Some(_) => context.listed_price = Some(items::number(&item, attr::CREDITS, OP)?),
                None => return Err(StoreError::corrupt(OP, "item without a sort key")),
            }
        }
        Ok(context)
    }

    /// The client's subscriptions, newest first (one `Query`, paginated only past 1 MB).
    pub async fn subscriptions_newest_first(
        &self,
        client_id: &str,
    ) -> Result<Vec<Subscription>, StoreError> {
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

    /// Debits `payer` and creates the message `Pending`, in one transaction: the debit's condition
    /// (`state = Active AND balance >= cost`) makes a negative balance impossible under any concurrency, and the
    /// message's (`attribute_not_exists(pk)`) makes it created once.
    pub async fn reserve(
        &self,
        message: &NewMessage<'_>,
        payer: &Subscription,
    ) -> Result<Reservation, StoreError> {
        const OP: &str = "TransactWriteItems reserve";
        let debit = Update::builder()
            .table_name(&self.table)
            .set_key(Some(item_key(
                key::client(message.client_id),
                payer.sort_key.clone(),
            )))
            .update_expression("SET #balance = #balance - :cost")
            .condition_expression(
                "attribute_exists(#pk) AND #state = :active AND #balance >= :cost",
            )
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#balance", attr::BALANCE)
            .expression_attribute_names("#state", attr::STATE)
            .expression_attribute_values(":cost", n(message.cost))
            .expression_attribute_values(":active", s("Active"))
            .build()
            .map_err(|e| StoreError::new(OP, e))?;
        let create = Put::builder()
            .table_name(&self.table)
            .set_item(Some(items::new_message_item(message, payer)))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .build()
            .map_err(|e| StoreError::new(OP, e))?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(debit).build())
            .transact_items(TransactWriteItem::builder().put(create).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(Reservation::Reserved),
            Err(err) if lost_race(&err).is_some() => Ok(Reservation::ReadAgain),
            Err(err) => Err(StoreError::sdk(OP, err)),
        }
    }

    /// Records WhatsApp's id for a message still `Pending`. Returns `false` when the message had already moved on.
    pub async fn record_whatsapp_id(
        &self,
        client_id: &str,
        id: MessageId,
        wamid: &str,
    ) -> Result<bool, StoreError> {
        const OP: &str = "UpdateItem record wamid";
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(
                key::client(client_id),
                key::message(&id.to_string()),
            )))
            .update_expression("SET #wamid = :wamid REMOVE #pending")
            .condition_expression("#status = :pending")
            .expression_attribute_names("#wamid", attr::WAMID)
            .expression_attribute_names("#pending", attr::PENDING_SINCE)
            .expression_attribute_names("#status", attr::STATUS)
            .expression_attribute_values(":wamid", s(wamid))
            .expression_attribute_values(":pending", s(MessageStatus::Pending.as_str()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(StoreError::sdk(OP, e)),
        }
    }

    /// Fails a `Pending` message and refunds what it was charged, in one transaction guarded by
    /// `attribute_not_exists(refundedAt)`: however many callers race, the credits come back once.
    /// Returns `false` when the message was no longer `Pending` or already refunded.
    pub async fn fail_and_refund(
        &self,
        client_id: &str,
        message: &MessageRecord,
        failure: &Failure,
        now: time::OffsetDateTime,
    ) -> Result<bool, StoreError> {
        const OP: &str = "TransactWriteItems fail and refund";
        let now = rfc3339_millis(now);
        let fail = Update::builder()
            .table_name(&self.table)
            .set_key(Some(item_key(
                key::client(client_id),
                key::message(&message.id),
            )))
            .update_expression(
                "SET #status = :failed, #failedAt = :now, #refundedAt = :now, #updatedAt = :now, \
                 #fcode = :fcode, #ftitle = :ftitle, #freason = :freason REMOVE #pending",
            )
            .condition_expression("#status = :pending AND attribute_not_exists(#refundedAt)")
            .expression_attribute_names("#status", attr::STATUS)
            .expression_attribute_names("#failedAt", attr::FAILED_AT)
            .expression_attribute_names("#refundedAt", attr::REFUNDED_AT)
            .expression_attribute_names("#updatedAt", attr::UPDATED_AT)
            .expression_attribute_names("#fcode", attr::FAILURE_CODE)
            .expression_attribute_names("#ftitle", attr::FAILURE_TITLE)
            .expression_attribute_names("#freason", attr::FAILURE_REASON)
            .expression_attribute_names("#pending", attr::PENDING_SINCE)
            .expression_attribute_values(":failed", s(MessageStatus::Failed.as_str()))
            .expression_attribute_values(":pending", s(MessageStatus::Pending.as_str()))
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(
                ":fcode",
                failure.code.map_or(AttributeValue::Null(true), n),
            )
            .expression_attribute_values(
                ":ftitle",
                failure.title.clone().map_or(AttributeValue::Null(true), s),
            )
            .expression_attribute_values(
                ":freason",
                failure.reason.clone().map_or(AttributeValue::Null(true), s),
            )
            .build()
            .map_err(|e| StoreError::new(OP, e))?;
        let mut request = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(fail).build());
        if let Some(payer) = &message.charged_subscription {
            let refund = Update::builder()
                .table_name(&self.table)
                .set_key(Some(item_key(key::client(client_id), payer.clone())))
                .update_expression("SET #balance = #balance + :cost")
                .condition_expression("attribute_exists(#pk)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#balance", attr::BALANCE)
                .expression_attribute_values(":cost", n(message.cost))
                .build()
                .map_err(|e| StoreError::new(OP, e))?;
            request = request.transact_items(TransactWriteItem::builder().update(refund).build());
        }
        for _ in 1..CONFLICT_ATTEMPTS {
            match request.clone().send().await {
                Ok(_) => return Ok(true),
                Err(err) => match lost_race(&err) {
                    Some(LostRace::FirstCondition) => return Ok(false),
                    Some(LostRace::Conflict) => continue,
                    None => return Err(StoreError::sdk(OP, err)),
                },
            }
        }
        match request.send().await {
            Ok(_) => Ok(true),
            Err(err) if lost_race(&err) == Some(LostRace::FirstCondition) => Ok(false),
            Err(err) => Err(StoreError::sdk(OP, err)),
        }
    }

    /// One message of one client, read consistently (a client checks right after sending). Another client's id is
    /// simply not under this client's key.
    pub async fn message(
        &self,
        client_id: &str,
        id: MessageId,
    ) -> Result<Option<MessageRecord>, StoreError> {
        const OP: &str = "GetItem message";
        let out = self
            .client
            .get_item()
            .consistent_read(true)
            .table_name(&self.table)
            .set_key(Some(item_key(
                key::client(client_id),
                key::message(&id.to_string()),
            )))
            .send()
            .await
            .map_err(|e| StoreError::sdk(OP, e))?;
        out.item()
            .map(|item| MessageRecord::from_item(item, OP))
            .transpose()
    }
}
