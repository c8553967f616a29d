//! The delivery lifecycle: signed WhatsApp webhooks moving messages forward only, failures refunded exactly once,
//! send-time failures replayed, stranded messages swept, the operator's delete, and the low-balance email.

use std::sync::Arc;

use lightotp::domain::cooldown::CooldownWindow;
use lightotp::domain::idempotency::{IdempotencyKey, request_fingerprint};
use lightotp::domain::language::HumanLanguage;
use lightotp::domain::message::MessageId;
use lightotp::domain::otp_code::OtpCode;
use lightotp::domain::phone::PhoneE164;
use lightotp::domain::pricing::Credits;
use lightotp::domain::rate_limit::Counted;
use lightotp::domain::subscription::{DebitGuard, choose_payer};
use lightotp::store::{IdempotencyClaim, NewMessage, Reservation};
use serde_json::{Value, json};

use crate::helpers::{Ctx, Tenant, TenantSpec, fresh_sa_phone, otp, race, rate_window, undeliverable};

async fn status_of(ctx: &Ctx, tenant: &Tenant, id: &str) -> Value {
    let reply = ctx.check(tenant, id).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body
}

/// Sends one OTP and returns (message id, wamid).
async fn sent(ctx: &Ctx, tenant: &Tenant, phone: &str) -> (String, String) {
    let reply = ctx.send(tenant, otp("1234", phone)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    (reply.body["id"].as_str().expect("id").to_owned(), ctx.last_wamid(tenant).await)
}

#[tokio::test]
async fn webhooks_move_a_message_forward_only_whatever_their_order_or_repetition() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    let (id, wamid) = sent(&ctx, &tenant, &fresh_sa_phone()).await;
    for (status, expected) in [("sent", "Sent"), ("delivered", "Delivered"), ("read", "Read")] {
        assert_eq!(ctx.whatsapp_status(&wamid, status, None).await, 200, "{status}");
        assert_eq!(status_of(&ctx, &tenant, &id).await["messageStatus"], expected);
    }
    // Replayed in reverse order and twice: nothing moves back, and a late failure cannot undo a read.
    for status in ["read", "delivered", "sent", "delivered", "read", "sent"] {
        assert_eq!(ctx.whatsapp_status(&wamid, status, None).await, 200);
    }
    assert_eq!(ctx.whatsapp_status(&wamid, "failed", Some(undeliverable())).await, 200);
    let body = status_of(&ctx, &tenant, &id).await;
    assert_eq!(body["messageStatus"], "Read");
    assert_eq!(body["failureCode"], Value::Null);
    assert_eq!(ctx.balances(&tenant).await, [(99, "Active")], "a read message stays charged");

    // `read` can come without `delivered`.
    let (other, other_wamid) = sent(&ctx, &tenant, &fresh_sa_phone()).await;
    assert_eq!(ctx.whatsapp_status(&other_wamid, "read", None).await, 200);
    assert_eq!(ctx.whatsapp_status(&other_wamid, "delivered", None).await, 200);
    assert_eq!(status_of(&ctx, &tenant, &other).await["messageStatus"], "Read");
}

#[tokio::test]
async fn a_forged_or_missing_signature_is_refused_and_changes_nothing() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    let (id, wamid) = sent(&ctx, &tenant, &fresh_sa_phone()).await;
    let body = crate::helpers::meta_notification(json!([{"id": wamid, "status": "failed", "timestamp": "1",
        "recipient_id": "1", "errors": [{"code": 1, "title": "forged"}]}]));
    let forged = format!("sha256={}", "ab".repeat(32));
    for signature in [Some(forged.as_str()), None, Some("sha1=abc")] {
        let mut request = ctx.http.post(format!("{}/webhooks/whatsapp", ctx.api)).body(body.clone());
        request = request.header("content-type", "application/json");
        if let Some(signature) = signature {
            request = request.header("x-hub-signature-256", signature);
        }
        let status = request.send().await.expect("webhook").status().as_u16();
        assert_eq!(status, 401, "signature {signature:?}");
    }
    assert_eq!(status_of(&ctx, &tenant, &id).await["messageStatus"], "Pending", "nothing changed");
    assert_eq!(ctx.balances(&tenant).await, [(99, "Active")], "nothing refunded");
}

