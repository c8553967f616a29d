//! Black-box tests of the fake WhatsApp Graph API: each test starts the fake on an ephemeral port and talks to
//! it over HTTP with reqwest, as the product's client and the API tests do.

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use fake_whatsapp::{FakeConfig, SIGNATURE_HEADER, SentMessage};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const TOKEN: &str = "test-whatsapp-token";
const APP_SECRET: &str = "test-app-secret";
const PHONE_NUMBER_ID: &str = "109876543210";

struct Fake {
    base: String,
    http: reqwest::Client,
}

async fn spawn_fake(webhook_url: Option<String>) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let config = FakeConfig { token: TOKEN.to_owned(), app_secret: APP_SECRET.to_owned(), webhook_url };
    tokio::spawn(fake_whatsapp::serve(listener, config));
    Fake { base, http: reqwest::Client::new() }
}

/// An authentication-template send, as the product's client builds it.
fn template(to: &str, code: &str, callback: Option<&str>) -> Value {
    let mut body = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": {
            "name": "lightotp_auth_en",
            "language": { "code": "en_US" },
            "components": [
                { "type": "body", "parameters": [{ "type": "text", "text": code }] },
                { "type": "button", "sub_type": "url", "index": "0", "parameters": [{ "type": "text", "text": code }] }
            ]
        }
    });
    if let Some(callback) = callback {
        body["biz_opaque_callback_data"] = json!(callback);
    }
    body
}

impl Fake {
    fn send_url(&self) -> String {
        format!("{}/v23.0/{PHONE_NUMBER_ID}/messages", self.base)
    }

