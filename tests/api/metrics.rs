//! Metrics (docs/operations.md, "Metrics"): each is written by the path that should write it and by no other, as
//! the local stack sums the functions' EMF lines (`GET /_local/metrics`); every line is valid EMF; no dimension
//! carries a phone number, a code, a key or a token. The tests move no clock but run alone (`Ctx::exclusive`), so
//! that another test's requests never land between their two readings.

use std::collections::BTreeMap;

use lightotp::domain::channel::Channel;
use lightotp::domain::pricing::Credits;
use serde_json::{Value, json};

use crate::dashboard_client::{Account, Browserless, Site};
use crate::helpers::{Ctx, Tenant, TenantSpec, fresh_sa_phone, otp, refused_as_undeliverable};

/// A series: the metric's name and its dimensions, as `Name{Dim=value,…}`.
type Series = String;

/// The stack's sums, by series: (sum, samples).
pub(crate) async fn read(ctx: &Ctx) -> BTreeMap<Series, (f64, u64)> {
    let snapshot: Value =
        ctx.http.get(format!("{}/_local/metrics", ctx.api)).send().await.expect("metrics").json().await.expect("json");
    assert_eq!(snapshot["invalidLines"], 0, "a line that is not valid EMF: {}", snapshot["lastInvalid"]);
    assert_eq!(snapshot["namespace"], "LightOTP");
    let mut sums = BTreeMap::new();
    for metric in snapshot["metrics"].as_array().expect("metrics") {
        let dimensions = metric["dimensions"].as_object().expect("dimensions");
        for value in dimensions.values() {
            let value = value.as_str().expect("a string");
            let ok = !value.is_empty() && value.len() <= 40 && value.chars().all(|c| c.is_ascii_alphanumeric());
            assert!(ok, "a dimension value that is not a short word: {value:?}");
        }
        let dimensions: Vec<String> =
            dimensions.iter().map(|(name, value)| format!("{name}={}", value.as_str().unwrap_or_default())).collect();
        let series = format!("{}{{{}}}", metric["name"].as_str().expect("name"), dimensions.join(","));
        sums.insert(series, (metric["sum"].as_f64().expect("sum"), metric["samples"].as_u64().expect("samples")));
    }
    sums
}

/// What the stack's own schedules write whenever they run (the sweep every minute, the webhook pass every 2 s), and
/// retries, which depend on timing: each has its own test.
fn scheduled(series: &str) -> bool {
    ["SweepRuns{", "MessagesSwept{", "FallbackCodesErased{", "WebhookOldestDueAge{", "DynamoDbRetries{"]
        .iter()
        .any(|prefix| series.starts_with(prefix))
}

/// What changed between two readings: sums for counters, the number of values for a latency.
fn delta(before: &BTreeMap<Series, (f64, u64)>, after: &BTreeMap<Series, (f64, u64)>) -> BTreeMap<Series, u64> {
    after
        .iter()
        .filter(|(series, _)| !scheduled(series))
        .filter_map(|(series, (sum, samples))| {
            let (sum_before, samples_before) = before.get(series).copied().unwrap_or((0.0, 0));
            let changed = if series.starts_with("GraphApiLatency") || series.starts_with("WebhookLatency") {
                samples - samples_before
            } else {
                (sum - sum_before).round() as u64
            };
            (changed > 0).then(|| (series.clone(), changed))
        })
        .collect()
}

fn expect(pairs: &[(&str, u64)]) -> BTreeMap<Series, u64> {
    pairs.iter().map(|(series, n)| ((*series).to_owned(), *n)).collect()
}

/// Runs `action` between two readings and returns what it changed, but client webhook attempts: the stack's delivery
/// loop attempts whatever other tests left due whenever it runs (its own test reads them).
async fn measured<F: Future<Output = ()>>(ctx: &Ctx, action: F) -> BTreeMap<Series, u64> {
    let before = read(ctx).await;
    action.await;
    let mut changed = delta(&before, &read(ctx).await);
    changed.retain(|series, _| !series.starts_with("WebhookAttempts{") && !series.starts_with("WebhookLatency{"));
    changed
}

