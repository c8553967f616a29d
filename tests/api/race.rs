//! At most the credits granted: many SendMessage requests (to different numbers, so no cooldown applies) fired at
//! once at subscriptions that cannot pay for them all.

use std::sync::Arc;

use tokio::sync::Barrier;

use crate::helpers::{Ctx, TenantSpec, fresh_sa_phone, otp};

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn parallel_sends_never_overdraw_and_never_send_unpaid() {
    const CREDITS: u64 = 12;
    const REQUESTS: usize = 40;
    let ctx = Arc::new(Ctx::new().await);
    let tenant = Arc::new(ctx.tenant(TenantSpec { credits: Some(CREDITS), ..TenantSpec::default() }).await);
    let barrier = Arc::new(Barrier::new(REQUESTS));
    let racers: Vec<_> = (0..REQUESTS)
        .map(|i| {
            let (ctx, tenant, barrier) = (Arc::clone(&ctx), Arc::clone(&tenant), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                ctx.send(&tenant, otp(&format!("{i:04}"), &fresh_sa_phone())).await
            })
        })
        .collect();
    let mut accepted = 0;
    for racer in racers {
        let reply = racer.await.expect("racer");
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
