//! Idempotency keys (docs/api.md, Idempotency keys): the request fingerprint is a keyed hash, never the code itself.

use super::api_key::keyed_hash;
use super::otp_code::OtpCode;
use super::phone::PhoneE164;

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