#[tokio::test]
async fn the_subscription_handshake_echoes_the_challenge_only_for_the_right_token() {
    let ctx = Ctx::new().await;
    let url = format!("{}/webhooks/whatsapp", ctx.api);
    let ok = ctx
        .http
        .get(format!("{url}?hub.mode=subscribe&hub.verify_token=local-verify-token&hub.challenge=1158201444"))
        .send()
        .await
        .expect("handshake");
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(ok.text().await.expect("text"), "1158201444");
    for (mode, token) in [("subscribe", "wrong"), ("unsubscribe", "local-verify-token")] {
        let refused = ctx
            .http
            .get(format!("{url}?hub.mode={mode}&hub.verify_token={token}&hub.challenge=x"))
            .send()
            .await
            .expect("handshake");
        assert_eq!(refused.status().as_u16(), 403, "{mode} {token}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_webhook_delivered_twice_in_parallel_refunds_exactly_once() {
    let ctx = Arc::new(Ctx::new().await);
    // One credit: the send exhausts (expires) the subscription; the refund re-activates it.
    let tenant = ctx.tenant(TenantSpec { credits: Some(1), ..TenantSpec::default() }).await;
    let phone = fresh_sa_phone();
    let (id, wamid) = sent(&ctx, &tenant, &phone).await;
    assert_eq!(ctx.whatsapp_status(&wamid, "sent", None).await, 200);
    assert_eq!(ctx.balances(&tenant).await, [(0, "Expired")]);

    let acknowledged = race(3, |_| {
        let (ctx, wamid) = (Arc::clone(&ctx), wamid.clone());
        async move { ctx.whatsapp_status(&wamid, "failed", Some(undeliverable())).await }
    })
    .await;
    assert_eq!(acknowledged, [200, 200, 200], "every delivery is acknowledged");
    assert_eq!(ctx.balances(&tenant).await, [(1, "Active")], "refunded once, and active again");
    let body = status_of(&ctx, &tenant, &id).await;
    assert_eq!(body["messageStatus"], "Failed");
    assert_eq!(body["failureCode"], 131026);
    assert_eq!(body["failureTitle"], "Message undeliverable");
    assert_eq!(body["failureReason"], "Recipient is not on WhatsApp");
    assert!(body["failedAt"].as_str().is_some_and(|t| t.ends_with('Z')), "{body:?}");

    // The failed send no longer counts toward the cooldown: the same number may be sent to at once.
    let again = ctx.send(&tenant, otp("5678", &phone)).await;
    assert_eq!(again.status, 200, "{:?}", again.body);
}

async fn assert_failed_send_replays(ctx: &Ctx, tenant: &Tenant, plan: Value, what: &str) {
    ctx.whatsapp_fails_next(tenant, 3, plan).await;
    let phone = fresh_sa_phone();
    let body = json!({"otpCode": "1234", "toPhoneE164": phone, "idempotencyKey": uuid::Uuid::new_v4().to_string()});
    let first = ctx.send(tenant, body.clone()).await;
    assert_eq!((first.status, first.body["errorMessage"].as_str()), (500, Some("InternalServerError")), "{what}");
    ctx.whatsapp_fails_next(tenant, 0, json!({})).await;
    let replay = ctx.send(tenant, body).await;
    assert_eq!((replay.status, &replay.body), (500, &first.body), "{what}: the same answer on retry");
    assert_eq!(ctx.balances(tenant).await, [(100, "Active")], "{what}: not charged");
    let fresh = ctx.send(tenant, otp("1234", &phone)).await;
    assert_eq!(fresh.status, 200, "{what}: not counted toward the cooldown: {:?}", fresh.body);
}

#[tokio::test]
async fn a_5xx_and_a_timeout_at_send_time_answer_500_charge_nothing_and_replay_the_same() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    assert_failed_send_replays(&ctx, &tenant, json!({"httpStatus": 503}), "5xx").await;
    let tenant = ctx.default_tenant().await;
    assert_failed_send_replays(&ctx, &tenant, json!({"delayMs": 3500}), "timeout").await;
}

/// Does what a SendMessage function does up to its reservation, then "dies": the message is charged and `Pending`
/// with no WhatsApp id, and its idempotency key is bound.
pub(crate) async fn strand(ctx: &Ctx, tenant: &Tenant, phone: &str, key: IdempotencyKey) -> String {
    let pepper = ctx
        .secrets()
        .await
        .get_secret_value()
        .secret_id("lightotp/pepper")
        .send()
        .await
        .expect("pepper")
        .secret_string()
        .expect("text")
        .to_owned();
    let code = OtpCode::parse(Some("1234")).expect("code");
    let to = PhoneE164::parse(Some(phone)).expect("phone");
    let claim = IdempotencyClaim { key, fingerprint: request_fingerprint(pepper.as_bytes(), &code, &to, None) };
    let store = &ctx.admin.store;
    let rate = rate_window(1_000);
    let context = store.send_context(&tenant.client_id, &to, Some(key), &rate).await.expect("context");
    let profile = context.profile.expect("profile");
    let subscriptions = store.subscriptions_newest_first(&tenant.client_id).await.expect("subscriptions");
    let payer = choose_payer(&subscriptions, Credits::new(1)).expect("a payer");
    let id = MessageId::new_random();
    let now = ctx.gateway_now().await;
    let message = NewMessage {
        client_id: &tenant.client_id,
        id,
        to: &to,
        template: &profile.templates[0],
        cost: Credits::new(1),
        created_at: now,
        language: HumanLanguage::En,
        fallback_code: None,
    };
    let now_millis = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).expect("millis");
    let next = CooldownWindow::default().after_send(&id.to_string(), now_millis);
    let guard = DebitGuard::for_debit(payer, Credits::new(1));
    let reserved = store
        .reserve(&message, payer, guard, &context.cooldown, &next, Some(&claim), Counted { window: &rate, counter: 0 })
        .await
        .expect("reserve");
    assert_eq!(reserved, Reservation::Reserved);
    id.to_string()
}

