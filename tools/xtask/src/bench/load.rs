//! A load run of the local stack: many concurrent SendMessage clients on loopback, beside the emulator's own
//! ceiling and how busy the emulator was, so the reader can tell which one limits.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::cost::Meter;
use super::percentile;

/// Concurrent clients on loopback for the load run, and how long it lasts.
pub const LOAD_CLIENTS: usize = 16;
pub const LOAD_SECONDS: u64 = 20;

/// Requests one loopback address sends before its client moves to the next: under the local stack's per-IP limit
/// (60 a minute), so that the limit never answers.
const SENDS_PER_ADDRESS: usize = 50;

/// The loopback address (its number, for [`loopback_client`]) a worker's `sent`-th request goes from.
fn address_of(worker: usize, sent: usize) -> usize {
    worker * 100 + sent / SENDS_PER_ADDRESS % 100
}

fn loopback_client(n: usize) -> Result<reqwest::Client, String> {
    let ip = std::net::Ipv4Addr::new(127, 77, (n / 250) as u8, (n % 250 + 1) as u8);
    reqwest::Client::builder().local_address(std::net::IpAddr::V4(ip)).build().map_err(|e| e.to_string())
}

/// What a failed request answered: its status and the body's `errorMessage` (docs/api.md, "Errors"), or the
/// transport's failure.
async fn refusal(reply: reqwest::Result<reqwest::Response>) -> String {
    let response = match reply {
        Ok(response) => response,
        Err(e) if e.is_timeout() => return "timeout".to_owned(),
        Err(_) => return "no answer".to_owned(),
    };
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or_default();
    match body["errorMessage"].as_str() {
        // The cooldown's sentence and WhatsApp's messages are text, not codes: their first words say which.
        Some(message) => format!("{status} {}", message.chars().take(40).collect::<String>()),
        None => status.to_string(),
    }
}

/// Failed requests by what they answered, in a stable order.
type Errors = std::collections::BTreeMap<String, usize>;

fn rate_and_percentiles(mut latencies: Vec<Duration>, seconds: f64, errors: Errors) -> Value {
    latencies.sort();
    json!({
        "requests": latencies.len(),
        "errors": errors.values().sum::<usize>(),
        "errorsBy": errors,
        "perSecond": latencies.len() as f64 / seconds,
        "seconds": seconds,
        "latencyMs": { "p50": percentile(&latencies, 0.5), "p90": percentile(&latencies, 0.9), "p99": percentile(&latencies, 0.99) },
    })
}

/// Many concurrent SendMessage clients against the local stack (each from its own loopback address, renewed every
/// 50 requests so the per-IP limit never answers), beside the emulator's own ceiling for a trivial request, so the
/// reader can tell which one limits.
pub async fn load_run(api_url: &str, aws_url: &str, api_key: &str) -> Result<Value, String> {
    let meter = Meter::new(aws_url);
    let busy_before = meter.busy_seconds_of_the_stack().await?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(LOAD_SECONDS);
    let mut tasks = Vec::new();
    for worker in 0..LOAD_CLIENTS {
        let (api_url, api_key) = (api_url.to_owned(), api_key.to_owned());
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut errors, mut sent) = (Vec::new(), Errors::new(), 0usize);
            let mut address = address_of(worker, 0);
            let mut client = loopback_client(address)?;
            while Instant::now() < deadline {
                let due = address_of(worker, sent);
                if due != address {
                    address = due;
                    client = loopback_client(address)?;
                }
                let phone = format!("+96656{:03}{:04}", worker, sent % 10_000);
                let started = Instant::now();
                let reply = client
                    .post(format!("{api_url}/SendMessage"))
                    .header("content-type", "application/json")
                    .header("x-api-key", &api_key)
                    .body(json!({"otpCode": "482913", "toPhoneE164": phone}).to_string())
                    .send()
                    .await;
                match reply {
                    Ok(response) if response.status().is_success() => latencies.push(started.elapsed()),
                    reply => *errors.entry(refusal(reply).await).or_default() += 1,
                }
                sent += 1;
            }
            Ok::<_, String>((latencies, errors))
        }));
    }
    let (mut latencies, mut errors) = (Vec::new(), Errors::new());
    for task in tasks {
        let (l, e) = task.await.map_err(|e| e.to_string())??;
        latencies.extend(l);
        for (answer, count) in e {
            *errors.entry(answer).or_default() += count;
        }
    }
    // The run lasts until the last request sent before the deadline is answered.
    let elapsed = started.elapsed().as_secs_f64();
    let send = rate_and_percentiles(latencies, elapsed, errors);
    // Serialized, the emulator answers one request at a time: busy ~100 % of the run means it is the limit.
    let busy = (meter.busy_seconds_of_the_stack().await? - busy_before) / elapsed;

    // The emulator alone: a consistent GetItem of an absent key (moto's DescribeTable counts every item, so it slows
    // down as the table grows), as fast as it answers.
    let deadline = Instant::now() + Duration::from_secs(LOAD_SECONDS / 2);
    let mut tasks = Vec::new();
    for _ in 0..LOAD_CLIENTS {
        let aws_url = aws_url.to_owned();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let started = Instant::now();
                let ok = client
                    .post(format!("{aws_url}/"))
                    .header("x-amz-target", "DynamoDB_20120810.GetItem")
                    .header("content-type", "application/x-amz-json-1.0")
                    .header(
                        "authorization",
                        "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
                    )
                    .body(r#"{"TableName":"lightotp","Key":{"pk":{"S":"BENCH#absent"},"sk":{"S":"BENCH#absent"}},"ConsistentRead":true}"#)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if ok {
                    latencies.push(started.elapsed());
                }
            }
            latencies
        }));
    }
    let mut emulator = Vec::new();
    for task in tasks {
        emulator.extend(task.await.map_err(|e| e.to_string())?);
    }
    let ceiling = rate_and_percentiles(emulator, (LOAD_SECONDS / 2) as f64, Errors::new());
    Ok(
        json!({ "clients": LOAD_CLIENTS, "seconds": LOAD_SECONDS, "sendMessage": send, "emulatorBusy": busy, "emulatorGetItem": ceiling }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_loopback_address_sends_more_than_its_share() {
        // Until 2026-12-03 the first address also took the second fifty (99 requests, past the local limit of 60 a
        // minute), and the load run counted the 429s as errors.
        let mut per_address = std::collections::BTreeMap::<usize, Vec<usize>>::new();
        for worker in 0..LOAD_CLIENTS {
            for sent in 0..1_234 {
                per_address.entry(address_of(worker, sent)).or_default().push(sent);
            }
        }
        for (address, sends) in &per_address {
            assert!(sends.len() <= SENDS_PER_ADDRESS, "address {address} sent {}", sends.len());
        }
        let first: Vec<usize> = (0..SENDS_PER_ADDRESS).map(|sent| address_of(3, sent)).collect();
        assert!(first.iter().all(|a| *a == first[0]), "the first fifty share an address: {first:?}");
        assert_ne!(address_of(3, SENDS_PER_ADDRESS), first[0], "the fifty-first moves on");
        assert_ne!(address_of(3, 0), address_of(4, 0), "each worker has addresses of its own");
    }
}
