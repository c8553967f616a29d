//! The WhatsApp → SMS fallback's storage (docs/data-model.md, Fallback codes): the sealed code a message keeps
//! while its window is open, the SMS price table, and the one transaction that hands a message over to SMS — its
//! WhatsApp attempt refunded, its SMS debited, its code erased — at most once.

use aws_sdk_dynamodb::types::Delete;

use super::*;

/// A message about to be handed over to SMS: what refunds its WhatsApp attempt, why WhatsApp failed, and who pays
/// the SMS.
#[derive(Debug, Clone, Copy)]
pub struct SmsHandover<'a> {
    /// The WhatsApp attempt's charge (refunded).
    pub whatsapp: Charge<'a>,
    /// WhatsApp's failure, kept as the message's `fallback`.
    pub failure: &'a Failure,
    /// What the SMS costs.
    pub sms_cost: Credits,
    /// The subscription that pays the SMS, as its balance will be once the WhatsApp attempt is refunded (when it is
    /// the one that paid it).
    pub payer: &'a Subscription,
    /// The debit's guard, for that balance.
    pub guard: DebitGuard,
    /// The answer an idempotent retry replays from now on, when the client has not had one yet (a fallback during
    /// the send itself).
    pub replay: Option<&'a OriginalResponse>,
    /// When.
    pub now: time::OffsetDateTime,
}

/// What came of a handover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handover {
    /// The message is now on SMS, `Pending`: WhatsApp's attempt refunded, the SMS debited, the code erased.
    HandedOver,
    /// The message had already left WhatsApp's `Pending`/`Sent` (another caller failed it or handed it over first,
    /// or WhatsApp delivered it): nothing was written.
    AlreadyDecided,
    /// Its code is gone (the window closed, or it was delivered): nothing was written; it cannot fall back.
    CodeGone,
    /// A balance moved or another transaction held an item: nothing was written; read again and decide again.
    ReadAgain,
}

impl DynamoStore {
    /// The sealed code a message keeps for its fallback, read consistently; `None` once erased.
    pub async fn fallback_code(&self, client_id: &str, message_id: &str) -> Result<Option<String>, StoreError> {
        const OP: &str = "GetItem fallback code";
        let item = self.get_consistent(OP, item_key(key::client(client_id), key::fallback_code(message_id))).await?;
        item.as_ref().map(|item| items::string(item, attr::SEALED_CODE, OP)).transpose()
    }

    /// A country's price per SMS part, if listed.
    pub async fn sms_price(&self, region: &str) -> Result<Option<Credits>, StoreError> {
        const OP: &str = "GetItem SMS price";
        let item = self.get_consistent(OP, item_key(key::PRICING.to_owned(), key::sms_price(region))).await?;
        item.as_ref().map(|item| items::number(item, attr::CREDITS, OP)).transpose()
    }