#[tokio::test]
async fn metrics_each_send_outcome_counts_its_request_its_whatsapp_send_its_failure_and_its_refund_and_nothing_else() {
    let ctx = Ctx::exclusive().await;
    let tenant = ctx.default_tenant().await;
    let phone = fresh_sa_phone();

    let changed = measured(&ctx, async {
        assert_eq!(ctx.send(&tenant, otp("482913", &phone)).await.status, 200);
    })
    .await;
    assert_eq!(
        changed,
        expect(&[
            ("CreditsCharged{Use=WhatsApp}", 1),
            ("GraphApiLatency{}", 1),
            ("Requests{Endpoint=SendMessage,Outcome=OK}", 1),
            ("WhatsAppSends{Outcome=Accepted}", 1)
        ])
    );

    let changed = measured(&ctx, async {
        assert_eq!(ctx.send(&tenant, otp("482913", &phone)).await.status, 400);
    })
    .await;
    assert_eq!(changed, expect(&[("Requests{Endpoint=SendMessage,Outcome=Cooldown}", 1)]), "no send, no refund");

    let mut keyed = otp("482913", &fresh_sa_phone());
    keyed["idempotencyKey"] = json!(uuid::Uuid::new_v4().to_string());
    assert_eq!(ctx.send(&tenant, keyed.clone()).await.status, 200);
    let changed = measured(&ctx, async {
        assert_eq!(ctx.send(&tenant, keyed).await.status, 200);
    })
    .await;
    assert_eq!(changed, expect(&[("Requests{Endpoint=SendMessage,Outcome=Replay}", 1)]), "a replay sends nothing");

    let changed = measured(&ctx, async {
        ctx.whatsapp_fails_next(&tenant, 1, refused_as_undeliverable()).await;
        assert_eq!(ctx.send(&tenant, otp("482913", &fresh_sa_phone())).await.status, 400);
    })
    .await;
    assert_eq!(
        changed,
        expect(&[
            ("CreditsCharged{Use=WhatsApp}", 1),
            ("CreditsRefunded{}", 1),
            ("GraphApiLatency{}", 1),
            ("Refunds{Cause=Send}", 1),
            ("Requests{Endpoint=SendMessage,Outcome=WhatsAppRejected}", 1),
            ("WhatsAppFailures{Code=131026}", 1),
            ("WhatsAppSends{Outcome=Refused}", 1)
        ])
    );

    let changed = measured(&ctx, async {
        ctx.whatsapp_fails_next(&tenant, 1, json!({"httpStatus": 401, "code": 190, "message": "(#190) token"})).await;
        assert_eq!(ctx.send(&tenant, otp("482913", &fresh_sa_phone())).await.status, 500);
    })
    .await;
    assert_eq!(
        changed,
        expect(&[
            ("CreditsCharged{Use=WhatsApp}", 1),
            ("CreditsRefunded{}", 1),
            ("GraphApiLatency{}", 1),
            ("Refunds{Cause=Send}", 1),
            ("Requests{Endpoint=SendMessage,Outcome=InternalError}", 1),
            ("WhatsAppFailures{Code=190}", 1),
            ("WhatsAppSends{Outcome=OurSide}", 1)
        ])
    );

    let changed = measured(&ctx, async {
        let reply = ctx.post_raw("/CheckMessageStatus", Some("lotp_nope_nope"), "{}", &[]).await;
        assert_eq!(reply.status, 404, "an unknown key");
    })
    .await;
    assert_eq!(changed, expect(&[("Requests{Endpoint=CheckMessageStatus,Outcome=Unauthorized}", 1)]));
}

