//! The WhatsApp → SMS fallback's rules (docs/api.md, WhatsApp → SMS fallback): which WhatsApp failures send the code
//! again by SMS, for how long after the send, and what the SMS costs. Pure: the failure, the times and the prices in.

use std::time::Duration;

use super::pricing::Credits;

/// Graph codes that say WhatsApp cannot deliver to this recipient: undeliverable (131026: not on WhatsApp, an old
/// app, terms not accepted) and held by WhatsApp for the ecosystem's health (131049). Throttling (130429, 80007,
/// 131048 spam rate, 131056 pair rate), our own errors and anything about the message never fall back.
pub const FALLBACK_CODES: [i64; 2] = [131026, 131049];

/// How long after the send a `failed` status still makes the message fall back; also how long its code is kept.
pub const FALLBACK_WINDOW: Duration = Duration::from_secs(10 * 60);

/// Whether a failure with Graph code `code` (the Graph API's answer, or a `failed` status's first error) is about
/// the recipient in the way the fallback is for.
pub fn falls_back(code: Option<i64>) -> bool {
    code.is_some_and(|code| FALLBACK_CODES.contains(&code))
}

/// Whether a failure recorded `since_send` after the send is still inside the window.
pub fn within_window(since_send: Duration) -> bool {
    since_send <= FALLBACK_WINDOW
}

/// What the SMS costs: its parts times the destination's price per part (1 credit where none is listed). `None`
/// when the product does not fit in a number of credits.
pub fn sms_cost(parts: u64, price_per_part: Option<Credits>) -> Option<Credits> {
    let per_part = price_per_part.map_or(1, Credits::get);
    parts.max(1).checked_mul(per_part).map(Credits::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_recipient_side_undeliverable_codes_fall_back() {
        assert!(falls_back(Some(131026)));
        assert!(falls_back(Some(131049)));
        for code in [130429, 80007, 131048, 131056, 131047, 190, 10, 131000, 100, 132001] {
            assert!(!falls_back(Some(code)), "{code}");
        }
        assert!(!falls_back(None), "a failure without a code is not known to be the recipient's");
    }

    #[test]
    fn the_window_is_ten_minutes_inclusive() {
        assert!(within_window(Duration::from_secs(0)));
        assert!(within_window(Duration::from_secs(600)));
        assert!(!within_window(Duration::from_secs(601)));
    }

    #[test]
    fn an_sms_costs_its_parts_times_its_price_and_one_credit_a_part_where_unlisted() {
        assert_eq!(sms_cost(1, None), Some(Credits::new(1)));
        assert_eq!(sms_cost(3, Some(Credits::new(4))), Some(Credits::new(12)));
        assert_eq!(sms_cost(0, Some(Credits::new(2))), Some(Credits::new(2)), "an SMS takes at least one part");
        assert_eq!(sms_cost(u64::MAX, Some(Credits::new(2))), None);
    }
}
