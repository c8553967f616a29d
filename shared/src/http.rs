//! The HTTP boundary of the WhatsApp API surface: request bodies in, one error enum, and [`respond`], the only place
//! a use-case result becomes a response. Error codes are the contract's spellings and never translated; the
//! optional `errorDescription` is human text in the request's language (docs/api.md, Accept-Language).

use std::borrow::Cow;
use std::time::Duration;

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::auth::AuthError;
use crate::domain::cooldown::{refusal_sentence, retry_after_seconds};
use crate::domain::language::HumanLanguage;
use crate::domain::message::OriginalResponse;
use crate::domain::otp_code::OtpCodeError;
use crate::domain::phone::PhoneError;
use crate::store::StoreError;
use crate::usecase::verify_api::VerifyApiError;
use crate::usecase::webhook::WebhookError;

/// Everything SendMessage and CheckMessageStatus can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The source IP used up its requests for this minute.
    #[error("rate limit reached; retry in {retry_after} s")]
    TooManyRequests {
        /// Seconds until the window ends.
        retry_after: u64,
    },
    /// Authentication failed (or its store was unavailable).
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// A `Content-Type` other than `application/json`.
    #[error("unsupported content type")]
    UnsupportedMediaType,
    /// Not JSON, not an object, or a known field of the wrong type.
    #[error("request body is not the expected JSON object")]
    InvalidRequestBody,
    /// `otpCode` broke a rule.
    #[error(transparent)]
    OtpCode(#[from] OtpCodeError),
    /// `toPhoneE164` broke a rule.
    #[error(transparent)]
    Phone(#[from] PhoneError),
    /// `idempotencyKey` present but not a UUID.
    #[error("idempotencyKey is not a UUID")]
    InvalidIdempotencyKey,
    /// The client has no WhatsApp sender.
    #[error("no sender number assigned")]
    SenderNumberNotFound,
    /// No template matches the requested or default language.
    #[error("no template for the language")]
    TemplateNotFound,
    /// No active subscription covers the cost.
    #[error("insufficient balance")]
    InsufficientBalance,
    /// The duplicate-send cooldown for this recipient is still running.
    #[error("cooldown: {wait:?} left")]
    Cooldown {
        /// How long is left.
        wait: Duration,
    },
    /// The idempotency key was bound by a different request.
    #[error("idempotency key reused for a different request")]
    IdempotencyKeyReused,
    /// The request that bound the idempotency key has not finished yet.
    #[error("idempotency key still in flight")]
    IdempotencyKeyInProgress,
    /// WhatsApp refused the send (4xx): its status and message are mirrored, with the failed message's id.
    #[error("WhatsApp rejected message {id} with HTTP {status}")]
    WhatsAppRejected {
        /// WhatsApp's HTTP status (4xx).
        status: u16,
        /// WhatsApp's error message.
        message: String,
        /// The failed message, readable with CheckMessageStatus.
        id: String,
    },
    /// CheckMessageStatus without an id.
    #[error("message id missing")]
    MessageIdIsRequired,
    /// Unknown, malformed or another client's message id.
    #[error("message not found")]
    MessageNotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Anything else that is our fault; the detail is logged, never sent.
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status. Exhaustive, so a new variant forces a decision.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Auth(AuthError::Missing | AuthError::Expired)
            | Self::InvalidRequestBody
            | Self::OtpCode(_)
            | Self::Phone(_)
            | Self::InvalidIdempotencyKey
            | Self::InsufficientBalance
            | Self::Cooldown { .. }
            | Self::MessageIdIsRequired => StatusCode::BAD_REQUEST,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::IdempotencyKeyInProgress => StatusCode::CONFLICT,
            Self::Auth(AuthError::NotFound)
            | Self::SenderNumberNotFound
            | Self::TemplateNotFound
            | Self::MessageNotFound => StatusCode::NOT_FOUND,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::WhatsAppRejected { status, .. } => StatusCode::from_u16(*status)
                .ok()
                .filter(StatusCode::is_client_error)
                .unwrap_or(StatusCode::BAD_REQUEST),
            Self::Auth(AuthError::Unavailable(_)) | Self::Store(_) | Self::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The wire `errorMessage`, spelled exactly as the contract spells it. Only the cooldown's is a sentence, in
    /// the request's language (docs/api.md, Duplicate-send cooldown).
    pub fn error_message(&self, language: HumanLanguage) -> Cow<'_, str> {
        Cow::Borrowed(match self {
            Self::Cooldown { wait } => return Cow::Owned(refusal_sentence(*wait, language)),
            Self::TooManyRequests { .. } => "TooManyRequests",
            Self::IdempotencyKeyReused => "IdempotencyKeyReused",
            Self::IdempotencyKeyInProgress => "IdempotencyKeyInProgress",
            Self::Auth(AuthError::Missing) => "ApiKeyIsRequired",
            Self::Auth(AuthError::NotFound) => "ApiKeyNotFound",
            Self::Auth(AuthError::Expired) => "ApiKeyExpired",
            Self::UnsupportedMediaType => "UnsupportedMediaType",
            Self::InvalidRequestBody => "InvalidRequestBody",
            Self::OtpCode(OtpCodeError::Missing) => "OTPCodeIsRequired",
            Self::OtpCode(OtpCodeError::TooLong) => "OTPCodeLengthMustBeLessThanOrEqualTo8",
            Self::OtpCode(OtpCodeError::NotAlphanumeric) => "OTPCodeMustContainOnlyLettersOrDigits",
            Self::Phone(PhoneError::Missing) => "DestinationPhoneNumberIsRequired",
            Self::Phone(PhoneError::Empty) => "PhoneNumberCanNotBeEmpty",
            Self::Phone(PhoneError::Invalid) => "InvalidphoneNumber",
            Self::InvalidIdempotencyKey => "InvalidIdempotencyKey",
            Self::SenderNumberNotFound => "SenderNumberNotFound",
            Self::TemplateNotFound => "TemplateNotFound",
            Self::InsufficientBalance => "InsufficientBalance",
            Self::WhatsAppRejected { message, .. } => message,
            Self::MessageIdIsRequired => "MessageIdIsRequired",
            Self::MessageNotFound => "MessageNotFound",
            Self::Auth(AuthError::Unavailable(_)) | Self::Store(_) | Self::Internal(_) => "InternalServerError",
        })
    }

    /// Seconds for a `Retry-After` header, when waiting helps.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::TooManyRequests { retry_after } => Some(*retry_after),
            Self::Cooldown { wait } => Some(retry_after_seconds(*wait)),
            Self::IdempotencyKeyInProgress => Some(1),
            _ => None,
        }
    }

    /// Human text for the `errorDescription`, in English or Arabic.
    pub fn description(&self, language: HumanLanguage) -> &'static str {
        let (en, ar) = match self {
            Self::TooManyRequests { .. } => (
                "Too many requests from your address. Please wait and try again.",
                "طلبات كثيرة جدًا من عنوانك. يرجى الانتظار ثم المحاولة مرة أخرى.",
            ),
            Self::Cooldown { .. } => (
                "The duplicate-send wait for this number is still running.",
                "فترة الانتظار بين الإرسالات لهذا الرقم ما زالت سارية.",
            ),
            Self::IdempotencyKeyReused => (
                "This idempotencyKey was already used for a different request. Use a new key for a new message.",
                "سبق استخدام مفتاح idempotencyKey هذا لطلب مختلف. استخدم مفتاحًا جديدًا لرسالة جديدة.",
            ),
            Self::IdempotencyKeyInProgress => (
                "A request with this idempotencyKey is still being processed. Retry shortly to get its result.",
                "ما زال طلب بمفتاح idempotencyKey هذا قيد المعالجة. أعد المحاولة بعد قليل لتحصل على نتيجته.",
            ),
            Self::Auth(AuthError::Missing) => ("The X-Api-Key header is required.", "ترويسة X-Api-Key مطلوبة."),
            Self::Auth(AuthError::NotFound) => {
                ("No active API key matches the provided value.", "لا يوجد مفتاح API فعّال يطابق القيمة المرسلة.")
            }
            Self::Auth(AuthError::Expired) => ("The API key has expired.", "انتهت صلاحية مفتاح API."),
            Self::UnsupportedMediaType => {
                ("Content-Type must be application/json.", "يجب أن يكون Content-Type هو application/json.")
            }
            Self::InvalidRequestBody => (
                "The request body must be a JSON object with fields of the documented types.",
                "يجب أن يكون جسم الطلب كائن JSON بحقول من الأنواع الموثقة.",
            ),
            Self::OtpCode(OtpCodeError::Missing) => ("otpCode is required.", "الحقل otpCode مطلوب."),
            Self::OtpCode(OtpCodeError::TooLong) => {
                ("otpCode must be at most 8 characters.", "يجب ألا يتجاوز otpCode ثمانية أحرف.")
            }
            Self::OtpCode(OtpCodeError::NotAlphanumeric) => (
                "otpCode may contain only letters A-Z, a-z and digits 0-9.",
                "يجب أن يحتوي otpCode على حروف لاتينية وأرقام فقط.",
            ),
            Self::Phone(PhoneError::Missing) => ("toPhoneE164 is required.", "الحقل toPhoneE164 مطلوب."),
            Self::Phone(PhoneError::Empty) => ("toPhoneE164 cannot be empty.", "لا يمكن أن يكون toPhoneE164 فارغًا."),
            Self::Phone(PhoneError::Invalid) => (
                "toPhoneE164 must be a valid phone number in E.164 format, such as +966551234567.",
                "يجب أن يكون toPhoneE164 رقم هاتف صالحًا بصيغة E.164 مثل +966551234567.",
            ),
            Self::InvalidIdempotencyKey => ("idempotencyKey must be a UUID.", "يجب أن يكون idempotencyKey بصيغة UUID."),
            Self::SenderNumberNotFound => {
                ("No sender number is assigned to your account.", "لا يوجد رقم مرسل مخصص لحسابك.")
            }
            Self::TemplateNotFound => (
                "No message template matches the requested language or your default language.",
                "لا يوجد قالب رسالة يطابق اللغة المطلوبة أو لغتك الافتراضية.",
            ),
            Self::InsufficientBalance => (
                "No active subscription has enough credits for this message.",
                "لا يوجد اشتراك فعّال برصيد كافٍ لهذه الرسالة.",
            ),
            Self::WhatsAppRejected { .. } => ("WhatsApp rejected the message.", "رفض واتساب الرسالة."),
            Self::MessageIdIsRequired => ("id is required.", "الحقل id مطلوب."),
            Self::MessageNotFound => {
                ("No message with that id exists for your account.", "لا توجد رسالة بهذا المعرّف في حسابك.")
            }
            Self::Auth(AuthError::Unavailable(_)) | Self::Store(_) | Self::Internal(_) => (
                "An unexpected error occurred. Please try again later, and if the issue persists, contact support.",
                "حدث خطأ غير متوقع. يرجى المحاولة لاحقًا، وإذا استمرت المشكلة فتواصل مع الدعم.",
            ),
        };
        match language {
            HumanLanguage::En => en,
            HumanLanguage::Ar => ar,
        }
    }
}

