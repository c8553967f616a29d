//! Idempotency keys: a retry never sends or charges twice, a reused key is refused, a refused request binds nothing.

use lightotp::domain::pricing::Credits;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::helpers::{Ctx, TenantSpec, fresh_sa_phone, race};

fn keyed(code: &str, phone: &str, key: &str) -> Value {
    json!({"otpCode": code, "toPhoneE164": phone, "languageCode": "en", "idempotencyKey": key})
}

fn new_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[tokio::test]
async fn a_retry_with_the_same_key_replays_the_original_answer_without_sending_or_charging() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    let (key, phone) = (new_key(), fresh_sa_phone());
    let first = ctx.send(&tenant, keyed("482913", &phone, &key)).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    for _ in 0..3 {
        let again = ctx.send(&tenant, keyed("482913", &phone, &key)).await;
        assert_eq!((again.status, &again.body), (200, &first.body), "the same status and body, the same id");
    }
    // Another API key of the same client shares the key space (a retry after a key rotation is safe).
    let second_key = ctx.admin.create_key(&tenant.client_id, None, time::OffsetDateTime::now_utc()).await.expect("key");
    let body = keyed("482913", &phone, &key).to_string();
    let rotated = ctx.post_raw("/SendMessage", Some(&second_key.api_key), &body, &[]).await;
    assert_eq!((rotated.status, &rotated.body), (200, &first.body));

    assert_eq!(ctx.whatsapp_messages(&tenant).await.len(), 1, "sent once");
    assert_eq!(ctx.balances(&tenant).await, [(99, "Active")], "charged once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn fifty_parallel_requests_with_one_key_send_once_and_all_get_the_same_answer() {
    const REQUESTS: usize = 50;
    let ctx = Arc::new(Ctx::new().await);
    let tenant = Arc::new(ctx.default_tenant().await);
    let body = Arc::new(keyed("771234", &fresh_sa_phone(), &new_key()));
    let replies = race(REQUESTS, |_| {
        let (ctx, tenant, body) = (Arc::clone(&ctx), Arc::clone(&tenant), Arc::clone(&body));
        async move { ctx.send(&tenant, (*body).clone()).await }
    })
    .await;
    let mut answers = Vec::new();
    for mut reply in replies {
        // A request that met the first one still in flight may be told to come back; retried, it replays.
        for _ in 0..20 {
            if reply.status != 409 {
                break;
            }
            assert_eq!(reply.body["errorMessage"], "IdempotencyKeyInProgress");
            assert!(reply.headers.contains_key("retry-after"), "409 carries Retry-After");
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            reply = ctx.send(&tenant, (*body).clone()).await;
        }
        answers.push((reply.status, reply.body));
    }
    let first = answers[0].clone();
    assert_eq!(first.0, 200, "{:?}", first.1);
    assert!(answers.iter().all(|a| *a == first), "every answer is the same: {answers:?}");
    assert_eq!(ctx.whatsapp_messages(&tenant).await.len(), 1, "exactly one send");
    assert_eq!(ctx.balances(&tenant).await, [(99, "Active")], "exactly one charge");
}

#[tokio::test]
async fn a_key_reused_for_another_request_is_refused_and_nothing_is_sent() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    let (key, phone) = (new_key(), fresh_sa_phone());
    assert_eq!(ctx.send(&tenant, keyed("1111", &phone, &key)).await.status, 200);
    let others = [
        keyed("2222", &phone, &key),
        keyed("1111", &fresh_sa_phone(), &key),
        json!({"otpCode": "1111", "toPhoneE164": phone, "languageCode": "ar", "idempotencyKey": key}),
        json!({"otpCode": "1111", "toPhoneE164": phone, "idempotencyKey": key}),
    ];
    for body in others {
        let reply = ctx.send(&tenant, body.clone()).await;
        assert_eq!((reply.status, reply.body["errorMessage"].as_str()), (422, Some("IdempotencyKeyReused")), "{body}");
    }
    assert_eq!(ctx.whatsapp_messages(&tenant).await.len(), 1, "only the first request was sent");
    assert_eq!(ctx.balances(&tenant).await, [(99, "Active")]);

    // Keys are scoped to the client: another client may use the same key for its own message.
    let other = ctx.default_tenant().await;
    assert_eq!(ctx.send(&other, keyed("2222", &fresh_sa_phone(), &key)).await.status, 200);
}

#[tokio::test]
async fn a_refused_request_binds_nothing_and_its_key_works_later() {
    let ctx = Ctx::new().await;
    let tenant = ctx.tenant(TenantSpec { credits: None, ..TenantSpec::default() }).await;
    let (key, phone) = (new_key(), fresh_sa_phone());
    let refused = ctx.send(&tenant, keyed("1234", &phone, &key)).await;
    assert_eq!(refused.body["errorMessage"], "InsufficientBalance");
    // Not bound: a different request with the key is judged on its own (not 422) ...
    let different = ctx.send(&tenant, keyed("9999", &phone, &key)).await;
    assert_eq!(different.body["errorMessage"], "InsufficientBalance");
    // ... and once credits arrive, the key binds to the request that creates a message.
    ctx.admin
        .grant_subscription(&tenant.client_id, Credits::new(5), 10, time::OffsetDateTime::now_utc())
        .await
        .expect("grant");
    let sent = ctx.send(&tenant, keyed("1234", &phone, &key)).await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    assert_eq!(ctx.send(&tenant, keyed("1234", &phone, &key)).await.body, sent.body, "now it replays");

    // A cooldown refusal binds nothing either.
    let cooled_key = new_key();
    let cooled = ctx.send(&tenant, keyed("1234", &phone, &cooled_key)).await;
    assert_eq!(cooled.status, 400);
    assert!(cooled.body["errorMessage"].as_str().is_some_and(|m| m.starts_with("You can't send")), "{:?}", cooled.body);
    let other_request = ctx.send(&tenant, keyed("5555", &phone, &cooled_key)).await;
    assert_eq!(other_request.status, 400);
    assert!(
        other_request.body["errorMessage"].as_str().is_some_and(|m| m.starts_with("You can't send")),
        "judged again (cooldown), not IdempotencyKeyReused: {:?}",
        other_request.body
    );
    assert_eq!(ctx.whatsapp_messages(&tenant).await.len(), 1);
}

#[tokio::test]
async fn a_whatsapp_refusal_is_replayed_as_is_and_never_retried() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    ctx.whatsapp_fails_next(
        &tenant,
        1,
        json!({"httpStatus": 400, "code": 131026, "message": "(#131026) Message undeliverable"}),
    )
    .await;
    let (key, phone) = (new_key(), fresh_sa_phone());
    let first = ctx.send(&tenant, keyed("1234", &phone, &key)).await;
    assert_eq!((first.status, first.body["messageStatus"].as_str()), (400, Some("Failed")), "{:?}", first.body);
    let again = ctx.send(&tenant, keyed("1234", &phone, &key)).await;
    assert_eq!((again.status, &again.body), (400, &first.body), "the failure replays; a new key is needed to resend");
    assert!(ctx.whatsapp_messages(&tenant).await.is_empty(), "the replay did not try WhatsApp again");
    assert_eq!(ctx.balances(&tenant).await, [(100, "Active")]);

    let fresh = ctx.send(&tenant, keyed("1234", &phone, &new_key())).await;
    assert_eq!(fresh.status, 200, "a new key sends (and the failed send did not start a cooldown): {:?}", fresh.body);
}