#[tokio::test]
async fn a_message_stranded_after_its_reservation_is_swept_refunded_and_replayed_as_failed() {
    let ctx = Ctx::exclusive().await;
    let tenant = ctx.default_tenant().await;
    let phone = fresh_sa_phone();
    let key = IdempotencyKey::new_random();
    let id = strand(&ctx, &tenant, &phone, key).await;
    let body = json!({"otpCode": "1234", "toPhoneE164": phone, "idempotencyKey": key.to_string()});

    let in_flight = ctx.send(&tenant, body.clone()).await;
    assert_eq!((in_flight.status, in_flight.body["errorMessage"].as_str()), (409, Some("IdempotencyKeyInProgress")));
    assert_eq!(ctx.balances(&tenant).await, [(99, "Active")], "charged, as the dead function left it");

    assert_eq!(ctx.sweep().await, 0, "within the grace period nothing is swept");
    ctx.advance_clock(301.0).await;
    ctx.sweep().await;
    let status = status_of(&ctx, &tenant, &id).await;
    assert_eq!(status["messageStatus"], "Failed", "{status:?}");
    assert_eq!(status["failureTitle"], "NotSent");
    assert_eq!(ctx.balances(&tenant).await, [(100, "Active")], "refunded");
    assert_eq!(ctx.sweep().await, 0, "swept once");

    let replay = ctx.send(&tenant, body.clone()).await;
    assert_eq!((replay.status, replay.body["errorMessage"].as_str()), (500, Some("InternalServerError")));
    assert_eq!(ctx.send(&tenant, body).await.body, replay.body, "the failure replays, the same every time");
    assert!(ctx.whatsapp_messages(&tenant).await.is_empty(), "nothing was ever sent");
    let fresh = ctx.send(&tenant, otp("1234", &phone)).await;
    assert_eq!(fresh.status, 200, "the stranded send no longer counts toward the cooldown: {:?}", fresh.body);
}

#[tokio::test]
async fn an_operator_delete_is_final() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    let (id, wamid) = sent(&ctx, &tenant, &fresh_sa_phone()).await;
    let now = time::OffsetDateTime::now_utc();
    assert!(ctx.admin.delete_message(None, &id, now).await.expect("delete"), "found by id alone");
    assert!(
        !ctx.admin.delete_message(Some(&tenant.client_id), &id, now).await.expect("delete"),
        "a second delete changes nothing"
    );
    assert_eq!(ctx.whatsapp_status(&wamid, "read", None).await, 200);
    assert_eq!(status_of(&ctx, &tenant, &id).await["messageStatus"], "Deleted", "no webhook moves a deleted message");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn exactly_one_low_balance_email_under_parallel_debits_in_the_clients_language() {
    const REQUESTS: usize = 18;
    let ctx = Arc::new(Ctx::new().await);
    // 20 credits at 50 %: the email is due when the balance drops below 10, and 18 debits race through the last 10
    // credits, where every debit could claim it.
    let tenant = Arc::new(ctx.tenant(TenantSpec { language: "ar", credits: None, ..TenantSpec::default() }).await);
    ctx.admin
        .grant_subscription(&tenant.client_id, Credits::new(20), 50, time::OffsetDateTime::now_utc())
        .await
        .expect("grant");
    let statuses = race(REQUESTS, |i| {
        let (ctx, tenant) = (Arc::clone(&ctx), Arc::clone(&tenant));
        async move { ctx.send(&tenant, otp(&format!("{i:04}"), &fresh_sa_phone())).await.status }
    })
    .await;
    assert_eq!(statuses, [200; REQUESTS]);
    assert_eq!(ctx.balances(&tenant).await, [(2, "Active")]);
    let emails = ctx.emails_to(&tenant).await;
    assert_eq!(emails.len(), 1, "exactly one email: {emails:?}");
    assert_eq!(emails[0]["from"], "notifications@lightotp.example");
    assert_eq!(emails[0]["subject"], "LightOTP: رصيدك يوشك على النفاد", "in Arabic for an ar client");
    assert!(emails[0]["body"].as_str().is_some_and(|b| b.contains("أقل من 10 من أصل 20")), "{:?}", emails[0]["body"]);

    for _ in 0..2 {
        assert_eq!(ctx.send(&tenant, otp("1234", &fresh_sa_phone())).await.status, 200);
    }
    assert_eq!(ctx.emails_to(&tenant).await.len(), 1, "never a second email for the subscription");
}

