//! The code a client asks us to deliver (docs/api.md, SendMessage: order of checks, step 5).

/// The code a client asks us to deliver: 1–8 ASCII letters or digits. Holding one proves the rules were checked.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpCode(String);

/// Why an `otpCode` was refused, in the order the rules are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OtpCodeError {
    /// Missing, `null` or `""`.
    #[error("otpCode is missing or empty")]
    Missing,
    /// More than 8 characters (counted as characters, not bytes).
    #[error("otpCode is longer than 8 characters")]
    TooLong,
    /// A character outside ASCII `A–Z a–z 0–9`.
    #[error("otpCode has a character outside A-Z a-z 0-9")]
    NotAlphanumeric,
}

/// The longest code the contract allows.
pub const MAX_LEN: usize = 8;

impl OtpCode {
    /// Length is checked before the character set (docs/api.md, SendMessage: order of checks, step 5).
    pub fn parse(raw: Option<&str>) -> Result<Self, OtpCodeError> {
        let raw = raw.filter(|s| !s.is_empty()).ok_or(OtpCodeError::Missing)?;
        if raw.chars().count() > MAX_LEN {
            return Err(OtpCodeError::TooLong);
        }
        if !raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(OtpCodeError::NotAlphanumeric);
        }
        Ok(Self(raw.to_owned()))
    }

    /// The only way to read the code: grep `expose` to audit every use.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Never prints the code, so `?code` in a log line or a panic message is safe.
impl std::fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OtpCode(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use crate::domain::test_strategies::any_text;

    #[test]
    fn each_rule_refuses_with_its_own_error() {
        let cases: [(Option<&str>, Result<(), OtpCodeError>); 11] = [
            (None, Err(OtpCodeError::Missing)),
            (Some(""), Err(OtpCodeError::Missing)),
            (Some("1"), Ok(())),
            (Some("Ab3dEf7H"), Ok(())),
            (Some("123456789"), Err(OtpCodeError::TooLong)),
            (Some("12 34"), Err(OtpCodeError::NotAlphanumeric)),
            (Some("12-34"), Err(OtpCodeError::NotAlphanumeric)),
            (Some("١٢٣٤"), Err(OtpCodeError::NotAlphanumeric)),
            (Some("café"), Err(OtpCodeError::NotAlphanumeric)),
            // Nine Arabic-Indic digits: too long wins over the character set (length first).
            (Some("١٢٣٤٥٦٧٨٩"), Err(OtpCodeError::TooLong)),
            // Eight characters but sixteen bytes: length counts characters.
            (Some("éééééééé"), Err(OtpCodeError::NotAlphanumeric)),
        ];
        for (raw, expected) in cases {
            assert_eq!(OtpCode::parse(raw).map(|_| ()), expected, "input {raw:?}");
        }
    }

    #[test]
    fn debug_never_shows_the_code() {
        let code = OtpCode::parse(Some("482913")).map_err(|e| e.to_string());
        assert_eq!(format!("{code:?}"), "Ok(OtpCode(<redacted>))");
    }

    proptest! {
        #[test]
        fn any_one_to_eight_ascii_alphanumerics_are_accepted(raw in "[A-Za-z0-9]{1,8}") {
            prop_assert_eq!(OtpCode::parse(Some(&raw)).map(|c| c.expose().to_owned()), Ok(raw.clone()));
        }

        #[test]
        fn any_text_parses_without_panic_to_a_code_of_one_to_eight_ascii_alphanumerics(raw in any_text()) {
            if let Ok(code) = OtpCode::parse(Some(&raw)) {
                prop_assert_eq!(code.expose(), raw.as_str(), "a code is kept exactly as sent");
                prop_assert!((1..=MAX_LEN).contains(&code.expose().len()));
                prop_assert!(code.expose().bytes().all(|b| b.is_ascii_alphanumeric()));
            }
        }

        #[test]
        fn more_than_eight_characters_of_any_kind_are_too_long(raw in "\\PC{9,24}") {
            prop_assert_eq!(OtpCode::parse(Some(&raw)), Err(OtpCodeError::TooLong));
        }
    }
}
