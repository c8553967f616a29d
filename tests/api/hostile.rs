//! Hostile input over HTTP (issue 14): oversized bodies, invalid UTF-8, JSON nested 10,000 deep, NUL bytes,
//! duplicate keys, numbers beyond 64 bits, look-alike Unicode digits and every field as every JSON type, sent to the
//! four endpoints with a valid key. Each gets the documented answer (docs/api.md), never a 500 or a hang, and nothing
//! is charged or sent for a refusal.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use lightotp::domain::pricing::Credits;
use serde_json::{Value, json};

use crate::helpers::{Ctx, Reply, Tenant, fresh_sa_phone, random_loopback};

/// The answer API Gateway gives a body beyond its 10 MB, or an event beyond Lambda's 6 MB: the function never runs.
fn assert_too_large(reply: &crate::helpers::Reply, what: &str) {
    assert_eq!(reply.status, 413, "{what}: {reply:?}");
    assert_eq!(reply.body, serde_json::json!({"message": "Request Entity Too Large"}), "{what}");
}

#[tokio::test]
async fn bodies_beyond_the_deployed_limits_get_api_gateways_413_and_a_megabyte_gets_the_documented_code() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    // 1 MB: within every limit, so the function answers, with the field's documented code.
    let code = "1".repeat(1024 * 1024);
    let body = serde_json::json!({"otpCode": code, "toPhoneE164": fresh_sa_phone()}).to_string();
    let reply = ctx.post_raw("/SendMessage", Some(&tenant.api_key), &body, &[]).await;
    assert_eq!(
        (reply.status, reply.body["errorMessage"].as_str()),
        (400, Some("OTPCodeLengthMustBeLessThanOrEqualTo8"))
    );
    // 7 MB: within the HTTP API's 10 MB, beyond what one Lambda invocation carries.
    let seven = format!("{{\"otpCode\": \"{}\"}}", "1".repeat(7 * 1024 * 1024));
    assert_too_large(&ctx.post_raw("/SendMessage", Some(&tenant.api_key), &seven, &[]).await, "7 MB");
    // 11 MB: beyond the HTTP API's own limit.
    let eleven = "x".repeat(11 * 1024 * 1024);
    assert_too_large(&ctx.post_raw("/api/otp/initiate", Some(&tenant.api_key), &eleven, &[]).await, "11 MB");
    assert!(ctx.whatsapp_messages(&tenant).await.is_empty(), "nothing was sent");
    assert_eq!(ctx.balances(&tenant).await, [(100, "Active")], "nothing was charged");
}

#[tokio::test]
async fn a_whatsapp_error_of_450_kb_is_bounded_refunded_and_answered_as_documented() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    let huge = format!("(#131026) {}", "x".repeat(450 * 1024));
    ctx.whatsapp_fails_next(&tenant, 1, serde_json::json!({"httpStatus": 400, "code": 131026, "message": huge})).await;
    let reply = ctx.send(&tenant, crate::helpers::otp("1234", &fresh_sa_phone())).await;
    // The documented mirror of a WhatsApp 4xx, with WhatsApp's text cut to 1,000 characters (it was a 500: the
    // message item could not hold the text).
    assert_eq!(reply.status, 400, "{}", reply.body.to_string().chars().take(300).collect::<String>());
    assert_eq!(reply.body["messageStatus"], "Failed");
    let message = reply.body["errorMessage"].as_str().expect("errorMessage");
    assert!(message.starts_with("(#131026) xxx") && message.ends_with('…'), "{}", &message[..40]);
    assert_eq!(message.chars().count(), 1_000);
    let status = ctx.check(&tenant, reply.body["id"].as_str().expect("id")).await;
    assert_eq!((status.status, &status.body["messageStatus"]), (200, &serde_json::json!("Failed")));
    let reason = status.body["failureReason"].as_str().expect("failureReason");
    assert_eq!(reason.chars().count(), 1_000, "the stored reason is bounded");
    assert_eq!(ctx.balances(&tenant).await, [(100, "Active")], "refunded at once, not left for the sweep");
}

const SEND: &str = "/SendMessage";
const CHECK: &str = "/CheckMessageStatus";
const INITIATE: &str = "/api/otp/initiate";
const VERIFY: &str = "/api/otp/verify";

/// An answer must come within this; a hang fails its case (and only its case).
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// The wallet a probe's tenant starts with; its subscription has the default 100 credits.
const WALLET: u64 = 20;

/// How deep the nested bodies go.
const DEEP: usize = 10_000;

/// What docs/api.md documents for one hostile request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// `200`, in the endpoint's success shape.
    Accepted,
    /// This status, with this `errorMessage` (LightOTP API) or `message` (Verify API).
    Refused(u16, &'static str),
}

const ACCEPTED: Want = Want::Accepted;
const INVALID_BODY: Want = Want::Refused(400, "InvalidRequestBody");
const INVALID_JSON: Want = Want::Refused(400, "Invalid JSON body.");
const BAD_PHONE: Want = Want::Refused(400, "Invalid phone number");
const NOT_FOUND: Want = Want::Refused(404, "Not found.");
const WRONG_CODE: Want = Want::Refused(400, "Invalid code.");
const NO_MESSAGE: Want = Want::Refused(404, "MessageNotFound");
const LANG: Want = Want::Refused(400, "The lang field must be one of: ar, en.");
const LENGTH: Want = Want::Refused(400, "The length field must be one of: 4, 6.");
const EXPIRATION: Want = Want::Refused(400, "The expiration field must be between 1 and 10.");
const SENDER: Want = Want::Refused(400, "The sender field must be 1 to 11 letters or digits.");
const PAYMENT: Want = Want::Refused(400, "The payment_type field must be one of: wallet, subscription.");

