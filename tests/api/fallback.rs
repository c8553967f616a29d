//! The WhatsApp → SMS fallback (docs/api.md, WhatsApp → SMS fallback): the per-client setting, its SMS texts and
//! price table; the fallback at send time and from a `failed` webhook, exactly once, with its money; the cases that
//! never fall back; and the code kept sealed only while the window is open.

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use lightotp::domain::channel::Channel;
use lightotp::domain::pricing::Credits;
use serde_json::{Value, json};

use crate::helpers::{Ctx, Tenant, TenantSpec, fresh_sa_phone, otp, race, refused_as_undeliverable, undeliverable};

/// The SMS price per part these tests give Saudi Arabia (the WhatsApp price there stays unlisted: 1 credit).
const SA_SMS_PRICE: u64 = 2;

/// A client with the fallback on, the sender id `Acme`, `credits` credits, and Saudi SMS at 2 credits a part.
async fn fallback_client(ctx: &Ctx, credits: u64) -> Tenant {
    let tenant = ctx.fallback_tenant(TenantSpec { credits: Some(credits), ..TenantSpec::default() }).await;
    ctx.admin.set_channel_price("SA", Channel::Sms, Credits::new(SA_SMS_PRICE)).await.expect("SMS price");
    tenant
}

/// A code no other test sends, to look for in the table and the logs.
fn distinctive_code() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_ascii_uppercase()
}

async fn status_of(ctx: &Ctx, tenant: &Tenant, id: &str) -> Value {
    let reply = ctx.check(tenant, id).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body
}

