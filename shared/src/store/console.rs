//! Storage of what the dashboard sells and manages: plans (one `PLANS` partition), orders and the operators' audit
//! trail (in the client's partition), and API keys' metadata as the key list shows it. An order changes state only
//! by a write conditioned on `state = Pending`, so a double click or two operators at once change it once; an
//! activation grants its subscription in the same transaction.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use time::OffsetDateTime;

use super::items::{number, optional_string, string};
use super::operator::new_subscription;
use super::schema::{PENDING_INDEX, PENDING_ORDERS_BUCKET, PK, SK, attr, key};
use super::{DynamoStore, InOperation, StoreError, applied, cancellation_reasons, item_key, n, s, update_existing};
use crate::domain::console::{OrderState, PlanDraft};
use crate::domain::pricing::Credits;
use crate::domain::time_format::rfc3339_millis;

type Item = HashMap<String, AttributeValue>;

/// A plan as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRecord {
    /// Its id.
    pub plan_id: String,
    /// Name, credits, price label, description.
    pub plan: PlanDraft,
    /// Offered to clients.
    pub active: bool,
    /// When an operator created it.
    pub created_at: String,
}

/// An order as stored: a snapshot of its plan, the client's notes and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRecord {
    /// Its id.
    pub order_id: String,
    /// Whose.
    pub client_id: String,
    /// The plan it was placed for.
    pub plan_id: String,
    /// The plan's name then.
    pub plan_name: String,
    /// The plan's credits then: what activation grants.
    pub credits: Credits,
    /// The plan's price label then.
    pub price_label: String,
    /// The client's notes.
    pub notes: Option<String>,
    /// `Pending`, `Activated` or `Cancelled`.
    pub state: OrderState,
    /// Placed at.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Why it was cancelled (an operator's reason, shown to the client).
    pub reason: Option<String>,
    /// The subscription its activation granted.
    pub subscription_id: Option<String>,
}

/// An operator's action on a client, as its page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When.
    pub at: String,
    /// Who (the operator's email).
    pub operator: String,
    /// What, in short (`order activated`, `sender assigned`, …).
    pub action: String,
    /// The details (ids, numbers).
    pub detail: String,
}

/// An API key as the key list shows it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// Public id (the prefix `lotp_<keyId>_…` shows it).
    pub key_id: String,
    /// Its name.
    pub name: String,
    /// Created at.
    pub created_at: String,
    /// Expires at, if ever.
    pub expires_at: Option<String>,
    /// Revoked at, if revoked.
    pub revoked_at: Option<String>,
    /// Last used, to the hour.
    pub last_used_at: Option<String>,
}

/// What an order's change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderTransition {
    /// This write changed it.
    Applied,
    /// It was not pending (any more), or not this client's: nothing was written.
    NotPending,
}

fn plan_from_item(item: &Item, op: &'static str) -> Result<PlanRecord, StoreError> {
    Ok(PlanRecord {
        plan_id: string(item, attr::PLAN_ID, op)?,
        plan: PlanDraft {
            name: string(item, attr::NAME, op)?,
            credits: number(item, attr::CREDITS, op)?,
            price_label: string(item, attr::PRICE_LABEL, op)?,
            description: optional_string(item, attr::DESCRIPTION),
        },
        active: item.get(attr::ACTIVE).and_then(|v| v.as_bool().ok()).copied().unwrap_or(false),
        created_at: string(item, attr::CREATED_AT, op)?,
    })
}

fn order_from_item(item: &Item, op: &'static str) -> Result<OrderRecord, StoreError> {
    let state = string(item, attr::STATE, op)?;
    Ok(OrderRecord {
        order_id: string(item, attr::ORDER_ID, op)?,
        client_id: string(item, attr::CLIENT_ID, op)?,
        plan_id: string(item, attr::PLAN_ID, op)?,
        plan_name: string(item, attr::PLAN_NAME, op)?,
        credits: number(item, attr::CREDITS, op)?,
        price_label: string(item, attr::PRICE_LABEL, op)?,
        notes: optional_string(item, attr::NOTES),
        state: OrderState::parse(&state).ok_or_else(|| StoreError::corrupt(op, "order state"))?,
        created_at: string(item, attr::CREATED_AT, op)?,
        updated_at: string(item, attr::UPDATED_AT, op)?,
        reason: optional_string(item, attr::REASON),
        subscription_id: optional_string(item, attr::SUBSCRIPTION_ID),
    })
}

