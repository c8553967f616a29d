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

/// A required one-line text of at most `max` characters (a company name, a key name, a plan name): control
/// characters become spaces first, then the text is trimmed, so it is never blank and never padded.
pub fn short_text(raw: &str, max: usize) -> Result<String, FieldError> {
    let text: String = raw.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let text = text.trim();
    if text.is_empty() {
        return Err(FieldError::Empty);
    }
    if text.chars().count() > max {
        return Err(FieldError::TooLong);
    }
    Ok(text.to_owned())
}

/// An optional text of at most `max` characters (notes, a description, a reason): control characters but line
/// breaks are dropped first, then the text is trimmed; what is left empty is `None`.
pub fn optional_text(raw: &str, max: usize) -> Result<Option<String>, FieldError> {
    let text: String = raw.chars().filter(|c| !c.is_control() || *c == '\n').collect();
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().count() > max {
        return Err(FieldError::TooLong);
    }
    Ok(Some(text.to_owned()))
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

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;
    use time::macros::datetime;

    use super::*;
    use crate::domain::test_strategies::any_text;

    const NOW: OffsetDateTime = datetime!(2026-12-01 12:00 UTC);

    /// Any text, or one shaped like an address (an `@` and a dot), with any characters around them.
    fn email_like() -> impl Strategy<Value = String> {
        prop_oneof![
            any_text(),
            "\\PC{0,8}@\\PC{0,8}\\.\\PC{0,4}",
            "[ A-Za-zÀ-ʯΣ]{0,3}[a-zA-Z.]{1,6}@[a-zΣİ]{1,6}\\.[A-Z]{2,3}[ ]?"
        ]
    }

    /// Any text, and long ones around the password bounds.
    fn password_like() -> impl Strategy<Value = String> {
        prop_oneof![any_text(), "\\PC{0,140}"]
    }

    /// Failure times within the hour before `NOW` and a few minutes after it, any order.
    fn failures() -> impl Strategy<Value = Vec<OffsetDateTime>> {
        proptest::collection::vec((-3600..600i64).prop_map(|s| NOW + Duration::seconds(s)), 0..12)
    }

    proptest! {
        #[test]
        fn any_text_parses_without_panic_to_an_email_trimmed_lower_cased_and_well_formed(raw in email_like()) {
            if let Ok(email) = EmailAddress::parse(&raw) {
                let text = email.as_str();
                prop_assert_eq!(text, text.trim(), "trimmed");
                prop_assert_eq!(text, text.to_lowercase(), "lower-cased");
                prop_assert!(text.chars().count() <= 254);
                prop_assert_eq!(text.matches('@').count(), 1);
                prop_assert!(!text.chars().any(|c| c.is_whitespace() || c.is_control()), "{:?}", text);
                prop_assert_eq!(EmailAddress::parse(text), Ok(email.clone()), "parses to itself");
            }
        }

        #[test]
        fn a_plain_address_in_any_case_and_padding_parses_to_its_lower_case(
            local in "[A-Za-z0-9._%+-]{1,20}",
            domain in "[A-Za-z0-9-]{1,12}(\\.[A-Za-z]{2,6}){1,2}",
            padding in "[ \\t\\n]{0,2}",
        ) {
            let email = EmailAddress::parse(&format!("{padding}{local}@{domain}{padding}"));
            let expected = format!("{local}@{domain}").to_ascii_lowercase();
            prop_assert_eq!(email.as_ref().map(EmailAddress::as_str), Ok(expected.as_str()));
        }

        #[test]
        fn a_new_password_is_kept_exactly_when_it_has_10_to_128_characters(raw in password_like()) {
            let expected = match raw.chars().count() {
                0 => Err(FieldError::Empty),
                n if PASSWORD_CHARS.contains(&n) => Ok(raw.as_str()),
                _ => Err(FieldError::PasswordLength),
            };
            let password = Password::new_password(&raw);
            prop_assert_eq!(password.as_ref().map(Password::expose).map_err(|e| *e), expected);
        }

        #[test]
        fn an_offered_password_is_kept_exactly_when_it_has_1_to_128_characters(raw in password_like()) {
            let expected = match raw.chars().count() {
                0 => Err(FieldError::Empty),
                n if n <= *PASSWORD_CHARS.end() => Ok(raw.as_str()),
                _ => Err(FieldError::TooLong),
            };
            let password = Password::offered(&raw);
            prop_assert_eq!(password.as_ref().map(Password::expose).map_err(|e| *e), expected);
        }

        #[test]
        fn a_short_text_has_at_most_max_characters_and_no_control_character(raw in any_text(), max in 0..40usize) {
            match short_text(&raw, max) {
                Ok(text) => {
                    prop_assert!((1..=max).contains(&text.chars().count()), "{:?} from {:?}", text, raw);
                    prop_assert!(!text.chars().any(char::is_control), "{:?}", text);
                }
                // Control characters count as spaces: blank around them is trimmed too.
                Err(FieldError::Empty) => prop_assert!(raw.chars().all(|c| c.is_whitespace() || c.is_control())),
                Err(FieldError::TooLong) => {
                    let cleaned: String = raw.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
                    prop_assert!(cleaned.trim().chars().count() > max);
                }
                Err(other) => prop_assert!(false, "{other}"),
            }
        }

        #[test]
        fn an_optional_text_has_at_most_max_characters_and_no_control_character_but_newlines(
            raw in any_text(),
            max in 0..40usize,
        ) {
            match optional_text(&raw, max) {
                Ok(Some(text)) => {
                    prop_assert!(text.chars().count() <= max, "{:?}", text);
                    prop_assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{:?}", text);
                }
                // Control characters but line breaks are dropped first.
                Ok(None) => prop_assert!(raw.chars().all(|c| c.is_whitespace() || c.is_control())),
                Err(FieldError::TooLong) => {
                    let cleaned: String = raw.chars().filter(|c| !c.is_control() || *c == '\n').collect();
                    prop_assert!(cleaned.trim().chars().count() > max);
                }
                Err(other) => prop_assert!(false, "{other}"),
            }
        }

        #[test]
        fn a_required_text_is_never_blank_and_never_padded(raw in any_text()) {
            if let Ok(text) = short_text(&raw, 60) {
                prop_assert_eq!(text.trim(), text.as_str(), "from {:?}", raw);
            }
        }

        #[test]
        fn an_optional_text_is_none_when_empty_and_never_padded(raw in any_text()) {
            if let Ok(Some(text)) = optional_text(&raw, 500) {
                prop_assert!(!text.is_empty(), "from {:?}", raw);
                prop_assert_eq!(text.trim(), text.as_str(), "from {:?}", raw);
            }
        }

        #[test]
        fn a_stored_role_is_an_operator_only_when_it_says_operator(raw in any_text()) {
            let expected = if raw == "operator" { Role::Operator } else { Role::Client };
            prop_assert_eq!(Role::from_stored(&raw), expected);
            prop_assert_eq!(Role::from_stored(expected.as_str()), expected, "a role reads back as itself");
        }

        #[test]
        fn a_sign_in_block_ends_after_now_and_within_15_minutes_of_the_last_failure(
            failures in failures(),
            now in (-3600..1800i64).prop_map(|s| NOW + Duration::seconds(s)),
        ) {
            if let Some(until) = sign_in_blocked_until(&failures, now) {
                prop_assert!(until > now, "{} is not after {}", until, now);
                prop_assert!(failures.len() >= SIGN_IN_FAILURES);
                prop_assert!(failures.iter().any(|f| *f + SIGN_IN_BLOCK == until), "ends 15 minutes after a failure");
            }
        }

        #[test]
        fn another_failure_never_lifts_or_shortens_a_block_and_order_does_not_matter(
            failures in failures(),
            another in (-3600..600i64).prop_map(|s| NOW + Duration::seconds(s)),
            now in (-3600..1800i64).prop_map(|s| NOW + Duration::seconds(s)),
        ) {
            let before = sign_in_blocked_until(&failures, now);
            let mut more = failures.clone();
            more.insert(failures.len() / 2, another);
            prop_assert!(sign_in_blocked_until(&more, now) >= before);
            let reversed: Vec<_> = failures.iter().rev().copied().collect();
            prop_assert_eq!(sign_in_blocked_until(&reversed, now), before);
        }
    }
}
