//! SendMessage: the happy path end to end, every validation error in the decided order, sender and template
//! checks, language matching, WhatsApp refusals, and Arabic human text.

use serde_json::{Value, json};

use crate::helpers::{Ctx, SA_PHONE, TenantSpec, fresh_sa_phone, otp};

#[tokio::test]
async fn a_send_reaches_whatsapp_as_an_authentication_template_and_is_pending() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    let reply = ctx.send(&tenant, json!({"otpCode": "482913", "toPhoneE164": SA_PHONE, "languageCode": "en"})).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.headers.get("content-type").and_then(|v| v.to_str().ok()), Some("application/json"));
    let id = reply.body["id"].as_str().expect("id").to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "id is a UUID: {id}");
    assert_eq!(reply.body, json!({"id": id, "messageStatus": "Pending"}), "exactly the documented body");

    let sent = ctx.whatsapp_messages(&tenant).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["to"], "966551234567");
    assert_eq!(sent[0]["code"], "482913");
    assert_eq!(sent[0]["template"], "otp_auth_en");
    assert_eq!(sent[0]["language"], "en");
    assert_eq!(
        sent[0]["bizOpaqueCallbackData"],
        format!("{}/{id}", tenant.client_id).as_str(),
        "our ids ride along for the webhooks"
    );
    assert_eq!(ctx.balances(&tenant).await, [(99, "Active")]);
}

#[tokio::test]
async fn every_validation_error_answers_its_code_in_the_decided_order_and_charges_nothing() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "OTPCodeIsRequired"),
        (json!({"otpCode": null, "toPhoneE164": "x"}), "OTPCodeIsRequired"),
        (json!({"otpCode": "", "toPhoneE164": SA_PHONE}), "OTPCodeIsRequired"),
        (json!({"otpCode": "123456789", "toPhoneE164": ""}), "OTPCodeLengthMustBeLessThanOrEqualTo8"),
        (json!({"otpCode": "12 34", "toPhoneE164": SA_PHONE}), "OTPCodeMustContainOnlyLettersOrDigits"),
        (json!({"otpCode": "١٢٣٤", "toPhoneE164": SA_PHONE}), "OTPCodeMustContainOnlyLettersOrDigits"),
        (json!({"otpCode": "12-4", "toPhoneE164": SA_PHONE}), "OTPCodeMustContainOnlyLettersOrDigits"),
        (json!({"otpCode": "1234"}), "DestinationPhoneNumberIsRequired"),
        (json!({"otpCode": "1234", "toPhoneE164": null}), "DestinationPhoneNumberIsRequired"),
        (json!({"otpCode": "1234", "toPhoneE164": ""}), "PhoneNumberCanNotBeEmpty"),
        (json!({"otpCode": "1234", "toPhoneE164": "   "}), "PhoneNumberCanNotBeEmpty"),
        (json!({"otpCode": "1234", "toPhoneE164": "0551234567"}), "InvalidphoneNumber"),
        (json!({"otpCode": "1234", "toPhoneE164": "+999999999999"}), "InvalidphoneNumber"),
        (json!({"otpCode": "1234", "toPhoneE164": "+966 55 123 4567"}), "InvalidphoneNumber"),
        (json!({"otpCode": "1234", "toPhoneE164": "00966551234567"}), "InvalidphoneNumber"),
        (json!({"otpCode": "1234", "toPhoneE164": "+9665512"}), "InvalidphoneNumber"),
        (json!({"otpCode": "1234", "toPhoneE164": SA_PHONE, "idempotencyKey": "nope"}), "InvalidIdempotencyKey"),
        (json!({"otpCode": "1234", "toPhoneE164": "+1", "idempotencyKey": "nope"}), "InvalidphoneNumber"),
        (json!({"otpCode": 1234, "toPhoneE164": SA_PHONE}), "InvalidRequestBody"),
        (json!({"otpCode": "1234", "toPhoneE164": 966551234567u64}), "InvalidRequestBody"),
        (json!({"otpCode": "1234", "toPhoneE164": SA_PHONE, "languageCode": 7}), "InvalidRequestBody"),
        (json!(["1234", SA_PHONE]), "InvalidRequestBody"),
        (json!("1234"), "InvalidRequestBody"),
    ];
    for (body, code) in &cases {
        let reply = ctx.send(&tenant, body.clone()).await;
        assert_eq!((reply.status, reply.body["errorMessage"].as_str()), (400, Some(*code)), "body {body}");
    }
    for raw in ["", "{", "null", "{\"otpCode\": \"12\""] {
        let reply = ctx.post_raw("/SendMessage", Some(&tenant.api_key), raw, &[]).await;
        assert_eq!(
            (reply.status, reply.body["errorMessage"].as_str()),
            (400, Some("InvalidRequestBody")),
            "raw {raw:?}"
        );
    }
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let body = otp("1234", SA_PHONE).to_string();
        let reply = ctx.post_raw("/SendMessage", Some(&tenant.api_key), &body, &[("content-type", content_type)]).await;
        assert_eq!(
            (reply.status, reply.body["errorMessage"].as_str()),
            (415, Some("UnsupportedMediaType")),
            "{content_type}"
        );
    }
    assert!(ctx.whatsapp_messages(&tenant).await.is_empty(), "nothing was sent");
    assert_eq!(ctx.balances(&tenant).await, [(100, "Active")], "nothing was charged");

    // Unknown fields are ignored and a charset parameter is fine.
    let body = json!({"otpCode": "AbC123", "toPhoneE164": "+14155552671", "extra": {"x": 1}}).to_string();
    let reply = ctx
        .post_raw("/SendMessage", Some(&tenant.api_key), &body, &[("content-type", "application/json; charset=utf-8")])
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
}

