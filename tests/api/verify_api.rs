//! The Verify API: initiate sends a generated code by SMS (through the emulator's SNS), verify checks it once, with
//! every parameter message, charging by SMS parts to the wallet or a subscription, the initiate limits, and no code
//! ever stored or logged in clear.

use lightotp::domain::pricing::Credits;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};

use crate::helpers::{Ctx, Reply, Tenant, TenantSpec, fresh_sa_phone, race};

const INITIATE: &str = "/api/otp/initiate";
const VERIFY: &str = "/api/otp/verify";

/// A tenant with a wallet of `wallet` credits and `credits` on a subscription.
async fn tenant(ctx: &Ctx, wallet: u64, credits: Option<u64>) -> Tenant {
    let tenant = ctx.tenant(TenantSpec { credits, ..TenantSpec::default() }).await;
    if wallet > 0 {
        ctx.admin.top_up_wallet(&tenant.client_id, Credits::new(wallet)).await.expect("top up");
    }
    tenant
}

/// Initiates and returns (request id, the code read from the SMS, the SMS).
async fn initiate(ctx: &Ctx, tenant: &Tenant, body: Value) -> (String, String, Value) {
    let receiver = body["receiver"].as_str().expect("receiver");
    let phone = receiver.strip_prefix("00").map_or_else(|| receiver.to_owned(), |rest| format!("+{rest}"));
    let reply = ctx.verify_api(INITIATE, &tenant.api_key, &body).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let request_id = reply.body["request_id"].as_str().expect("request_id").to_owned();
    let (sms, code) = ctx.last_code_sent_to(&phone).await;
    (request_id, code, sms)
}

fn message(reply: &Reply) -> (u16, &str) {
    (reply.status, reply.body["message"].as_str().unwrap_or(""))
}

#[tokio::test]
async fn an_initiated_code_arrives_by_sms_and_verifies_exactly_once() {
    let ctx = Ctx::new().await;
    let tenant = tenant(&ctx, 10, None).await;
    let phone = fresh_sa_phone();
    let receiver = phone.replacen('+', "00", 1);
    let (request_id, code, sms) =
        initiate(&ctx, &tenant, json!({"receiver": receiver, "expiration": 3, "sender": "Acme"})).await;
    assert!(uuid::Uuid::parse_str(&request_id).is_ok());
    assert_eq!(sms["senderId"], "Acme");
    assert_eq!(sms["smsType"], "Transactional");
    assert_eq!(
        sms["message"],
        Value::from(format!("Your verification code is: {code}\nThis code expires in 3 minutes."))
    );
    assert_eq!(code.len(), 6, "6 digits by default");
    assert_eq!(
        ctx.admin.store.wallet_balance(&tenant.client_id).await.expect("wallet"),
        Credits::new(9),
        "one part from the wallet"
    );

    let ok = ctx.verify_api(VERIFY, &tenant.api_key, &json!({"request_id": request_id, "code": code})).await;
    assert_eq!((ok.status, &ok.body), (200, &json!({"request_id": request_id, "status": "verified"})));
    let again = ctx.verify_api(VERIFY, &tenant.api_key, &json!({"request_id": request_id, "code": code})).await;
    assert_eq!(message(&again), (400, "The code has already been used."));
}

#[tokio::test]
async fn five_wrong_codes_lock_the_request_even_for_the_right_code() {
    let ctx = Ctx::new().await;
    let tenant = tenant(&ctx, 10, None).await;
    let (request_id, code, _) = initiate(&ctx, &tenant, json!({"receiver": fresh_sa_phone(), "length": 4})).await;
    assert_eq!(code.len(), 4);
    let wrong = if code == "0000" { "1111" } else { "0000" };
    for attempt in 1..=5 {
        let reply = ctx.verify_api(VERIFY, &tenant.api_key, &json!({"request_id": request_id, "code": wrong})).await;
        assert_eq!(message(&reply), (400, "Invalid code."), "attempt {attempt}");
    }
    let right = ctx.verify_api(VERIFY, &tenant.api_key, &json!({"request_id": request_id, "code": code})).await;
    assert_eq!(message(&right), (400, "Too many attempts."));
}

