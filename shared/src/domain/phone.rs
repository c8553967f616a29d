//! Recipient phone numbers (docs/api.md, SendMessage: order of checks, step 6): strict E.164 text, then validity
//! for its region by libphonenumber's metadata. The region (ISO 3166-1 alpha-2) is kept because pricing depends on
//! it.

use rlibphonenumber::PHONE_NUMBER_UTIL;

/// A recipient number that is strict E.164 and valid for its region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneE164 {
    e164: String,
    region: Region,
}

/// An ISO 3166-1 alpha-2 region code, upper case (`SA`, `EG`, `US`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Region(String);

impl Region {
    /// Accepts two ASCII letters, in either case, and keeps them upper case.
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == 2 && raw.bytes().all(|b| b.is_ascii_alphabetic())).then(|| Self(raw.to_ascii_uppercase()))
    }

    /// The two upper-case letters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a `toPhoneE164` was refused, in the order the rules are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Missing or `null`.
    #[error("toPhoneE164 is missing")]
    Missing,
    /// `""` or only white space.
    #[error("toPhoneE164 is empty")]
    Empty,
    /// Not strict E.164, or not a valid number for its region.
    #[error("toPhoneE164 is not a valid E.164 number")]
    Invalid,
}

impl PhoneE164 {
    /// Parses untrusted input: strict `+` and 2–15 digits, then libphonenumber validity.
    pub fn parse(raw: Option<&str>) -> Result<Self, PhoneError> {
        let raw = raw.ok_or(PhoneError::Missing)?;
        if raw.trim().is_empty() {
            return Err(PhoneError::Empty);
        }
        let digits = raw.strip_prefix('+').ok_or(PhoneError::Invalid)?;
        if !(2..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PhoneError::Invalid);
        }
        let number = PHONE_NUMBER_UTIL.parse(raw, None).map_err(|_| PhoneError::Invalid)?;
        if !number.is_valid() {
            return Err(PhoneError::Invalid);
        }
        let region = PHONE_NUMBER_UTIL
            .get_region_for_number(&number)
            .and_then(|id| Region::parse(&id.to_string()))
            .ok_or(PhoneError::Invalid)?;
        Ok(Self { e164: raw.to_owned(), region })
    }

    /// The number as the client sent it, which strict parsing makes canonical: `+966551234567`.
    pub fn as_str(&self) -> &str {
        &self.e164
    }

    /// The digits without `+`, as the WhatsApp Graph API's `to` expects them.
    pub fn digits(&self) -> &str {
        &self.e164[1..]
    }

    /// The region the number belongs to, for pricing.
    pub fn region(&self) -> &Region {
        &self.region
    }
}

/// Loads libphonenumber's metadata and compiles the patterns a first parse needs (≈ 60 M instructions, ~15 ms in
/// release): call it during a cold start so that no client pays for it.
pub fn warm_up() {
    let _ = PhoneE164::parse(Some("+966551234567"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_examples_are_accepted_with_their_region() {
        for (raw, region) in [("+966551234567", "SA"), ("+201001234567", "EG"), ("+14155552671", "US")] {
            let phone = PhoneE164::parse(Some(raw)).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(phone.region().as_str(), region, "region of {raw}");
            assert_eq!(phone.as_str(), raw);
            assert_eq!(phone.digits(), &raw[1..]);
        }
    }

    #[test]
    fn each_rule_refuses_with_its_own_error() {
        let cases = [
            (None, PhoneError::Missing),
            (Some(""), PhoneError::Empty),
            (Some("   "), PhoneError::Empty),
            (Some("\t\n"), PhoneError::Empty),
            (Some("0551234567"), PhoneError::Invalid),
            (Some("+999999999999"), PhoneError::Invalid),
            (Some("+966 551234567"), PhoneError::Invalid),
            (Some("+966-551234567"), PhoneError::Invalid),
            (Some("00966551234567"), PhoneError::Invalid),
            (Some(" +966551234567"), PhoneError::Invalid),
            (Some("+9665512345678901"), PhoneError::Invalid),
            (Some("+1"), PhoneError::Invalid),
            (Some("+966000"), PhoneError::Invalid),
            (Some("+٩٦٦٥٥١٢٣٤٥٦٧"), PhoneError::Invalid),
        ];
        for (raw, expected) in cases {
            assert_eq!(PhoneE164::parse(raw), Err(expected), "input {raw:?}");
        }
    }

    #[test]
    fn region_codes_are_two_letters_kept_upper_case() {
        assert_eq!(Region::parse("sa").map(|r| r.to_string()), Some("SA".to_owned()));
        assert_eq!(Region::parse("SAU"), None);
        assert_eq!(Region::parse("1A"), None);
    }
}
