//! Client webhooks against the local stack (docs/webhooks.md): a receiver on loopback per test, events made by the
//! real API calls and WhatsApp's (fake) status webhooks, delivered by the stack's delivery passes through the
//! emulator's stream and queue.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use lightotp::domain::client_webhook::AddressPolicy;
use lightotp::domain::pricing::Credits;
use lightotp::usecase::console::webhooks::NewSecret;
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::helpers::{Ctx, Tenant, fresh_sa_phone, otp};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: i64,
    signature: String,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    fn event_type(&self) -> String {
        self.json()["type"].as_str().unwrap_or_default().to_owned()
    }

    /// Whether one of the `webhook-signature` entries is the Standard Webhooks signature under `secret`.
    fn signed_by(&self, secret: &str) -> bool {
        let signer = standardwebhooks::Webhook::new(secret).expect("a whsec_ secret");
        let expected = signer.sign(&self.id, self.timestamp, self.body.as_bytes()).expect("sign");
        self.signature.split(' ').any(|s| s == expected)
    }
}

#[derive(Default)]
struct ReceiverState {
    received: Vec<Received>,
    /// Statuses to answer, in order; 200 once they run out.
    answers: VecDeque<u16>,
    /// Requests being held (not yet answered).
    holding: usize,
}

/// A client's endpoint on loopback that records every delivery.
#[derive(Clone)]
pub(crate) struct Receiver {
    pub(crate) url: String,
    state: Arc<Mutex<ReceiverState>>,
    /// When set, every request waits for it before answering.
    hold: Arc<Mutex<Option<Arc<Notify>>>>,
}

impl Receiver {
    pub(crate) async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address: SocketAddr = listener.local_addr().expect("address");
        let receiver = Self {
            url: format!("http://{address}/hooks"),
            state: Arc::new(Mutex::new(ReceiverState::default())),
            hold: Arc::new(Mutex::new(None)),
        };
        let app = axum::Router::new().route("/hooks", axum::routing::post(record)).with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        receiver
    }

    fn answer_with(&self, statuses: &[u16]) {
        self.state.lock().expect("state").answers.extend(statuses);
    }

    fn received(&self) -> Vec<Received> {
        self.state.lock().expect("state").received.clone()
    }

    fn holding(&self) -> usize {
        self.state.lock().expect("state").holding
    }
}

async fn record(
    axum::extract::State(receiver): axum::extract::State<Receiver>,
    headers: HeaderMap,
    body: String,
) -> axum::http::StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let status = {
        let mut state = receiver.state.lock().expect("state");
        state.received.push(Received {
            id: header("webhook-id"),
            timestamp: header("webhook-timestamp").parse().unwrap_or_default(),
            signature: header("webhook-signature"),
            body,
        });
        state.answers.pop_front().unwrap_or(200)
    };
    let hold = receiver.hold.lock().expect("hold").clone();
    if let Some(release) = hold {
        receiver.state.lock().expect("state").holding += 1;
        release.notified().await;
        receiver.state.lock().expect("state").holding -= 1;
    }
    axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::OK)
}

impl Ctx {
    /// Delivers everything due now (the stack also does every 2 s).
    async fn deliver_webhooks(&self) -> Value {
        let reply = self.http.post(format!("{}/_local/webhooks/deliver", self.api)).send().await.expect("deliver");
        assert!(reply.status().is_success(), "deliver answered {}", reply.status());
        reply.json().await.expect("deliver json")
    }

    /// Adds an endpoint for the tenant at the receiver, for `events` (all when empty).
    async fn endpoint(&self, tenant: &Tenant, receiver: &Receiver, events: &[&str]) -> NewSecret {
        let events: Vec<String> = events.iter().map(|e| (*e).to_owned()).collect();
        self.admin
            .clone()
            .with_webhook_policy(AddressPolicy::AllowLoopback)
            .add_webhook(&tenant.client_id, &receiver.url, &events, time::OffsetDateTime::now_utc())
            .await
            .expect("endpoint added")
    }

