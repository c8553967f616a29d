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
