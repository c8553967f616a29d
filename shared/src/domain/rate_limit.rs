//! Per-IP rate limiting windows (docs/api.md, Rate limit): fixed one-minute windows. Pure.

/// The window a request at `now` (seconds since the epoch) counts in: its minute.
pub fn window_of(now_seconds: i64) -> i64 {
    now_seconds.div_euclid(60)
}

/// Seconds until the window of `now` ends: what `Retry-After` carries for a refused request (at least 1).
pub fn seconds_left(now_seconds: i64) -> u64 {
    u64::try_from(60 - now_seconds.rem_euclid(60)).unwrap_or(60)
}

/// One source IP's count for one minute, as a request sees it: which counter, and how many it may hold. The same
/// window is read with a SendMessage's context and counted in its reservation, or counted up front by an
/// `UpdateItem` (docs/api.md, Rate limit; docs/data-model.md, Rate counter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateWindow {
    /// The connection's address (`unknown` outside API Gateway, so such requests share one counter).
    pub source_ip: String,
    /// The minute, as [`window_of`] numbers it.
    pub window: i64,
    /// Requests the minute admits.
    pub limit: u32,
}

impl RateWindow {
    /// The window a request from `source_ip` at `now_seconds` counts in.
    pub fn of(source_ip: Option<&str>, now_seconds: i64, limit: u32) -> Self {
        Self { source_ip: source_ip.unwrap_or("unknown").to_owned(), window: window_of(now_seconds), limit }
    }

    /// Whether a counter holding `count` requests admits no more.
    pub fn is_full(&self, count: u32) -> bool {
        count >= self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_full_once_it_holds_its_limit() {
        let window = RateWindow::of(Some("203.0.113.7"), 120, 3);
        assert_eq!((window.source_ip.as_str(), window.window), ("203.0.113.7", 2));
        assert!(!window.is_full(2));
        assert!(window.is_full(3));
        assert!(window.is_full(4));
        assert_eq!(RateWindow::of(None, 0, 3).source_ip, "unknown", "outside API Gateway: one shared counter");
    }

    #[test]
    fn a_window_is_a_clock_minute_and_retry_after_counts_to_its_end() {
        assert_eq!(window_of(120), 2);
        assert_eq!(window_of(179), 2);
        assert_eq!(window_of(180), 3);
        assert_eq!(seconds_left(120), 60);
        assert_eq!(seconds_left(179), 1);
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    /// A moment as far as ±3,000 years from the epoch, in seconds.
    const SPAN: i64 = 100_000_000_000;

    proptest! {
        #[test]
        fn retry_after_is_1_to_60_seconds_whatever_the_clock_says(now in any::<i64>()) {
            prop_assert!((1..=60).contains(&seconds_left(now)));
            let _ = window_of(now);
        }

        #[test]
        fn retry_after_counts_exactly_to_the_start_of_the_next_window(now in -SPAN..SPAN) {
            let left = i64::try_from(seconds_left(now)).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(window_of(now + left - 1), window_of(now), "still this window a second before");
            prop_assert_eq!(window_of(now + left), window_of(now) + 1, "the next window when it is over");
        }

        #[test]
        fn windows_never_go_back_as_time_passes(first in -SPAN..SPAN, second in -SPAN..SPAN) {
            let (sooner, later) = (first.min(second), first.max(second));
            prop_assert!(window_of(sooner) <= window_of(later));
        }
    }
}