fn audit_from_item(item: &Item, op: &'static str) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        at: string(item, attr::AT, op)?,
        operator: string(item, attr::OPERATOR, op)?,
        action: string(item, attr::ACTION, op)?,
        detail: string(item, attr::DETAIL, op)?,
    })
}

fn key_from_item(item: &Item, op: &'static str) -> Result<ApiKeyRecord, StoreError> {
    Ok(ApiKeyRecord {
        key_id: string(item, attr::KEY_ID, op)?,
        name: optional_string(item, attr::KEY_NAME).unwrap_or_default(),
        created_at: string(item, attr::CREATED_AT, op)?,
        expires_at: optional_string(item, attr::EXPIRES),
        revoked_at: optional_string(item, attr::REVOKED_AT),
        last_used_at: optional_string(item, attr::LAST_USED_AT),
    })
}

impl DynamoStore {
    /// Every item of one partition whose sort key begins with `prefix` (all pages).
    pub(super) async fn query_prefix(
        &self,
        op: &'static str,
        pk: String,
        prefix: &str,
    ) -> Result<Vec<Item>, StoreError> {
        Self::query_all(op, self.prefix_query(pk, prefix)).await
    }

    /// Creates a plan, active at once.
    pub async fn create_plan(&self, plan_id: &str, plan: &PlanDraft, now: OffsetDateTime) -> Result<(), StoreError> {
        const OP: &str = "PutItem plan";
        let mut put = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item_key(key::PLANS.to_owned(), key::plan(plan_id))))
            .item(attr::PLAN_ID, s(plan_id))
            .item(attr::NAME, s(&plan.name))
            .item(attr::CREDITS, n(plan.credits))
            .item(attr::PRICE_LABEL, s(&plan.price_label))
            .item(attr::ACTIVE, AttributeValue::Bool(true))
            .item(attr::CREATED_AT, s(rfc3339_millis(now)))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK);
        if let Some(description) = &plan.description {
            put = put.item(attr::DESCRIPTION, s(description));
        }
        put.send().await.in_operation(OP)?;
        Ok(())
    }

    /// Every plan, oldest first.
    pub async fn plans(&self) -> Result<Vec<PlanRecord>, StoreError> {
        const OP: &str = "Query plans";
        let items = self.query_prefix(OP, key::PLANS.to_owned(), "PLAN#").await?;
        let mut plans = items.iter().map(|item| plan_from_item(item, OP)).collect::<Result<Vec<_>, _>>()?;
        plans.sort_by(|a, b| (&a.created_at, &a.plan.name).cmp(&(&b.created_at, &b.plan.name)));
        Ok(plans)
    }

    /// One plan.
    pub async fn plan(&self, plan_id: &str) -> Result<Option<PlanRecord>, StoreError> {
        const OP: &str = "GetItem plan";
        let item = self.get_consistent(OP, item_key(key::PLANS.to_owned(), key::plan(plan_id))).await?;
        item.map(|item| plan_from_item(&item, OP)).transpose()
    }

    /// Changes a plan's name, credits, price label and description (orders already placed keep their snapshot).
    /// Answers whether the plan exists.
    pub async fn update_plan(&self, plan_id: &str, plan: &PlanDraft) -> Result<bool, StoreError> {
        const OP: &str = "UpdateItem plan";
        let mut update = update_existing(self, item_key(key::PLANS.to_owned(), key::plan(plan_id)))
            .expression_attribute_names("#name", attr::NAME)
            .expression_attribute_names("#credits", attr::CREDITS)
            .expression_attribute_names("#price", attr::PRICE_LABEL)
            .expression_attribute_names("#description", attr::DESCRIPTION)
            .expression_attribute_values(":name", s(&plan.name))
            .expression_attribute_values(":credits", n(plan.credits))
            .expression_attribute_values(":price", s(&plan.price_label));
        update = match &plan.description {
            Some(description) => update
                .update_expression(
                    "SET #name = :name, #credits = :credits, #price = :price, #description = :description",
                )
                .expression_attribute_values(":description", s(description)),
            None => {
                update.update_expression("SET #name = :name, #credits = :credits, #price = :price REMOVE #description")
            }
        };
        applied(OP, update.send().await)
    }

    /// Stops offering a plan (orders already placed keep their snapshot). Answers whether the plan exists.
    pub async fn deactivate_plan(&self, plan_id: &str) -> Result<bool, StoreError> {
        const OP: &str = "UpdateItem deactivate plan";
        let result = update_existing(self, item_key(key::PLANS.to_owned(), key::plan(plan_id)))
            .update_expression("SET #active = :false")
            .expression_attribute_names("#active", attr::ACTIVE)
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .send()
            .await;
        applied(OP, result)
    }

    /// Places an order: a new item, pending, in the orders queue (`pending-index`, bucket `ORDER`).
    pub async fn place_order(&self, order: &OrderRecord) -> Result<(), StoreError> {
        const OP: &str = "PutItem order";
        let mut put = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item_key(key::client(&order.client_id), key::order(&order.order_id))))
            .item(attr::ORDER_ID, s(&order.order_id))
            .item(attr::CLIENT_ID, s(&order.client_id))
            .item(attr::PLAN_ID, s(&order.plan_id))
            .item(attr::PLAN_NAME, s(&order.plan_name))
            .item(attr::CREDITS, n(order.credits))
            .item(attr::PRICE_LABEL, s(&order.price_label))
            .item(attr::STATE, s(OrderState::Pending.as_str()))
            .item(attr::CREATED_AT, s(&order.created_at))
            .item(attr::UPDATED_AT, s(&order.created_at))
            .item(attr::PENDING_BUCKET, s(PENDING_ORDERS_BUCKET))
            .item(attr::PENDING_SINCE, s(&order.created_at))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK);
        if let Some(notes) = &order.notes {
            put = put.item(attr::NOTES, s(notes));
        }
        put.send().await.in_operation(OP)?;
        Ok(())
    }

    /// One of a client's orders.
    pub async fn order(&self, client_id: &str, order_id: &str) -> Result<Option<OrderRecord>, StoreError> {
        const OP: &str = "GetItem order";
        let item = self.get_consistent(OP, item_key(key::client(client_id), key::order(order_id))).await?;
        item.map(|item| order_from_item(&item, OP)).transpose()
    }

    /// A client's orders, newest first.
    pub async fn orders_newest_first(&self, client_id: &str) -> Result<Vec<OrderRecord>, StoreError> {
        const OP: &str = "Query orders";
        let items = self.query_prefix(OP, key::client(client_id), key::ORDER_PREFIX).await?;
        let mut orders = items.iter().map(|item| order_from_item(item, OP)).collect::<Result<Vec<_>, _>>()?;
        orders.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        Ok(orders)
    }

    /// Every pending order, oldest first: one `Query` of `pending-index` (keys only), then the orders by key.
    pub async fn pending_orders(&self) -> Result<Vec<OrderRecord>, StoreError> {
        const OP: &str = "Query pending orders";
        let query = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(PENDING_INDEX)
            .key_condition_expression("#bucket = :bucket")
            .expression_attribute_names("#bucket", attr::PENDING_BUCKET)
            .expression_attribute_values(":bucket", s(PENDING_ORDERS_BUCKET));
        let keys: Vec<_> = Self::query_all(OP, query)
            .await?
            .iter()
            .filter_map(|item| Some((super::items::sort_key(item)?.to_owned(), item.get(PK)?.as_s().ok()?.clone())))
            .collect();
        let mut orders = Vec::new();
        for (sk, pk) in keys {
            if let Some(item) = self.get_consistent(OP, item_key(pk, sk)).await?
                && let Ok(order) = order_from_item(&item, OP)
                && order.state == OrderState::Pending
            {
                orders.push(order);
            }
        }
        orders.sort_by(|a, b| a.created_at.cmp(&b.created_at));
        Ok(orders)
    }

    /// Activates a pending order, in one transaction: the order moves `Pending → Activated` (condition
    /// `state = Pending`), leaves the queue, and its subscription is created with the order's credits; the audit
    /// entry is written with them. Exactly one of any number of racing activations applies.
    pub async fn activate_order(
        &self,
        order: &OrderRecord,
        subscription_id: &str,
        low_balance_percent: u8,
        audit: &AuditEntry,
        now: OffsetDateTime,
    ) -> Result<OrderTransition, StoreError> {
        const OP: &str = "TransactWriteItems activate order";
        let update = pending_order_update(self, order, now)
            .update_expression("SET #state = :to, #updated = :now, #sub = :sub REMOVE #bucket, #since")
            .expression_attribute_names("#sub", attr::SUBSCRIPTION_ID)
            .expression_attribute_values(":to", s(OrderState::Activated.as_str()))
            .expression_attribute_values(":sub", s(subscription_id))
            .build()
            .in_operation(OP)?;
        let grant = new_subscription(self, &order.client_id, subscription_id, order.credits, low_balance_percent, now)
            .in_operation(OP)?;
        let mut transaction =
            self.client().transact_write_items().transact_items(TransactWriteItem::builder().update(update).build());
        for write in grant {
            transaction = transaction.transact_items(write);
        }
        let result = transaction
            .transact_items(
                TransactWriteItem::builder()
                    .put(audit_put(self, &order.client_id, audit, now).in_operation(OP)?)
                    .build(),
            )
            .send()
            .await;
        transition(OP, result)
    }

    /// Cancels a pending order (condition `state = Pending`), with an optional reason the client sees; an
    /// operator's cancellation writes its audit entry in the same transaction.
    pub async fn cancel_order(
        &self,
        order: &OrderRecord,
        reason: Option<&str>,
        audit: Option<&AuditEntry>,
        now: OffsetDateTime,
    ) -> Result<OrderTransition, StoreError> {
        const OP: &str = "TransactWriteItems cancel order";
        let mut update = pending_order_update(self, order, now)
            .expression_attribute_values(":to", s(OrderState::Cancelled.as_str()));
        update = match reason {
            Some(reason) => update
                .update_expression("SET #state = :to, #updated = :now, #reason = :reason REMOVE #bucket, #since")
                .expression_attribute_names("#reason", attr::REASON)
                .expression_attribute_values(":reason", s(reason)),
            None => update.update_expression("SET #state = :to, #updated = :now REMOVE #bucket, #since"),
        };
        let mut transaction = self
            .client()
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update.build().in_operation(OP)?).build());
        if let Some(audit) = audit {
            transaction = transaction.transact_items(
                TransactWriteItem::builder()
                    .put(audit_put(self, &order.client_id, audit, now).in_operation(OP)?)
                    .build(),
            );
        }
        transition(OP, transaction.send().await)
    }

    /// Records an operator's action on a client.
    pub async fn record_audit(
        &self,
        client_id: &str,
        entry: &AuditEntry,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        const OP: &str = "TransactWriteItems audit";
        let put = audit_put(self, client_id, entry, now).in_operation(OP)?;
        self.client()
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .send()
            .await
            .in_operation(OP)?;
        Ok(())
    }

    /// The operators' actions on a client, newest first.
    pub async fn audit_trail(&self, client_id: &str) -> Result<Vec<AuditEntry>, StoreError> {
        const OP: &str = "Query audit";
        let items = self.query_prefix(OP, key::client(client_id), key::AUDIT_PREFIX).await?;
        let mut entries = items.iter().map(|item| audit_from_item(item, OP)).collect::<Result<Vec<_>, _>>()?;
        entries.reverse();
        Ok(entries)
    }

    /// A client's API keys, newest first.
    pub async fn api_keys(&self, client_id: &str) -> Result<Vec<ApiKeyRecord>, StoreError> {
        const OP: &str = "Query api keys";
        let items = self.query_prefix(OP, key::client(client_id), key::API_KEY_PREFIX).await?;
        let mut keys = items.iter().map(|item| key_from_item(item, OP)).collect::<Result<Vec<_>, _>>()?;
        keys.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        Ok(keys)
    }

    /// One of a client's API keys.
    pub async fn api_key(&self, client_id: &str, key_id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        const OP: &str = "GetItem api key";
        let item = self.get_consistent(OP, item_key(key::client(client_id), key::api_key(key_id))).await?;
        item.map(|item| key_from_item(&item, OP)).transpose()
    }

    /// Moves a key's expiry (rotation), only while it is not revoked and its expiry is still `current` (as read):
    /// of two racing rotations of one key, one applies.
    pub async fn set_api_key_expiry(
        &self,
        client_id: &str,
        key_id: &str,
        current: Option<&str>,
        expires: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        const OP: &str = "UpdateItem api key expiry";
        let unchanged = match current {
            Some(_) => "#expires = :current",
            None => "attribute_not_exists(#expires)",
        };
        let mut update = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(item_key(key::client(client_id), key::api_key(key_id))))
            .update_expression("SET #expires = :expires")
            .condition_expression(format!("attribute_exists(#pk) AND attribute_not_exists(#revoked) AND {unchanged}"))
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#expires", attr::EXPIRES)
            .expression_attribute_names("#revoked", attr::REVOKED_AT)
            .expression_attribute_values(":expires", s(rfc3339_millis(expires)));
        if let Some(current) = current {
            update = update.expression_attribute_values(":current", s(current));
        }
        applied(OP, update.send().await)
    }

    /// Both pricing tables: every country with its own price, WhatsApp's then SMS's, each by country code.
    pub async fn prices(&self) -> Result<Vec<super::PriceEntry>, StoreError> {
        const OP: &str = "Query prices";
        use crate::domain::channel::Channel;
        let mut prices = Vec::new();
        for (channel, prefix) in [(Channel::WhatsApp, key::PRICE_PREFIX), (Channel::Sms, key::SMS_PRICE_PREFIX)] {
            let items = self.query_prefix(OP, key::PRICING.to_owned(), prefix).await?;
            let mut table = items
                .iter()
                .map(|item| {
                    Ok(super::PriceEntry {
                        region: string(item, attr::REGION, OP)?,
                        credits: number(item, attr::CREDITS, OP)?,
                        channel,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            table.sort_by(|a, b| a.region.cmp(&b.region));
            prices.extend(table);
        }
        Ok(prices)
    }

    /// Records a key's use in the hour starting `hour`: only if the metadata exists and its last use is older.
    pub async fn record_key_use(
        &self,
        client_id: &str,
        key_id: &str,
        hour: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        const OP: &str = "UpdateItem key last used";
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(item_key(key::client(client_id), key::api_key(key_id))))
            .update_expression("SET #used = :hour")
            .condition_expression("attribute_exists(#pk) AND (attribute_not_exists(#used) OR #used < :hour)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#used", attr::LAST_USED_AT)
            .expression_attribute_values(":hour", s(rfc3339_millis(hour)))
            .send()
            .await;
        applied(OP, result)
    }

    /// Every client profile whose name or email contains `needle` (case-insensitive), with its email: a `Scan`,
    /// for the operators' client search only.
    pub async fn search_clients(&self, needle: &str) -> Result<Vec<super::ClientProfile>, StoreError> {
        const OP: &str = "Scan clients";
        let needle = needle.trim().to_lowercase();
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client()
                .scan()
                .table_name(self.table())
                .filter_expression("#sk = :profile")
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":profile", s(key::PROFILE))
                .set_exclusive_start_key(start)
                .send()
                .await
                .in_operation(OP)?;
            for item in out.items() {
                let profile = super::ClientProfile::from_item(item, OP)?;
                if needle.is_empty()
                    || profile.name.to_lowercase().contains(&needle)
                    || profile.email.to_lowercase().contains(&needle)
                {
                    found.push(profile);
                }
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                found.sort_by_key(|profile| profile.name.to_lowercase());
                return Ok(found);
            }
        }
    }
}

