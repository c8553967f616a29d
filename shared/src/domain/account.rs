//! Dashboard accounts (docs/dashboard.md, "Accounts and sessions"): what a sign-up, a password, a session and a
//! sign-in throttle must satisfy. Pure: callers pass `now`.

use time::{Duration, OffsetDateTime};

/// Passwords are 10 to 128 characters.
pub const PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 10..=128;
/// A session ends after this long without a request.
pub const SESSION_IDLE: Duration = Duration::hours(24);
/// A session ends this long after sign-in, however busy.
pub const SESSION_ABSOLUTE: Duration = Duration::days(7);
/// A session's last-seen time is written at most this often (a page view is otherwise read-only).
pub const SESSION_TOUCH_EVERY: Duration = Duration::minutes(15);
/// Failed sign-ins for one email that start a block…
pub const SIGN_IN_FAILURES: usize = 5;
/// …when they fall within this long…
pub const SIGN_IN_WINDOW: Duration = Duration::minutes(15);
/// …and how long the block lasts after the last of them.
pub const SIGN_IN_BLOCK: Duration = Duration::minutes(15);

/// What a form field failed on, in product words; the page words it in the user's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// Nothing was given.
    #[error("required")]
    Empty,
    /// More than the field allows.
    #[error("too long")]
    TooLong,
    /// Not an email address.
    #[error("not an email address")]
    NotAnEmail,
    /// A password outside 10–128 characters.
    #[error("password length")]
    PasswordLength,
    /// Not a whole number in the allowed range.
    #[error("not a number")]
    NotANumber,
    /// A date that is not `YYYY-MM-DD`, or not in the future.
    #[error("not a future date")]
    NotAFutureDate,
    /// A choice the form does not offer.
    #[error("unknown choice")]
    UnknownChoice,
}

/// An email address, trimmed and lower-cased: the user's sign-in name and the key of its account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// `local@domain.tld`: at most 254 characters, no spaces or control characters, one `@`, a dot in the domain.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(FieldError::Empty);
        }
        if email.chars().count() > 254 {
            return Err(FieldError::TooLong);
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err(FieldError::NotAnEmail);
        };
        let well_formed = !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !email.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ','));
        if well_formed { Ok(Self(email)) } else { Err(FieldError::NotAnEmail) }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password as typed. `Debug` never shows it, and there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl Password {
    /// A new password: 10 to 128 characters (any characters; spaces count).
    pub fn new_password(raw: &str) -> Result<Self, FieldError> {
        if raw.is_empty() {
            return Err(FieldError::Empty);
        }
        if PASSWORD_CHARS.contains(&raw.chars().count()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(FieldError::PasswordLength)
        }
    }

    /// A password offered at sign-in: anything up to 128 characters (a longer one cannot match, and is not hashed).
    pub fn offered(raw: &str) -> Result<Self, FieldError> {
        if raw.is_empty() {
            return Err(FieldError::Empty);
        }
        if raw.chars().count() > *PASSWORD_CHARS.end() { Err(FieldError::TooLong) } else { Ok(Self(raw.to_owned())) }
    }

    /// The only way to read it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A required one-line text of at most `max` characters, trimmed (a company name, a key name, a plan name).
pub fn short_text(raw: &str, max: usize) -> Result<String, FieldError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(FieldError::Empty);
    }
    if text.chars().count() > max {
        return Err(FieldError::TooLong);
    }
    Ok(text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect())
}

/// An optional text of at most `max` characters (notes, a description, a reason); empty is `None`.
pub fn optional_text(raw: &str, max: usize) -> Result<Option<String>, FieldError> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().count() > max {
        return Err(FieldError::TooLong);
    }
    Ok(Some(text.chars().filter(|c| !c.is_control() || *c == '\n').collect()))
}

/// Who a user is to the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A person of a client: its own pages only.
    Client,
    /// A platform operator: the operator pages only.
    Operator,
}

impl Role {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Operator => "operator",
        }
    }

    /// Reads what [`Role::as_str`] wrote; anything else is a client (the lesser role).
    pub fn from_stored(raw: &str) -> Self {
        if raw == "operator" { Self::Operator } else { Self::Client }
    }
}

/// What an emailed link is for, and how long it lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Confirms the email address (24 hours).
    VerifyEmail,
    /// Sets a new password (1 hour).
    ResetPassword,
}

impl LinkPurpose {
    /// How long a link of this purpose works.
    pub fn lifetime(self) -> Duration {
        match self {
            Self::VerifyEmail => Duration::hours(24),
            Self::ResetPassword => Duration::hours(1),
        }
    }

    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify-email",
            Self::ResetPassword => "reset-password",
        }
    }
}

