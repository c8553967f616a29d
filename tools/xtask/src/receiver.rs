//! `cargo xtask webhooks-listen`: a webhook endpoint on the developer's own machine, to watch lightotp's client
//! webhooks arrive. It answers every `POST`, on any path, with the status it was started with (`--status 500` to
//! watch the retries), and prints each delivery: its `webhook-id`, its event `type`, whether its Standard Webhooks
//! signature verifies under the endpoint's secret, and its body.
//!
//! The signature is `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, one per secret, space-separated in
//! `webhook-signature`; the `standardwebhooks` crate (the reference implementation) decodes the secret and signs.
//! Its own `verify` also refuses a `webhook-timestamp` more than five minutes from this machine's clock, but the
//! local stack's clock can be moved (tests advance it by hours). So [`check`] compares the signature alone, and
//! then tells a timestamp outside those five minutes apart, as valid but skewed, instead of calling it invalid.

use std::fmt;
use std::io::Write;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post;
use serde_json::Value;
use standardwebhooks::{HEADER_WEBHOOK_ID, HEADER_WEBHOOK_SIGNATURE, HEADER_WEBHOOK_TIMESTAMP, Webhook};
use subtle::ConstantTimeEq;

/// How far a `webhook-timestamp` may be from the clock, either way, as Standard Webhooks receivers allow (the same
/// five minutes as `standardwebhooks`' `verify`).
const TOLERANCE_SECONDS: u64 = 5 * 60;
/// The prefix of a signing secret.
const SECRET_PREFIX: &str = "whsec_";

/// The options of `cargo xtask webhooks-listen`.
#[derive(clap::Args)]
pub struct Options {
    /// The endpoint's signing secret, as `admin webhook add` printed it. Give `--secret` twice during a secret
    /// rotation: a delivery is valid if either verifies it.
    #[arg(
        long = "secret",
        value_name = "whsec_...",
        env = "LIGHTOTP_WEBHOOK_SECRET",
        hide_env_values = true,
        required = true
    )]
    secrets: Vec<String>,
    /// The port to listen on.
    #[arg(long, default_value_t = 4700)]
    port: u16,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The HTTP status every delivery is answered with: 500 to watch lightotp retry.
    #[arg(long, default_value_t = 200)]
    status: u16,
}

/// What the receiver answers with, shared by every request.
struct Receiver {
    /// The signing secrets, any of which may verify a delivery.
    secrets: Vec<Webhook>,
    /// The status every delivery is answered with.
    status: StatusCode,
}

/// Listens until interrupted, printing every delivery. Fails on a secret that is not `whsec_` and base64, a status
/// that is not an HTTP status, or an address it cannot listen on.
pub async fn listen(options: Options) -> Result<(), String> {
    let secrets = parse_secrets(&options.secrets)?;
    let status = StatusCode::from_u16(options.status)
        .map_err(|_| format!("--status {}: not an HTTP status (100 to 999)", options.status))?;
    let listener = tokio::net::TcpListener::bind((options.host.as_str(), options.port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", options.host, options.port))?;
    // The address actually bound, so that an IPv6 host is written in brackets.
    let address = listener.local_addr().map_err(|e| format!("cannot listen on {}: {e}", options.host))?;
    let url = format!("http://{address}/");
    print_now(&format!(
        "listening on {url} (answering {}); add it with: cargo xtask admin webhook add --client <client> --url {url}\n",
        status.as_u16()
    ));
    axum::serve(listener, app(Receiver { secrets, status })).await.map_err(|e| format!("serving {url}: {e}"))
}

/// Each secret's signer; fails if any is not a signing secret (`whsec_` and base64).
fn parse_secrets(secrets: &[String]) -> Result<Vec<Webhook>, String> {
    secrets
        .iter()
        .map(|secret| {
            // The secret itself is not repeated: it may be a real one, mistyped.
            let malformed = || format!("a --secret is not {SECRET_PREFIX} followed by base64, as webhook secrets are");
            if !secret.starts_with(SECRET_PREFIX) {
                return Err(malformed());
            }
            Webhook::new(secret).map_err(|_| malformed())
        })
        .collect()
}

/// The endpoint: a `POST` to any path is a delivery (other methods get 405).
fn app(receiver: Receiver) -> Router {
    Router::new().route("/", post(receive)).route("/{*path}", post(receive)).with_state(Arc::new(receiver))
}

/// Prints one delivery and answers it with the configured status.
async fn receive(
    State(receiver): State<Arc<Receiver>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let verdict = check(&receiver.secrets, &headers, &body, time::OffsetDateTime::now_utc().unix_timestamp());
    print_now(&report(&uri, &headers, &body, &verdict, receiver.status));
    (receiver.status, "ok")
}

/// Whether a delivery's signature verifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Signed by one of the secrets, with a timestamp within five minutes of the clock.
    Valid,
    /// Signed by one of the secrets, but its timestamp is `skew` seconds from the clock (positive: ahead of it).
    /// A receiver checking the time would refuse it; against the local stack, its clock was likely moved.
    ValidButSkewed {
        /// The timestamp minus the clock, in seconds.
        skew: i64,
    },
    /// Not signed by any of the secrets, and why.
    Invalid(String),
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Valid => write!(f, "valid"),
            Verdict::ValidButSkewed { skew } => {
                write!(f, "valid (timestamp {skew:+} s from this machine's clock: the local stack's clock was moved?)")
            }
            Verdict::Invalid(why) => write!(f, "INVALID ({why})"),
        }
    }
}

