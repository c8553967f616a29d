//! Writes only operators and the dashboard make: clients, senders, templates, subscriptions, prices, API-key
//! metadata, SMS texts, wallet top-ups, and finding a message's owner by a full-table `Scan`. The API functions never
//! call them (link-time optimisation drops them from their binaries), and their IAM policies would refuse them. Each
//! write is guarded by a condition so that a typo cannot overwrite or invent a client.

use super::schema::{PK, SK, attr, key};
use super::{
    AuditEntry, ClientProfile, DynamoStore, InOperation, StoreError, item_key, n, s, template_value, update_existing,
};
use crate::domain::language::Template;
use crate::domain::pricing::Credits;
use crate::domain::subscription::low_balance_threshold;
use crate::domain::time_format::rfc3339_millis;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem, Update};

/// What is stored about an API key: never the secret, never its verifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyMetadata {
    /// The key's public id.
    pub key_id: String,
    /// Its owner.
    pub client_id: String,
    /// What its owner calls it.
    pub name: String,
    /// When it was created.
    pub created_at: String,
    /// When it stops working, if ever.
    pub expires_at: Option<String>,
}

/// One row of a pricing table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceEntry {
    /// ISO 3166-1 alpha-2.
    pub region: String,
    /// Credits per WhatsApp message, or per SMS part.
    pub credits: Credits,
    /// Which table: WhatsApp messages or SMS parts.
    pub channel: crate::domain::channel::Channel,
}

