//! At most the credits granted: many SendMessage requests (to different numbers, so no cooldown applies) fired at
//! once at subscriptions that cannot pay for them all.

use lightotp::domain::pricing::Credits;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::helpers::{Ctx, TenantSpec, fresh_sa_phone, otp, race};

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn parallel_sends_never_overdraw_and_never_send_unpaid() {
    const CREDITS: u64 = 12;
    const REQUESTS: usize = 40;
    let ctx = Arc::new(Ctx::new().await);
    let tenant = Arc::new(ctx.tenant(TenantSpec { credits: Some(CREDITS), ..TenantSpec::default() }).await);
    let replies = race(REQUESTS, |i| {
        let (ctx, tenant) = (Arc::clone(&ctx), Arc::clone(&tenant));
        async move { ctx.send(&tenant, otp(&format!("{i:04}"), &fresh_sa_phone())).await }
    })
    .await;
    let mut accepted = 0;
    for reply in replies {
        match (reply.status, reply.body["errorMessage"].as_str()) {
            (200, _) => accepted += 1,
            (400, Some("InsufficientBalance")) => {}
            other => panic!("unexpected answer {other:?}: {:?}", reply.body),
        }
    }
    assert_eq!(accepted, CREDITS, "exactly as many accepted as there were credits");
    assert_eq!(ctx.balances(&tenant).await, [(0, "Expired")], "the balance ends at exactly zero");
    assert_eq!(ctx.whatsapp_messages(&tenant).await.len() as u64, CREDITS, "no message was sent unpaid");
}

/// The cost charged to each subscription by the tenant's messages, read from the table.
async fn charged_per_subscription(
    ctx: &Ctx,
    tenant: &crate::helpers::Tenant,
) -> std::collections::HashMap<String, u64> {
    let out = ctx
        .admin
        .store
        .client()
        .query()
        .table_name(ctx.admin.store.table())
        .key_condition_expression("pk = :pk AND begins_with(sk, :msg)")
        .expression_attribute_values(":pk", AttributeValue::S(format!("CLIENT#{}", tenant.client_id)))
        .expression_attribute_values(":msg", AttributeValue::S("MSG#".to_owned()))
        .consistent_read(true)
        .send()
        .await
        .expect("query messages");
    let mut charged = std::collections::HashMap::new();
    for item in out.items() {
        let payer = item["chargedSubscription"].as_s().expect("payer").clone();
        let cost: u64 = item["cost"].as_n().expect("cost").parse().expect("number");
        *charged.entry(payer).or_default() += cost;
    }
    charged
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn parallel_sends_across_several_subscriptions_never_split_a_message_nor_overdraw() {
    const REQUESTS: usize = 30;
    let ctx = Arc::new(Ctx::new().await);
    ctx.admin.set_price("EG", Credits::new(3)).await.expect("price EG");
    let tenant = Arc::new(ctx.tenant(TenantSpec { credits: Some(7), ..TenantSpec::default() }).await);
    let now = time::OffsetDateTime::now_utc();
    ctx.admin.grant_subscription(&tenant.client_id, Credits::new(5), 10, now).await.expect("sub");
    ctx.admin.grant_subscription(&tenant.client_id, Credits::new(4), 10, now).await.expect("sub");
    const GRANTED: u64 = 7 + 5 + 4;

    let replies = race(REQUESTS, |i| {
        let (ctx, tenant) = (Arc::clone(&ctx), Arc::clone(&tenant));
        // Every third message costs 3 credits (Egypt), the others 1.
        let (phone, cost) = if i % 3 == 0 {
            (format!("+2010{:08}", uuid::Uuid::new_v4().as_u128() % 100_000_000), 3)
        } else {
            (fresh_sa_phone(), 1)
        };
        async move { (ctx.send(&tenant, otp(&format!("{i:04}"), &phone)).await, cost) }
    })
    .await;
    let (mut spent, mut accepted, mut cheapest_refused) = (0, 0, u64::MAX);
    for (reply, cost) in replies {
        match (reply.status, reply.body["errorMessage"].as_str()) {
            (200, _) => {
                spent += cost;
                accepted += 1;
            }
            (400, Some("InsufficientBalance")) => cheapest_refused = cheapest_refused.min(cost),
            other => panic!("unexpected answer {other:?}: {:?}", reply.body),
        }
    }
    let balances = ctx.balances(&tenant).await;
    // Balances only go down: a message refused for its cost could not be paid by any one subscription then, so none
    // can pay it now either.
    let richest = balances.iter().map(|(balance, _)| *balance).max().unwrap_or(0);
    assert!(richest < cheapest_refused, "refused a message of {cheapest_refused} with {balances:?} left");
    let left: u64 = balances.iter().map(|(balance, _)| balance).sum();
    assert_eq!(left, GRANTED - spent, "balances {balances:?} sum to the credits granted minus those spent");

    // Each subscription paid exactly the costs of the messages charged to it, whole.
    let charged = charged_per_subscription(&ctx, &tenant).await;
    let subscriptions = ctx.admin.store.subscriptions_newest_first(&tenant.client_id).await.expect("subscriptions");
    for subscription in &subscriptions {
        let paid = charged.get(&subscription.sort_key).copied().unwrap_or(0);
        assert_eq!(subscription.granted.get() - subscription.balance.get(), paid, "subscription {}", subscription.id);
    }
    assert_eq!(ctx.whatsapp_messages(&tenant).await.len(), accepted, "every accepted message was sent, no other");
}
