//! Requests to AWS per operation, measured: each scenario runs in a function process of its own whose AWS SDK
//! signs its requests with an application id (`AWS_SDK_UA_APP_ID`), and the emulator's launcher counts what it
//! answered per id (`GET /_local/requests?app=`), with DynamoDB's read and write units by on-demand billing rules.
//! From those, and the measured durations, the infrastructure dollars per million OTPs.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use super::json_reply;
use super::runtime::{Started, start};

/// Invocations counted per scenario (after its setup); the figures are per invocation.
pub const PER_SCENARIO: usize = 5;

/// One path through one function: events that set the scene (not counted), then the counted ones.
pub struct Scenario {
    pub function: &'static str,
    pub name: &'static str,
    /// Environment beyond the stack's (e.g. a low rate limit).
    pub env: Vec<(String, String)>,
    pub setup: Vec<String>,
    pub events: Vec<String>,
    /// The HTTP status every counted invocation must answer (0: not an API Gateway function).
    pub status: u16,
}

/// (service, action) → (requests, read units, write units).
type Counts = BTreeMap<(String, String), (f64, f64, f64)>;

/// The launcher's request meter.
pub struct Meter {
    aws_url: String,
    http: reqwest::Client,
}

impl Meter {
    pub fn new(aws_url: &str) -> Self {
        Self { aws_url: aws_url.to_owned(), http: reqwest::Client::new() }
    }

    async fn rows(&self, app: &str) -> Result<Vec<Value>, String> {
        // App ids are letters, digits and `-` (see `measure`): nothing to escape.
        let request = self.http.get(format!("{}/_local/requests?app={app}", self.aws_url));
        let reply =
            json_reply(request, "the emulator's request meter (restart the stack if it predates the meter)").await?;
        Ok(reply["requests"].as_array().cloned().unwrap_or_default())
    }

    /// The write units each item and index partition received from `app` so far: item → (writes, units).
    pub async fn items(&self, app: &str) -> Result<BTreeMap<String, (f64, f64)>, String> {
        let request = self.http.get(format!("{}/_local/requests?app={app}", self.aws_url));
        let reply = json_reply(request, "the emulator's request meter").await?;
        Ok(reply["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|row| {
                let item = row["item"].as_str().unwrap_or("?").to_owned();
                (item, (row["writes"].as_f64().unwrap_or(0.0), row["writeUnits"].as_f64().unwrap_or(0.0)))
            })
            .collect())
    }

    /// The requests `app` made so far, per (service, action).
    pub async fn requests(&self, app: &str) -> Result<super::instructions::Asked, String> {
        Ok(self.counts(app).await?.into_iter().map(|(action, (n, _, _))| (action, n)).collect())
    }

    async fn counts(&self, app: &str) -> Result<Counts, String> {
        let mut counts = Counts::new();
        for row in self.rows(app).await? {
            let key =
                (row["service"].as_str().unwrap_or("?").to_owned(), row["action"].as_str().unwrap_or("?").to_owned());
            counts.insert(
                key,
                (
                    row["count"].as_f64().unwrap_or(0.0),
                    row["readUnits"].as_f64().unwrap_or(0.0),
                    row["writeUnits"].as_f64().unwrap_or(0.0),
                ),
            );
        }
        Ok(counts)
    }

    /// Seconds the emulator spent answering the local stack: its gateway's functions, each signing as its logical id
    /// in `template.yaml` (docs/local-stack.md, "Each function's requests"), and what signs as none.
    pub async fn busy_seconds_of_the_stack(&self) -> Result<f64, String> {
        let functions = crate::lambda::template_functions()?.into_iter().map(|(logical_id, _)| logical_id);
        let mut seconds = 0.0;
        for app in std::iter::once("-".to_owned()).chain(functions) {
            seconds += self.rows(&app).await?.iter().map(|row| row["seconds"].as_f64().unwrap_or(0.0)).sum::<f64>();
        }
        Ok(seconds)
    }
}

fn difference(after: &Counts, before: &Counts, per: f64) -> Counts {
    after
        .iter()
        .filter_map(|(key, (n, r, w))| {
            let (n0, r0, w0) = before.get(key).copied().unwrap_or_default();
            (n - n0 > 0.0).then(|| (key.clone(), ((n - n0) / per, (r - r0) / per, (w - w0) / per)))
        })
        .collect()
}

fn as_json(counts: &Counts) -> Value {
    let mut services = serde_json::Map::new();
    for ((service, action), (n, _, _)) in counts {
        services.entry(service.clone()).or_insert_with(|| json!({}))[action] = json!(n);
    }
    json!({
        "requests": services,
        "readUnits": counts.values().map(|(_, r, _)| r).sum::<f64>(),
        "writeUnits": counts.values().map(|(_, _, w)| w).sum::<f64>(),
    })
}