/// A header's value as text, if present and readable.
pub fn header<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The language of human text for this request.
pub fn human_language(request: &Request) -> HumanLanguage {
    HumanLanguage::from_accept_language(header(request, header::ACCEPT_LANGUAGE.as_str()))
}

/// Reads the body as a JSON object into `T` (docs/api.md, SendMessage: order of checks, steps 3–4): a present
/// `Content-Type` other than `application/json` is `415`; anything but a JSON object, or a known field of the wrong
/// type, is `InvalidRequestBody`. Unknown fields are ignored by `T`'s `Deserialize`.
pub fn json_object<T: DeserializeOwned>(request: &Request) -> Result<T, ApiError> {
    if let Some(content_type) = request.headers().get(header::CONTENT_TYPE) {
        let essence = content_type.to_str().unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if essence != "application/json" {
            return Err(ApiError::UnsupportedMediaType);
        }
    }
    let bytes: &[u8] = match request.body() {
        Body::Empty => b"",
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => b"",
    };
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|_| ApiError::InvalidRequestBody)?;
    if !value.is_object() {
        return Err(ApiError::InvalidRequestBody);
    }
    serde_json::from_value(value).map_err(|_| ApiError::InvalidRequestBody)
}

/// What a use case answers: a fresh body, or the stored bytes of an earlier answer (an idempotent replay).
#[derive(Debug)]
pub enum Answer<T> {
    /// Rendered now.
    Fresh(T),
    /// Replayed exactly as first sent.
    Replay(OriginalResponse),
}

