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

#[cfg(test)]
mod proptests {
    use std::sync::LazyLock;

    use proptest::prelude::*;
    use rlibphonenumber::{PhoneNumberFormat, PhoneNumberType};

    use super::*;
    use crate::domain::test_strategies::any_text;

    /// Every region libphonenumber knows.
    static REGIONS: LazyLock<Vec<rlibphonenumber::Region>> =
        LazyLock::new(|| PHONE_NUMBER_UTIL.get_supported_regions().collect());

    /// One of libphonenumber's own example numbers (fixed line or mobile) of any region, in E.164, with the region
    /// it was drawn for. Drawn lazily: the first number of a region costs milliseconds in a debug build.
    fn example_number() -> impl Strategy<Value = (String, String)> {
        let kind = prop_oneof![Just(PhoneNumberType::FixedLine), Just(PhoneNumberType::Mobile)];
        (proptest::sample::select(REGIONS.as_slice()), kind).prop_filter_map("no example", |(region, kind)| {
            let number = PHONE_NUMBER_UTIL.get_example_number_for_type_and_region(region, kind).ok()?;
            Some((number.format_as(PhoneNumberFormat::E164).into_owned(), region.to_string()))
        })
    }

    /// What every accepted number must look like, whatever was sent.
    fn assert_well_formed(phone: &PhoneE164, raw: &str) -> Result<(), TestCaseError> {
        prop_assert_eq!(phone.as_str(), raw, "kept exactly as sent");
        prop_assert!((2..=15).contains(&phone.digits().len()), "{raw}");
        prop_assert!(phone.digits().bytes().all(|b| b.is_ascii_digit()), "{raw}");
        let region = phone.region().as_str();
        prop_assert!(region.len() == 2 && region.bytes().all(|b| b.is_ascii_uppercase()), "{raw}: {region}");
        Ok(())
    }

    proptest! {
        #[test]
        fn any_text_parses_without_panic_to_a_strict_e164_number(raw in any_text()) {
            if let Ok(phone) = PhoneE164::parse(Some(&raw)) {
                assert_well_formed(&phone, &raw)?;
            }
        }

        #[test]
        fn any_plus_and_digits_parse_without_panic_to_a_strict_e164_number(raw in "\\+[0-9]{0,17}") {
            if let Ok(phone) = PhoneE164::parse(Some(&raw)) {
                assert_well_formed(&phone, &raw)?;
            }
        }

        /// The region is one the number is valid in, not always the one it was drawn for: Christmas Island's
        /// example mobile number is Australia's numbering too, and libphonenumber names Australia.
        #[test]
        fn a_valid_number_in_e164_parses_to_itself_in_a_region_it_is_valid_in(
            (e164, drawn_for) in example_number()
        ) {
            let phone = PhoneE164::parse(Some(&e164))
                .map_err(|e| TestCaseError::fail(format!("{e164} (drawn for {drawn_for}): {e}")))?;
            prop_assert_eq!(phone.as_str(), e164.as_str());
            let number = PHONE_NUMBER_UTIL.parse(&e164, None).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let valid_in = PHONE_NUMBER_UTIL
                .get_supported_regions()
                .find(|r| r.to_string() == phone.region().as_str())
                .is_some_and(|r| number.is_valid_for_region(r));
            prop_assert!(valid_in, "{} is not valid in {}", e164, phone.region());
        }

        #[test]
        fn any_text_is_a_region_only_as_two_ascii_letters_kept_upper_case(raw in any_text()) {
            let two_letters = raw.len() == 2 && raw.bytes().all(|b| b.is_ascii_alphabetic());
            prop_assert_eq!(Region::parse(&raw).map(|r| r.to_string()), two_letters.then(|| raw.to_ascii_uppercase()));
        }

        #[test]
        fn a_region_formats_back_to_itself(raw in "[A-Za-z]{2}") {
            let region = Region::parse(&raw).ok_or_else(|| TestCaseError::fail("two letters"))?;
            prop_assert_eq!(Region::parse(&region.to_string()), Some(region));
        }
    }
}
