//! The per-IP rate limit (docs/api.md, Rate limit): counted before authentication, across the four API endpoints
//! (not the webhook), from API Gateway's source IP only.

use crate::domain::rate_limit::{RateWindow, seconds_left};
use crate::store::StoreError;
use crate::usecase::ports::RateLimitPorts;

/// Why a request was not admitted. Each API surface answers it in its own words (`api::lightotp`, `api::verify`).
#[derive(Debug, thiserror::Error)]
pub enum NotAdmitted {
    /// The source IP used up this minute's requests.
    #[error("rate limit reached; retry in {retry_after} s")]
    RateLimited {
        /// Seconds until the window ends.
        retry_after: u64,
    },
    /// The counter could not be written: the limit fails closed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Counts the request; refuses it once its IP has used up this minute.
pub async fn admit(ports: &impl RateLimitPorts, source_ip: Option<&str>) -> Result<(), NotAdmitted> {
    let now = ports.now().unix_timestamp();
    let limit = ports.rate_limit_for(source_ip).await?;
    count_in(ports, &RateWindow::of(source_ip, now, limit), now).await
}

/// Counts the request in `rate` (the window it was read in); refuses it when that window is full.
pub async fn count_in(ports: &impl RateLimitPorts, rate: &RateWindow, now_seconds: i64) -> Result<(), NotAdmitted> {
    if ports.count_request(rate).await? { Ok(()) } else { Err(rate_limited(now_seconds)) }
}

/// The refusal of a request at `now_seconds` whose window is full.
pub fn rate_limited(now_seconds: i64) -> NotAdmitted {
    NotAdmitted::RateLimited { retry_after: seconds_left(now_seconds) }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use time::OffsetDateTime;

    use super::*;
    use crate::usecase::ports::Now;

    /// A counter that admits `room` more requests, and remembers what it was asked.
    struct Counter {
        now: OffsetDateTime,
        room: Mutex<u32>,
        asked: Mutex<Vec<(String, i64, u32)>>,
    }

    impl Now for Counter {
        fn now(&self) -> OffsetDateTime {
            self.now
        }
    }

    impl RateLimitPorts for Counter {
        async fn rate_limit_for(&self, _: Option<&str>) -> Result<u32, StoreError> {
            Ok(60)
        }

        async fn count_request(&self, rate: &RateWindow) -> Result<bool, StoreError> {
            self.asked.lock().expect("asked").push((rate.source_ip.clone(), rate.window, rate.limit));
            let mut room = self.room.lock().expect("room");
            let admitted = *room > 0;
            *room = room.saturating_sub(1);
            Ok(admitted)
        }
    }

    #[tokio::test]
    async fn a_full_window_refuses_with_the_seconds_to_the_next_minute() {
        // 20 s into a minute.
        let counter = Counter {
            now: OffsetDateTime::from_unix_timestamp(1_800_000_020).expect("a time"),
            room: Mutex::new(1),
            asked: Mutex::new(Vec::new()),
        };
        assert!(admit(&counter, Some("203.0.113.7")).await.is_ok(), "room for one");
        let refusal = admit(&counter, Some("203.0.113.7")).await.expect_err("full");
        assert!(matches!(refusal, NotAdmitted::RateLimited { retry_after: 40 }), "{refusal:?}");
        let asked = counter.asked.lock().expect("asked").clone();
        assert_eq!(asked[0], ("203.0.113.7".to_owned(), 1_800_000_020 / 60, 60), "the IP, its minute, the limit");
    }

    #[tokio::test]
    async fn outside_api_gateway_every_request_shares_one_counter() {
        let counter = Counter {
            now: OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a time"),
            room: Mutex::new(5),
            asked: Mutex::new(Vec::new()),
        };
        admit(&counter, None).await.expect("admitted");
        assert_eq!(counter.asked.lock().expect("asked")[0].0, "unknown");
    }
}
