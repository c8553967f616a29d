//! The LightOTP API's wire contract (docs/api.md): every answer besides success with its HTTP status, its
//! `errorMessage` spelled exactly as the contract spells it, its English and Arabic `errorDescription` and its
//! `Retry-After`; and the bytes an answer renders to, which an idempotent replay sends again. No `lambda_http` here:
//! `http::respond` turns this into a response.

use std::borrow::Cow;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;

use crate::auth::AuthError;
use crate::domain::cooldown::{refusal_sentence, retry_after_seconds};
use crate::domain::language::HumanLanguage;
use crate::domain::message::OriginalResponse;
use crate::domain::otp_code::OtpCodeError;
use crate::domain::phone::PhoneError;
use crate::store::StoreError;
use crate::usecase::check_status::CheckRefusal;
use crate::usecase::rate_limit::NotAdmitted;
use crate::usecase::send_message::{InvalidSendRequest, SendAnswers, SendMessageResponse, SendRefusal};

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
    /// Our failure, with its cause: the whole chain is logged where the 500 is answered, and nothing of it is sent.
    #[error("internal failure")]
    Internal(#[source] InternalCause),
}

/// The cause of an internal failure, kept for the log.
pub type InternalCause = Box<dyn std::error::Error + Send + Sync + 'static>;

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        Self::Internal(Box::new(err))
    }
}

impl From<InvalidSendRequest> for ApiError {
    fn from(invalid: InvalidSendRequest) -> Self {
        match invalid {
            InvalidSendRequest::OtpCode(err) => Self::OtpCode(err),
            InvalidSendRequest::Phone(err) => Self::Phone(err),
            InvalidSendRequest::IdempotencyKey => Self::InvalidIdempotencyKey,
        }
    }
}

impl From<SendRefusal> for ApiError {
    fn from(refusal: SendRefusal) -> Self {
        match refusal {
            SendRefusal::Failed(failure) => Self::Internal(Box::new(failure)),
            other => Self::worded(&other),
        }
    }
}

impl From<NotAdmitted> for ApiError {
    fn from(refusal: NotAdmitted) -> Self {
        match refusal {
            NotAdmitted::RateLimited { retry_after } => Self::TooManyRequests { retry_after },
            NotAdmitted::Store(err) => err.into(),
        }
    }
}

impl From<CheckRefusal> for ApiError {
    fn from(refusal: CheckRefusal) -> Self {
        match refusal {
            CheckRefusal::IdRequired => Self::MessageIdIsRequired,
            CheckRefusal::NotFound => Self::MessageNotFound,
            CheckRefusal::Store(err) => err.into(),
        }
    }
}

impl ApiError {
    /// How the contract words `refusal`, without its internal cause (which only the log needs).
    fn worded(refusal: &SendRefusal) -> Self {
        match refusal {
            SendRefusal::RateLimited { retry_after } => Self::TooManyRequests { retry_after: *retry_after },
            SendRefusal::SenderNumberNotFound => Self::SenderNumberNotFound,
            SendRefusal::TemplateNotFound => Self::TemplateNotFound,
            SendRefusal::Cooldown { wait } => Self::Cooldown { wait: *wait },
            SendRefusal::InsufficientBalance => Self::InsufficientBalance,
            SendRefusal::KeyReused => Self::IdempotencyKeyReused,
            SendRefusal::KeyInProgress => Self::IdempotencyKeyInProgress,
            SendRefusal::WhatsAppRejected { status, message, id } => {
                Self::WhatsAppRejected { status: *status, message: message.clone(), id: id.to_string() }
            }
            SendRefusal::Failed(failure) => Self::Internal(failure.to_string().into()),
        }
    }

