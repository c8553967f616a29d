//! The duplicate-send cooldown: 30 s doubling to a 6 h cap, the streak reset after 6 quiet hours, failed and refused
//! sends not counting, the exact sentences and `Retry-After`, and parallel sends to one number.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::helpers::{Ctx, Reply, Tenant, TenantSpec, fresh_sa_phone, otp, race};

fn sentence(clock: &str) -> String {
    format!("You can't send another message to the same number yet. Please wait {clock} and try again.")
}

fn arabic_sentence(clock: &str) -> String {
    format!("لا يمكنك إرسال رسالة أخرى إلى الرقم نفسه بعد. يرجى الانتظار {clock} ثم المحاولة مرة أخرى.")
}

/// `HH:mm:ss`, as the sentences show a wait.
fn clock(seconds: u64) -> String {
    format!("{:02}:{:02}:{:02}", seconds / 3600, seconds % 3600 / 60, seconds % 60)
}

/// Asserts a cooldown refusal whose wait had `wait` seconds when it started and returns the whole seconds left. Wall
/// time runs between the requests (more than a second when the machine is busy), so up to `slack` seconds may have
/// gone; the sentence (in `language`) must say exactly what `Retry-After` says.
fn assert_refused(reply: &Reply, wait: u64, slack: u64, language: fn(&str) -> String, context: &str) -> u64 {
    assert_eq!(reply.status, 400, "{context}: {:?}", reply.body);
    let left = reply
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("{context}: Retry-After in seconds: {:?}", reply.headers));
    assert!((wait.saturating_sub(slack).max(1)..=wait).contains(&left), "{context}: {left} s left of {wait} s");
    assert_eq!(reply.body["errorMessage"], Value::from(language(&clock(left))), "{context}");
    left
}

async fn send_ok(ctx: &Ctx, tenant: &Tenant, phone: &str, context: &str) {
    let reply = ctx.send(tenant, otp("1234", phone)).await;
    assert_eq!(reply.status, 200, "{context}: {:?}", reply.body);
}

#[tokio::test]
async fn the_wait_doubles_from_30_seconds_to_the_6_hour_cap_and_resets_after_6_quiet_hours() {
    let ctx = Ctx::exclusive().await;
    let tenant = ctx.tenant(TenantSpec { credits: Some(100), ..TenantSpec::default() }).await;
    let phone = fresh_sa_phone();
    let waits: [u64; 11] = [30, 60, 120, 240, 480, 960, 1920, 3840, 7680, 15360, 21600];
    for (n, wait) in waits.into_iter().enumerate() {
        let n = n + 1;
        send_ok(&ctx, &tenant, &phone, &format!("send #{n}")).await;
        let refused = ctx.send(&tenant, otp("1234", &phone)).await;
        assert_refused(&refused, wait, 2, sentence, &format!("right after send #{n}"));
        ctx.advance_clock(wait as f64 - 5.0).await;
        let almost = ctx.send(&tenant, otp("1234", &phone)).await;
        let left = assert_refused(&almost, 5, 4, sentence, &format!("5 s before the wait after send #{n} ends"));
        ctx.advance_clock(left as f64).await;
    }
    // The 6 h cap ran out, which is also 6 quiet hours: the streak starts over at 30 s.
    send_ok(&ctx, &tenant, &phone, "first send of a new streak").await;
    assert_refused(&ctx.send(&tenant, otp("1234", &phone)).await, 30, 2, sentence, "after the reset");

    // A short streak also ends after 6 quiet hours.
    ctx.advance_clock(30.0).await;
    send_ok(&ctx, &tenant, &phone, "second send of the new streak").await;
    assert_refused(&ctx.send(&tenant, otp("1234", &phone)).await, 60, 2, sentence, "second of the new streak");
    ctx.advance_clock(6.0 * 3600.0).await;
    send_ok(&ctx, &tenant, &phone, "after 6 quiet hours").await;
    assert_refused(&ctx.send(&tenant, otp("1234", &phone)).await, 30, 2, sentence, "a fresh streak");
    assert_eq!(ctx.whatsapp_messages(&tenant).await.len(), 14, "refused sends were never sent");
}

#[tokio::test]
async fn the_refusal_is_in_arabic_for_ar_and_the_cooldown_wins_over_the_balance() {
    let ctx = Ctx::new().await;
    let tenant = ctx.tenant(TenantSpec { credits: Some(1), ..TenantSpec::default() }).await;
    let phone = fresh_sa_phone();
    send_ok(&ctx, &tenant, &phone, "the only credit").await;
    let body = otp("1234", &phone).to_string();
    let arabic = ctx.post_raw("/SendMessage", Some(&tenant.api_key), &body, &[("accept-language", "ar")]).await;
    assert_refused(&arabic, 30, 10, arabic_sentence, "cooldown before balance, in Arabic");
    let elsewhere = ctx.send(&tenant, otp("1234", &fresh_sa_phone())).await;
    assert_eq!(elsewhere.body["errorMessage"], "InsufficientBalance", "another number has no cooldown, only no credit");
}

#[tokio::test]
async fn the_cooldown_is_per_client_and_number_and_failed_sends_do_not_count() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    let other = ctx.default_tenant().await;
    let phone = fresh_sa_phone();

    ctx.whatsapp_fails_next(&tenant, 1, json!({"httpStatus": 400, "code": 131026})).await;
    let failed = ctx.send(&tenant, otp("1234", &phone)).await;
    assert_eq!(failed.status, 400, "{:?}", failed.body);
    send_ok(&ctx, &tenant, &phone, "a failed send started no cooldown").await;
    assert_refused(&ctx.send(&tenant, otp("1234", &phone)).await, 30, 10, sentence, "the counted send did");
    send_ok(&ctx, &other, &phone, "another client, same number").await;
    send_ok(&ctx, &tenant, &fresh_sa_phone(), "same client, another number").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn parallel_sends_to_one_number_let_exactly_one_through() {
    const REQUESTS: usize = 12;
    let ctx = Arc::new(Ctx::new().await);
    let tenant = Arc::new(ctx.default_tenant().await);
    let phone = Arc::new(fresh_sa_phone());
    let replies = race(REQUESTS, |i| {
        let (ctx, tenant, phone) = (Arc::clone(&ctx), Arc::clone(&tenant), Arc::clone(&phone));
        async move { ctx.send(&tenant, otp(&format!("{i:04}"), &phone)).await }
    })
    .await;
    let mut accepted = 0;
    for reply in replies {
        match reply.status {
            200 => accepted += 1,
            400 => assert!(
                reply.body["errorMessage"].as_str().is_some_and(|m| m.starts_with("You can't send")),
                "{:?}",
                reply.body
            ),
            other => panic!("unexpected {other}: {:?}", reply.body),
        }
    }
    assert_eq!(accepted, 1, "exactly one send gets through the cooldown");
    assert_eq!(ctx.whatsapp_messages(&tenant).await.len(), 1);
    assert_eq!(ctx.balances(&tenant).await, [(99, "Active")]);
}
