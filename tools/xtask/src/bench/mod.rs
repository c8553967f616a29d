//! `cargo xtask bench`: cold start, warm latency, CPU per invocation, peak memory and binary size of release
//! builds, each beside a bare `lambda_http` function (the floor), against the local stack. Writes
//! `$CARGO_TARGET_DIR/bench/report.json` and `report.md`.
//!
//! The functions run exactly as on Lambda: against a local Runtime API (this module serves it), so "init" means what
//! Lambda's `Init Duration` means: from process start until the binary first asks for work.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::process::{Child, Command};
use tokio::sync::{Notify, oneshot};

use crate::tools::{root, run};

/// Cold starts measured per function.
const STARTS: usize = 20;
/// Warm invocations measured per function (after `WARMUP`).
const INVOCATIONS: usize = 200;
const WARMUP: usize = 10;

/// The Runtime API's shared state: events waiting to be handed out, and what the function answered.
#[derive(Default)]
struct RuntimeState {
    queue: Mutex<VecDeque<(String, String)>>,
    queued: Notify,
    first_poll: Mutex<Option<oneshot::Sender<Instant>>>,
    handed_at: Mutex<HashMap<String, Instant>>,
    answers: Mutex<HashMap<String, (Instant, Duration, bool)>>,
    answered: Notify,
}

async fn next_invocation(State(state): State<Arc<RuntimeState>>) -> impl IntoResponse {
    if let Some(first) = state.first_poll.lock().ok().and_then(|mut f| f.take()) {
        let _ = first.send(Instant::now());
    }
    loop {
        let notified = state.queued.notified();
        let next = state.queue.lock().ok().and_then(|mut q| q.pop_front());
        if let Some((id, event)) = next {
            if let Ok(mut handed) = state.handed_at.lock() {
                handed.insert(id.clone(), Instant::now());
            }
            let mut headers = HeaderMap::new();
            let deadline = (time::OffsetDateTime::now_utc().unix_timestamp() + 60) * 1000;
            for (name, value) in [
                ("lambda-runtime-aws-request-id", id.clone()),
                ("lambda-runtime-deadline-ms", deadline.to_string()),
                (
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:000000000000:function:bench".to_owned(),
                ),
                ("content-type", "application/json".to_owned()),
            ] {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    headers.insert(name, value);
                }
            }
            return (StatusCode::OK, headers, event);
        }
        notified.await;
    }
}

async fn invocation_answer(
    State(state): State<Arc<RuntimeState>>,
    UrlPath((id, kind)): UrlPath<(String, String)>,
    _body: Bytes,
) -> StatusCode {
    let now = Instant::now();
    let handed = state.handed_at.lock().ok().and_then(|h| h.get(&id).copied()).unwrap_or(now);
    if let Ok(mut answers) = state.answers.lock() {
        answers.insert(id, (now, now - handed, kind == "response"));
    }
    state.answered.notify_waiters();
    StatusCode::ACCEPTED
}

/// A local Lambda Runtime API on an ephemeral port.
struct RuntimeApi {
    address: String,
    state: Arc<RuntimeState>,
    server: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    async fn start() -> Result<Self, String> {
        let state = Arc::new(RuntimeState::default());
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
            .route("/2018-06-01/runtime/invocation/{id}/{kind}", post(invocation_answer))
            .route("/2018-06-01/runtime/init/error", post(|| async { StatusCode::ACCEPTED }))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("runtime api: {e}"))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?.to_string();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { address, state, server })
    }

    fn expect_first_poll(&self) -> oneshot::Receiver<Instant> {
        let (tx, rx) = oneshot::channel();
        if let Ok(mut first) = self.state.first_poll.lock() {
            *first = Some(tx);
        }
        rx
    }

    /// Hands `event` to the function and waits for its answer: (latency, answered with a response).
    async fn invoke(&self, event: String) -> Result<(Duration, bool), String> {
        let id = uuid::Uuid::new_v4().to_string();
        if let Ok(mut queue) = self.state.queue.lock() {
            queue.push_back((id.clone(), event));
        }
        self.state.queued.notify_waiters();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let answered = self.state.answered.notified();
            if let Some((_, latency, ok)) = self.state.answers.lock().ok().and_then(|mut a| a.remove(&id)) {
                return Ok((latency, ok));
            }
            if tokio::time::timeout_at(deadline.into(), answered).await.is_err() {
                return Err("the function did not answer within 30 s".to_owned());
            }
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// One function under measurement.
struct Subject {
    name: &'static str,
    binary: PathBuf,
    event: Box<dyn Fn(usize) -> String + Send + Sync>,
}

fn spawn(subject: &Subject, runtime: &RuntimeApi, env: &[(String, String)]) -> Result<Child, String> {
    Command::new(&subject.binary)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", &runtime.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", subject.name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("starting {}: {e}", subject.binary.display()))
}

