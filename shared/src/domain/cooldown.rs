//! The duplicate-send cooldown (docs/api.md, Duplicate-send cooldown). Pure: no clock, no I/O; the caller passes
//! `now` in (as milliseconds since the epoch).
//!
//! After the n-th counted (non-failed) send of a streak, the next send to that number waits
//! `min(30 s × 2^(n−1), 6 h)` from that send. A streak ends when 6 hours pass with no counted send.

use std::time::Duration;

use super::language::HumanLanguage;

const FIRST_WAIT: Duration = Duration::from_secs(30);
/// The longest wait, and the quiet gap after which a streak starts over.
pub const MAX_WAIT: Duration = Duration::from_secs(6 * 60 * 60);
/// How many of a streak's latest sends are kept by id, so that one that fails later can be taken out again.
pub const KEPT_SENDS: usize = 16;

/// Wait owed after the `n`-th counted send of a streak: `min(30 s × 2^(n−1), 6 h)`.
pub fn wait_after_send(n: u32) -> Duration {
    let doublings = n.saturating_sub(1).min(16); // 30 s × 2^16 is already past the cap
    FIRST_WAIT.saturating_mul(1 << doublings).min(MAX_WAIT)
}

/// One counted send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountedSend {
    /// The message.
    pub message_id: String,
    /// When it was sent, in milliseconds since the epoch.
    pub at_millis: i64,
}

/// The cooldown state of one client and one recipient number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CooldownWindow {
    /// Counted sends in the current streak (may exceed `recent.len()`).
    pub streak: u32,
    /// The streak's latest counted sends, oldest first, at most [`KEPT_SENDS`].
    pub recent: Vec<CountedSend>,
    /// Optimistic-concurrency version: 0 when the window was never written.
    pub version: u64,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl CooldownWindow {
    fn streak_alive(&self, now_millis: i64) -> bool {
        self.recent.last().is_some_and(|last| now_millis - last.at_millis < millis(MAX_WAIT))
    }

    /// How long the next send must still wait at `now`; `None` when it may go.
    pub fn remaining(&self, now_millis: i64) -> Option<Duration> {
        if !self.streak_alive(now_millis) {
            return None;
        }
        let last = self.recent.last()?;
        let until = last.at_millis.saturating_add(millis(wait_after_send(self.streak)));
        (now_millis < until).then(|| Duration::from_millis(u64::try_from(until - now_millis).unwrap_or(0)))
    }

    /// The window after a counted send at `now` (the caller checked [`Self::remaining`] first).
    pub fn after_send(&self, message_id: &str, now_millis: i64) -> Self {
        let (streak, mut recent) = if self.streak_alive(now_millis) {
            (self.streak.saturating_add(1), self.recent.clone())
        } else {
            (1, Vec::new())
        };
        recent.push(CountedSend { message_id: message_id.to_owned(), at_millis: now_millis });
        if recent.len() > KEPT_SENDS {
            recent.drain(..recent.len() - KEPT_SENDS);
        }
        Self { streak, recent, version: self.version + 1 }
    }

    /// The window with a send that failed taken out (failed messages do not count); `None` when it is not in
    /// the window (already removed, or from an earlier streak).
    pub fn without(&self, message_id: &str) -> Option<Self> {
        let position = self.recent.iter().position(|s| s.message_id == message_id)?;
        let mut recent = self.recent.clone();
        recent.remove(position);
        Some(Self { streak: self.streak.saturating_sub(1), recent, version: self.version + 1 })
    }
}

