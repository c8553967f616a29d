//! The Graph send endpoint, `POST /{version}/{phone_number_id}/messages`, and the Graph error shape
//! (docs/whatsapp.md, "Sending an authentication template" and "What a send answers"). Only authentication
//! templates are accepted: the fake checks the token, then the few fields the product relies on, then any failure
//! planned through `/_fake/fail-next`, and only then records the send. Codes and tokens are never logged.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::App;
use crate::ledger::{SentMessage, rfc3339_millis, wa_id};

/// Graph's own limit on `biz_opaque_callback_data`.
const MAX_CALLBACK_DATA_CHARS: usize = 512;

/// An error answered in Graph's shape:
/// `{"error":{"message","type":"OAuthException","code","error_data"?,"error_subcode"?,"fbtrace_id"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GraphError {
    pub(crate) status: StatusCode,
    pub(crate) code: i64,
    /// Graph's `message`, usually `(#<code>) <title>`.
    pub(crate) message: String,
    /// `error_data.details`; without it `error_data` is left out, as Graph does for token errors.
    pub(crate) details: Option<String>,
    pub(crate) subcode: Option<i64>,
}

impl GraphError {
    /// The answer to a missing or wrong access token.
    pub(crate) fn invalid_token() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: 190,
            message: "(#190) Invalid OAuth access token".to_owned(),
            details: None,
            subcode: None,
        }
    }

    /// The answer to a request the fake cannot take; `details` says which field is wrong.
    pub(crate) fn invalid_parameter(details: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: 100,
            message: "(#100) Invalid parameter".to_owned(),
            details: Some(details.into()),
            subcode: None,
        }
    }

    /// The JSON body, with a fresh `fbtrace_id` as every Graph answer has.
    pub(crate) fn body(&self) -> Value {
        let mut error = json!({
            "message": self.message,
            "type": "OAuthException",
            "code": self.code,
            "fbtrace_id": random_id(23),
        });
        if let Some(details) = &self.details {
            error["error_data"] = json!({ "messaging_product": "whatsapp", "details": details });
        }
        if let Some(subcode) = self.subcode {
            error["error_subcode"] = json!(subcode);
        }
        json!({ "error": error })
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

/// Meta's title for the error codes docs/whatsapp.md lists, so a planned failure reads like the real one.
pub(crate) fn known_title(code: i64) -> Option<&'static str> {
    let title = match code {
        0 => "AuthException",
        2 => "API Service",
        4 => "Application request limit reached",
        100 => "Invalid parameter",
        190 => "Access token has expired",
        80007 => "Rate limit issues",
        130429 => "Rate limit hit",
        131000 => "Something went wrong",
        131008 => "Required parameter is missing",
        131009 => "Parameter value is not valid",
        131016 => "Service unavailable",
        131026 => "Message undeliverable",
        131047 => "Re-engagement message",
        131048 => "Spam rate limit hit",
        131049 => "This message was not delivered to maintain healthy ecosystem engagement",
        131056 => "(Business Account, Consumer Account) pair rate limit hit",
        132000 => "Number of parameters does not match the expected number of params",
        132001 => "Template name does not exist in the translation",
        _ => return None,
    };
    Some(title)
}

/// `len` random lowercase hex characters, enough to tell answers apart.
pub(crate) fn random_id(len: usize) -> String {
    let mut id = String::with_capacity(len);
    while id.len() < len {
        id.push_str(&Uuid::new_v4().simple().to_string());
    }
    id.truncate(len);
    id
}

/// A message id shaped like Meta's: `wamid.` and an opaque token.
fn new_wamid() -> String {
    format!("wamid.HBgL{}", random_id(40).to_uppercase())
}