/// A `400` of the LightOTP API with this `errorMessage`, or of the Verify API with this `message`.
const fn bad(text: &'static str) -> Want {
    Want::Refused(400, text)
}

impl Want {
    fn matches(self, status: u16, text: &str) -> bool {
        match self {
            Self::Accepted => status == 200 && text.is_empty(),
            Self::Refused(want_status, want_text) => status == want_status && text == want_text,
        }
    }
}

/// How a request carries its key: the LightOTP API takes `X-Api-Key`; the Verify API takes both, so initiate is
/// sent with `Authorization: Bearer` and verify with `X-Api-Key` unless a case says otherwise.
#[derive(Debug, Clone, Copy)]
enum Auth {
    ApiKey,
    Bearer,
}

fn usual_auth(path: &str) -> Auth {
    if path == INITIATE { Auth::Bearer } else { Auth::ApiKey }
}

/// What an answer says, in the terms of [`Want`]: `""` for a success in the endpoint's shape, else the error text,
/// or a `<…>` note when the body has neither.
fn answer(path: &str, reply: &Reply) -> String {
    if reply.status == 200 {
        let shaped = match path {
            SEND => reply.body["messageStatus"] == "Pending" && reply.body["id"].is_string(),
            CHECK => reply.body["messageStatus"].is_string(),
            INITIATE => reply.body["request_id"].is_string(),
            _ => reply.body["status"] == "verified",
        };
        return if shaped { String::new() } else { format!("<200 not in the success shape: {}>", reply.body) };
    }
    let field = if path.starts_with("/api/") { "message" } else { "errorMessage" };
    reply.body[field].as_str().map_or_else(|| format!("<no {field}: {}>", reply.body), str::to_owned)
}

/// The start of a body, printable, for a report.
fn preview(body: &[u8]) -> String {
    let shown: String = String::from_utf8_lossy(&body[..body.len().min(90)]).escape_debug().collect();
    if body.len() > 90 { format!("{shown}… ({} bytes)", body.len()) } else { shown }
}

/// `base` with `field` set to `raw`, a JSON text written as is (so that it may be one `serde_json` cannot hold,
/// such as `1e400`, or nested 10,000 deep).
fn with_raw(base: &Value, field: &str, raw: &str) -> String {
    let mut rest = base.clone();
    rest.as_object_mut().expect("an object").remove(field);
    let rest = rest.to_string();
    match rest.strip_prefix('{').filter(|inner| *inner != "}") {
        Some(inner) => format!("{{{}:{raw},{inner}", json!(field)),
        None => format!("{{{}:{raw}}}", json!(field)),
    }
}

/// `text` with each ASCII digit replaced by its look-alike counting from `zero` (U+0660 Arabic-Indic, U+FF10
/// full-width, …).
fn look_alike(text: &str, zero: char) -> String {
    text.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) if c.is_ascii_digit() => char::from_u32(zero as u32 + d).expect("a digit"),
            _ => c,
        })
        .collect()
}

