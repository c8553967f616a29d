//! CheckMessageStatus: every documented field, the id rules, and tenant isolation.

use serde_json::json;

use crate::helpers::{Ctx, SA_PHONE, otp};

fn is_rfc3339_utc_millis(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    raw.len() == 24
        && bytes[10] == b'T'
        && bytes[19] == b'.'
        && raw.ends_with('Z')
        && bytes[20..23].iter().all(u8::is_ascii_digit)
        && lightotp::domain::time_format::parse_rfc3339(raw).is_some()
}

#[tokio::test]
async fn a_sent_message_reads_back_with_every_documented_field() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    let sent = ctx.send(&tenant, otp("482913", SA_PHONE)).await;
    let id = sent.body["id"].as_str().expect("id").to_owned();
    let reply = ctx.check(&tenant, &id).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let created_at = reply.body["createdAt"].as_str().expect("createdAt").to_owned();
    assert!(is_rfc3339_utc_millis(&created_at), "createdAt {created_at}");
    assert_eq!(
        reply.body,
        json!({
            "id": id,
            "messageStatus": "Pending",
            "toPhoneE164": SA_PHONE,
            "createdAt": created_at,
            "failureCode": null,
            "failureTitle": null,
            "failureReason": null,
            "failedAt": null,
            "channel": "whatsapp",
            "fallback": null,
        }),
        "exactly the documented fields"
    );
    assert!(!reply.body.to_string().contains("482913"), "the code is never returned");
}

#[tokio::test]
async fn missing_malformed_unknown_and_foreign_ids_answer_as_decided() {
    let ctx = Ctx::new().await;
    let owner = ctx.default_tenant().await;
    let stranger = ctx.default_tenant().await;
    let sent = ctx.send(&owner, otp("1234", SA_PHONE)).await;
    let id = sent.body["id"].as_str().expect("id");

    for body in [json!({}), json!({"id": null}), json!({"id": ""}), json!({"id": "  "})] {
        let reply = ctx.post_raw("/CheckMessageStatus", Some(&stranger.api_key), &body.to_string(), &[]).await;
        assert_eq!(
            (reply.status, reply.body["errorMessage"].as_str()),
            (400, Some("MessageIdIsRequired")),
            "body {body}"
        );
    }
    let unknown = uuid::Uuid::new_v4().to_string();
    for raw in ["not-a-uuid", "123", unknown.as_str(), id] {
        let reply = ctx.check(&stranger, raw).await;
        assert_eq!((reply.status, reply.body["errorMessage"].as_str()), (404, Some("MessageNotFound")), "id {raw}");
    }
    let reply = ctx.post_raw("/CheckMessageStatus", Some(&stranger.api_key), &json!({"id": 5}).to_string(), &[]).await;
    assert_eq!((reply.status, reply.body["errorMessage"].as_str()), (400, Some("InvalidRequestBody")));
    let reply = ctx.check(&owner, id).await;
    assert_eq!(reply.status, 200, "the owner still reads it");
}
