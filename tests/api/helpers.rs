//! Test helpers: the stack's addresses, a fresh tenant per test, and HTTP calls that return status, headers and
//! the JSON body.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_config::{BehaviorVersion, Region};
use lightotp::domain::pricing::Credits;
use lightotp_admin::ops::{self, Admin};
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::{Barrier, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Tests that move the stack's clock hold it exclusively; every other test holds it shared (through its [`Ctx`]),
/// because a jump would break what it expects: a cooldown still running, a rate window still open, a message in
/// flight that a jumped sweep would take for stranded.
static CLOCK: RwLock<()> = RwLock::const_new(());

/// This test alone may move the clock: no other test runs meanwhile (see [`Ctx::exclusive`]).
async fn exclusive_clock() -> RwLockWriteGuard<'static, ()> {
    CLOCK.write().await
}

/// What a [`Ctx`] holds of the clock lock.
#[allow(dead_code)] // held for its Drop
enum ClockGuard {
    Shared(RwLockReadGuard<'static, ()>),
    Exclusive(RwLockWriteGuard<'static, ()>),
}

/// A random loopback address other than 127.0.0.1: each looks like its own client IP to the gateway.
pub fn random_loopback() -> IpAddr {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    IpAddr::V4(Ipv4Addr::new(127, 1 + bytes[0] % 250, 1 + bytes[1] % 250, 1 + bytes[2] % 250))
}

/// An HTTP client whose requests come from `ip`.
pub fn client_from(ip: IpAddr) -> reqwest::Client {
    reqwest::Client::builder().local_address(ip).build().expect("HTTP client")
}

/// A rate window of its own (a random loopback source, this minute) with room for `limit` requests, for tests that
/// reserve below the API.
pub fn rate_window(limit: u32) -> lightotp::domain::rate_limit::RateWindow {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    lightotp::domain::rate_limit::RateWindow::of(Some(&random_loopback().to_string()), now, limit)
}

/// `X-Hub-Signature-256` for `body`, signed as Meta signs, with the local stack's app secret.
pub fn meta_signature(body: &str) -> String {
    let mac = lightotp::domain::api_key::keyed_hash(b"local-app-secret", body.as_bytes());
    format!("sha256={}", mac.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// A status notification as Meta posts it: one entry, one change, carrying `statuses`.
pub fn meta_notification(statuses: serde_json::Value) -> String {
    serde_json::json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "statuses": statuses}}]}]})
    .to_string()
}

/// A fresh, valid Saudi mobile number, so that tests never meet each other's cooldowns.
pub fn fresh_sa_phone() -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 10_000_000;
    format!("+96655{n:07}")
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StackFile {
    api_url: String,
    aws_endpoint_url: String,
    whatsapp_url: String,
    logs_dir: PathBuf,
}

/// One test's view of the stack. Built per test: each `#[tokio::test]` has its own runtime, and connection pools
/// must not outlive the runtime that made them.
pub struct Ctx {
    pub api: String,
    pub whatsapp: String,
    pub aws: String,
    /// Where the stack's processes log (one file each).
    pub logs_dir: PathBuf,
    /// Clients from a few random source IPs, used in turn, so that a busy test stays under the per-IP limit.
    clients: Vec<reqwest::Client>,
    next: AtomicUsize,
    _clock: ClockGuard,
    pub http: reqwest::Client,
    pub admin: Admin,
}

/// A response: status, headers and body (JSON, or `Value::Null` when the body is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

/// A tenant made for one test: its own client, key, WhatsApp sender id (so the fake's records can be told apart)
/// and subscription.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub client_id: String,
    pub api_key: String,
    pub key_id: String,
    pub phone_number_id: String,
    pub email: String,
}

/// How to make a tenant.
pub struct TenantSpec<'a> {
    pub language: &'a str,
    pub templates: &'a [(&'a str, &'a str)],
    pub sender: bool,
    pub credits: Option<u64>,
    /// The client's SMS sender id (Verify API, SMS fallback); none by default.
    pub sms_sender: Option<&'a str>,
}

impl Default for TenantSpec<'_> {
    fn default() -> Self {
        Self {
            language: "en",
            templates: &[("otp_auth_en", "en"), ("otp_auth_ar", "ar")],
            sender: true,
            credits: Some(100),
            sms_sender: None,
        }
    }
}

async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    // The functions' own HTTPS client (compiled-in roots), so the suite runs the SDK exactly as they do.
    let http = lightotp::deps::aws_http_client().expect("the SDK's HTTPS client");
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await
}