    /// Sends an OTP and has WhatsApp report `statuses` for it, in order; returns the message id.
    async fn message_through(&self, tenant: &Tenant, statuses: &[&str]) -> String {
        let sent = self.send(tenant, otp("482913", &fresh_sa_phone())).await;
        assert_eq!(sent.status, 200, "{:?}", sent.body);
        let wamid = self.last_wamid(tenant).await;
        for status in statuses {
            assert_eq!(self.whatsapp_status(&wamid, status, None).await, 200);
        }
        sent.body["id"].as_str().expect("id").to_owned()
    }
}

/// Runs delivery passes until `receiver` has at least `count` requests (or 20 s pass): the events may be read by
/// the stack's own pass as well as ours.
async fn wait_for(ctx: &Ctx, receiver: &Receiver, count: usize) -> Vec<Received> {
    for _ in 0..40 {
        if receiver.received().len() >= count {
            break;
        }
        ctx.deliver_webhooks().await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    receiver.received()
}

/// Two more passes, so anything that would still come has come.
async fn settle(ctx: &Ctx) {
    for _ in 0..2 {
        ctx.deliver_webhooks().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn each_message_event_arrives_once_signed_with_the_check_status_body_and_its_sequence() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    let receiver = Receiver::start().await;
    let endpoint = ctx.endpoint(&tenant, &receiver, &[]).await;
    assert!(endpoint.signing_secret.starts_with("whsec_"));

    let read = ctx.message_through(&tenant, &["sent", "delivered", "read"]).await;
    let failed = ctx.message_through(&tenant, &[]).await;
    let wamid = ctx.last_wamid(&tenant).await;
    let error = json!({"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable", "details": "Recipient is not on WhatsApp"});
    assert_eq!(ctx.whatsapp_status(&wamid, "failed", Some(error)).await, 200);
    let deleted = ctx.message_through(&tenant, &["sent"]).await;
    assert!(
        ctx.admin
            .delete_message(Some(&tenant.client_id), &deleted, time::OffsetDateTime::now_utc())
            .await
            .expect("delete")
    );

    let received = wait_for(&ctx, &receiver, 6).await;
    settle(&ctx).await;
    let received = if receiver.received().len() > received.len() { receiver.received() } else { received };
    let mut kinds: Vec<(String, String)> = received
        .iter()
        .map(|r| (r.json()["data"]["id"].as_str().unwrap_or_default().to_owned(), r.event_type()))
        .collect();
    kinds.sort();
    let mut expected = vec![
        (read.clone(), "message.sent".to_owned()),
        (read.clone(), "message.delivered".to_owned()),
        (read.clone(), "message.read".to_owned()),
        (failed.clone(), "message.failed".to_owned()),
        (deleted.clone(), "message.sent".to_owned()),
        (deleted.clone(), "message.deleted".to_owned()),
    ];
    expected.sort();
    assert_eq!(kinds, expected, "each change once, nothing else");
    for delivery in &received {
        assert!(delivery.signed_by(&endpoint.signing_secret), "signed: {delivery:?}");
        assert!(delivery.id.starts_with("evt_msg_"), "{}", delivery.id);
        let body = delivery.json();
        assert_eq!(body.as_object().map(|o| o.len()), Some(3), "type, timestamp, data: {body}");
        assert!(lightotp::domain::time_format::parse_rfc3339(body["timestamp"].as_str().unwrap_or_default()).is_some());
    }
    // `data` is CheckMessageStatus's body at that moment, plus `sequence`.
    let last_of = |id: &str, kind: &str| {
        received.iter().find(|r| r.json()["data"]["id"] == id && r.event_type() == kind).expect("event").json()
    };
    for (id, kind, sequence) in
        [(&read, "message.read", 3), (&failed, "message.failed", 3), (&deleted, "message.deleted", 4)]
    {
        let mut data = last_of(id, kind)["data"].clone();
        assert_eq!(data["sequence"], sequence, "{kind}");
        data.as_object_mut().expect("object").remove("sequence");
        let check = ctx.check(&tenant, id).await;
        assert_eq!(data, check.body, "{kind}");
    }
    let sequences: Vec<u64> = ["message.sent", "message.delivered", "message.read"]
        .iter()
        .map(|kind| last_of(&read, kind)["data"]["sequence"].as_u64().expect("sequence"))
        .collect();
    assert_eq!(sequences, [1, 2, 3]);
    assert_eq!(last_of(&failed, "message.failed")["data"]["failureCode"], 131026);
}

#[tokio::test]
async fn verify_requests_push_otp_verified_and_otp_failed_to_the_endpoints_that_want_them() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    ctx.admin.top_up_wallet(&tenant.client_id, Credits::new(20)).await.expect("top up");
    let all = Receiver::start().await;
    let otp_only = Receiver::start().await;
    let messages_only = Receiver::start().await;
    ctx.endpoint(&tenant, &all, &[]).await;
    ctx.endpoint(&tenant, &otp_only, &["otp.verified", "otp.failed"]).await;
    ctx.endpoint(&tenant, &messages_only, &["message.sent", "message.delivered"]).await;

    let initiate = |receiver: String| {
        let ctx = &ctx;
        let tenant = &tenant;
        async move {
            let reply = ctx
                .verify_api("/api/otp/initiate", &tenant.api_key, &json!({"receiver": receiver, "sender": "Acme"}))
                .await;
            assert_eq!(reply.status, 200, "{:?}", reply.body);
            let request_id = reply.body["request_id"].as_str().expect("request_id").to_owned();
            let (_, code) = ctx.last_code_sent_to(&receiver).await;
            (request_id, code)
        }
    };
    let verified_phone = fresh_sa_phone();
    let (verified, code) = initiate(verified_phone.clone()).await;
    let ok = ctx.verify_api("/api/otp/verify", &tenant.api_key, &json!({"request_id": verified, "code": code})).await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    let failed_phone = fresh_sa_phone();
    let (ran_out, right) = initiate(failed_phone.clone()).await;
    let wrong: String = right.chars().map(|c| if c == '0' { '1' } else { '0' }).collect();
    for _ in 0..lightotp::domain::verification::MAX_ATTEMPTS {
        let reply =
            ctx.verify_api("/api/otp/verify", &tenant.api_key, &json!({"request_id": ran_out, "code": wrong})).await;
        assert_ne!(reply.status, 200, "{:?}", reply.body);
    }

    // An SMS that SNS refuses: the request fails (and is refunded).
    let unsent_phone = fresh_sa_phone();
    ctx.sms_fails_next(&unsent_phone).await;
    let unsent = ctx
        .verify_api("/api/otp/initiate", &tenant.api_key, &json!({"receiver": unsent_phone, "sender": "Acme"}))
        .await;
    assert_ne!(unsent.status, 200, "{:?}", unsent.body);

    let got = wait_for(&ctx, &otp_only, 3).await;
    wait_for(&ctx, &all, 3).await;
    settle(&ctx).await;
    let unsent_event = got
        .iter()
        .find(|r| r.json()["data"]["receiver"] == unsent_phone.as_str())
        .expect("an event for the SMS that was not sent")
        .json();
    assert_eq!((&unsent_event["type"], &unsent_event["data"]["status"]), (&json!("otp.failed"), &json!("failed")));
    let mut events: Vec<(String, String)> = otp_only
        .received()
        .iter()
        .filter(|r| r.json()["data"]["receiver"] != unsent_phone.as_str())
        .map(|r| (r.event_type(), r.json()["data"]["request_id"].as_str().unwrap_or_default().to_owned()))
        .collect();
    events.sort();
    assert_eq!(events, [("otp.failed".to_owned(), ran_out.clone()), ("otp.verified".to_owned(), verified.clone())]);
    assert_eq!(otp_only.received().len(), 3, "one event per request");
    let verified_event = got.iter().find(|r| r.event_type() == "otp.verified").expect("verified").json();
    let data = &verified_event["data"];
    assert_eq!(data.as_object().map(|o| o.len()), Some(4), "{data}");
    assert_eq!((&data["status"], &data["receiver"]), (&json!("verified"), &json!(verified_phone)));
    assert_eq!(data["occurredAt"], verified_event["timestamp"]);
    let failed_event = otp_only.received().into_iter().find(|r| r.event_type() == "otp.failed").expect("failed").json();
    assert_eq!(
        (&failed_event["data"]["status"], &failed_event["data"]["receiver"]),
        (&json!("failed"), &json!(failed_phone))
    );
    assert_eq!(all.received().len(), 3, "the endpoint for every event gets the same three");
    assert!(messages_only.received().is_empty(), "an endpoint gets only the events it wants");
}

#[tokio::test]
async fn duplicated_and_reordered_whatsapp_webhooks_make_one_event_per_change_with_increasing_sequence() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    let receiver = Receiver::start().await;
    ctx.endpoint(&tenant, &receiver, &[]).await;
    let id =
        ctx.message_through(&tenant, &["sent", "sent", "delivered", "sent", "read", "delivered", "read", "sent"]).await;
    wait_for(&ctx, &receiver, 3).await;
    settle(&ctx).await;
    let received = receiver.received();
    let mut seen: Vec<(u64, String)> =
        received.iter().map(|r| (r.json()["data"]["sequence"].as_u64().unwrap_or_default(), r.event_type())).collect();
    seen.sort();
    assert_eq!(
        seen,
        [(1, "message.sent".to_owned()), (2, "message.delivered".to_owned()), (3, "message.read".to_owned())],
        "one event per status change: {received:?}"
    );
    assert!(received.iter().all(|r| r.json()["data"]["id"] == id.as_str()));
    let ids: std::collections::HashSet<&str> = received.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), 3, "each event its own webhook-id");
}