    async fn send_as(&self, token: Option<&str>, body: &Value) -> reqwest::Response {
        let mut request = self.http.post(self.send_url()).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    async fn send(&self, body: &Value) -> reqwest::Response {
        self.send_as(Some(TOKEN), body).await
    }

    /// Sends and returns the HTTP status and the JSON answer.
    async fn send_code(&self, code: &str) -> (StatusCode, Value) {
        let response = self.send(&template("+966551234567", code, None)).await;
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        (status, response.json().await.unwrap())
    }

    async fn messages(&self) -> Vec<Value> {
        let response = self.http.get(format!("{}/_fake/messages", self.base)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    async fn control(&self, route: &str, body: &Value) -> reqwest::Response {
        self.http.post(format!("{}/_fake/{route}", self.base)).json(body).send().await.unwrap()
    }

    async fn fail_next(&self, body: Value) {
        let response = self.control("fail-next", &body).await;
        assert_eq!(response.status(), 200, "fail-next {body} refused: {}", response.text().await.unwrap());
    }
}

#[tokio::test]
async fn an_accepted_send_is_answered_like_graph_and_recorded_with_every_field() {
    let fake = spawn_fake(None).await;
    let before = OffsetDateTime::now_utc();

    let response = fake.send(&template("+966551234567", "482913", Some("message-42"))).await;

    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["messaging_product"], "whatsapp");
    assert_eq!(answer["contacts"], json!([{ "input": "+966551234567", "wa_id": "966551234567" }]));
    assert_eq!(answer["messages"][0]["message_status"], "accepted");
    let wamid = answer["messages"][0]["id"].as_str().unwrap().to_owned();
    assert!(wamid.starts_with("wamid.") && wamid.len() > 10, "wamid {wamid}");

    let messages = fake.messages().await;
    assert_eq!(messages.len(), 1);
    let recorded = &messages[0];
    assert_eq!(recorded["to"], "+966551234567");
    assert_eq!(recorded["phoneNumberId"], PHONE_NUMBER_ID);
    assert_eq!(recorded["template"], "lightotp_auth_en");
    assert_eq!(recorded["language"], "en_US");
    assert_eq!(recorded["code"], "482913");
    assert_eq!(recorded["wamid"], wamid.as_str());
    assert_eq!(recorded["bizOpaqueCallbackData"], "message-42");
    let received_at = recorded["receivedAt"].as_str().unwrap();
    assert!(received_at.ends_with('Z') && received_at.len() == 24, "receivedAt {received_at}: not UTC millis");
    let received_at = OffsetDateTime::parse(received_at, &Rfc3339).unwrap();
    assert!(received_at >= before - Duration::from_millis(1), "receivedAt {received_at} is before the send");
    serde_json::from_value::<SentMessage>(recorded.clone()).unwrap();
}

#[tokio::test]
async fn sends_are_listed_oldest_first_and_callback_data_is_null_when_absent() {
    let fake = spawn_fake(None).await;
    for code in ["111111", "222222", "333333"] {
        assert_eq!(fake.send_code(code).await.0, StatusCode::OK);
    }
    let messages = fake.messages().await;
    let codes: Vec<_> = messages.iter().map(|m| m["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["111111", "222222", "333333"]);
    assert!(messages[0]["bizOpaqueCallbackData"].is_null(), "{}", messages[0]);
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_refused_with_graph_error_190_and_not_recorded() {
    let fake = spawn_fake(None).await;
    for token in [Some("not-the-token"), None] {
        let response = fake.send_as(token, &template("+966551234567", "123456", None)).await;
        assert_eq!(response.status(), 401, "token {token:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], 190, "token {token:?}");
        assert_eq!(body["error"]["type"], "OAuthException");
        assert_eq!(body["error"]["message"], "(#190) Invalid OAuth access token");
        assert!(!body["error"]["fbtrace_id"].as_str().unwrap().is_empty());
    }
    assert!(fake.messages().await.is_empty(), "a refused send was recorded");
}

#[tokio::test]
async fn an_invalid_send_is_a_code_100_bad_request_and_not_recorded() {
    let fake = spawn_fake(None).await;
    let mut not_whatsapp = template("+966551234567", "123456", None);
    not_whatsapp["messaging_product"] = json!("sms");
    let mut no_code = template("+966551234567", "123456", None);
    no_code["template"]["components"] = json!([]);
    let mut no_to = template("+966551234567", "123456", None);
    no_to.as_object_mut().unwrap().remove("to");
    let mut text = template("+966551234567", "123456", None);
    text["type"] = json!("text");

    for (name, body) in [("messaging_product", not_whatsapp), ("code", no_code), ("to", no_to), ("type", text)] {
        let response = fake.send(&body).await;
        assert_eq!(response.status(), 400, "{name}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["error"]["code"], 100, "{name}: {answer}");
    }
    assert!(fake.messages().await.is_empty());
}

#[tokio::test]
async fn fail_next_400_with_count_2_fails_two_sends_then_lets_the_third_through() {
    let fake = spawn_fake(None).await;
    fake.fail_next(json!({"count": 2, "httpStatus": 400, "code": 131026, "title": "Message undeliverable"})).await;

    for attempt in 1..=2 {
        let (status, body) = fake.send_code("123456").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "attempt {attempt}");
        let error = &body["error"];
        assert_eq!(error["code"], 131026, "attempt {attempt}");
        assert_eq!(error["message"], "(#131026) Message undeliverable");
        assert_eq!(error["type"], "OAuthException");
        assert_eq!(error["error_data"]["messaging_product"], "whatsapp");
        assert_eq!(error["error_data"]["details"], "Message undeliverable");
        assert!(!error["fbtrace_id"].as_str().unwrap().is_empty());
    }
    let (status, _) = fake.send_code("654321").await;
    assert_eq!(status, StatusCode::OK, "the third send should go through");

    let messages = fake.messages().await;
    assert_eq!(messages.len(), 1, "failed sends must not be recorded");
    assert_eq!(messages[0]["code"], "654321");
}

#[tokio::test]
async fn a_given_message_is_answered_verbatim_and_500_defaults_to_code_131000() {
    let fake = spawn_fake(None).await;
    fake.fail_next(json!({"count": 1, "httpStatus": 400, "code": 131056, "message": "(#131056) Pair rate limit"}))
        .await;
    let (status, body) = fake.send_code("123456").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["message"], "(#131056) Pair rate limit");
    assert_eq!(body["error"]["error_data"]["details"], "(#131056) Pair rate limit");

    fake.fail_next(json!({"count": 1, "httpStatus": 500})).await;
    let (status, body) = fake.send_code("123456").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["error"]["code"], 131000);
    assert_eq!(body["error"]["message"], "(#131000) Something went wrong");
}

#[tokio::test]
async fn a_new_fail_next_replaces_pending_failures_and_count_0_clears_them() {
    let fake = spawn_fake(None).await;

    fake.fail_next(json!({"count": 5, "httpStatus": 500})).await;
    fake.fail_next(json!({"count": 1, "httpStatus": 400, "code": 131047})).await;
    let (status, body) = fake.send_code("123456").await;
    assert_eq!((status, &body["error"]["code"]), (StatusCode::BAD_REQUEST, &json!(131047)), "replaced plan");
    assert_eq!(fake.send_code("123456").await.0, StatusCode::OK, "the five 500s must be gone");

    fake.fail_next(json!({"count": 3, "httpStatus": 500})).await;
    fake.fail_next(json!({"count": 0})).await;
    assert_eq!(fake.send_code("123456").await.0, StatusCode::OK, "count 0 must clear");
}

#[tokio::test]
async fn a_plan_that_would_do_nothing_is_refused() {
    let fake = spawn_fake(None).await;
    let response = fake.control("fail-next", &json!({"count": 2})).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{body}");
    let response = fake.control("fail-next", &json!({"count": 2, "httpStatus": 500, "statusCode": 1})).await;
    assert_eq!(response.status(), 400, "an unknown field is a typo worth reporting");
    assert_eq!(fake.send_code("123456").await.0, StatusCode::OK);
}

#[tokio::test]
async fn delay_ms_holds_the_answer_back_then_answers_normally() {
    let fake = spawn_fake(None).await;
    fake.fail_next(json!({"count": 2, "delayMs": 400})).await;

    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(100)).build().unwrap();
    let timed_out = impatient
        .post(fake.send_url())
        .bearer_auth(TOKEN)
        .json(&template("+966551234567", "111111", None))
        .send()
        .await;
    assert!(timed_out.as_ref().is_err_and(reqwest::Error::is_timeout), "expected a client timeout: {timed_out:?}");

    let started = Instant::now();
    let (status, _) = fake.send_code("222222").await;
    let waited = started.elapsed();
    assert_eq!(status, StatusCode::OK, "a delay alone answers normally");
    assert!(waited >= Duration::from_millis(400), "answered after {waited:?}");
    assert!(fake.messages().await.iter().any(|m| m["code"] == "222222"), "the delayed send is recorded");
}

#[tokio::test]
async fn delay_ms_with_http_status_fails_after_the_delay() {
    let fake = spawn_fake(None).await;
    fake.fail_next(json!({"count": 1, "delayMs": 300, "httpStatus": 503})).await;
    let started = Instant::now();
    let (status, body) = fake.send_code("123456").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], 131000);
    assert!(started.elapsed() >= Duration::from_millis(300), "answered after {:?}", started.elapsed());
    assert!(fake.messages().await.is_empty());
}

#[tokio::test]
async fn reset_forgets_sends_and_planned_failures() {
    let fake = spawn_fake(None).await;
    assert_eq!(fake.send_code("123456").await.0, StatusCode::OK);
    fake.fail_next(json!({"count": 3, "httpStatus": 500})).await;

    assert_eq!(fake.control("reset", &json!({})).await.status(), 200);

    assert!(fake.messages().await.is_empty(), "sends survived the reset");
    assert_eq!(fake.send_code("123456").await.0, StatusCode::OK, "planned failures survived the reset");
}

/// A webhook as the product received it.
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

/// A stand-in for the product's webhook: records what it receives and answers `answer`.
async fn spawn_receiver(answer: StatusCode) -> (String, mpsc::UnboundedReceiver<Received>) {
    let (sender, receiver) = mpsc::unbounded_channel();
    let app = axum::Router::new()
        .route(
            "/webhooks/whatsapp",
            post(
                |State((sender, answer)): State<(mpsc::UnboundedSender<Received>, StatusCode)>,
                 headers: HeaderMap,
                 body: Bytes| async move {
                    sender.send(Received { headers, body }).unwrap();
                    answer
                },
            ),
        )
        .with_state((sender, answer));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks/whatsapp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, receiver)
}