    /// The refusal's name, as the `Requests` metric's `Outcome` (a fixed word: never WhatsApp's text or a wait).
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::TooManyRequests { .. } => "TooManyRequests",
            Self::Auth(AuthError::Unavailable(_)) => "InternalError",
            Self::Auth(_) => "Unauthorized",
            Self::UnsupportedMediaType => "UnsupportedMediaType",
            Self::InvalidRequestBody => "InvalidRequestBody",
            Self::OtpCode(_) => "InvalidOtpCode",
            Self::Phone(_) => "InvalidPhone",
            Self::InvalidIdempotencyKey => "InvalidIdempotencyKey",
            Self::SenderNumberNotFound => "SenderNumberNotFound",
            Self::TemplateNotFound => "TemplateNotFound",
            Self::InsufficientBalance => "InsufficientBalance",
            Self::Cooldown { .. } => "Cooldown",
            Self::IdempotencyKeyReused => "IdempotencyKeyReused",
            Self::IdempotencyKeyInProgress => "IdempotencyKeyInProgress",
            Self::WhatsAppRejected { .. } => "WhatsAppRejected",
            Self::MessageIdIsRequired => "MessageIdIsRequired",
            Self::MessageNotFound => "MessageNotFound",
            Self::Internal(_) => "InternalError",
        }
    }

    /// The HTTP status. Exhaustive, so a new variant forces a decision.
    pub fn status(&self) -> u16 {
        match self {
            Self::Auth(AuthError::Missing | AuthError::Expired)
            | Self::InvalidRequestBody
            | Self::OtpCode(_)
            | Self::Phone(_)
            | Self::InvalidIdempotencyKey
            | Self::InsufficientBalance
            | Self::Cooldown { .. }
            | Self::MessageIdIsRequired => 400,
            Self::TooManyRequests { .. } => 429,
            Self::IdempotencyKeyReused => 422,
            Self::IdempotencyKeyInProgress => 409,
            Self::Auth(AuthError::NotFound)
            | Self::SenderNumberNotFound
            | Self::TemplateNotFound
            | Self::MessageNotFound => 404,
            Self::UnsupportedMediaType => 415,
            // Only a 4xx is mirrored: anything else WhatsApp answered becomes a 400.
            Self::WhatsAppRejected { status, .. } => Some(*status).filter(|s| (400..500).contains(s)).unwrap_or(400),
            Self::Auth(AuthError::Unavailable(_)) | Self::Internal(_) => 500,
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
            Self::Auth(AuthError::Unavailable(_)) | Self::Internal(_) => "InternalServerError",
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
            Self::Auth(AuthError::Unavailable(_)) | Self::Internal(_) => (
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

/// The status and body a result renders to, as `http::respond` sends them (without logging): use cases store this
/// to replay it later.
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
            OriginalResponse { status: err.status(), body: to_json_text(&body) }
        }
    }
}

/// The LightOTP API's words for SendMessage's answers, stored with each message for idempotent replays.
#[derive(Debug, Clone, Copy, Default)]
pub struct LightOtpAnswers;

impl SendAnswers for LightOtpAnswers {
    fn sent(&self, response: &SendMessageResponse) -> OriginalResponse {
        // A success has no human text, so its language does not matter.
        render(HumanLanguage::En, &Ok::<_, ApiError>(response))
    }

    fn refused(&self, refusal: &SendRefusal, language: HumanLanguage) -> OriginalResponse {
        render::<()>(language, &Err(ApiError::worded(refusal)))
    }
}

/// A body as JSON text; a body that cannot be serialized (never, for ours) becomes the generic 500's code.
pub(crate) fn to_json_text<T: Serialize>(body: &T) -> String {
    serde_json::to_string(body).unwrap_or_else(|_| r#"{"errorMessage":"InternalServerError"}"#.to_owned())
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
            (StoreError::new("GetItem", "x").into(), 500, "InternalServerError"),
            (ApiError::MessageNotFound, 404, "MessageNotFound"),
            (ApiError::MessageIdIsRequired, 400, "MessageIdIsRequired"),
            (ApiError::InvalidRequestBody, 400, "InvalidRequestBody"),
            (ApiError::UnsupportedMediaType, 415, "UnsupportedMediaType"),
            (ApiError::InvalidIdempotencyKey, 400, "InvalidIdempotencyKey"),
        ];
        for (err, status, code) in cases {
            assert_eq!((err.status(), err.error_message(HumanLanguage::Ar).as_ref()), (status, code), "{err:?}");
        }
    }

    #[test]
    fn whatsapp_rejections_mirror_a_4xx_and_never_become_a_5xx() {
        let rejected = |status| ApiError::WhatsAppRejected {
            status,
            message: "(#131026) Message undeliverable".into(),
            id: "m".into(),
        };
        assert_eq!(rejected(403).status(), 403);
        assert_eq!(rejected(400).error_message(HumanLanguage::Ar), "(#131026) Message undeliverable");
        assert_eq!(rejected(503).status(), 400, "only 4xx is mirrored");
    }
}