/// The status and body a result renders to, as [`respond`] sends them (without logging): use cases store this to
/// replay it later.
pub fn render<T: Serialize>(language: HumanLanguage, result: &Result<T, ApiError>) -> OriginalResponse {
    match result {
        Ok(body) => OriginalResponse { status: 200, body: to_json_text(body) },
        Err(err) => {
            let mut body = json!({
                "errorMessage": err.error_message(language),
                "errorDescription": err.description(language),
            });
            if let ApiError::WhatsAppRejected { id, .. } = err {
                body["id"] = json!(id);
                body["messageStatus"] = json!("Failed");
            }
            OriginalResponse { status: err.status().as_u16(), body: to_json_text(&body) }
        }
    }
}

/// Turns a use-case result into the response API Gateway returns. A 5xx is logged here, once, with its cause;
/// a 4xx is the client's mistake and is logged at `info` with its code.
pub fn respond<T: Serialize>(language: HumanLanguage, result: Result<Answer<T>, ApiError>) -> Response<Body> {
    let result = match result {
        Ok(Answer::Replay(original)) => {
            tracing::info!(status = original.status, "idempotent replay");
            return json_response(original);
        }
        Ok(Answer::Fresh(body)) => Ok(body),
        Err(err) => Err(err),
    };
    let retry_after = result.as_ref().err().and_then(ApiError::retry_after);
    if let Err(err) = &result {
        let status = err.status();
        if status.is_server_error() {
            tracing::error!(error = %err, status = status.as_u16(), "request failed");
        } else {
            tracing::info!(error_code = %err.error_message(HumanLanguage::En), status = status.as_u16(), "request refused");
        }
    }
    let mut response = json_response(render(language, &result));
    if let Some(seconds) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// What the WhatsApp webhook answers on success.
#[derive(Debug)]
pub enum WebhookReply {
    /// The handshake's challenge, echoed as plain text.
    Challenge(String),
    /// A notification was applied.
    Applied(crate::usecase::webhook::Applied),
}

/// Turns a webhook result into its response: Meta reads only the status (and the challenge).
pub fn respond_webhook(result: Result<WebhookReply, WebhookError>) -> Response<Body> {
    let (status, body) = match result {
        Ok(WebhookReply::Challenge(challenge)) => {
            let mut response = Response::new(Body::Text(challenge));
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            return response;
        }
        Ok(WebhookReply::Applied(applied)) => (StatusCode::OK, json!(applied)),
        Err(err) => {
            let status = match &err {
                WebhookError::Forbidden => StatusCode::FORBIDDEN,
                WebhookError::BadSignature => StatusCode::UNAUTHORIZED,
                WebhookError::BadPayload => StatusCode::BAD_REQUEST,
                WebhookError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            if status.is_server_error() {
                tracing::error!(error = %err, "webhook failed");
            } else {
                tracing::warn!(error = %err, status = status.as_u16(), "webhook refused");
            }
            // An internal failure's detail is logged above, never sent (the caller may not even be Meta).
            let message = if status.is_server_error() { "internal error".to_owned() } else { err.to_string() };
            (status, json!({ "error": message }))
        }
    };
    json_response(OriginalResponse { status: status.as_u16(), body: to_json_text(&body) })
}

/// The API key of a Verify API request: `Authorization: Bearer <key>`, else `X-Api-Key`.
pub fn bearer_or_api_key(request: &Request) -> Option<&str> {
    header(request, header::AUTHORIZATION.as_str())
        .and_then(|value| value.trim().strip_prefix("Bearer ").or_else(|| value.trim().strip_prefix("bearer ")))
        .or_else(|| header(request, crate::auth::API_KEY_HEADER))
}

/// The Verify API's body: any JSON object (its own rules read the fields); anything else is `Invalid JSON body.`
pub fn verify_api_body(request: &Request) -> Result<serde_json::Map<String, serde_json::Value>, VerifyApiError> {
    match serde_json::from_slice::<serde_json::Value>(raw_body(request)) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        _ => Err(VerifyApiError::InvalidJson),
    }
}

/// Turns a Verify API result into its response: `{"message": "..."}` with the document's statuses and texts.
pub fn respond_verify<T: Serialize>(result: Result<T, VerifyApiError>) -> Response<Body> {
    let err = match result {
        Ok(body) => return json_response(OriginalResponse { status: 200, body: to_json_text(&body) }),
        Err(err) => err,
    };
    let status = match &err {
        VerifyApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
        VerifyApiError::Invalid(_)
        | VerifyApiError::InvalidJson
        | VerifyApiError::InvalidCode
        | VerifyApiError::Expired
        | VerifyApiError::TooManyAttempts
        | VerifyApiError::AlreadyUsed => StatusCode::BAD_REQUEST,
        VerifyApiError::InsufficientBalance => StatusCode::PAYMENT_REQUIRED,
        VerifyApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        VerifyApiError::NotFound => StatusCode::NOT_FOUND,
        VerifyApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    if let VerifyApiError::Internal(detail) = &err {
        tracing::error!(error = %detail, "request failed");
    } else {
        tracing::info!(reason = %err, status = status.as_u16(), "request refused");
    }
    let mut response = json_response(OriginalResponse {
        status: status.as_u16(),
        body: to_json_text(&json!({ "message": err.to_string() })),
    });
    if let VerifyApiError::TooManyRequests { retry_after } = err {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    }
    response
}

/// The raw body bytes, as API Gateway delivered them (signatures are over exactly these).
pub fn raw_body(request: &Request) -> &[u8] {
    match request.body() {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => b"",
    }
}

/// The API Gateway source IP of the request (never a client-supplied header); `None` outside API Gateway.
pub fn source_ip(request: &Request) -> Option<&str> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context.http.source_ip.as_deref(),
        _ => None,
    }
}

