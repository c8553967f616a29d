//! What clients and operators enter in the dashboard (docs/dashboard.md): plans, orders, API-key names, expiry
//! dates and rotation overlaps. Pure: callers pass `now`.

use time::{Date, Duration, OffsetDateTime, Time};

use super::account::{FieldError, optional_text, short_text};
use super::pricing::Credits;

/// The longest key name.
pub const KEY_NAME_CHARS: usize = 60;
/// The longest order note.
pub const NOTES_CHARS: usize = 500;
/// The longest cancellation reason.
pub const REASON_CHARS: usize = 200;
/// The most credits one plan, top-up or grant may carry.
pub const MAX_CREDITS: u64 = 100_000_000;

/// An order's state: `Pending`, then `Activated` or `Cancelled`, never back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderState {
    /// Placed, waiting for an operator.
    Pending,
    /// An operator granted its subscription.
    Activated,
    /// The client or an operator cancelled it.
    Cancelled,
}

impl OrderState {
    /// As stored and shown (the texts the dashboard promises).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Activated => "Activated",
            Self::Cancelled => "Cancelled",
        }
    }

    /// Reads what [`OrderState::as_str`] wrote.
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Pending, Self::Activated, Self::Cancelled].into_iter().find(|s| s.as_str() == raw)
    }
}

/// A whole number of credits from a form: 1 to [`MAX_CREDITS`].
pub fn credits(raw: &str) -> Result<Credits, FieldError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(FieldError::Empty);
    }
    match raw.parse::<u64>() {
        Ok(n) if (1..=MAX_CREDITS).contains(&n) => Ok(Credits::new(n)),
        _ => Err(FieldError::NotANumber),
    }
}

/// A plan as an operator defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanDraft {
    /// Its name (1–80 characters).
    pub name: String,
    /// Credits an activated order grants.
    pub credits: Credits,
    /// The price as shown, written by the operator (`SAR 150`; 1–40 characters).
    pub price_label: String,
    /// An optional description (up to 500 characters).
    pub description: Option<String>,
}

/// Which field of a form failed, and how.
pub type FieldErrors = Vec<(&'static str, FieldError)>;

impl PlanDraft {
    /// Checks every field and names each one that fails.
    pub fn parse(name: &str, credits_raw: &str, price_label: &str, description: &str) -> Result<Self, FieldErrors> {
        let name = short_text(name, 80);
        let credits = credits(credits_raw);
        let price_label = short_text(price_label, 40);
        let description = optional_text(description, 500);
        match (name, credits, price_label, description) {
            (Ok(name), Ok(credits), Ok(price_label), Ok(description)) => {
                Ok(Self { name, credits, price_label, description })
            }
            (name, credits, price_label, description) => Err([
                ("name", name.err()),
                ("credits", credits.err()),
                ("price", price_label.err()),
                ("description", description.err()),
            ]
            .into_iter()
            .filter_map(|(field, err)| err.map(|e| (field, e)))
            .collect()),
        }
    }
}

/// An API key's name: 1 to 60 characters.
pub fn key_name(raw: &str) -> Result<String, FieldError> {
    short_text(raw, KEY_NAME_CHARS)
}

/// A key's optional expiry from a date input (`YYYY-MM-DD`): the key works through that day (UTC) and stops at
/// the midnight that ends it. The day must not have ended, and must be within ten years.
pub fn key_expiry(raw: &str, now: OffsetDateTime) -> Result<Option<OffsetDateTime>, FieldError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = Date::parse(raw, &format).map_err(|_| FieldError::NotAFutureDate)?;
    let ends = date.next_day().ok_or(FieldError::NotAFutureDate)?.with_time(Time::MIDNIGHT).assume_utc();
    if ends <= now || ends > now + Duration::days(3660) {
        return Err(FieldError::NotAFutureDate);
    }
    Ok(Some(ends))
}

/// How long a rotated key keeps working beside its replacement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    /// The old key stops at once (within the API's 60 s cache).
    None,
    /// One hour.
    OneHour,
    /// A day.
    OneDay,
    /// A week.
    SevenDays,
}

impl Overlap {
    /// Every choice, in the order the page offers them, with its form value.
    pub const ALL: [(Self, &'static str); 4] =
        [(Self::None, "none"), (Self::OneHour, "1h"), (Self::OneDay, "24h"), (Self::SevenDays, "7d")];

    /// Reads a form value.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Self::ALL.iter().find(|(_, value)| *value == raw.trim()).map(|(o, _)| *o).ok_or(FieldError::UnknownChoice)
    }

    /// The overlap's length.
    pub fn duration(self) -> Duration {
        match self {
            Self::None => Duration::ZERO,
            Self::OneHour => Duration::hours(1),
            Self::OneDay => Duration::hours(24),
            Self::SevenDays => Duration::days(7),
        }
    }

    /// When the old key stops: `now` plus the overlap, unless it already stops sooner.
    pub fn old_key_expires(self, current: Option<OffsetDateTime>, now: OffsetDateTime) -> OffsetDateTime {
        let end = now + self.duration();
        current.map_or(end, |current| current.min(end))
    }
}

/// A key's state as the list shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// It works.
    Active,
    /// Its expiry has passed.
    Expired,
    /// Someone revoked it.
    Revoked,
}

