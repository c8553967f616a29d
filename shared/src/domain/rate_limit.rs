//! Per-IP rate limiting windows (docs/api.md, Rate limit): fixed one-minute windows. Pure.

/// The window a request at `now` (seconds since the epoch) counts in: its minute.
pub fn window_of(now_seconds: i64) -> i64 {
    now_seconds.div_euclid(60)
}

/// Seconds until the window of `now` ends: what `Retry-After` carries for a refused request (at least 1).
pub fn seconds_left(now_seconds: i64) -> u64 {
    u64::try_from(60 - now_seconds.rem_euclid(60)).unwrap_or(60)
}

/// Requests a minute one counter item takes at most: counted inside a transaction, a request costs the item 2 write
/// units, and an item takes 1,000 a second, so a counter's share of a minute stays far below what its item carries
/// even when the minute's requests come in a few seconds (docs/performance.md, "The ceiling per client").
pub const PER_COUNTER: u32 = 15_000;

/// The most counters one window is spread over (a raised limit of 120,000 a minute, 2,000 a second).
pub const MAX_COUNTERS: u32 = 8;

/// One source IP's count for one minute, as a request sees it: which counters, and how many each may hold. A limit
/// up to [`PER_COUNTER`] is one counter; a raised limit is spread over several, which add up to it exactly. The same
/// window is read with a SendMessage's context and counted in its reservation, or counted up front by an `UpdateItem`
/// (docs/api.md, Rate limit; docs/data-model.md, Rate counter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateWindow {
    /// The connection's address (`unknown` outside API Gateway, so such requests share one counter).
    pub source_ip: String,
    /// The minute, as [`window_of`] numbers it.
    pub window: i64,
    /// Requests the minute admits.
    pub limit: u32,
    /// How many counters the minute is spread over: one per [`PER_COUNTER`] requests, at most [`MAX_COUNTERS`].
    pub counters: usize,
}

impl RateWindow {
    /// The window a request from `source_ip` at `now_seconds` counts in.
    pub fn of(source_ip: Option<&str>, now_seconds: i64, limit: u32) -> Self {
        Self {
            source_ip: source_ip.unwrap_or("unknown").to_owned(),
            window: window_of(now_seconds),
            limit,
            counters: limit.div_ceil(PER_COUNTER).clamp(1, MAX_COUNTERS) as usize,
        }
    }

    /// How many counters the window is spread over.
    pub fn counters(&self) -> usize {
        self.counters.max(1)
    }

    /// How many requests counter `counter` admits: the limit spread as evenly as whole requests allow.
    pub fn counter_limit(&self, counter: usize) -> u32 {
        let counters = self.counters() as u32;
        let (each, left) = (self.limit / counters, self.limit % counters);
        each + u32::from((counter as u32) < left)
    }

    /// The counter a request is counted in, given what each held when it was read: the first from `start`
    /// (wrapping) with room. `None` when every counter is full: the window is.
    pub fn counter_with_room(&self, counts: &[u32], start: usize) -> Option<usize> {
        let counters = self.counters();
        (0..counters)
            .map(|i| (start + i) % counters)
            .find(|&counter| counts.get(counter).copied().unwrap_or(0) < self.counter_limit(counter))
    }
}

/// Where one request is counted: a counter of its window.
#[derive(Debug, Clone, Copy)]
pub struct Counted<'a> {
    /// The window.
    pub window: &'a RateWindow,
    /// Which of its counters.
    pub counter: usize,
}

/// An operator's raise of the per-IP limit for a client's addresses (`lightotp-admin rate-limit raise`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaisedRange {
    /// The addresses, as CIDR.
    pub range: ipnet::IpNet,
    /// Requests a minute each address of the range may make.
    pub per_minute: u32,
    /// The client whose addresses they are (for the operators' records; the limit is the address's).
    pub client_id: String,
}

/// The limit of requests a minute for `source_ip`: the most specific raised range that contains it, else `default`.
pub fn limit_for(ranges: &[RaisedRange], source_ip: Option<&str>, default: u32) -> u32 {
    let Some(ip) = source_ip.and_then(|ip| ip.parse::<std::net::IpAddr>().ok()) else { return default };
    ranges
        .iter()
        .filter(|raised| raised.range.contains(&ip))
        .max_by_key(|raised| raised.range.prefix_len())
        .map_or(default, |raised| raised.per_minute)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_full_once_its_counters_hold_its_limit() {
        let window = RateWindow::of(Some("203.0.113.7"), 120, 3);
        assert_eq!((window.source_ip.as_str(), window.window, window.counters()), ("203.0.113.7", 2, 1));
        assert_eq!(window.counter_with_room(&[2], 0), Some(0));
        assert_eq!(window.counter_with_room(&[3], 0), None);
        assert_eq!(window.counter_with_room(&[], 0), Some(0), "a counter never written holds nothing");
        assert_eq!(RateWindow::of(None, 0, 3).source_ip, "unknown", "outside API Gateway: one shared counter");
    }

    #[test]
    fn a_raised_limit_is_spread_over_counters_that_add_up_to_it() {
        let raised = RateWindow::of(Some("203.0.113.7"), 0, 60_001);
        assert_eq!(raised.counters(), 5);
        assert_eq!((0..5).map(|c| raised.counter_limit(c)).sum::<u32>(), 60_001);
        assert_eq!(raised.counter_limit(0), 12_001);
        assert_eq!(raised.counter_with_room(&[12_001, 12_000, 0, 0, 0], 0), Some(2), "the first with room from 0");
        assert_eq!(raised.counter_with_room(&[12_001, 12_000, 12_000, 12_000, 12_000], 3), None, "all full");
        assert_eq!(RateWindow::of(None, 0, u32::MAX).counters(), MAX_COUNTERS as usize);
    }

    #[test]
    fn the_most_specific_raised_range_sets_the_limit_of_an_address() {
        let range = |cidr: &str, per_minute| RaisedRange {
            range: cidr.parse().expect("cidr"),
            per_minute,
            client_id: "c".to_owned(),
        };
        let ranges = [range("203.0.113.0/24", 6_000), range("203.0.113.8/29", 60_000), range("2001:db8::/32", 600)];
        assert_eq!(limit_for(&ranges, Some("203.0.113.9"), 60), 60_000, "the /29 inside the /24");
        assert_eq!(limit_for(&ranges, Some("203.0.113.200"), 60), 6_000);
        assert_eq!(limit_for(&ranges, Some("198.51.100.1"), 60), 60, "outside every range");
        assert_eq!(limit_for(&ranges, Some("2001:db8::1"), 60), 600);
        assert_eq!(limit_for(&ranges, None, 60), 60);
        assert_eq!(limit_for(&ranges, Some("not an address"), 60), 60);
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