/// Checks `X-Hub-Signature-256` over the raw bytes, in constant time, as the product must.
fn assert_signed(received: &Received) {
    let header = received.headers.get(SIGNATURE_HEADER).expect("no X-Hub-Signature-256 header");
    let hex_signature = header.to_str().unwrap().strip_prefix("sha256=").expect("signature lacks sha256=");
    let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(&received.body);
    assert!(mac.verify_slice(&hex::decode(hex_signature).unwrap()).is_ok(), "signature does not match the body");
}

async fn accepted_wamid(fake: &Fake, callback: Option<&str>) -> String {
    let response = fake.send(&template("+966551234567", "123456", callback)).await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    answer["messages"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn status_posts_a_correctly_signed_meta_shaped_webhook_and_reports_the_products_answer() {
    let (url, mut received) = spawn_receiver(StatusCode::ACCEPTED).await;
    let fake = spawn_fake(Some(url)).await;
    let wamid = accepted_wamid(&fake, Some("message-42")).await;
    let before = OffsetDateTime::now_utc().unix_timestamp();

    let response = fake.control("status", &json!({"wamid": wamid, "status": "delivered"})).await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({"webhookStatus": 202}));
    let webhook = received.try_recv().expect("the product received no webhook");
    assert_signed(&webhook);
    assert_eq!(webhook.headers.get("content-type").unwrap(), "application/json");
    let body: Value = serde_json::from_slice(&webhook.body).unwrap();
    assert_eq!(body["object"], "whatsapp_business_account");
    let change = &body["entry"][0]["changes"][0];
    assert_eq!(change["field"], "messages");
    assert_eq!(change["value"]["messaging_product"], "whatsapp");
    assert_eq!(change["value"]["metadata"]["phone_number_id"], PHONE_NUMBER_ID);
    assert!(change["value"]["metadata"]["display_phone_number"].is_string());
    let status = &change["value"]["statuses"][0];
    assert_eq!(status["id"], wamid.as_str());
    assert_eq!(status["status"], "delivered");
    assert_eq!(status["recipient_id"], "966551234567");
    assert_eq!(status["biz_opaque_callback_data"], "message-42");
    let timestamp: i64 = status["timestamp"].as_str().unwrap().parse().unwrap();
    assert!((before..=before + 5).contains(&timestamp), "timestamp {timestamp}, sent at {before}");
    assert!(status.get("errors").is_none(), "a delivered status carries no errors");
}

#[tokio::test]
async fn a_failed_status_carries_its_error_in_the_signed_webhook() {
    let (url, mut received) = spawn_receiver(StatusCode::OK).await;
    let fake = spawn_fake(Some(url)).await;
    let wamid = accepted_wamid(&fake, None).await;

    let error = json!({"code": 131026, "title": "Message undeliverable", "message": "Undeliverable",
                       "details": "Recipient is not on WhatsApp"});
    let response = fake.control("status", &json!({"wamid": wamid, "status": "failed", "error": error})).await;

    assert_eq!(response.json::<Value>().await.unwrap(), json!({"webhookStatus": 200}));
    let webhook = received.try_recv().expect("the product received no webhook");
    assert_signed(&webhook);
    let body: Value = serde_json::from_slice(&webhook.body).unwrap();
    let status = &body["entry"][0]["changes"][0]["value"]["statuses"][0];
    assert_eq!(status["status"], "failed");
    assert!(status.get("biz_opaque_callback_data").is_none(), "no callback data was sent");
    let reported = &status["errors"][0];
    assert_eq!(reported["code"], 131026);
    assert_eq!(reported["title"], "Message undeliverable");
    assert_eq!(reported["message"], "Undeliverable");
    assert_eq!(reported["error_data"]["details"], "Recipient is not on WhatsApp");
}

#[tokio::test]
async fn status_for_an_unknown_wamid_is_404_and_posts_nothing() {
    let (url, mut received) = spawn_receiver(StatusCode::OK).await;
    let fake = spawn_fake(Some(url)).await;

    let response = fake.control("status", &json!({"wamid": "wamid.NOPE", "status": "read"})).await;

    assert_eq!(response.status(), 404);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({"error": "unknown wamid"}));
    assert!(received.try_recv().is_err(), "a webhook was posted for an unknown wamid");
}

#[tokio::test]
async fn status_is_502_when_the_webhook_cannot_be_reached_or_is_not_configured() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks/whatsapp", closed.local_addr().unwrap());
    drop(closed);

    for webhook_url in [Some(url), None] {
        let fake = spawn_fake(webhook_url.clone()).await;
        let wamid = accepted_wamid(&fake, None).await;
        let response = fake.control("status", &json!({"wamid": wamid, "status": "sent"})).await;
        assert_eq!(response.status(), 502, "webhook {webhook_url:?}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{body}");
    }
}

#[tokio::test]
async fn health_answers_with_the_process_id_that_the_stack_checks() {
    let fake = spawn_fake(None).await;
    let health: Value =
        fake.http.get(format!("{}/_fake/health", fake.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(health, json!({"ok": true, "pid": std::process::id()}));
}
