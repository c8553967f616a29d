//! The HTTP boundary: reading requests (headers, the language, bodies, the source IP) and writing responses. What
//! each surface answers is its wire contract's (`api::lightotp`, `api::verify`); [`respond`], [`respond_verify`] and
//! [`respond_webhook`] are the only places a result becomes a response, and where a 5xx is logged, once.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::api::lightotp::{ApiError, render, to_json_text};
use crate::api::verify::VerifyApiError;
use crate::domain::language::HumanLanguage;
use crate::domain::message::OriginalResponse;
use crate::logging::cause_chain;
use crate::metrics::{self, Endpoint};
use crate::usecase::Answer;
use crate::usecase::webhook::WebhookError;

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
    let object = json_body_object(bytes).ok_or(ApiError::InvalidRequestBody)?;
    serde_json::from_value(serde_json::Value::Object(object)).map_err(|_| ApiError::InvalidRequestBody)
}

/// A body that is one JSON object whose keys are each given once (docs/api.md, Request body): a repeated key would
/// let two readers of one request see two different requests, so it is no request. serde_json's own limits apply:
/// more than 128 levels of nesting anywhere, or a number beyond a double's range, is not a body it reads.
fn json_body_object(bytes: &[u8]) -> Option<serde_json::Map<String, serde_json::Value>> {
    struct UniqueKeys(serde_json::Map<String, serde_json::Value>);

    impl<'de> serde::Deserialize<'de> for UniqueKeys {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Visitor;
            impl<'de> serde::de::Visitor<'de> for Visitor {
                type Value = UniqueKeys;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a JSON object whose keys are each given once")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<UniqueKeys, A::Error> {
                    let mut object = serde_json::Map::new();
                    while let Some((key, value)) = map.next_entry::<String, serde_json::Value>()? {
                        if object.insert(key, value).is_some() {
                            return Err(serde::de::Error::custom("a key given twice"));
                        }
                    }
                    Ok(UniqueKeys(object))
                }
            }
            deserializer.deserialize_map(Visitor)
        }
    }

    serde_json::from_slice::<UniqueKeys>(bytes).ok().map(|unique| unique.0)
}