fn to_json_text<T: Serialize>(body: &T) -> String {
    serde_json::to_string(body).unwrap_or_else(|_| r#"{"errorMessage":"InternalServerError"}"#.to_owned())
}

fn json_response(original: OriginalResponse) -> Response<Body> {
    let mut response = Response::new(Body::Text(original.body));
    *response.status_mut() = StatusCode::from_u16(original.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_code_keeps_its_status_and_spelling() {
        let cases: Vec<(ApiError, u16, &str)> = vec![
            (AuthError::Missing.into(), 400, "ApiKeyIsRequired"),
            (AuthError::NotFound.into(), 404, "ApiKeyNotFound"),
            (AuthError::Expired.into(), 400, "ApiKeyExpired"),
            (OtpCodeError::Missing.into(), 400, "OTPCodeIsRequired"),
            (OtpCodeError::TooLong.into(), 400, "OTPCodeLengthMustBeLessThanOrEqualTo8"),
            (OtpCodeError::NotAlphanumeric.into(), 400, "OTPCodeMustContainOnlyLettersOrDigits"),
            (PhoneError::Missing.into(), 400, "DestinationPhoneNumberIsRequired"),
            (PhoneError::Invalid.into(), 400, "InvalidphoneNumber"),
            (PhoneError::Empty.into(), 400, "PhoneNumberCanNotBeEmpty"),
            (ApiError::InsufficientBalance, 400, "InsufficientBalance"),
            (ApiError::SenderNumberNotFound, 404, "SenderNumberNotFound"),
            (ApiError::TemplateNotFound, 404, "TemplateNotFound"),
            (ApiError::Internal("x".into()), 500, "InternalServerError"),
            (ApiError::MessageNotFound, 404, "MessageNotFound"),
            (ApiError::MessageIdIsRequired, 400, "MessageIdIsRequired"),
            (ApiError::InvalidRequestBody, 400, "InvalidRequestBody"),
            (ApiError::UnsupportedMediaType, 415, "UnsupportedMediaType"),
            (ApiError::InvalidIdempotencyKey, 400, "InvalidIdempotencyKey"),
        ];
        for (err, status, code) in cases {
            assert_eq!(
                (err.status().as_u16(), err.error_message(HumanLanguage::Ar).as_ref()),
                (status, code),
                "{err:?}"
            );
        }
    }

    #[test]
    fn whatsapp_rejections_mirror_a_4xx_and_never_become_a_5xx() {
        let rejected = |status| ApiError::WhatsAppRejected {
            status,
            message: "(#131026) Message undeliverable".into(),
            id: "m".into(),
        };
        assert_eq!(rejected(403).status(), StatusCode::FORBIDDEN);
        assert_eq!(rejected(400).error_message(HumanLanguage::Ar), "(#131026) Message undeliverable");
        assert_eq!(rejected(503).status(), StatusCode::BAD_REQUEST, "only 4xx is mirrored");
    }

    #[test]
    fn the_cooldown_refusal_is_the_sentence_with_a_retry_after() {
        let err = ApiError::Cooldown { wait: Duration::from_millis(29_500) };
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            err.error_message(HumanLanguage::En),
            "You can't send another message to the same number yet. Please wait 00:00:30 and try again."
        );
        let response = respond::<()>(HumanLanguage::En, Err(err));
        assert_eq!(response.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("30"));
    }

    #[test]
    fn a_replay_is_sent_byte_for_byte() {
        let original = OriginalResponse { status: 400, body: r#"{"errorMessage":"x", "odd spacing": 1}"#.to_owned() };
        let response = respond::<()>(HumanLanguage::Ar, Ok(Answer::Replay(original.clone())));
        assert_eq!(response.status().as_u16(), 400);
        assert_eq!(response.body().as_ref(), original.body.as_bytes());
    }
}