#[tokio::test]
async fn metrics_a_failed_status_counts_its_failure_and_refund_once_and_a_fallback_its_outcome() {
    let ctx = Ctx::exclusive().await;
    let tenant = ctx.default_tenant().await;
    assert_eq!(ctx.send(&tenant, otp("482913", &fresh_sa_phone())).await.status, 200);
    let wamid = ctx.last_wamid(&tenant).await;
    let error = json!({"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable"});
    let changed = measured(&ctx, async {
        for _ in 0..2 {
            assert_eq!(ctx.whatsapp_status(&wamid, "failed", Some(error.clone())).await, 200);
        }
    })
    .await;
    assert_eq!(
        changed,
        expect(&[("CreditsRefunded{}", 1), ("Refunds{Cause=Status}", 1), ("WhatsAppFailures{Code=131026}", 1)]),
        "the repeated status changes nothing, and counts nothing"
    );

    let fallback: Tenant = ctx.fallback_tenant(TenantSpec::default()).await;
    ctx.admin.set_channel_price("SA", Channel::Sms, Credits::new(2)).await.expect("SMS price");
    let changed = measured(&ctx, async {
        ctx.whatsapp_fails_next(&fallback, 1, refused_as_undeliverable()).await;
        assert_eq!(ctx.send(&fallback, otp("482913", &fresh_sa_phone())).await.status, 200);
    })
    .await;
    assert_eq!(
        changed,
        expect(&[
            ("CreditsCharged{Use=Sms}", 2),
            ("CreditsCharged{Use=WhatsApp}", 1),
            ("CreditsRefunded{}", 1),
            ("Fallbacks{Outcome=SentBySms}", 1),
            ("GraphApiLatency{}", 1),
            ("Refunds{Cause=Fallback}", 1),
            ("Requests{Endpoint=SendMessage,Outcome=OK}", 1),
            ("WhatsAppFailures{Code=131026}", 1),
            ("WhatsAppSends{Outcome=Refused}", 1)
        ])
    );
}

#[tokio::test]
async fn metrics_the_verify_api_counts_its_requests_and_a_refused_sms_with_its_refund_and_the_sweep_its_runs() {
    let ctx = Ctx::exclusive().await;
    let tenant = ctx.default_tenant().await;
    ctx.admin.top_up_wallet(&tenant.client_id, Credits::new(5)).await.expect("wallet");
    let phone = fresh_sa_phone();
    let changed = measured(&ctx, async {
        ctx.sms_fails_next(&phone).await;
        let reply = ctx.verify_api("/api/otp/initiate", &tenant.api_key, &json!({"receiver": phone})).await;
        assert_eq!(reply.status, 500);
    })
    .await;
    assert_eq!(
        changed,
        expect(&[
            ("CreditsCharged{Use=Verify}", 1),
            ("CreditsRefunded{}", 1),
            ("Refunds{Cause=VerifySms}", 1),
            ("Requests{Endpoint=OtpInitiate,Outcome=InternalError}", 1),
            ("SmsFailures{Use=Verify}", 1)
        ])
    );
    let changed = measured(&ctx, async {
        let reply = ctx.verify_api("/api/otp/verify", &tenant.api_key, &json!({"request_id": "x", "code": "1"})).await;
        assert_ne!(reply.status, 200);
    })
    .await;
    assert_eq!(changed.len(), 1, "one request counted: {changed:?}");
    assert!(changed.keys().all(|series| series.starts_with("Requests{Endpoint=OtpVerify,")), "{changed:?}");

    let before = read(&ctx).await;
    let swept = ctx.http.post(format!("{}/_local/sweep", ctx.api)).send().await.expect("sweep").status();
    assert!(swept.is_success());
    let after = read(&ctx).await;
    let runs = |sums: &BTreeMap<Series, (f64, u64)>| sums.get("SweepRuns{}").map_or(0.0, |(sum, _)| *sum);
    assert!(runs(&after) >= runs(&before) + 1.0, "the sweep counts its run");
}