    /// Hands a message over to SMS in one transaction, all or nothing:
    /// 1. the message (`status IN (Pending, Sent) AND attribute_not_exists(refundedAt) AND` on WhatsApp; never after
    ///    a delivery):
    ///    channel `sms`, status `Pending`, WhatsApp's failure kept as `fallbackFailure`, the SMS's cost and payer, back
    ///    in the stranded messages' bucket until SNS takes the SMS — so at most one caller ever hands it over;
    /// 2. the code item deleted (`attribute_exists(pk) AND pendingSince >= now`): none after the window or a delivery;
    /// 3. the SMS debited from its payer's purses (as any debit: no share below zero, the low-balance claim once)
    ///    and the WhatsApp attempt refunded to the share that paid it, in one update per purse touched.
    pub async fn hand_over_to_sms(&self, handover: &SmsHandover<'_>) -> Result<Handover, StoreError> {
        const OP: &str = "TransactWriteItems hand over to SMS";
        const MESSAGE_ITEM: usize = 0;
        const CODE_ITEM: usize = 1;
        let whatsapp = handover.whatsapp;
        let client_id = whatsapp.client_id;
        let now = rfc3339_millis(handover.now);
        let failure = handover.failure;
        let optional_text = |text: &Option<String>| text.clone().map_or(AttributeValue::Null(true), s);
        let fallback_failure = AttributeValue::M(HashMap::from([
            (attr::FAILURE_CODE.to_owned(), failure.code.map_or(AttributeValue::Null(true), n)),
            (attr::FAILURE_TITLE.to_owned(), optional_text(&failure.title)),
            (attr::FAILURE_REASON.to_owned(), optional_text(&failure.reason)),
            (attr::FAILED_AT.to_owned(), s(now.clone())),
        ]));
        let mut set = String::from(
            "SET #channel = :sms, #status = :pending, #cost = :cost, #payer = :payer, #purse = :purse, \
             #fallback = :fallback, #whatsappRefundedAt = :now, #updatedAt = :now, #since = :now, #bucket = :bucket",
        );
        let mut message = Update::builder()
            .table_name(&self.table)
            .set_key(Some(item_key(key::client(client_id), key::message(whatsapp.message_id))))
            .condition_expression(format!(
                "#status IN (:pending, :sent) AND attribute_not_exists(#refundedAt) AND {}",
                super::messages::on_channel(Channel::WhatsApp)
            ))
            .expression_attribute_names("#channel", attr::CHANNEL)
            .expression_attribute_names("#status", attr::STATUS)
            .expression_attribute_names("#cost", attr::COST)
            .expression_attribute_names("#payer", attr::CHARGED_SUBSCRIPTION)
            .expression_attribute_names("#purse", attr::CHARGED_PURSE)
            .expression_attribute_names("#fallback", attr::FALLBACK_FAILURE)
            .expression_attribute_names("#whatsappRefundedAt", attr::WHATSAPP_REFUNDED_AT)
            .expression_attribute_names("#updatedAt", attr::UPDATED_AT)
            .expression_attribute_names("#since", attr::PENDING_SINCE)
            .expression_attribute_names("#bucket", attr::PENDING_BUCKET)
            .expression_attribute_names("#refundedAt", attr::REFUNDED_AT)
            .expression_attribute_values(":sms", s(Channel::Sms.as_str()))
            .expression_attribute_values(":channel", s(Channel::WhatsApp.as_str()))
            .expression_attribute_values(":pending", s(MessageStatus::Pending.as_str()))
            .expression_attribute_values(":sent", s(MessageStatus::Sent.as_str()))
            .expression_attribute_values(":cost", n(handover.sms_cost))
            .expression_attribute_values(":payer", s(handover.payer.sort_key.clone()))
            .expression_attribute_values(":fallback", fallback_failure)
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(
                ":bucket",
                s(schema::pending_bucket(schema::PENDING_BUCKET, whatsapp.message_id)),
            );
        if let Some(replay) = handover.replay {
            set.push_str(", #replayStatus = :rstatus, #replayBody = :rbody");
            message = message
                .expression_attribute_names("#replayStatus", attr::REPLAY_STATUS)
                .expression_attribute_names("#replayBody", attr::REPLAY_BODY)
                .expression_attribute_values(":rstatus", n(replay.status))
                .expression_attribute_values(":rbody", s(replay.body.clone()));
        }
        // The code item's `pendingSince` is when its window closes: the window is enforced by the write, not only
        // by the sweep's erasing.
        let erase = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(item_key(key::client(client_id), key::fallback_code(whatsapp.message_id))))
            .condition_expression("attribute_exists(#pk) AND #until >= :now")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#until", attr::PENDING_SINCE)
            .expression_attribute_values(":now", s(rfc3339_millis(handover.now)))
            .build()
            .in_operation(OP)?;
        // The WhatsApp attempt's refund goes into the same writes as the SMS's debit: where both touch one purse,
        // one update does both (a transaction may write an item only once).
        let refund = whatsapp.subscription.map(|sort_key| PurseRefund {
            sort_key,
            purse: whatsapp.purse,
            credits: whatsapp.cost,
        });
        let debit = PurseDebit {
            client_id,
            payer: handover.payer,
            guard: handover.guard,
            cost: handover.sms_cost,
            start: crate::domain::purse::first_purse(whatsapp.message_id),
            refund,
            now: handover.now,
        };
        let Some(debit) = self.purse_debit(&debit)? else { return Ok(Handover::ReadAgain) };
        let message = message.expression_attribute_values(":purse", n(debit.charged_purse));
        let message = message.update_expression(set).build().in_operation(OP)?;
        let mut request = self
            .client
            .transact_write_items()
            // The SDK retries a request whose answer was lost; with a token, a retry of a handover that committed
            // answers success instead of losing its own condition (and the SMS never going).
            .client_request_token(uuid::Uuid::new_v4().to_string())
            .transact_items(TransactWriteItem::builder().update(message).build())
            .transact_items(TransactWriteItem::builder().delete(erase).build());
        for item in debit.items {
            request = request.transact_items(item);
        }
        let err = match request.send().await {
            Ok(_) => return Ok(Handover::HandedOver),
            Err(err) => err,
        };
        match cancellation_reasons(&err) {
            Some(reasons) if condition_failed(reasons, MESSAGE_ITEM) => Ok(Handover::AlreadyDecided),
            Some(reasons) if condition_failed(reasons, CODE_ITEM) => Ok(Handover::CodeGone),
            Some(reasons) if is_race(reasons) => Ok(Handover::ReadAgain),
            _ => Err(StoreError::transaction(OP, err)),
        }
    }

    /// Erases a message's sealed code (delivered or read: it will not fall back). `false` when it was already gone.
    pub async fn erase_fallback_code(&self, client_id: &str, message_id: &str) -> Result<bool, StoreError> {
        const OP: &str = "DeleteItem fallback code";
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(item_key(key::client(client_id), key::fallback_code(message_id))))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await;
        applied(OP, result)
    }

    /// Erases up to `limit` sealed codes whose window closed before `now`, oldest first, through the `pending-index`
    /// bucket `FALLBACK`. Returns how many it erased (a code erased meanwhile by a delivery is not counted).
    pub async fn erase_expired_fallback_codes(
        &self,
        now: time::OffsetDateTime,
        limit: i32,
    ) -> Result<usize, StoreError> {
        const OP: &str = "Query pending-index fallback codes";
        let entries = self.pending_before_in_shards(OP, schema::PENDING_FALLBACK_CODES_BUCKET, now, limit).await?;
        let mut erased = 0;
        for entry in &entries {
            let (Some(pk), Some(sk)) = (entry.get(PK).cloned(), entry.get(SK).cloned()) else { continue };
            let result = self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(HashMap::from([(PK.to_owned(), pk), (SK.to_owned(), sk)])))
                .condition_expression("attribute_exists(#pk)")
                .expression_attribute_names("#pk", PK)
                .send()
                .await;
            if applied("DeleteItem expired fallback code", result)? {
                erased += 1;
            }
        }
        Ok(erased)
    }
}
