//! Authentication: the three documented key errors, in order, before the body is read, and nothing charged.

use serde_json::json;

use crate::helpers::{Ctx, SA_PHONE, otp};

#[tokio::test]
async fn the_key_is_checked_before_the_body_and_in_the_documented_order() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    let bad_body = "this is not json";
    let unknown = "lotp_0123456789abcdef_0000000000000000000000000000000000000000000000000000000000000000";
    let wrong_secret = format!("lotp_{}_{}", tenant.key_id, "f".repeat(64));
    let cases: [(Option<&str>, u16, &str); 6] = [
        (None, 400, "ApiKeyIsRequired"),
        (Some(""), 400, "ApiKeyIsRequired"),
        (Some("   "), 400, "ApiKeyIsRequired"),
        (Some("not-a-key"), 404, "ApiKeyNotFound"),
        (Some(unknown), 404, "ApiKeyNotFound"),
        (Some(&wrong_secret), 404, "ApiKeyNotFound"),
    ];
    for path in ["/SendMessage", "/CheckMessageStatus"] {
        for (key, status, code) in cases {
            let reply = ctx.post_raw(path, key, bad_body, &[]).await;
            assert_eq!(
                (reply.status, reply.body["errorMessage"].as_str()),
                (status, Some(code)),
                "{path} with key {key:?}"
            );
        }
    }
    assert!(ctx.whatsapp_messages(&tenant).await.is_empty(), "nothing was sent");
    assert_eq!(ctx.balances(&tenant).await, [(100, "Active")], "nothing was charged");
}

#[tokio::test]
async fn an_expired_key_is_refused_with_api_key_expired_even_with_a_bad_body() {
    let ctx = Ctx::exclusive().await;
    let tenant = ctx.default_tenant().await;
    let expires = ctx.gateway_now().await + time::Duration::minutes(30);
    let key =
        ctx.admin.create_key(&tenant.client_id, Some(expires), time::OffsetDateTime::now_utc()).await.expect("key");
    assert!(key.expires_at.is_some());

    let before = ctx.post_raw("/SendMessage", Some(&key.api_key), &otp("1234", SA_PHONE).to_string(), &[]).await;
    assert_eq!(before.status, 200, "the key works before it expires: {:?}", before.body);

    ctx.advance_clock(31.0 * 60.0).await;
    for body in [otp("1234", SA_PHONE).to_string(), "{".to_owned()] {
        let after = ctx.post_raw("/SendMessage", Some(&key.api_key), &body, &[]).await;
        assert_eq!((after.status, after.body["errorMessage"].as_str()), (400, Some("ApiKeyExpired")), "body {body}");
    }
    assert_eq!(ctx.whatsapp_messages(&tenant).await.len(), 1, "only the send before expiry went out");
    assert_eq!(ctx.balances(&tenant).await, [(99, "Active")], "only the send before expiry was charged");
}

#[tokio::test]
async fn a_revoked_key_stops_working_within_sixty_seconds() {
    let ctx = Ctx::exclusive().await;
    let tenant = ctx.default_tenant().await;
    let first = ctx.send(&tenant, otp("1234", SA_PHONE)).await;
    assert_eq!(first.status, 200, "{:?}", first.body);

    ctx.admin.revoke_key(&tenant.key_id, time::OffsetDateTime::now_utc()).await.expect("revoke");
    // The verifier cache may still hold the key for up to 60 s; after that it must be gone everywhere.
    ctx.advance_clock(61.0).await;
    let reply = ctx.check(&tenant, first.body["id"].as_str().expect("id")).await;
    assert_eq!((reply.status, reply.body["errorMessage"].as_str()), (404, Some("ApiKeyNotFound")));
    let reply = ctx.send(&tenant, json!({"otpCode": "1234", "toPhoneE164": SA_PHONE})).await;
    assert_eq!((reply.status, reply.body["errorMessage"].as_str()), (404, Some("ApiKeyNotFound")));
}

#[tokio::test]
async fn every_key_of_a_client_works_and_shows_a_recognisable_prefix() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    let second = ctx.admin.create_key(&tenant.client_id, None, time::OffsetDateTime::now_utc()).await.expect("key");
    assert!(second.api_key.starts_with("lotp_"), "prefix for secret scanners");
    assert_ne!(second.api_key, tenant.api_key);
    let sent = ctx.send(&tenant, otp("1234", SA_PHONE)).await;
    let id = sent.body["id"].as_str().expect("id");
    let reply = ctx.post_raw("/CheckMessageStatus", Some(&second.api_key), &json!({"id": id}).to_string(), &[]).await;
    assert_eq!(reply.status, 200, "a second key of the same client reads the message: {:?}", reply.body);
}

#[tokio::test]
async fn a_keys_use_is_recorded_to_the_hour_for_the_key_list() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    let listed = || async {
        let keys = ctx.admin.store.api_keys(&tenant.client_id).await.expect("keys");
        keys.into_iter().find(|k| k.key_id == tenant.key_id).expect("the key is listed").last_used_at
    };
    assert_eq!(listed().await, None, "a key never used has no last use");
    let before = ctx.gateway_now().await;
    let reply = ctx.send(&tenant, otp("4821", &crate::helpers::fresh_sa_phone())).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let hour =
        time::OffsetDateTime::from_unix_timestamp(before.unix_timestamp().div_euclid(3600) * 3600).expect("hour");
    let used = listed().await.expect("the use is recorded");
    // The gateway's clock may have crossed an hour between the two reads, never more.
    let recorded = lightotp::domain::time_format::parse_rfc3339(&used).expect("a timestamp");
    assert!(recorded == hour || recorded == hour + time::Duration::hours(1), "{used} is not the hour of the send");
}
