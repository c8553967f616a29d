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

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::domain::test_strategies::any_text;

    /// Any JSON value, nested a few levels, with leaves that sometimes look like what the fields expect.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            (0u64..=12).prop_map(Value::from),
            any_text().prop_map(Value::from),
            "(\\+|00| )?[0-9]{8,14}|en|ar|wallet|subscription|[A-Za-z0-9]{0,12}".prop_map(Value::from),
            any::<u128>().prop_map(|n| Value::from(Uuid::from_u128(n).to_string())),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map("\\PC{0,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Any body: the fields we read, and others, holding any JSON.
    fn any_body() -> impl Strategy<Value = Map<String, Value>> {
        let name = "receiver|lang|length|expiration|sender|payment_type|request_id|code|\\PC{0,8}";
        proptest::collection::btree_map(name, any_json(), 0..8).prop_map(|m| m.into_iter().collect())
    }

    /// A field left out, sent as `null`, or sent with a value.
    fn optional<T: std::fmt::Debug + Clone>(value: impl Strategy<Value = T>) -> impl Strategy<Value = (u8, T)> {
        (0..3u8, value)
    }

    fn put(body: &mut Map<String, Value>, name: &str, (how, value): (u8, Value)) {
        match how {
            0 => {}
            1 => drop(body.insert(name.to_owned(), Value::Null)),
            _ => drop(body.insert(name.to_owned(), value)),
        }
    }

    /// The value a field was sent with, if it was.
    fn given<T>((how, value): (u8, T)) -> Option<T> {
        (how == 2).then_some(value)
    }

    proptest! {
        #[test]
        fn any_initiate_body_is_read_without_panic_and_only_into_documented_values(body in any_body()) {
            if let Ok(params) = parse_initiate(&body) {
                prop_assert!(matches!(params.length, 4 | 6), "{:?}", params);
                prop_assert!((1..=10).contains(&params.expiration), "{:?}", params);
                prop_assert!(params.sender.as_deref().is_none_or(is_sender_id), "{:?}", params);
                prop_assert!(params.receiver.as_str().starts_with('+'), "{:?}", params);
            }
        }

        #[test]
        fn any_verify_body_is_read_without_panic_into_its_request_and_a_code(body in any_body()) {
            if let Ok(params) = parse_verify(&body) {
                let id = body.get("request_id").and_then(Value::as_str).map(Uuid::parse_str);
                prop_assert_eq!(id, Some(Ok(params.request_id)));
                prop_assert!(!params.code.expose().is_empty());
                if let Some(Value::String(code)) = body.get("code") {
                    prop_assert_eq!(params.code.expose(), code.as_str());
                }
            }
        }

        #[test]
        fn a_valid_initiate_body_is_accepted_with_its_values_or_their_defaults(
            receiver in ("[+]|00", "218912345678|966551234567|201001234567|14155552671", "[ ]{0,2}"),
            lang in optional("en|ar"),
            length in optional(prop_oneof![Just(4u8), Just(6u8)]),
            expiration in optional(1..=10u8),
            sender in optional("[A-Za-z0-9]{1,11}"),
            payment_type in optional("wallet|subscription"),
        ) {
            let (prefix, digits, padding) = receiver;
            let mut body = Map::new();
            body.insert("receiver".to_owned(), json!(format!("{padding}{prefix}{digits}{padding}")));
            put(&mut body, "lang", (lang.0, json!(lang.1)));
            put(&mut body, "length", (length.0, json!(length.1)));
            put(&mut body, "expiration", (expiration.0, json!(expiration.1)));
            put(&mut body, "sender", (sender.0, json!(sender.1)));
            put(&mut body, "payment_type", (payment_type.0, json!(payment_type.1)));
            let params = parse_initiate(&body).map_err(|e| TestCaseError::fail(format!("{e}: {body:?}")))?;
            prop_assert_eq!(params.receiver.as_str(), format!("+{digits}"));
            prop_assert_eq!(params.lang.code(), given(lang).unwrap_or_else(|| "en".to_owned()));
            prop_assert_eq!(params.length, given(length).unwrap_or(6));
            prop_assert_eq!(params.expiration, given(expiration).unwrap_or(5));
            prop_assert_eq!(params.sender, given(sender));
            let subscription = given(payment_type).is_some_and(|p| p == "subscription");
            prop_assert_eq!(params.payment_type == PaymentType::Subscription, subscription);
        }

        #[test]
        fn a_verify_body_gives_back_its_request_id_in_any_spelling_and_its_code(
            id in any::<u128>(),
            spelling in 0..4usize,
            code in "\\PC{1,10}",
        ) {
            let id = Uuid::from_u128(id);
            let written = match spelling {
                0 => id.hyphenated().to_string(),
                1 => id.simple().to_string(),
                2 => id.braced().to_string(),
                _ => id.hyphenated().to_string().to_uppercase(),
            };
            let body = json!({"request_id": written, "code": code});
            let params = parse_verify(body.as_object().ok_or_else(|| TestCaseError::fail("object"))?);
            let params = params.map_err(|e| TestCaseError::fail(format!("{e}: {body}")))?;
            prop_assert_eq!((params.request_id, params.code.expose()), (id, code.as_str()));
        }

        #[test]
        fn a_sender_id_is_one_to_eleven_ascii_letters_or_digits(raw in any_text(), valid in "[A-Za-z0-9]{1,11}") {
            if is_sender_id(&raw) {
                prop_assert!((1..=11).contains(&raw.chars().count()) && raw.bytes().all(|b| b.is_ascii_alphanumeric()));
            }
            prop_assert!(is_sender_id(&valid), "{}", valid);
        }

        #[test]
        fn any_receiver_text_normalises_without_panic_to_an_e164_number(raw in any_text()) {
            if let Some(phone) = normalise_receiver(&raw) {
                prop_assert!(phone.as_str().starts_with('+') && raw.contains(phone.digits()), "{:?}", raw);
            }
        }

        #[test]
        fn a_receiver_reads_the_same_after_00_as_after_plus(digits in "[0-9]{0,16}", padding in "[ ]{0,2}") {
            prop_assert_eq!(
                normalise_receiver(&format!("{padding}00{digits}{padding}")),
                normalise_receiver(&format!("+{digits}"))
            );
        }

        #[test]
        fn a_code_from_enough_random_bytes_has_the_asked_length_of_digits(
            bytes in proptest::collection::vec(any::<u8>(), 0..24),
            length in 0..=12u8,
        ) {
            let usable = bytes.iter().filter(|b| **b < 250).count();
            match code_from_random(&bytes, length) {
                Some(code) => {
                    prop_assert_eq!(code.len(), usize::from(length));
                    prop_assert!(code.bytes().all(|b| b.is_ascii_digit()), "{}", code);
                }
                None => prop_assert!(usable < usize::from(length), "{} usable bytes were enough", usable),
            }
        }
    }
}