/// Turns a use-case result into the response API Gateway returns. A 5xx is logged here, once, with its cause;
/// a 4xx is the client's mistake and is logged at `info` with its code.
pub fn respond<T: Serialize>(
    endpoint: Endpoint,
    language: HumanLanguage,
    result: Result<Answer<T>, ApiError>,
) -> Response<Body> {
    let result = match result {
        Ok(Answer::Replay(original)) => {
            tracing::info!(status = original.status, "idempotent replay");
            metrics::request(endpoint, "Replay");
            return json_response(original);
        }
        Ok(Answer::Fresh(body)) => Ok(body),
        Err(err) => Err(err),
    };
    metrics::request(endpoint, result.as_ref().map_or_else(ApiError::outcome, |_| "OK"));
    let retry_after = result.as_ref().err().and_then(ApiError::retry_after);
    if let Err(err) = &result {
        let status = err.status();
        if status >= 500 {
            tracing::error!(error = %cause_chain(err), status, "request failed");
        } else {
            tracing::info!(error_code = %err.error_message(HumanLanguage::En), status, "request refused");
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
                WebhookError::Store(_) | WebhookError::Secret(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            if status.is_server_error() {
                tracing::error!(error = %cause_chain(&err), "webhook failed");
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

/// The Verify API's body: any JSON object with each key once (its own rules read the fields); anything else is
/// `Invalid JSON body.`
pub fn verify_api_body(request: &Request) -> Result<serde_json::Map<String, serde_json::Value>, VerifyApiError> {
    json_body_object(raw_body(request)).ok_or(VerifyApiError::InvalidJson)
}

/// Turns a Verify API result into its response: `{"message": "..."}` with the document's statuses and texts.
pub fn respond_verify<T: Serialize>(endpoint: Endpoint, result: Result<T, VerifyApiError>) -> Response<Body> {
    let err = match result {
        Ok(body) => {
            metrics::request(endpoint, "OK");
            return json_response(OriginalResponse { status: 200, body: to_json_text(&body) });
        }
        Err(err) => err,
    };
    metrics::request(endpoint, err.outcome());
    if err.status() >= 500 {
        tracing::error!(error = %cause_chain(&err), "request failed");
    } else {
        tracing::info!(reason = %err, status = err.status(), "request refused");
    }
    let mut response = json_response(OriginalResponse { status: err.status(), body: err.body() });
    if let Some(seconds) = err.retry_after() {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
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

fn json_response(original: OriginalResponse) -> Response<Body> {
    let mut response = Response::new(Body::Text(original.body));
    *response.status_mut() = StatusCode::from_u16(original.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::usecase::rate_limit::NotAdmitted;

    #[test]
    fn a_body_is_one_object_with_each_key_once() {
        assert!(json_body_object(br#"{"otpCode":"1234","toPhoneE164":"+966551234567"}"#).is_some());
        assert!(json_body_object(br#"{"otpCode":"1234","otpCode":"5678"}"#).is_none(), "a key twice");
        assert!(
            json_body_object(br#"{"a":{"b":1,"b":2}}"#).is_some(),
            "inside a field, the field's own reader decides"
        );
        assert!(
            json_body_object(b"[]").is_none() && json_body_object(b"").is_none() && json_body_object(b"1").is_none()
        );
        let deep = format!("{{\"extra\": {}{}}}", "[".repeat(200), "]".repeat(200));
        assert!(json_body_object(deep.as_bytes()).is_none(), "beyond serde_json's 128 levels");
    }

    #[test]
    fn the_cooldown_refusal_is_the_sentence_with_a_retry_after() {
        let err = ApiError::Cooldown { wait: Duration::from_millis(29_500) };
        assert_eq!(err.status(), 400);
        assert_eq!(
            err.error_message(HumanLanguage::En),
            "You can't send another message to the same number yet. Please wait 00:00:30 and try again."
        );
        let response = respond::<()>(Endpoint::SendMessage, HumanLanguage::En, Err(err));
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("30"));
    }

    #[test]
    fn a_rate_limit_refusal_keeps_its_wait_and_a_store_failure_is_internal() {
        let lightotp = ApiError::from(NotAdmitted::RateLimited { retry_after: 12 });
        assert_eq!((lightotp.status(), lightotp.retry_after()), (429, Some(12)));
        let limited = VerifyApiError::from(NotAdmitted::RateLimited { retry_after: 12 });
        assert_eq!((limited.status(), limited.retry_after()), (429, Some(12)));
        let failed = VerifyApiError::from(NotAdmitted::Store(crate::store::StoreError::new("PutItem", "boom")));
        assert_eq!(cause_chain(&failed), "Server Error.: PutItem failed: boom");
        assert_eq!(failed.status(), 500);
    }

    #[test]
    fn a_verify_api_refusal_is_its_status_message_and_retry_after() {
        let response =
            respond_verify::<()>(Endpoint::OtpInitiate, Err(VerifyApiError::TooManyRequests { retry_after: 12 }));
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.body().as_ref(), br#"{"message":"Too many requests."}"#);
        assert_eq!(response.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("12"));
    }

    #[test]
    fn a_logged_internal_failure_carries_its_whole_cause() {
        use crate::usecase::send_message::{SendFailure, SendRefusal};
        let refusal = SendRefusal::from(crate::store::StoreError::new("TransactWriteItems reserve", "throttled"));
        let logged = cause_chain(&ApiError::from(refusal));
        assert_eq!(logged, "internal failure: storage failed: TransactWriteItems reserve failed: throttled");
        let ours = SendFailure::OurWhatsAppAccount { status: 401, code: Some(190), message: "(#190) expired".into() };
        assert!(cause_chain(&ApiError::from(SendRefusal::from(ours))).ends_with("code Some(190)): (#190) expired"));
    }

    #[test]
    fn a_replay_is_sent_byte_for_byte() {
        let original = OriginalResponse { status: 400, body: r#"{"errorMessage":"x", "odd spacing": 1}"#.to_owned() };
        let response = respond::<()>(Endpoint::SendMessage, HumanLanguage::Ar, Ok(Answer::Replay(original.clone())));
        assert_eq!(response.status().as_u16(), 400);
        assert_eq!(response.body().as_ref(), original.body.as_bytes());
    }
}