/// Runs one scenario in a process of its own and returns what one invocation asked of AWS.
pub async fn measure(
    scenario: Scenario,
    release: &Path,
    env: &[(String, String)],
    meter: &Meter,
    run_id: u32,
) -> Result<Value, String> {
    let name: String = scenario.name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let app = format!("bench{run_id}-{}-{name}", scenario.function);
    let mut extra = scenario.env.clone();
    extra.push(("AWS_SDK_UA_APP_ID".to_owned(), app.clone()));
    // The process lives as long as `runtime` and `_child` do.
    let Started { runtime, child: _child, .. } =
        start(scenario.function, &release.join(scenario.function), env, &extra, |_| {}).await?;
    let at_init = meter.counts(&app).await?;
    for event in scenario.setup {
        runtime.invoke(event).await?;
    }
    let before = meter.counts(&app).await?;
    let items_before = meter.items(&app).await?;
    let count = scenario.events.len().max(1) as f64;
    for event in scenario.events {
        let answer = runtime.invoke(event).await?;
        if !answer.ok || answer.status != scenario.status {
            return Err(format!(
                "{} / {}: expected status {}, the function answered {} {}",
                scenario.function, scenario.name, scenario.status, answer.status, answer.body
            ));
        }
    }
    let after = meter.counts(&app).await?;
    let items_after = meter.items(&app).await?;
    let mut result = as_json(&difference(&after, &before, count));
    result["items"] = item_kinds(&items_after, &items_before, count);
    result["function"] = json!(scenario.function);
    result["scenario"] = json!(scenario.name);
    result["status"] = json!(scenario.status);
    result["coldStart"] = as_json(&at_init)["requests"].clone();
    Ok(result)
}

/// What a kind of item is: its key with every part that is not a fixed word (`CLIENT`, `MSG`, `PURSE`, …) left
/// out, so that the purses of every client are one kind, and a message's item another.
pub fn item_kind(item: &str) -> String {
    item.split(" / ")
        .map(|part| {
            if part.ends_with("-index") {
                return part.to_owned();
            }
            let words: Vec<&str> = part
                .split('#')
                .filter(|word| !word.is_empty() && word.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
                .collect();
            if words.is_empty() { "(its own)".to_owned() } else { words.join("#") }
        })
        .collect::<Vec<_>>()
        .join(" / ")
}

/// Per kind of item: write units per invocation, and how many items of the kind the invocations wrote.
pub fn item_kinds(after: &BTreeMap<String, (f64, f64)>, before: &BTreeMap<String, (f64, f64)>, per: f64) -> Value {
    let mut kinds: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for (item, (_, units)) in after {
        let added = units - before.get(item).map_or(0.0, |(_, units)| *units);
        if added > 0.0 {
            let kind = kinds.entry(item_kind(item)).or_default();
            kind.0 += added / per;
            kind.1 += 1;
        }
    }
    Value::Array(
        kinds
            .into_iter()
            .map(|(kind, (units, items))| json!({"kind": kind, "writeUnitsPerCall": units, "itemsWritten": items}))
            .collect(),
    )
}

/// A scenario's figure: requests of one service (all actions), per invocation.
pub fn service_requests(result: &Value, service: &str) -> f64 {
    result["requests"][service].as_object().map_or(0.0, |actions| actions.values().filter_map(Value::as_f64).sum())
}

/// List prices (us-east-1, on-demand, November 2026; docs/performance.md).
const LAMBDA_GB_SECOND_ARM: f64 = 0.000_013_333_4;
const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
const API_GATEWAY_REQUEST: f64 = 1.00 / 1e6;
const DYNAMODB_WRU: f64 = 0.625 / 1e6;
const DYNAMODB_RRU: f64 = 0.125 / 1e6;
const SECRETS_MANAGER_CALL: f64 = 0.05 / 10_000.0;

/// How a request reaches its function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// API Gateway's HTTP API (a request's price).
    ApiGateway,
    /// The function's own URL (no price of its own: the WhatsApp webhook).
    FunctionUrl,
}

