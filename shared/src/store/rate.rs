//! Per-IP request counters, one item per source IP and minute.

use crate::domain::rate_limit::RateWindow;

use super::*;

impl DynamoStore {
    /// Counts a request in `rate`'s window on its own (`UpdateItem`, [`Self::rate_count`]'s write). Returns `false`
    /// when the window is full.
    pub async fn count_request(&self, rate: &RateWindow) -> Result<bool, StoreError> {
        const OP: &str = "UpdateItem rate window";
        let count = self.rate_count(rate).in_operation(OP)?;
        let result = self
            .client
            .update_item()
            .table_name(count.table_name())
            .set_key(Some(count.key().clone()))
            .update_expression(count.update_expression())
            .set_condition_expression(count.condition_expression().map(str::to_owned))
            .set_expression_attribute_names(count.expression_attribute_names().cloned())
            .set_expression_attribute_values(count.expression_attribute_values().cloned())
            .send()
            .await;
        applied(OP, result)
    }

    /// The count of one request in `rate`'s window: `ADD count 1` guarded by
    /// `attribute_not_exists(count) OR count < :limit`, so the counter stops at the limit. The counter expires (TTL)
    /// an hour after its window. Written alone by [`Self::count_request`], or inside SendMessage's reservation.
    pub(super) fn rate_count(&self, rate: &RateWindow) -> Result<Update, aws_sdk_dynamodb::error::BuildError> {
        let expires = (rate.window + 61) * 60;
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(item_key(key::rate_window(&rate.source_ip, rate.window), key::RATE.to_owned())))
            .update_expression("ADD #count :one SET #ttl = :expires")
            .condition_expression("attribute_not_exists(#count) OR #count < :limit")
            .expression_attribute_names("#count", attr::COUNT)
            .expression_attribute_names("#ttl", schema::TTL_ATTRIBUTE)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(rate.limit))
            .expression_attribute_values(":expires", n(expires))
            .build()
    }
}