/// The update of an order that must still be pending (and exist in this client's partition).
fn pending_order_update(
    store: &DynamoStore,
    order: &OrderRecord,
    now: OffsetDateTime,
) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
    Update::builder()
        .table_name(store.table())
        .set_key(Some(item_key(key::client(&order.client_id), key::order(&order.order_id))))
        .condition_expression("#state = :pending")
        .expression_attribute_names("#state", attr::STATE)
        .expression_attribute_names("#updated", attr::UPDATED_AT)
        .expression_attribute_names("#bucket", attr::PENDING_BUCKET)
        .expression_attribute_names("#since", attr::PENDING_SINCE)
        .expression_attribute_values(":pending", s(OrderState::Pending.as_str()))
        .expression_attribute_values(":now", s(rfc3339_millis(now)))
}

pub(super) fn audit_put(
    store: &DynamoStore,
    client_id: &str,
    entry: &AuditEntry,
    now: OffsetDateTime,
) -> Result<Put, aws_sdk_dynamodb::error::BuildError> {
    Put::builder()
        .table_name(store.table())
        .item(PK, s(key::client(client_id)))
        .item(SK, s(key::audit(now.unix_timestamp_nanos(), &uuid::Uuid::new_v4().to_string())))
        .item(attr::AT, s(&entry.at))
        .item(attr::OPERATOR, s(&entry.operator))
        .item(attr::ACTION, s(&entry.action))
        .item(attr::DETAIL, s(&entry.detail))
        .build()
}

fn transition(
    op: &'static str,
    result: Result<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput,
        aws_sdk_dynamodb::error::SdkError<
            aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
            aws_sdk_dynamodb::config::http::HttpResponse,
        >,
    >,
) -> Result<OrderTransition, StoreError> {
    match result {
        Ok(_) => Ok(OrderTransition::Applied),
        // The order is the transaction's first item: its condition failing means it was not pending any more, and
        // a conflict means another change of it (an activation or a cancellation) is being written at this moment.
        Err(err) if cancellation_reasons(&err).is_some_and(super::is_race) => Ok(OrderTransition::NotPending),
        Err(err) => Err(StoreError::sdk(op, err)),
    }
}
