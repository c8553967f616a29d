//! The Verify API's wire contract (docs/api.md, Verify API messages): every answer besides success as the Lamah OTP
//! document words it, `{"message": "..."}`, with its HTTP status and `Retry-After`. No `lambda_http` here:
//! `http::respond_verify` turns this into a response.

use serde_json::json;

use crate::api::lightotp::{InternalCause, to_json_text};
use crate::auth::AuthError;
use crate::domain::verification::{ParamError, VerifyParamError};
use crate::usecase::rate_limit::NotAdmitted;
use crate::usecase::verify_api::VerificationRefusal;

/// Everything the Verify API answers besides success, each with the document's message.
#[derive(Debug, thiserror::Error)]
pub enum VerifyApiError {
    /// Missing, unknown, revoked or expired key.
    #[error("Unauthenticated.")]
    Unauthenticated,
    /// A parameter broke a rule (the message says which).
    #[error("{0}")]
    Invalid(&'static str),
    /// The body is not a JSON object.
    #[error("Invalid JSON body.")]
    InvalidJson,
    /// The wallet or subscription cannot pay.
    #[error("Insufficient balance")]
    InsufficientBalance,
    /// A limit was hit (per IP, per number, per client) or its cool-off is running.
    #[error("Too many requests.")]
    TooManyRequests {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// Unknown, malformed or another client's `request_id`.
    #[error("Not found.")]
    NotFound,
    /// The code does not match.
    #[error("Invalid code.")]
    InvalidCode,
    /// The code expired.
    #[error("The code has expired.")]
    Expired,
    /// Five wrong codes were given.
    #[error("Too many attempts.")]
    TooManyAttempts,
    /// The code was already verified.
    #[error("The code has already been used.")]
    AlreadyUsed,
    /// Our failure, with its cause: the whole chain is logged where the 500 is answered, and nothing of it is sent.
    #[error("Server Error.")]
    Internal(#[source] InternalCause),
}

impl From<VerificationRefusal> for VerifyApiError {
    fn from(refusal: VerificationRefusal) -> Self {
        match refusal {
            // A key whose client is gone authenticates nothing.
            VerificationRefusal::UnknownClient => Self::Unauthenticated,
            VerificationRefusal::Limited { retry_after } => Self::TooManyRequests { retry_after },
            VerificationRefusal::InsufficientBalance => Self::InsufficientBalance,
            VerificationRefusal::NotFound => Self::NotFound,
            VerificationRefusal::WrongCode => Self::InvalidCode,
            VerificationRefusal::Expired => Self::Expired,
            VerificationRefusal::AttemptsUsedUp => Self::TooManyAttempts,
            VerificationRefusal::AlreadyVerified => Self::AlreadyUsed,
            VerificationRefusal::Failed(failure) => Self::Internal(Box::new(failure)),
        }
    }
}

impl From<ParamError> for VerifyApiError {
    fn from(ParamError(message): ParamError) -> Self {
        Self::Invalid(message)
    }
}

impl From<VerifyParamError> for VerifyApiError {
    fn from(err: VerifyParamError) -> Self {
        match err {
            VerifyParamError::Invalid(param) => param.into(),
            // It can be no request of the caller's: the same answer as an unknown one.
            VerifyParamError::NotARequest => Self::NotFound,
        }
    }
}

impl From<NotAdmitted> for VerifyApiError {
    fn from(refusal: NotAdmitted) -> Self {
        match refusal {
            NotAdmitted::RateLimited { retry_after } => Self::TooManyRequests { retry_after },
            NotAdmitted::Store(err) => Self::Internal(Box::new(err)),
        }
    }
}

impl From<AuthError> for VerifyApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Unavailable(cause) => Self::Internal(cause),
            AuthError::Missing | AuthError::NotFound | AuthError::Expired => Self::Unauthenticated,
        }
    }
}

impl VerifyApiError {
    /// The refusal's name, as the `Requests` metric's `Outcome` (a fixed word).
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "Unauthorized",
            Self::Invalid(_) => "InvalidParameter",
            Self::InvalidJson => "InvalidJson",
            Self::InsufficientBalance => "InsufficientBalance",
            Self::TooManyRequests { .. } => "TooManyRequests",
            Self::NotFound => "NotFound",
            Self::InvalidCode => "InvalidCode",
            Self::Expired => "Expired",
            Self::TooManyAttempts => "TooManyAttempts",
            Self::AlreadyUsed => "AlreadyUsed",
            Self::Internal(_) => "InternalError",
        }
    }

    /// The HTTP status. Exhaustive, so a new variant forces a decision.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthenticated => 401,
            Self::Invalid(_)
            | Self::InvalidJson
            | Self::InvalidCode
            | Self::Expired
            | Self::TooManyAttempts
            | Self::AlreadyUsed => 400,
            Self::InsufficientBalance => 402,
            Self::TooManyRequests { .. } => 429,
            Self::NotFound => 404,
            Self::Internal(_) => 500,
        }
    }

    /// Seconds for a `Retry-After` header, when waiting helps.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::TooManyRequests { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    /// The body: the document's message, never an internal detail.
    pub fn body(&self) -> String {
        to_json_text(&json!({ "message": self.to_string() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_answer_keeps_the_documents_status_and_message() {
        let cases = [
            (VerifyApiError::Unauthenticated, 401, r#"{"message":"Unauthenticated."}"#),
            (VerifyApiError::InvalidJson, 400, r#"{"message":"Invalid JSON body."}"#),
            (VerifyApiError::InsufficientBalance, 402, r#"{"message":"Insufficient balance"}"#),
            (VerifyApiError::TooManyRequests { retry_after: 7 }, 429, r#"{"message":"Too many requests."}"#),
            (VerifyApiError::NotFound, 404, r#"{"message":"Not found."}"#),
            (VerifyApiError::InvalidCode, 400, r#"{"message":"Invalid code."}"#),
            (VerifyApiError::Expired, 400, r#"{"message":"The code has expired."}"#),
            (VerifyApiError::TooManyAttempts, 400, r#"{"message":"Too many attempts."}"#),
            (VerifyApiError::AlreadyUsed, 400, r#"{"message":"The code has already been used."}"#),
            (VerifyApiError::Internal("a detail".into()), 500, r#"{"message":"Server Error."}"#),
            (VerificationRefusal::UnknownClient.into(), 401, r#"{"message":"Unauthenticated."}"#),
            (VerificationRefusal::Limited { retry_after: 60 }.into(), 429, r#"{"message":"Too many requests."}"#),
            (VerificationRefusal::WrongCode.into(), 400, r#"{"message":"Invalid code."}"#),
            (VerifyParamError::NotARequest.into(), 404, r#"{"message":"Not found."}"#),
            (
                ParamError("The lang field must be one of: ar, en.").into(),
                400,
                r#"{"message":"The lang field must be one of: ar, en."}"#,
            ),
        ];
        for (err, status, body) in cases {
            assert_eq!((err.status(), err.body().as_str()), (status, body), "{err:?}");
        }
        assert_eq!(VerifyApiError::TooManyRequests { retry_after: 7 }.retry_after(), Some(7));
        assert_eq!(VerifyApiError::NotFound.retry_after(), None);
    }
}
