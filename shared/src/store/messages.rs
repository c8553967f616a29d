//! Messages after their reservation: reads by id, by WhatsApp id and stranded ones, and the forward-only status
//! changes (a failure refunds once, in the same transaction).

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::ReturnValue;

use super::*;

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
    /// The purse its credits were taken from, and go back to.
    pub purse: usize,
    /// The channel it paid for: a failure or status of one channel never touches the other's (after a fallback,
    /// WhatsApp's statuses change nothing).
    pub channel: Channel,
}

/// The condition that a message is on `channel`, with `#channel` and `:channel` (no attribute: WhatsApp, as every
/// message before the fallback existed).
pub(super) fn on_channel(channel: Channel) -> &'static str {
    match channel {
        Channel::WhatsApp => "(attribute_not_exists(#channel) OR #channel = :channel)",
        Channel::Sms => "#channel = :channel",
    }
}

/// What a reported status did to the message it named: whether the message moved, and the message as it was before
/// (its channel, its WhatsApp id, whether it keeps a fallback code).
#[derive(Debug, Clone)]
pub struct Advanced {
    /// The status was applied.
    pub changed: bool,
    /// The item before the write, read from the write's own answer.
    pub before: MessageRecord,
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

/// How many times a transaction that met a `TransactionConflict` is tried again.
const CONFLICT_ATTEMPTS: u32 = 4;

impl DynamoStore {
    /// Fails a message that is `Pending`, `Sent` or `Delivered` on the charge's channel, refunds what it was charged
    /// and takes it out of the recipient's cooldown streak, in one transaction guarded by
    /// `status IN (Pending, Sent, Delivered) AND attribute_not_exists(refundedAt) AND <on the channel>`: however many
    /// callers race (the send itself, webhooks delivered twice, the sweep, the fallback), the credits come back once. `replay` is what an idempotent
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
                .condition_expression(format!(
                    "#status IN (:pending, :sent, :delivered) AND attribute_not_exists(#refundedAt) AND {}",
                    on_channel(message.channel)
                ))
                .expression_attribute_names("#status", attr::STATUS)
                .expression_attribute_names("#channel", attr::CHANNEL)
                .expression_attribute_values(":channel", s(message.channel.as_str()))
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
            let fail = fail.update_expression(set).build().in_operation(OP)?;
            let mut request =
                self.client.transact_write_items().transact_items(TransactWriteItem::builder().update(fail).build());
            if let Some(payer) = message.subscription {
                let refund = PurseRefund { sort_key: payer, purse: message.purse, credits: message.cost };
                let refund = self.purse_refund(client_id, &refund)?;
                request = request.transact_items(TransactWriteItem::builder().update(refund).build());
            }
            if let Some(next) = window.without(message.message_id) {
                let put = self.cooldown_put(client_id, message.to_phone, &window, &next).in_operation(OP)?;
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

    /// Moves a message forward to `to` (`Sent`, `Delivered`, `Read` or `Deleted`) on `channel`, guarded by
    /// `status IN (<to's predecessors>) AND <on the channel>`: a repeated or backward update, or one about the
    /// channel the message left, changes nothing and returns `false`.
    pub async fn advance_status(
        &self,
        client_id: &str,
        message_id: &str,
        channel: Channel,
        to: MessageStatus,
        now: time::OffsetDateTime,
    ) -> Result<bool, StoreError> {
        const OP: &str = "UpdateItem advance status";
        applied(OP, self.advance(OP, client_id, message_id, channel, to, now, None)?.send().await)
    }

    /// *advance status* for a status WhatsApp reported about `wamid`, in one write that also reads: the message moves
    /// only if it records no other WhatsApp id, and the item as it was before is returned whether it moved or not
    /// (`ALL_OLD`, no read unit), so the webhook needs no `GetItem` first. `None`: no such message.
    pub async fn advance_reported_status(
        &self,
        client_id: &str,
        message_id: &str,
        wamid: &str,
        to: MessageStatus,
        now: time::OffsetDateTime,
    ) -> Result<Option<Advanced>, StoreError> {
        const OP: &str = "UpdateItem advance reported status";
        let sent = self
            .advance(OP, client_id, message_id, Channel::WhatsApp, to, now, Some(wamid))?
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let (changed, before) = match sent {
            Ok(out) => (true, out.attributes),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(lost)) => (false, lost.item.clone()),
                _ => return Err(StoreError::sdk(OP, err)),
            },
        };
        let Some(before) = before else { return Ok(None) };
        Ok(Some(Advanced { changed, before: MessageRecord::from_item(&before, OP)? }))
    }

