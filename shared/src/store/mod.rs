//! Storage in product words over one DynamoDB table. Every guarantee (a debit never below zero, a message created
//! once, a status that moves only forward) is a condition on the write itself, never a read followed by a write.
//! Losing a condition is a named outcome, not an error.
//!
//! One module per aggregate: `sending` (the send reservation), `messages` (reads and status changes after it),
//! `subscriptions` (profiles and who pays), `rate` (per-IP counters), `verification` (the Verify API's requests,
//! limits and wallets), `accounts` (dashboard users, sessions, links), `console` (plans, orders, audit, key list),
//! `operator` (writes only operators and the dashboard make); `items` converts items to product types, `schema`
//! names keys and attributes, `error` tells failures apart. This module holds the table handle and the helpers they
//! share.

mod accounts;
mod client_webhooks;
mod console;
mod error;
mod fallback;
mod items;
mod messages;
mod operator;
mod rate;
pub mod schema;
mod sending;
mod subscriptions;
mod verification;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

use crate::domain::channel::Channel;
use crate::domain::cooldown::CooldownWindow;
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::language::{HumanLanguage, Template};
use crate::domain::message::{MessageId, MessageStatus, OriginalResponse};
use crate::domain::phone::PhoneE164;
use crate::domain::pricing::Credits;
use crate::domain::purse::{PURSES, Purses, debit_takes, kept_floors};
use crate::domain::subscription::{DebitGuard, Subscription};
use crate::domain::time_format::rfc3339_millis;
pub use accounts::{AccountCreation, StoredSession, User};
pub use client_webhooks::{
    AttemptRecord, DeliveryRecord, DeliveryRef, DeliveryState, EndpointRecord, MAX_PREVIOUS_SECRETS, NewDelivery,
    NextStep, QueuedDelivery, message_image,
};
pub use console::{ApiKeyRecord, AuditEntry, OrderRecord, OrderTransition, PlanRecord};
pub use error::{InOperation, StoreError, pause};
pub use fallback::{Handover, SmsHandover};
pub use items::{ClientProfile, FallbackFailure, MessageRecord, WhatsAppSender, template_value};
pub use messages::{Advanced, Charge, Failure};
pub use operator::{ApiKeyMetadata, PriceEntry};
use schema::{PK, SK, attr, key};
pub use sending::{IdempotencyBinding, IdempotencyClaim, NewMessage, Reservation, SendContext};
use subscriptions::{PurseDebit, PurseRefund};
pub use verification::{
    InitiateLimit, NewVerification, VerificationCharge, VerificationRecord, VerificationReservation, VerificationStatus,
};

/// How many times a batch read asks for keys DynamoDB left unprocessed (throttling) before giving up.
const BATCH_GET_ATTEMPTS: u32 = 5;

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

/// An update of an item that must already exist (`attribute_exists(pk)`): a typo in an id changes nothing and
/// fails instead of creating a stray item.
pub(crate) fn update_existing(
    store: &DynamoStore,
    key: HashMap<String, AttributeValue>,
) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
    store
        .client()
        .update_item()
        .table_name(store.table())
        .set_key(Some(key))
        .condition_expression("attribute_exists(#pk)")
        .expression_attribute_names("#pk", PK)
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

/// A transaction guarded by its first item's condition: `Ok(true)` when it applied, `Ok(false)` when that condition
/// did not hold, `Err` for anything else (another item's condition, a conflict, a fault).
fn first_item_applied<T>(
    operation: &'static str,
    result: Result<T, SdkError<TransactWriteItemsError, HttpResponse>>,
) -> Result<bool, StoreError> {
    match result {
        Ok(_) => Ok(true),
        Err(err) => match cancellation_reasons(&err) {
            Some(reasons) if condition_failed(reasons, 0) => Ok(false),
            _ => Err(StoreError::transaction(operation, err)),
        },
    }
}

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
            .in_operation(operation)?;
        Ok(out.item().cloned())
    }

    /// A `Query` of the items of partition `pk` whose sort key begins with `prefix`, for the caller to order, limit
    /// and send.
    pub(crate) fn prefix_query(
        &self,
        pk: String,
        prefix: &str,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s(prefix))
    }

    /// Every item `query` returns, page after page (DynamoDB ends a page at 1 MB).
    pub(crate) async fn query_all(
        operation: &'static str,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = query.clone().set_exclusive_start_key(start).send().await.in_operation(operation)?;
            found.extend(out.items().iter().cloned());
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(found);
            }
        }
    }

    /// Reads `keys` in one strongly consistent `BatchGetItem` (at most 100 keys), retrying keys DynamoDB left
    /// unprocessed (it is throttling the table) with backoff, [`BATCH_GET_ATTEMPTS`] times in all.
    pub(crate) async fn batch_get_consistent(
        &self,
        operation: &'static str,
        keys: Vec<HashMap<String, AttributeValue>>,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let mut pending = keys;
        let mut found = Vec::new();
        for attempt in 0..BATCH_GET_ATTEMPTS {
            if attempt > 0 {
                pause(attempt).await;
            }
            let keys = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .in_operation(operation)?;
            let out =
                self.client.batch_get_item().request_items(&self.table, keys).send().await.in_operation(operation)?;
            if let Some(items) = out.responses().and_then(|r| r.get(&self.table)) {
                found.extend(items.iter().cloned());
            }
            if let Some(left) = out.unprocessed_keys().and_then(|u| u.get(&self.table)) {
                pending = left.keys().to_vec();
            }
            if pending.is_empty() {
                return Ok(found);
            }
        }
        Err(StoreError::Throttled { operation, cause: "keys left unprocessed after every retry".into() })
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The SDK client, for operator tooling built on the same connection.
    pub fn client(&self) -> &Client {
        &self.client
    }
}
