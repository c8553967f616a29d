//! Password hashing for dashboard accounts: Argon2id keyed with the pepper (Argon2's secret input), so a stolen
//! table alone cannot be attacked offline. The parameters are OWASP's first recommendation for Argon2id and are
//! chosen with the dashboard function's memory (docs/performance.md, "Dashboard sign-in").

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::domain::account::Password;

/// Memory per hash, in KiB (19 MiB: OWASP's minimum for Argon2id).
pub const MEMORY_KIB: u32 = 19 * 1024;
/// Passes over the memory.
pub const ITERATIONS: u32 = 2;
/// Lanes.
pub const PARALLELISM: u32 = 1;

/// Hashing failed (bad parameters or a pepper Argon2 refuses): never the user's fault.
#[derive(Debug, thiserror::Error)]
#[error("password hashing: {0}")]
pub struct HashError(String);

fn argon2(pepper: &[u8]) -> Result<Argon2<'_>, HashError> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).map_err(|e| HashError(e.to_string()))?;
    Argon2::new_with_secret(pepper, Algorithm::Argon2id, Version::V0x13, params).map_err(|e| HashError(e.to_string()))
}

/// The PHC string of `password` (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), with a fresh random salt.
pub fn hash(password: &Password, pepper: &[u8]) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| HashError(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| HashError(e.to_string()))?;
    Ok(argon2(pepper)?
        .hash_password(password.expose().as_bytes(), &salt)
        .map_err(|e| HashError(e.to_string()))?
        .to_string())
}

/// Whether `password` matches the stored PHC string (with the parameters the string names). A malformed stored
/// string never matches.
pub fn matches(password: &Password, stored: &str, pepper: &[u8]) -> Result<bool, HashError> {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Ok(false);
    };
    Ok(argon2(pepper)?.verify_password(password.expose().as_bytes(), &parsed).is_ok())
}

/// A hash that matches no password, checked when the email is unknown so that a sign-in takes as long either way.
pub fn decoy(pepper: &[u8]) -> Result<String, HashError> {
    hash(&Password::offered("decoy password, never a user's").map_err(|e| HashError(e.to_string()))?, pepper)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_matches_its_password_under_its_pepper_only() {
        let password = Password::new_password("correct horse battery").expect("valid");
        let stored = hash(&password, b"pepper").expect("hash");
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert!(!stored.contains("correct horse"));
        assert!(matches(&password, &stored, b"pepper").expect("verify"));
        assert!(!matches(&password, &stored, b"another pepper").expect("verify"));
        let wrong = Password::offered("incorrect horse battery").expect("valid");
        assert!(!matches(&wrong, &stored, b"pepper").expect("verify"));
        assert!(!matches(&password, "not a hash", b"pepper").expect("verify"));
        assert_ne!(hash(&password, b"pepper").expect("hash"), stored, "a fresh salt each time");
    }
}