/// `[[[…]]]` and `{"a":{"a":…}}`, `DEEP` levels each.
fn deep_values() -> [(&'static str, String); 2] {
    [
        ("[[[…]]] 10,000 deep", format!("{}{}", "[".repeat(DEEP), "]".repeat(DEEP))),
        (r#"{"a":{"a":…}} 10,000 deep"#, format!("{}1{}", r#"{"a":"#.repeat(DEEP), "}".repeat(DEEP))),
    ]
}

/// Sends hostile requests for one fresh tenant from a few source IPs of its own, with a client that gives up after
/// [`ANSWER_WITHIN`]; collects every answer that is not the documented one, so that a run reports them all; and
/// checks at the end that only the accepted requests were charged and sent, and that the gateway logged no panic.
struct Probe<'a> {
    ctx: &'a Ctx,
    tenant: Tenant,
    clients: Vec<reqwest::Client>,
    next: AtomicUsize,
    /// Every answer that differed from the documented one.
    wrong: Vec<String>,
    cases: usize,
    /// Ids of the messages SendMessage accepted (a replay repeats an id) and of the requests initiate accepted.
    sent: HashSet<String>,
    initiated: HashSet<String>,
    /// Every number this probe used, to find their SMS.
    phones: Vec<String>,
    log: PathBuf,
    log_start: u64,
}

impl<'a> Probe<'a> {
    async fn new(ctx: &'a Ctx) -> Self {
        let tenant = ctx.default_tenant().await;
        ctx.admin.top_up_wallet(&tenant.client_id, Credits::new(WALLET)).await.expect("top up");
        let clients = (0..8)
            .map(|_| {
                reqwest::Client::builder()
                    .local_address(random_loopback())
                    .timeout(ANSWER_WITHIN)
                    .build()
                    .expect("HTTP client")
            })
            .collect();
        let log = ctx.logs_dir.join("local-gateway.log");
        let log_start = std::fs::metadata(&log).map_or(0, |m| m.len());
        Self {
            ctx,
            tenant,
            clients,
            next: AtomicUsize::new(0),
            wrong: Vec::new(),
            cases: 0,
            sent: HashSet::new(),
            initiated: HashSet::new(),
            phones: Vec::new(),
            log,
            log_start,
        }
    }

    /// A fresh valid number, remembered for the SMS count.
    fn phone(&mut self) -> String {
        let phone = fresh_sa_phone();
        self.phones.push(phone.clone());
        phone
    }

    /// POSTs `body` as is, with a JSON content type and the tenant's key.
    async fn post(&self, path: &str, auth: Auth, body: Vec<u8>) -> Result<Reply, String> {
        let client = &self.clients[self.next.fetch_add(1, Ordering::Relaxed) % self.clients.len()];
        let request =
            client.post(format!("{}{path}", self.ctx.api)).header("content-type", "application/json").body(body);
        let key = &self.tenant.api_key;
        let request = match auth {
            Auth::ApiKey => request.header("x-api-key", key),
            Auth::Bearer => request.header("authorization", format!("Bearer {key}")),
        };
        let response = request.send().await.map_err(|e| format!("no answer within {ANSWER_WITHIN:?}: {e}"))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.map_err(|e| format!("no whole body within {ANSWER_WITHIN:?}: {e}"))?;
        Ok(Reply { status, headers, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) })
    }

    async fn expect(&mut self, what: &str, path: &str, body: impl Into<Vec<u8>>, want: Want) -> Option<Reply> {
        self.expect_with(what, path, usual_auth(path), body, want).await
    }

    /// Sends one case and records it if the answer is not `want`.
    async fn expect_with(
        &mut self,
        what: &str,
        path: &str,
        auth: Auth,
        body: impl Into<Vec<u8>>,
        want: Want,
    ) -> Option<Reply> {
        let body = body.into();
        let shown = preview(&body);
        self.cases += 1;
        let reply = match self.post(path, auth, body).await {
            Ok(reply) => reply,
            Err(err) => {
                self.wrong.push(format!("{path} {what}: {err}; body {shown}"));
                return None;
            }
        };
        let text = answer(path, &reply);
        if reply.status == 200 {
            match path {
                SEND => self.sent.extend(reply.body["id"].as_str().map(str::to_owned)),
                INITIATE => self.initiated.extend(reply.body["request_id"].as_str().map(str::to_owned)),
                _ => {}
            }
        }
        if !want.matches(reply.status, &text) {
            self.wrong.push(format!("{path} {what}: got {} {text:?}, documented {want:?}; body {shown}", reply.status));
        }
        Some(reply)
    }

    /// Initiates a 4-digit request to a fresh number; returns its id and the code its SMS carried.
    async fn request(&mut self) -> (String, String) {
        let phone = self.phone();
        let body = json!({"receiver": phone, "length": 4}).to_string();
        let reply = self.expect("a valid initiate", INITIATE, body, ACCEPTED).await;
        let id = reply.and_then(|r| r.body["request_id"].as_str().map(str::to_owned)).expect("a request to verify");
        let sms = self.ctx.sms_to(&phone).await;
        let text = sms.last().and_then(|s| s["message"].as_str()).expect("its SMS").to_owned();
        let code = text.split(|c: char| !c.is_ascii_digit()).find(|run| run.len() == 4).expect("a code").to_owned();
        (id, code)
    }

    /// Asserts that every answer was the documented one, that exactly the accepted requests were charged and
    /// sent (one WhatsApp message and one credit per accepted SendMessage, one SMS and one wallet credit per accepted
    /// initiate), and that the gateway logged no panic meanwhile.
    async fn finish(self) {
        let mut problems = self.wrong;
        let sent = self.sent.len() as u64;
        let whatsapp = self.ctx.whatsapp_messages(&self.tenant).await.len() as u64;
        if whatsapp != sent {
            problems.push(format!("WhatsApp got {whatsapp} messages for {sent} accepted SendMessage requests"));
        }
        let balances = self.ctx.balances(&self.tenant).await;
        if balances != [(100 - sent, "Active")] {
            problems.push(format!("subscription {balances:?} after {sent} accepted sends of 1 credit (from 100)"));
        }
        let initiated = self.initiated.len() as u64;
        let wallet = self.ctx.admin.store.wallet_balance(&self.tenant.client_id).await.expect("wallet").get();
        if wallet != WALLET - initiated {
            problems.push(format!("wallet {wallet} after {initiated} accepted initiates of 1 credit (from {WALLET})"));
        }
        let all: Vec<Value> = self
            .ctx
            .http
            .get(format!("{}/_local/sms", self.ctx.aws))
            .send()
            .await
            .expect("sms")
            .json()
            .await
            .expect("json");
        let sms = all.iter().filter(|s| self.phones.iter().any(|p| s["phoneNumber"] == p.as_str())).count() as u64;
        if sms != initiated {
            problems.push(format!("{sms} SMS went to this test's numbers for {initiated} accepted initiates"));
        }
        let log = std::fs::read(&self.log).unwrap_or_default();
        let since = String::from_utf8_lossy(log.get(usize::try_from(self.log_start).unwrap_or(0)..).unwrap_or(&[]));
        for line in since.lines().filter(|l| l.contains("panicked") || l.contains("function returned an error")) {
            problems.push(format!("the gateway logged: {}", line.chars().take(300).collect::<String>()));
        }
        assert!(
            problems.is_empty(),
            "{} of {} cases (or checks) are not as documented:\n{}",
            problems.len(),
            self.cases,
            problems.join("\n")
        );
    }
}