impl DynamoStore {
    /// Creates a client profile; refuses to overwrite an existing one.
    pub async fn create_client(&self, profile: &ClientProfile) -> Result<(), StoreError> {
        const OP: &str = "PutItem client";
        self.client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(profile.to_item()))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await
            .in_operation(OP)?;
        Ok(())
    }

    /// Assigns the client's WhatsApp sender number (replacing any previous one), with the operator's audit entry
    /// in the same transaction.
    pub async fn assign_sender(
        &self,
        client_id: &str,
        phone_number_id: &str,
        display_phone: &str,
        audit: &AuditEntry,
        now: time::OffsetDateTime,
    ) -> Result<(), StoreError> {
        const OP: &str = "TransactWriteItems sender";
        let update = existing_profile_update(self, client_id)
            .update_expression("SET #pid = :pid, #display = :display")
            .expression_attribute_names("#pid", attr::SENDER_PHONE_NUMBER_ID)
            .expression_attribute_names("#display", attr::SENDER_DISPLAY_PHONE)
            .expression_attribute_values(":pid", s(phone_number_id))
            .expression_attribute_values(":display", s(display_phone))
            .build()
            .in_operation(OP)?;
        self.with_audit(OP, TransactWriteItem::builder().update(update).build(), client_id, audit, now).await
    }

    /// Adds an approved template to the client's list, with the operator's audit entry in the same transaction.
    pub async fn add_template(
        &self,
        client_id: &str,
        template: &Template,
        audit: &AuditEntry,
        now: time::OffsetDateTime,
    ) -> Result<(), StoreError> {
        const OP: &str = "TransactWriteItems template";
        let update = existing_profile_update(self, client_id)
            .update_expression("SET #templates = list_append(#templates, :new)")
            .expression_attribute_names("#templates", attr::TEMPLATES)
            .expression_attribute_values(":new", AttributeValue::L(vec![template_value(template)]))
            .build()
            .in_operation(OP)?;
        self.with_audit(OP, TransactWriteItem::builder().update(update).build(), client_id, audit, now).await
    }

    /// Saves the client's WhatsApp → SMS fallback settings from the dashboard (on or off, and its whole set of own
    /// texts: a language left out gets ours), with the audit entry of who changed them, in one transaction.
    pub async fn save_fallback_settings(
        &self,
        client_id: &str,
        settings: &crate::domain::fallback::FallbackSettings,
        audit: &AuditEntry,
        now: time::OffsetDateTime,
    ) -> Result<(), StoreError> {
        const OP: &str = "TransactWriteItems fallback settings";
        let mut set = Vec::new();
        let mut remove = Vec::new();
        let mut update = existing_profile_update(self, client_id)
            .expression_attribute_names("#fallback", attr::FALLBACK)
            .expression_attribute_names("#texts", attr::FALLBACK_SMS_TEXTS);
        if settings.on {
            set.push("#fallback = :sms");
            update = update.expression_attribute_values(":sms", s("sms"));
        } else {
            remove.push("#fallback");
        }
        if settings.texts.is_empty() {
            remove.push("#texts");
        } else {
            let texts = settings.texts.iter().map(|(language, text)| (language.code().to_owned(), s(text.clone())));
            set.push("#texts = :texts");
            update = update.expression_attribute_values(":texts", AttributeValue::M(texts.collect()));
        }
        let mut expression = String::new();
        if !set.is_empty() {
            expression.push_str(&format!("SET {}", set.join(", ")));
        }
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let update = update.update_expression(expression.trim()).build().in_operation(OP)?;
        self.with_audit(OP, TransactWriteItem::builder().update(update).build(), client_id, audit, now).await
    }

    /// One change and its audit entry, in one transaction: both or neither.
    async fn with_audit(
        &self,
        operation: &'static str,
        change: TransactWriteItem,
        client_id: &str,
        audit: &AuditEntry,
        now: time::OffsetDateTime,
    ) -> Result<(), StoreError> {
        let entry = super::console::audit_put(self, client_id, audit, now).in_operation(operation)?;
        self.client()
            .transact_write_items()
            .transact_items(change)
            .transact_items(TransactWriteItem::builder().put(entry).build())
            .send()
            .await
            .in_operation(operation)?;
        Ok(())
    }

    /// Grants a new subscription of `credits`, active at once, with the operator's audit entry in the same
    /// transaction. The client must exist.
    #[allow(clippy::too_many_arguments)]
    pub async fn grant_subscription(
        &self,
        client_id: &str,
        subscription_id: &str,
        credits: Credits,
        low_balance_percent: u8,
        audit: &AuditEntry,
        now: time::OffsetDateTime,
    ) -> Result<(), StoreError> {
        const OP: &str = "TransactWriteItems grant subscription";
        let client_exists = client_exists(self, client_id).in_operation(OP)?;
        let grant =
            new_subscription(self, client_id, subscription_id, credits, low_balance_percent, now).in_operation(OP)?;
        let entry = super::console::audit_put(self, client_id, audit, now).in_operation(OP)?;
        let mut transaction = self
            .client()
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().condition_check(client_exists).build());
        for write in grant {
            transaction = transaction.transact_items(write);
        }
        transaction.transact_items(TransactWriteItem::builder().put(entry).build()).send().await.in_operation(OP)?;
        Ok(())
    }

    /// Sets a country's price in its channel's table (overwriting the previous one).
    pub async fn set_price(&self, price: &PriceEntry) -> Result<(), StoreError> {
        const OP: &str = "PutItem price";
        let sort_key = match price.channel {
            crate::domain::channel::Channel::WhatsApp => key::price(&price.region),
            crate::domain::channel::Channel::Sms => key::sms_price(&price.region),
        };
        self.client()
            .put_item()
            .table_name(self.table())
            .item(PK, s(key::PRICING))
            .item(SK, s(sort_key))
            .item(attr::REGION, s(price.region.clone()))
            .item(attr::CREDITS, n(price.credits))
            .send()
            .await
            .in_operation(OP)?;
        Ok(())
    }

    /// Records an API key's metadata (the verifier itself lives only in Secrets Manager).
    pub async fn put_api_key_metadata(&self, key: &ApiKeyMetadata) -> Result<(), StoreError> {
        const OP: &str = "PutItem api key";
        let mut put = self
            .client()
            .put_item()
            .table_name(self.table())
            .item(PK, s(key::client(&key.client_id)))
            .item(SK, s(key::api_key(&key.key_id)))
            .item(attr::KEY_ID, s(key.key_id.clone()))
            .item(attr::CLIENT_ID, s(key.client_id.clone()))
            .item(attr::KEY_NAME, s(key.name.clone()))
            .item(attr::CREATED_AT, s(key.created_at.clone()))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK);
        if let Some(expires) = &key.expires_at {
            put = put.item(attr::EXPIRES, s(expires.clone()));
        }
        put.send().await.in_operation(OP)?;
        Ok(())
    }

    /// Marks an API key's metadata revoked, once: `false` when it does not exist or was already revoked.
    pub async fn mark_api_key_revoked(
        &self,
        client_id: &str,
        key_id: &str,
        now: time::OffsetDateTime,
    ) -> Result<bool, StoreError> {
        const OP: &str = "UpdateItem revoke api key";
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(item_key(key::client(client_id), key::api_key(key_id))))
            .update_expression("SET #revoked = :now")
            .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#revoked)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#revoked", attr::REVOKED_AT)
            .expression_attribute_values(":now", s(rfc3339_millis(now)))
            .send()
            .await;
        super::applied(OP, result)
    }

    /// Finds which client a message belongs to when the operator knows only its id (a filtered `Scan`: an operator
    /// action, never on a request path).
    pub async fn client_of_message(&self, message_id: &str) -> Result<Option<String>, StoreError> {
        const OP: &str = "Scan message owner";
        let mut start = None;
        loop {
            let out = self
                .client()
                .scan()
                .table_name(self.table())
                .filter_expression("#sk = :sk")
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":sk", s(key::message(message_id)))
                .set_exclusive_start_key(start)
                .send()
                .await
                .in_operation(OP)?;
            if let Some(owner) =
                out.items().first().and_then(|item| item.get(attr::CLIENT_ID)).and_then(|v| v.as_s().ok())
            {
                return Ok(Some(owner.clone()));
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(None);
            }
        }
    }

    /// Sets the client's Verify API SMS text for one language (`en` or `ar`).
    pub async fn set_sms_template(&self, client_id: &str, language: &str, text: &str) -> Result<(), StoreError> {
        self.set_profile_text(attr::SMS_TEMPLATES, client_id, language, text).await
    }

    /// Sets the client's fallback SMS text for one language (`{CODE}` in it).
    pub async fn set_fallback_sms_text(&self, client_id: &str, language: &str, text: &str) -> Result<(), StoreError> {
        self.set_profile_text(attr::FALLBACK_SMS_TEXTS, client_id, language, text).await
    }

    /// Turns the client's WhatsApp → SMS fallback on or off (`attribute_exists(pk)`: the client must exist).
    pub async fn set_fallback(&self, client_id: &str, on: bool) -> Result<(), StoreError> {
        const OP: &str = "UpdateItem fallback";
        let update = update_existing(self, item_key(key::client(client_id), key::PROFILE.to_owned()))
            .expression_attribute_names("#fallback", attr::FALLBACK);
        let update = if on {
            update.update_expression("SET #fallback = :sms").expression_attribute_values(":sms", s("sms"))
        } else {
            update.update_expression("REMOVE #fallback")
        };
        update.send().await.in_operation(OP)?;
        Ok(())
    }

    /// Sets one language's text in one of the profile's maps of texts (made if absent).
    async fn set_profile_text(
        &self,
        map: &'static str,
        client_id: &str,
        language: &str,
        text: &str,
    ) -> Result<(), StoreError> {
        const OP: &str = "UpdateItem SMS template";
        update_existing(self, item_key(key::client(client_id), key::PROFILE.to_owned()))
            .update_expression("SET #templates = if_not_exists(#templates, :empty)")
            .expression_attribute_names("#templates", map)
            .expression_attribute_values(":empty", AttributeValue::M(std::collections::HashMap::new()))
            .send()
            .await
            .in_operation(OP)?;
        update_existing(self, item_key(key::client(client_id), key::PROFILE.to_owned()))
            .update_expression("SET #templates.#language = :text")
            .expression_attribute_names("#templates", map)
            .expression_attribute_names("#language", language)
            .expression_attribute_values(":text", s(text))
            .send()
            .await
            .in_operation(OP)?;
        Ok(())
    }

    /// Adds credits to the client's wallet (an operator action); the client must exist. `None` when the balance
    /// would go beyond [`Credits::MAX_BALANCE`]: nothing is added.
    pub async fn top_up_wallet(
        &self,
        client_id: &str,
        credits: Credits,
        audit: &AuditEntry,
        now: time::OffsetDateTime,
    ) -> Result<Option<Credits>, StoreError> {
        const OP: &str = "TransactWriteItems wallet top-up";
        if credits > Credits::MAX_BALANCE {
            return Ok(None);
        }
        let exists = client_exists(self, client_id).in_operation(OP)?;
        // The balance stays within MAX_BALANCE: the ADD applies only while there is room for it.
        let add = Update::builder()
            .table_name(self.table())
            .set_key(Some(item_key(key::client(client_id), key::WALLET.to_owned())))
            .update_expression("ADD #balance :credits")
            .condition_expression("attribute_not_exists(#balance) OR #balance <= :room")
            .expression_attribute_names("#balance", attr::BALANCE)
            .expression_attribute_values(":credits", n(credits))
            .expression_attribute_values(":room", n(credits.room()))
            .build()
            .in_operation(OP)?;
        let result = self
            .client()
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().condition_check(exists).build())
            .transact_items(TransactWriteItem::builder().update(add).build())
            .transact_items(
                TransactWriteItem::builder()
                    .put(super::console::audit_put(self, client_id, audit, now).in_operation(OP)?)
                    .build(),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(Some(self.wallet_balance(client_id).await?)),
            // The wallet's condition (item 1) failed: the top-up would take it beyond MAX_BALANCE.
            Err(err) if super::cancellation_reasons(&err).is_some_and(|r| super::condition_failed(r, 1)) => Ok(None),
            Err(err) => Err(StoreError::sdk(OP, err)),
        }
    }
}