#[tokio::test]
async fn a_client_without_a_sender_or_a_matching_template_is_refused_and_not_charged() {
    let ctx = Ctx::new().await;
    let no_sender = ctx.tenant(TenantSpec { sender: false, ..TenantSpec::default() }).await;
    let reply = ctx.send(&no_sender, otp("1234", SA_PHONE)).await;
    assert_eq!((reply.status, reply.body["errorMessage"].as_str()), (404, Some("SenderNumberNotFound")));
    assert_eq!(ctx.balances(&no_sender).await, [(100, "Active")]);

    let no_template =
        ctx.tenant(TenantSpec { language: "en", templates: &[("otp_fr", "fr")], ..TenantSpec::default() }).await;
    let reply = ctx.send(&no_template, json!({"otpCode": "1234", "toPhoneE164": SA_PHONE, "languageCode": "de"})).await;
    assert_eq!((reply.status, reply.body["errorMessage"].as_str()), (404, Some("TemplateNotFound")));
    assert_eq!(ctx.balances(&no_template).await, [(100, "Active")]);
    assert!(ctx.whatsapp_messages(&no_template).await.is_empty());

    // Sender comes before template (docs/api.md, SendMessage: order of checks, steps 9–10).
    let neither = ctx.tenant(TenantSpec { sender: false, templates: &[], ..TenantSpec::default() }).await;
    let reply = ctx.send(&neither, otp("1234", SA_PHONE)).await;
    assert_eq!(reply.body["errorMessage"], "SenderNumberNotFound");
}

#[tokio::test]
async fn the_template_language_is_matched_exactly_then_by_base_then_by_the_client_default() {
    let ctx = Ctx::new().await;
    let tenant = ctx
        .tenant(TenantSpec {
            language: "ar",
            templates: &[("t_en", "en"), ("t_ar", "ar"), ("t_en_gb", "en_GB")],
            ..TenantSpec::default()
        })
        .await;
    let cases: [(Option<&str>, &str, &str); 6] = [
        (Some("en_GB"), "t_en_gb", "en_GB"),
        (Some("en-GB"), "t_en_gb", "en_GB"),
        (Some("en_US"), "t_en", "en"),
        (Some("fr"), "t_ar", "ar"),
        (Some("!!"), "t_ar", "ar"),
        (None, "t_ar", "ar"),
    ];
    for (i, (language, template, code)) in cases.iter().enumerate() {
        let mut body = otp(&format!("{i}000"), &fresh_sa_phone());
        if let Some(language) = language {
            body["languageCode"] = (*language).into();
        }
        let reply = ctx.send(&tenant, body).await;
        assert_eq!(reply.status, 200, "languageCode {language:?}: {:?}", reply.body);
        let sent = ctx.whatsapp_messages(&tenant).await;
        let last = sent.last().expect("a send");
        assert_eq!(
            (last["template"].as_str(), last["language"].as_str()),
            (Some(*template), Some(*code)),
            "languageCode {language:?}"
        );
    }
}

#[tokio::test]
async fn arabic_requests_get_arabic_descriptions_and_unchanged_codes() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    let body = json!({"otpCode": "123456789", "toPhoneE164": SA_PHONE}).to_string();
    let english = ctx.post_raw("/SendMessage", Some(&tenant.api_key), &body, &[]).await;
    let arabic = ctx
        .post_raw("/SendMessage", Some(&tenant.api_key), &body, &[("accept-language", "ar-SA,ar;q=0.9,en;q=0.5")])
        .await;
    assert_eq!(english.body["errorMessage"], arabic.body["errorMessage"], "codes are never translated");
    assert_eq!(arabic.body["errorMessage"], "OTPCodeLengthMustBeLessThanOrEqualTo8");
    assert_eq!(english.body["errorDescription"], "otpCode must be at most 8 characters.");
    let description = arabic.body["errorDescription"].as_str().expect("description");
    assert!(description.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)), "Arabic text: {description}");

    let no_key = ctx.post_raw("/CheckMessageStatus", None, "{}", &[("accept-language", "ar")]).await;
    assert_eq!(no_key.body["errorMessage"], "ApiKeyIsRequired");
    assert_eq!(no_key.body["errorDescription"], "ترويسة X-Api-Key مطلوبة.");
}