/// `template` with its one `@` replaced by `bytes`.
fn splice(template: &str, bytes: &[u8]) -> Vec<u8> {
    let (before, after) = template.split_once('@').expect("a placeholder");
    [before.as_bytes(), bytes, after.as_bytes()].concat()
}

/// `text` in UTF-16LE after a byte-order mark.
fn utf16(text: &str) -> Vec<u8> {
    [0xFF, 0xFE].into_iter().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect()
}

#[tokio::test]
async fn invalid_utf8_bodies_are_refused_as_bodies_and_cost_nothing() {
    let ctx = Ctx::new().await;
    let mut probe = Probe::new(&ctx).await;
    let id = uuid::Uuid::new_v4();
    // Each body is a valid request once its bad bytes are decoded loosely (dropped, replaced, or an overlong form
    // read as the digit it spells), so a lenient reading would send, charge, or answer a field's code instead.
    let (p1, p2, p3, p4) = (probe.phone(), probe.phone(), probe.phone(), probe.phone());
    let send: [(&str, Vec<u8>); 5] = [
        ("a stray 0xFF in otpCode", splice(&format!(r#"{{"otpCode": "12@34", "toPhoneE164": "{p1}"}}"#), b"\xff")),
        (
            "overlong encodings of 1 and 2 as otpCode",
            splice(&format!(r#"{{"otpCode": "@", "toPhoneE164": "{p1}"}}"#), b"\xc0\xb1\xc0\xb2"),
        ),
        (
            "a UTF-8-encoded surrogate in toPhoneE164",
            splice(&format!(r#"{{"otpCode": "1234", "toPhoneE164": "@{p1}"}}"#), b"\xed\xa0\x80"),
        ),
        (
            "a lone continuation byte in languageCode (a field never refused)",
            splice(&format!(r#"{{"otpCode": "1234", "toPhoneE164": "{p1}", "languageCode": "en@"}}"#), b"\x80"),
        ),
        ("a whole valid request in UTF-16LE", utf16(&format!(r#"{{"otpCode": "1234", "toPhoneE164": "{p1}"}}"#))),
    ];
    for (what, body) in send {
        probe.expect(what, SEND, body, INVALID_BODY).await;
    }
    probe.expect("0xFF after the id", CHECK, splice(&format!(r#"{{"id": "{id}@"}}"#), b"\xff"), INVALID_BODY).await;
    let initiate: [(&str, Auth, Vec<u8>); 4] = [
        ("0xFF after receiver", Auth::Bearer, splice(&format!(r#"{{"receiver": "{p2}@"}}"#), b"\xff")),
        (
            "an overlong '/' in sender",
            Auth::ApiKey,
            splice(&format!(r#"{{"receiver": "{p3}", "sender": "Ac@me"}}"#), b"\xc0\xaf"),
        ),
        ("a whole valid request in UTF-16LE", Auth::Bearer, utf16(&format!(r#"{{"receiver": "{p4}"}}"#))),
        ("a lone 0xC3 as the whole body", Auth::Bearer, b"\xc3".to_vec()),
    ];
    for (what, auth, body) in initiate {
        probe.expect_with(what, INITIATE, auth, body, INVALID_JSON).await;
    }
    let verify = splice(&format!(r#"{{"request_id": "{id}", "code": "12@"}}"#), b"\xff");
    probe.expect_with("0xFF in code (Bearer)", VERIFY, Auth::Bearer, verify.clone(), INVALID_JSON).await;
    probe.expect_with("0xFF in code (X-Api-Key)", VERIFY, Auth::ApiKey, verify, INVALID_JSON).await;
    probe.finish().await;
}

#[tokio::test]
async fn json_nested_ten_thousand_deep_gets_the_documented_answer_without_a_crash() {
    let ctx = Ctx::new().await;
    let mut probe = Probe::new(&ctx).await;
    let id = uuid::Uuid::new_v4().to_string();
    for (what, deep) in deep_values() {
        // As the whole body: not a JSON object, or not one any parser here reads.
        probe.expect(&format!("{what} as the body"), SEND, deep.clone(), INVALID_BODY).await;
        probe.expect(&format!("{what} as the body"), CHECK, deep.clone(), INVALID_BODY).await;
        probe.expect(&format!("{what} as the body"), INITIATE, deep.clone(), INVALID_JSON).await;
        probe.expect(&format!("{what} as the body"), VERIFY, deep.clone(), INVALID_JSON).await;
        // Inside a field, the others valid: the field's documented answer.
        let in_field = |field: &str| format!("{what} as {field}");
        let send = json!({"otpCode": "1234", "toPhoneE164": probe.phone()});
        probe.expect(&in_field("otpCode"), SEND, with_raw(&send, "otpCode", &deep), INVALID_BODY).await;
        probe.expect(&in_field("id"), CHECK, with_raw(&json!({}), "id", &deep), INVALID_BODY).await;
        // Nesting beyond 128 levels anywhere, an unknown field included, makes the body unreadable (docs/api.md,
        // Request body): nothing is sent.
        let send = json!({"otpCode": "1234", "toPhoneE164": probe.phone()});
        probe.expect(&in_field("an unknown field"), SEND, with_raw(&send, "extra", &deep), INVALID_BODY).await;
        let initiate = json!({"receiver": probe.phone()});
        probe.expect(&in_field("receiver"), INITIATE, with_raw(&initiate, "receiver", &deep), INVALID_JSON).await;
        probe.expect(&in_field("length"), INITIATE, with_raw(&initiate, "length", &deep), INVALID_JSON).await;
        let verify = json!({"request_id": id, "code": "1234"});
        probe.expect(&in_field("request_id"), VERIFY, with_raw(&verify, "request_id", &deep), INVALID_JSON).await;
        probe.expect(&in_field("code"), VERIFY, with_raw(&verify, "code", &deep), INVALID_JSON).await;
    }
    probe.finish().await;
}

#[tokio::test]
async fn nul_bytes_in_strings_and_in_the_body_are_not_terminators() {
    let ctx = Ctx::new().await;
    let mut probe = Probe::new(&ctx).await;
    let (phone, key) = (probe.phone(), uuid::Uuid::new_v4().to_string());
    let nul = |text: &str| json!(format!("{text}\u{0}"));
    // Escaped in a string (`\u0000`): the string holds a NUL, which no rule lets through and nothing cuts at.
    let send = json!({"otpCode": "1234", "toPhoneE164": phone});
    let send_cases = [
        ("otpCode", nul("12"), bad("OTPCodeMustContainOnlyLettersOrDigits")),
        ("otpCode", nul(""), bad("OTPCodeMustContainOnlyLettersOrDigits")),
        ("otpCode", nul("12345678"), bad("OTPCodeLengthMustBeLessThanOrEqualTo8")),
        ("toPhoneE164", nul(&phone), bad("InvalidphoneNumber")),
        ("toPhoneE164", nul(""), bad("InvalidphoneNumber")),
        ("idempotencyKey", nul(&key), bad("InvalidIdempotencyKey")),
    ];
    for (field, value, want) in send_cases {
        probe.expect(&format!("{field} {value}"), SEND, with_raw(&send, field, &value.to_string()), want).await;
    }
    // languageCode is never refused: a malformed one falls back (docs/api.md, Template language).
    let send = json!({"otpCode": "1234", "toPhoneE164": probe.phone(), "languageCode": "en\u{0}"});
    probe.expect("languageCode \"en\\u0000\"", SEND, send.to_string(), ACCEPTED).await;
    probe.expect("id \"\\u0000\"", CHECK, json!({"id": "\u{0}"}).to_string(), NO_MESSAGE).await;
    probe.expect("id \"<uuid>\\u0000\"", CHECK, json!({"id": nul(&key)}).to_string(), NO_MESSAGE).await;
    let initiate = json!({"receiver": probe.phone()});
    let initiate_cases = [
        ("receiver", nul(initiate["receiver"].as_str().unwrap_or_default()), BAD_PHONE),
        ("receiver", nul(""), BAD_PHONE),
        ("lang", nul("en"), LANG),
        ("sender", nul("Acme"), SENDER),
        ("payment_type", nul("wallet"), PAYMENT),
    ];
    for (field, value, want) in initiate_cases {
        probe.expect(&format!("{field} {value}"), INITIATE, with_raw(&initiate, field, &value.to_string()), want).await;
    }
    let (request_id, code) = probe.request().await;
    let with_nul = json!({"request_id": nul(&request_id), "code": code});
    probe.expect("request_id \"<id>\\u0000\"", VERIFY, with_nul.to_string(), NOT_FOUND).await;
    let with_nul = json!({"request_id": request_id, "code": nul(&code)});
    probe.expect("code \"<the code>\\u0000\"", VERIFY, with_nul.to_string(), WRONG_CODE).await;
    let right = json!({"request_id": request_id, "code": code});
    probe.expect("the right code after it", VERIFY, right.to_string(), ACCEPTED).await;

    // Raw NUL bytes: not JSON at all, wherever they are (a reader that stopped at the first NUL would accept the
    // trailing one).
    let raw = |body: String, at: usize| {
        let mut bytes = body.into_bytes();
        bytes.insert(at.min(bytes.len()), 0);
        bytes
    };
    let send = json!({"otpCode": "1234", "toPhoneE164": probe.phone()}).to_string();
    let inside = send.find("1234").map_or(0, |i| i + 2);
    probe.expect("a raw NUL inside otpCode", SEND, raw(send.clone(), inside), INVALID_BODY).await;
    probe.expect("a raw NUL before the body", SEND, raw(send.clone(), 0), INVALID_BODY).await;
    probe.expect("a raw NUL after the body", SEND, raw(send, usize::MAX), INVALID_BODY).await;
    probe.expect("a raw NUL alone", CHECK, vec![0], INVALID_BODY).await;
    probe
        .expect("a raw NUL after the body", CHECK, raw(json!({"id": key}).to_string(), usize::MAX), INVALID_BODY)
        .await;
    let initiate = json!({"receiver": probe.phone()}).to_string();
    probe.expect("a raw NUL after the body", INITIATE, raw(initiate.clone(), usize::MAX), INVALID_JSON).await;
    probe.expect("a raw NUL before the body", INITIATE, raw(initiate, 0), INVALID_JSON).await;
    let verify = json!({"request_id": key, "code": "1234"}).to_string();
    let inside = verify.find("1234").map_or(0, |i| i + 2);
    probe.expect("a raw NUL inside code", VERIFY, raw(verify, inside), INVALID_JSON).await;
    probe.finish().await;
}

#[tokio::test]
async fn duplicate_keys_are_refused_and_never_charge_twice() {
    // A key given twice makes the body unreadable (docs/api.md, Request body): a client and a proxy that read
    // different occurrences must never disagree on what was sent, and nothing is sent or charged.
    let ctx = Ctx::new().await;
    let mut probe = Probe::new(&ctx).await;
    let (p1, p2, p3) = (probe.phone(), probe.phone(), probe.phone());
    let body = format!(r#"{{"otpCode":"1234","otpCode":"5678","toPhoneE164":"{p1}"}}"#);
    probe.expect("otpCode twice", SEND, body, INVALID_BODY).await;
    let body = format!(r#"{{"otpCode":"1234","toPhoneE164":"{p2}","toPhoneE164":"{p3}"}}"#);
    probe.expect("toPhoneE164 twice", SEND, body, INVALID_BODY).await;
    let (k1, k2) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let body = format!(
        r#"{{"otpCode":"1234","toPhoneE164":"{}","idempotencyKey":"{k1}","idempotencyKey":"{k2}"}}"#,
        probe.phone()
    );
    probe.expect("idempotencyKey twice", SEND, body.clone(), INVALID_BODY).await;
    probe.expect("idempotencyKey twice, the same bytes again", SEND, body, INVALID_BODY).await;
    let sent = json!({"otpCode": "1234", "toPhoneE164": probe.phone()}).to_string();
    let id = probe.expect("a valid send, to look up", SEND, sent, ACCEPTED).await.map(|r| r.body["id"].clone());
    let id = id.and_then(|id| id.as_str().map(str::to_owned)).expect("a message id");
    let body = format!(r#"{{"id":"{}","id":"{id}"}}"#, uuid::Uuid::new_v4());
    probe.expect("id twice: unknown, then the caller's", CHECK, body, INVALID_BODY).await;
    let body = format!(r#"{{"receiver":"{}","receiver":"{}"}}"#, probe.phone(), probe.phone());
    probe.expect("receiver twice", INITIATE, body, INVALID_JSON).await;
    let body = format!(r#"{{"receiver":"{}","length":5,"length":4}}"#, probe.phone());
    probe.expect("length twice: refused, then allowed", INITIATE, body, INVALID_JSON).await;
    let (request_id, code) = probe.request().await;
    let wrong = if code == "0000" { "1111" } else { "0000" };
    let body = format!(r#"{{"request_id":"{request_id}","code":"{wrong}","code":"{code}"}}"#);
    probe.expect("code twice: wrong, then right", VERIFY, body, INVALID_JSON).await;
    probe.finish().await;
}

/// JSON numbers no 64-bit integer holds, and integers written as floats.
const BIG_NUMBERS: [&str; 8] = [
    "1e400",
    "-1e400",
    "123456789012345678901234567890",
    "18446744073709551616",
    "-9223372036854775809",
    "-0",
    "1.0",
    "1e-400",
];

#[tokio::test]
async fn numbers_beyond_64_bits_get_the_fields_documented_answer() {
    let ctx = Ctx::new().await;
    let mut probe = Probe::new(&ctx).await;
    let key = uuid::Uuid::new_v4().to_string();
    let send_fields = [
        ("otpCode", INVALID_BODY),
        ("toPhoneE164", INVALID_BODY),
        ("languageCode", INVALID_BODY),
        ("idempotencyKey", INVALID_BODY),
    ];
    let initiate_fields = [
        ("receiver", BAD_PHONE),
        ("lang", LANG),
        ("length", LENGTH),
        ("expiration", EXPIRATION),
        ("sender", SENDER),
        ("payment_type", PAYMENT),
    ];
    for number in BIG_NUMBERS {
        // A number beyond a double's range is no JSON the API reads (docs/api.md, Request body).
        let unreadable = number.ends_with("e400");
        for (field, want) in send_fields {
            let send = json!({"otpCode": "1234", "toPhoneE164": probe.phone()});
            probe.expect(&format!("{field} {number}"), SEND, with_raw(&send, field, number), want).await;
        }
        probe.expect(&format!("id {number}"), CHECK, with_raw(&json!({}), "id", number), INVALID_BODY).await;
        for (field, want) in initiate_fields {
            let want = if unreadable { INVALID_JSON } else { want };
            let initiate = json!({"receiver": probe.phone()});
            probe.expect(&format!("{field} {number}"), INITIATE, with_raw(&initiate, field, number), want).await;
        }
        let verify = json!({"request_id": key, "code": "1234"});
        let want = if unreadable { INVALID_JSON } else { NOT_FOUND };
        probe.expect(&format!("request_id {number}"), VERIFY, with_raw(&verify, "request_id", number), want).await;
    }
    // The documented integers written as floats are refused (`6.0` is, by the docs).
    for (field, number, want) in
        [("length", "4.0", LENGTH), ("length", "6e0", LENGTH), ("expiration", "1e1", EXPIRATION)]
    {
        let initiate = json!({"receiver": probe.phone()});
        probe.expect(&format!("{field} {number}"), INITIATE, with_raw(&initiate, field, number), want).await;
    }
    // A code that is not a string is compared as its JSON text: a wrong code, one attempt each (at most 5 a
    // request, so a fresh request every 4).
    for numbers in BIG_NUMBERS.chunks(4) {
        let (request_id, _) = probe.request().await;
        for number in numbers {
            let want = if number.ends_with("e400") { INVALID_JSON } else { WRONG_CODE };
            let verify = json!({"request_id": request_id, "code": "1234"});
            probe.expect(&format!("code {number}"), VERIFY, with_raw(&verify, "code", number), want).await;
        }
    }
    probe.finish().await;
}

#[tokio::test]
async fn look_alike_unicode_digits_are_not_digits_anywhere() {
    let ctx = Ctx::new().await;
    let mut probe = Probe::new(&ctx).await;
    // Arabic-Indic, Extended Arabic-Indic (Persian), full-width and mathematical bold digits.
    let zeros =
        [('\u{660}', "Arabic-Indic"), ('\u{6F0}', "Persian"), ('\u{FF10}', "full-width"), ('\u{1D7CE}', "math bold")];
    for (zero, name) in zeros {
        let phone = probe.phone();
        let send = json!({"otpCode": look_alike("4567", zero), "toPhoneE164": phone});
        probe
            .expect(&format!("{name} otpCode"), SEND, send.to_string(), bad("OTPCodeMustContainOnlyLettersOrDigits"))
            .await;
        // Length is counted in characters, not bytes: 8 look-alikes are not too long, 9 are.
        let send = json!({"otpCode": look_alike("12345678", zero), "toPhoneE164": phone});
        probe
            .expect(&format!("8 {name} digits"), SEND, send.to_string(), bad("OTPCodeMustContainOnlyLettersOrDigits"))
            .await;
        let send = json!({"otpCode": look_alike("123456789", zero), "toPhoneE164": phone});
        probe
            .expect(&format!("9 {name} digits"), SEND, send.to_string(), bad("OTPCodeLengthMustBeLessThanOrEqualTo8"))
            .await;
        let send = json!({"otpCode": "4567", "toPhoneE164": look_alike(&phone, zero)});
        probe.expect(&format!("{name} toPhoneE164"), SEND, send.to_string(), bad("InvalidphoneNumber")).await;
        let receiver = look_alike(&probe.phone(), zero);
        probe.expect(&format!("{name} receiver"), INITIATE, json!({"receiver": receiver}).to_string(), BAD_PHONE).await;
        let receiver = look_alike(&probe.phone().replacen('+', "00", 1), zero);
        probe
            .expect(&format!("{name} receiver with 00"), INITIATE, json!({"receiver": receiver}).to_string(), BAD_PHONE)
            .await;
        let initiate =
            json!({"receiver": probe.phone(), "length": look_alike("4", zero), "expiration": look_alike("5", zero)});
        probe.expect(&format!("{name} length"), INITIATE, initiate.to_string(), LENGTH).await;
        let initiate = json!({"receiver": probe.phone(), "sender": look_alike("Acme1", zero)});
        probe.expect(&format!("{name} sender"), INITIATE, initiate.to_string(), SENDER).await;
    }
    let phone = probe.phone();
    probe
        .expect(
            "a full-width plus",
            SEND,
            json!({"otpCode": "4567", "toPhoneE164": phone.replacen('+', "\u{FF0B}", 1)}).to_string(),
            bad("InvalidphoneNumber"),
        )
        .await;
    // A real message and a real request, named with look-alike digits: unknown, not found.
    let sent = probe
        .expect("a valid send", SEND, json!({"otpCode": "4567", "toPhoneE164": phone}).to_string(), ACCEPTED)
        .await;
    let id = sent.and_then(|r| r.body["id"].as_str().map(str::to_owned)).expect("a message id");
    let (request_id, code) = probe.request().await;
    for (zero, name) in zeros {
        probe.expect(&format!("{name} id"), CHECK, json!({"id": look_alike(&id, zero)}).to_string(), NO_MESSAGE).await;
        let verify = json!({"request_id": look_alike(&request_id, zero), "code": code});
        probe.expect(&format!("{name} request_id"), VERIFY, verify.to_string(), NOT_FOUND).await;
        // The code in look-alikes is a wrong code (4 of them: the 5th wrong code would lock the request).
        let verify = json!({"request_id": request_id, "code": look_alike(&code, zero)});
        probe.expect(&format!("{name} code"), VERIFY, verify.to_string(), WRONG_CODE).await;
    }
    let verify = json!({"request_id": request_id, "code": code});
    probe.expect("the code in ASCII digits after them", VERIFY, verify.to_string(), ACCEPTED).await;
    probe.finish().await;
}

/// Every JSON type, and a 10,000-character string, as raw JSON text with a name for the report.
fn every_type() -> [(&'static str, String); 10] {
    ["null", "true", "0", "-1", "1.5", r#""""#, r#""x""#, "[]", "{}"]
        .map(|raw| (raw, raw.to_owned()))
        .into_iter()
        .chain([("a 10,000-character string", json!("9".repeat(10_000)).to_string())])
        .collect::<Vec<_>>()
        .try_into()
        .expect("ten")
}

#[tokio::test]
async fn every_lightotp_field_as_every_json_type_gets_its_documented_answer() {
    let ctx = Ctx::new().await;
    let mut probe = Probe::new(&ctx).await;
    const REQUIRED: Want = bad("OTPCodeIsRequired");
    const TOO_LONG: Want = bad("OTPCodeLengthMustBeLessThanOrEqualTo8");
    const NO_PHONE: Want = bad("DestinationPhoneNumberIsRequired");
    const EMPTY: Want = bad("PhoneNumberCanNotBeEmpty");
    const INVALID: Want = bad("InvalidphoneNumber");
    const KEY: Want = bad("InvalidIdempotencyKey");
    const NO_ID: Want = bad("MessageIdIsRequired");
    const IB: Want = INVALID_BODY;
    // In the order of every_type(): null, true, 0, -1, 1.5, "", "x", [], {}, 10,000 characters. `null` counts as
    // absent; a wrong type is InvalidRequestBody; languageCode is never refused.
    let send: [(&str, [Want; 10]); 4] = [
        ("otpCode", [REQUIRED, IB, IB, IB, IB, REQUIRED, ACCEPTED, IB, IB, TOO_LONG]),
        ("toPhoneE164", [NO_PHONE, IB, IB, IB, IB, EMPTY, INVALID, IB, IB, INVALID]),
        ("languageCode", [ACCEPTED, IB, IB, IB, IB, ACCEPTED, ACCEPTED, IB, IB, ACCEPTED]),
        ("idempotencyKey", [ACCEPTED, IB, IB, IB, IB, KEY, KEY, IB, IB, KEY]),
    ];
    for (field, wants) in send {
        for ((name, raw), want) in every_type().into_iter().zip(wants) {
            let base = json!({"otpCode": "1234", "toPhoneE164": probe.phone()});
            probe.expect(&format!("{field} {name}"), SEND, with_raw(&base, field, &raw), want).await;
        }
    }
    let id = [NO_ID, IB, IB, IB, IB, NO_ID, NO_MESSAGE, IB, IB, NO_MESSAGE];
    for ((name, raw), want) in every_type().into_iter().zip(id) {
        probe.expect(&format!("id {name}"), CHECK, with_raw(&json!({}), "id", &raw), want).await;
    }
    probe.finish().await;
}

#[tokio::test]
async fn every_verify_api_field_as_every_json_type_gets_its_documented_answer() {
    let ctx = Ctx::new().await;
    let mut probe = Probe::new(&ctx).await;
    const REQUIRED: Want = bad("The receiver field is required.");
    const NO_REQUEST: Want = bad("The request_id field is required.");
    const NO_CODE: Want = bad("The code field is required.");
    const OK: Want = ACCEPTED;
    // Short names, so that a row fits on a line.
    const PH: Want = BAD_PHONE;
    const LA: Want = LANG;
    const LE: Want = LENGTH;
    const EX: Want = EXPIRATION;
    const SE: Want = SENDER;
    const PA: Want = PAYMENT;
    const NF: Want = NOT_FOUND;
    const WC: Want = WRONG_CODE;
    // In the order of every_type(): null, true, 0, -1, 1.5, "", "x", [], {}, 10,000 characters. `null` counts as
    // absent, so an optional field takes its default.
    let initiate: [(&str, [Want; 10]); 6] = [
        ("receiver", [REQUIRED, PH, PH, PH, PH, REQUIRED, PH, PH, PH, PH]),
        ("lang", [OK, LA, LA, LA, LA, LA, LA, LA, LA, LA]),
        ("length", [OK, LE, LE, LE, LE, LE, LE, LE, LE, LE]),
        ("expiration", [OK, EX, EX, EX, EX, EX, EX, EX, EX, EX]),
        ("sender", [OK, SE, SE, SE, SE, SE, OK, SE, SE, SE]),
        ("payment_type", [OK, PA, PA, PA, PA, PA, PA, PA, PA, PA]),
    ];
    for (field, wants) in initiate {
        for ((name, raw), want) in every_type().into_iter().zip(wants) {
            let base = json!({"receiver": probe.phone()});
            probe.expect(&format!("{field} {name}"), INITIATE, with_raw(&base, field, &raw), want).await;
        }
    }
    let request_id = [NO_REQUEST, NF, NF, NF, NF, NF, NF, NF, NF, NF];
    for ((name, raw), want) in every_type().into_iter().zip(request_id) {
        let base = json!({"request_id": "", "code": "1234"});
        probe.expect(&format!("request_id {name}"), VERIFY, with_raw(&base, "request_id", &raw), want).await;
    }
    // A code that is not a string is compared as its JSON text, so every type is a wrong code (counted: a fresh
    // request every 4 cases keeps each under the 5 attempts).
    let code = [NO_CODE, WC, WC, WC, WC, NO_CODE, WC, WC, WC, WC];
    let cases: Vec<_> = every_type().into_iter().zip(code).collect();
    for chunk in cases.chunks(4) {
        let (request_id, _) = probe.request().await;
        for ((name, raw), want) in chunk {
            let base = json!({"request_id": request_id, "code": "1234"});
            probe.expect(&format!("code {name}"), VERIFY, with_raw(&base, "code", raw), *want).await;
        }
    }
    probe.finish().await;
}
