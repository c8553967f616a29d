//! The Verify API's rules (docs/api.md, Verify API): the initiate parameters with their exact messages, the
//! generated code, and its keyed hash. Pure: random bytes come in from the caller.

use serde_json::{Map, Value};

use super::api_key::keyed_hash;
use super::language::HumanLanguage;
use super::phone::PhoneE164;

/// At most this many wrong codes per request; after that even the right one is refused.
pub const MAX_ATTEMPTS: u32 = 5;

/// How the SMS is paid for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentType {
    /// The client's wallet balance.
    Wallet,
    /// Subscription credits (the newest active subscription that covers the cost).
    Subscription,
}

/// A valid initiate request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitiateParams {
    /// The recipient, normalised to E.164.
    pub receiver: PhoneE164,
    /// The template language.
    pub lang: HumanLanguage,
    /// Digits in the code: 4 or 6.
    pub length: u8,
    /// Minutes the code stays valid: 1–10.
    pub expiration: u8,
    /// The SMS sender id: 1–11 letters or digits.
    pub sender: String,
    /// Wallet or subscription.
    pub payment_type: PaymentType,
}

/// A refused parameter: the document's exact message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParamError(pub &'static str);

fn field<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    body.get(name).filter(|v| !v.is_null())
}

/// Validates the body of `POST /api/otp/initiate`, in the order of the document's parameter table after the
/// receiver (which is required): receiver, lang, length, expiration, sender, payment_type. `default_sender` is the
/// client's SMS sender id (or `LightOTP`).
pub fn parse_initiate(body: &Map<String, Value>, default_sender: &str) -> Result<InitiateParams, ParamError> {
    let receiver = match field(body, "receiver") {
        None => return Err(ParamError("The receiver field is required.")),
        Some(Value::String(s)) if s.trim().is_empty() => return Err(ParamError("The receiver field is required.")),
        Some(Value::String(s)) => normalise_receiver(s).ok_or(ParamError("Invalid phone number"))?,
        Some(_) => return Err(ParamError("Invalid phone number")),
    };
    let lang = match field(body, "lang") {
        None => HumanLanguage::En,
        Some(Value::String(s)) if s == "en" => HumanLanguage::En,
        Some(Value::String(s)) if s == "ar" => HumanLanguage::Ar,
        Some(_) => return Err(ParamError("The lang field must be one of: ar, en.")),
    };
    let length = match field(body, "length") {
        None => 6,
        Some(v) => match v.as_u64() {
            Some(4) => 4,
            Some(6) => 6,
            _ => return Err(ParamError("The length field must be one of: 4, 6.")),
        },
    };
    let expiration = match field(body, "expiration") {
        None => 5,
        Some(v) => match v.as_u64() {
            Some(minutes @ 1..=10) => minutes as u8,
            _ => return Err(ParamError("The expiration field must be between 1 and 10.")),
        },
    };
    let sender = match field(body, "sender") {
        None => default_sender.to_owned(),
        Some(Value::String(s)) if is_sender_id(s) => s.clone(),
        Some(_) => return Err(ParamError("The sender field must be 1 to 11 letters or digits.")),
    };
    let payment_type = match field(body, "payment_type") {
        None => PaymentType::Wallet,
        Some(Value::String(s)) if s == "wallet" => PaymentType::Wallet,
        Some(Value::String(s)) if s == "subscription" => PaymentType::Subscription,
        Some(_) => return Err(ParamError("The payment_type field must be one of: wallet, subscription.")),
    };
    Ok(InitiateParams { receiver, lang, length, expiration, sender, payment_type })
}