impl KeyState {
    /// Revoked wins over expired; a key without either is active.
    pub fn of(revoked: bool, expires: Option<OffsetDateTime>, now: OffsetDateTime) -> Self {
        if revoked {
            Self::Revoked
        } else if expires.is_some_and(|at| at <= now) {
            Self::Expired
        } else {
            Self::Active
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-01 12:00 UTC);

    #[test]
    fn an_expiry_date_means_the_end_of_that_day_and_must_not_have_ended() {
        assert_eq!(key_expiry("", NOW), Ok(None));
        assert_eq!(key_expiry("2026-12-01", NOW), Ok(Some(datetime!(2026-12-02 0:00 UTC))));
        assert_eq!(key_expiry("2026-11-30", NOW), Err(FieldError::NotAFutureDate));
        assert_eq!(key_expiry("tomorrow", NOW), Err(FieldError::NotAFutureDate));
        assert_eq!(key_expiry("2046-01-01", NOW), Err(FieldError::NotAFutureDate));
    }

    #[test]
    fn an_overlap_never_extends_a_key() {
        assert_eq!(Overlap::parse("1h"), Ok(Overlap::OneHour));
        assert_eq!(Overlap::parse("2h"), Err(FieldError::UnknownChoice));
        assert_eq!(Overlap::OneHour.old_key_expires(None, NOW), NOW + Duration::hours(1));
        assert_eq!(Overlap::SevenDays.old_key_expires(Some(NOW + Duration::days(1)), NOW), NOW + Duration::days(1));
        assert_eq!(Overlap::None.old_key_expires(None, NOW), NOW);
    }

    #[test]
    fn credits_are_whole_numbers_from_one() {
        assert_eq!(credits(" 500 "), Ok(Credits::new(500)));
        for bad in ["0", "-1", "1.5", "ten", "100000001"] {
            assert_eq!(credits(bad), Err(FieldError::NotANumber), "{bad}");
        }
        assert_eq!(credits(""), Err(FieldError::Empty));
    }

    #[test]
    fn a_plan_names_every_field_that_fails() {
        assert!(PlanDraft::parse("Starter", "1000", "SAR 150", "").is_ok());
        let errors = PlanDraft::parse("", "x", "SAR 150", "").err().unwrap_or_default();
        assert_eq!(errors, vec![("name", FieldError::Empty), ("credits", FieldError::NotANumber)]);
    }

    #[test]
    fn a_key_is_revoked_before_it_is_expired() {
        assert_eq!(KeyState::of(true, Some(NOW), NOW), KeyState::Revoked);
        assert_eq!(KeyState::of(false, Some(NOW), NOW), KeyState::Expired);
        assert_eq!(KeyState::of(false, Some(NOW + Duration::seconds(1)), NOW), KeyState::Active);
        assert_eq!(OrderState::parse("Pending"), Some(OrderState::Pending));
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;
    use time::macros::{datetime, format_description};

    use super::*;
    use crate::domain::test_strategies::any_text;

    /// A moment in the next few decades, to the second.
    fn any_now() -> impl Strategy<Value = OffsetDateTime> {
        (0..30 * 366 * 86_400i64).prop_map(|s| datetime!(2026-01-01 0:00 UTC) + Duration::seconds(s))
    }

    proptest! {
        #[test]
        fn credits_from_any_text_are_a_whole_number_from_one_to_the_most_a_form_takes(raw in any_text()) {
            if let Ok(credits) = credits(&raw) {
                prop_assert!((1..=MAX_CREDITS).contains(&credits.get()), "{:?}", raw);
                prop_assert!(raw.trim().trim_start_matches('+').bytes().all(|b| b.is_ascii_digit()), "{:?}", raw);
            }
        }

        #[test]
        fn a_number_of_credits_reads_back_as_itself_only_up_to_the_most_a_form_takes(
            n in prop_oneof![1..=MAX_CREDITS, Just(MAX_CREDITS), Just(MAX_CREDITS + 1), any::<u64>()],
            padding in "[ \\t]{0,2}",
        ) {
            let read = credits(&format!("{padding}{n}{padding}")).map(|c| c.get());
            prop_assert_eq!(read, if (1..=MAX_CREDITS).contains(&n) { Ok(n) } else { Err(FieldError::NotANumber) });
        }

        #[test]
        fn any_expiry_text_is_read_without_panic_as_a_midnight_after_now_within_ten_years(
            raw in prop_oneof![any_text(), "[0-9]{4}-[0-9]{2}-[0-9]{2}", "20[2-3][0-9]-[01][0-9]-[0-3][0-9]"],
            now in any_now(),
        ) {
            match key_expiry(&raw, now) {
                Ok(Some(ends)) => {
                    let within = ends > now && ends <= now + Duration::days(3660);
                    prop_assert!(within, "{} from {:?} at {}", ends, raw, now);
                    prop_assert_eq!((ends.time(), ends.offset()), (Time::MIDNIGHT, time::UtcOffset::UTC));
                }
                Ok(None) => prop_assert!(raw.trim().is_empty()),
                Err(error) => prop_assert_eq!(error, FieldError::NotAFutureDate),
            }
        }

        /// Whatever the time of day: day `d` ends `d + 1` days after today began, and `now` is less than a day past
        /// that, so today (0) through day 3659 are accepted.
        #[test]
        fn a_date_reads_as_the_midnight_that_ends_it_from_today_to_3659_days_on(
            now in any_now(),
            days in prop_oneof![-30..3700i64, Just(-1), Just(0), Just(3659), Just(3660)],
        ) {
            let date = now.date() + Duration::days(days);
            let written = date
                .format(format_description!("[year]-[month]-[day]"))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let ends = (date + Duration::days(1)).midnight().assume_utc();
            let expected = if (0..=3659).contains(&days) { Ok(Some(ends)) } else { Err(FieldError::NotAFutureDate) };
            prop_assert_eq!(key_expiry(&written, now), expected, "{} at {}", written, now);
        }

        #[test]
        fn an_overlap_reads_only_from_an_offered_choice_and_each_reads_back_as_itself(
            raw in any_text(),
            choice in proptest::sample::select(Overlap::ALL.as_slice()),
            padding in "[ \\t]{0,2}",
        ) {
            if let Ok(overlap) = Overlap::parse(&raw) {
                prop_assert!(Overlap::ALL.contains(&(overlap, raw.trim())), "{:?}", raw);
            }
            prop_assert_eq!(Overlap::parse(&format!("{padding}{}{padding}", choice.1)), Ok(choice.0));
        }

        #[test]
        fn an_overlap_never_extends_a_key(
            choice in proptest::sample::select(Overlap::ALL.as_slice()),
            current in proptest::option::of(-86_400 * 30..86_400 * 30i64),
            now in any_now(),
        ) {
            let current = current.map(|s| now + Duration::seconds(s));
            let expires = choice.0.old_key_expires(current, now);
            prop_assert!(expires <= now + choice.0.duration());
            prop_assert!(current.is_none_or(|current| expires <= current));
        }

        #[test]
        fn any_plan_form_is_read_without_panic_and_names_exactly_the_fields_that_fail(
            name in prop_oneof![any_text(), "\\PC{0,90}"],
            credits_raw in prop_oneof![any_text(), "[ ]?[0-9]{1,10}"],
            price in any_text(),
            description in prop_oneof![any_text(), "\\PC{490,510}"],
        ) {
            let each = [
                ("name", short_text(&name, 80).err()),
                ("credits", credits(&credits_raw).err()),
                ("price", short_text(&price, 40).err()),
                ("description", optional_text(&description, 500).err()),
            ];
            let failing: FieldErrors = each.into_iter().filter_map(|(field, e)| e.map(|e| (field, e))).collect();
            match PlanDraft::parse(&name, &credits_raw, &price, &description) {
                Ok(plan) => {
                    prop_assert!(failing.is_empty(), "{:?}", failing);
                    prop_assert_eq!(Ok(plan.name), short_text(&name, 80));
                    prop_assert_eq!(Ok(plan.price_label), short_text(&price, 40));
                    prop_assert_eq!(Ok(plan.description), optional_text(&description, 500));
                    prop_assert_eq!(Ok(plan.credits.get()), credits(&credits_raw).map(|c| c.get()));
                }
                Err(errors) => {
                    prop_assert!(!errors.is_empty());
                    prop_assert_eq!(errors, failing);
                }
            }
        }

        #[test]
        fn a_key_name_has_one_to_sixty_characters(raw in prop_oneof![any_text(), "\\PC{55,65}"]) {
            if let Ok(name) = key_name(&raw) {
                prop_assert!((1..=KEY_NAME_CHARS).contains(&name.chars().count()), "{:?}", name);
            }
        }

        #[test]
        fn an_order_state_reads_only_from_its_own_spelling(
            raw in prop_oneof![any_text(), "Pending|Activated|Cancelled|pending"],
        ) {
            if let Some(state) = OrderState::parse(&raw) {
                prop_assert_eq!(state.as_str(), raw.as_str());
                prop_assert_eq!(OrderState::parse(state.as_str()), Some(state));
            }
        }
    }
}