/// Whether a session that started at `created` and was last seen at `last_seen` is still alive at `now`.
pub fn session_alive(created: OffsetDateTime, last_seen: OffsetDateTime, now: OffsetDateTime) -> bool {
    now - created < SESSION_ABSOLUTE && now - last_seen < SESSION_IDLE
}

/// Whether a request at `now` should write the session's last-seen time.
pub fn session_needs_touch(last_seen: OffsetDateTime, now: OffsetDateTime) -> bool {
    now - last_seen >= SESSION_TOUCH_EVERY
}

/// Until when sign-ins for an email are refused, given its recorded failures (any order): after
/// [`SIGN_IN_FAILURES`] failures within [`SIGN_IN_WINDOW`], for [`SIGN_IN_BLOCK`] after the last of them. `None`
/// when sign-ins are allowed at `now`.
pub fn sign_in_blocked_until(failures: &[OffsetDateTime], now: OffsetDateTime) -> Option<OffsetDateTime> {
    let mut sorted = failures.to_vec();
    sorted.sort();
    sorted
        .windows(SIGN_IN_FAILURES)
        .filter(|run| run[SIGN_IN_FAILURES - 1] - run[0] <= SIGN_IN_WINDOW)
        .map(|run| run[SIGN_IN_FAILURES - 1] + SIGN_IN_BLOCK)
        .filter(|until| *until > now)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-01 12:00 UTC);

    #[test]
    fn emails_are_trimmed_lower_cased_and_checked() {
        assert_eq!(EmailAddress::parse("  Ann@Example.COM ").map(|e| e.0), Ok("ann@example.com".to_owned()));
        assert_eq!(EmailAddress::parse(""), Err(FieldError::Empty));
        for bad in ["ann", "ann@", "@example.com", "ann@example", "a b@example.com", "ann@@example.com", "a@.com"] {
            assert_eq!(EmailAddress::parse(bad), Err(FieldError::NotAnEmail), "{bad}");
        }
        assert_eq!(EmailAddress::parse(&format!("{}@example.com", "a".repeat(250))), Err(FieldError::TooLong));
    }

    #[test]
    fn new_passwords_have_10_to_128_characters_counted_as_characters() {
        assert!(Password::new_password("0123456789").is_ok());
        assert_eq!(Password::new_password("012345678"), Err(FieldError::PasswordLength));
        assert!(Password::new_password(&"ب".repeat(128)).is_ok());
        assert_eq!(Password::new_password(&"a".repeat(129)), Err(FieldError::PasswordLength));
        assert_eq!(Password::new_password(""), Err(FieldError::Empty));
        assert_eq!(format!("{:?}", Password::offered("hunter2hunter2")), "Ok(Password(<redacted>))");
    }

    #[test]
    fn texts_are_trimmed_bounded_and_optional_ones_may_be_empty() {
        assert_eq!(short_text("  Acme ", 60), Ok("Acme".to_owned()));
        assert_eq!(short_text("   ", 60), Err(FieldError::Empty));
        assert_eq!(short_text(&"x".repeat(61), 60), Err(FieldError::TooLong));
        assert_eq!(optional_text("  ", 500), Ok(None));
        assert_eq!(optional_text(&"x".repeat(501), 500), Err(FieldError::TooLong));
    }

    #[test]
    fn a_session_ends_after_a_day_idle_or_a_week_in_all() {
        let created = NOW - Duration::days(6);
        assert!(session_alive(created, NOW - Duration::hours(23), NOW));
        assert!(!session_alive(created, NOW - Duration::hours(24), NOW));
        assert!(!session_alive(NOW - Duration::days(7), NOW - Duration::minutes(1), NOW));
        assert!(!session_needs_touch(NOW - Duration::minutes(14), NOW));
        assert!(session_needs_touch(NOW - Duration::minutes(15), NOW));
    }

    #[test]
    fn five_failures_within_15_minutes_block_for_15_minutes_after_the_last() {
        let minutes = |m: &[i64]| m.iter().map(|m| NOW - Duration::minutes(*m)).collect::<Vec<_>>();
        assert_eq!(sign_in_blocked_until(&minutes(&[4, 3, 2, 1]), NOW), None);
        assert_eq!(sign_in_blocked_until(&minutes(&[1, 2, 3, 4, 5]), NOW), Some(NOW + Duration::minutes(14)));
        // Spread over more than 15 minutes: no block.
        assert_eq!(sign_in_blocked_until(&minutes(&[20, 3, 2, 1, 0]), NOW), None);
        // The block ends 15 minutes after the fifth failure.
        assert_eq!(sign_in_blocked_until(&minutes(&[19, 18, 17, 16, 15]), NOW), None);
        assert_eq!(sign_in_blocked_until(&minutes(&[18, 17, 16, 15, 14]), NOW), Some(NOW + Duration::minutes(1)));
    }
}