/// One API request's share of the bill: a Lambda invocation at 128 MB for `billed_ms`, API Gateway if it came
/// through it, and the DynamoDB units and Secrets Manager calls the scenario measured.
fn request_dollars(scenario: &Value, billed_ms: f64, door: Door) -> (f64, f64, f64) {
    let lambda = 0.125 * billed_ms.ceil() / 1000.0 * LAMBDA_GB_SECOND_ARM + LAMBDA_REQUEST;
    let gateway = if door == Door::ApiGateway { API_GATEWAY_REQUEST } else { 0.0 };
    let dynamodb = scenario["readUnits"].as_f64().unwrap_or(0.0) * DYNAMODB_RRU
        + scenario["writeUnits"].as_f64().unwrap_or(0.0) * DYNAMODB_WRU
        + service_requests(scenario, "secretsmanager") * SECRETS_MANAGER_CALL;
    (lambda, gateway, dynamodb)
}

/// Dollars per million OTPs of each product, from measured parts: `parts` lists (scenario, warm median ms, times
/// per OTP, how it comes in).
pub fn dollars(name: &str, parts: &[(&Value, f64, f64, Door)], assumptions: &str) -> Value {
    let (mut lambda, mut gateway, mut data) = (0.0, 0.0, 0.0);
    for (scenario, billed_ms, times, door) in parts {
        let (l, g, d) = request_dollars(scenario, *billed_ms, *door);
        lambda += l * times;
        gateway += g * times;
        data += d * times;
    }
    json!({
        "product": name,
        "lambda": lambda * 1e6,
        "apiGateway": gateway * 1e6,
        "dynamodbAndSecrets": data * 1e6,
        "total": (lambda + gateway + data) * 1e6,
        "assumptions": assumptions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_difference_is_per_invocation_and_drops_what_did_not_move() {
        let key = |a: &str| ("dynamodb".to_owned(), a.to_owned());
        let before: Counts = [(key("GetItem"), (2.0, 1.0, 0.0)), (key("Query"), (1.0, 0.5, 0.0))].into();
        let after: Counts =
            [(key("GetItem"), (12.0, 6.0, 0.0)), (key("Query"), (1.0, 0.5, 0.0)), (key("PutItem"), (5.0, 0.0, 5.0))]
                .into();
        let per = difference(&after, &before, 5.0);
        assert_eq!(per.get(&key("GetItem")), Some(&(2.0, 1.0, 0.0)));
        assert_eq!(per.get(&key("PutItem")), Some(&(1.0, 0.0, 1.0)));
        assert_eq!(per.get(&key("Query")), None, "unchanged");
        let json = as_json(&per);
        assert_eq!(json["requests"]["dynamodb"]["GetItem"], 2.0);
        assert_eq!(json["readUnits"], 1.0);
        assert_eq!(json["writeUnits"], 1.0);
    }

    #[test]
    fn dollars_add_lambda_gateway_and_data_per_part() {
        let scenario = json!({"readUnits": 4.0, "writeUnits": 8.0, "requests": {"secretsmanager": {}}});
        let bill = dollars("x", &[(&scenario, 10.0, 1.0, Door::ApiGateway)], "");
        // 128 MB for 10 ms + one Lambda request; one API Gateway request; 4 RRU + 8 WRU.
        let lambda = 0.125 * 0.01 * LAMBDA_GB_SECOND_ARM * 1e6 + 0.20;
        assert!((bill["lambda"].as_f64().unwrap_or(0.0) - lambda).abs() < 1e-9);
        assert!((bill["apiGateway"].as_f64().unwrap_or(0.0) - 1.0).abs() < 1e-9);
        assert!((bill["dynamodbAndSecrets"].as_f64().unwrap_or(0.0) - (4.0 * 0.125 + 8.0 * 0.625)).abs() < 1e-9);
        let twice = dollars("x", &[(&scenario, 10.0, 2.0, Door::ApiGateway)], "");
        assert!((twice["total"].as_f64().unwrap_or(0.0) - 2.0 * bill["total"].as_f64().unwrap_or(0.0)).abs() < 1e-9);
        let url = dollars("x", &[(&scenario, 10.0, 1.0, Door::FunctionUrl)], "");
        assert_eq!(url["apiGateway"], 0.0, "a function URL has no request price");
    }

    #[test]
    fn kinds_of_items_leave_out_ids_and_keep_the_words() {
        assert_eq!(item_kind("CLIENT#c-1#PURSE#2 / PURSE"), "CLIENT#PURSE / PURSE");
        assert_eq!(item_kind("CLIENT#c-1 / MSG#8d0e"), "CLIENT / MSG");
        assert_eq!(item_kind("RATE#127.0.0.1#29000000#3 / RATE"), "RATE / RATE");
        assert_eq!(item_kind("pending-index / PENDING#5"), "pending-index / PENDING");
        assert_eq!(item_kind("wamid-index / wamid.HBgL"), "wamid-index / (its own)");
    }
}
