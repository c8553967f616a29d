//! Idempotency keys (docs/api.md, Idempotency keys): the request fingerprint is a keyed hash, never the code itself.

use uuid::Uuid;

use super::api_key::keyed_hash;
use super::otp_code::OtpCode;
use super::phone::PhoneE164;

/// A client's idempotency key: a UUID, whatever its spelling (`A3F1…`, `{a3f1…}` and `urn:uuid:a3f1…` are one
/// key), written in lower-case hyphenated form wherever it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(Uuid);

impl IdempotencyKey {
    /// Parses a client-supplied key; `None` when it is not a UUID in any of its spellings.
    pub fn parse(raw: &str) -> Option<Self> {
        Uuid::parse_str(raw).ok().map(Self)
    }

    /// A new random key (for tests and tools).
    pub fn new_random() -> Self {
        Self(Uuid::new_v4())
    }
}

impl std::fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// The keyed hash of what makes two requests "the same": the code, the normalized number and the `languageCode`
/// as sent. Versioned and length-prefixed so that no two different requests share an encoding.
pub fn request_fingerprint(pepper: &[u8], code: &OtpCode, to: &PhoneE164, language_code: Option<&str>) -> String {
    let mut canonical = Vec::with_capacity(64);
    for part in [Some("send-message/v1"), Some(code.expose()), Some(to.as_str()), language_code] {
        match part {
            Some(text) => {
                canonical.extend_from_slice(&(text.len() as u64).to_be_bytes());
                canonical.extend_from_slice(text.as_bytes());
            }
            None => canonical.extend_from_slice(&u64::MAX.to_be_bytes()),
        }
    }
    hex::encode(keyed_hash(pepper, &canonical))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_its_uuid_whatever_its_spelling() {
        let plain = IdempotencyKey::parse("a3f1c2e4-9b27-4d6a-8e5f-1c2b3d4e5f60").expect("hyphenated");
        for spelling in [
            "A3F1C2E4-9B27-4D6A-8E5F-1C2B3D4E5F60",
            "{a3f1c2e4-9b27-4d6a-8e5f-1c2b3d4e5f60}",
            "urn:uuid:a3f1c2e4-9b27-4d6a-8e5f-1c2b3d4e5f60",
            "a3f1c2e49b274d6a8e5f1c2b3d4e5f60",
        ] {
            assert_eq!(IdempotencyKey::parse(spelling), Some(plain), "{spelling}");
        }
        assert_eq!(plain.to_string(), "a3f1c2e4-9b27-4d6a-8e5f-1c2b3d4e5f60", "stored lower-case and hyphenated");
        assert_eq!(IdempotencyKey::parse("not-a-uuid"), None);
        assert_eq!(IdempotencyKey::parse(" a3f1c2e4-9b27-4d6a-8e5f-1c2b3d4e5f60"), None, "no surrounding space");
    }

    fn fingerprint(code: &str, phone: &str, language: Option<&str>) -> String {
        let code = OtpCode::parse(Some(code)).expect("code");
        let phone = PhoneE164::parse(Some(phone)).expect("phone");
        request_fingerprint(b"pepper", &code, &phone, language)
    }

    #[test]
    fn the_same_request_has_the_same_fingerprint_and_any_difference_changes_it() {
        let base = fingerprint("1234", "+966551234567", Some("en"));
        assert_eq!(base, fingerprint("1234", "+966551234567", Some("en")));
        for other in [
            fingerprint("1235", "+966551234567", Some("en")),
            fingerprint("1234", "+966551234568", Some("en")),
            fingerprint("1234", "+966551234567", Some("ar")),
            fingerprint("1234", "+966551234567", None),
            fingerprint("1234", "+966551234567", Some("")),
        ] {
            assert_ne!(base, other);
        }
        assert!(!base.contains("1234"), "the code does not show through");
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    use crate::domain::test_strategies::any_text;

    proptest! {
        #[test]
        fn any_text_parses_without_panic_to_a_key_stored_lower_case_and_hyphenated(raw in any_text()) {
            if let Some(key) = IdempotencyKey::parse(&raw) {
                let stored = key.to_string();
                prop_assert_eq!(stored.len(), 36);
                prop_assert_eq!(stored.to_ascii_lowercase(), stored.clone());
                prop_assert_eq!(IdempotencyKey::parse(&stored), Some(key));
            }
        }

        #[test]
        fn a_key_in_any_spelling_parses_to_its_uuid(n in any::<u128>(), spelling in 0..5usize) {
            let uuid = Uuid::from_u128(n);
            let written = match spelling {
                0 => uuid.hyphenated().to_string(),
                1 => uuid.simple().to_string(),
                2 => uuid.braced().to_string(),
                3 => uuid.urn().to_string(),
                _ => uuid.hyphenated().to_string().to_uppercase(),
            };
            let key = IdempotencyKey::parse(&written);
            prop_assert_eq!(key.map(|k| k.to_string()), Some(uuid.hyphenated().to_string()), "{}", written);
        }

        #[test]
        fn requests_that_differ_in_code_or_language_code_never_share_a_fingerprint(
            first in ("[0-9a]{1,3}", proptest::option::of("[0-9a]{0,3}|\\PC{0,4}")),
            second in ("[0-9a]{1,3}", proptest::option::of("[0-9a]{0,3}|\\PC{0,4}")),
        ) {
            prop_assume!(first != second);
            let to = PhoneE164::parse(Some("+966551234567")).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let fingerprint = |(code, language): &(String, Option<String>)| {
                let code = OtpCode::parse(Some(code)).map_err(|e| TestCaseError::fail(e.to_string()))?;
                Ok::<_, TestCaseError>(request_fingerprint(b"pepper", &code, &to, language.as_deref()))
            };
            prop_assert_ne!(fingerprint(&first)?, fingerprint(&second)?, "{:?} and {:?}", first, second);
        }
    }
}
