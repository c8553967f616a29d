//! The operators' raised per-IP limits, cached per instance for at most 60 s (docs/api.md, "Rate limit"; raised with
//! `lightotp-admin rate-limit raise`). Read by an instance's first request and then by the first request after the
//! cache aged: one `Query` per instance per minute, none per request, and none in the cold start.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::Mutex;

use crate::domain::rate_limit::{RaisedRange, limit_for};
use crate::store::{DynamoStore, StoreError};

/// How long a loaded list of raised ranges is used before it is read again: a raise or its removal takes effect
/// everywhere within this.
pub const REFRESH_AFTER: Duration = Duration::from_secs(60);

/// The raised ranges as last read, and when.
#[derive(Debug, Default)]
pub struct RaisedLimits {
    loaded: Mutex<Option<(OffsetDateTime, Arc<Vec<RaisedRange>>)>>,
}

impl RaisedLimits {
    /// The limit of requests a minute for `source_ip`: its most specific raised range's, else `default`. Reads the
    /// ranges when none were loaded or they are older than [`REFRESH_AFTER`]; requests that find it so meanwhile wait
    /// for that one read. A failed read fails the request (the limit fails closed). `now` is the functions' clock
    /// (the local stack's can be moved).
    pub async fn limit_for(
        &self,
        store: &DynamoStore,
        source_ip: Option<&str>,
        default: u32,
        now: OffsetDateTime,
    ) -> Result<u32, StoreError> {
        let ranges = self.ranges(store, now).await?;
        Ok(limit_for(&ranges, source_ip, default))
    }

    async fn ranges(&self, store: &DynamoStore, now: OffsetDateTime) -> Result<Arc<Vec<RaisedRange>>, StoreError> {
        let mut loaded = self.loaded.lock().await;
        if let Some((at, ranges)) = loaded.as_ref()
            && (*at..*at + REFRESH_AFTER).contains(&now)
        {
            return Ok(Arc::clone(ranges));
        }
        let ranges = Arc::new(store.raised_ranges().await?);
        *loaded = Some((now, Arc::clone(&ranges)));
        Ok(ranges)
    }
}
