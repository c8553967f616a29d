//! Clients' profiles and subscriptions: the reads that decide who pays, and the guarded debit the reservations use.

use super::*;

impl DynamoStore {
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
            .in_operation(OP)?;
        out.item().map(|item| ClientProfile::from_item(item, OP)).transpose()
    }

    /// A client's purses, read consistently in one `BatchGetItem`.
    pub async fn purses(&self, client_id: &str) -> Result<Purses, StoreError> {
        const OP: &str = "BatchGetItem purses";
        let keys = (0..PURSES).map(|purse| item_key(key::purse(client_id, purse), key::PURSE.to_owned())).collect();
        let found = self.batch_get_consistent(OP, keys).await?;
        items::purses_from_items(client_id, &found, OP)
    }

    /// The client's subscriptions as a payment decides on them, newest first, from its purses alone (one
    /// `BatchGetItem`): balances, grants and thresholds, whether the low-balance email was claimed.
    pub async fn paying_subscriptions(&self, client_id: &str) -> Result<Vec<Subscription>, StoreError> {
        Ok(self.purses(client_id).await?.subscriptions_newest_first())
    }

    /// The client's subscriptions as the dashboard and the operators see them, newest first: each subscription's
    /// item (one `Query`, paginated only past 1 MB) with its balance from the purses (one `BatchGetItem`).
    pub async fn subscriptions_newest_first(&self, client_id: &str) -> Result<Vec<Subscription>, StoreError> {
        const OP: &str = "Query subscriptions";
        let (records, purses) = tokio::try_join!(self.subscription_items(client_id), self.purses(client_id))?;
        records
            .iter()
            .map(|item| {
                let sort_key = items::sort_key(item).unwrap_or_default();
                let shares = purses.shares.get(sort_key).copied().unwrap_or_default();
                items::subscription_from_item(item, shares, purses.notified.contains(sort_key), OP)
            })
            .collect()
    }

    async fn subscription_items(&self, client_id: &str) -> Result<Vec<items::Item>, StoreError> {
        let query = self
            .prefix_query(key::client(client_id), key::SUBSCRIPTION_PREFIX)
            .scan_index_forward(false)
            .consistent_read(true);
        Self::query_all("Query subscriptions", query).await
    }

    /// The writes that debit `debit.cost` from its payer's purses, in a transaction of the caller's (docs/data-model.md,
    /// "Purse"): one `Update` per purse touched, each guarded so that no share goes below zero, and, when the guard
    /// says so, the claim of the low-balance email on the subscription's own item. `None` when the payer's shares
    /// as read cannot cover the cost (read again).
    pub(crate) fn purse_debit(&self, debit: &PurseDebit<'_>) -> Result<Option<PurseWrites>, StoreError> {
        const OP: &str = "purse debit";
        let payer = debit.payer;
        let Some(takes) = debit_takes(payer, debit.cost, debit.guard, debit.start) else {
            return Ok(None);
        };
        // Above the floors, a share must keep its purse's part of the threshold after the debit (docs/data-model.md,
        // "Why exactly one debit claims the low-balance email").
        let floors = kept_floors(payer, debit.guard);
        let charged_purse = takes[0].0;
        // Per purse, per subscription: credits given back (a refund in the same transaction) and taken.
        let mut changes: std::collections::BTreeMap<usize, Vec<(&str, Credits, Credits)>> = Default::default();
        if let Some(refund) = &debit.refund {
            changes.entry(refund.purse).or_default().push((refund.sort_key, refund.credits, Credits::ZERO));
        }
        for (purse, take) in &takes {
            let entries = changes.entry(*purse).or_default();
            match entries.iter_mut().find(|(sort_key, _, _)| *sort_key == payer.sort_key) {
                Some(entry) => entry.2 = *take,
                None => entries.push((&payer.sort_key, Credits::ZERO, *take)),
            }
        }
        let claims = debit.guard.claims();
        let now = rfc3339_millis(debit.now);
        let mut writes = PurseWrites { items: Vec::new(), claim_index: None, charged_purse };
        for (purse, entries) in changes {
            let mut update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(item_key(key::purse(debit.client_id, purse), key::PURSE.to_owned())));
            let (mut set, mut conditions) = (Vec::new(), Vec::new());
            for (i, (sort_key, given, taken)) in entries.iter().enumerate() {
                let (name, value) = (format!("#c{i}"), format!(":c{i}"));
                update = update.expression_attribute_names(&name, attr::purse_credits(sort_key));
                if given >= taken {
                    set.push(format!("{name} = {name} + {value}"));
                    conditions.push(format!("attribute_exists({name})"));
                    update = update.expression_attribute_values(&value, n(given.get() - taken.get()));
                } else {
                    // The share, with what this write gives back, must hold what it takes and, for the payer, its
                    // purse's floor: never below zero, never below the threshold unseen.
                    let floor = if *sort_key == payer.sort_key { floors[purse] } else { Credits::ZERO };
                    let least = format!(":least{i}");
                    set.push(format!("{name} = {name} - {value}"));
                    conditions.push(format!("{name} >= {least}"));
                    update = update
                        .expression_attribute_values(&value, n(taken.get() - given.get()))
                        .expression_attribute_values(&least, n(taken.get() - given.get() + floor.get()));
                }
            }
            if claims && purse == charged_purse {
                set.push("#notified = :now".to_owned());
                update = update
                    .expression_attribute_names("#notified", attr::purse_notified(&payer.sort_key))
                    .expression_attribute_values(":now", s(now.clone()));
            }
            let update = update
                .update_expression(format!("SET {}", set.join(", ")))
                .condition_expression(conditions.join(" AND "))
                .build()
                .in_operation(OP)?;
            writes.items.push(TransactWriteItem::builder().update(update).build());
        }
        if claims {
            let claim = Update::builder()
                .table_name(&self.table)
                .set_key(Some(item_key(key::client(debit.client_id), payer.sort_key.clone())))
                .update_expression("SET #notified = :now")
                .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#notified)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#notified", attr::LOW_BALANCE_NOTIFIED_AT)
                .expression_attribute_values(":now", s(now))
                .build()
                .in_operation(OP)?;
            writes.claim_index = Some(writes.items.len());
            writes.items.push(TransactWriteItem::builder().update(claim).build());
        }
        Ok(Some(writes))
    }

    /// The write that gives `refund.credits` back to the share of the subscription that paid, in the purse it was
    /// taken from (`attribute_exists` of that share: never a phantom subscription).
    pub(crate) fn purse_refund(&self, client_id: &str, refund: &PurseRefund<'_>) -> Result<Update, StoreError> {
        const OP: &str = "purse refund";
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(item_key(key::purse(client_id, refund.purse), key::PURSE.to_owned())))
            .update_expression("SET #credits = #credits + :credits")
            .condition_expression("attribute_exists(#credits)")
            .expression_attribute_names("#credits", attr::purse_credits(refund.sort_key))
            .expression_attribute_values(":credits", n(refund.credits))
            .build()
            .in_operation(OP)
    }
}

