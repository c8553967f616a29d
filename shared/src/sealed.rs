//! Secrets we must use again, not only check, stored encrypted with AES-256-GCM under a key derived for one purpose
//! from a secret in Secrets Manager, and bound to the item they belong to: a client webhook's signing secret (key
//! from the pepper; docs/data-model.md, Client webhooks) and a message's code while its WhatsApp → SMS fallback may
//! still need it (key from the fallback key; docs/data-model.md, Fallback codes). A stolen table alone reveals
//! neither.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Encryption or decryption failed: a wrong pepper, a tampered or moved ciphertext, or no randomness.
#[derive(Debug, thiserror::Error)]
#[error("sealed secret: {0}")]
pub struct SealError(&'static str);

/// What a sealed text is for: each purpose has its own key, so that one purpose's ciphertext never opens as
/// another's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A client webhook endpoint's signing secret, under the pepper.
    WebhookSigningSecret,
    /// A message's code kept for its SMS fallback, under the fallback key.
    FallbackCode,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Self::WebhookSigningSecret => b"lightotp client-webhook signing secrets v1",
            Self::FallbackCode => b"lightotp fallback codes v1",
        }
    }
}

fn cipher(purpose: Purpose, secret: &[u8]) -> Result<Aes256Gcm, SealError> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).map_err(|_| SealError("unusable key secret"))?;
    mac.update(purpose.label());
    let key = mac.finalize().into_bytes();
    Aes256Gcm::new_from_slice(&key).map_err(|_| SealError("unusable key"))
}

/// `plaintext` encrypted for `purpose` under `secret`, for the item named `binding` (base64 of a fresh 96-bit nonce
/// and the ciphertext).
pub fn seal(purpose: Purpose, secret: &[u8], binding: &str, plaintext: &str) -> Result<String, SealError> {
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).map_err(|_| SealError("no randomness"))?;
    let sealed = cipher(purpose, secret)?
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext.as_bytes(), aad: binding.as_bytes() })
        .map_err(|_| SealError("encryption failed"))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(base64::engine::general_purpose::STANDARD.encode(out))
}

/// What [`seal`] sealed for `purpose` and `binding`; anything else (another item's, another purpose's, altered,
/// under another secret) fails.
pub fn open(purpose: Purpose, secret: &[u8], binding: &str, sealed: &str) -> Result<String, SealError> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(sealed).map_err(|_| SealError("not base64"))?;
    if bytes.len() < 12 + 16 {
        return Err(SealError("too short"));
    }
    let (nonce, ciphertext) = bytes.split_at(12);
    let plain = cipher(purpose, secret)?
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: binding.as_bytes() })
        .map_err(|_| SealError("does not open"))?;
    String::from_utf8(plain).map_err(|_| SealError("not text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNING: Purpose = Purpose::WebhookSigningSecret;

    #[test]
    fn a_sealed_secret_opens_only_for_its_item_and_purpose_under_its_secret() {
        let sealed = seal(SIGNING, b"pepper", "endpoint-1", "whsec_abc").unwrap();
        assert!(!sealed.contains("whsec_abc"));
        assert_eq!(open(SIGNING, b"pepper", "endpoint-1", &sealed).unwrap(), "whsec_abc");
        assert!(open(SIGNING, b"pepper", "endpoint-2", &sealed).is_err());
        assert!(open(SIGNING, b"other pepper", "endpoint-1", &sealed).is_err());
        assert!(open(Purpose::FallbackCode, b"pepper", "endpoint-1", &sealed).is_err(), "another purpose's key");
        let mut tampered = base64::engine::general_purpose::STANDARD.decode(&sealed).unwrap();
        tampered[14] ^= 1;
        let tampered = base64::engine::general_purpose::STANDARD.encode(tampered);
        assert!(open(SIGNING, b"pepper", "endpoint-1", &tampered).is_err());
        assert!(open(SIGNING, b"pepper", "endpoint-1", "short").is_err());
        assert_ne!(seal(SIGNING, b"pepper", "endpoint-1", "whsec_abc").unwrap(), sealed, "a fresh nonce each time");
    }
}
