//! API keys (docs/api.md, Authentication): `lotp_<keyId>_<secret>`. The prefix lets secret scanners find leaked keys;
//! the key id locates the verifier without a scan; only a keyed hash of the secret is ever stored.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Every key starts with this, so scanners (and people) can recognise one.
pub const PREFIX: &str = "lotp_";
const KEY_ID_LEN: usize = 16;
const SECRET_LEN: usize = 64;

/// The public half of a key: names its verifier, safe to log.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// 16 lower-case hex digits.
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == KEY_ID_LEN && is_lower_hex(raw)).then(|| Self(raw.to_owned()))
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A whole API key as a client presents it. No `Display`, no `Serialize`: the secret never leaves by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    key_id: KeyId,
    secret: String,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKey({PREFIX}{}_<redacted>)", self.key_id)
    }
}

impl ApiKey {
    /// Parses what a client sent; `None` when it cannot be one of our keys (answered as `ApiKeyNotFound`).
    pub fn parse(raw: &str) -> Option<Self> {
        let (key_id, secret) = raw.trim().strip_prefix(PREFIX)?.split_once('_')?;
        let key_id = KeyId::parse(key_id)?;
        (secret.len() == SECRET_LEN && is_lower_hex(secret)).then(|| Self { key_id, secret: secret.to_owned() })
    }

    /// Issues a key from fresh random bytes (the caller draws them from the OS CSPRNG): the id, and the secret's
    /// first 56 hex digits; its last 8 are the key's tag, a keyed hash under the pepper of the rest, so that a
    /// made-up key is refused without any lookup ([`ApiKey::is_ours`]).
    pub fn issue(id_bytes: [u8; KEY_ID_LEN / 2], random: [u8; (SECRET_LEN - TAG_LEN) / 2], pepper: &[u8]) -> Self {
        let key_id = KeyId(hex::encode(id_bytes));
        let random = hex::encode(random);
        let tag = tag_of(pepper, &key_id, &random);
        Self { key_id, secret: format!("{random}{tag}") }
    }

    /// A key of any 64 hex digits, tagged or not (tests of what comes before the tag check).
    #[cfg(test)]
    pub(crate) fn from_random(id_bytes: [u8; KEY_ID_LEN / 2], secret_bytes: [u8; SECRET_LEN / 2]) -> Self {
        Self { key_id: KeyId(hex::encode(id_bytes)), secret: hex::encode(secret_bytes) }
    }

    /// Whether the secret ends in the tag the pepper gives the rest of the key: true of every key we issued, and of
    /// a made-up key once in 4 billion. Checked before any lookup (docs/api.md, Authentication); constant time.
    pub fn is_ours(&self, pepper: &[u8]) -> bool {
        let (random, tag) = self.secret.split_at(SECRET_LEN - TAG_LEN);
        tag_of(pepper, &self.key_id, random).as_bytes().ct_eq(tag.as_bytes()).into()
    }

    /// Which verifier to check against.
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// The full key text, for showing once at creation. Grep `reveal` to audit every use.
    pub fn reveal(&self) -> String {
        format!("{PREFIX}{}_{}", self.key_id, self.secret)
    }

    /// The keyed hash stored in place of the secret: hex HMAC-SHA256(pepper, secret).
    pub fn verifier(&self, pepper: &[u8]) -> String {
        hex::encode(keyed_hash(pepper, self.secret.as_bytes()))
    }

    /// Compares this key's verifier with a stored one in constant time.
    pub fn matches(&self, pepper: &[u8], stored_verifier: &str) -> bool {
        let Ok(stored) = hex::decode(stored_verifier) else {
            return false;
        };
        keyed_hash(pepper, self.secret.as_bytes()).ct_eq(stored.as_slice()).into()
    }
}

/// How many hex digits at the end of a secret are its tag.
const TAG_LEN: usize = 8;

/// The tag of a key: the first 4 bytes, in hex, of HMAC-SHA256(pepper, `api-key-tag:<keyId>:<random part>`).
fn tag_of(pepper: &[u8], key_id: &KeyId, random: &str) -> String {
    hex::encode(&keyed_hash(pepper, format!("api-key-tag:{key_id}:{random}").as_bytes())[..TAG_LEN / 2])
}