/// A debit from a subscription's purses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PurseDebit<'a> {
    /// Whose purses.
    pub client_id: &'a str,
    /// The subscription that pays, with its shares as read.
    pub payer: &'a Subscription,
    /// Whether this debit claims the low-balance email.
    pub guard: DebitGuard,
    /// What it takes.
    pub cost: Credits,
    /// The purse it starts from (`domain::purse::first_purse`).
    pub start: usize,
    /// Credits given back in the same transaction (the WhatsApp → SMS fallback's refund of the WhatsApp attempt),
    /// merged into the debit's write where both touch one purse: a transaction may write an item only once.
    pub refund: Option<PurseRefund<'a>>,
    /// When (the low-balance claim's time).
    pub now: time::OffsetDateTime,
}

/// Credits given back to the share of the subscription that paid, in the purse they were taken from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PurseRefund<'a> {
    /// The subscription's sort key.
    pub sort_key: &'a str,
    /// The purse.
    pub purse: usize,
    /// How much.
    pub credits: Credits,
}

/// A debit's writes, for the caller's transaction.
#[derive(Debug)]
pub(crate) struct PurseWrites {
    /// The writes, in order.
    pub items: Vec<TransactWriteItem>,
    /// Which of them claims the low-balance email, if one does.
    pub claim_index: Option<usize>,
    /// The purse the charge is recorded against (the first it took from): a refund gives the whole cost back there.
    pub charged_purse: usize,
}
