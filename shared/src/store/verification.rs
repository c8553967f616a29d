//! Storage of the Verify API: the wallet, requests (with the code's keyed hash only), and the per-number and
//! per-client initiate limits with their cool-off. Every guarantee is a condition on the write.

use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};
use time::OffsetDateTime;

use super::items::{number, optional_string, string};
use super::schema::{PK, SK, TTL_ATTRIBUTE, attr, key};
use super::{
    DynamoStore, InOperation, PurseDebit, PurseRefund, StoreError, applied, cancellation_reasons, condition_failed,
    first_item_applied, is_race, item_key, n, s,
};
use crate::domain::language::HumanLanguage;
use crate::domain::phone::PhoneE164;
use crate::domain::pricing::Credits;
use crate::domain::subscription::{DebitGuard, Subscription};
use crate::domain::time_format::{parse_rfc3339, rfc3339_millis};

/// Initiates allowed per receiver (per client) per minute.
pub const PER_NUMBER_PER_MINUTE: u32 = 10;
/// Initiates allowed per client per minute.
pub const PER_CLIENT_PER_MINUTE: u32 = 1000;
/// The cool-off once a limit is hit.
pub const COOL_OFF_SECONDS: i64 = 60;

/// A Verify request about to be created.
#[derive(Debug)]
pub struct NewVerification<'a> {
    /// Its client.
    pub client_id: &'a str,
    /// Its id.
    pub request_id: &'a str,
    /// The recipient.
    pub receiver: &'a PhoneE164,
    /// Keyed hash of the code (never the code).
    pub code_hash: String,
    /// When the code stops being accepted.
    pub code_expires_at: OffsetDateTime,
    /// SMS parts charged.
    pub cost: Credits,
    /// The language of the SMS.
    pub lang: HumanLanguage,
    /// The SMS sender id.
    pub sender: &'a str,
    /// Now.
    pub created_at: OffsetDateTime,
}

/// What pays for a Verify request.
#[derive(Debug, Clone, Copy)]
pub enum VerificationCharge<'a> {
    /// The wallet (`balance >= cost`).
    Wallet,
    /// A subscription, guarded like SendMessage's debit.
    Subscription(&'a Subscription, DebitGuard),
}

/// The outcome of reserving a Verify request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerificationReservation {
    /// Charged and created, together.
    Reserved,
    /// The wallet cannot cover the cost; nothing was written.
    WalletShort,
    /// The subscription moved under us; read again.
    ReadAgain,
}

/// A Verify request's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerificationStatus {
    /// Waiting for the right code.
    Pending,
    /// The right code was given (once).
    Verified,
    /// The SMS could not be sent; refunded.
    Failed,
}

/// A Verify request as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationRecord {
    /// Its id.
    pub request_id: String,
    /// Keyed hash of the code.
    pub code_hash: String,
    /// When the code stops being accepted.
    pub code_expires_at: OffsetDateTime,
    /// Wrong codes so far.
    pub attempts: u32,
    /// Its state.
    pub status: VerificationStatus,
}

/// The outcome of counting an initiate against its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitiateLimit {
    /// Counted.
    Admitted,
    /// Refused; retry after this many seconds.
    Limited {
        /// Seconds.
        retry_after: u64,
    },
}

fn status_text(status: VerificationStatus) -> &'static str {
    match status {
        VerificationStatus::Pending => "pending",
        VerificationStatus::Verified => "verified",
        VerificationStatus::Failed => "failed",
    }
}

fn only_conflicts(reasons: &[aws_sdk_dynamodb::types::CancellationReason]) -> bool {
    !reasons.iter().any(|r| r.code() == Some("ConditionalCheckFailed"))
        && reasons.iter().any(|r| r.code() == Some("TransactionConflict"))
}

