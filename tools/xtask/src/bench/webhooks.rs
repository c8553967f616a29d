//! Client webhooks on the local stack: how many events a second it delivers. A client of the bench's own gets an
//! endpoint on a receiver in this process; its messages make one `message.delivered` each; then every one of those
//! events is redelivered at once and timed from the redelivery to the last arrival, so the figure is the delivery
//! pipeline's (the schedule, the queue, the attempts), not the API's. The first delivery of those events is also
//! metered: the write units each kind of item received per event, which give the ceiling of events a second one
//! endpoint takes (`ceiling::webhook_ceiling`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::cost::{Meter, item_kinds};
use super::{admin, json_reply};

/// The application id the local stack's delivery function signs its requests with (its logical id in
/// `template.yaml`, docs/local-stack.md).
const DELIVERY_FUNCTION: &str = "DeliverWebhooksFunction";

/// Events delivered per run.
pub const EVENTS: usize = 60;

/// A receiver on loopback that counts what it gets and answers 200.
async fn receiver() -> Result<(String, Arc<AtomicUsize>), String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let url = format!("http://{}/hooks", listener.local_addr().map_err(|e| e.to_string())?);
    let count = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&count);
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move || {
            let counted = Arc::clone(&counted);
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                "ok"
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, count))
}

/// Passes until `count` reaches `target` (or a minute passes); the seconds it took.
async fn until(api_url: &str, count: &AtomicUsize, target: usize) -> Result<f64, String> {
    let http = reqwest::Client::new();
    let started = Instant::now();
    while count.load(Ordering::SeqCst) < target {
        if started.elapsed() > Duration::from_secs(60) {
            return Err(format!("{} of {target} webhook events arrived in a minute", count.load(Ordering::SeqCst)));
        }
        json_reply(http.post(format!("{api_url}/_local/webhooks/deliver")), "a delivery pass").await?;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// The run: `EVENTS` events, delivered once as they happen, then all redelivered and timed.
pub async fn delivery_run(
    env: &[(String, String)],
    urls: (&str, &str),
    meter: &Meter,
    client_id: &str,
    api_key: &str,
    sender: &str,
    run_id: u32,
) -> Result<Value, String> {
    let (api_url, whatsapp_url) = urls;
    let (url, count) = receiver().await?;
    admin(env, &["webhook", "add", "--client", client_id, "--url", &url, "--events", "message.delivered"])?;
    let endpoint = admin(env, &["webhook", "list", "--client", client_id])?["endpoints"][0]["endpointId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let http = reqwest::Client::new();
    let units_before = meter.items(DELIVERY_FUNCTION).await?;
    let since = json_reply(http.get(format!("{api_url}/_local/clock")), "the stack's clock").await?["now"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for i in 0..EVENTS {
        let ip = std::net::Ipv4Addr::new(127, 78, (i / 250) as u8, (i % 250 + 1) as u8);
        let client =
            reqwest::Client::builder().local_address(std::net::IpAddr::V4(ip)).build().map_err(|e| e.to_string())?;
        let phone = super::events::phone(run_id, 30, i);
        let body = json!({"otpCode": "482913", "toPhoneE164": phone}).to_string();
        let request = client
            .post(format!("{api_url}/SendMessage"))
            .header("content-type", "application/json")
            .header("x-api-key", api_key)
            .body(body);
        json_reply(request, "a send for the webhook run").await?;
    }
    let sent = super::whatsapp_messages(whatsapp_url, sender).await?;
    for (wamid, _) in sent.iter().rev().take(EVENTS) {
        let status = json!({"wamid": wamid, "status": "delivered"});
        json_reply(http.post(format!("{whatsapp_url}/_fake/status")).json(&status), "a status webhook").await?;
    }
    until(api_url, &count, EVENTS).await?;
    // This client's log items, and the WEBHOOK shards of the index (shared with whatever else the stack delivered
    // meanwhile: nothing, on a stack the bench has to itself).
    let ours = |units: std::collections::BTreeMap<String, (f64, f64)>| {
        units
            .into_iter()
            .filter(|(item, _)| item.contains(client_id) || item.starts_with("pending-index / WEBHOOK"))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let (units_after, units_before) = (ours(meter.items(DELIVERY_FUNCTION).await?), ours(units_before));
    let per_event = item_kinds(&units_after, &units_before, EVENTS as f64);
    // The spread as it happened: the partition keys of the endpoint's log the events were written under.
    let log_partitions: std::collections::BTreeSet<&str> = units_after
        .iter()
        .filter(|(item, (_, units))| *units > units_before.get(*item).map_or(0.0, |(_, before)| *before))
        .filter_map(|(item, _)| item.split_once(" / ").map(|(pk, _)| pk))
        .filter(|pk| pk.contains("#WEBHOOK#"))
        .collect();
    let redelivered =
        admin(env, &["webhook", "redeliver", "--client", client_id, "--endpoint", &endpoint, "--since", &since])?;
    let scheduled = redelivered["scheduled"].as_u64().unwrap_or(0) as usize;
    let seconds = until(api_url, &count, EVENTS + scheduled).await?;
    Ok(json!({
        "events": scheduled,
        "seconds": seconds,
        "perSecond": scheduled as f64 / seconds.max(0.001),
        "writeUnitsPerEvent": per_event,
        "logPartitionsWritten": log_partitions.len(),
        "note": "redelivered events of one endpoint on loopback, through the stack's passes: the due-retry query and claims, the emulator's SQS, one attempt each (BatchGetItem, TransactWriteItems, the POST)",
    }))
}
