//! The WhatsApp → SMS fallback's rules (docs/api.md, WhatsApp → SMS fallback): which WhatsApp failures send the code
//! again by SMS, for how long after the send, and what the SMS costs. Pure: the failure, the times and the prices in.

use std::time::Duration;

use super::language::HumanLanguage;
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

/// The longest fallback SMS text a client may set, in characters (`{CODE}` included): four GSM-7 parts, or
/// seven UCS-2 ones, at most.
pub const MAX_TEXT_CHARS: usize = 450;

/// A client's fallback settings as its dashboard form sets them: on or off, and its own text per language (a
/// language without one gets ours).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FallbackSettings {
    /// Whether a message WhatsApp cannot deliver goes again by SMS.
    pub on: bool,
    /// The client's own texts, by language; each contains `{CODE}`.
    pub texts: Vec<(HumanLanguage, String)>,
}

/// Why a fallback text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FallbackTextError {
    /// The text does not say where the code goes.
    #[error("the text must contain {{CODE}}")]
    NoCode,
    /// The text is longer than [`MAX_TEXT_CHARS`].
    #[error("the text is longer than {MAX_TEXT_CHARS} characters")]
    TooLong,
}

impl FallbackSettings {
    /// The settings from a form: `texts` as typed per language, trimmed; an empty one means ours. The first text
    /// refused is named with its language.
    pub fn parse(on: bool, texts: &[(HumanLanguage, &str)]) -> Result<Self, (HumanLanguage, FallbackTextError)> {
        let mut own = Vec::new();
        for (language, text) in texts {
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            if text.chars().count() > MAX_TEXT_CHARS {
                return Err((*language, FallbackTextError::TooLong));
            }
            if !text.contains("{CODE}") {
                return Err((*language, FallbackTextError::NoCode));
            }
            own.push((*language, text.to_owned()));
        }
        Ok(Self { on, texts: own })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_keeps_the_texts_given_and_refuses_one_without_the_code_or_too_long() {
        let settings = FallbackSettings::parse(true, &[(HumanLanguage::En, "  Code {CODE} "), (HumanLanguage::Ar, "")]);
        assert_eq!(settings, Ok(FallbackSettings { on: true, texts: vec![(HumanLanguage::En, "Code {CODE}".into())] }));
        assert_eq!(
            FallbackSettings::parse(false, &[(HumanLanguage::En, "ok {CODE}"), (HumanLanguage::Ar, "رمزك")]),
            Err((HumanLanguage::Ar, FallbackTextError::NoCode))
        );
        let long = format!("{{CODE}}{}", "x".repeat(MAX_TEXT_CHARS));
        assert_eq!(
            FallbackSettings::parse(true, &[(HumanLanguage::En, &long)]),
            Err((HumanLanguage::En, FallbackTextError::TooLong))
        );
    }

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