#[tokio::test]
async fn a_whatsapp_4xx_is_mirrored_with_the_failed_message_id_and_refunded() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    ctx.whatsapp_fails_next(
        &tenant,
        1,
        json!({"httpStatus": 400, "code": 131026, "title": "Message undeliverable", "message": "(#131026) Message undeliverable"}),
    )
    .await;
    let reply = ctx.send(&tenant, otp("1234", SA_PHONE)).await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert_eq!(reply.body["errorMessage"], "(#131026) Message undeliverable");
    assert_eq!(reply.body["messageStatus"], "Failed");
    let id = reply.body["id"].as_str().expect("the failed message's id");

    let status = ctx.check(&tenant, id).await;
    assert_eq!(status.status, 200);
    assert_eq!(status.body["messageStatus"], "Failed");
    assert_eq!(status.body["failureCode"], 131026);
    assert!(status.body["failureTitle"].is_string(), "{:?}", status.body);
    assert!(status.body["failureReason"].is_string(), "{:?}", status.body);
    assert!(status.body["failedAt"].as_str().is_some_and(|t| t.ends_with('Z')), "{:?}", status.body);
    assert_eq!(ctx.balances(&tenant).await, [(100, "Active")], "a failed message is not charged");
    assert!(ctx.whatsapp_messages(&tenant).await.is_empty());
}

#[tokio::test]
async fn a_whatsapp_refusal_caused_by_our_side_is_an_internal_error_refunded_with_its_code() {
    let ctx = Ctx::new().await;
    let plans = [
        (
            json!({"httpStatus": 401, "code": 190, "message": "(#190) Error validating access token: Session has expired"}),
            "190",
        ),
        (json!({"httpStatus": 403, "code": 10, "message": "(#10) Application does not have permission"}), "10"),
        (json!({"httpStatus": 400, "code": 131031, "message": "(#131031) Business Account locked"}), "131031"),
    ];
    for (plan, code) in plans {
        let tenant = ctx.default_tenant().await;
        ctx.whatsapp_fails_next(&tenant, 1, plan).await;
        let mut body = otp("1234", SA_PHONE);
        body["idempotencyKey"] = json!(uuid::Uuid::new_v4().to_string());
        let reply = ctx.send(&tenant, body.clone()).await;
        assert_eq!(
            (reply.status, reply.body["errorMessage"].as_str()),
            (500, Some("InternalServerError")),
            "code {code}: {:?}",
            reply.body
        );
        assert!(reply.body.get("id").is_none(), "code {code}: no id, as for any internal error: {:?}", reply.body);
        let text = reply.body.to_string();
        assert!(!text.contains(code), "code {code}: nothing of our account reaches the client: {text}");
        assert_eq!(ctx.send(&tenant, body).await.body, reply.body, "code {code}: a retry replays the same answer");
        assert_eq!(ctx.balances(&tenant).await, [(100, "Active")], "code {code}: not charged");
        assert_eq!(
            ctx.stored_messages(&tenant).await,
            [("Failed".to_owned(), Some(code.to_owned()), Some("WhatsAppAccountError".to_owned()))],
            "code {code}: stored Failed with WhatsApp's code"
        );
    }
}

#[tokio::test]
async fn a_whatsapp_5xx_after_retries_is_an_internal_error_and_refunded() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    ctx.whatsapp_fails_next(&tenant, 5, json!({"httpStatus": 503})).await;
    let reply = ctx.send(&tenant, otp("1234", SA_PHONE)).await;
    assert_eq!(
        (reply.status, reply.body["errorMessage"].as_str()),
        (500, Some("InternalServerError")),
        "{:?}",
        reply.body
    );
    assert_eq!(ctx.balances(&tenant).await, [(100, "Active")], "not charged");
    // The send made three attempts, so two planned failures remain: the next send meets both and its third
    // attempt succeeds.
    let next = ctx.send(&tenant, otp("1234", SA_PHONE)).await;
    assert_eq!(next.status, 200, "two failures left after three attempts: {:?}", next.body);
}

#[tokio::test]
async fn a_whatsapp_timeout_is_never_retried_so_the_user_never_gets_the_code_twice() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    // The fake accepts the message, but only after our 3 s timeout: WhatsApp may have delivered it.
    ctx.whatsapp_fails_next(&tenant, 3, json!({"delayMs": 3500})).await;
    let reply = ctx.send(&tenant, otp("1234", SA_PHONE)).await;
    assert_eq!(
        (reply.status, reply.body["errorMessage"].as_str()),
        (500, Some("InternalServerError")),
        "{:?}",
        reply.body
    );
    // The fake records a send when it finally answers, 3.5 s after it started. Every attempt started before our
    // 500, at least 3 s before it, so a second attempt would be recorded within 0.5 s of the 500: wait for the
    // first record, then well past that.
    let first_seen = std::time::Instant::now();
    while ctx.whatsapp_messages(&tenant).await.is_empty() && first_seen.elapsed() < std::time::Duration::from_secs(10) {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(ctx.whatsapp_messages(&tenant).await.len(), 1, "one attempt only: no second copy of the code");
    assert_eq!(ctx.balances(&tenant).await, [(100, "Active")], "not charged");
    ctx.whatsapp_fails_next(&tenant, 0, json!({})).await;
}
