//! Meta's webhook signature (`X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>`), checked over
//! the raw bytes in constant time before anything is parsed. Pure.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Whether `header` is the signature of `body` under `app_secret`.
pub fn is_signed_by(app_secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_digest) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else { return false };
    let Ok(expected) = hex::decode(hex_digest) else { return false };
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(app_secret) else { return false };
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &[u8], body: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("any key length");
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn only_the_right_secret_over_the_exact_bytes_verifies() {
        let body = br#"{"object":"whatsapp_business_account"}"#;
        let good = sign(b"secret", body);
        assert!(is_signed_by(b"secret", body, Some(&good)));
        assert!(!is_signed_by(b"other", body, Some(&good)), "another secret");
        assert!(!is_signed_by(b"secret", br#"{"object": "whatsapp_business_account"}"#, Some(&good)), "other bytes");
        assert!(!is_signed_by(b"secret", body, None), "missing");
        assert!(!is_signed_by(b"secret", body, Some(&good[7..])), "no sha256= prefix");
        assert!(!is_signed_by(b"secret", body, Some("sha256=zz")), "not hex");
        assert!(!is_signed_by(b"secret", body, Some(&good[..good.len() - 2])), "truncated");
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::test_strategies::any_text;

    fn bytes(most: usize) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..most)
    }

    fn sign(secret: &[u8], body: &[u8]) -> Result<String, TestCaseError> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).map_err(|e| TestCaseError::fail(e.to_string()))?;
        mac.update(body);
        Ok(format!("sha256={}", hex::encode(mac.finalize().into_bytes())))
    }

    proptest! {
        #[test]
        fn any_header_over_any_bytes_is_checked_without_panic(
            secret in bytes(100),
            body in bytes(300),
            header in proptest::option::of(prop_oneof![any_text(), "sha256=[0-9a-fA-F]{0,70}"]),
        ) {
            let _ = is_signed_by(&secret, &body, header.as_deref());
        }

        #[test]
        fn a_signature_verifies_in_either_case_of_hex_and_with_white_space_around_it(
            secret in bytes(100),
            body in bytes(300),
            padding in "[ \\t\\r\\n]{0,2}",
        ) {
            let signature = sign(&secret, &body)?;
            prop_assert!(is_signed_by(&secret, &body, Some(&signature)));
            let padded = format!("{padding}{signature}{padding}");
            prop_assert!(is_signed_by(&secret, &body, Some(&padded)));
            let upper = format!("sha256={}", signature["sha256=".len()..].to_uppercase());
            prop_assert!(is_signed_by(&secret, &body, Some(&upper)));
        }

        #[test]
        fn one_flipped_bit_in_the_body_or_the_signature_fails_the_check(
            secret in bytes(100),
            body in bytes(300).prop_filter("not empty", |b| !b.is_empty()),
            at in any::<prop::sample::Index>(),
            bit in 0..8u32,
        ) {
            let signature = sign(&secret, &body)?;
            let mut changed = body.clone();
            changed[at.index(body.len())] ^= 1 << bit;
            prop_assert!(!is_signed_by(&secret, &changed, Some(&signature)), "the body's bit changed");
            let digest = hex::decode(&signature["sha256=".len()..]);
            let mut digest = digest.map_err(|e| TestCaseError::fail(e.to_string()))?;
            let flipped = at.index(digest.len());
            digest[flipped] ^= 1 << bit;
            let changed_signature = format!("sha256={}", hex::encode(digest));
            prop_assert!(!is_signed_by(&secret, &body, Some(&changed_signature)), "the signature's bit changed");
        }
    }
}
