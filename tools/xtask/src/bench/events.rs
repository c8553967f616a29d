//! The events Lambda hands our functions: API Gateway HTTP API (v2) requests and an EventBridge schedule.

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// The WhatsApp app secret the local stack provisions (`lightotp/whatsapp-app-secret`, docs/operations.md).
const LOCAL_APP_SECRET: &[u8] = b"local-app-secret";

/// An API Gateway HTTP API (v2) event, as Lambda delivers it.
pub fn api(route: &str, headers: &[(&str, &str)], body: &str, source_ip: &str) -> String {
    with_cookies(route, headers, &[], body, source_ip)
}

/// A v2 event carrying `cookies` as API Gateway does: in the event's `cookies` array, not in the headers.
pub fn with_cookies(route: &str, headers: &[(&str, &str)], cookies: &[&str], body: &str, source_ip: &str) -> String {
    let (method, path) = route.split_once(' ').unwrap_or(("POST", route));
    let headers: serde_json::Map<String, Value> =
        headers.iter().map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned()))).collect();
    json!({
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000", "apiId": "bench", "domainName": "bench", "domainPrefix": "bench",
            "http": { "method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": source_ip, "userAgent": "bench" },
            "requestId": uuid::Uuid::new_v4().to_string(), "routeKey": route, "stage": "$default",
            "time": "", "timeEpoch": 0
        },
        "cookies": cookies,
        "body": body,
        "isBase64Encoded": false
    })
    .to_string()
}

/// The dashboard's Overview, for a signed-in client (`session` is `lotp_session=<token>`).
pub fn dashboard_overview(session: &str, source_ip: &str) -> String {
    with_cookies("GET /dashboard", &[], &[session], "", source_ip)
}

/// A dashboard sign-in form, as the browser posts it from `origin` with its visitor cookie and that cookie's CSRF
/// token.
pub fn dashboard_sign_in(
    origin: &str,
    visitor: &str,
    csrf: &str,
    email: &str,
    password: &str,
    source_ip: &str,
) -> String {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf", csrf)
        .append_pair("email", email)
        .append_pair("password", password)
        .finish();
    with_cookies(
        "POST /dashboard/login",
        &[("content-type", "application/x-www-form-urlencoded"), ("origin", origin)],
        &[visitor],
        &body,
        source_ip,
    )
}

/// A JSON request with the LightOTP API's key header.
pub fn lightotp(route: &str, api_key: &str, body: &Value, source_ip: &str) -> String {
    api(route, &[("content-type", "application/json"), ("x-api-key", api_key)], &body.to_string(), source_ip)
}

/// A JSON request with the Verify API's bearer key.
pub fn verify_api(route: &str, api_key: &str, body: &Value, source_ip: &str) -> String {
    let bearer = format!("Bearer {api_key}");
    api(route, &[("content-type", "application/json"), ("authorization", &bearer)], &body.to_string(), source_ip)
}

/// SendMessage of the bench's code to `phone`.
pub fn send_message(api_key: &str, phone: &str, source_ip: &str) -> String {
    lightotp("POST /SendMessage", api_key, &json!({"otpCode": "482913", "toPhoneE164": phone}), source_ip)
}

/// CheckMessageStatus of message `id`.
pub fn check_status(api_key: &str, id: &str, source_ip: &str) -> String {
    lightotp("POST /CheckMessageStatus", api_key, &json!({"id": id}), source_ip)
}

/// The Verify API's initiate to `receiver`.
pub fn initiate(api_key: &str, receiver: &str, source_ip: &str) -> String {
    verify_api("POST /api/otp/initiate", api_key, &json!({"receiver": receiver}), source_ip)
}

/// The Verify API's verify of `code` for `request_id`.
pub fn verify(api_key: &str, request_id: &str, code: &str, source_ip: &str) -> String {
    verify_api("POST /api/otp/verify", api_key, &json!({"request_id": request_id, "code": code}), source_ip)
}

/// A status notification from WhatsApp for one message, signed as Meta signs it (or with a forged signature).
pub fn whatsapp_status(wamid: &str, callback: &str, status: &str, genuine: bool) -> Result<String, String> {
    let mut entry = json!({"id": wamid, "status": status, "timestamp": "1700000000", "recipient_id": "1",
        "biz_opaque_callback_data": callback});
    if status == "failed" {
        entry["errors"] = json!([{"code": 131026, "title": "Message undeliverable"}]);
    }
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "statuses": [entry]}}]}]})
    .to_string();
    let signature = if genuine {
        let mut mac = Hmac::<Sha256>::new_from_slice(LOCAL_APP_SECRET).map_err(|e| e.to_string())?;
        mac.update(body.as_bytes());
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    } else {
        format!("sha256={}", "ab".repeat(32))
    };
    Ok(api(
        "POST /webhooks/whatsapp",
        &[("content-type", "application/json"), ("x-hub-signature-256", &signature)],
        &body,
        "173.252.0.1",
    ))
}

/// The EventBridge schedule that runs the sweep.
pub fn schedule() -> String {
    json!({"version": "0", "id": uuid::Uuid::new_v4().to_string(), "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "000000000000", "time": "2026-11-23T00:00:00Z", "region": "us-east-1",
        "resources": [], "detail": {}})
    .to_string()
}

/// A source address of its own for request `n` of a run, so that the per-IP limit never answers.
pub fn ip(block: u8, n: usize) -> String {
    format!("10.{block}.{}.{}", n / 250 % 250, n % 250 + 1)
}

/// A valid Saudi mobile number, distinct per (`run`, `block`, `n`).
pub fn phone(run: u32, block: u8, n: usize) -> String {
    format!("+9665{}{:03}{:04}", block % 10, run % 1000, n % 10_000)
}