/// CPU time the process has used so far, split into user and kernel time, in microseconds (`/proc/<pid>/stat`
/// fields 14 and 15, in clock ticks of 10 ms: over hundreds of invocations the resolution is tens of µs each).
/// User time is what our code (and the libraries in it) costs; kernel time is mostly sockets: the serialized
/// emulator closes every connection, so each AWS request opens a new one.
fn cpu_micros(pid: u32) -> (u64, u64) {
    const TICK_MICROS: u64 = 10_000; // CLK_TCK = 100 on Linux
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return (0, 0) };
    // The command name may contain spaces; fields start after its closing parenthesis (field 3 onwards).
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (field(14) * TICK_MICROS, field(15) * TICK_MICROS)
}

/// Peak resident memory in kB (`VmHWM`).
fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:").and_then(|v| v.split_whitespace().next()?.parse().ok()))
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

async fn measure(subject: &Subject, env: &[(String, String)]) -> Result<Value, String> {
    let mut inits = Vec::new();
    for _ in 0..STARTS {
        let runtime = RuntimeApi::start().await?;
        let first_poll = runtime.expect_first_poll();
        let started = Instant::now();
        let mut child = spawn(subject, &runtime, env)?;
        let polled = tokio::time::timeout(Duration::from_secs(30), first_poll)
            .await
            .map_err(|_| format!("{} never asked for work", subject.name))?
            .map_err(|_| "runtime api dropped".to_owned())?;
        inits.push(polled - started);
        let _ = child.kill().await;
    }
    inits.sort();

    let runtime = RuntimeApi::start().await?;
    let mut child = spawn(subject, &runtime, env)?;
    let pid = child.id().unwrap_or(0);
    for i in 0..WARMUP {
        runtime.invoke((subject.event)(i)).await?;
    }
    let (user_before, system_before) = cpu_micros(pid);
    let mut latencies = Vec::new();
    let mut failures = 0;
    for i in WARMUP..WARMUP + INVOCATIONS {
        let (latency, ok) = runtime.invoke((subject.event)(i)).await?;
        latencies.push(latency);
        failures += usize::from(!ok);
    }
    let (user_after, system_after) = cpu_micros(pid);
    let cpu_per_invocation_us = user_after.saturating_sub(user_before) as f64 / INVOCATIONS as f64;
    let kernel_per_invocation_us = system_after.saturating_sub(system_before) as f64 / INVOCATIONS as f64;
    let rss_kb = peak_rss_kb(pid);
    let _ = child.kill().await;
    latencies.sort();
    let size = std::fs::metadata(&subject.binary).map(|m| m.len()).unwrap_or(0);
    Ok(json!({
        "function": subject.name,
        "binaryBytes": size,
        "initMs": { "median": percentile(&inits, 0.5), "p99": percentile(&inits, 0.99), "starts": STARTS },
        "warmMs": { "median": percentile(&latencies, 0.5), "p99": percentile(&latencies, 0.99), "invocations": INVOCATIONS },
        "cpuPerInvocationUs": cpu_per_invocation_us,
        "kernelPerInvocationUs": kernel_per_invocation_us,
        "peakRssMb": rss_kb as f64 / 1024.0,
        "failedInvocations": failures,
    }))
}

/// Concurrent clients on loopback for the load run, and how long it lasts.
const LOAD_CLIENTS: usize = 16;
const LOAD_SECONDS: u64 = 20;

fn loopback_client(n: usize) -> Result<reqwest::Client, String> {
    let ip = std::net::Ipv4Addr::new(127, 77, (n / 250) as u8, (n % 250 + 1) as u8);
    reqwest::Client::builder().local_address(std::net::IpAddr::V4(ip)).build().map_err(|e| e.to_string())
}

fn rate_and_percentiles(mut latencies: Vec<Duration>, seconds: f64, errors: usize) -> Value {
    latencies.sort();
    json!({
        "requests": latencies.len(),
        "errors": errors,
        "perSecond": latencies.len() as f64 / seconds,
        "latencyMs": { "p50": percentile(&latencies, 0.5), "p90": percentile(&latencies, 0.9), "p99": percentile(&latencies, 0.99) },
    })
}