#[tokio::test]
async fn metrics_a_client_webhook_attempt_counts_its_outcome_and_latency_and_each_pass_the_oldest_due_delivery() {
    let ctx = Ctx::exclusive().await;
    let tenant = ctx.default_tenant().await;
    // Port 9: nothing answers, so the attempt fails and another is due later.
    let url = format!("http://127.0.0.1:9/hooks/{}", uuid::Uuid::new_v4().simple());
    ctx.admin
        .clone()
        .with_webhook_policy(lightotp::domain::client_webhook::AddressPolicy::AllowLoopback)
        .add_webhook(&tenant.client_id, &url, &["message.sent".to_owned()], time::OffsetDateTime::now_utc())
        .await
        .expect("endpoint");
    assert_eq!(ctx.send(&tenant, otp("482913", &fresh_sa_phone())).await.status, 200);
    let wamid = ctx.last_wamid(&tenant).await;
    let before = read(&ctx).await;
    assert_eq!(ctx.whatsapp_status(&wamid, "sent", None).await, 200);
    let changed = delivered_until(&ctx, &before, "WillRetry").await;
    assert_webhook_attempts(&changed, "WillRetry");

    // An endpoint that answers 200: the attempt is delivered.
    let receiver = crate::client_webhooks::Receiver::start().await;
    let answering = ctx.tenant(TenantSpec::default()).await;
    ctx.admin
        .clone()
        .with_webhook_policy(lightotp::domain::client_webhook::AddressPolicy::AllowLoopback)
        .add_webhook(&answering.client_id, &receiver.url, &["message.sent".to_owned()], time::OffsetDateTime::now_utc())
        .await
        .expect("endpoint");
    assert_eq!(ctx.send(&answering, otp("482913", &fresh_sa_phone())).await.status, 200);
    let wamid = ctx.last_wamid(&answering).await;
    let before = read(&ctx).await;
    assert_eq!(ctx.whatsapp_status(&wamid, "sent", None).await, 200);
    let changed = delivered_until(&ctx, &before, "Delivered").await;
    assert_webhook_attempts(&changed, "Delivered");

    let samples = |sums: &BTreeMap<Series, (f64, u64)>| sums.get("WebhookOldestDueAge{}").map_or(0, |(_, n)| *n);
    let before = read(&ctx).await;
    let deliver = ctx.http.post(format!("{}/_local/webhooks/deliver", ctx.api)).send().await.expect("deliver");
    assert!(deliver.status().is_success());
    assert!(samples(&read(&ctx).await) > samples(&before), "each pass measures the oldest due delivery");
}

