//! The report: budgets checked, and the Markdown tables `docs/performance.md` shows.

use serde_json::{Value, json};

/// The machine the bench ran on.
pub fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned()))
        })
        .unwrap_or_default();
    json!({ "cpu": cpu, "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1), "arch": std::env::consts::ARCH })
}

/// The budgets: warm SendMessage CPU, init against the floor's, peak RSS.
pub fn budgets(functions: &[Value], floor_init: f64) -> Value {
    let mut checks = Vec::new();
    for result in functions.iter().skip(1) {
        let name = result["function"].as_str().unwrap_or_default();
        let cpu = result["handlerCpuUs"]["mean"].as_f64().unwrap_or(f64::MAX);
        let init = result["initMs"]["median"].as_f64().unwrap_or(f64::MAX);
        let rss = result["peakRssMb"].as_f64().unwrap_or(f64::MAX);
        if name == "send-message" {
            checks.push(json!({"budget": "warm SendMessage CPU outside awaits < 1 ms (the handler's polls, mean per invocation)", "value": cpu / 1000.0, "holds": cpu < 1000.0}));
            // Issue 18 asks the same of the median (docs/performance.md, "Issue 18").
            let median = result["handlerCpuUs"]["median"].as_f64().unwrap_or(f64::MAX);
            checks.push(json!({"budget": "warm SendMessage CPU outside awaits < 1 ms median (the handler's polls)", "value": median / 1000.0, "holds": median < 1000.0}));
        }
        checks.push(json!({"budget": format!("{name}: init < 1.5x the floor's"), "value": init / floor_init, "holds": init < 1.5 * floor_init}));
        checks.push(json!({"budget": format!("{name}: peak RSS < 40 MB"), "value": rss, "holds": rss < 40.0}));
    }
    let by_name = |name: &str| functions.iter().find(|r| r["function"] == name);
    if let (Some(on), Some(off)) = (by_name("send-message"), by_name("send-message, metrics off")) {
        // Metrics cost per warm SendMessage (docs/performance.md): process CPU per invocation against the same build
        // with metrics switched off, and the bytes of EMF lines it writes.
        let cpu = f(&on["cpuPerInvocationUs"]) - f(&off["cpuPerInvocationUs"]);
        let bytes = f(&on["emfBytesPerInvocation"]);
        checks.push(json!({"budget": "metrics: < 100 µs of CPU per warm SendMessage (against metrics off)", "value": cpu, "holds": cpu < 100.0}));
        checks.push(json!({"budget": "metrics: < 2 KB of EMF log per warm SendMessage", "value": bytes, "holds": bytes < 2048.0}));
    }
    Value::Array(checks)
}

/// The budgets on requests, dollars and the ceiling: a happy SendMessage at most 3 DynamoDB requests, every
/// refusal at most 2, under $10 a million OTPs on both products, 1,000 sends a second for one client.
pub fn request_budgets(requests: &[Value], dollars: &Value, ceiling: &Value) -> Vec<Value> {
    let dynamodb = |r: &Value| super::cost::service_requests(r, "dynamodb");
    let mut checks = Vec::new();
    let sends = || requests.iter().filter(|r| r["function"] == "send-message");
    if let Some(happy) = sends().find(|r| r["scenario"] == "happy path") {
        let n = dynamodb(happy);
        checks.push(json!({"budget": "happy SendMessage: at most 3 DynamoDB requests", "value": n, "holds": n <= 3.0}));
    }
    let refusals: Vec<&Value> = sends().filter(|r| r["status"].as_u64().is_some_and(|s| s >= 400)).collect();
    let most = refusals.iter().map(|r| dynamodb(r)).fold(0.0, f64::max);
    let worst = refusals.iter().find(|r| dynamodb(r) == most).and_then(|r| r["scenario"].as_str()).unwrap_or("none");
    checks.push(json!({
        "budget": format!("every SendMessage refusal: at most 2 DynamoDB requests (most: {worst})"),
        "value": most,
        "holds": most <= 2.0,
    }));
    for product in dollars.as_array().into_iter().flatten() {
        let total = f(&product["total"]);
        checks.push(json!({
            "budget": format!("{}: under $10 of infrastructure per million OTPs", product["product"].as_str().unwrap_or("?")),
            "value": total,
            "holds": total < 10.0,
        }));
    }
    let per_client = f(&ceiling["perClient"]);
    checks.push(json!({
        "budget": "one client: at least 1,000 sends a second without a throttled item",
        "value": per_client,
        "holds": per_client >= 1_000.0,
    }));
    let with_webhooks = f(&ceiling["webhooks"]["perClientWithWebhooks"]);
    checks.push(json!({
        "budget": "one client with an endpoint for its three statuses: at least 1,000 sends a second without a throttled item",
        "value": with_webhooks,
        "holds": with_webhooks >= 1_000.0,
    }));
    checks
}

/// The init instructions first measured for the functions that load phone metadata (send-message, 2026-12-02 at
/// `1d75371`, the highest of the three): issue 18 asks for them halved (docs/performance.md, "Issue 18").
pub const FIRST_PHONE_METADATA_INIT: f64 = 63.73e6;

/// The budgets on instructions: a warm SendMessage's handler at most 1.2 M, the init of a function that
/// loads no phone metadata within 2× the floor's, and of one that does at most half the first measured.
pub fn instruction_budgets(instructions: &Value) -> Vec<Value> {
    let warm = f(&instructions["warmSendMessageHandler"]);
    let mut checks = vec![json!({
        "budget": "warm SendMessage: at most 1.2 M instructions inside the handler's polls (callgrind)",
        "value": warm / 1e6,
        "holds": warm <= 1.2e6,
    })];
    for init in instructions["init"].as_array().into_iter().flatten() {
        if init["loadsPhoneMetadata"] == false && init["function"] != "bench-floor" {
            let ratio = f(&init["ratioToFloor"]);
            checks.push(json!({
                "budget": format!("{}: init instructions within 2x the floor's", init["function"].as_str().unwrap_or("?")),
                "value": ratio,
                "holds": ratio <= 2.0,
            }));
        }
        if init["loadsPhoneMetadata"] == true {
            let millions = f(&init["instructions"]) / 1e6;
            checks.push(json!({
                "budget": format!(
                    "{}: init instructions at most half the first measured ({:.2} M)",
                    init["function"].as_str().unwrap_or("?"),
                    FIRST_PHONE_METADATA_INIT / 1e6
                ),
                "value": millions,
                "holds": millions * 1e6 <= FIRST_PHONE_METADATA_INIT / 2.0,
            }));
        }
    }
    checks
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

fn functions_table(report: &Value) -> String {
    let mut out = String::from(
        "| function | binary | init median / p99 (ms) | warm median / p99 (ms) | CPU outside awaits median / p99 (µs) | process CPU per call (µs) | of which user / kernel (ticks, µs) | peak RSS (MB) | init × floor | answers |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for r in report["functions"].as_array().into_iter().flatten() {
        let statuses = r["statuses"]
            .as_object()
            .map(|s| s.iter().map(|(k, v)| format!("{k}×{v}")).collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
        out.push_str(&format!(
            "| {} | {:.1} MB | {:.1} / {:.1} | {:.2} / {:.2} | {} | {:.0} | {:.0} / {:.0} | {:.1} | {} | {} |\n",
            r["function"].as_str().unwrap_or_default(),
            f(&r["binaryBytes"]) / 1_048_576.0,
            f(&r["initMs"]["median"]),
            f(&r["initMs"]["p99"]),
            f(&r["warmMs"]["median"]),
            f(&r["warmMs"]["p99"]),
            if r["handlerCpuUs"].is_null() {
                "—".to_owned()
            } else {
                format!("{:.0} / {:.0}", f(&r["handlerCpuUs"]["median"]), f(&r["handlerCpuUs"]["p99"]))
            },
            f(&r["cpuPerInvocationUs"]),
            f(&r["userPerInvocationUs"]),
            f(&r["kernelPerInvocationUs"]),
            f(&r["peakRssMb"]),
            r["initRatioToFloor"].as_f64().map_or("1 (floor)".to_owned(), |x| format!("{x:.2}")),
            statuses,
        ));
    }
    out
}

fn requests_table(report: &Value) -> String {
    let mut out = String::from(
        "| function | path | status | DynamoDB requests | read units | write units | Secrets Manager | SES | SNS | at cold start |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    let list = |requests: &Value, service: &str| {
        requests[service]
            .as_object()
            .map(|actions| actions.iter().map(|(a, n)| format!("{a} {}", trim(f(n)))).collect::<Vec<_>>().join(", "))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "0".to_owned())
    };
    for s in report["requests"].as_array().into_iter().flatten() {
        let cold = s["coldStart"]
            .as_object()
            .map(|services| {
                services
                    .iter()
                    .flat_map(|(service, actions)| {
                        actions
                            .as_object()
                            .into_iter()
                            .flatten()
                            .map(move |(a, n)| format!("{service} {a} {}", trim(f(n))))
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            s["function"].as_str().unwrap_or_default(),
            s["scenario"].as_str().unwrap_or_default(),
            s["status"].as_u64().filter(|status| *status > 0).map_or("—".to_owned(), |status| status.to_string()),
            list(&s["requests"], "dynamodb"),
            trim(f(&s["readUnits"])),
            trim(f(&s["writeUnits"])),
            list(&s["requests"], "secretsmanager"),
            list(&s["requests"], "ses"),
            list(&s["requests"], "sns"),
            if cold.is_empty() { "—".to_owned() } else { cold },
        ));
    }
    out
}

fn trim(x: f64) -> String {
    let x = x + 0.0; // an empty sum is -0.0
    if (x - x.round()).abs() < 1e-9 { format!("{}", x.round()) } else { format!("{x:.2}") }
}

/// The whole report as Markdown.
pub fn markdown(report: &Value) -> String {
    let mut out = functions_table(report);
    out.push_str("\n| budget | value | holds |\n| --- | --- | --- |\n");
    for b in report["budgets"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            b["budget"].as_str().unwrap_or_default(),
            b["value"].as_str().map_or_else(|| format!("{:.2}", f(&b["value"])), str::to_owned),
            if b["holds"].as_bool() == Some(true) { "yes" } else { "**no**" }
        ));
    }
    out.push_str("\nRequests to AWS per invocation (warm), by path:\n\n");
    out.push_str(&requests_table(report));
    let load = &report["load"];
    let line = |v: &Value| {
        let by: Vec<String> = v["errorsBy"]
            .as_object()
            .map(|by| by.iter().map(|(answer, n)| format!("{n} × {answer}")).collect())
            .unwrap_or_default();
        format!(
            "{:.0}/s, p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms ({} requests, {} errors{})",
            f(&v["perSecond"]),
            f(&v["latencyMs"]["p50"]),
            f(&v["latencyMs"]["p90"]),
            f(&v["latencyMs"]["p99"]),
            v["requests"],
            v["errors"],
            if by.is_empty() { String::new() } else { format!(": {}", by.join(", ")) },
        )
    };
    out.push_str(&format!(
        "\nLoad run, {} clients for {} s on loopback: SendMessage {}; the emulator was busy answering the stack {:.0} % \
         of the run; alone, it answers a GetItem of an absent key at {}.\n",
        load["clients"],
        load["seconds"],
        line(&load["sendMessage"]),
        f(&load["emulatorBusy"]) * 100.0,
        line(&load["emulatorGetItem"]),
    ));
    let webhooks = &report["webhooks"];
    out.push_str(&format!(
        "\nClient webhooks: the local stack delivered {} events to one endpoint on loopback in {:.1} s ({:.0} events/s); \
         SendMessage and the status webhook make no request for them (events come from the table's stream).\n",
        webhooks["events"],
        f(&webhooks["seconds"]),
        f(&webhooks["perSecond"]),
    ));
    let phases: Vec<String> = report["secondsPerPhase"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| format!("{} {:.0} s", p["phase"].as_str().unwrap_or_default(), f(&p["seconds"])))
        .collect();
    let total: f64 = report["secondsPerPhase"].as_array().into_iter().flatten().map(|p| f(&p["seconds"])).sum();
    out.push_str(&format!("\nTime: {:.0} s ({}).\n", total, phases.join(", ")));
    out.push_str("\nInfrastructure dollars per million OTPs:\n\n| product | Lambda | API Gateway | DynamoDB + Secrets Manager | total | assumptions |\n| --- | --- | --- | --- | --- | --- |\n");
    for d in report["dollarsPerMillionOtps"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "| {} | ${:.2} | ${:.2} | ${:.2} | **${:.2}** | {} |\n",
            d["product"].as_str().unwrap_or_default(),
            f(&d["lambda"]),
            f(&d["apiGateway"]),
            f(&d["dynamodbAndSecrets"]),
            f(&d["total"]),
            d["assumptions"].as_str().unwrap_or_default(),
        ));
    }
    out.push_str(&ceiling_table(report));
    out.push_str(&instructions_table(report));
    out
}

