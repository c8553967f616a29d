//! The send reservation: what a SendMessage reads to decide (one batch read), and the one transaction that binds
//! its idempotency key, debits its subscription, creates the message and advances the recipient's cooldown window,
//! together; then the record of WhatsApp's answer.

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;

use crate::domain::purse::first_purse;
use crate::domain::rate_limit::{Counted, RateWindow};

use super::*;

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
    /// The requests the source IP made in the request's rate window so far, per counter.
    pub rate_counts: Vec<u32>,
    /// The client's purses: its subscriptions' balances, read with the rest.
    pub purses: Purses,
}

/// An idempotency key a request wants to bind to the message it creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    /// The client's key.
    pub key: IdempotencyKey,
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
    /// The code sealed for the WhatsApp → SMS fallback (`sealed::Purpose::FallbackCode`), when the client has the
    /// fallback on: kept in its own item until the window closes.
    pub fallback_code: Option<String>,
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
    /// The source IP's rate window filled up since it was read: nothing was written, not even the count.
    RateLimited,
    /// Another debit claimed the payer's low-balance email first (its purses did not show it yet): nothing was
    /// written; read again and decide without claiming it.
    LowBalanceAlreadyClaimed,
}

impl DynamoStore {
    /// Reads, in one strongly consistent `BatchGetItem`, everything a SendMessage decides on: the caller's profile,
    /// the destination's price, the recipient's cooldown window, the idempotency key's binding, the source IP's rate
    /// counter and the client's purses (its balances).
    pub async fn send_context(
        &self,
        client_id: &str,
        to: &PhoneE164,
        key: Option<IdempotencyKey>,
        rate: &RateWindow,
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
        let rate_pks: Vec<String> =
            (0..rate.counters()).map(|counter| key::rate_counter(&rate.source_ip, rate.window, counter)).collect();
        pending.extend(rate_pks.iter().map(|pk| item_key(pk.clone(), key::RATE.to_owned())));
        pending.extend((0..PURSES).map(|purse| item_key(key::purse(client_id, purse), key::PURSE.to_owned())));
        let found = self.batch_get_consistent(OP, pending).await?;
        let mut context = SendContext {
            profile: None,
            listed_price: None,
            cooldown: CooldownWindow::default(),
            binding: None,
            rate_counts: vec![0; rate_pks.len()],
            purses: Purses::default(),
        };
        let mut purses = Vec::with_capacity(PURSES);
        for item in found {
            if let Some(counter) = rate_pks.iter().position(|pk| items::partition_key(&item) == Some(pk.as_str())) {
                context.rate_counts[counter] = items::number(&item, attr::COUNT, OP)?;
                continue;
            }
            match items::sort_key(&item) {
                Some(key::PURSE) => purses.push(item),
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
        context.purses = items::purses_from_items(client_id, &purses, OP)?;
        Ok(context)
    }

    /// Reserves a message in one transaction, all or nothing:
    /// 1. create the message `Pending` (`attribute_not_exists(pk)`): created once;
    /// 2. write the cooldown window `next` (`version = read.version`, or `attribute_not_exists(pk)` for a first
    ///    send): two racing sends to one number cannot both pass the cooldown;
    /// 3. count the request in its source IP's rate window (`count < limit`, as [`Self::count_request`]): the
    ///    limit holds for sends exactly as for every other request;
    /// 4. bind the idempotency key, if any (`attribute_not_exists(pk)`): bound to one message for ever;
    /// 5. debit `payer`'s purses ([`Self::purse_debit`]: no share below zero) and, when `guard` says so, claim the
    ///    low-balance email on the subscription (`attribute_not_exists`): exactly one debit ever claims it;
    /// 6. keep the sealed code for the fallback, if the client has it on (no condition: the message's id is new,
    ///    and item 1 guards it).
    #[allow(clippy::too_many_arguments)]
    pub async fn reserve(
        &self,
        message: &NewMessage<'_>,
        payer: &Subscription,
        guard: DebitGuard,
        read: &CooldownWindow,
        next: &CooldownWindow,
        claim: Option<&IdempotencyClaim>,
        rate: Counted<'_>,
    ) -> Result<Reservation, StoreError> {
        const OP: &str = "TransactWriteItems reserve";
        const RATE_ITEM: usize = 2;
        const KEY_ITEM: usize = 3;
        let debit = PurseDebit {
            client_id: message.client_id,
            payer,
            guard,
            cost: message.cost,
            start: first_purse(&message.id.to_string()),
            refund: None,
            now: message.created_at,
        };
        let Some(debit) = self.purse_debit(&debit)? else { return Ok(Reservation::ReadAgain) };
        let create = Put::builder()
            .table_name(&self.table)
            .set_item(Some(items::new_message_item(message, payer, debit.charged_purse, claim.map(|c| c.key))))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .build()
            .in_operation(OP)?;
        let cooldown = self.cooldown_put(message.client_id, message.to.as_str(), read, next).in_operation(OP)?;
        let count = self.rate_count(rate).in_operation(OP)?;
        let mut request = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(create).build())
            .transact_items(TransactWriteItem::builder().put(cooldown).build())
            .transact_items(TransactWriteItem::builder().update(count).build());
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
                .in_operation(OP)?;
            request = request.transact_items(TransactWriteItem::builder().put(bind).build());
        }
        let debit_at = KEY_ITEM + usize::from(claim.is_some());
        let claim_item = debit.claim_index.map(|i| debit_at + i);
        for item in debit.items {
            request = request.transact_items(item);
        }
        if let Some(sealed) = &message.fallback_code {
            let keep = Put::builder()
                .table_name(&self.table)
                .set_item(Some(items::fallback_code_item(message, sealed)))
                .build()
                .in_operation(OP)?;
            request = request.transact_items(TransactWriteItem::builder().put(keep).build());
        }
        let err = match request.send().await {
            Ok(_) => return Ok(Reservation::Reserved),
            Err(err) => err,
        };
        let Some(reasons) = cancellation_reasons(&err) else { return Err(StoreError::transaction(OP, err)) };
        // The rate limit answers first (docs/api.md, SendMessage: order of checks, step 1): a full window stays full;
        // a full counter of a window spread over several sends the request to read the others again.
        if condition_failed(reasons, RATE_ITEM) {
            return Ok(if rate.window.counters() == 1 { Reservation::RateLimited } else { Reservation::ReadAgain });
        }
        if claim.is_some() && condition_failed(reasons, KEY_ITEM) {
            let bound = reasons.get(KEY_ITEM).and_then(|r| r.item());
            return match bound {
                Some(item) => Ok(Reservation::KeyAlreadyBound(items::binding_from_item(item, OP)?)),
                // The old item is always returned (ALL_OLD); without it, a fresh read will find the binding.
                None => Ok(Reservation::ReadAgain),
            };
        }
        if claim_item.is_some_and(|claim| condition_failed(reasons, claim)) {
            return Ok(Reservation::LowBalanceAlreadyClaimed);
        }
        if is_race(reasons) { Ok(Reservation::ReadAgain) } else { Err(StoreError::transaction(OP, err)) }
    }