/// Checks a delivery's Standard Webhooks signature under `secrets`, with `now` (unix seconds) as the clock. Pure.
pub fn check(secrets: &[Webhook], headers: &HeaderMap, body: &[u8], now: i64) -> Verdict {
    match signed_timestamp(secrets, headers, body) {
        Err(why) => Verdict::Invalid(why),
        Ok(timestamp) => {
            let skew = timestamp.saturating_sub(now);
            if skew.unsigned_abs() <= TOLERANCE_SECONDS { Verdict::Valid } else { Verdict::ValidButSkewed { skew } }
        }
    }
}

/// The `webhook-timestamp` of a delivery one of `secrets` signed, or why it is not one.
fn signed_timestamp(secrets: &[Webhook], headers: &HeaderMap, body: &[u8]) -> Result<i64, String> {
    let names = [HEADER_WEBHOOK_ID, HEADER_WEBHOOK_TIMESTAMP, HEADER_WEBHOOK_SIGNATURE];
    let missing: Vec<&str> = names.into_iter().filter(|name| !headers.contains_key(*name)).collect();
    if !missing.is_empty() {
        return Err(format!("missing header {}", missing.join(", ")));
    }
    let id = header_text(headers, HEADER_WEBHOOK_ID)?;
    let timestamp_text = header_text(headers, HEADER_WEBHOOK_TIMESTAMP)?;
    let signatures = header_text(headers, HEADER_WEBHOOK_SIGNATURE)?;
    let timestamp: i64 = timestamp_text
        .parse()
        .map_err(|_| format!("{HEADER_WEBHOOK_TIMESTAMP} {timestamp_text:?} is not a whole number of seconds"))?;
    if std::str::from_utf8(body).is_err() {
        return Err("the body is not UTF-8 text".to_owned());
    }
    if !signatures.split(' ').any(|signature| signature.starts_with("v1,")) {
        return Err(format!("{HEADER_WEBHOOK_SIGNATURE} has no v1,<base64> signature"));
    }
    // What each secret would have signed, against every signature given (two during a rotation).
    let signed = secrets
        .iter()
        .filter_map(|secret| secret.sign(id, timestamp, body).ok())
        .any(|expected| signatures.split(' ').any(|given| bool::from(given.as_bytes().ct_eq(expected.as_bytes()))));
    if signed {
        Ok(timestamp)
    } else {
        let whose =
            if secrets.len() == 1 { "the secret".to_owned() } else { format!("any of the {} secrets", secrets.len()) };
        Err(format!("no signature matches {whose}: another secret, or the body, id or timestamp were changed"))
    }
}

