//! The per-IP rate limit: 60 requests a minute across all endpoints, counted before the key is checked, keyed by the
//! connection's source IP (never a header).

use crate::helpers::{Ctx, client_from, random_loopback};

#[tokio::test]
async fn the_61st_request_of_a_minute_from_one_ip_is_refused_and_other_ips_are_not() {
    let ctx = Ctx::exclusive().await;
    // Keep the whole test inside one clock minute: start at the beginning of the next one.
    let now = ctx.gateway_now().await;
    ctx.advance_clock(f64::from(60 - u32::from(now.second())) + 0.5).await;

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