    /// The conditional write of a cooldown window: `next` replaces what was `read`, only if nobody wrote in between.
    pub(super) fn cooldown_put(
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

    /// The answer a retry replays, recorded only if none is yet (a send whose failure was already settled by a
    /// `failed` webhook's fallback, which records none). Returns `false` when one was.
    pub async fn record_answer_if_missing(
        &self,
        client_id: &str,
        id: MessageId,
        response: &OriginalResponse,
    ) -> Result<bool, StoreError> {
        const OP: &str = "UpdateItem record answer";
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(key::client(client_id), key::message(&id.to_string()))))
            .update_expression("SET #replayStatus = :status, #replayBody = :body")
            .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#replayStatus)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#replayStatus", attr::REPLAY_STATUS)
            .expression_attribute_names("#replayBody", attr::REPLAY_BODY)
            .expression_attribute_values(":status", n(response.status))
            .expression_attribute_values(":body", s(response.body.clone()))
            .send()
            .await;
        applied(OP, result)
    }

    /// Records WhatsApp's id and the response to replay, once (`attribute_not_exists(replayStatus)`), whatever
    /// status webhooks have moved the message to meanwhile, and takes it out of the stranded messages. If a `failed`
    /// webhook already handed it over to SMS (it raced this write), only the id and the answer are recorded: the SMS
    /// leg stays where the sweep watches it. Returns `false` when an answer was already recorded.
    pub async fn record_sent(
        &self,
        client_id: &str,
        id: MessageId,
        wamid: &str,
        response: &OriginalResponse,
        now: time::OffsetDateTime,
    ) -> Result<bool, StoreError> {
        const OP: &str = "UpdateItem record sent";
        let update = |set: &str, condition: String| {
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(item_key(key::client(client_id), key::message(&id.to_string()))))
                .update_expression(set)
                .condition_expression(condition)
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#wamid", attr::WAMID)
                .expression_attribute_names("#replayStatus", attr::REPLAY_STATUS)
                .expression_attribute_names("#replayBody", attr::REPLAY_BODY)
                .expression_attribute_names("#updatedAt", attr::UPDATED_AT)
                .expression_attribute_values(":wamid", s(wamid))
                .expression_attribute_values(":status", n(response.status))
                .expression_attribute_values(":body", s(response.body.clone()))
                .expression_attribute_values(":now", s(rfc3339_millis(now)))
        };
        const RECORD: &str = "SET #wamid = :wamid, #replayStatus = :status, #replayBody = :body, #updatedAt = :now";
        // Once, whatever webhooks did meanwhile (a `sent` may beat this write): the client got this answer.
        const ONCE: &str = "attribute_exists(#pk) AND attribute_not_exists(#replayStatus)";
        let on_whatsapp = update(
            &format!("{RECORD} REMOVE #pending, #bucket"),
            format!("{ONCE} AND {}", super::messages::on_channel(Channel::WhatsApp)),
        )
        .expression_attribute_names("#pending", attr::PENDING_SINCE)
        .expression_attribute_names("#bucket", attr::PENDING_BUCKET)
        .expression_attribute_names("#channel", attr::CHANNEL)
        .expression_attribute_values(":channel", s(Channel::WhatsApp.as_str()))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
        let handed_over_without_answer = match &on_whatsapp {
            Ok(_) => return Ok(true),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(lost)) => lost.item().is_some_and(|old| {
                    !old.contains_key(attr::REPLAY_STATUS)
                        && items::optional_string(old, attr::CHANNEL).as_deref() == Some(Channel::Sms.as_str())
                }),
                _ => false,
            },
        };
        if !handed_over_without_answer {
            return applied(OP, on_whatsapp);
        }
        applied(OP, update(RECORD, ONCE.to_owned()).send().await)
    }

    /// What an idempotency key is bound to, read consistently on its own.
    pub async fn idempotency_binding(
        &self,
        client_id: &str,
        key: IdempotencyKey,
    ) -> Result<Option<IdempotencyBinding>, StoreError> {
        const OP: &str = "GetItem idempotency key";
        let item =
            self.get_consistent(OP, item_key(key::client(client_id), key::idempotency(&key.to_string()))).await?;
        item.as_ref().map(|item| items::binding_from_item(item, OP)).transpose()
    }

    pub(super) async fn cooldown_window(&self, client_id: &str, phone: &str) -> Result<CooldownWindow, StoreError> {
        const OP: &str = "GetItem cooldown";
        let item = self.get_consistent(OP, item_key(key::client(client_id), key::cooldown(phone))).await?;
        item.as_ref().map_or(Ok(CooldownWindow::default()), |item| items::cooldown_from_item(item, OP))
    }
}