/// A header's value, which must be text.
fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, String> {
    headers
        .get(name)
        .ok_or_else(|| format!("missing header {name}"))?
        .to_str()
        .map_err(|_| format!("the {name} header is not text"))
}

/// The block printed for one delivery: what arrived, whether it is signed, its body, and the answer. A JSON body is
/// pretty-printed with its keys in alphabetical order (serde_json's `Value` keeps no other order); any other body is
/// shown as text.
fn report(uri: &Uri, headers: &HeaderMap, body: &[u8], verdict: &Verdict, answer: StatusCode) -> String {
    let id = headers.get(HEADER_WEBHOOK_ID).and_then(|v| v.to_str().ok()).unwrap_or("(none)");
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let event_type = json.as_ref().and_then(|j| j.get("type")).and_then(Value::as_str).unwrap_or("(none)");
    let shown_body = match &json {
        Some(json) => serde_json::to_string_pretty(json).unwrap_or_else(|e| e.to_string()),
        None => format!("(not JSON) {}", String::from_utf8_lossy(body)),
    };
    format!(
        "=== POST {uri}\nwebhook-id: {id}\ntype: {event_type}\nsignature: {verdict}\n{shown_body}\n=== answered {}\n\n",
        answer.as_u16()
    )
}

/// Prints `text` to stdout at once. A closed stdout (piped into `head`) is no reason to stop answering.
fn print_now(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    /// Another secret: 32 bytes of 7, base64.
    const OTHER_SECRET: &str = "whsec_BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
    const NOW: i64 = 1_700_000_000;
    const BODY: &[u8] = br#"{"type":"message.read","data":{"id":"m_1"}}"#;

    fn signers(secrets: &[&str]) -> Vec<Webhook> {
        parse_secrets(&secrets.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("valid secrets")
    }

    fn signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
        Webhook::new(secret).unwrap().sign(id, timestamp, body).unwrap()
    }

    fn headers(id: &str, timestamp: &str, signatures: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(HEADER_WEBHOOK_ID, id.parse().unwrap());
        headers.insert(HEADER_WEBHOOK_TIMESTAMP, timestamp.parse().unwrap());
        headers.insert(HEADER_WEBHOOK_SIGNATURE, signatures.parse().unwrap());
        headers
    }

    /// The headers lightotp sends for `body` signed with `secret` at `timestamp`.
    fn signed(secret: &str, timestamp: i64, body: &[u8]) -> HeaderMap {
        headers("evt_1", &timestamp.to_string(), &signature(secret, "evt_1", timestamp, body))
    }

    fn no_match(whose: &str) -> Verdict {
        Verdict::Invalid(format!(
            "no signature matches {whose}: another secret, or the body, id or timestamp were changed"
        ))
    }

    #[test]
    fn a_correctly_signed_delivery_is_valid() {
        assert_eq!(check(&signers(&[SECRET]), &signed(SECRET, NOW, BODY), BODY, NOW), Verdict::Valid);
    }

    #[test]
    fn a_tampered_body_is_invalid() {
        let tampered = br#"{"type":"message.read","data":{"id":"m_2"}}"#;
        assert_eq!(check(&signers(&[SECRET]), &signed(SECRET, NOW, BODY), tampered, NOW), no_match("the secret"));
    }

    #[test]
    fn a_changed_id_or_timestamp_is_invalid() {
        let good = signature(SECRET, "evt_1", NOW, BODY);
        let secrets = signers(&[SECRET]);
        assert_eq!(check(&secrets, &headers("evt_2", &NOW.to_string(), &good), BODY, NOW), no_match("the secret"));
        let later = (NOW + 1).to_string();
        assert_eq!(check(&secrets, &headers("evt_1", &later, &good), BODY, NOW), no_match("the secret"));
    }

    #[test]
    fn a_wrong_secret_is_invalid() {
        assert_eq!(check(&signers(&[OTHER_SECRET]), &signed(SECRET, NOW, BODY), BODY, NOW), no_match("the secret"));
    }

    #[test]
    fn two_signatures_of_which_only_the_second_matches_are_valid() {
        let both = format!("{} {}", signature(OTHER_SECRET, "evt_1", NOW, BODY), signature(SECRET, "evt_1", NOW, BODY));
        assert_eq!(check(&signers(&[SECRET]), &headers("evt_1", &NOW.to_string(), &both), BODY, NOW), Verdict::Valid);
        let neither = format!("{} v1,AAAA", signature(OTHER_SECRET, "evt_1", NOW, BODY));
        assert_eq!(
            check(&signers(&[SECRET]), &headers("evt_1", &NOW.to_string(), &neither), BODY, NOW),
            no_match("the secret")
        );
    }

    #[test]
    fn during_a_rotation_either_configured_secret_verifies() {
        let secrets = signers(&[OTHER_SECRET, SECRET]);
        assert_eq!(check(&secrets, &signed(SECRET, NOW, BODY), BODY, NOW), Verdict::Valid);
        assert_eq!(check(&secrets, &signed(OTHER_SECRET, NOW, BODY), BODY, NOW), Verdict::Valid);
        let third = "whsec_CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=";
        assert_eq!(check(&secrets, &signed(third, NOW, BODY), BODY, NOW), no_match("any of the 2 secrets"));
    }

    #[test]
    fn a_correct_signature_with_a_timestamp_far_from_the_clock_is_valid_but_skewed() {
        let secrets = signers(&[SECRET]);
        let hours_ago = NOW - 3 * 3600;
        assert_eq!(
            check(&secrets, &signed(SECRET, hours_ago, BODY), BODY, NOW),
            Verdict::ValidButSkewed { skew: -10_800 }
        );
        let ahead = NOW + 2 * 86_400;
        assert_eq!(check(&secrets, &signed(SECRET, ahead, BODY), BODY, NOW), Verdict::ValidButSkewed { skew: 172_800 });
        // Five minutes either way is the window `standardwebhooks`' verify allows; a second more is skewed.
        assert_eq!(check(&secrets, &signed(SECRET, NOW - 300, BODY), BODY, NOW), Verdict::Valid);
        assert_eq!(check(&secrets, &signed(SECRET, NOW + 300, BODY), BODY, NOW), Verdict::Valid);
        assert_eq!(
            check(&secrets, &signed(SECRET, NOW - 301, BODY), BODY, NOW),
            Verdict::ValidButSkewed { skew: -301 }
        );
        // The most extreme timestamp, without overflow.
        assert_eq!(
            check(&secrets, &signed(SECRET, i64::MIN, BODY), BODY, NOW),
            Verdict::ValidButSkewed { skew: i64::MIN }
        );
    }

    #[test]
    fn a_wrong_signature_with_a_skewed_timestamp_is_invalid_not_skewed() {
        let hours_ago = NOW - 3 * 3600;
        let headers = signed(OTHER_SECRET, hours_ago, BODY);
        assert_eq!(check(&signers(&[SECRET]), &headers, BODY, NOW), no_match("the secret"));
    }

    #[test]
    fn missing_headers_are_invalid_and_named() {
        let secrets = signers(&[SECRET]);
        assert_eq!(
            check(&secrets, &HeaderMap::new(), BODY, NOW),
            Verdict::Invalid("missing header webhook-id, webhook-timestamp, webhook-signature".into())
        );
        for name in [HEADER_WEBHOOK_ID, HEADER_WEBHOOK_TIMESTAMP, HEADER_WEBHOOK_SIGNATURE] {
            let mut headers = signed(SECRET, NOW, BODY);
            headers.remove(name);
            assert_eq!(check(&secrets, &headers, BODY, NOW), Verdict::Invalid(format!("missing header {name}")));
        }
    }

    #[test]
    fn malformed_headers_and_bodies_are_invalid_with_their_reason() {
        let secrets = signers(&[SECRET]);
        let good = signature(SECRET, "evt_1", NOW, BODY);
        assert_eq!(
            check(&secrets, &headers("evt_1", "yesterday", &good), BODY, NOW),
            Verdict::Invalid("webhook-timestamp \"yesterday\" is not a whole number of seconds".into())
        );
        let bare = good.trim_start_matches("v1,");
        assert_eq!(
            check(&secrets, &headers("evt_1", &NOW.to_string(), bare), BODY, NOW),
            Verdict::Invalid("webhook-signature has no v1,<base64> signature".into())
        );
        let mut not_text = signed(SECRET, NOW, BODY);
        not_text.insert(HEADER_WEBHOOK_ID, axum::http::HeaderValue::from_bytes(b"evt_\xff").unwrap());
        assert_eq!(check(&secrets, &not_text, BODY, NOW), Verdict::Invalid("the webhook-id header is not text".into()));
        assert_eq!(
            check(&secrets, &signed(SECRET, NOW, BODY), b"\xff\xfe", NOW),
            Verdict::Invalid("the body is not UTF-8 text".into())
        );
    }

    #[test]
    fn at_the_real_clock_it_agrees_with_the_reference_verify() {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let other_signature = signature(OTHER_SECRET, "evt_1", now, BODY);
        let both = format!("{other_signature} {}", signature(SECRET, "evt_1", now, BODY));
        let cases = [
            (signed(SECRET, now, BODY), BODY.to_vec()),
            (signed(SECRET, now, BODY), b"{}".to_vec()),
            (signed(OTHER_SECRET, now, BODY), BODY.to_vec()),
            (headers("evt_1", &now.to_string(), &both), BODY.to_vec()),
            (headers("evt_1", &now.to_string(), &other_signature), BODY.to_vec()),
            (HeaderMap::new(), BODY.to_vec()),
        ];
        let reference = Webhook::new(SECRET).unwrap();
        for (headers, body) in cases {
            let ours = check(&signers(&[SECRET]), &headers, &body, now) == Verdict::Valid;
            assert_eq!(ours, reference.verify(&body, &headers).is_ok(), "{headers:?}");
        }
    }

    #[test]
    fn secrets_must_be_whsec_and_base64() {
        assert!(parse_secrets(&[SECRET.to_owned(), OTHER_SECRET.to_owned()]).is_ok());
        for bad in ["C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "whsec_not base64!", "lotp_live_abc"] {
            assert!(parse_secrets(&[bad.to_owned()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_report_shows_the_id_the_type_the_verdict_and_the_pretty_body() {
        let uri: Uri = "/hooks?x=1".parse().unwrap();
        let headers = signed(SECRET, NOW, BODY);
        let text = report(&uri, &headers, BODY, &Verdict::ValidButSkewed { skew: -10_800 }, StatusCode::OK);
        assert_eq!(
            text,
            "=== POST /hooks?x=1\n\
             webhook-id: evt_1\n\
             type: message.read\n\
             signature: valid (timestamp -10800 s from this machine's clock: the local stack's clock was moved?)\n\
             {\n  \"data\": {\n    \"id\": \"m_1\"\n  },\n  \"type\": \"message.read\"\n}\n\
             === answered 200\n\n"
        );
        let text = report(&uri, &HeaderMap::new(), b"hello", &Verdict::Invalid("why".into()), StatusCode::OK);
        assert!(
            text.contains("webhook-id: (none)\ntype: (none)\nsignature: INVALID (why)\n(not JSON) hello\n"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn it_answers_a_post_to_any_path_with_the_configured_status() {
        let receiver = Receiver { secrets: signers(&[SECRET]), status: StatusCode::INTERNAL_SERVER_ERROR };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, app(receiver)).await });
        let client = reqwest::Client::new();
        for path in ["/", "/hooks/lightotp"] {
            let answer = client
                .post(format!("http://{address}{path}"))
                .headers(signed(SECRET, NOW, BODY))
                .body(BODY)
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status().as_u16(), 500, "{path}");
            assert_eq!(answer.text().await.unwrap(), "ok");
        }
        let answer = client.get(format!("http://{address}/")).send().await.unwrap();
        assert_eq!(answer.status().as_u16(), 405);
        server.abort();
    }
}