/// An SMS sender id: 1–11 ASCII letters or digits.
pub fn is_sender_id(raw: &str) -> bool {
    (1..=11).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `+218912345678` or `00218912345678` → the E.164 number, validated like SendMessage's.
pub fn normalise_receiver(raw: &str) -> Option<PhoneE164> {
    let raw = raw.trim();
    let e164 = match raw.strip_prefix("00") {
        Some(rest) => format!("+{rest}"),
        None if raw.starts_with('+') => raw.to_owned(),
        None => return None,
    };
    PhoneE164::parse(Some(&e164)).ok()
}

/// A code of `length` digits from random bytes, by rejection sampling (bytes ≥ 250 are skipped, so every digit is
/// equally likely). `None` when the bytes run out first: the caller draws more.
pub fn code_from_random(bytes: &[u8], length: u8) -> Option<String> {
    let digits: String =
        bytes.iter().filter(|b| **b < 250).take(usize::from(length)).map(|b| char::from(b'0' + b % 10)).collect();
    (digits.len() == usize::from(length)).then_some(digits)
}

/// The keyed hash a code is stored as, bound to its request so that a hash cannot be reused across requests.
pub fn code_hash(pepper: &[u8], request_id: &str, code: &str) -> String {
    let message = format!("verify/v1\0{request_id}\0{code}");
    hex::encode(keyed_hash(pepper, message.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: Value) -> Result<InitiateParams, &'static str> {
        let Value::Object(map) = body else { panic!("object") };
        parse_initiate(&map, "LightOTP").map_err(|e| e.0)
    }

    #[test]
    fn defaults_fill_every_optional_parameter() {
        let params = parse(json!({"receiver": "00218912345678"})).expect("valid");
        assert_eq!(params.receiver.as_str(), "+218912345678");
        assert_eq!((params.lang, params.length, params.expiration), (HumanLanguage::En, 6, 5));
        assert_eq!((params.sender.as_str(), params.payment_type), ("LightOTP", PaymentType::Wallet));
    }

    #[test]
    fn every_parameter_error_has_its_message() {
        let ok = json!({"receiver": "+218912345678"});
        let with = |name: &str, value: Value| {
            let mut body = ok.clone();
            body[name] = value;
            body
        };
        let cases = [
            (json!({}), "The receiver field is required."),
            (json!({"receiver": ""}), "The receiver field is required."),
            (json!({"receiver": null}), "The receiver field is required."),
            (json!({"receiver": "218912345678"}), "Invalid phone number"),
            (json!({"receiver": "+999999999999"}), "Invalid phone number"),
            (json!({"receiver": 218912345678u64}), "Invalid phone number"),
            (with("lang", json!("fr")), "The lang field must be one of: ar, en."),
            (with("length", json!(5)), "The length field must be one of: 4, 6."),
            (with("length", json!("6")), "The length field must be one of: 4, 6."),
            (with("expiration", json!(0)), "The expiration field must be between 1 and 10."),
            (with("expiration", json!(11)), "The expiration field must be between 1 and 10."),
            (with("expiration", json!(2.5)), "The expiration field must be between 1 and 10."),
            (with("sender", json!("TwelveLetter")), "The sender field must be 1 to 11 letters or digits."),
            (with("sender", json!("Real Estate")), "The sender field must be 1 to 11 letters or digits."),
            (with("sender", json!("")), "The sender field must be 1 to 11 letters or digits."),
            (with("payment_type", json!("card")), "The payment_type field must be one of: wallet, subscription."),
        ];
        for (body, message) in cases {
            assert_eq!(parse(body.clone()), Err(message), "body {body}");
        }
        let full = json!({"receiver": "+218912345678", "lang": "ar", "length": 4, "expiration": 10,
            "sender": "RealEstate1", "payment_type": "subscription"});
        let params = parse(full).expect("valid");
        assert_eq!((params.lang, params.length, params.expiration), (HumanLanguage::Ar, 4, 10));
        assert_eq!((params.sender.as_str(), params.payment_type), ("RealEstate1", PaymentType::Subscription));
    }

    #[test]
    fn codes_are_uniform_digits_of_the_asked_length() {
        assert_eq!(code_from_random(&[0, 9, 10, 255, 249, 123], 4).as_deref(), Some("0909"), "255 skipped");
        assert_eq!(code_from_random(&[251, 252], 4), None, "not enough usable bytes");
        let code = code_from_random(&[7; 32], 6).expect("enough");
        assert_eq!(code, "777777");
    }

    #[test]
    fn a_code_hash_depends_on_the_request_and_hides_the_code() {
        let hash = code_hash(b"pepper", "req-1", "123456");
        assert_eq!(hash, code_hash(b"pepper", "req-1", "123456"));
        assert_ne!(hash, code_hash(b"pepper", "req-2", "123456"));
        assert_ne!(hash, code_hash(b"pepper", "req-1", "123457"));
        assert!(!hash.contains("123456"));
    }
}