#[derive(Debug, Deserialize)]
struct SendRequest {
    messaging_product: Option<String>,
    to: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    template: Option<TemplateRequest>,
    biz_opaque_callback_data: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TemplateRequest {
    name: Option<String>,
    language: Option<LanguageRequest>,
    #[serde(default)]
    components: Vec<ComponentRequest>,
}

#[derive(Debug, Deserialize)]
struct LanguageRequest {
    code: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ComponentRequest {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    parameters: Vec<ParameterRequest>,
}

#[derive(Debug, Deserialize)]
struct ParameterRequest {
    #[serde(rename = "type")]
    kind: Option<String>,
    text: Option<String>,
}

/// An authentication-template send that passed the fake's checks.
struct TemplateSend {
    to: String,
    template: String,
    language: String,
    code: String,
    biz_opaque_callback_data: Option<String>,
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

impl TemplateSend {
    /// Checks only what the product relies on; anything else in the body is ignored, as Graph ignores it.
    fn parse(body: &[u8]) -> Result<Self, GraphError> {
        let request: SendRequest = serde_json::from_slice(body).map_err(|e| {
            GraphError::invalid_parameter(format!("The request body is not valid JSON for a send: {e}"))
        })?;
        if request.messaging_product.as_deref() != Some("whatsapp") {
            return Err(GraphError::invalid_parameter("The parameter messaging_product must be \"whatsapp\"."));
        }
        let to = non_empty(request.to).ok_or_else(|| GraphError::invalid_parameter("The parameter to is required."))?;
        if request.kind.as_deref() != Some("template") {
            return Err(GraphError::invalid_parameter(
                "The parameter type must be \"template\": this fake only sends authentication templates.",
            ));
        }
        let template =
            request.template.ok_or_else(|| GraphError::invalid_parameter("The parameter template is required."))?;
        let name = non_empty(template.name)
            .ok_or_else(|| GraphError::invalid_parameter("The parameter template.name is required."))?;
        let language = non_empty(template.language.and_then(|l| l.code))
            .ok_or_else(|| GraphError::invalid_parameter("The parameter template.language.code is required."))?;
        let code = template
            .components
            .into_iter()
            .filter(|c| c.kind.as_deref() == Some("body"))
            .flat_map(|c| c.parameters)
            .find(|p| p.kind.as_deref() == Some("text"))
            .and_then(|p| non_empty(p.text))
            .ok_or_else(|| {
                GraphError::invalid_parameter("The code parameter is required: a body component with a text parameter.")
            })?;
        if let Some(callback) = &request.biz_opaque_callback_data
            && callback.chars().count() > MAX_CALLBACK_DATA_CHARS
        {
            return Err(GraphError::invalid_parameter(
                "The parameter biz_opaque_callback_data is longer than 512 characters.",
            ));
        }
        Ok(Self { to, template: name, language, code, biz_opaque_callback_data: request.biz_opaque_callback_data })
    }
}

fn is_authorized(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| given.trim() == token)
}

/// `POST /{version}/{phone_number_id}/messages`: any version string is accepted.
pub(crate) async fn send_message(
    State(app): State<App>,
    Path((_version, phone_number_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, GraphError> {
    if !is_authorized(&headers, &app.config.token) {
        tracing::info!(code = 190, %phone_number_id, "send refused: invalid access token");
        return Err(GraphError::invalid_token());
    }
    let send = TemplateSend::parse(&body).inspect_err(|e| {
        tracing::info!(code = e.code, %phone_number_id, "send refused: invalid parameter");
    })?;

    let planned = app.ledger.take_planned_failure(&phone_number_id);
    if let Some(failure) = &planned
        && let Some(error) = &failure.answer
    {
        if let Some(delay) = failure.delay {
            tracing::info!(delay_ms = delay.as_millis(), "send delayed as planned");
            tokio::time::sleep(delay).await;
        }
        tracing::info!(status = error.status.as_u16(), code = error.code, "send failed as planned");
        return Err(error.clone());
    }

    let message = SentMessage {
        wamid: new_wamid(),
        phone_number_id,
        template: send.template,
        language: send.language,
        code: send.code,
        biz_opaque_callback_data: send.biz_opaque_callback_data,
        received_at: rfc3339_millis(OffsetDateTime::now_utc()),
        to: send.to,
    };
    tracing::info!(
        wamid = %message.wamid,
        phone_number_id = %message.phone_number_id,
        template = %message.template,
        language = %message.language,
        "send accepted"
    );
    let answer = json!({
        "messaging_product": "whatsapp",
        "contacts": [{ "input": message.to, "wa_id": wa_id(&message.to) }],
        "messages": [{ "id": message.wamid, "message_status": "accepted" }],
    });
    // Like WhatsApp, the fake accepts the message before it answers: a late answer (a delay without an error)
    // still delivers, even when the caller has given up waiting.
    app.ledger.record(message);
    if let Some(delay) = planned.and_then(|failure| failure.delay) {
        tracing::info!(delay_ms = delay.as_millis(), "answer delayed as planned");
        tokio::time::sleep(delay).await;
    }
    Ok(Json(answer))
}

/// Any other path: Graph's "unsupported request" answer, so a wrong base URL or version is plain to see.
pub(crate) async fn unknown_path(method: Method, uri: Uri) -> GraphError {
    GraphError {
        status: StatusCode::NOT_FOUND,
        code: 100,
        message: format!("(#100) Unsupported {method} request: the fake WhatsApp API has no route {}", uri.path()),
        details: None,
        subcode: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template_send(overrides: impl FnOnce(&mut Value)) -> Result<TemplateSend, GraphError> {
        let mut body = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "+966551234567",
            "type": "template",
            "template": {
                "name": "otp_en",
                "language": { "code": "en_US" },
                "components": [
                    { "type": "body", "parameters": [{ "type": "text", "text": "123456" }] },
                    { "type": "button", "sub_type": "url", "index": "0",
                      "parameters": [{ "type": "text", "text": "123456" }] }
                ]
            }
        });
        overrides(&mut body);
        TemplateSend::parse(body.to_string().as_bytes())
    }

    #[test]
    fn an_authentication_template_is_accepted_with_its_code() {
        let send = template_send(|_| {}).map_err(|e| e.body()).unwrap();
        assert_eq!(
            (send.to.as_str(), send.template.as_str(), send.language.as_str(), send.code.as_str()),
            ("+966551234567", "otp_en", "en_US", "123456")
        );
    }

    /// Spoils one field of a good send.
    type Spoil = fn(&mut Value);

    #[test]
    fn each_missing_field_is_a_code_100_bad_request() {
        let cases: [(&str, Spoil); 6] = [
            ("messaging_product", |b| b["messaging_product"] = json!("sms")),
            ("to", |b| b["to"] = Value::Null),
            ("type", |b| b["type"] = json!("text")),
            ("template.name", |b| b["template"]["name"] = json!("")),
            ("template.language", |b| b["template"]["language"] = json!({})),
            ("code", |b| b["template"]["components"][0]["parameters"] = json!([])),
        ];
        for (field, change) in cases {
            let error = template_send(change).err().unwrap_or_else(|| panic!("{field}: accepted"));
            assert_eq!((error.status, error.code), (StatusCode::BAD_REQUEST, 100), "{field}");
        }
    }

    #[test]
    fn token_errors_carry_no_error_data() {
        let body = GraphError::invalid_token().body();
        assert_eq!(body["error"]["code"], 190);
        assert_eq!(body["error"]["message"], "(#190) Invalid OAuth access token");
        assert!(body["error"].get("error_data").is_none());
        assert_eq!(body["error"]["fbtrace_id"].as_str().map(str::len), Some(23));
    }

    #[test]
    fn only_the_configured_bearer_token_is_authorized() {
        let cases = [
            (Some("Bearer secret"), true),
            (Some("Bearer other"), false),
            (Some("secret"), false),
            (Some("Basic secret"), false),
            (None, false),
        ];
        for (header, want) in cases {
            let mut headers = HeaderMap::new();
            if let Some(header) = header {
                headers.insert(AUTHORIZATION, header.parse().unwrap());
            }
            assert_eq!(is_authorized(&headers, "secret"), want, "{header:?}");
        }
    }
}
