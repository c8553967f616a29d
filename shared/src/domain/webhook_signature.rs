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
