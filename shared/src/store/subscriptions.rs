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
                .in_operation(OP)?;
            for item in out.items() {
                subscriptions.push(items::subscription_from_item(item, OP)?);
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(subscriptions);
            }
        }
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
        self.subscription_debit_after_refund(client_id, payer, guard, cost, Credits::ZERO, now)
    }

    /// The debit of `cost` from `payer` in the same write that gives it `refunded` back (the WhatsApp → SMS
    /// fallback, when the SMS's payer is the subscription that paid the WhatsApp attempt: one transaction may write
    /// an item only once). `payer` and `guard` are as the balance will be after the refund; the conditions compare
    /// the stored balance, so each bound is lowered by `refunded`: `balance + refunded >= cost` is
    /// `balance >= cost - refunded`.
    pub(crate) fn subscription_debit_after_refund(
        &self,
        client_id: &str,
        payer: &Subscription,
        guard: DebitGuard,
        cost: Credits,
        refunded: Credits,
        now: time::OffsetDateTime,
    ) -> Result<Update, aws_sdk_dynamodb::error::BuildError> {
        let lowered = |bound: Credits| Credits::new(bound.get().saturating_sub(refunded.get()));
        let change = if refunded > cost {
            ("SET #balance = #balance + :change", Credits::new(refunded.get() - cost.get()))
        } else {
            ("SET #balance = #balance - :change", Credits::new(cost.get() - refunded.get()))
        };
        let debit = Update::builder()
            .table_name(&self.table)
            .set_key(Some(item_key(key::client(client_id), payer.sort_key.clone())))
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#balance", attr::BALANCE)
            .expression_attribute_names("#state", attr::STATE)
            .expression_attribute_values(":change", n(change.1))
            .expression_attribute_values(":cost", n(lowered(cost)))
            .expression_attribute_values(":active", s("Active"));
        const DEBITABLE: &str = "attribute_exists(#pk) AND #state = :active AND #balance >= :cost";
        match guard {
            DebitGuard::AlreadyNotified => debit.update_expression(change.0).condition_expression(DEBITABLE),
            DebitGuard::StaysAbove { floor } => debit
                .update_expression(change.0)
                .condition_expression(format!("{DEBITABLE} AND #balance >= :floor"))
                .expression_attribute_values(":floor", n(lowered(floor))),
            DebitGuard::Crosses { floor } => debit
                .update_expression(format!("{}, #notified = :now", change.0))
                .condition_expression(format!("{DEBITABLE} AND #balance < :floor AND attribute_not_exists(#notified)"))
                .expression_attribute_names("#notified", attr::LOW_BALANCE_NOTIFIED_AT)
                .expression_attribute_values(":floor", n(lowered(floor)))
                .expression_attribute_values(":now", s(rfc3339_millis(now))),
        }
        .build()
    }
}
