//! Secrets we must use again, not only check: a client webhook's signing secret is stored encrypted with
//! AES-256-GCM under a key derived from the pepper, bound to the item it belongs to (docs/data-model.md, Client
//! webhooks). A stolen table alone reveals no signing secret.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Encryption or decryption failed: a wrong pepper, a tampered or moved ciphertext, or no randomness.
#[derive(Debug, thiserror::Error)]
#[error("sealed secret: {0}")]
pub struct SealError(&'static str);

fn cipher(pepper: &[u8]) -> Result<Aes256Gcm, SealError> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(pepper).map_err(|_| SealError("unusable pepper"))?;
    mac.update(b"lightotp client-webhook signing secrets v1");
    let key = mac.finalize().into_bytes();
    Aes256Gcm::new_from_slice(&key).map_err(|_| SealError("unusable key"))
}

/// `plaintext` encrypted for the item named `binding` (base64 of a fresh 96-bit nonce and the ciphertext).
pub fn seal(pepper: &[u8], binding: &str, plaintext: &str) -> Result<String, SealError> {
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).map_err(|_| SealError("no randomness"))?;
    let sealed = cipher(pepper)?
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext.as_bytes(), aad: binding.as_bytes() })
        .map_err(|_| SealError("encryption failed"))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(base64::engine::general_purpose::STANDARD.encode(out))
}

/// What [`seal`] sealed for `binding`; anything else (another item's, altered, another pepper's) fails.
pub fn open(pepper: &[u8], binding: &str, sealed: &str) -> Result<String, SealError> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(sealed).map_err(|_| SealError("not base64"))?;
    if bytes.len() < 12 + 16 {
        return Err(SealError("too short"));
    }
    let (nonce, ciphertext) = bytes.split_at(12);
    let plain = cipher(pepper)?
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: binding.as_bytes() })
        .map_err(|_| SealError("does not open"))?;
    String::from_utf8(plain).map_err(|_| SealError("not text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_for_its_item_under_its_pepper() {
        let sealed = seal(b"pepper", "endpoint-1", "whsec_abc").unwrap();
        assert!(!sealed.contains("whsec_abc"));
        assert_eq!(open(b"pepper", "endpoint-1", &sealed).unwrap(), "whsec_abc");
        assert!(open(b"pepper", "endpoint-2", &sealed).is_err());
        assert!(open(b"other pepper", "endpoint-1", &sealed).is_err());
        let mut tampered = base64::engine::general_purpose::STANDARD.decode(&sealed).unwrap();
        tampered[14] ^= 1;
        assert!(open(b"pepper", "endpoint-1", &base64::engine::general_purpose::STANDARD.encode(tampered)).is_err());
        assert!(open(b"pepper", "endpoint-1", "short").is_err());
        assert_ne!(seal(b"pepper", "endpoint-1", "whsec_abc").unwrap(), sealed, "a fresh nonce each time");
    }
}