/// Whether the warm send's two counted processes differed only by their extra sends' requests.
fn warm_count_note(count: &Value) -> String {
    let attempts = count["attempts"].as_u64().unwrap_or(1);
    if count["onlyTheSendsDiffer"] == false {
        format!(
            "**every one of {attempts} attempts counted a refresh one process made and the other did not**: the \
             figure includes it"
        )
    } else {
        format!("the two processes differed only by their extra sends' requests; {attempts} attempt(s)")
    }
}

/// Instructions (callgrind): each function's init beside the floor's, and a warm send's handler.
fn instructions_table(report: &Value) -> String {
    let instructions = &report["instructions"];
    let mut out = format!(
        "\nInstructions (callgrind): a warm SendMessage, inside the handler's polls: {:.2} M ({}){}.\n\n\
         | function | init instructions | × the floor's | loads phone metadata |\n| --- | --- | --- | --- |\n",
        f(&instructions["warmSendMessageHandler"]) / 1e6,
        warm_count_note(&instructions["warmSendMessageCount"]),
        sdk_share(&instructions["warmSendMessageSdk"]),
    );
    for init in instructions["init"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "| {} | {:.2} M | {:.2} | {} |\n",
            init["function"].as_str().unwrap_or_default(),
            f(&init["instructions"]) / 1e6,
            f(&init["ratioToFloor"]),
            if init["loadsPhoneMetadata"] == true { "yes" } else { "no" },
        ));
    }
    out
}