/// Many concurrent SendMessage clients against the local stack (each from its own loopback address, renewed every
/// 50 requests so the per-IP limit never answers), beside the emulator's own ceiling for a trivial request, so the
/// reader can tell which one limits.
async fn load_run(api_url: &str, aws_url: &str, api_key: &str) -> Result<Value, String> {
    let deadline = Instant::now() + Duration::from_secs(LOAD_SECONDS);
    let mut tasks = Vec::new();
    for worker in 0..LOAD_CLIENTS {
        let (api_url, api_key) = (api_url.to_owned(), api_key.to_owned());
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut errors, mut sent) = (Vec::new(), 0usize, 0usize);
            let mut client = loopback_client(worker * 100)?;
            while Instant::now() < deadline {
                if sent % 50 == 49 {
                    client = loopback_client(worker * 100 + sent / 50 % 100)?;
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
                    _ => errors += 1,
                }
                sent += 1;
            }
            Ok::<_, String>((latencies, errors))
        }));
    }
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for task in tasks {
        let (l, e) = task.await.map_err(|e| e.to_string())??;
        latencies.extend(l);
        errors += e;
    }
    let send = rate_and_percentiles(latencies, LOAD_SECONDS as f64, errors);

    // The emulator alone: the cheapest DynamoDB request (DescribeTable), as fast as it answers.
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
                    .header("x-amz-target", "DynamoDB_20120810.DescribeTable")
                    .header("content-type", "application/x-amz-json-1.0")
                    .header(
                        "authorization",
                        "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
                    )
                    .body(r#"{"TableName":"lightotp"}"#)
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
    let ceiling = rate_and_percentiles(emulator, (LOAD_SECONDS / 2) as f64, 0);
    Ok(
        json!({ "clients": LOAD_CLIENTS, "seconds": LOAD_SECONDS, "sendMessage": send, "emulatorDescribeTable": ceiling }),
    )
}

/// An API Gateway HTTP API (v2) event, as Lambda delivers it.
fn api_event(route: &str, api_key: &str, body: &Value, source_ip: &str) -> String {
    json!({
        "version": "2.0",
        "routeKey": format!("POST {route}"),
        "rawPath": route,
        "rawQueryString": "",
        "headers": { "content-type": "application/json", "x-api-key": api_key },
        "requestContext": {
            "accountId": "000000000000", "apiId": "bench", "domainName": "bench", "domainPrefix": "bench",
            "http": { "method": "POST", "path": route, "protocol": "HTTP/1.1", "sourceIp": source_ip, "userAgent": "bench" },
            "requestId": uuid::Uuid::new_v4().to_string(), "routeKey": format!("POST {route}"), "stage": "$default",
            "time": "", "timeEpoch": 0
        },
        "body": body.to_string(),
        "isBase64Encoded": false
    })
    .to_string()
}

fn admin(env: &[(String, String)], args: &[&str]) -> Result<Value, String> {
    let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| root().join("target"));
    let output = std::process::Command::new(target.join("debug/lightotp-admin"))
        .args(args)
        .arg("--json")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .map_err(|e| format!("lightotp-admin: {e}"))?;
    if !output.status.success() {
        return Err(format!("lightotp-admin {}: {}", args.join(" "), String::from_utf8_lossy(&output.stderr)));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| e.to_string())
}