fn stack_file() -> PathBuf {
    std::env::var("LIGHTOTP_STACK_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.lightotp/stack.json"))
}

impl Ctx {
    /// A test that does not move the clock (and must not see it move).
    pub async fn new() -> Self {
        Self::with_guard(ClockGuard::Shared(CLOCK.read().await)).await
    }

    /// A test that moves the clock: it runs alone.
    pub async fn exclusive() -> Self {
        Self::with_guard(ClockGuard::Exclusive(exclusive_clock().await)).await
    }

    async fn with_guard(clock: ClockGuard) -> Self {
        let path = stack_file();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("no stack at {} ({e}): run `cargo xtask up`, or `cargo xtask test` which starts one", path.display())
        });
        let stack: StackFile = serde_json::from_str(&text).expect("stack.json has apiUrl, awsEndpointUrl, whatsappUrl");
        let aws = sdk_config(&stack.aws_endpoint_url).await;
        Self {
            api: stack.api_url,
            whatsapp: stack.whatsapp_url,
            aws: stack.aws_endpoint_url.clone(),
            logs_dir: stack.logs_dir,
            clients: (0..4).map(|_| client_from(random_loopback())).collect(),
            next: AtomicUsize::new(0),
            _clock: clock,
            http: reqwest::Client::new(),
            admin: Admin::new(&aws, ops::DEFAULT_TABLE, ops::DEFAULT_PEPPER_SECRET, ops::DEFAULT_API_KEY_PREFIX),
        }
    }

    /// A Secrets Manager client on the stack's emulator.
    pub async fn secrets(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.sdk_config().await)
    }

    /// An SDK configuration pointing at the stack's emulator.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        sdk_config(&self.aws).await
    }

    /// The gateway's (movable) clock.
    pub async fn gateway_now(&self) -> OffsetDateTime {
        let body: Value = self
            .http
            .get(format!("{}/_local/clock", self.api))
            .send()
            .await
            .expect("clock")
            .json()
            .await
            .expect("clock json");
        lightotp::domain::time_format::parse_rfc3339(body["now"].as_str().expect("now")).expect("rfc3339")
    }

    pub async fn advance_clock(&self, seconds: f64) {
        let status = self
            .http
            .post(format!("{}/_local/clock/advance", self.api))
            .json(&serde_json::json!({ "seconds": seconds }))
            .send()
            .await
            .expect("advance")
            .status();
        assert!(status.is_success(), "advancing the clock answered {status}");
    }

    /// A tenant made from `spec`, with the SMS sender id `Acme` and the WhatsApp → SMS fallback on.
    pub async fn fallback_tenant(&self, spec: TenantSpec<'_>) -> Tenant {
        let tenant = self.tenant(TenantSpec { sms_sender: Some("Acme"), ..spec }).await;
        assert!(self.admin.set_fallback(&tenant.client_id, "sms").await.expect("fallback on"));
        tenant
    }

    pub async fn tenant(&self, spec: TenantSpec<'_>) -> Tenant {
        let now = OffsetDateTime::now_utc();
        let email = format!("client-{}@example.com", uuid::Uuid::new_v4().simple());
        let client =
            self.admin.create_client("Test client", &email, spec.language, spec.sms_sender).await.expect("client");
        let phone_number_id = format!("pn-{}", uuid::Uuid::new_v4().simple());
        if spec.sender {
            self.admin.assign_sender(&client.client_id, &phone_number_id, "+15550001111").await.expect("sender");
        }
        for (name, language) in spec.templates {
            self.admin.add_template(&client.client_id, name, language).await.expect("template");
        }
        if let Some(credits) = spec.credits {
            self.admin
                .grant_subscription(&client.client_id, Credits::new(credits), 10, now)
                .await
                .expect("subscription");
        }
        let key = self.admin.create_key(&client.client_id, None, now).await.expect("key");
        Tenant { client_id: client.client_id, api_key: key.api_key, key_id: key.key_id, phone_number_id, email }
    }

    /// A tenant with the defaults: en and ar templates, a sender, 100 credits.
    pub async fn default_tenant(&self) -> Tenant {
        self.tenant(TenantSpec::default()).await
    }

    /// POSTs `body` (sent as is) to `path` with `X-Api-Key` and JSON content type, plus `headers`.
    pub async fn post_raw(&self, path: &str, api_key: Option<&str>, body: &str, headers: &[(&str, &str)]) -> Reply {
        let client = &self.clients[self.next.fetch_add(1, Ordering::Relaxed) % self.clients.len()];
        self.post_from(client, path, api_key, body, headers).await
    }

    /// Like [`Self::post_raw`], from a given client (and so a given source IP).
    pub async fn post_from(
        &self,
        client: &reqwest::Client,
        path: &str,
        api_key: Option<&str>,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = client.post(format!("{}{path}", self.api)).body(body.to_owned());
        if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("content-type")) {
            request = request.header("content-type", "application/json");
        }
        if let Some(key) = api_key {
            request = request.header("x-api-key", key);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("the gateway answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        // Every answer of a documented operation must be what docs/openapi.yaml says it is.
        crate::contract::assert_documented(path, status, &body);
        Reply { status, headers, body }
    }

    pub async fn send(&self, tenant: &Tenant, body: Value) -> Reply {
        self.post_raw("/SendMessage", Some(&tenant.api_key), &body.to_string(), &[]).await
    }

    pub async fn check(&self, tenant: &Tenant, id: &str) -> Reply {
        let body = serde_json::json!({ "id": id }).to_string();
        self.post_raw("/CheckMessageStatus", Some(&tenant.api_key), &body, &[]).await
    }

    /// What the fake WhatsApp accepted from this tenant's sender, oldest first.
    pub async fn whatsapp_messages(&self, tenant: &Tenant) -> Vec<Value> {
        let all: Vec<Value> = self
            .http
            .get(format!("{}/_fake/messages", self.whatsapp))
            .send()
            .await
            .expect("fake whatsapp")
            .json()
            .await
            .expect("messages json");
        all.into_iter().filter(|m| m["phoneNumberId"] == tenant.phone_number_id.as_str()).collect()
    }

    /// Makes the next `count` sends through this tenant's sender fail as `plan` says.
    pub async fn whatsapp_fails_next(&self, tenant: &Tenant, count: u32, mut plan: Value) {
        plan["count"] = count.into();
        plan["phoneNumberId"] = tenant.phone_number_id.clone().into();
        let status = self
            .http
            .post(format!("{}/_fake/fail-next", self.whatsapp))
            .json(&plan)
            .send()
            .await
            .expect("fail-next")
            .status();
        assert!(status.is_success(), "fail-next answered {status}");
    }

    /// Emails the emulator's SES "sent" to this tenant.
    pub async fn emails_to(&self, tenant: &Tenant) -> Vec<Value> {
        let all: Vec<Value> = self
            .http
            .get(format!("{}/_local/emails", self.aws))
            .send()
            .await
            .expect("emulator")
            .json()
            .await
            .expect("emails json");
        all.into_iter()
            .filter(|e| e["to"].as_array().is_some_and(|to| to.iter().any(|a| a == tenant.email.as_str())))
            .collect()
    }

    /// Makes the emulator's SNS refuse the next SMS to `phone`, once.
    pub async fn sms_fails_next(&self, phone: &str) {
        let status = self
            .http
            .post(format!("{}/_local/sms/fail-next?phoneNumber={}", self.aws, phone.replace('+', "%2B")))
            .send()
            .await
            .expect("fail-next")
            .status();
        assert!(status.is_success(), "sms fail-next answered {status}");
    }

    /// SMS the emulator's SNS "sent" to `phone`, oldest first.
    pub async fn sms_to(&self, phone: &str) -> Vec<Value> {
        let all: Vec<Value> = self
            .http
            .get(format!("{}/_local/sms", self.aws))
            .send()
            .await
            .expect("emulator")
            .json()
            .await
            .expect("sms json");
        all.into_iter().filter(|sms| sms["phoneNumber"] == phone).collect()
    }

    /// The last SMS sent to `phone` and the Verify code in it (its first run of 4 or more digits).
    pub async fn last_code_sent_to(&self, phone: &str) -> (Value, String) {
        let sms = self.sms_to(phone).await.last().cloned().expect("an SMS");
        let text = sms["message"].as_str().expect("text");
        let code = text.split(|c: char| !c.is_ascii_digit()).find(|run| run.len() >= 4).expect("a code").to_owned();
        (sms, code)
    }

    /// POSTs a Verify API body with `Authorization: Bearer <api_key>`.
    pub async fn verify_api(&self, path: &str, api_key: &str, body: &Value) -> Reply {
        let bearer = format!("Bearer {api_key}");
        self.post_raw(path, None, &body.to_string(), &[("authorization", bearer.as_str())]).await
    }

    /// Asks the fake WhatsApp to post a signed status webhook, as Meta does; returns what our webhook answered.
    pub async fn whatsapp_status(&self, wamid: &str, status: &str, error: Option<Value>) -> u16 {
        let mut body = serde_json::json!({ "wamid": wamid, "status": status });
        if let Some(error) = error {
            body["error"] = error;
        }
        let reply: Value = self
            .http
            .post(format!("{}/_fake/status", self.whatsapp))
            .json(&body)
            .send()
            .await
            .expect("fake status")
            .json()
            .await
            .expect("fake status json");
        reply["webhookStatus"].as_u64().and_then(|s| u16::try_from(s).ok()).unwrap_or(0)
    }

    /// The WhatsApp id the fake gave this tenant's latest accepted send.
    pub async fn last_wamid(&self, tenant: &Tenant) -> String {
        let sent = self.whatsapp_messages(tenant).await;
        sent.last().and_then(|m| m["wamid"].as_str()).expect("a send with a wamid").to_owned()
    }

    /// Runs the stack's sweep now.
    pub async fn sweep(&self) -> u64 {
        let reply: Value = self
            .http
            .post(format!("{}/_local/sweep", self.api))
            .send()
            .await
            .expect("sweep")
            .json()
            .await
            .expect("json");
        reply["swept"].as_u64().expect("swept count")
    }

    /// The tenant's subscription balances, newest first.
    pub async fn balances(&self, tenant: &Tenant) -> Vec<(u64, &'static str)> {
        self.admin
            .subscriptions(&tenant.client_id)
            .await
            .expect("subscriptions")
            .iter()
            .map(|s| (s.balance.get(), s.state))
            .collect()
    }

    /// The tenant's stored messages as (status, failureCode, failureTitle), read from the table itself: for
    /// answers that carry no message id.
    pub async fn stored_messages(&self, tenant: &Tenant) -> Vec<(String, Option<String>, Option<String>)> {
        use aws_sdk_dynamodb::types::AttributeValue;
        use lightotp::store::schema::{attr, key};
        let dynamodb = aws_sdk_dynamodb::Client::new(&self.sdk_config().await);
        let found = dynamodb
            .query()
            .table_name(ops::DEFAULT_TABLE)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :msg)")
            .expression_attribute_names("#pk", lightotp::store::schema::PK)
            .expression_attribute_names("#sk", lightotp::store::schema::SK)
            .expression_attribute_values(":pk", AttributeValue::S(key::client(&tenant.client_id)))
            .expression_attribute_values(":msg", AttributeValue::S(key::message("")))
            .consistent_read(true)
            .send()
            .await
            .expect("query the tenant's messages");
        let text = |item: &std::collections::HashMap<String, AttributeValue>, name: &str| {
            item.get(name).and_then(|v| v.as_s().or_else(|_| v.as_n()).ok()).cloned()
        };
        found
            .items()
            .iter()
            .map(|item| {
                (
                    text(item, attr::STATUS).unwrap_or_default(),
                    text(item, attr::FAILURE_CODE),
                    text(item, attr::FAILURE_TITLE),
                )
            })
            .collect()
    }
}