#[tokio::test]
async fn an_endpoint_of_one_client_never_receives_another_clients_events() {
    let ctx = Ctx::new().await;
    let (a, b) = (ctx.default_tenant().await, ctx.default_tenant().await);
    let (to_a, to_b) = (Receiver::start().await, Receiver::start().await);
    ctx.endpoint(&a, &to_a, &[]).await;
    ctx.endpoint(&b, &to_b, &[]).await;
    let of_a = ctx.message_through(&a, &["delivered"]).await;
    let of_b = ctx.message_through(&b, &["read"]).await;
    wait_for(&ctx, &to_a, 1).await;
    wait_for(&ctx, &to_b, 1).await;
    settle(&ctx).await;
    let ids = |r: &Receiver| {
        r.received().iter().map(|d| d.json()["data"]["id"].as_str().unwrap_or_default().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(ids(&to_a), [of_a]);
    assert_eq!(ids(&to_b), [of_b]);
}

#[tokio::test]
async fn a_failed_attempt_comes_again_with_the_same_webhook_id_after_its_delay_and_a_2xx_ends_the_retries() {
    let ctx = Ctx::exclusive().await;
    let tenant = ctx.default_tenant().await;
    let receiver = Receiver::start().await;
    ctx.endpoint(&tenant, &receiver, &["message.delivered"]).await;
    // A 500, then a timeout (the test stack gives an endpoint 2 s), then a 200.
    receiver.answer_with(&[500]);
    ctx.message_through(&tenant, &["delivered"]).await;
    let first = wait_for(&ctx, &receiver, 1).await;
    assert_eq!(first.len(), 1);

    let release = Arc::new(Notify::new());
    *receiver.hold.lock().expect("hold") = Some(Arc::clone(&release));
    ctx.advance_clock(61.0).await;
    let second = wait_for(&ctx, &receiver, 2).await;
    assert_eq!(second[1].id, first[0].id, "the same event again");
    assert_eq!(second[1].body, first[0].body, "byte for byte");
    // The held attempt times out on our side; let it go.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    release.notify_waiters();
    *receiver.hold.lock().expect("hold") = None;

    ctx.advance_clock(5.0 * 60.0 + 1.0).await;
    let third = wait_for(&ctx, &receiver, 3).await;
    assert_eq!(third[2].id, first[0].id);
    ctx.advance_clock(24.0 * 3600.0).await;
    settle(&ctx).await;
    assert_eq!(receiver.received().len(), 3, "a 2xx ends the retries");
    let log = ctx.admin.webhook_attempts(&tenant.client_id, &endpoint_of(&ctx, &tenant).await, 10).await.expect("log");
    let statuses: Vec<(u32, Option<u16>, bool)> =
        log.iter().rev().map(|a| (a.attempt, a.http_status, a.error.is_some())).collect();
    assert_eq!(statuses, [(1, Some(500), false), (2, None, true), (3, Some(200), false)], "{log:?}");
}

async fn endpoint_of(ctx: &Ctx, tenant: &Tenant) -> String {
    ctx.admin.webhooks(&tenant.client_id).await.expect("endpoints")[0].endpoint_id.clone()
}

#[tokio::test]
async fn after_the_last_attempt_the_delivery_is_failed_and_the_dead_letter_queue_holds_it() {
    let ctx = Ctx::exclusive().await;
    let tenant = ctx.default_tenant().await;
    let receiver = Receiver::start().await;
    ctx.endpoint(&tenant, &receiver, &[]).await;
    receiver.answer_with(&[503; 20]);
    let failed = |sums: &std::collections::BTreeMap<String, (f64, u64)>| {
        sums.get("WebhookAttempts{Outcome=Failed}").map_or(0.0, |(sum, _)| *sum)
    };
    let failed_before = failed(&crate::metrics::read(&ctx).await);
    ctx.message_through(&tenant, &["read"]).await;
    let endpoint = endpoint_of(&ctx, &tenant).await;
    for attempt in 1..=8usize {
        let got = wait_for(&ctx, &receiver, attempt).await;
        assert_eq!(got.len(), attempt, "attempt {attempt}");
        ctx.advance_clock(10.0 * 3600.0 + 1.0).await;
    }
    settle(&ctx).await;
    assert_eq!(receiver.received().len(), 8, "eight attempts, no ninth");
    assert!(receiver.received().iter().all(|r| r.id == receiver.received()[0].id));
    let deliveries = ctx.admin.store.deliveries(&tenant.client_id, &endpoint, None, 10).await.expect("deliveries");
    assert_eq!(deliveries.len(), 1);
    assert_eq!((deliveries[0].state.as_str(), deliveries[0].attempts), ("failed", 8));
    // At least this one: moving the clock also brings other tests' failing endpoints to their last attempt.
    assert!(failed(&crate::metrics::read(&ctx).await) >= failed_before + 1.0, "the last attempt counts as Failed");
    // The dead-letter queue names it.
    let sqs = aws_sdk_sqs::Client::new(&ctx.sdk_config().await);
    let url = sqs.get_queue_url().queue_name("lightotp-webhooks-dead-letter").send().await.expect("dlq url");
    let mut found = false;
    for _ in 0..20 {
        let out = sqs
            .receive_message()
            .queue_url(url.queue_url().unwrap_or_default())
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .send()
            .await
            .expect("receive");
        if out.messages().iter().any(|m| m.body().unwrap_or_default().contains(&endpoint)) {
            found = true;
            break;
        }
        if out.messages().is_empty() {
            break;
        }
    }
    assert!(found, "the dead-letter queue holds the failed delivery");
}

#[tokio::test]
async fn a_change_whose_delivery_function_died_before_enqueueing_is_delivered_once_its_lease_ends() {
    let ctx = Ctx::exclusive().await;
    let tenant = ctx.default_tenant().await;
    let receiver = Receiver::start().await;
    ctx.endpoint(&tenant, &receiver, &[]).await;
    let armed = ctx.http.post(format!("{}/_local/webhooks/crash-next", ctx.api)).send().await.expect("crash-next");
    assert!(armed.status().is_success());
    ctx.message_through(&tenant, &["delivered"]).await;
    settle(&ctx).await;
    assert!(receiver.received().is_empty(), "the function died: nothing was sent yet");
    ctx.advance_clock(5.0 * 60.0 + 1.0).await;
    let got = wait_for(&ctx, &receiver, 1).await;
    settle(&ctx).await;
    assert_eq!(got.len(), 1);
    assert_eq!(receiver.received().len(), 1, "delivered once");
    assert_eq!(got[0].event_type(), "message.delivered");
}

#[tokio::test]
async fn urls_to_private_or_metadata_addresses_are_refused_when_added_and_when_delivered() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    let admin = ctx.admin.clone().with_webhook_policy(AddressPolicy::AllowLoopback);
    let now = time::OffsetDateTime::now_utc();
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "https://10.0.0.8/hooks",
        "https://192.168.1.20/hooks",
        "https://[fd00:ec2::254]/",
        "ftp://127.0.0.1/",
        "https://user:pw@127.0.0.1/",
        "http://2852039166/",
    ] {
        let refused = admin.add_webhook(&tenant.client_id, url, &[], now).await;
        assert!(refused.is_err(), "{url} was accepted");
    }
    let deployed = ctx.admin.clone().with_webhook_policy(AddressPolicy::PublicOnly);
    for url in ["http://127.0.0.1:4700/", "https://localhost/", "https://127.0.0.1/"] {
        assert!(deployed.add_webhook(&tenant.client_id, url, &[], now).await.is_err(), "{url} accepted when deployed");
    }
    assert!(ctx.admin.webhooks(&tenant.client_id).await.expect("list").is_empty());

    // An endpoint whose address became forbidden after it was added (its URL changed in the table, as a changed
    // DNS answer would change where it points) is never connected to: the attempt is logged with why.
    let added = admin.add_webhook(&tenant.client_id, "http://127.0.0.1:9/hooks", &[], now).await.expect("added");
    let moved = ctx
        .admin
        .store
        .client()
        .update_item()
        .table_name("lightotp")
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("CLIENT#{}", tenant.client_id)))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S(format!("WEBHOOK#{}", added.endpoint_id)))
        .update_expression("SET #url = :private")
        .expression_attribute_names("#url", "url")
        .expression_attribute_values(
            ":private",
            aws_sdk_dynamodb::types::AttributeValue::S("http://10.255.255.1/hooks".into()),
        )
        .send()
        .await;
    assert!(moved.is_ok(), "{moved:?}");
    let endpoint = added;
    ctx.message_through(&tenant, &["delivered"]).await;
    let mut log = Vec::new();
    for _ in 0..40 {
        ctx.deliver_webhooks().await;
        log = ctx.admin.webhook_attempts(&tenant.client_id, &endpoint.endpoint_id, 5).await.expect("log");
        if !log.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].http_status, None);
    assert!(log[0].error.as_deref().unwrap_or_default().contains("loopback, private"), "{:?}", log[0].error);
}

