//! Billing: pricing by destination country, the choice between subscriptions, expiry at zero, and refusals
//! charging nothing. Only these tests price countries (EG and GB); every other test sends to SA or US.

use serde_json::json;

use lightotp::domain::phone::PhoneE164;
use lightotp::domain::pricing::Credits;

use crate::helpers::{Ctx, TenantSpec, fresh_sa_phone, otp};

/// A fresh valid number of `region` (each send goes to a new number, so no cooldown applies).
fn fresh(region: &str) -> String {
    let n = uuid::Uuid::new_v4().as_u128();
    let phone = match region {
        "EG" => format!("+2010{:08}", n % 100_000_000),
        "GB" => format!("+447400{:06}", n % 1_000_000),
        "US" => format!("+1415{}{:06}", 2 + n % 8, n % 1_000_000),
        _ => fresh_sa_phone(),
    };
    let parsed = PhoneE164::parse(Some(&phone)).unwrap_or_else(|e| panic!("{phone} should be valid: {e}"));
    assert_eq!(parsed.region().as_str(), region, "{phone}");
    phone
}

#[tokio::test]
async fn messages_cost_the_destination_countrys_price_and_unlisted_countries_one_credit() {
    let ctx = Ctx::new().await;
    ctx.admin.set_price("eg", Credits::new(3)).await.expect("price EG");
    ctx.admin.set_price("GB", Credits::new(2)).await.expect("price GB");
    let tenant = ctx.tenant(TenantSpec { credits: Some(50), ..TenantSpec::default() }).await;
    for (region, expected_balance) in [("EG", 47), ("GB", 45), ("US", 44), ("SA", 43)] {
        let phone = fresh(region);
        let reply = ctx.send(&tenant, otp("1234", &phone)).await;
        assert_eq!(reply.status, 200, "{phone}: {:?}", reply.body);
        assert_eq!(ctx.balances(&tenant).await, [(expected_balance, "Active")], "after a send to {phone}");
    }
}

#[tokio::test]
async fn the_newest_active_subscription_that_covers_the_whole_cost_pays_and_none_is_split() {
    let ctx = Ctx::new().await;
    ctx.admin.set_price("EG", Credits::new(3)).await.expect("price EG");
    let tenant = ctx.tenant(TenantSpec { credits: Some(10), ..TenantSpec::default() }).await;
    ctx.admin
        .grant_subscription(&tenant.client_id, Credits::new(2), 10, time::OffsetDateTime::now_utc())
        .await
        .expect("newer sub");
    // Newest first: [2 credits, 10 credits].
    assert_eq!(ctx.balances(&tenant).await, [(2, "Active"), (10, "Active")]);

    let reply = ctx.send(&tenant, otp("1234", &fresh("EG"))).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(ctx.balances(&tenant).await, [(2, "Active"), (7, "Active")], "cost 3: the newer cannot cover it");

    let reply = ctx.send(&tenant, otp("1234", &fresh("SA"))).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(ctx.balances(&tenant).await, [(1, "Active"), (7, "Active")], "cost 1: the newest pays");

    for _ in 0..2 {
        assert_eq!(ctx.send(&tenant, otp("1234", &fresh("EG"))).await.status, 200);
    }
    assert_eq!(ctx.balances(&tenant).await, [(1, "Active"), (1, "Active")]);
    let reply = ctx.send(&tenant, otp("1234", &fresh("EG"))).await;
    assert_eq!(
        (reply.status, reply.body["errorMessage"].as_str()),
        (400, Some("InsufficientBalance")),
        "2 credits across two subscriptions never pay for a 3-credit message"
    );
    assert_eq!(ctx.balances(&tenant).await, [(1, "Active"), (1, "Active")], "nothing charged when refused");
}

#[tokio::test]
async fn a_subscription_expires_at_zero_and_then_the_client_has_insufficient_balance() {
    let ctx = Ctx::new().await;
    let tenant = ctx.tenant(TenantSpec { credits: Some(1), ..TenantSpec::default() }).await;
    let reply = ctx.send(&tenant, otp("1234", &fresh("SA"))).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(ctx.balances(&tenant).await, [(0, "Expired")], "balance 0 means expired");

    let reply = ctx.send(&tenant, json!({"otpCode": "5678", "toPhoneE164": fresh("SA")})).await;
    assert_eq!((reply.status, reply.body["errorMessage"].as_str()), (400, Some("InsufficientBalance")));
    assert_eq!(ctx.whatsapp_messages(&tenant).await.len(), 1, "the refused message was not sent");
    assert_eq!(ctx.balances(&tenant).await, [(0, "Expired")]);

    let none = ctx.tenant(TenantSpec { credits: None, ..TenantSpec::default() }).await;
    let reply = ctx.send(&none, otp("1234", &fresh("SA"))).await;
    assert_eq!(
        (reply.status, reply.body["errorMessage"].as_str()),
        (400, Some("InsufficientBalance")),
        "no subscription at all"
    );
}