fn stack_env(path: &Path) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: {e} (start the stack first: cargo xtask up)", path.display()))?;
    Ok(text.lines().filter_map(|line| line.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
}

/// `cargo xtask bench`.
pub async fn bench() -> Result<(), String> {
    let env = stack_env(&root().join(".lightotp/stack.env"))?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    run(
        "building release binaries (stripped, LTO)",
        std::process::Command::new(&cargo).args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "send-message",
            "-p",
            "check-message-status",
            "-p",
            "bench-floor",
        ]),
    )?;
    run(
        "building the operator CLI",
        std::process::Command::new(&cargo).args(["build", "--quiet", "-p", "lightotp-admin"]),
    )?;

    // A client of its own, with plenty of credits; every send goes to a new number (no cooldown) from a new
    // source IP (no rate limit), so every invocation takes the full happy path.
    let client = admin(&env, &["client", "create", "--name", "Bench", "--email", "bench@example.com"])?;
    let client_id = client["clientId"].as_str().unwrap_or_default().to_owned();
    admin(
        &env,
        &[
            "sender",
            "assign",
            "--client",
            &client_id,
            "--phone-number-id",
            "bench-sender",
            "--display-phone",
            "+15550000000",
        ],
    )?;
    admin(&env, &["template", "add", "--client", &client_id, "--name", "bench_otp", "--language", "en"])?;
    admin(&env, &["subscription", "grant", "--client", &client_id, "--credits", "1000000"])?;
    let key = admin(&env, &["key", "create", "--client", &client_id])?;
    let api_key = key["apiKey"].as_str().unwrap_or_default().to_owned();

    let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| root().join("target"));
    let release = target.join("release");
    let run_id = uuid::Uuid::new_v4().as_u128() % 1000;
    let send_key = api_key.clone();
    let check_key = api_key.clone();
    let subjects = [
        Subject {
            name: "bench-floor",
            binary: release.join("bench-floor"),
            event: Box::new(|i| api_event("/", "none", &json!({}), &format!("10.9.{}.{}", i / 250, i % 250))),
        },
        Subject {
            name: "send-message",
            binary: release.join("send-message"),
            event: Box::new(move |i| {
                let phone = format!("+96655{:04}{:03}", i, run_id);
                let body = json!({"otpCode": "482913", "toPhoneE164": phone});
                api_event("/SendMessage", &send_key, &body, &format!("10.1.{}.{}", i / 250, i % 250))
            }),
        },
        Subject {
            name: "check-message-status",
            binary: release.join("check-message-status"),
            event: Box::new(move |i| {
                let body = json!({"id": uuid::Uuid::new_v4().to_string()});
                api_event("/CheckMessageStatus", &check_key, &body, &format!("10.2.{}.{}", i / 250, i % 250))
            }),
        },
    ];
    let mut results = Vec::new();
    for subject in &subjects {
        eprintln!("xtask: measuring {}", subject.name);
        results.push(measure(subject, &env).await?);
    }
    let floor_init = results[0]["initMs"]["median"].as_f64().unwrap_or(1.0).max(0.001);
    let floor_warm = results[0]["warmMs"]["median"].as_f64().unwrap_or(1.0).max(0.001);
    for result in results.iter_mut().skip(1) {
        let init = result["initMs"]["median"].as_f64().unwrap_or(0.0);
        let warm = result["warmMs"]["median"].as_f64().unwrap_or(0.0);
        result["initRatioToFloor"] = json!(init / floor_init);
        result["warmRatioToFloor"] = json!(warm / floor_warm);
    }
    eprintln!("xtask: load run ({LOAD_CLIENTS} clients, {LOAD_SECONDS} s) against the local stack");
    let stack: Value = std::fs::read_to_string(root().join(".lightotp/stack.json"))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .ok_or("no .lightotp/stack.json: start the stack first (cargo xtask up)")?;
    let load = load_run(
        stack["apiUrl"].as_str().unwrap_or("http://127.0.0.1:3000"),
        stack["awsEndpointUrl"].as_str().unwrap_or("http://127.0.0.1:4566"),
        &api_key,
    )
    .await?;
    let report = json!({
        "machine": machine(),
        "load": load,
        "functions": results,
        "budgets": budgets(&results, floor_init),
        "dollarsPerMillionOtps": dollars(&results),
    });
    let dir = target.join("bench");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("report.json"), serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let markdown = markdown(&report);
    std::fs::write(dir.join("report.md"), &markdown).map_err(|e| e.to_string())?;
    println!("{markdown}\nReport: {}", dir.join("report.json").display());
    Ok(())
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned()))
        })
        .unwrap_or_default();
    json!({ "cpu": cpu, "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1), "arch": std::env::consts::ARCH })
}

fn budgets(results: &[Value], floor_init: f64) -> Value {
    let mut checks = Vec::new();
    for result in results.iter().skip(1) {
        let name = result["function"].as_str().unwrap_or_default();
        let cpu = result["cpuPerInvocationUs"].as_f64().unwrap_or(f64::MAX);
        let init = result["initMs"]["median"].as_f64().unwrap_or(f64::MAX);
        let rss = result["peakRssMb"].as_f64().unwrap_or(f64::MAX);
        if name == "send-message" {
            checks.push(json!({"budget": "warm SendMessage user CPU per invocation < 1 ms", "value": cpu / 1000.0, "holds": cpu < 1000.0}));
        }
        checks.push(json!({"budget": format!("{name}: init < 1.5x the floor's"), "value": init / floor_init, "holds": init < 1.5 * floor_init}));
        checks.push(json!({"budget": format!("{name}: peak RSS < 40 MB"), "value": rss, "holds": rss < 40.0}));
    }
    Value::Array(checks)
}

/// List prices (us-east-1, arm64, on-demand; see docs/performance.md) applied to the measured durations and to the
/// DynamoDB requests a send makes (asserted in tests/api/cost.rs).
fn dollars(results: &[Value]) -> Value {
    const LAMBDA_GB_SECOND: f64 = 0.000_013_333_4;
    const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
    const API_GATEWAY_REQUEST: f64 = 1.00 / 1e6;
    const DYNAMODB_WRU: f64 = 0.625 / 1e6;
    const DYNAMODB_RRU: f64 = 0.125 / 1e6;
    // A send: rate counter (1 WRU), batch read of 4 small items, consistent (4 RRU), subscriptions query (1 RRU),
    // reservation transaction of 4 items (2 WRU each: 8), recording the send (1 WRU).
    const SEND_WRU: f64 = 10.0;
    const SEND_RRU: f64 = 5.0;
    let send = results.iter().find(|r| r["function"] == "send-message");
    let billed_ms = send.and_then(|r| r["warmMs"]["median"].as_f64()).unwrap_or(0.0).ceil();
    let lambda = 0.125 * billed_ms / 1000.0 * LAMBDA_GB_SECOND + LAMBDA_REQUEST;
    let dynamodb = SEND_WRU * DYNAMODB_WRU + SEND_RRU * DYNAMODB_RRU;
    let per_otp = lambda + API_GATEWAY_REQUEST + dynamodb;
    json!({
        "lambda": lambda * 1e6,
        "apiGateway": API_GATEWAY_REQUEST * 1e6,
        "dynamodb": dynamodb * 1e6,
        "total": per_otp * 1e6,
        "assumptions": "128 MB arm64, billed per 1 ms at the warm median; DynamoDB on-demand; WhatsApp's own price excluded",
    })
}

fn markdown(report: &Value) -> String {
    let mut out = String::from(
        "| function | binary | init median / p99 (ms) | warm median / p99 (ms) | user CPU per call (µs) | kernel CPU per call (µs) | peak RSS (MB) | init × floor |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for f in report["functions"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "| {} | {:.1} MB | {:.1} / {:.1} | {:.2} / {:.2} | {:.0} | {:.0} | {:.1} | {} |\n",
            f["function"].as_str().unwrap_or_default(),
            f["binaryBytes"].as_f64().unwrap_or(0.0) / 1_048_576.0,
            f["initMs"]["median"].as_f64().unwrap_or(0.0),
            f["initMs"]["p99"].as_f64().unwrap_or(0.0),
            f["warmMs"]["median"].as_f64().unwrap_or(0.0),
            f["warmMs"]["p99"].as_f64().unwrap_or(0.0),
            f["cpuPerInvocationUs"].as_f64().unwrap_or(0.0),
            f["kernelPerInvocationUs"].as_f64().unwrap_or(0.0),
            f["peakRssMb"].as_f64().unwrap_or(0.0),
            f["initRatioToFloor"].as_f64().map_or("1 (floor)".to_owned(), |r| format!("{r:.2}")),
        ));
    }
    out.push_str("\n| budget | value | holds |\n| --- | --- | --- |\n");
    for b in report["budgets"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "| {} | {:.2} | {} |\n",
            b["budget"].as_str().unwrap_or_default(),
            b["value"].as_f64().unwrap_or(0.0),
            if b["holds"].as_bool() == Some(true) { "yes" } else { "**no**" }
        ));
    }
    let load = &report["load"];
    let line = |v: &Value| {
        format!(
            "{:.0}/s, p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms ({} requests, {} errors)",
            v["perSecond"].as_f64().unwrap_or(0.0),
            v["latencyMs"]["p50"].as_f64().unwrap_or(0.0),
            v["latencyMs"]["p90"].as_f64().unwrap_or(0.0),
            v["latencyMs"]["p99"].as_f64().unwrap_or(0.0),
            v["requests"],
            v["errors"],
        )
    };
    out.push_str(&format!(
        "\nLoad run, {} clients for {} s on loopback: SendMessage {}; the emulator alone (DescribeTable) {}.\n",
        load["clients"],
        load["seconds"],
        line(&load["sendMessage"]),
        line(&load["emulatorDescribeTable"]),
    ));
    let d = &report["dollarsPerMillionOtps"];
    out.push_str(&format!(
        "\nInfrastructure dollars per million OTPs: **${:.2}** (Lambda ${:.2}, API Gateway ${:.2}, DynamoDB ${:.2}); {}.\n",
        d["total"].as_f64().unwrap_or(0.0),
        d["lambda"].as_f64().unwrap_or(0.0),
        d["apiGateway"].as_f64().unwrap_or(0.0),
        d["dynamodb"].as_f64().unwrap_or(0.0),
        d["assumptions"].as_str().unwrap_or_default(),
    ));
    out
}