#[tokio::test]
async fn an_event_is_redelivered_with_its_webhook_id_and_a_rotation_signs_with_both_secrets() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    let receiver = Receiver::start().await;
    let first_secret = ctx.endpoint(&tenant, &receiver, &[]).await;
    ctx.message_through(&tenant, &["delivered"]).await;
    let first = wait_for(&ctx, &receiver, 1).await;
    let endpoint = first_secret.endpoint_id.clone();
    // The stack's clock: the previous secret signs for 24 hours of it (other tests may have moved it).
    let now = ctx.gateway_now().await;

    let scheduled = ctx
        .admin
        .redeliver_webhooks(&tenant.client_id, &endpoint, Some(&first[0].id), None, now)
        .await
        .expect("redeliver");
    assert_eq!((scheduled.scheduled, scheduled.more_from), (1, None));
    let again = wait_for(&ctx, &receiver, 2).await;
    assert_eq!((again[1].id.as_str(), again[1].body.as_str()), (first[0].id.as_str(), first[0].body.as_str()));

    let rotated = ctx.admin.rotate_webhook_secret(&tenant.client_id, &endpoint, now).await.expect("rotate");
    assert_ne!(rotated.signing_secret, first_secret.signing_secret);
    assert!(rotated.previous_secret_until.is_some());
    ctx.message_through(&tenant, &["read"]).await;
    let after = wait_for(&ctx, &receiver, 3).await;
    let signed = &after[2];
    assert_eq!(signed.signature.split(' ').count(), 2, "{}", signed.signature);
    assert!(signed.signed_by(&rotated.signing_secret) && signed.signed_by(&first_secret.signing_secret));
    // A second rotation at once (a double click): the secret the client deployed first still signs.
    let again_rotated = ctx.admin.rotate_webhook_secret(&tenant.client_id, &endpoint, now).await.expect("rotate");
    ctx.message_through(&tenant, &["sent"]).await;
    let after = wait_for(&ctx, &receiver, 4).await;
    let signed = &after[3];
    assert_eq!(signed.signature.split(' ').count(), 3, "{}", signed.signature);
    for secret in [&again_rotated.signing_secret, &rotated.signing_secret, &first_secret.signing_secret] {
        assert!(signed.signed_by(secret), "not signed by every secret of the last 24 hours");
    }

    // Everything since a time: the three events again.
    let since = lightotp::domain::time_format::rfc3339_millis(now - time::Duration::hours(1));
    let scheduled = ctx
        .admin
        .redeliver_webhooks(&tenant.client_id, &endpoint, None, Some(&since), now)
        .await
        .expect("redeliver since");
    assert_eq!((scheduled.scheduled, scheduled.more_from), (3, None));
    let all = wait_for(&ctx, &receiver, 7).await;
    assert_eq!(all.len(), 7);
    // A disabled endpoint gets nothing, and redelivering to it is refused.
    ctx.admin.set_webhook_enabled(&tenant.client_id, &endpoint, false).await.expect("disable");
    assert!(ctx.admin.redeliver_webhooks(&tenant.client_id, &endpoint, None, Some(&since), now).await.is_err());
    ctx.message_through(&tenant, &["sent"]).await;
    settle(&ctx).await;
    assert_eq!(receiver.received().len(), 7, "a disabled endpoint gets no new event");
}