    /// The *advance status* update, for the caller to send: forward only, on `channel`, and, given a WhatsApp id,
    /// only for the message that records that id or none yet (a `sent` may beat *record sent*).
    #[allow(clippy::too_many_arguments)]
    fn advance(
        &self,
        operation: &'static str,
        client_id: &str,
        message_id: &str,
        channel: Channel,
        to: MessageStatus,
        now: time::OffsetDateTime,
        wamid: Option<&str>,
    ) -> Result<UpdateItemFluentBuilder, StoreError> {
        let from = to.predecessors();
        if from.is_empty() || to == MessageStatus::Failed {
            return Err(StoreError::new(operation, format!("{to:?} is not reached by advancing")));
        }
        let placeholders: Vec<String> = (0..from.len()).map(|i| format!(":from{i}")).collect();
        let mut condition = format!("#status IN ({}) AND {}", placeholders.join(", "), on_channel(channel));
        if wamid.is_some() {
            condition.push_str(" AND (attribute_not_exists(#wamid) OR #wamid = :wamid)");
        }
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(key::client(client_id), key::message(message_id))))
            .update_expression("SET #status = :to, #updatedAt = :now REMOVE #pending, #bucket")
            .condition_expression(condition)
            .expression_attribute_names("#status", attr::STATUS)
            .expression_attribute_names("#channel", attr::CHANNEL)
            .expression_attribute_values(":channel", s(channel.as_str()))
            .expression_attribute_names("#updatedAt", attr::UPDATED_AT)
            .expression_attribute_names("#pending", attr::PENDING_SINCE)
            .expression_attribute_names("#bucket", attr::PENDING_BUCKET)
            .expression_attribute_values(":to", s(to.as_str()))
            .expression_attribute_values(":now", s(rfc3339_millis(now)));
        if let Some(wamid) = wamid {
            update = update
                .expression_attribute_names("#wamid", attr::WAMID)
                .expression_attribute_values(":wamid", s(wamid));
        }
        for (placeholder, status) in placeholders.iter().zip(from) {
            update = update.expression_attribute_values(placeholder, s(status.as_str()));
        }
        Ok(update)
    }

    /// The message WhatsApp knows as `wamid`, through the sparse `wamid-index`; `None` for an id that is not ours.
    pub async fn message_by_wamid(&self, wamid: &str) -> Result<Option<MessageRecord>, StoreError> {
        let Some(keys) = self.wamid_entry(wamid).await? else { return Ok(None) };
        self.message_at(keys).await
    }

    /// The client and message ids of the message WhatsApp knows by `wamid`, from `wamid-index` alone (one `Query`,
    /// no read of the message).
    pub async fn message_key_by_wamid(&self, wamid: &str) -> Result<Option<(String, String)>, StoreError> {
        let Some(keys) = self.wamid_entry(wamid).await? else { return Ok(None) };
        let key = |name: &str| keys.get(name).and_then(|v| v.as_s().ok()).map(String::as_str).unwrap_or_default();
        Ok(key::parse_message(key(schema::PK), key(schema::SK)))
    }

    /// The keys of `wamid`'s entry in `wamid-index` (eventually consistent, as any index read).
    async fn wamid_entry(&self, wamid: &str) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
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
            .in_operation(OP)?;
        Ok(out.items().first().cloned())
    }

    /// Messages still `Pending` without a WhatsApp answer since before `cutoff`, oldest first, through the sparse
    /// `pending-index` (at most `limit`).
    pub async fn stranded_messages(
        &self,
        cutoff: time::OffsetDateTime,
        limit: i32,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        const OP: &str = "Query pending-index";
        let entries = self.pending_before_in_shards(OP, schema::PENDING_BUCKET, cutoff, limit).await?;
        let mut stranded = Vec::new();
        for keys in &entries {
            if let Some(message) = self.message_at(keys.clone()).await? {
                stranded.push(message);
            }
        }
        Ok(stranded)
    }

    /// Up to `limit` entries (keys only) of the [`schema::PENDING_SHARDS`] buckets of `base` whose `pendingSince` is
    /// before `cutoff`, oldest first: one `Query` per shard, concurrently.
    pub(super) async fn pending_before_in_shards(
        &self,
        operation: &'static str,
        base: &str,
        cutoff: time::OffsetDateTime,
        limit: i32,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let buckets: Vec<String> = (0..schema::PENDING_SHARDS).map(|shard| schema::shard_name(base, shard)).collect();
        let pages = futures::future::try_join_all(
            buckets.iter().map(|bucket| self.pending_before(operation, bucket, cutoff, limit)),
        )
        .await?;
        let mut entries: Vec<_> = pages.into_iter().flatten().collect();
        let since = |entry: &HashMap<String, AttributeValue>| items::optional_string(entry, attr::PENDING_SINCE);
        entries.sort_by_key(since);
        entries.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(entries)
    }

    /// Up to `limit` entries (keys only) of `pending-index` bucket `bucket` whose `pendingSince` is before `cutoff`,
    /// oldest first, one page (eventually consistent, as every index read).
    pub(super) async fn pending_before(
        &self,
        operation: &'static str,
        bucket: &str,
        cutoff: time::OffsetDateTime,
        limit: i32,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(schema::PENDING_INDEX)
            .key_condition_expression("#bucket = :bucket AND #since < :cutoff")
            .expression_attribute_names("#bucket", attr::PENDING_BUCKET)
            .expression_attribute_names("#since", attr::PENDING_SINCE)
            .expression_attribute_values(":bucket", s(bucket))
            .expression_attribute_values(":cutoff", s(rfc3339_millis(cutoff)))
            .limit(limit)
            .send()
            .await
            .in_operation(operation)?;
        Ok(out.items().to_vec())
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

    /// One message of one client, read consistently (a client checks right after sending). Another client's id is
    /// simply not under this client's key.
    pub async fn message(&self, client_id: &str, id: MessageId) -> Result<Option<MessageRecord>, StoreError> {
        const OP: &str = "GetItem message";
        let item = self.get_consistent(OP, item_key(key::client(client_id), key::message(&id.to_string()))).await?;
        item.as_ref().map(|item| MessageRecord::from_item(item, OP)).transpose()
    }
}