/// What of a warm send the AWS SDK takes: "; of which the AWS SDK's orchestrator 1.21 M, its signing 0.67 M" (a
/// part callgrind_annotate did not find is "not found").
fn sdk_share(parts: &Value) -> String {
    let parts: Vec<String> = parts
        .as_array()
        .into_iter()
        .flatten()
        .map(|part| {
            let name = part["part"].as_str().unwrap_or_default();
            match part["instructions"].as_f64() {
                Some(n) => format!("{name} {:.2} M", n / 1e6),
                None => format!("{name} not found"),
            }
        })
        .collect();
    if parts.is_empty() { String::new() } else { format!("; of which {}", parts.join(", ")) }
}

/// The write units a happy SendMessage gives each kind of item, and the ceiling of sends a second they allow.
fn ceiling_table(report: &Value) -> String {
    let mut out = String::from(
        "\nWrite units a happy SendMessage gives each kind of item (measured), and what the shared ones allow:\n\n\
         | kind of item | write units per send | items of the kind written | spread over | per item per send | \
         sends/s | shared by |\n| --- | --- | --- | --- | --- | --- | --- |\n",
    );
    let send = report["requests"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["function"] == "send-message" && r["scenario"] == "happy path");
    let ceiling = &report["ceiling"];
    for item in send.and_then(|s| s["items"].as_array()).into_iter().flatten() {
        let shared = ceiling["kinds"].as_array().into_iter().flatten().find(|k| k["kind"] == item["kind"]);
        let (spread, per_item, sends, by) = match shared {
            Some(k) => (
                k["items"].to_string(),
                format!("{:.2}", f(&k["writeUnitsPerItemPerSend"])),
                format!("{:.0}", f(&k["sendsPerSecond"])),
                k["sharedBy"].as_str().unwrap_or_default().to_owned(),
            ),
            None => ("each send its own".to_owned(), "—".to_owned(), "—".to_owned(), "—".to_owned()),
        };
        out.push_str(&format!(
            "| {} | {:.2} | {} | {spread} | {per_item} | {sends} | {by} |\n",
            item["kind"].as_str().unwrap_or_default(),
            f(&item["writeUnitsPerCall"]),
            item["itemsWritten"],
        ));
    }
    out.push_str(&format!(
        "\nCeiling: {:.0} sends a second for one client (and {:.0} for one subscription); {:.0} from a single source \
         address at the highest raise.\n",
        f(&ceiling["perClient"]),
        f(&ceiling["perSubscription"]),
        f(&ceiling["perClientFromOneAddress"]),
    ));
    out.push_str(&webhook_ceiling_table(report));
    out
}

