//! The per-IP rate limit: 60 requests a minute across all endpoints, counted before the key is checked, keyed by the
//! connection's source IP (never a header).

use std::sync::Arc;

use crate::helpers::{Ctx, TenantSpec, client_from, fresh_sa_phone, otp, race, random_loopback};

#[tokio::test]
async fn the_61st_request_of_a_minute_from_one_ip_is_refused_and_other_ips_are_not() {
    let ctx = Ctx::exclusive().await;
    at_the_start_of_a_minute(&ctx).await;

    let ip = random_loopback();
    let client = client_from(ip);
    for i in 0..60 {
        // Alternating endpoints: the limit counts every endpoint together.
        let path = if i % 2 == 0 { "/SendMessage" } else { "/CheckMessageStatus" };
        let reply = ctx.post_from(&client, path, None, "{}", &[]).await;
        assert_eq!(reply.body["errorMessage"], "ApiKeyIsRequired", "request {} from {ip} is not limited", i + 1);
    }
    let limited = ctx.post_from(&client, "/SendMessage", None, "{}", &[("x-forwarded-for", "203.0.113.7")]).await;
    assert_eq!(
        (limited.status, limited.body["errorMessage"].as_str()),
        (429, Some("TooManyRequests")),
        "the 61st is refused before its (missing) key is looked at, whatever X-Forwarded-For says"
    );
    let retry_after: u64 = limited
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    let check = ctx.post_from(&client, "/CheckMessageStatus", None, "{}", &[]).await;
    assert_eq!(check.status, 429, "every endpoint is limited for that IP");

    let other = client_from(random_loopback());
    let reply = ctx.post_from(&other, "/SendMessage", None, "{}", &[]).await;
    assert_eq!(reply.body["errorMessage"], "ApiKeyIsRequired", "another IP is not limited");

    ctx.advance_clock(retry_after as f64).await;
    let next_minute = ctx.post_from(&client, "/SendMessage", None, "{}", &[]).await;
    assert_eq!(next_minute.body["errorMessage"], "ApiKeyIsRequired", "a new minute, a new allowance");
}

/// Starts the test at the beginning of a clock minute, so that all its requests count in one window.
async fn at_the_start_of_a_minute(ctx: &Ctx) {
    let now = ctx.gateway_now().await;
    ctx.advance_clock(f64::from(60 - u32::from(now.second())) + 0.5).await;
}

#[tokio::test]
async fn seventy_racing_sends_from_one_ip_send_and_charge_sixty_exactly() {
    // A SendMessage that passes is counted inside its reservation (docs/data-model.md, "SendMessage"): the limit
    // must hold there as it does for a counter written on its own.
    let ctx = Ctx::exclusive().await;
    let tenant = ctx.tenant(TenantSpec { credits: Some(100), ..TenantSpec::default() }).await;
    at_the_start_of_a_minute(&ctx).await;
    let client = Arc::new(client_from(random_loopback()));
    let ctx = Arc::new(ctx);
    let replies = race(70, |_| {
        let (ctx, client, key) = (Arc::clone(&ctx), Arc::clone(&client), tenant.api_key.clone());
        async move {
            let body = otp("482913", &fresh_sa_phone()).to_string();
            ctx.post_from(&client, "/SendMessage", Some(&key), &body, &[]).await.status
        }
    })
    .await;

    let sent = replies.iter().filter(|status| **status == 200).count();
    let limited = replies.iter().filter(|status| **status == 429).count();
    assert_eq!((sent, limited), (60, 10), "the minute's sixty, then 429: {replies:?}");
    assert_eq!(ctx.balances(&tenant).await, [(40, "Active")], "sixty charged, the refused nothing");
    assert_eq!(ctx.whatsapp_messages(&tenant).await.len(), 60, "sixty sent");
}

#[tokio::test]
async fn a_refusal_found_after_the_read_still_counts() {
    let ctx = Ctx::exclusive().await;
    let tenant = ctx.default_tenant().await;
    at_the_start_of_a_minute(&ctx).await;
    let client = client_from(random_loopback());
    let phone = fresh_sa_phone();
    let send = |phone: String| {
        let (ctx, client, key) = (&ctx, &client, tenant.api_key.clone());
        async move { ctx.post_from(client, "/SendMessage", Some(&key), &otp("482913", &phone).to_string(), &[]).await }
    };
    for i in 0..58 {
        let reply = ctx.post_from(&client, "/SendMessage", None, "{}", &[]).await;
        assert_eq!(reply.status, 400, "request {} is not limited", i + 1);
    }
    assert_eq!(send(phone.clone()).await.status, 200, "the 59th sends");
    let cooldown = send(phone).await;
    assert_eq!(cooldown.status, 400, "the 60th is refused by the cooldown: {:?}", cooldown.body);
    let limited = send(fresh_sa_phone()).await;
    assert_eq!(limited.status, 429, "the cooldown refusal counted: the 61st is limited: {:?}", limited.body);
    assert_eq!(ctx.balances(&tenant).await, [(99, "Active")], "one charged");
}

#[tokio::test]
async fn an_operator_raises_the_limit_of_a_clients_addresses_and_lowers_it_again() {
    let ctx = Ctx::exclusive().await;
    let tenant = ctx.default_tenant().await;
    let ip = random_loopback();
    let now = ctx.gateway_now().await;
    let raised = ctx.admin.raise_rate_limit(&tenant.client_id, &ip.to_string(), 70, now).await.expect("raised");
    assert_eq!((raised.range, raised.per_minute), (format!("{ip}/32"), 70));
    // Every function instance reads the raised limits again within a minute.
    ctx.advance_clock(61.0).await;
    at_the_start_of_a_minute(&ctx).await;

    let client = client_from(ip);
    for i in 0..70 {
        let reply = ctx.post_from(&client, "/SendMessage", None, "{}", &[]).await;
        assert_eq!(reply.status, 400, "request {} of the raised address is not limited", i + 1);
    }
    assert_eq!(ctx.post_from(&client, "/CheckMessageStatus", None, "{}", &[]).await.status, 429, "the 71st is");
    // A minute of its own for the other address too: 130 requests in one minute would need a fast machine.
    at_the_start_of_a_minute(&ctx).await;
    let other = client_from(random_loopback());
    for _ in 0..60 {
        ctx.post_from(&other, "/SendMessage", None, "{}", &[]).await;
    }
    assert_eq!(ctx.post_from(&other, "/SendMessage", None, "{}", &[]).await.status, 429, "others keep 60");

    ctx.admin.lower_rate_limit(&ip.to_string()).await.expect("lowered");
    ctx.advance_clock(61.0).await;
    at_the_start_of_a_minute(&ctx).await;
    for _ in 0..60 {
        ctx.post_from(&client, "/SendMessage", None, "{}", &[]).await;
    }
    assert_eq!(ctx.post_from(&client, "/SendMessage", None, "{}", &[]).await.status, 429, "back to 60");
}
