//! The Verify API's rules (docs/api.md, Verify API): the initiate parameters with their exact messages, the
//! generated code, and its keyed hash. Pure: random bytes come in from the caller.

use serde_json::{Map, Value};
use uuid::Uuid;

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
    /// The SMS sender id asked for (1–11 letters or digits); `None` for the client's own.
    pub sender: Option<String>,
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
/// receiver (which is required): receiver, lang, length, expiration, sender, payment_type.
pub fn parse_initiate(body: &Map<String, Value>) -> Result<InitiateParams, ParamError> {
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
        None => None,
        Some(Value::String(s)) if is_sender_id(s) => Some(s.clone()),
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

/// A code, generated or submitted: it never shows in a log or a panic message (its `Debug` is redacted), and
/// [`VerificationCode::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct VerificationCode(String);

impl VerificationCode {
    /// Wraps a code.
    pub fn new(code: String) -> Self {
        Self(code)
    }

    /// The code itself: grep `expose` to audit every use.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for VerificationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VerificationCode(<redacted>)")
    }
}

/// A valid verify request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyParams {
    /// The request the code was sent for.
    pub request_id: Uuid,
    /// The code the user typed.
    pub code: VerificationCode,
}

/// Why a verify request's body names no request to check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyParamError {
    /// A field is missing (the message says which).
    #[error(transparent)]
    Invalid(#[from] ParamError),
    /// `request_id` is not a string holding a UUID: it can be no request of the caller's.
    #[error("request_id is not a request id")]
    NotARequest,
}

/// Validates the body of `POST /api/otp/verify`: `request_id` first, then `code`. A code that is not a string is
/// read as its JSON text (and will not match).
pub fn parse_verify(body: &Map<String, Value>) -> Result<VerifyParams, VerifyParamError> {
    let request_id = match field(body, "request_id") {
        None => return Err(ParamError("The request_id field is required.").into()),
        Some(Value::String(raw)) => Uuid::parse_str(raw).map_err(|_| VerifyParamError::NotARequest)?,
        Some(_) => return Err(VerifyParamError::NotARequest),
    };
    let code = match field(body, "code") {
        None => return Err(ParamError("The code field is required.").into()),
        Some(Value::String(code)) if code.is_empty() => return Err(ParamError("The code field is required.").into()),
        Some(Value::String(code)) => code.clone(),
        Some(other) => other.to_string(),
    };
    Ok(VerifyParams { request_id, code: VerificationCode::new(code) })
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
        parse_initiate(&map).map_err(|e| e.0)
    }

    #[test]
    fn defaults_fill_every_optional_parameter() {
        let params = parse(json!({"receiver": "00218912345678"})).expect("valid");
        assert_eq!(params.receiver.as_str(), "+218912345678");
        assert_eq!((params.lang, params.length, params.expiration), (HumanLanguage::En, 6, 5));
        assert_eq!((params.sender, params.payment_type), (None, PaymentType::Wallet), "the client's own sender");
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
        assert_eq!((params.sender.as_deref(), params.payment_type), (Some("RealEstate1"), PaymentType::Subscription));
    }

    #[test]
    fn a_verify_body_names_its_request_then_its_code() {
        let verify = |body: Value| {
            let Value::Object(map) = body else { panic!("object") };
            parse_verify(&map)
        };
        let id = "8c8a6f2f-9a3b-4d86-9b2c-1e3f8f9c2ab1";
        let required = |field| Err(VerifyParamError::Invalid(ParamError(field)));
        assert_eq!(verify(json!({"code": "1234"})), required("The request_id field is required."));
        assert_eq!(verify(json!({"request_id": null})), required("The request_id field is required."));
        assert_eq!(verify(json!({"request_id": "nope", "code": "1"})), Err(VerifyParamError::NotARequest));
        assert_eq!(verify(json!({"request_id": 7, "code": "1"})), Err(VerifyParamError::NotARequest));
        assert_eq!(verify(json!({"request_id": id})), required("The code field is required."));
        assert_eq!(verify(json!({"request_id": id, "code": ""})), required("The code field is required."));
        let params = verify(json!({"request_id": id, "code": 1234})).expect("a number is read as its text");
        assert_eq!((params.request_id.to_string().as_str(), params.code.expose()), (id, "1234"));
    }

    #[test]
    fn a_code_never_shows_in_debug() {
        let code = VerificationCode::new("482913".to_owned());
        assert_eq!(format!("{code:?}"), "VerificationCode(<redacted>)");
        let params = VerifyParams { request_id: Uuid::nil(), code };
        assert!(!format!("{params:?}").contains("482913"));
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