/// HMAC-SHA256 of `message` under `key` (RFC 2104), for keys of any length and without a fallible step: the key is
/// brought to the hash's block size first, as HMAC itself does (zero-padded, or hashed when longer than a block).
pub fn keyed_hash(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = hmac::digest::Key::<Hmac<Sha256>>::default();
    if key.len() <= block.len() {
        block[..key.len()].copy_from_slice(key);
    } else {
        block[..32].copy_from_slice(&<Sha256 as sha2::Digest>::digest(key));
    }
    let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new(&block);
    mac.update(message);
    mac.finalize().into_bytes().into()
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_key_carries_its_tag_and_a_made_up_one_does_not() {
        let key = ApiKey::issue([1; 8], [2; 28], b"pepper");
        assert!(key.is_ours(b"pepper"));
        let again = ApiKey::parse(&key.reveal()).expect("an issued key parses");
        assert!(again.is_ours(b"pepper"), "the tag survives the wire");
        assert!(!key.is_ours(b"another pepper"), "the tag is keyed");
        let mut forged = key.reveal();
        forged.replace_range(10..11, if &forged[10..11] == "0" { "1" } else { "0" });
        assert!(!ApiKey::parse(&forged).expect("still key-shaped").is_ours(b"pepper"), "another id, the same tag");
        assert!(!ApiKey::from_random([1; 8], [2; 32]).is_ours(b"pepper"), "64 random hex digits are not ours");
    }

    #[test]
    fn keyed_hash_is_hmac_sha256_for_short_long_and_empty_keys() {
        let cases: [(&[u8], &[u8], &str); 3] = [
            // RFC 4231, test cases 1 and 6 (a key longer than the block is hashed first)
            (&[0x0b; 20], b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (b"", b"", "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"),
        ];
        for (key, message, expected) in cases {
            assert_eq!(hex::encode(keyed_hash(key, message)), expected, "a {}-byte key", key.len());
        }
    }

    fn key() -> ApiKey {
        ApiKey::from_random([7; 8], [9; 32])
    }

    #[test]
    fn a_revealed_key_parses_back_to_itself() {
        let text = key().reveal();
        assert!(text.starts_with("lotp_0707070707070707_"), "{text}");
        assert_eq!(ApiKey::parse(&text), Some(key()));
    }

    #[test]
    fn malformed_keys_are_not_keys() {
        let good = key().reveal();
        for bad in [
            "",
            "lotp_",
            "sk_live_abc",
            &good.replace("lotp_", "lopt_"),
            &good[..good.len() - 1],
            &format!("{good}0"),
            &good.to_uppercase(),
            &good.replacen('_', "-", 2),
        ] {
            assert_eq!(ApiKey::parse(bad), None, "input {bad:?}");
        }
    }

    #[test]
    fn the_verifier_matches_its_key_only() {
        let pepper = b"pepper";
        let verifier = key().verifier(pepper);
        assert!(key().matches(pepper, &verifier));
        assert!(!key().matches(b"another pepper", &verifier), "another pepper");
        assert!(!ApiKey::from_random([7; 8], [8; 32]).matches(pepper, &verifier), "another secret");
        assert!(!key().matches(pepper, "not hex"), "garbage verifier");
        assert!(!verifier.contains(&key().reveal()[22..]), "the verifier never contains the secret");
    }

    #[test]
    fn debug_hides_the_secret() {
        assert_eq!(format!("{:?}", key()), "ApiKey(lotp_0707070707070707_<redacted>)");
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::test_strategies::any_text;

    proptest! {
        #[test]
        fn any_text_parses_without_panic_to_a_key_that_reveals_it_trimmed(raw in any_text()) {
            if let Some(key) = ApiKey::parse(&raw) {
                prop_assert_eq!(key.reveal(), raw.trim());
            }
        }

        #[test]
        fn a_near_key_is_a_key_exactly_when_its_id_has_16_digits_and_its_secret_64(
            id in "[0-9a-f]{15,17}",
            secret in "[0-9a-f]{63,65}",
        ) {
            let raw = format!("{PREFIX}{id}_{secret}");
            let parsed = ApiKey::parse(&raw);
            prop_assert_eq!(parsed.as_ref().map(ApiKey::reveal), (id.len() == 16 && secret.len() == 64).then_some(raw));
        }

        #[test]
        fn a_made_key_parses_back_with_the_same_id_even_padded_with_white_space(
            id in any::<[u8; 8]>(),
            secret in any::<[u8; 32]>(),
            padding in "[ \\t\\r\\n]{0,3}",
        ) {
            let key = ApiKey::from_random(id, secret);
            let parsed = ApiKey::parse(&format!("{padding}{}{padding}", key.reveal()));
            prop_assert_eq!(parsed.as_ref().map(ApiKey::key_id), Some(key.key_id()));
            prop_assert_eq!(parsed, Some(key));
        }

        #[test]
        fn any_text_is_a_key_id_only_as_sixteen_lower_hex_digits(raw in any_text()) {
            if let Some(id) = KeyId::parse(&raw) {
                prop_assert_eq!(id.as_str(), raw.as_str());
                let lower_hex = id.as_str().bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
                prop_assert!(id.as_str().len() == 16 && lower_hex, "{:?}", id);
            }
        }

        #[test]
        fn a_key_id_formats_back_to_itself(raw in "[0-9a-f]{16}") {
            let id = KeyId::parse(&raw);
            prop_assert_eq!(id.as_ref().map(KeyId::to_string), Some(raw));
            prop_assert_eq!(id.as_ref().and_then(|id| KeyId::parse(&id.to_string())), id);
        }

        #[test]
        fn a_key_matches_its_own_verifier_under_any_pepper_and_no_other_text(
            pepper in proptest::collection::vec(any::<u8>(), 0..100),
            stored in any_text(),
        ) {
            let key = ApiKey::from_random([1; 8], [2; 32]);
            let verifier = key.verifier(&pepper);
            prop_assert!(key.matches(&pepper, &verifier));
            prop_assert!(key.matches(&pepper, &verifier.to_uppercase()), "hex is hex in either case");
            prop_assert_eq!(key.matches(&pepper, &stored), stored.eq_ignore_ascii_case(&verifier));
        }

        #[test]
        fn keyed_hash_is_hmac_sha256_for_any_key_and_message(
            key in proptest::collection::vec(any::<u8>(), 0..200),
            message in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).map_err(|e| TestCaseError::fail(e.to_string()))?;
            mac.update(&message);
            prop_assert_eq!(keyed_hash(&key, &message), <[u8; 32]>::from(mac.finalize().into_bytes()));
        }
    }
}
