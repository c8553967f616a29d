//! The Python `verify` example of docs/webhooks.md, run with `python3` against requests signed by our own signing code
//! (`lightotp::domain::client_webhook::signature_header`): what the docs tell clients to paste must accept what we
//! send, and refuse a changed body, a stale timestamp or a wrong secret.
//!
//! The example is the page's only ```python block. It is run as it stands, with a small driver appended that reads
//! the cases as JSON on stdin and prints `verify`'s answers as JSON, so no test data is spliced into code.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use lightotp::domain::client_webhook::{signature_header, signing_secret_text};
use serde_json::{Value, json};

/// Reads the cases from stdin and prints what `verify` answered for each, as a JSON list.
const DRIVER: &str = r#"

# --- test driver (shared/tests/webhook_docs_example.rs) ---
import base64 as _driver_base64
import json as _driver_json
import sys as _driver_sys

_driver_answers = []
for _driver_case in _driver_json.load(_driver_sys.stdin):
    _driver_answers.append(
        verify(
            _driver_case["secret"],
            _driver_case["headers"],
            _driver_base64.b64decode(_driver_case["body"]),
            _driver_case["now"],
        )
    )
print(_driver_json.dumps(_driver_answers))
"#;

fn webhooks_md() -> String {
    // Read at run time: a test binary compiled by another clone (a shared CARGO_TARGET_DIR) must read this one's.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    let path = PathBuf::from(manifest).join("../docs/webhooks.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The text of the page's one ```python block.
fn python_example(page: &str) -> String {
    let opening = "```python\n";
    let blocks: Vec<&str> = page.split(opening).skip(1).collect();
    assert_eq!(blocks.len(), 1, "docs/webhooks.md must have exactly one ```python block");
    assert!(
        page.lines().filter(|l| l.trim_start().starts_with("```python")).count() == 1,
        "docs/webhooks.md has another python block"
    );
    let body = blocks[0];
    let end = body.find("\n```").expect("the ```python block of docs/webhooks.md is closed");
    let code = &body[..=end];
    assert!(code.contains("def verify("), "the python block defines verify(): {code}");
    code.to_owned()
}

/// One request as the receiver sees it, and the `now` it checks against (`None`: its own clock).
struct Case {
    name: &'static str,
    secret: String,
    headers: Value,
    body: Vec<u8>,
    now: Option<i64>,
    expected: bool,
}

fn case(name: &'static str, secret: &str, headers: Value, body: &[u8], now: Option<i64>, expected: bool) -> Case {
    Case { name, secret: secret.to_owned(), headers, body: body.to_vec(), now, expected }
}

fn headers(id: &str, timestamp: i64, signature: &str) -> Value {
    json!({
        "webhook-id": id,
        "webhook-timestamp": timestamp.to_string(),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": "lightotp-webhooks/1",
    })
}

/// Runs the example with the driver on `cases` and returns its answers.
fn run_example(code: &str, cases: &[Case]) -> Vec<Value> {
    let input: Vec<Value> = cases
        .iter()
        .map(|c| {
            json!({
                "secret": c.secret,
                "headers": c.headers,
                "body": base64::engine::general_purpose::STANDARD.encode(&c.body),
                "now": c.now,
            })
        })
        .collect();
    let script = format!("{code}{DRIVER}");
    let mut child = Command::new("python3")
        .args(["-I", "-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("python3 could not be started (the docs' example needs it): {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(serde_json::to_string(&input).expect("cases as JSON").as_bytes())
        .expect("the cases were written to python3");
    let output = child.wait_with_output().expect("python3 ran");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the example of docs/webhooks.md failed ({}):\n{stderr}{stdout}", output.status);
    let answers: Vec<Value> = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("the driver's output is not a JSON list ({e}): {stdout}\n{stderr}"));
    assert_eq!(answers.len(), cases.len(), "one answer per case: {answers:?}");
    answers
}

fn unix_now() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).expect("the clock is after 1970");
    i64::try_from(since.as_secs()).expect("seconds fit an i64")
}

#[test]
fn the_python_example_of_the_docs_verifies_what_we_sign_and_refuses_the_rest() {
    let code = python_example(&webhooks_md());
    let secret = signing_secret_text(&[0x5a; 32]);
    let old = signing_secret_text(&std::array::from_fn(|i| u8::try_from(i).unwrap_or(0)));
    let new = signing_secret_text(&[0xc3; 32]);
    let other = signing_secret_text(&[0x11; 32]);
    let id = "evt_msg_ad463327-9096-4d9d-beb2-29941aa319c4_2";
    let body = r#"{"type":"message.delivered","timestamp":"2026-11-23T00:59:09.120Z","data":{"id":"ad463327-9096-4d9d-beb2-29941aa319c4","messageStatus":"Delivered","toPhoneE164":"+966551234567","createdAt":"2026-11-23T00:59:05.833Z","failureCode":null,"failureTitle":null,"failureReason":null,"failedAt":null,"sequence":2}}"#;
    let tampered = body.replace(r#""sequence":2"#, r#""sequence":3"#);
    let now = unix_now();
    let stale = now - 10 * 60;
    let future = now + 10 * 60;

    let signed = signature_header(&[secret.as_str()], id, now, body);
    assert!(signed.starts_with("v1,") && !signed.contains(' '), "{signed}");
    let rotating = signature_header(&[new.as_str(), old.as_str()], id, now, body);
    assert_eq!(rotating.split(' ').count(), 2, "{rotating}");
    let signed_stale = signature_header(&[secret.as_str()], id, stale, body);
    let signed_future = signature_header(&[secret.as_str()], id, future, body);
    let mixed_case = json!({
        "Webhook-Id": id,
        "Webhook-Timestamp": now.to_string(),
        "Webhook-Signature": signed,
        "Content-Type": "application/json",
    });
    let mut no_signature = headers(id, now, &signed);
    no_signature.as_object_mut().expect("an object").remove("webhook-signature");

    let b = body.as_bytes();
    let fresh = headers(id, now, &signed);
    let rotated = headers(id, now, &rotating);
    let old_headers = headers(id, stale, &signed_stale);
    let cases = [
        case("a body we signed", &secret, fresh.clone(), b, Some(now), true),
        case("a body we signed, against its own clock", &secret, fresh.clone(), b, None, true),
        case("header names in another case", &secret, mixed_case, b, Some(now), true),
        case("a tampered body", &secret, fresh.clone(), tampered.as_bytes(), Some(now), false),
        case("another event's id", &secret, headers("evt_msg_x_3", now, &signed), b, Some(now), false),
        case("another secret", &other, fresh.clone(), b, Some(now), false),
        case("during a rotation, the old secret alone", &old, rotated.clone(), b, Some(now), true),
        case("during a rotation, the new secret alone", &new, rotated, b, Some(now), true),
        case("a timestamp 10 minutes old", &secret, old_headers.clone(), b, Some(now), false),
        case("a timestamp 10 minutes old, against its own clock", &secret, old_headers, b, None, false),
        case("a timestamp 10 minutes ahead", &secret, headers(id, future, &signed_future), b, Some(now), false),
        case("a timestamp 4 minutes old", &secret, fresh, b, Some(now + 4 * 60), true),
        case("no signature header", &secret, no_signature, b, Some(now), false),
    ];
    let answers = run_example(&code, &cases);
    let wrong: Vec<String> = cases
        .iter()
        .zip(&answers)
        .filter(|(c, answer)| **answer != Value::Bool(c.expected))
        .map(|(c, answer)| format!("{}: expected {}, verify answered {answer}", c.name, c.expected))
        .collect();
    assert!(wrong.is_empty(), "the example of docs/webhooks.md is wrong:\n{}", wrong.join("\n"));
}