#[tokio::test]
async fn an_endpoint_that_never_answers_does_not_hold_up_another_clients_deliveries() {
    let ctx = Ctx::new().await;
    let (slow_client, other_client) = (ctx.default_tenant().await, ctx.default_tenant().await);
    let (slow, other) = (Receiver::start().await, Receiver::start().await);
    let release = Arc::new(Notify::new());
    *slow.hold.lock().expect("hold") = Some(Arc::clone(&release));
    ctx.endpoint(&slow_client, &slow, &[]).await;
    ctx.endpoint(&other_client, &other, &[]).await;
    ctx.message_through(&slow_client, &["delivered"]).await;
    ctx.message_through(&other_client, &["delivered"]).await;
    let delivering = {
        let api = ctx.api.clone();
        tokio::spawn(async move { reqwest::Client::new().post(format!("{api}/_local/webhooks/deliver")).send().await })
    };
    // The other endpoint gets its event while the slow one still holds its request open.
    let mut overlapped = false;
    for _ in 0..100 {
        if !other.received().is_empty() {
            overlapped = slow.holding() == 1 || slow.received().is_empty();
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    release.notify_waiters();
    *slow.hold.lock().expect("hold") = None;
    let _ = delivering.await;
    assert_eq!(other.received().len(), 1, "the other endpoint got its event");
    assert!(overlapped, "it came while the slow endpoint was still being waited on");
}

#[tokio::test]
async fn an_endpoint_that_fails_every_delivery_for_five_days_is_disabled_and_its_client_emailed_once() {
    let ctx = Ctx::exclusive().await;
    let tenant = ctx.default_tenant().await;
    let receiver = Receiver::start().await;
    receiver.answer_with(&[500; 50]);
    ctx.endpoint(&tenant, &receiver, &[]).await;
    ctx.message_through(&tenant, &["delivered"]).await;
    wait_for(&ctx, &receiver, 1).await;
    let endpoint = endpoint_of(&ctx, &tenant).await;
    let listed = ctx.admin.webhooks(&tenant.client_id).await.expect("list");
    assert!(listed[0].failing_since.is_some(), "the first failure starts the streak");
    assert_eq!(listed[0].state, "enabled");

    // Four days on, still failing: still enabled.
    ctx.advance_clock(4.0 * 24.0 * 3600.0).await;
    let before = receiver.received().len();
    wait_for(&ctx, &receiver, before + 1).await;
    assert_eq!(ctx.admin.webhooks(&tenant.client_id).await.expect("list")[0].state, "enabled");
    // Past five days: the next failure disables it, and the client hears of it once.
    ctx.advance_clock(24.0 * 3600.0 + 60.0).await;
    let before = receiver.received().len();
    wait_for(&ctx, &receiver, before + 1).await;
    settle(&ctx).await;
    let listed = ctx.admin.webhooks(&tenant.client_id).await.expect("list");
    assert_eq!((listed[0].state, listed[0].disabled_reason.as_deref()), ("disabled", Some("failing")));
    let emails: Vec<Value> = ctx
        .emails_to(&tenant)
        .await
        .into_iter()
        .filter(|e| e["subject"].as_str().is_some_and(|s| s.contains("webhook endpoint was disabled")))
        .collect();
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert!(emails[0]["body"].as_str().is_some_and(|b| b.contains(&receiver.url)));
    // Disabled: no more attempts, even when retries come due.
    let attempts = receiver.received().len();
    ctx.advance_clock(11.0 * 3600.0).await;
    settle(&ctx).await;
    assert_eq!(receiver.received().len(), attempts);
    // Enabled again, the streak is forgotten.
    ctx.admin.set_webhook_enabled(&tenant.client_id, &endpoint, true).await.expect("enable");
    let listed = ctx.admin.webhooks(&tenant.client_id).await.expect("list");
    assert_eq!((listed[0].state, listed[0].failing_since.as_deref()), ("enabled", None));
}

#[tokio::test]
async fn twelve_endpoints_added_at_once_make_ten_and_a_deleted_one_frees_its_place() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    let admin = ctx.admin.clone().with_webhook_policy(AddressPolicy::AllowLoopback);
    let added = crate::helpers::race(12, |i| {
        let (admin, client) = (admin.clone(), tenant.client_id.clone());
        async move {
            admin
                .add_webhook(&client, &format!("http://127.0.0.1:9/hooks/{i}"), &[], time::OffsetDateTime::now_utc())
                .await
        }
    })
    .await;
    let made: Vec<&NewSecret> = added.iter().filter_map(|a| a.as_ref().ok()).collect();
    assert_eq!(made.len(), 10, "{added:?}");
    assert_eq!(ctx.admin.webhooks(&tenant.client_id).await.expect("list").len(), 10);

    let refused =
        admin.add_webhook(&tenant.client_id, "http://127.0.0.1:9/more", &[], time::OffsetDateTime::now_utc()).await;
    assert!(refused.is_err(), "an eleventh is refused");
    ctx.admin.delete_webhook(&tenant.client_id, &made[0].endpoint_id).await.expect("delete");
    assert!(ctx.admin.delete_webhook(&tenant.client_id, &made[0].endpoint_id).await.is_err(), "deleted once");
    admin
        .add_webhook(&tenant.client_id, "http://127.0.0.1:9/more", &[], time::OffsetDateTime::now_utc())
        .await
        .expect("a deleted endpoint's place is free again");
    assert_eq!(ctx.admin.webhooks(&tenant.client_id).await.expect("list").len(), 10);
}

#[tokio::test]
async fn a_message_that_falls_back_to_sms_pushes_the_sms_legs_sent_or_failed_with_its_channel() {
    let ctx = Ctx::new().await;
    let tenant = ctx.fallback_tenant(crate::helpers::TenantSpec::default()).await;
    let receiver = Receiver::start().await;
    ctx.endpoint(&tenant, &receiver, &[]).await;
    let undeliverable = json!({"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable"});

    // By webhook: WhatsApp's `sent`, then its failure; the SMS leg's `sent` follows.
    let by_webhook = ctx.message_through(&tenant, &["sent"]).await;
    let wamid = ctx.last_wamid(&tenant).await;
    assert_eq!(ctx.whatsapp_status(&wamid, "failed", Some(undeliverable)).await, 200);
    // At send time, SNS refusing the SMS: the SMS leg's `failed`.
    let refused_phone = fresh_sa_phone();
    ctx.sms_fails_next(&refused_phone).await;
    ctx.whatsapp_fails_next(
        &tenant,
        1,
        json!({"httpStatus": 400, "code": 131026, "title": "Message undeliverable", "message": "(#131026) Message undeliverable"}),
    )
    .await;
    let refused = ctx.send(&tenant, otp("482913", &refused_phone)).await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    let refused = refused.body["id"].as_str().expect("id").to_owned();

    wait_for(&ctx, &receiver, 3).await;
    settle(&ctx).await;
    let mut events: Vec<(String, String, String)> = receiver
        .received()
        .iter()
        .map(|r| {
            let body = r.json();
            let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (text(&body["data"]["id"]), r.event_type(), text(&body["data"]["channel"]))
        })
        .collect();
    events.sort();
    let mut expected = vec![
        (by_webhook.clone(), "message.sent".to_owned(), "sms".to_owned()),
        (by_webhook.clone(), "message.sent".to_owned(), "whatsapp".to_owned()),
        (refused.clone(), "message.failed".to_owned(), "sms".to_owned()),
    ];
    expected.sort();
    assert_eq!(events, expected, "one event per leg's status; no WhatsApp failure for a message that fell back");
    let sms_sent = receiver
        .received()
        .into_iter()
        .map(|r| r.json())
        .find(|body| body["data"]["channel"] == "sms" && body["type"] == "message.sent")
        .expect("the SMS leg's sent");
    assert_eq!(sms_sent["data"]["fallback"]["failureCode"], 131026, "{sms_sent}");
}