#[tokio::test]
async fn a_code_expires_after_its_minutes_on_the_clock() {
    let ctx = Ctx::exclusive().await;
    let tenant = tenant(&ctx, 10, None).await;
    let (request_id, code, _) = initiate(&ctx, &tenant, json!({"receiver": fresh_sa_phone(), "expiration": 2})).await;
    ctx.advance_clock(119.0).await;
    let (second, second_code, _) =
        initiate(&ctx, &tenant, json!({"receiver": fresh_sa_phone(), "expiration": 2})).await;
    let still = ctx.verify_api(VERIFY, &tenant.api_key, &json!({"request_id": second, "code": second_code})).await;
    assert_eq!(still.status, 200, "a fresh code is fine");
    ctx.advance_clock(2.0).await;
    let late = ctx.verify_api(VERIFY, &tenant.api_key, &json!({"request_id": request_id, "code": code})).await;
    assert_eq!(message(&late), (400, "The code has expired."));
}

#[tokio::test]
async fn every_parameter_error_answers_its_message_and_charges_nothing() {
    let ctx = Ctx::new().await;
    let tenant = tenant(&ctx, 5, None).await;
    let phone = fresh_sa_phone();
    let with = |name: &str, value: Value| {
        let mut body = json!({"receiver": phone});
        body[name] = value;
        body
    };
    let cases = [
        (json!({}), "The receiver field is required."),
        (json!({"receiver": "966551234567"}), "Invalid phone number"),
        (json!({"receiver": "+999999999999"}), "Invalid phone number"),
        (with("lang", json!("fr")), "The lang field must be one of: ar, en."),
        (with("length", json!(8)), "The length field must be one of: 4, 6."),
        (with("expiration", json!(0)), "The expiration field must be between 1 and 10."),
        (with("expiration", json!(11)), "The expiration field must be between 1 and 10."),
        (with("sender", json!("TooLongSender")), "The sender field must be 1 to 11 letters or digits."),
        (with("payment_type", json!("credit")), "The payment_type field must be one of: wallet, subscription."),
    ];
    for (body, expected) in cases {
        let reply = ctx.verify_api(INITIATE, &tenant.api_key, &body).await;
        assert_eq!(message(&reply), (400, expected), "{body}");
    }
    for raw in ["[1,2]", "not json", ""] {
        let bearer = format!("Bearer {}", tenant.api_key);
        let reply = ctx.post_raw(INITIATE, None, raw, &[("authorization", bearer.as_str())]).await;
        assert_eq!(message(&reply), (400, "Invalid JSON body."), "{raw:?}");
    }
    assert!(ctx.sms_to(&phone).await.is_empty(), "nothing sent");
    assert_eq!(
        ctx.admin.store.wallet_balance(&tenant.client_id).await.expect("wallet"),
        Credits::new(5),
        "nothing charged"
    );

    for key in [None, Some("lotp_0123456789abcdef_".to_owned() + &"0".repeat(64)), Some("garbage".to_owned())] {
        let mut headers = Vec::new();
        let bearer = key.as_ref().map(|k| format!("Bearer {k}"));
        if let Some(bearer) = &bearer {
            headers.push(("authorization", bearer.as_str()));
        }
        let reply = ctx.post_raw(INITIATE, None, &json!({"receiver": phone}).to_string(), &headers).await;
        assert_eq!(message(&reply), (401, "Unauthenticated."), "key {key:?}");
    }
    let by_header = ctx
        .post_raw(VERIFY, Some(&tenant.api_key), &json!({"request_id": uuid::Uuid::new_v4()}).to_string(), &[])
        .await;
    assert_eq!(message(&by_header), (400, "The code field is required."), "X-Api-Key is accepted too");
}