/// A new subscription of `credits`, active at once, as a transaction's writes: what a grant and an order's
/// activation both write. The subscription's item (`attribute_not_exists`), and its credits spread over the client's
/// purses (`domain::purse::spread`), each share guarded by `attribute_not_exists`; purse 0 also keeps the grant and
/// the low-balance threshold, which a payment decides on.
pub(crate) fn new_subscription(
    store: &DynamoStore,
    client_id: &str,
    subscription_id: &str,
    credits: Credits,
    low_balance_percent: u8,
    now: time::OffsetDateTime,
) -> Result<Vec<TransactWriteItem>, aws_sdk_dynamodb::error::BuildError> {
    let sort_key = key::subscription(now.unix_timestamp_nanos(), subscription_id);
    let threshold = low_balance_threshold(credits, low_balance_percent);
    let record = aws_sdk_dynamodb::types::Put::builder()
        .table_name(store.table())
        .item(PK, s(key::client(client_id)))
        .item(SK, s(sort_key.clone()))
        .item(attr::SUBSCRIPTION_ID, s(subscription_id))
        .item(attr::CLIENT_ID, s(client_id))
        .item(attr::GRANTED, n(credits))
        .item(attr::STATE, s("Active"))
        .item(attr::LOW_BALANCE_PERCENT, n(low_balance_percent))
        .item(attr::LOW_BALANCE_THRESHOLD, n(threshold))
        .item(attr::CREATED_AT, s(rfc3339_millis(now)))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", PK)
        .build()?;
    let mut writes = vec![TransactWriteItem::builder().put(record).build()];
    for (purse, share) in crate::domain::purse::spread(credits).into_iter().enumerate() {
        let mut update = Update::builder()
            .table_name(store.table())
            .set_key(Some(item_key(key::purse(client_id, purse), key::PURSE.to_owned())))
            .condition_expression("attribute_not_exists(#credits)")
            .expression_attribute_names("#credits", attr::purse_credits(&sort_key))
            .expression_attribute_values(":share", n(share));
        update = if purse == 0 {
            update
                .update_expression("SET #credits = :share, #granted = :granted, #threshold = :threshold")
                .expression_attribute_names("#granted", attr::purse_granted(&sort_key))
                .expression_attribute_names("#threshold", attr::purse_threshold(&sort_key))
                .expression_attribute_values(":granted", n(credits))
                .expression_attribute_values(":threshold", n(threshold))
        } else {
            update.update_expression("SET #credits = :share")
        };
        writes.push(TransactWriteItem::builder().update(update.build()?).build());
    }
    Ok(writes)
}

/// A transaction's update of the client's profile, which must exist (a typo in an id fails, and creates nothing).
fn existing_profile_update(store: &DynamoStore, client_id: &str) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
    Update::builder()
        .table_name(store.table())
        .set_key(Some(item_key(key::client(client_id), key::PROFILE.to_owned())))
        .condition_expression("attribute_exists(#pk)")
        .expression_attribute_names("#pk", PK)
}

/// The check, in a transaction, that the client's profile exists.
pub(crate) fn client_exists(
    store: &DynamoStore,
    client_id: &str,
) -> Result<ConditionCheck, aws_sdk_dynamodb::error::BuildError> {
    ConditionCheck::builder()
        .table_name(store.table())
        .set_key(Some(item_key(key::client(client_id), key::PROFILE.to_owned())))
        .condition_expression("attribute_exists(#pk)")
        .expression_attribute_names("#pk", PK)
        .build()
}