/// The client webhook events' share of the ceiling: what each kind of item received per delivered event.
fn webhook_ceiling_table(report: &Value) -> String {
    let hooks = &report["ceiling"]["webhooks"];
    let mut out = String::from(
        "\nWrite units one delivered client webhook event gives each kind of item (measured), and what the shared ones \
         allow:\n\n| kind of item | write units per event | items of the kind written | spread over | events/s | \
         shared by |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    for item in report["webhooks"]["writeUnitsPerEvent"].as_array().into_iter().flatten() {
        let kind = item["kind"].as_str().unwrap_or_default();
        let shared = hooks["kinds"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|k| k["kind"].as_str().unwrap_or_default().split(" + ").any(|part| part == kind));
        let (spread, events, by) = match shared {
            Some(k) => (
                k["items"].to_string(),
                format!("{:.0} ({})", f(&k["eventsPerSecond"]), k["kind"].as_str().unwrap_or_default()),
                k["sharedBy"].as_str().unwrap_or_default().to_owned(),
            ),
            None => ("each event its own".to_owned(), "—".to_owned(), "—".to_owned()),
        };
        out.push_str(&format!(
            "| {kind} | {:.2} | {} | {spread} | {events} | {by} |\n",
            f(&item["writeUnitsPerCall"]),
            item["itemsWritten"],
        ));
    }
    out.push_str(&format!(
        "\nThe run's {} events went to {} partitions of the endpoint's log. With an endpoint for the {:.0} statuses of \
         every send: {:.0} events a second, so {:.0} sends a second for one client.\n",
        super::webhooks::EVENTS,
        report["webhooks"]["logPartitionsWritten"],
        f(&hooks["eventsPerSend"]),
        f(&hooks["eventsPerSecondPerEndpoint"]),
        f(&hooks["perClientWithWebhooks"]),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_compare_against_the_floor_and_the_limits() {
        let functions = [
            json!({"function": "bench-floor", "initMs": {"median": 4.0}}),
            json!({"function": "send-message", "initMs": {"median": 5.0}, "handlerCpuUs": {"mean": 1500.0, "median": 900.0}, "cpuPerInvocationUs": 900.0, "peakRssMb": 20.0}),
        ];
        let checks = budgets(&functions, 4.0);
        let holds: Vec<bool> = checks.as_array().into_iter().flatten().map(|c| c["holds"] == true).collect();
        assert_eq!(
            holds,
            [false, true, true, true],
            "CPU 1.5 ms mean misses, 0.9 ms median holds; init 1.25x and 20 MB hold"
        );
    }

    #[test]
    fn init_budgets_hold_within_2x_the_floor_or_half_the_first_phone_metadata_figure() {
        let instructions = json!({
            "warmSendMessageHandler": 1.1e6,
            "init": [
                {"function": "bench-floor", "instructions": 1e6, "ratioToFloor": 1.0, "loadsPhoneMetadata": false},
                {"function": "check-message-status", "instructions": 2.5e6, "ratioToFloor": 2.5, "loadsPhoneMetadata": false},
                {"function": "send-message", "instructions": 31.0e6, "ratioToFloor": 31.0, "loadsPhoneMetadata": true},
                {"function": "otp-initiate", "instructions": 33.0e6, "ratioToFloor": 33.0, "loadsPhoneMetadata": true},
            ],
        });
        let checks = instruction_budgets(&instructions);
        let holds: Vec<bool> = checks.iter().map(|c| c["holds"] == true).collect();
        assert_eq!(holds, [true, false, true, false], "warm 1.1 M; 2.5x the floor; 31 M and 33 M against 31.87 M");
    }

    #[test]
    fn the_sdk_share_names_each_part_or_says_it_was_not_found() {
        let parts = json!([
            {"part": "the AWS SDK's orchestrator", "instructions": 1.214e6},
            {"part": "its signing", "instructions": null},
        ]);
        assert_eq!(sdk_share(&parts), "; of which the AWS SDK's orchestrator 1.21 M, its signing not found");
        assert_eq!(sdk_share(&Value::Null), "", "a report from before the figure");
    }

    #[test]
    fn whole_numbers_print_without_decimals() {
        assert_eq!(trim(2.0), "2");
        assert_eq!(trim(0.5), "0.50");
        assert_eq!(trim(-0.0), "0");
    }
}