/// Runs delivery passes until an attempt with `outcome` is counted since `before` (or 20 passes); what changed.
async fn delivered_until(ctx: &Ctx, before: &BTreeMap<Series, (f64, u64)>, outcome: &str) -> BTreeMap<Series, u64> {
    let mut changed = BTreeMap::new();
    for _ in 0..20 {
        let deliver = ctx.http.post(format!("{}/_local/webhooks/deliver", ctx.api)).send().await.expect("deliver");
        assert!(deliver.status().is_success());
        changed = delta(before, &read(ctx).await);
        if changed.contains_key(&format!("WebhookAttempts{{Outcome={outcome}}}")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    changed
}

/// Our attempt counted with its outcome and latency, and nothing but webhook attempts: the delivery passes also
/// attempt whatever other tests left due (their clocks moved), so the counts are at least ours.
fn assert_webhook_attempts(changed: &BTreeMap<Series, u64>, outcome: &str) {
    let ours = format!("WebhookAttempts{{Outcome={outcome}}}");
    assert!(changed.get(&ours).is_some_and(|n| *n >= 1), "{ours}: {changed:?}");
    assert!(changed.get("WebhookLatency{}").is_some_and(|n| *n >= 1), "its latency: {changed:?}");
    let others: Vec<&Series> =
        changed.keys().filter(|s| !s.starts_with("WebhookAttempts{") && !s.starts_with("WebhookLatency{")).collect();
    assert!(others.is_empty(), "a delivery pass wrote {others:?}");
}

#[tokio::test]
async fn metrics_dashboard_sign_ins_count_by_outcome() {
    let ctx = Ctx::exclusive().await;
    let site = Site::from_stack();
    let account = Account::new(&ctx, "Metrics client").await;
    let browser = Browserless::new(&site);
    let changed = measured(&ctx, async {
        let refused = browser.sign_in(&account.email, "not the password").await;
        assert_ne!(refused.status, 303, "{}", refused.summary());
        let signed_in = browser.sign_in(&account.email, &account.password).await;
        assert_eq!(signed_in.status, 303, "{}", signed_in.summary());
    })
    .await;
    assert_eq!(changed, expect(&[("SignIns{Outcome=Refused}", 1), ("SignIns{Outcome=SignedIn}", 1)]));
}

#[tokio::test]
async fn metrics_a_refused_fallback_sms_counts_its_failure_and_both_refunds() {
    let ctx = Ctx::exclusive().await;
    let fallback: Tenant = ctx.fallback_tenant(TenantSpec::default()).await;
    ctx.admin.set_channel_price("SA", Channel::Sms, Credits::new(2)).await.expect("SMS price");
    let phone = fresh_sa_phone();
    let changed = measured(&ctx, async {
        ctx.sms_fails_next(&phone).await;
        ctx.whatsapp_fails_next(&fallback, 1, refused_as_undeliverable()).await;
        assert_eq!(ctx.send(&fallback, otp("482913", &phone)).await.status, 400);
    })
    .await;
    assert_eq!(
        changed,
        expect(&[
            ("CreditsCharged{Use=Sms}", 2),
            ("CreditsCharged{Use=WhatsApp}", 1),
            ("CreditsRefunded{}", 3),
            ("Fallbacks{Outcome=SmsRefused}", 1),
            ("GraphApiLatency{}", 1),
            ("Refunds{Cause=Fallback}", 2),
            ("Requests{Endpoint=SendMessage,Outcome=WhatsAppRejected}", 1),
            ("SmsFailures{Use=Fallback}", 1),
            ("WhatsAppFailures{Code=131026}", 1),
            ("WhatsAppSends{Outcome=Refused}", 1)
        ])
    );
}

#[tokio::test]
async fn metrics_the_sweep_counts_what_it_swept_and_erased() {
    let ctx = Ctx::exclusive().await;
    let tenant = ctx.default_tenant().await;
    let stranded = crate::lifecycle::strand(
        &ctx,
        &tenant,
        &fresh_sa_phone(),
        lightotp::domain::idempotency::IdempotencyKey::new_random(),
    )
    .await;
    let fallback: Tenant = ctx.fallback_tenant(TenantSpec::default()).await;
    assert_eq!(ctx.send(&fallback, otp("482913", &fresh_sa_phone())).await.status, 200, "its code is kept");
    ctx.advance_clock(601.0).await;
    let sums = |sums: &BTreeMap<Series, (f64, u64)>, series: &str| sums.get(series).map_or(0.0, |(sum, _)| *sum);
    let before = read(&ctx).await;
    let swept = ctx.http.post(format!("{}/_local/sweep", ctx.api)).send().await.expect("sweep").status();
    assert!(swept.is_success());
    let after = read(&ctx).await;
    for series in ["MessagesSwept{}", "Refunds{Cause=Sweep}", "FallbackCodesErased{}", "SweepRuns{}"] {
        assert!(sums(&after, series) >= sums(&before, series) + 1.0, "{series}: the stranded {stranded}, the code");
    }
}

/// Makes the emulator throttle the next `count` `operation`s on the client's partition (docs/local-stack.md).
async fn throttle_next(ctx: &Ctx, tenant: &Tenant, operation: &str, count: u32) {
    let url = format!(
        "{}/_local/dynamodb/throttle-next?operation={operation}&pk=CLIENT%23{}&count={count}",
        ctx.aws, tenant.client_id
    );
    let status = ctx.http.post(url).send().await.expect("throttle-next").status();
    assert!(status.is_success(), "throttle-next answered {status}");
}

#[tokio::test]
async fn metrics_a_throttle_the_sdk_cannot_absorb_counts_a_dynamodb_error_and_our_retry_counts_a_retry() {
    let ctx = Ctx::exclusive().await;
    let tenant = ctx.default_tenant().await;
    let sent = ctx.send(&tenant, otp("482913", &fresh_sa_phone())).await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    let id = sent.body["id"].as_str().expect("id").to_owned();

    // CheckMessageStatus's read throttled on every one of the SDK's 3 attempts: a 500, and the error counted.
    let changed = measured(&ctx, async {
        throttle_next(&ctx, &tenant, "GetItem", 3).await;
        assert_eq!(ctx.check(&tenant, &id).await.status, 500);
    })
    .await;
    assert_eq!(
        changed,
        expect(&[
            ("DynamoDbErrors{Kind=Throttled}", 1),
            ("Requests{Endpoint=CheckMessageStatus,Outcome=InternalError}", 1)
        ])
    );

    // The send's record throttled 3 times: our own retry (a pause, counted) records it, and the send succeeds.
    let retries = |sums: &BTreeMap<Series, (f64, u64)>| sums.get("DynamoDbRetries{}").map_or(0.0, |(sum, _)| *sum);
    let before = read(&ctx).await;
    throttle_next(&ctx, &tenant, "UpdateItem", 3).await;
    let again = ctx.send(&tenant, otp("482913", &fresh_sa_phone())).await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    let after = read(&ctx).await;
    assert_eq!(
        delta(&before, &after).get("DynamoDbErrors{Kind=Throttled}"),
        Some(&1),
        "the SDK gave up once: {:?}",
        delta(&before, &after)
    );
    assert!(retries(&after) >= retries(&before) + 1.0, "our retry is counted");
}