#[tokio::test]
async fn an_english_client_is_told_in_english_when_a_debit_crosses_the_threshold() {
    let ctx = Ctx::new().await;
    let tenant = ctx.tenant(TenantSpec { credits: Some(10), ..TenantSpec::default() }).await;
    // 10 % of 10 is 1: the email is due when the balance drops below 1, i.e. at 0.
    for n in 0..9 {
        assert_eq!(ctx.send(&tenant, otp("1234", &fresh_sa_phone())).await.status, 200);
        assert!(ctx.emails_to(&tenant).await.is_empty(), "no email at balance {}", 9 - n);
    }
    assert_eq!(ctx.send(&tenant, otp("1234", &fresh_sa_phone())).await.status, 200);
    let emails = ctx.emails_to(&tenant).await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0]["subject"], "LightOTP: your credits are running low");
}

#[tokio::test]
async fn a_status_without_callback_data_is_found_through_the_wamid_index_and_batches_all_apply() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    let (first, first_wamid) = sent(&ctx, &tenant, &fresh_sa_phone()).await;
    let (second, second_wamid) = sent(&ctx, &tenant, &fresh_sa_phone()).await;
    // Two entries, several statuses, one unknown id: signed as Meta signs, with the local stack's app secret.
    let status =
        |wamid: &str, status: &str| json!({"id": wamid, "status": status, "timestamp": "1", "recipient_id": "1"});
    let body = json!({"object": "whatsapp_business_account", "entry": [
        {"id": "1", "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
            "statuses": [status(&first_wamid, "sent"), status(&first_wamid, "delivered"), status("wamid.unknown", "read")]}}]},
        {"id": "1", "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
            "statuses": [status(&second_wamid, "read")]}}]}
    ]})
    .to_string();
    let signature = crate::helpers::meta_signature(&body);
    let reply = ctx
        .http
        .post(format!("{}/webhooks/whatsapp", ctx.api))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(body)
        .send()
        .await
        .expect("webhook");
    assert_eq!(reply.status().as_u16(), 200);
    let counts: Value = reply.json().await.expect("json");
    assert_eq!(
        counts,
        json!({"received": 4, "changed": 3, "skipped": 0}),
        "the unknown id is acknowledged and ignored"
    );
    assert_eq!(status_of(&ctx, &tenant, &first).await["messageStatus"], "Delivered");
    assert_eq!(status_of(&ctx, &tenant, &second).await["messageStatus"], "Read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_webhook_that_beats_the_recording_of_its_send_loses_nothing() {
    let ctx = Arc::new(Ctx::new().await);
    let tenant = Arc::new(ctx.default_tenant().await);
    // WhatsApp accepts at once but answers 1.5 s late: its `sent` webhook arrives before we record the send.
    ctx.whatsapp_fails_next(&tenant, 1, json!({"delayMs": 1500})).await;
    let body =
        json!({"otpCode": "1234", "toPhoneE164": fresh_sa_phone(), "idempotencyKey": uuid::Uuid::new_v4().to_string()});
    let sending = {
        let (ctx, tenant, body) = (Arc::clone(&ctx), Arc::clone(&tenant), body.clone());
        tokio::spawn(async move { ctx.send(&tenant, body).await })
    };
    let wamid = loop {
        if let Some(sent) = ctx.whatsapp_messages(&tenant).await.first() {
            break sent["wamid"].as_str().expect("wamid").to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(ctx.whatsapp_status(&wamid, "sent", None).await, 200);
    let first = sending.await.expect("send");
    assert_eq!(first.status, 200, "{:?}", first.body);
    let id = first.body["id"].as_str().expect("id");
    assert_eq!(status_of(&ctx, &tenant, id).await["messageStatus"], "Sent", "the webhook's status stays");
    let replay = ctx.send(&tenant, body).await;
    assert_eq!((replay.status, &replay.body), (200, &first.body), "the answer was still recorded for replays");
    assert_eq!(ctx.whatsapp_status(&wamid, "delivered", None).await, 200);
    assert_eq!(status_of(&ctx, &tenant, id).await["messageStatus"], "Delivered");
}
