//! Per-IP request counters, one item per source IP and minute (a raised limit spreads the minute over several
//! counters), and the operators' raised limits.

use crate::domain::rate_limit::{Counted, RaisedRange, RateWindow};

use super::*;

impl DynamoStore {
    /// Counts a request in `rate`'s window on its own (`UpdateItem`, [`Self::rate_count`]'s write), in the first
    /// counter from a random one that has room. Returns `false` when every counter is full: the window is.
    pub async fn count_request(&self, rate: &RateWindow) -> Result<bool, StoreError> {
        const OP: &str = "UpdateItem rate window";
        let counters = rate.counters();
        let start = crate::domain::spread_over(&uuid::Uuid::new_v4().to_string(), counters);
        for i in 0..counters {
            let counted = Counted { window: rate, counter: (start + i) % counters };
            let count = self.rate_count(counted).in_operation(OP)?;
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
            if applied(OP, result)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The count of one request in one counter of its window: `ADD count 1` guarded by
    /// `attribute_not_exists(count) OR count < :limit` (the counter's share of the limit), so the counter stops there.
    /// The counter expires (TTL) an hour after its window. Written alone by [`Self::count_request`], or inside
    /// SendMessage's reservation.
    pub(super) fn rate_count(&self, counted: Counted<'_>) -> Result<Update, aws_sdk_dynamodb::error::BuildError> {
        let rate = counted.window;
        let expires = (rate.window + 61) * 60;
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(item_key(
                key::rate_counter(&rate.source_ip, rate.window, counted.counter),
                key::RATE.to_owned(),
            )))
            .update_expression("ADD #count :one SET #ttl = :expires")
            .condition_expression("attribute_not_exists(#count) OR #count < :limit")
            .expression_attribute_names("#count", attr::COUNT)
            .expression_attribute_names("#ttl", schema::TTL_ATTRIBUTE)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(rate.counter_limit(counted.counter)))
            .expression_attribute_values(":expires", n(expires))
            .build()
    }

    /// Every raised per-IP limit (one `Query`; a handful of items).
    pub async fn raised_ranges(&self) -> Result<Vec<RaisedRange>, StoreError> {
        const OP: &str = "Query raised ranges";
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", s(key::RATE_RANGES));
        Self::query_all(OP, query)
            .await?
            .iter()
            .map(|item| {
                let range = items::string(item, attr::RANGE, OP)?;
                Ok(RaisedRange {
                    range: range.parse().map_err(|_| StoreError::corrupt(OP, format!("not a CIDR range: {range}")))?,
                    per_minute: items::number(item, attr::PER_MINUTE, OP)?,
                    client_id: items::string(item, attr::CLIENT_ID, OP)?,
                })
            })
            .collect()
    }

    /// Raises the per-IP limit of `raised.range` (replacing an earlier raise of the same range), with the operator's
    /// audit entry in the client's trail, in one transaction. The client must exist.
    pub async fn raise_rate_limit(&self, raised: &RaisedRange, audit: &AuditEntry) -> Result<(), StoreError> {
        const OP: &str = "TransactWriteItems raise rate limit";
        let now = time::OffsetDateTime::now_utc();
        let range = raised.range.to_string();
        let put = Put::builder()
            .table_name(&self.table)
            .item(PK, s(key::RATE_RANGES))
            .item(SK, s(key::rate_range(&range)))
            .item(attr::RANGE, s(range))
            .item(attr::PER_MINUTE, n(raised.per_minute))
            .item(attr::CLIENT_ID, s(raised.client_id.clone()))
            .item(attr::CREATED_AT, s(rfc3339_millis(now)))
            .build()
            .in_operation(OP)?;
        let client_exists = super::operator::client_exists(self, &raised.client_id).in_operation(OP)?;
        let entry = super::console::audit_put(self, &raised.client_id, audit, now).in_operation(OP)?;
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().condition_check(client_exists).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().put(entry).build())
            .send()
            .await
            .in_operation(OP)?;
        Ok(())
    }

    /// Removes the raise of `range` (its addresses get the default limit again). `false` when there was none.
    pub async fn remove_raised_range(&self, range: &ipnet::IpNet) -> Result<bool, StoreError> {
        const OP: &str = "DeleteItem raised range";
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(item_key(key::RATE_RANGES.to_owned(), key::rate_range(&range.to_string()))))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await;
        applied(OP, result)
    }
}