/// Whole seconds of a wait, rounded up: what `Retry-After` carries.
pub fn retry_after_seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// The refusal sentence, with the wait as `HH:mm:ss` rounded up to whole seconds.
pub fn refusal_sentence(wait: Duration, language: HumanLanguage) -> String {
    let total = retry_after_seconds(wait);
    let clock = format!("{:02}:{:02}:{:02}", total / 3600, total % 3600 / 60, total % 60);
    match language {
        HumanLanguage::En => {
            format!("You can't send another message to the same number yet. Please wait {clock} and try again.")
        }
        HumanLanguage::Ar => {
            format!("لا يمكنك إرسال رسالة أخرى إلى الرقم نفسه بعد. يرجى الانتظار {clock} ثم المحاولة مرة أخرى.")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1000;

    #[test]
    fn wait_doubles_from_thirty_seconds_and_stops_at_six_hours() {
        for (n, secs) in
            [(1, 30), (2, 60), (3, 120), (4, 240), (10, 15_360), (11, 21_600), (12, 21_600), (u32::MAX, 21_600)]
        {
            assert_eq!(wait_after_send(n), Duration::from_secs(secs), "after send #{n}");
        }
    }

    #[test]
    fn each_send_of_a_streak_doubles_the_wait_from_that_send() {
        let mut window = CooldownWindow::default();
        let mut now = 1_000_000 * S;
        assert_eq!(window.remaining(now), None, "a first send may always go");
        for (n, wait) in [(1, 30), (2, 60), (3, 120), (4, 240), (5, 480)] {
            window = window.after_send(&format!("m{n}"), now);
            assert_eq!(window.streak, n);
            assert_eq!(window.remaining(now), Some(Duration::from_secs(wait)), "right after send #{n}");
            assert_eq!(window.remaining(now + wait as i64 * S - 1), Some(Duration::from_millis(1)), "1 ms early");
            now += wait as i64 * S;
            assert_eq!(window.remaining(now), None, "exactly when the wait is over");
        }
        assert_eq!(window.version, 5);
    }

    #[test]
    fn six_quiet_hours_end_the_streak() {
        let mut window = CooldownWindow::default();
        let mut now = 0;
        for n in 1..=11 {
            window = window.after_send(&format!("m{n}"), now);
            now += millis(wait_after_send(n));
        }
        assert_eq!(window.streak, 11, "the 11th send reaches the 6 h cap");
        assert_eq!(window.recent.len(), 11);
        let last = window.recent.last().map(|s| s.at_millis).unwrap_or_default();
        assert_eq!(window.remaining(last + 6 * 3600 * S - 1), Some(Duration::from_millis(1)), "capped at 6 h");
        // The capped wait and the quiet gap are both 6 h: the send the cap allows starts a new streak.
        let fresh = window.after_send("next", last + 6 * 3600 * S);
        assert_eq!(fresh.streak, 1, "a send after 6 quiet hours starts a new streak");
        assert_eq!(fresh.remaining(last + 6 * 3600 * S), Some(Duration::from_secs(30)));
    }

    #[test]
    fn a_failed_send_stops_counting() {
        let window = CooldownWindow::default().after_send("a", 0).after_send("b", 30 * S);
        assert_eq!(window.remaining(30 * S), Some(Duration::from_secs(60)));
        let without_b = window.without("b").expect("b is in the window");
        assert_eq!(without_b.streak, 1);
        assert_eq!(without_b.remaining(30 * S), None, "back to 30 s after a, which is over");
        assert_eq!(without_b.version, window.version + 1);
        let without_both = without_b.without("a").expect("a is in the window");
        assert_eq!((without_both.streak, without_both.remaining(0)), (0, None));
        assert_eq!(without_both.without("a"), None, "removing twice changes nothing");
    }

    #[test]
    fn only_the_latest_sends_are_kept() {
        let mut window = CooldownWindow::default();
        for n in 0..40 {
            window = window.after_send(&format!("m{n}"), n * S);
        }
        assert_eq!(window.streak, 40);
        assert_eq!(window.recent.len(), KEPT_SENDS);
        assert_eq!(window.recent[0].message_id, "m24");
    }

    #[test]
    fn the_sentence_rounds_up_to_whole_seconds_in_either_language() {
        let cases = [
            (Duration::from_secs(30), "00:00:30"),
            (Duration::from_millis(29_001), "00:00:30"),
            (Duration::from_millis(1), "00:00:01"),
            (Duration::from_secs(3 * 3600 + 25 * 60 + 7), "03:25:07"),
            (MAX_WAIT, "06:00:00"),
        ];
        for (wait, clock) in cases {
            assert_eq!(
                refusal_sentence(wait, HumanLanguage::En),
                format!("You can't send another message to the same number yet. Please wait {clock} and try again.")
            );
            assert!(refusal_sentence(wait, HumanLanguage::Ar).contains(clock), "{wait:?}");
        }
        assert_eq!(retry_after_seconds(Duration::from_millis(29_001)), 30);
        assert_eq!(retry_after_seconds(Duration::from_secs(30)), 30);
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    const HOUR: i64 = 3600 * 1000;

    /// A window after sends at `start` and then after each gap (milliseconds), with the time of the last send.
    fn window() -> impl Strategy<Value = (CooldownWindow, i64)> {
        (0..2_000_000_000_000i64, proptest::collection::vec(0..8 * HOUR, 0..24)).prop_map(|(start, gaps)| {
            let mut window = CooldownWindow::default();
            let mut now = start;
            for (n, gap) in gaps.iter().enumerate() {
                now += gap;
                window = window.after_send(&format!("m{n}"), now);
            }
            (window, now)
        })
    }

    proptest! {
        #[test]
        fn the_wait_never_shrinks_as_a_streak_grows_and_stays_from_30_seconds_to_6_hours(n in any::<u32>()) {
            prop_assert!(wait_after_send(n) <= wait_after_send(n.saturating_add(1)));
            prop_assert!((FIRST_WAIT..=MAX_WAIT).contains(&wait_after_send(n)), "after send #{}", n);
        }

        #[test]
        fn the_wait_left_never_exceeds_the_streaks_wait_and_only_shrinks_as_time_passes(
            (window, last) in window(),
            sooner in 0..8 * HOUR,
            later in 0..8 * HOUR,
        ) {
            let (sooner, later) = (last + sooner.min(later), last + sooner.max(later));
            prop_assert!(window.remaining(sooner).is_none_or(|wait| wait <= wait_after_send(window.streak)));
            prop_assert!(window.remaining(later) <= window.remaining(sooner), "at {} and {}", sooner, later);
        }

        #[test]
        fn a_window_keeps_its_latest_sends_oldest_first_and_counts_every_send((window, last) in window()) {
            prop_assert!(window.recent.len() <= KEPT_SENDS);
            prop_assert!(window.recent.windows(2).all(|pair| pair[0].at_millis <= pair[1].at_millis));
            prop_assert!(window.streak as usize >= window.recent.len());
            prop_assert!(window.recent.last().is_none_or(|send| send.at_millis == last));
        }

        #[test]
        fn a_send_within_6_hours_of_the_last_extends_the_streak_and_a_later_one_starts_a_new_one(
            (window, last) in window(),
            gap in 0..8 * HOUR,
        ) {
            let next = window.after_send("next", last + gap);
            let extends = !window.recent.is_empty() && gap < 6 * HOUR;
            prop_assert_eq!(next.streak, if extends { window.streak + 1 } else { 1 });
            prop_assert_eq!(next.version, window.version + 1);
        }

        #[test]
        fn taking_a_send_out_counts_one_less_and_never_lengthens_the_wait(
            (window, last) in window(),
            which in any::<prop::sample::Index>(),
            after in 0..8 * HOUR,
        ) {
            prop_assume!(!window.recent.is_empty());
            let id = window.recent[which.index(window.recent.len())].message_id.clone();
            let without = window.without(&id).ok_or_else(|| TestCaseError::fail("the send is in the window"))?;
            prop_assert_eq!(without.streak, window.streak - 1);
            prop_assert!(without.remaining(last + after) <= window.remaining(last + after));
            prop_assert_eq!(without.without(&id), None, "a send is taken out once");
        }

        #[test]
        fn retry_after_is_the_wait_rounded_up_to_whole_seconds_as_the_sentence_shows_it(
            millis in 0..100 * HOUR as u64,
            language in prop_oneof![Just(HumanLanguage::En), Just(HumanLanguage::Ar)],
        ) {
            let wait = Duration::from_millis(millis);
            let seconds = retry_after_seconds(wait);
            let rounded = Duration::from_secs(seconds);
            prop_assert!(rounded >= wait && rounded - wait < Duration::from_secs(1), "{:?} as {} s", wait, seconds);
            let clock = format!("{:02}:{:02}:{:02}", seconds / 3600, seconds % 3600 / 60, seconds % 60);
            prop_assert!(refusal_sentence(wait, language).contains(&clock), "{}", clock);
        }
    }
}
