//! Hostile input over HTTP (issue 14): oversized bodies get the deployed answer, never a 500 or a hang, and nothing
//! is charged.

use crate::helpers::{Ctx, fresh_sa_phone};

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
