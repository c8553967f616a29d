//! The API, called as a client's server would: `POST /SendMessage` with an API key.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::ctx::Ctx;

/// How far the stack's clock moves before a revoked or expired key must be refused: the API caches a key for up to
/// 60 s (docs/api.md, Authentication), plus a second.
const CACHE_AGE: Duration = Duration::from_secs(61);
/// How long, in real time, the refusal may take to show after the clock moved (none is expected).
const SETTLE: Duration = Duration::from_secs(5);
/// How often a key that should stop working is tried.
const RETRY_EVERY: Duration = Duration::from_millis(500);

/// A fresh Saudi mobile number, so that sends never meet the duplicate-send cooldown.
pub fn fresh_phone() -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 10_000_000;
    format!("+96655{n:07}")
}

/// Sends a code with `key` to a fresh number: the status and the JSON body (`Null` when not JSON).
pub async fn send_message(ctx: &Ctx, key: &str) -> (u16, Value) {
    let url = format!("{}/SendMessage", ctx.stack.api_url);
    let body = json!({ "otpCode": "123456", "toPhoneE164": fresh_phone() });
    let response = match ctx.http.post(&url).header("X-Api-Key", key).json(&body).send().await {
        Ok(response) => response,
        Err(err) => panic!("POST {url}: {err}"),
    };
    let status = response.status().as_u16();
    (status, response.json::<Value>().await.unwrap_or(Value::Null))
}

/// `key` sends: 200 with a message id.
pub async fn expect_sends(ctx: &Ctx, key: &str, which: &str) {
    let (status, body) = send_message(ctx, key).await;
    assert_eq!(status, 200, "SendMessage with {which} should be accepted; answered {status} {body}");
    assert!(body["id"].as_str().is_some_and(|id| !id.is_empty()), "SendMessage with {which}: no id in {body}");
}

/// How a key that stopped working is refused (docs/api.md, Authentication).
#[derive(Debug, Clone, Copy)]
pub enum Refusal {
    /// Revoked: `404 ApiKeyNotFound`.
    Revoked,
    /// Past its expiry (a rotation with no overlap moves it to now): `400 ApiKeyExpired`.
    Expired,
}

impl Refusal {
    fn answer(self) -> (u16, &'static str) {
        match self {
            Self::Revoked => (404, "ApiKeyNotFound"),
            Self::Expired => (400, "ApiKeyExpired"),
        }
    }
}

/// `key` is refused as `refusal` says once the API's key cache (60 s) has aged out: the stack's clock is moved
/// 61 s on (`POST /_local/clock/advance`; no other test runs meanwhile, the browser tests run alone), then the key
/// is tried for a few seconds.
pub async fn expect_refused_soon(ctx: &Ctx, key: &str, which: &str, refusal: Refusal) {
    let advance = format!("{}/_local/clock/advance", ctx.stack.api_url);
    match ctx.http.post(&advance).json(&json!({ "seconds": CACHE_AGE.as_secs() })).send().await {
        Ok(response) if response.status().is_success() => {}
        Ok(response) => panic!("POST {advance}: {}", response.status()),
        Err(err) => panic!("POST {advance}: {err}"),
    }
    let started = Instant::now();
    let mut answers = Vec::new();
    let (expected_status, expected_code) = refusal.answer();
    while started.elapsed() < SETTLE {
        let (status, body) = send_message(ctx, key).await;
        if status == expected_status && body["errorMessage"] == expected_code {
            return;
        }
        answers.push(status);
        tokio::time::sleep(RETRY_EVERY).await;
    }
    panic!(
        "SendMessage with {which} was not refused ({expected_status} {expected_code}) 61 s after (stack clock); \
         answers: {answers:?}"
    );
}