#[tokio::test]
async fn arabic_costs_ucs2_parts_and_a_long_template_costs_two() {
    let ctx = Ctx::new().await;
    let tenant = tenant(&ctx, 20, None).await;
    let (_, code, sms) = initiate(&ctx, &tenant, json!({"receiver": fresh_sa_phone(), "lang": "ar"})).await;
    assert_eq!(sms["message"], Value::from(format!("رمز التحقق الخاص بك هو: {code}\nينتهي هذا الرمز خلال 5 دقائق.")));
    assert_eq!(
        ctx.admin.store.wallet_balance(&tenant.client_id).await.expect("wallet"),
        Credits::new(19),
        "Arabic fits one UCS-2 part"
    );

    // 80 Arabic characters: more than one UCS-2 part (70), fewer than two split parts (134).
    let long_arabic = format!("رمزك {{CODE}} {}", "ا".repeat(70));
    ctx.admin.set_sms_template(&tenant.client_id, "ar", &long_arabic).await.expect("template");
    let reply = ctx.verify_api(INITIATE, &tenant.api_key, &json!({"receiver": fresh_sa_phone(), "lang": "ar"})).await;
    assert_eq!((reply.status, reply.body["cost"].as_u64()), (200, Some(2)), "{:?}", reply.body);
    // 170 GSM characters: more than 160, two parts of 153.
    let long_english = format!("Your code: {{CODE}}. {}", "x".repeat(150));
    ctx.admin.set_sms_template(&tenant.client_id, "en", &long_english).await.expect("template");
    let reply = ctx.verify_api(INITIATE, &tenant.api_key, &json!({"receiver": fresh_sa_phone()})).await;
    assert_eq!((reply.status, reply.body["cost"].as_u64()), (200, Some(2)), "{:?}", reply.body);
    assert_eq!(ctx.admin.store.wallet_balance(&tenant.client_id).await.expect("wallet"), Credits::new(15));
}

#[tokio::test]
async fn the_wallet_and_the_subscription_are_charged_as_asked_and_402_when_short() {
    let ctx = Ctx::new().await;
    let tenant = tenant(&ctx, 1, Some(2)).await;
    let phone = fresh_sa_phone();
    let wallet = json!({"receiver": phone, "payment_type": "wallet"});
    assert_eq!(ctx.verify_api(INITIATE, &tenant.api_key, &wallet).await.status, 200);
    assert_eq!(ctx.admin.store.wallet_balance(&tenant.client_id).await.expect("wallet"), Credits::new(0));
    assert_eq!(ctx.balances(&tenant).await, [(2, "Active")], "the subscription is untouched");
    assert_eq!(message(&ctx.verify_api(INITIATE, &tenant.api_key, &wallet).await), (402, "Insufficient balance"));

    let subscription = json!({"receiver": phone, "payment_type": "subscription"});
    for balance in [1, 0] {
        assert_eq!(ctx.verify_api(INITIATE, &tenant.api_key, &subscription).await.status, 200);
        assert_eq!(ctx.balances(&tenant).await[0].0, balance);
    }
    assert_eq!(message(&ctx.verify_api(INITIATE, &tenant.api_key, &subscription).await), (402, "Insufficient balance"));
    assert_eq!(ctx.sms_to(&phone).await.len(), 3, "refused initiates send nothing");
}