impl DynamoStore {
    /// Counts an initiate for `receiver` and for the client in one transaction, unless either is cooling off: one
    /// `Update` of each scope's counter for this minute (`ADD count 1`), guarded by
    /// `(attribute_not_exists(until) OR until <= :now) AND (attribute_not_exists(count) OR count < :limit)`: the
    /// cool-off lives on the counters of the minutes it covers (docs/data-model.md, "Verify limit counter"). A counter
    /// at its limit starts a 60 s cool-off for its scope; a cancelled counter returns its item, whose `until` gives
    /// `Retry-After` with no further read.
    pub async fn admit_initiate(
        &self,
        client_id: &str,
        receiver: &PhoneE164,
        now: OffsetDateTime,
    ) -> Result<InitiateLimit, StoreError> {
        const OP: &str = "TransactWriteItems initiate limits";
        let now_seconds = now.unix_timestamp();
        let minute = now_seconds.div_euclid(60);
        let scopes = [
            (format!("{client_id}#{}", receiver.as_str()), PER_NUMBER_PER_MINUTE),
            (client_id.to_owned(), PER_CLIENT_PER_MINUTE),
        ];
        let mut request = self.client.transact_write_items();
        for (scope, limit) in &scopes {
            let count = Update::builder()
                .table_name(&self.table)
                .set_key(Some(item_key(key::verify_limit(scope, minute), key::LIMIT.to_owned())))
                .update_expression("ADD #count :one SET #ttl = :expires")
                .condition_expression(
                    "(attribute_not_exists(#until) OR #until <= :now) AND (attribute_not_exists(#count) OR #count < :limit)",
                )
                .expression_attribute_names("#until", attr::UNTIL)
                .expression_attribute_names("#count", attr::COUNT)
                .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
                .expression_attribute_values(":now", n(now_seconds))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":limit", n(*limit))
                .expression_attribute_values(":expires", n((minute + 61) * 60))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build()
                .in_operation(OP)?;
            request = request.transact_items(TransactWriteItem::builder().update(count).build());
        }
        let mut conflicts = 0;
        let err = loop {
            match request.clone().send().await {
                Ok(_) => return Ok(InitiateLimit::Admitted),
                // Another initiate of the same client held a counter: not a limit, try again.
                Err(err) if cancellation_reasons(&err).is_some_and(only_conflicts) && conflicts < 4 => {
                    conflicts += 1;
                    super::pause(conflicts).await;
                }
                Err(err) => break err,
            }
        };
        let Some(reasons) = cancellation_reasons(&err) else { return Err(StoreError::transaction(OP, err)) };
        let refused: Vec<(usize, Option<i64>)> = (0..scopes.len())
            .filter(|&index| condition_failed(reasons, index))
            .map(|index| {
                let until = reasons[index].item().and_then(|item| super::items::optional_number(item, attr::UNTIL));
                (index, until.filter(|until| *until > now_seconds))
            })
            .collect();
        // A running cool-off answers first (the per-number one before the client's), then a full counter.
        if let Some(until) = refused.iter().find_map(|(_, cooling_until)| *cooling_until) {
            return Ok(InitiateLimit::Limited { retry_after: u64::try_from(until - now_seconds).unwrap_or(1).max(1) });
        }
        if let Some((index, _)) = refused.first() {
            self.start_cool_off(&scopes[*index].0, minute, now_seconds + COOL_OFF_SECONDS).await?;
            return Ok(InitiateLimit::Limited { retry_after: COOL_OFF_SECONDS as u64 });
        }
        if is_race(reasons) {
            return Ok(InitiateLimit::Limited { retry_after: 1 });
        }
        Err(StoreError::transaction(OP, err))
    }

    /// Starts (or extends) a scope's cool-off until `until`, on the counters of this `minute` and the next (a 60 s
    /// cool-off ends in the next minute), both at once: on each, `until` only ever moves later.
    async fn start_cool_off(&self, scope: &str, minute: i64, until: i64) -> Result<(), StoreError> {
        tokio::try_join!(self.cool_off_minute(scope, minute, until), self.cool_off_minute(scope, minute + 1, until))
            .map(|_| ())
    }

    /// [`Self::start_cool_off`] on one minute's counter.
    async fn cool_off_minute(&self, scope: &str, minute: i64, until: i64) -> Result<(), StoreError> {
        const OP: &str = "UpdateItem cool-off";
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(key::verify_limit(scope, minute), key::LIMIT.to_owned())))
            .update_expression("SET #until = :until, #ttl = :expires")
            .condition_expression("attribute_not_exists(#until) OR #until < :until")
            .expression_attribute_names("#until", attr::UNTIL)
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":expires", n(until + 3600))
            .send()
            .await;
        // Losing the condition means a later cool-off is already set: nothing to do.
        applied(OP, result).map(|_| ())
    }

    /// Charges and creates a Verify request in one transaction: the debit (wallet `attribute_exists(pk) AND
    /// balance >= :cost`, or the subscription's guarded debit) and the request (`attribute_not_exists(pk)`).
    pub async fn reserve_verification(
        &self,
        request: &NewVerification<'_>,
        charge: VerificationCharge<'_>,
    ) -> Result<VerificationReservation, StoreError> {
        const OP: &str = "TransactWriteItems reserve verification";
        let (debit, charged_to, charged_purse) = match charge {
            VerificationCharge::Wallet => (
                vec![
                    TransactWriteItem::builder()
                        .update(
                            Update::builder()
                                .table_name(&self.table)
                                .set_key(Some(item_key(key::client(request.client_id), key::WALLET.to_owned())))
                                .update_expression("SET #balance = #balance - :cost")
                                .condition_expression("attribute_exists(#pk) AND #balance >= :cost")
                                .expression_attribute_names("#pk", PK)
                                .expression_attribute_names("#balance", attr::BALANCE)
                                .expression_attribute_values(":cost", n(request.cost))
                                .build()
                                .in_operation(OP)?,
                        )
                        .build(),
                ],
                key::WALLET.to_owned(),
                None,
            ),
            VerificationCharge::Subscription(payer, guard) => {
                let debit = PurseDebit {
                    client_id: request.client_id,
                    payer,
                    guard,
                    cost: request.cost,
                    start: crate::domain::purse::first_purse(request.request_id),
                    refund: None,
                    now: request.created_at,
                };
                let Some(debit) = self.purse_debit(&debit)? else { return Ok(VerificationReservation::ReadAgain) };
                (debit.items, payer.sort_key.clone(), Some(debit.charged_purse))
            }
        };
        let created_at = rfc3339_millis(request.created_at);
        let mut create = Put::builder()
            .table_name(&self.table)
            .item(PK, s(key::client(request.client_id)))
            .item(SK, s(key::verification(request.request_id)))
            .item(attr::REQUEST_ID, s(request.request_id))
            .item(attr::CLIENT_ID, s(request.client_id))
            .item(attr::RECEIVER, s(request.receiver.as_str()))
            .item(attr::CODE_HASH, s(request.code_hash.clone()))
            .item(attr::CODE_EXPIRES_AT, s(rfc3339_millis(request.code_expires_at)))
            .item(attr::ATTEMPTS, n(0))
            .item(attr::STATUS, s(status_text(VerificationStatus::Pending)))
            .item(attr::COST, n(request.cost))
            .item(attr::CHARGED_TO, s(charged_to))
            .item(attr::HUMAN_LANGUAGE, s(request.lang.code()))
            .item(attr::SENDER, s(request.sender))
            .item(attr::CREATED_AT, s(created_at))
            // The request, with its hashed code, is deleted a day after the code expires.
            .item(TTL_ATTRIBUTE, n(request.code_expires_at.unix_timestamp() + 24 * 3600))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK);
        if let Some(purse) = charged_purse {
            create = create.item(attr::CHARGED_PURSE, n(purse));
        }
        let create = create.build().in_operation(OP)?;
        let mut transaction = self.client.transact_write_items();
        for item in debit {
            transaction = transaction.transact_items(item);
        }
        let result = transaction.transact_items(TransactWriteItem::builder().put(create).build()).send().await;
        let err = match result {
            Ok(_) => return Ok(VerificationReservation::Reserved),
            Err(err) => err,
        };
        match (cancellation_reasons(&err), charge) {
            (Some(reasons), VerificationCharge::Wallet) if condition_failed(reasons, 0) => {
                Ok(VerificationReservation::WalletShort)
            }
            (Some(reasons), _) if is_race(reasons) => Ok(VerificationReservation::ReadAgain),
            _ => Err(StoreError::transaction(OP, err)),
        }
    }

    /// Fails a request whose SMS could not be sent and gives its credits back, once
    /// (`status = pending AND attribute_not_exists(refundedAt)`).
    pub async fn refund_verification(
        &self,
        client_id: &str,
        request_id: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        const OP: &str = "TransactWriteItems refund verification";
        let Some(item) = self.verification_item(client_id, request_id).await? else { return Ok(false) };
        let charged_to = string(&item, attr::CHARGED_TO, OP)?;
        let cost: Credits = number(&item, attr::COST, OP)?;
        let fail = Update::builder()
            .table_name(&self.table)
            .set_key(Some(item_key(key::client(client_id), key::verification(request_id))))
            .update_expression("SET #status = :failed, #refundedAt = :now")
            .condition_expression("#status = :pending AND attribute_not_exists(#refundedAt)")
            .expression_attribute_names("#status", attr::STATUS)
            .expression_attribute_names("#refundedAt", attr::REFUNDED_AT)
            .expression_attribute_values(":failed", s(status_text(VerificationStatus::Failed)))
            .expression_attribute_values(":pending", s(status_text(VerificationStatus::Pending)))
            .expression_attribute_values(":now", s(rfc3339_millis(now)))
            .build()
            .in_operation(OP)?;
        let refund = if charged_to == key::WALLET {
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(item_key(key::client(client_id), charged_to)))
                .update_expression("SET #balance = #balance + :cost")
                .condition_expression("attribute_exists(#pk)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#balance", attr::BALANCE)
                .expression_attribute_values(":cost", n(cost))
                .build()
                .in_operation(OP)?
        } else {
            let purse = super::items::optional_number(&item, attr::CHARGED_PURSE).unwrap_or(0);
            self.purse_refund(client_id, &PurseRefund { sort_key: &charged_to, purse, credits: cost })?
        };
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(fail).build())
            .transact_items(TransactWriteItem::builder().update(refund).build())
            .send()
            .await;
        first_item_applied(OP, result)
    }

    async fn verification_item(
        &self,
        client_id: &str,
        request_id: &str,
    ) -> Result<Option<std::collections::HashMap<String, AttributeValue>>, StoreError> {
        const OP: &str = "GetItem verification";
        let item = self.get_consistent(OP, item_key(key::client(client_id), key::verification(request_id))).await?;
        Ok(item)
    }

    /// One of the caller's Verify requests (another client's is not under this key).
    pub async fn verification(
        &self,
        client_id: &str,
        request_id: &str,
    ) -> Result<Option<VerificationRecord>, StoreError> {
        const OP: &str = "GetItem verification";
        let Some(item) = self.verification_item(client_id, request_id).await? else { return Ok(None) };
        let expires = string(&item, attr::CODE_EXPIRES_AT, OP)?;
        let status = match optional_string(&item, attr::STATUS).as_deref() {
            Some("verified") => VerificationStatus::Verified,
            Some("failed") => VerificationStatus::Failed,
            _ => VerificationStatus::Pending,
        };
        Ok(Some(VerificationRecord {
            request_id: string(&item, attr::REQUEST_ID, OP)?,
            code_hash: string(&item, attr::CODE_HASH, OP)?,
            code_expires_at: parse_rfc3339(&expires).ok_or_else(|| StoreError::corrupt(OP, "codeExpiresAt"))?,
            attempts: number(&item, attr::ATTEMPTS, OP)?,
            status,
        }))
    }

    /// Marks a request verified, once: `status = pending AND attempts < 5 AND codeExpiresAt > :now`. Returns
    /// `false` when another verify got there first (or the code expired or ran out of attempts meanwhile).
    pub async fn mark_verified(
        &self,
        client_id: &str,
        request_id: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        const OP: &str = "UpdateItem verified";
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(key::client(client_id), key::verification(request_id))))
            .update_expression("SET #status = :verified, #verifiedAt = :now")
            .condition_expression("#status = :pending AND #attempts < :max AND #expires > :now")
            .expression_attribute_names("#status", attr::STATUS)
            .expression_attribute_names("#verifiedAt", attr::VERIFIED_AT)
            .expression_attribute_names("#attempts", attr::ATTEMPTS)
            .expression_attribute_names("#expires", attr::CODE_EXPIRES_AT)
            .expression_attribute_values(":verified", s(status_text(VerificationStatus::Verified)))
            .expression_attribute_values(":pending", s(status_text(VerificationStatus::Pending)))
            .expression_attribute_values(":max", n(crate::domain::verification::MAX_ATTEMPTS))
            .expression_attribute_values(":now", s(rfc3339_millis(now)))
            .send()
            .await;
        applied(OP, result)
    }

    /// Counts a wrong code: `ADD attempts 1` (and `updatedAt`, the time of the last one, which a client webhook's
    /// `otp.failed` gives when the attempts run out) guarded by `status = pending AND attempts < 5`. Returns `false`
    /// when the request could take no more attempts.
    pub async fn count_wrong_code(
        &self,
        client_id: &str,
        request_id: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        const OP: &str = "UpdateItem wrong code";
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(key::client(client_id), key::verification(request_id))))
            .update_expression("SET #updatedAt = :now ADD #attempts :one")
            .condition_expression("#status = :pending AND #attempts < :max")
            .expression_attribute_names("#status", attr::STATUS)
            .expression_attribute_names("#attempts", attr::ATTEMPTS)
            .expression_attribute_names("#updatedAt", attr::UPDATED_AT)
            .expression_attribute_values(":now", s(rfc3339_millis(now)))
            .expression_attribute_values(":pending", s(status_text(VerificationStatus::Pending)))
            .expression_attribute_values(":max", n(crate::domain::verification::MAX_ATTEMPTS))
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        applied(OP, result)
    }

    /// The client's wallet balance (0 when it was never topped up).
    pub async fn wallet_balance(&self, client_id: &str) -> Result<Credits, StoreError> {
        const OP: &str = "GetItem wallet";
        let item = self.get_consistent(OP, item_key(key::client(client_id), key::WALLET.to_owned())).await?;
        Ok(item.as_ref().and_then(|item| super::items::optional_number(item, attr::BALANCE)).unwrap_or(Credits::ZERO))
    }
}