/// The messages (their texts and sender ids) SNS took for `phone`.
async fn sms_texts(ctx: &Ctx, phone: &str) -> Vec<(String, String)> {
    ctx.sms_to(phone)
        .await
        .iter()
        .map(|sms| {
            (
                sms["message"].as_str().unwrap_or_default().to_owned(),
                sms["senderId"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Every item under the client's partition, as text.
async fn client_items(ctx: &Ctx, tenant: &Tenant) -> String {
    let items = ctx
        .admin
        .store
        .client()
        .query()
        .table_name(ctx.admin.store.table())
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(format!("CLIENT#{}", tenant.client_id)))
        .consistent_read(true)
        .send()
        .await
        .expect("query");
    format!("{:?}", items.items())
}

/// How many sealed codes the client keeps for the fallback.
async fn kept_codes(ctx: &Ctx, tenant: &Tenant) -> usize {
    ctx.admin
        .store
        .client()
        .query()
        .table_name(ctx.admin.store.table())
        .key_condition_expression("pk = :pk AND begins_with(sk, :code)")
        .expression_attribute_values(":pk", AttributeValue::S(format!("CLIENT#{}", tenant.client_id)))
        .expression_attribute_values(":code", AttributeValue::S("FALLBACK#".to_owned()))
        .consistent_read(true)
        .send()
        .await
        .expect("query")
        .items()
        .len()
}

/// Sends one OTP WhatsApp accepts; returns (message id, wamid).
async fn sent(ctx: &Ctx, tenant: &Tenant, code: &str, phone: &str) -> (String, String) {
    let reply = ctx.send(tenant, otp(code, phone)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    (reply.body["id"].as_str().expect("id").to_owned(), ctx.last_wamid(tenant).await)
}

#[tokio::test]
async fn the_sms_fallback_is_off_until_an_operator_turns_it_on_and_takes_the_clients_own_texts() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    let profile = |ctx: &Ctx| {
        let client_id = tenant.client_id.clone();
        let store = ctx.admin.store.clone();
        async move { store.client_profile(&client_id).await.expect("read").expect("profile") }
    };
    assert!(!profile(&ctx).await.fallback_sms, "off by default");

    assert!(ctx.admin.set_fallback(&tenant.client_id, "sms").await.expect("on"));
    assert!(profile(&ctx).await.fallback_sms);
    ctx.admin.set_fallback_sms_text(&tenant.client_id, "ar", "رمزك: {CODE}").await.expect("ar text");
    ctx.admin.set_fallback_sms_text(&tenant.client_id, "en", "Code {CODE}").await.expect("en text");
    let texts = profile(&ctx).await.fallback_sms_texts;
    assert_eq!(
        (texts.get("en").map(String::as_str), texts.get("ar").map(String::as_str)),
        (Some("Code {CODE}"), Some("رمزك: {CODE}"))
    );
    assert!(profile(&ctx).await.sms_templates.is_empty(), "the Verify API's texts are another map");

    assert!(!ctx.admin.set_fallback(&tenant.client_id, "off").await.expect("off"));
    assert!(!profile(&ctx).await.fallback_sms);

    assert!(ctx.admin.set_fallback(&tenant.client_id, "whatsapp").await.is_err(), "only sms or off");
    assert!(ctx.admin.set_fallback_sms_text(&tenant.client_id, "en", "no code here").await.is_err());
    assert!(ctx.admin.set_fallback_sms_text(&tenant.client_id, "fr", "{CODE}").await.is_err());
    assert!(ctx.admin.set_fallback("no-such-client", "sms").await.is_err(), "an unknown client is refused");
    assert!(ctx.admin.store.client_profile("no-such-client").await.expect("read").is_none(), "and not made");
}

#[tokio::test]
async fn an_sms_part_has_its_own_price_per_country_and_a_zero_price_is_refused() {
    let ctx = Ctx::new().await;
    let sms = lightotp::domain::channel::Channel::Sms;
    let set = ctx.admin.set_channel_price("tl", sms, Credits::new(6)).await.expect("sms price");
    assert_eq!((set.region.as_str(), set.credits.get(), set.channel), ("TL", 6, sms));
    assert!(ctx.admin.set_channel_price("TL", sms, Credits::ZERO).await.is_err());
    assert!(ctx.admin.set_channel_price("XX1", sms, Credits::new(1)).await.is_err());
    let prices = ctx.admin.store.prices().await.expect("prices");
    let tl: Vec<(u64, &str)> =
        prices.iter().filter(|p| p.region == "TL").map(|p| (p.credits.get(), p.channel.as_str())).collect();
    assert_eq!(tl, [(6, "sms")], "the WhatsApp table has no TL price");
}

#[tokio::test]
async fn a_send_whatsapp_refuses_as_undeliverable_goes_by_sms_once_and_a_replay_returns_the_original_answer() {
    let ctx = Ctx::new().await;
    let tenant = fallback_client(&ctx, 100).await;
    ctx.admin.set_fallback_sms_text(&tenant.client_id, "ar", "رمز Acme: {CODE}").await.expect("ar text");
    let (phone, code) = (fresh_sa_phone(), distinctive_code());
    ctx.whatsapp_fails_next(&tenant, 1, refused_as_undeliverable()).await;
    let mut body = otp(&code, &phone);
    body["languageCode"] = json!("ar");
    body["idempotencyKey"] = json!(uuid::Uuid::new_v4().to_string());
    let reply = ctx.send(&tenant, body.clone()).await;
    assert_eq!(reply.status, 200, "the code reached the person: {:?}", reply.body);
    assert_eq!(reply.body["messageStatus"], "Pending");
    let id = reply.body["id"].as_str().expect("id").to_owned();

    assert_eq!(sms_texts(&ctx, &phone).await, [(format!("رمز Acme: {code}"), "Acme".to_owned())], "its text, sender");
    let status = status_of(&ctx, &tenant, &id).await;
    assert_eq!((status["channel"].as_str(), status["messageStatus"].as_str()), (Some("sms"), Some("Sent")));
    assert_eq!(status["failureCode"], Value::Null, "the failure fields describe the SMS");
    assert_eq!(status["fallback"]["failureCode"], 131026, "{status:?}");
    assert_eq!(status["fallback"]["failureTitle"], "Message undeliverable");
    assert!(status["fallback"]["failedAt"].as_str().is_some_and(|t| t.ends_with('Z')), "{status:?}");
    // WhatsApp's credit came back; one SMS part at the Saudi SMS price went.
    assert_eq!(ctx.balances(&tenant).await, [(100 - SA_SMS_PRICE, "Active")]);
    assert_eq!(kept_codes(&ctx, &tenant).await, 0, "the code went with the fallback");

    let replay = ctx.send(&tenant, body).await;
    assert_eq!((replay.status, &replay.body), (200, &reply.body), "the original answer, byte for byte");
    assert_eq!(sms_texts(&ctx, &phone).await.len(), 1, "a replay sends nothing");
    // The SMS counts toward the duplicate-send cooldown like any send that did not fail.
    let again = ctx.send(&tenant, otp(&distinctive_code(), &phone)).await;
    assert_eq!(again.status, 400, "{:?}", again.body);
    assert!(
        again.body["errorMessage"].as_str().is_some_and(|m| m.starts_with("You can't send another message")),
        "the cooldown: {:?}",
        again.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicated_failed_webhooks_racing_give_one_sms_and_whatsapp_statuses_after_it_change_nothing() {
    let ctx = Arc::new(Ctx::new().await);
    let tenant = fallback_client(&ctx, 100).await;
    let (phone, code) = (fresh_sa_phone(), distinctive_code());
    let mut body = otp(&code, &phone);
    body["idempotencyKey"] = json!(uuid::Uuid::new_v4().to_string());
    let first = ctx.send(&tenant, body.clone()).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let (id, wamid) = (first.body["id"].as_str().expect("id").to_owned(), ctx.last_wamid(&tenant).await);
    assert_eq!(kept_codes(&ctx, &tenant).await, 1, "kept while the window is open");
    assert_eq!(ctx.whatsapp_status(&wamid, "sent", None).await, 200);
    assert_eq!(ctx.balances(&tenant).await, [(99, "Active")]);

    let acknowledged = race(4, |_| {
        let (ctx, wamid) = (Arc::clone(&ctx), wamid.clone());
        async move { ctx.whatsapp_status(&wamid, "failed", Some(undeliverable())).await }
    })
    .await;
    assert_eq!(acknowledged, [200, 200, 200, 200], "every delivery is acknowledged");
    assert_eq!(sms_texts(&ctx, &phone).await, [(format!("Your verification code is: {code}"), "Acme".to_owned())]);
    assert_eq!(ctx.balances(&tenant).await, [(100 - SA_SMS_PRICE, "Active")], "refunded once, SMS charged once");
    assert_eq!(kept_codes(&ctx, &tenant).await, 0);

    for (status, error) in [("delivered", None), ("read", None), ("failed", Some(undeliverable()))] {
        assert_eq!(ctx.whatsapp_status(&wamid, status, error).await, 200, "{status}");
    }
    let status = status_of(&ctx, &tenant, &id).await;
    assert_eq!((status["channel"].as_str(), status["messageStatus"].as_str()), (Some("sms"), Some("Sent")));
    assert_eq!(status["fallback"]["failureReason"], "Recipient is not on WhatsApp");
    assert_eq!(sms_texts(&ctx, &phone).await.len(), 1);
    assert_eq!(ctx.balances(&tenant).await, [(100 - SA_SMS_PRICE, "Active")]);
    let replay = ctx.send(&tenant, body).await;
    assert_eq!((replay.status, &replay.body), (200, &first.body), "the original answer, unchanged by the fallback");
}

#[tokio::test]
async fn nothing_falls_back_when_off_for_our_own_errors_or_throttling_or_for_other_codes() {
    let ctx = Ctx::new().await;
    // Off (the default): failed and refunded as before, nothing kept.
    let off = ctx.tenant(TenantSpec { sms_sender: Some("Acme"), ..TenantSpec::default() }).await;
    let phone = fresh_sa_phone();
    let (id, wamid) = sent(&ctx, &off, &distinctive_code(), &phone).await;
    assert_eq!(kept_codes(&ctx, &off).await, 0, "no code is kept for a client without the fallback");
    assert_eq!(ctx.whatsapp_status(&wamid, "failed", Some(undeliverable())).await, 200);
    assert_eq!(status_of(&ctx, &off, &id).await["messageStatus"], "Failed");
    assert!(ctx.sms_to(&phone).await.is_empty());
    assert_eq!(ctx.balances(&off).await, [(100, "Active")]);

    // On, but WhatsApp refused because of our account, or throttled, or for the message itself.
    let on = fallback_client(&ctx, 100).await;
    let refusals = [
        (json!({"httpStatus": 401, "code": 190, "message": "(#190) Error validating access token"}), 500),
        (json!({"httpStatus": 429, "code": 130429, "message": "(#130429) Rate limit hit"}), 429),
        (json!({"httpStatus": 400, "code": 131056, "message": "(#131056) Pair rate limit hit"}), 400),
        (json!({"httpStatus": 400, "code": 132001, "message": "(#132001) Template does not exist"}), 400),
    ];
    for (plan, _) in &refusals {
        let phone = fresh_sa_phone();
        ctx.whatsapp_fails_next(&on, 1, plan.clone()).await;
        let reply = ctx.send(&on, otp(&distinctive_code(), &phone)).await;
        assert_ne!(reply.status, 200, "{plan}: {:?}", reply.body);
        assert!(ctx.sms_to(&phone).await.is_empty(), "{plan}: no SMS");
    }
    let phone = fresh_sa_phone();
    let (id, wamid) = sent(&ctx, &on, &distinctive_code(), &phone).await;
    let spam = json!({"code": 131048, "title": "Spam rate limit hit", "message": "Spam rate limit hit"});
    assert_eq!(ctx.whatsapp_status(&wamid, "failed", Some(spam)).await, 200);
    let status = status_of(&ctx, &on, &id).await;
    assert_eq!((status["channel"].as_str(), status["messageStatus"].as_str()), (Some("whatsapp"), Some("Failed")));
    assert_eq!(status["fallback"], Value::Null);
    assert!(ctx.sms_to(&phone).await.is_empty());
    assert_eq!(ctx.balances(&on).await, [(100, "Active")], "every attempt refunded, nothing charged for SMS");
}

#[tokio::test]
async fn without_credits_for_the_sms_the_message_fails_refunded_and_says_why() {
    let ctx = Ctx::new().await;
    // One credit: the WhatsApp attempt's refund is all there is, and the SMS costs two.
    let tenant = fallback_client(&ctx, 1).await;
    let phone = fresh_sa_phone();
    let (id, wamid) = sent(&ctx, &tenant, &distinctive_code(), &phone).await;
    assert_eq!(ctx.whatsapp_status(&wamid, "failed", Some(undeliverable())).await, 200);
    let status = status_of(&ctx, &tenant, &id).await;
    assert_eq!((status["channel"].as_str(), status["messageStatus"].as_str()), (Some("whatsapp"), Some("Failed")));
    assert_eq!(status["failureCode"], 131026);
    assert_eq!(
        status["failureReason"],
        "Recipient is not on WhatsApp. No SMS was sent instead: no active subscription could pay for it."
    );
    assert!(ctx.sms_to(&phone).await.is_empty());
    assert_eq!(ctx.balances(&tenant).await, [(1, "Active")], "the WhatsApp attempt refunded");
}

#[tokio::test]
async fn sns_refusing_the_sms_fails_the_message_on_sms_and_refunds_everything() {
    let ctx = Ctx::new().await;
    let tenant = fallback_client(&ctx, 100).await;
    let phone = fresh_sa_phone();
    ctx.sms_fails_next(&phone).await;
    ctx.whatsapp_fails_next(&tenant, 1, refused_as_undeliverable()).await;
    let reply = ctx.send(&tenant, otp(&distinctive_code(), &phone)).await;
    assert_eq!(reply.status, 400, "WhatsApp's refusal stands: {:?}", reply.body);
    assert_eq!(reply.body["messageStatus"], "Failed");
    let id = reply.body["id"].as_str().expect("id");
    let status = status_of(&ctx, &tenant, id).await;
    assert_eq!((status["channel"].as_str(), status["messageStatus"].as_str()), (Some("sms"), Some("Failed")));
    assert_eq!(status["failureTitle"], "SmsRefused");
    assert_eq!(status["fallback"]["failureCode"], 131026);
    assert_eq!(ctx.balances(&tenant).await, [(100, "Active")], "neither attempt is charged");
    // A failed message leaves the cooldown: the number may be sent to again at once.
    let again = ctx.send(&tenant, otp(&distinctive_code(), &phone)).await;
    assert_eq!(again.status, 200, "{:?}", again.body);
}

#[tokio::test]
async fn the_code_is_kept_sealed_never_in_clear_and_erased_on_delivery() {
    let ctx = Ctx::new().await;
    let tenant = fallback_client(&ctx, 100).await;
    let code = distinctive_code();
    let (id, wamid) = sent(&ctx, &tenant, &code, &fresh_sa_phone()).await;
    assert_eq!(kept_codes(&ctx, &tenant).await, 1);
    let stored = client_items(&ctx, &tenant).await;
    assert!(stored.contains(&id), "the query sees the message");
    assert!(!stored.contains(&code), "the code {code} is stored in clear: {stored}");
    assert_eq!(ctx.whatsapp_status(&wamid, "delivered", None).await, 200);
    assert_eq!(kept_codes(&ctx, &tenant).await, 0, "delivered: it will never fall back");

    // Our own logs (the fake WhatsApp plays Meta, which does see the code).
    let mut lines = 0;
    for entry in std::fs::read_dir(&ctx.logs_dir).expect("logs dir") {
        let path = entry.expect("entry").path();
        if path.file_name().is_some_and(|name| name.to_string_lossy().starts_with("fake-whatsapp")) {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("log");
        lines += text.lines().count();
        let leaked = text.split(|c: char| !c.is_ascii_alphanumeric()).any(|token| token == code);
        assert!(!leaked, "the code {code} appears in {}", path.display());
    }
    assert!(lines > 0, "the logs were read");
}

#[tokio::test]
async fn after_the_window_the_code_is_erased_and_a_failure_no_longer_falls_back() {
    let ctx = Ctx::exclusive().await;
    let tenant = fallback_client(&ctx, 100).await;
    let phone = fresh_sa_phone();
    let (id, wamid) = sent(&ctx, &tenant, &distinctive_code(), &phone).await;
    ctx.advance_clock(9.0 * 60.0).await;
    ctx.sweep().await;
    assert_eq!(kept_codes(&ctx, &tenant).await, 1, "still inside the window");
    ctx.advance_clock(61.0).await;
    ctx.sweep().await;
    assert_eq!(kept_codes(&ctx, &tenant).await, 0, "erased once the window closed");

    assert_eq!(ctx.whatsapp_status(&wamid, "failed", Some(undeliverable())).await, 200);
    let status = status_of(&ctx, &tenant, &id).await;
    assert_eq!((status["channel"].as_str(), status["messageStatus"].as_str()), (Some("whatsapp"), Some("Failed")));
    assert!(ctx.sms_to(&phone).await.is_empty());
    assert_eq!(ctx.balances(&tenant).await, [(100, "Active")]);
}

/// A client with the fallback on and no subscription yet.
async fn fallback_client_without_credits(ctx: &Ctx) -> Tenant {
    let tenant = ctx.fallback_tenant(TenantSpec { credits: None, ..TenantSpec::default() }).await;
    ctx.admin.set_channel_price("SA", Channel::Sms, Credits::new(SA_SMS_PRICE)).await.expect("SMS price");
    tenant
}

#[tokio::test]
async fn one_subscription_pays_the_sms_with_the_refund_in_the_same_write_and_its_low_balance_email_goes_once() {
    let ctx = Ctx::new().await;
    let tenant = fallback_client_without_credits(&ctx).await;
    // 3 credits, a threshold of 2 (70 %): the WhatsApp send leaves 2; the refund (+1) and the SMS (−2) leave 1,
    // below the threshold: this write claims the email.
    let now = time::OffsetDateTime::now_utc();
    ctx.admin.grant_subscription(&tenant.client_id, Credits::new(3), 70, now).await.expect("subscription");
    let phone = fresh_sa_phone();
    let (_, wamid) = sent(&ctx, &tenant, &distinctive_code(), &phone).await;
    assert_eq!(ctx.balances(&tenant).await, [(2, "Active")]);
    assert!(ctx.emails_to(&tenant).await.is_empty(), "still above the threshold");
    assert_eq!(ctx.whatsapp_status(&wamid, "failed", Some(undeliverable())).await, 200);
    assert_eq!(sms_texts(&ctx, &phone).await.len(), 1);
    assert_eq!(ctx.balances(&tenant).await, [(1, "Active")], "2 + 1 − 2");
    assert_eq!(ctx.emails_to(&tenant).await.len(), 1, "the SMS's debit crossed the threshold");

    // With exactly what the SMS needs after the refund, it takes the subscription to zero.
    let tenant = fallback_client_without_credits(&ctx).await;
    ctx.admin.grant_subscription(&tenant.client_id, Credits::new(2), 0, now).await.expect("subscription");
    let phone = fresh_sa_phone();
    let (_, wamid) = sent(&ctx, &tenant, &distinctive_code(), &phone).await;
    assert_eq!(ctx.whatsapp_status(&wamid, "failed", Some(undeliverable())).await, 200);
    assert_eq!(sms_texts(&ctx, &phone).await.len(), 1);
    assert_eq!(ctx.balances(&tenant).await, [(0, "Expired")], "2 − 1 + 1 − 2, never below zero");
}

#[tokio::test]
async fn another_subscription_pays_the_sms_when_the_one_refunded_cannot() {
    let ctx = Ctx::new().await;
    let tenant = fallback_client_without_credits(&ctx).await;
    let now = time::OffsetDateTime::now_utc();
    ctx.admin.grant_subscription(&tenant.client_id, Credits::new(10), 0, now).await.expect("older");
    ctx.admin
        .grant_subscription(&tenant.client_id, Credits::new(1), 0, now + time::Duration::seconds(1))
        .await
        .expect("newer");
    let phone = fresh_sa_phone();
    let (_, wamid) = sent(&ctx, &tenant, &distinctive_code(), &phone).await;
    assert_eq!(ctx.balances(&tenant).await, [(0, "Expired"), (10, "Active")], "the newest paid WhatsApp");
    assert_eq!(ctx.whatsapp_status(&wamid, "failed", Some(undeliverable())).await, 200);
    assert_eq!(sms_texts(&ctx, &phone).await.len(), 1);
    assert_eq!(ctx.balances(&tenant).await, [(1, "Active"), (10 - SA_SMS_PRICE, "Active")], "refunded; the older paid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_delivery_racing_a_failure_ends_either_delivered_then_failed_without_sms_or_on_sms_never_both() {
    let ctx = Arc::new(Ctx::new().await);
    let tenant = fallback_client(&ctx, 100).await;
    for _ in 0..4 {
        let phone = fresh_sa_phone();
        let before = ctx.balances(&tenant).await[0].0;
        let (id, wamid) = sent(&ctx, &tenant, &distinctive_code(), &phone).await;
        let answers = race(2, |i| {
            let (ctx, wamid) = (Arc::clone(&ctx), wamid.clone());
            async move {
                let (status, error) = if i == 0 { ("delivered", None) } else { ("failed", Some(undeliverable())) };
                ctx.whatsapp_status(&wamid, status, error).await
            }
        })
        .await;
        assert_eq!(answers, [200, 200]);
        let status = status_of(&ctx, &tenant, &id).await;
        let sms = ctx.sms_to(&phone).await.len();
        let balance = ctx.balances(&tenant).await[0].0;
        match status["channel"].as_str() {
            Some("sms") => assert_eq!((sms, balance), (1, before - SA_SMS_PRICE), "{status}"),
            _ => {
                // Delivered first: WhatsApp's later failure is applied as any (refunded), and no SMS follows.
                assert_eq!((status["messageStatus"].as_str(), sms, balance), (Some("Failed"), 0, before), "{status}");
            }
        }
        assert_eq!(kept_codes(&ctx, &tenant).await, 0, "the code is gone either way");
    }
}

#[tokio::test]
async fn a_handover_whose_sms_never_went_stays_watched_by_the_sweep_which_refunds_it_and_keeps_the_answer() {
    use lightotp::domain::cooldown::CooldownWindow;
    use lightotp::domain::language::HumanLanguage;
    use lightotp::domain::message::{MessageId, OriginalResponse};
    use lightotp::domain::phone::PhoneE164;
    use lightotp::domain::rate_limit::Counted;
    use lightotp::domain::subscription::{DebitGuard, choose_payer};
    use lightotp::store::{Charge, Failure, Handover, NewMessage, Reservation, SmsHandover};

    let ctx = Ctx::exclusive().await;
    let tenant = fallback_client(&ctx, 100).await;
    let store = &ctx.admin.store;
    let to = PhoneE164::parse(Some(&fresh_sa_phone())).expect("phone");
    // A send reserved with its code kept, as SendMessage does for a client with the fallback on.
    let rate = crate::helpers::rate_window(1_000);
    let context = store.send_context(&tenant.client_id, &to, None, &rate).await.expect("context");
    let profile = context.profile.expect("profile");
    let subscriptions = store.subscriptions_newest_first(&tenant.client_id).await.expect("subscriptions");
    let payer = choose_payer(&subscriptions, Credits::new(1)).expect("a payer").clone();
    let (id, now) = (MessageId::new_random(), ctx.gateway_now().await);
    let message = NewMessage {
        client_id: &tenant.client_id,
        id,
        to: &to,
        template: &profile.templates[0],
        cost: Credits::new(1),
        created_at: now,
        language: HumanLanguage::En,
        fallback_code: Some("sealed elsewhere".to_owned()),
    };
    let now_millis = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).expect("millis");
    let next = CooldownWindow::default().after_send(&id.to_string(), now_millis);
    let guard = DebitGuard::for_debit(&payer, Credits::new(1));
    let reserved = store
        .reserve(&message, &payer, guard, &context.cooldown, &next, None, Counted { window: &rate, counter: 0 })
        .await
        .expect("reserve");
    assert_eq!(reserved, Reservation::Reserved);

    // A `failed` webhook hands it over before the send recorded WhatsApp's answer, and its function then dies
    // before SNS: 99 + 1 − 2.
    let message_id = id.to_string();
    let purse = lightotp::domain::purse::charged_purse(&payer, Credits::new(1), guard, &message_id);
    let whatsapp = Charge {
        client_id: &tenant.client_id,
        message_id: &message_id,
        to_phone: to.as_str(),
        cost: Credits::new(1),
        subscription: Some(&payer.sort_key),
        purse,
        channel: Channel::WhatsApp,
    };
    let failure = Failure { code: Some(131026), title: Some("Message undeliverable".into()), reason: None };
    let mut after_refund = store.subscriptions_newest_first(&tenant.client_id).await.expect("subscriptions")[0].clone();
    after_refund.balance = after_refund.balance.saturating_add(Credits::new(1));
    after_refund.shares[purse] = after_refund.shares[purse].saturating_add(Credits::new(1));
    let handover = SmsHandover {
        whatsapp,
        failure: &failure,
        sms_cost: Credits::new(SA_SMS_PRICE),
        payer: &after_refund,
        guard: DebitGuard::for_debit(&after_refund, Credits::new(SA_SMS_PRICE)),
        replay: None,
        now,
    };
    assert_eq!(store.hand_over_to_sms(&handover).await.expect("handover"), Handover::HandedOver);
    assert_eq!(store.hand_over_to_sms(&handover).await.expect("again"), Handover::AlreadyDecided, "once");
    assert_eq!(ctx.balances(&tenant).await, [(100 - SA_SMS_PRICE, "Active")]);
    assert_eq!(kept_codes(&ctx, &tenant).await, 0);

    // The send's own record comes after: the answer is kept, the SMS leg stays where the sweep watches it.
    let answer =
        OriginalResponse { status: 200, body: format!("{{\"id\":\"{message_id}\",\"messageStatus\":\"Pending\"}}") };
    assert!(store.record_sent(&tenant.client_id, id, "wamid.raced", &answer, now).await.expect("record"));
    let status = status_of(&ctx, &tenant, &message_id).await;
    assert_eq!((status["channel"].as_str(), status["messageStatus"].as_str()), (Some("sms"), Some("Pending")));

    ctx.advance_clock(301.0).await;
    assert!(ctx.sweep().await >= 1, "the SMS leg was swept");
    let status = status_of(&ctx, &tenant, &message_id).await;
    assert_eq!((status["channel"].as_str(), status["messageStatus"].as_str()), (Some("sms"), Some("Failed")));
    assert_eq!(
        status["failureReason"],
        "The SMS fallback was charged but never handed to SNS; it was failed and refunded."
    );
    assert_eq!(ctx.balances(&tenant).await, [(100, "Active")], "both legs refunded");
    let stored = store.message(&tenant.client_id, id).await.expect("read").expect("message");
    assert_eq!(stored.replay, Some(answer), "the client's 200 stays what a retry replays");
}