#[tokio::test]
async fn the_eleventh_initiate_in_a_minute_to_one_number_is_refused_and_cools_off() {
    let ctx = Ctx::exclusive().await;
    let tenant = tenant(&ctx, 50, None).await;
    // Start 45 s into a minute: the eleven initiates stay in that minute, and the cool-off runs into the next one.
    let now = ctx.gateway_now().await;
    ctx.advance_clock(f64::from(60 - u32::from(now.second())) + 45.5).await;
    let phone = fresh_sa_phone();
    for n in 1..=10 {
        let reply = ctx.verify_api(INITIATE, &tenant.api_key, &json!({"receiver": phone})).await;
        assert_eq!(reply.status, 200, "initiate {n}: {:?}", reply.body);
    }
    let limited = ctx.verify_api(INITIATE, &tenant.api_key, &json!({"receiver": phone})).await;
    let limited_at = ctx.gateway_now().await;
    assert_eq!(message(&limited), (429, "Too many requests."));
    assert_eq!(limited.headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("60"));
    let other = ctx.verify_api(INITIATE, &tenant.api_key, &json!({"receiver": fresh_sa_phone()})).await;
    assert_eq!(other.status, 200, "another number is not limited");

    // The next minute would allow ten more, but the 60 s cool-off still runs, and says for how long.
    ctx.advance_clock(30.0).await;
    assert_ne!(ctx.gateway_now().await.minute(), limited_at.minute(), "in the next minute");
    let cooling = ctx.verify_api(INITIATE, &tenant.api_key, &json!({"receiver": phone})).await;
    assert_eq!(message(&cooling), (429, "Too many requests."), "cool-off");
    let left: u64 =
        cooling.headers.get("retry-after").and_then(|v| v.to_str().ok()?.parse().ok()).expect("Retry-After");
    assert!((20..=30).contains(&left), "about 30 s of cool-off left (less the requests' own time): {left}");
    ctx.advance_clock(31.0).await;
    let after = ctx.verify_api(INITIATE, &tenant.api_key, &json!({"receiver": phone})).await;
    assert_eq!(after.status, 200, "after the cool-off: {:?}", after.body);
    assert_eq!(ctx.sms_to(&phone).await.len(), 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn parallel_verifies_of_the_right_code_succeed_exactly_once() {
    const RACERS: usize = 8;
    let ctx = Arc::new(Ctx::new().await);
    let tenant = Arc::new(tenant(&ctx, 5, None).await);
    let (request_id, code, _) = initiate(&ctx, &tenant, json!({"receiver": fresh_sa_phone()})).await;
    let body = Arc::new(json!({"request_id": request_id, "code": code}));
    let replies = race(RACERS, |_| {
        let (ctx, tenant, body) = (Arc::clone(&ctx), Arc::clone(&tenant), Arc::clone(&body));
        async move { ctx.verify_api(VERIFY, &tenant.api_key, &body).await }
    })
    .await;
    let mut verified = 0;
    for reply in replies {
        match message(&reply) {
            (200, _) => verified += 1,
            (400, "The code has already been used.") => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(verified, 1);
}

#[tokio::test]
async fn another_clients_request_is_not_found_and_no_code_is_stored_or_logged_in_clear() {
    let ctx = Ctx::new().await;
    let owner = tenant(&ctx, 5, None).await;
    let stranger = tenant(&ctx, 5, None).await;
    let (request_id, code, _) = initiate(&ctx, &owner, json!({"receiver": fresh_sa_phone()})).await;
    for id in [request_id.clone(), uuid::Uuid::new_v4().to_string(), "nope".to_owned()] {
        let reply = ctx.verify_api(VERIFY, &stranger.api_key, &json!({"request_id": id, "code": code})).await;
        assert_eq!(message(&reply), (404, "Not found."), "request_id {id}");
    }
    let ok = ctx.verify_api(VERIFY, &owner.api_key, &json!({"request_id": request_id, "code": code})).await;
    assert_eq!(ok.status, 200);

    // Every item of the client, every attribute: the code never appears as a value or inside one.
    let items = ctx
        .admin
        .store
        .client()
        .query()
        .table_name(ctx.admin.store.table())
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(format!("CLIENT#{}", owner.client_id)))
        .consistent_read(true)
        .send()
        .await
        .expect("query");
    assert!(items.count() >= 3, "profile, wallet, request at least");
    let stored = format!("{:?}", items.items());
    assert!(stored.contains(&request_id), "the scan sees the request");
    assert!(!stored.contains(&code), "the code {code} is stored in clear: {stored}");

    // Every log line of every part of the stack: the code never appears as a token.
    let mut lines = 0;
    for entry in std::fs::read_dir(&ctx.logs_dir).expect("logs dir") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("log");
        lines += text.lines().count();
        let leaked = text.split(|c: char| !c.is_ascii_alphanumeric()).any(|token| token == code);
        assert!(!leaked, "the code {code} appears in a log line");
    }
    assert!(lines > 0, "the logs were read");
}

#[tokio::test]
async fn an_sms_that_sns_refuses_is_refunded_and_cannot_be_verified() {
    let ctx = Ctx::new().await;
    let tenant = tenant(&ctx, 3, None).await;
    let phone = fresh_sa_phone();
    ctx.sms_fails_next(&phone).await;
    let refused = ctx.verify_api(INITIATE, &tenant.api_key, &json!({"receiver": phone})).await;
    assert_eq!(message(&refused), (500, "Server Error."));
    assert_eq!(ctx.admin.store.wallet_balance(&tenant.client_id).await.expect("wallet"), Credits::new(3), "refunded");
    assert!(ctx.sms_to(&phone).await.is_empty(), "nothing was sent");
    let next = ctx.verify_api(INITIATE, &tenant.api_key, &json!({"receiver": phone})).await;
    assert_eq!(next.status, 200, "the failure was injected once: {:?}", next.body);
    assert_eq!(ctx.admin.store.wallet_balance(&tenant.client_id).await.expect("wallet"), Credits::new(2));
}
