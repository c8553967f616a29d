//! Per-IP request counters, one item per source IP and minute.

use super::*;

impl DynamoStore {
    /// Counts a request from `source_ip` in its one-minute window: `ADD count 1` guarded by
    /// `attribute_not_exists(count) OR count < :limit`, so the counter stops at the limit. Returns `false` when
    /// the window is full. The counter expires (TTL) an hour after its window.
    pub async fn count_request(&self, source_ip: &str, window: i64, limit: u32) -> Result<bool, StoreError> {
        const OP: &str = "UpdateItem rate window";
        let expires = (window + 61) * 60;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(key::rate_window(source_ip, window), key::RATE.to_owned())))
            .update_expression("ADD #count :one SET #ttl = :expires")
            .condition_expression("attribute_not_exists(#count) OR #count < :limit")
            .expression_attribute_names("#count", attr::COUNT)
            .expression_attribute_names("#ttl", schema::TTL_ATTRIBUTE)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(limit))
            .expression_attribute_values(":expires", n(expires))
            .send()
            .await;
        applied(OP, result)
    }
}