/// WhatsApp's error for a recipient it cannot deliver to, as a `failed` status webhook carries it.
pub fn undeliverable() -> Value {
    serde_json::json!({"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable", "details": "Recipient is not on WhatsApp"})
}

/// The same refusal as the Graph API answers a send with it (a plan for `whatsapp_fails_next`).
pub fn refused_as_undeliverable() -> Value {
    serde_json::json!({"httpStatus": 400, "code": 131026, "title": "Message undeliverable", "message": "(#131026) Message undeliverable"})
}

/// A body for SendMessage with the defaults filled in.
pub fn otp(code: &str, phone: &str) -> Value {
    serde_json::json!({ "otpCode": code, "toPhoneE164": phone })
}

/// The demo number: Saudi Arabia, which no test prices, so it costs 1 credit.
pub const SA_PHONE: &str = "+966551234567";

/// Runs `count` requests at once, the way a race test needs them: each on its own task, all waiting at one barrier
/// before they start, so they reach the stack together. The answers come back in the order of `i`.
pub async fn race<T, F>(count: usize, request: impl Fn(usize) -> F) -> Vec<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let barrier = Arc::new(Barrier::new(count));
    let racers: Vec<_> = (0..count)
        .map(|i| {
            let (barrier, request) = (Arc::clone(&barrier), request(i));
            tokio::spawn(async move {
                barrier.wait().await;
                request.await
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(count);
    for racer in racers {
        answers.push(racer.await.expect("racer"));
    }
    answers
}
