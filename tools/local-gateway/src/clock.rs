//! The movable clock: the real time plus an offset that `POST /_local/clock/advance` grows. It exists only in the
//! local stack; deployed functions use `SystemClock`.

use std::sync::atomic::{AtomicI64, Ordering};

use lightotp::clock::Clock;
use time::{Duration, OffsetDateTime};

/// Real time, shifted forward by whatever tests asked for.
#[derive(Debug, Default)]
pub struct MovableClock {
    offset_millis: AtomicI64,
}

impl MovableClock {
    /// Moves the clock forward by `seconds` (fractions allowed; never backwards).
    pub fn advance(&self, seconds: f64) -> OffsetDateTime {
        let millis = (seconds.max(0.0) * 1000.0).round() as i64;
        self.offset_millis.fetch_add(millis, Ordering::SeqCst);
        self.now()
    }

    /// How far ahead of real time the clock runs.
    pub fn offset(&self) -> Duration {
        Duration::milliseconds(self.offset_millis.load(Ordering::SeqCst))
    }
}

impl Clock for MovableClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.offset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_now_forward_and_never_back() {
        let clock = MovableClock::default();
        let before = clock.now();
        clock.advance(3600.0);
        assert!(clock.now() - before >= Duration::hours(1));
        clock.advance(-50.0);
        assert_eq!(clock.offset(), Duration::hours(1), "negative advances are ignored");
    }
}
