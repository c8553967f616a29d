//! Per-IP rate limiting windows (docs/api.md, Rate limit): fixed one-minute windows. Pure.

/// The window a request at `now` (seconds since the epoch) counts in: its minute.
pub fn window_of(now_seconds: i64) -> i64 {
    now_seconds.div_euclid(60)
}

/// Seconds until the window of `now` ends: what `Retry-After` carries for a refused request (at least 1).
pub fn seconds_left(now_seconds: i64) -> u64 {
    u64::try_from(60 - now_seconds.rem_euclid(60)).unwrap_or(60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_a_clock_minute_and_retry_after_counts_to_its_end() {
        assert_eq!(window_of(120), 2);
        assert_eq!(window_of(179), 2);
        assert_eq!(window_of(180), 3);
        assert_eq!(seconds_left(120), 60);
        assert_eq!(seconds_left(179), 1);
    }
}
