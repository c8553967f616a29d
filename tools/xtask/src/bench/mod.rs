//! `cargo xtask bench`: for release builds of every function, beside a bare `lambda_http` function (the floor):
//! cold start, warm latency, CPU per invocation, peak memory and binary size; the requests each makes to AWS on
//! every path with DynamoDB's units; a load run of the local stack; dollars per million OTPs. Writes
//! `$CARGO_TARGET_DIR/bench/report.json` and `report.md`.

mod build;
mod ceiling;
mod cost;
mod events;
mod instructions;
mod load;
mod report;
mod runtime;
mod webhooks;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::tools::{cargo, root, run, target_dir};
use cost::{Door, Meter, PER_SCENARIO, Scenario};
use runtime::{
    Answer, HANDLER_CPU_ENV, HandlerCpuLog, Started, cpu_between, cpu_micros, peak_rss_kb, start, thread_cpu_nanos,
};

/// Cold starts measured per function.
const STARTS: usize = 20;
/// Warm invocations measured per function (after `WARMUP`).
const INVOCATIONS: usize = 200;
const WARMUP: usize = 10;
/// The bare function every other is compared with.
const FLOOR: &str = "bench-floor";
/// The functions that load libphonenumber's metadata at cold start (their init budget is "halved", the others' "within
/// 2× the floor's").
const PHONE_METADATA: [&str; 3] = ["send-message", "otp-initiate", "otp-verify"];
/// The functions, as their binaries are named.
const FUNCTIONS: [&str; 8] = [
    "send-message",
    "check-message-status",
    "whatsapp-webhook",
    "sweep-stuck-messages",
    "otp-initiate",
    "otp-verify",
    "dashboard",
    "deliver-webhooks",
];
/// Dashboard sign-ins measured (each hashes a password with Argon2id: fewer than the API's invocations).
const SIGN_INS: usize = 50;

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// Init over `STARTS` cold starts, then the warm figures over `events` (the first `WARMUP` not measured).
async fn measure(
    name: &str,
    binary: &Path,
    env: &[(String, String)],
    events: Vec<String>,
) -> Result<(Value, Vec<Answer>), String> {
    measure_with(name, binary, env, &[], events).await
}

/// As [`measure`], with `extra` settings for the function (e.g. metrics switched off).
async fn measure_with(
    name: &str,
    binary: &Path,
    env: &[(String, String)],
    extra: &[(String, String)],
    events: Vec<String>,
) -> Result<(Value, Vec<Answer>), String> {
    let mut inits = Vec::new();
    for _ in 0..STARTS {
        let mut started = start(name, binary, env, extra, |_| {}).await?;
        inits.push(started.init);
        let _ = started.child.kill().await;
    }
    inits.sort();

    let Started { runtime, mut child, .. } = start(name, binary, env, extra, |command| {
        command.env(HANDLER_CPU_ENV, "1").stdout(std::process::Stdio::piped());
    })
    .await?;
    let pid = child.id().unwrap_or(0);
    let handler_cpu = child.stdout.take().map(HandlerCpuLog::follow).unwrap_or_default();
    let total = events.len();
    let measured = total.saturating_sub(WARMUP).max(1);
    let mut answers = Vec::new();
    let (mut ticks_before, mut threads_before, mut bytes_before) = ((0, 0), HashMap::new(), (0, 0));
    for (i, event) in events.into_iter().enumerate() {
        if i == WARMUP {
            ticks_before = cpu_micros(pid);
            threads_before = thread_cpu_nanos(pid);
            bytes_before = handler_cpu.bytes();
        }
        answers.push(runtime.invoke(event).await?);
    }
    let cpu_nanos = cpu_between(&threads_before, &thread_cpu_nanos(pid));
    let ticks_after = cpu_micros(pid);
    let rss_kb = peak_rss_kb(pid);
    // The floor does not measure its handler (it has none worth measuring): no lines.
    let mut handler_nanos = if name == FLOOR { Vec::new() } else { handler_cpu.wait_for(total, WARMUP).await? };
    handler_nanos.sort_unstable();
    let bytes_after = handler_cpu.bytes();
    let _ = child.kill().await;
    let mut latencies: Vec<Duration> = answers.iter().skip(WARMUP).map(|a| a.latency).collect();
    latencies.sort();
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    for answer in answers.iter().skip(WARMUP) {
        let key = if !answer.ok {
            "error".to_owned()
        } else if answer.status == 0 {
            "ok".to_owned()
        } else {
            answer.status.to_string()
        };
        *statuses.entry(key).or_default() += 1;
    }
    let size = std::fs::metadata(binary).map(|m| m.len()).unwrap_or(0);
    let result = json!({
        "function": name,
        "binaryBytes": size,
        "initMs": { "median": percentile(&inits, 0.5), "p99": percentile(&inits, 0.99), "starts": STARTS },
        "warmMs": { "median": percentile(&latencies, 0.5), "p99": percentile(&latencies, 0.99), "invocations": measured },
        "handlerCpuUs": handler_cpu_micros(&handler_nanos),
        "cpuPerInvocationUs": cpu_nanos as f64 / 1000.0 / measured as f64,
        "userPerInvocationUs": ticks_after.0.saturating_sub(ticks_before.0) as f64 / measured as f64,
        "kernelPerInvocationUs": ticks_after.1.saturating_sub(ticks_before.1) as f64 / measured as f64,
        "peakRssMb": rss_kb as f64 / 1024.0,
        "logBytesPerInvocation": bytes_after.0.saturating_sub(bytes_before.0) as f64 / measured as f64,
        "emfBytesPerInvocation": bytes_after.1.saturating_sub(bytes_before.1) as f64 / measured as f64,
        "statuses": statuses,
    });
    Ok((result, answers))
}

/// How long each phase of the run took, in the order run.
struct Phases {
    since: Instant,
    seconds: Vec<Value>,
}

impl Default for Phases {
    fn default() -> Self {
        Self { since: Instant::now(), seconds: Vec::new() }
    }
}

impl Phases {
    /// Ends the phase `name` (begun when the last one ended).
    fn mark(&mut self, name: &str) {
        let now = Instant::now();
        self.seconds.push(json!({ "phase": name, "seconds": (now - self.since).as_secs_f64() }));
        self.since = now;
    }
}

/// Median, p99 and mean of the handlers' CPU outside awaits, in µs (null when not logged).
fn handler_cpu_micros(sorted_nanos: &[u64]) -> Value {
    if sorted_nanos.is_empty() {
        return Value::Null;
    }
    let at = |p: f64| sorted_nanos[((sorted_nanos.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0;
    let mean = sorted_nanos.iter().sum::<u64>() as f64 / sorted_nanos.len() as f64 / 1000.0;
    json!({ "median": at(0.5), "p99": at(0.99), "mean": mean })
}

fn admin(env: &[(String, String)], args: &[&str]) -> Result<Value, String> {
    let target = target_dir();
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

/// A client of the bench's own: a sender, a template, `credits` on a subscription (none when 0), `wallet`
/// credits for the Verify API; returns its API key.
fn tenant(env: &[(String, String)], name: &str, run_id: u32, credits: u64, wallet: u64) -> Result<String, String> {
    tenant_with_id(env, name, run_id, credits, wallet).map(|(_, key)| key)
}

/// As [`tenant`], and the client's id first.
fn tenant_with_id(
    env: &[(String, String)],
    name: &str,
    run_id: u32,
    credits: u64,
    wallet: u64,
) -> Result<(String, String), String> {
    let email = format!("{}-{run_id}@example.com", name.to_lowercase());
    let client = admin(env, &["client", "create", "--name", name, "--email", &email])?;
    let id = client["clientId"].as_str().unwrap_or_default().to_owned();
    let sender = format!("bench-{}-{run_id}", name.to_lowercase());
    admin(
        env,
        &["sender", "assign", "--client", &id, "--phone-number-id", &sender, "--display-phone", "+15550000000"],
    )?;
    admin(env, &["template", "add", "--client", &id, "--name", "bench_otp", "--language", "en"])?;
    if credits > 0 {
        admin(env, &["subscription", "grant", "--client", &id, "--credits", &credits.to_string()])?;
    }
    if wallet > 0 {
        admin(env, &["wallet", "top-up", "--client", &id, "--credits", &wallet.to_string()])?;
    }
    let key = admin(env, &["key", "create", "--client", &id])?;
    Ok((id, key["apiKey"].as_str().unwrap_or_default().to_owned()))
}

/// Sends `request` and reads the answer as JSON; an error names `what`.
async fn json_reply(request: reqwest::RequestBuilder, what: &str) -> Result<Value, String> {
    request.send().await.map_err(|e| format!("{what}: {e}"))?.json().await.map_err(|e| format!("{what}: {e}"))
}

async fn get_json(url: &str) -> Result<Value, String> {
    json_reply(reqwest::Client::new().get(url), url).await
}

/// The messages the fake WhatsApp received for one sender: (wamid, the callback data we sent).
async fn whatsapp_messages(whatsapp_url: &str, sender: &str) -> Result<Vec<(String, String)>, String> {
    let all = get_json(&format!("{whatsapp_url}/_fake/messages")).await?;
    Ok(all
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["phoneNumberId"] == sender)
        .filter_map(|m| Some((m["wamid"].as_str()?.to_owned(), m["bizOpaqueCallbackData"].as_str()?.to_owned())))
        .collect())
}

/// The codes the emulator's SNS sent, by phone number (the last one for each).
async fn sms_codes(aws_url: &str) -> Result<HashMap<String, String>, String> {
    let all = get_json(&format!("{aws_url}/_local/sms")).await?;
    let mut codes = HashMap::new();
    for sms in all.as_array().into_iter().flatten() {
        let (Some(phone), Some(text)) = (sms["phoneNumber"].as_str(), sms["message"].as_str()) else { continue };
        if let Some(code) = text.split(|c: char| !c.is_ascii_digit()).find(|run| run.len() >= 4) {
            codes.insert(phone.to_owned(), code.to_owned());
        }
    }
    Ok(codes)
}

/// A dashboard visitor and a signed-in session of the stack's demo user, made through the local gateway (the bench's
/// function shares its table and pepper, so they are valid there too).
struct DashboardVisit {
    /// `lotp_visitor=<token>`.
    visitor: String,
    /// The visitor's CSRF token.
    csrf: String,
    /// `lotp_session=<token>`.
    session: String,
    email: String,
    password: String,
}

impl DashboardVisit {
    async fn open(api_url: &str, stack: &Value) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        let email =
            stack["dashboard"]["demo"]["email"].as_str().ok_or("no dashboard sign-in in the stack file")?.to_owned();
        let password = stack["dashboard"]["demo"]["password"].as_str().unwrap_or_default().to_owned();
        let page = http.get(format!("{api_url}/dashboard")).send().await.map_err(|e| format!("GET /dashboard: {e}"))?;
        let visitor = cookie(&page, "lotp_visitor").ok_or("GET /dashboard set no visitor cookie")?;
        let html = page.text().await.map_err(|e| e.to_string())?;
        let csrf = html
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .ok_or("no CSRF token on the sign-in page")?
            .to_owned();
        let body: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("csrf", &csrf)
            .append_pair("email", &email)
            .append_pair("password", &password)
            .finish();
        let signed_in = http
            .post(format!("{api_url}/dashboard/login"))
            .header("cookie", &visitor)
            .header("origin", api_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| format!("POST /dashboard/login: {e}"))?;
        let session = cookie(&signed_in, "lotp_session").ok_or("the demo user's sign-in set no session cookie")?;
        Ok(Self { visitor, csrf, session, email, password })
    }
}

/// `name=value` of the response's cookie `name`.
fn cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|pair| pair.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// `cargo xtask bench`.
pub async fn bench() -> Result<(), String> {
    let env = crate::stack::read_env_file(&crate::stack::StackFiles::of(&crate::stack::up_stack_file()).env)?;
    let stack: Value = std::fs::read_to_string(crate::stack::up_stack_file())
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .ok_or("no .lightotp/stack.json: start the stack first (cargo xtask up)")?;
    let api_url = stack["apiUrl"].as_str().unwrap_or("http://127.0.0.1:3000").to_owned();
    let aws_url = stack["awsEndpointUrl"].as_str().unwrap_or("http://127.0.0.1:4566").to_owned();
    let whatsapp_url = stack["whatsappUrl"].as_str().unwrap_or("http://127.0.0.1:4577").to_owned();
    let meter = Meter::new(&aws_url);

    instructions::ensure_valgrind()?;
    let mut phases = Phases::default();
    let mut build = cargo();
    build.args(["build", "--release", "-p", FLOOR]);
    for function in FUNCTIONS {
        build.args(["-p", function]);
    }
    run("building release binaries (stripped, LTO)", &mut build)?;
    run(
        "building send-message's profiling binary (release code with symbols, for callgrind)",
        cargo().args(["build", "--profile", "profiling", "-p", "send-message"]),
    )?;
    // The operator CLI sets up the bench's clients: built as `up` built it, so nothing to do after `up`.
    crate::stack::build_binaries()?;
    phases.mark("build");
    let release = target_dir().join("release");
    let run_id = (uuid::Uuid::new_v4().as_u128() % 1000) as u32;
    // Clients of the bench's own: every send goes to a new number (no cooldown) from a new source IP (no rate
    // limit), so every measured invocation takes the path it is meant to.
    let key = tenant(&env, "Bench", run_id, 1_000_000, 1_000_000)?;
    let broke_key = tenant(&env, "Broke", run_id, 0, 0)?;
    let low_key = tenant(&env, "Low", run_id, 10, 0)?;
    let bench_sender = format!("bench-bench-{run_id}");
    let n = WARMUP + INVOCATIONS;

    let mut functions = Vec::new();
    phases.mark("clients set up");
    eprintln!("xtask: measuring {FLOOR}");
    let floor_events = (0..n).map(|i| events::lightotp("POST /", "none", &json!({}), &events::ip(9, i))).collect();
    functions.push(measure(FLOOR, &release.join(FLOOR), &env, floor_events).await?.0);

    eprintln!("xtask: measuring send-message");
    let send = |block: u8, i: usize, key: &str| {
        events::send_message(key, &events::phone(run_id, block, i), &events::ip(block, i))
    };
    let (result, sent) =
        measure("send-message", &release.join("send-message"), &env, (0..n).map(|i| send(1, i, &key)).collect())
            .await?;
    functions.push(result);
    eprintln!("xtask: measuring send-message with its metrics switched off (what they cost)");
    // `lightotp::metrics::SWITCH_ENV`: the function installs no recorder, so nothing is recorded or written.
    let metrics_off = [("LIGHTOTP_METRICS".to_owned(), "off".to_owned())];
    // Numbers of their own (block 4): the first run's would meet their cooldown.
    let without = (0..n).map(|i| send(4, i, &key)).collect();
    let (result, _) =
        measure_with("send-message, metrics off", &release.join("send-message"), &env, &metrics_off, without).await?;
    functions.push(result);
    let ids: Vec<String> = sent.iter().filter_map(|a| a.body["id"].as_str().map(str::to_owned)).collect();
    if ids.is_empty() {
        return Err("send-message answered no message id".to_owned());
    }

    eprintln!("xtask: measuring check-message-status");
    let check = |i: usize, id: &str| events::check_status(&key, id, &events::ip(2, i));
    let check_events = (0..n).map(|i| check(i, &ids[i % ids.len()])).collect();
    functions.push(measure("check-message-status", &release.join("check-message-status"), &env, check_events).await?.0);

    eprintln!("xtask: measuring whatsapp-webhook");
    let messages = whatsapp_messages(&whatsapp_url, &bench_sender).await?;
    if messages.len() < n {
        return Err(format!("the fake WhatsApp holds {} of the bench's messages, {n} needed", messages.len()));
    }
    let webhook_events = messages
        .iter()
        .take(n)
        .map(|(wamid, callback)| events::whatsapp_status(wamid, callback, "delivered", true))
        .collect::<Result<_, _>>()?;
    functions.push(measure("whatsapp-webhook", &release.join("whatsapp-webhook"), &env, webhook_events).await?.0);

    eprintln!("xtask: measuring sweep-stuck-messages");
    let sweeps = (0..WARMUP + 50).map(|_| events::schedule()).collect();
    functions.push(measure("sweep-stuck-messages", &release.join("sweep-stuck-messages"), &env, sweeps).await?.0);

    eprintln!("xtask: measuring deliver-webhooks (its schedule: the due retries, none due)");
    let ticks = (0..WARMUP + 50).map(|_| events::schedule()).collect();
    functions.push(measure("deliver-webhooks", &release.join("deliver-webhooks"), &env, ticks).await?.0);

    eprintln!("xtask: measuring otp-initiate");
    let initiate = |block: u8, i: usize, receiver: &str| events::initiate(&key, receiver, &events::ip(block, i));
    let receivers: Vec<String> = (0..n).map(|i| events::phone(run_id, 5, i)).collect();
    let (result, initiated) = measure(
        "otp-initiate",
        &release.join("otp-initiate"),
        &env,
        receivers.iter().enumerate().map(|(i, r)| initiate(5, i, r)).collect(),
    )
    .await?;
    functions.push(result);

    eprintln!("xtask: measuring otp-verify");
    let codes = sms_codes(&aws_url).await?;
    let verify = |i: usize, request_id: &str, code: &str| events::verify(&key, request_id, code, &events::ip(6, i));
    let verify_events: Vec<String> = initiated
        .iter()
        .zip(&receivers)
        .enumerate()
        .filter_map(|(i, (answer, receiver))| {
            Some(verify(i, answer.body["request_id"].as_str()?, codes.get(receiver)?))
        })
        .collect();
    if verify_events.len() < n {
        return Err(format!("{} of {n} initiated codes found in the emulator's SMS outbox", verify_events.len()));
    }
    functions.push(measure("otp-verify", &release.join("otp-verify"), &env, verify_events).await?.0);

    eprintln!("xtask: measuring dashboard (the Overview page, then sign-ins)");
    let visit = DashboardVisit::open(&api_url, &stack).await?;
    let overview = (0..n).map(|i| events::dashboard_overview(&visit.session, &events::ip(7, i))).collect();
    functions.push(measure("dashboard: overview", &release.join("dashboard"), &env, overview).await?.0);
    let sign_ins = (0..WARMUP + SIGN_INS)
        .map(|i| {
            events::dashboard_sign_in(
                &api_url,
                &visit.visitor,
                &visit.csrf,
                &visit.email,
                &visit.password,
                &events::ip(8, i),
            )
        })
        .collect();
    functions.push(measure("dashboard: sign-in", &release.join("dashboard"), &env, sign_ins).await?.0);

    let floor_init = functions[0]["initMs"]["median"].as_f64().unwrap_or(1.0).max(0.001);
    let floor_warm = functions[0]["warmMs"]["median"].as_f64().unwrap_or(1.0).max(0.001);
    for result in functions.iter_mut().skip(1) {
        let init = result["initMs"]["median"].as_f64().unwrap_or(0.0);
        let warm = result["warmMs"]["median"].as_f64().unwrap_or(0.0);
        result["initRatioToFloor"] = json!(init / floor_init);
        result["warmRatioToFloor"] = json!(warm / floor_warm);
    }

    phases.mark("functions measured");
    eprintln!("xtask: counting requests to AWS on each path");
    let scenarios =
        scenarios(run_id, &key, &broke_key, &low_key, &ids, (&api_url, &aws_url, &whatsapp_url), &bench_sender).await?;
    let mut requests = Vec::new();
    for scenario in scenarios {
        requests.push(cost::measure(scenario, &release, &env, &meter, run_id).await?);
    }

    phases.mark("requests counted");
    eprintln!("xtask: counting instructions with callgrind (init of each function; a warm send's handler)");
    let mut inits = Vec::new();
    for binary in std::iter::once(FLOOR).chain(FUNCTIONS) {
        inits.push((binary, instructions::init(binary, &release.join(binary), &env).await?));
    }
    let floor_instructions = inits[0].1.max(1) as f64;
    // Phone blocks of their own (Saudi mobile numbers start 50, 53–59: blocks 3 and 6 are free), new numbers and
    // addresses for each attempt.
    let callgrind_sends = |block: u8, attempt: usize, count: usize| -> Vec<String> {
        (0..count).map(|i| send(block, attempt * 100 + i, &key)).collect()
    };
    let warm_send = instructions::warm_handler(
        "send-message",
        &target_dir().join("profiling/send-message"),
        &env,
        &meter,
        &format!("bench{run_id}-callgrind"),
        |attempt| (callgrind_sends(3, attempt, instructions::FEW), callgrind_sends(6, attempt, instructions::MANY)),
    )
    .await?;
    let asked = |asked: &instructions::Asked| -> Value {
        asked.iter().map(|((service, action), n)| (format!("{service} {action}"), json!(n))).collect()
    };
    let instructions = json!({
        "init": inits
            .iter()
            .map(|(function, n)| json!({
                "function": function,
                "instructions": n,
                "ratioToFloor": *n as f64 / floor_instructions,
                "loadsPhoneMetadata": PHONE_METADATA.contains(function),
            }))
            .collect::<Vec<_>>(),
        "warmSendMessageHandler": warm_send.per_invocation,
        "warmSendMessageSdk": instructions::SDK_PARTS
            .iter()
            .zip(&warm_send.sdk_parts)
            .map(|((part, function), n)| json!({ "part": part, "function": function, "instructions": n }))
            .collect::<Vec<_>>(),
        "warmSendMessageCount": {
            "onlyTheSendsDiffer": warm_send.clean,
            "attempts": warm_send.attempts,
            "few": { "sends": instructions::FEW, "requests": asked(&warm_send.few) },
            "many": { "sends": instructions::MANY, "requests": asked(&warm_send.many) },
        },
    });
    phases.mark("instructions counted");
    eprintln!("xtask: load run ({} clients, {} s) against the local stack", load::LOAD_CLIENTS, load::LOAD_SECONDS);
    let load = load::load_run(&api_url, &aws_url, &key).await?;

    phases.mark("load run");
    eprintln!("xtask: client webhooks delivered by the local stack ({} events)", webhooks::EVENTS);
    let (hooks_client, hooks_key) = tenant_with_id(&env, "Hooks", run_id, 1_000, 0)?;
    let webhooks = webhooks::delivery_run(
        &env,
        (&api_url, &whatsapp_url),
        &meter,
        &hooks_client,
        &hooks_key,
        &format!("bench-hooks-{run_id}"),
        run_id,
    )
    .await?;
    phases.mark("webhooks");
    let warm = |name: &str| {
        functions.iter().find(|r| r["function"] == name).and_then(|r| r["warmMs"]["median"].as_f64()).unwrap_or(0.0)
    };
    let path = |function: &str, scenario: &str| {
        requests.iter().find(|r| r["function"] == function && r["scenario"] == scenario).cloned().unwrap_or(Value::Null)
    };
    let (send_ok, delivered) = (path("send-message", "happy path"), path("whatsapp-webhook", "status update"));
    let (initiated_ok, verified_ok) = (path("otp-initiate", "happy path"), path("otp-verify", "right code"));
    let dollars = json!([
        cost::dollars(
            "WhatsApp OTP (SendMessage)",
            &[
                (&send_ok, warm("send-message"), 1.0, Door::ApiGateway),
                (&delivered, warm("whatsapp-webhook"), 3.0, Door::FunctionUrl),
            ],
            "one SendMessage through API Gateway and the three status webhooks Meta sends for it (sent, delivered, read) on the webhook's function URL; 128 MB arm64 billed per ms at the warm median; WhatsApp's own price excluded",
        ),
        cost::dollars(
            "SMS OTP (Verify API)",
            &[
                (&initiated_ok, warm("otp-initiate"), 1.0, Door::ApiGateway),
                (&verified_ok, warm("otp-verify"), 1.0, Door::ApiGateway),
            ],
            "one initiate and one verify; 128 MB arm64 billed per ms at the warm median; the SMS itself (SNS) excluded",
        ),
    ]);

    let lto = build::release_lto(
        &std::fs::read_to_string(root().join("Cargo.toml")).unwrap_or_default(),
        std::env::var("CARGO_PROFILE_RELEASE_LTO").ok().as_deref(),
    );
    let unstripped: Vec<&str> =
        FUNCTIONS.into_iter().filter(|f| build::stripped(&release.join(f)) != Some(true)).collect();
    let mut ceiling = ceiling::ceiling(&send_ok["items"]);
    let per_client = ceiling["perClient"].as_f64().unwrap_or(0.0);
    ceiling["webhooks"] = ceiling::webhook_ceiling(&webhooks["writeUnitsPerEvent"], per_client);
    let mut budgets = report::budgets(&functions, floor_init);
    if let Some(checks) = budgets.as_array_mut() {
        checks.extend(report::request_budgets(&requests, &dollars, &ceiling));
        checks.extend(report::instruction_budgets(&instructions));
    }
    if let Some(checks) = budgets.as_array_mut() {
        checks.push(json!({
            "budget": "release binaries stripped and built with LTO",
            "value": format!("lto = {lto}; not stripped: {}", if unstripped.is_empty() { "none".to_owned() } else { unstripped.join(", ") }),
            "holds": build::is_cross_crate_lto(&lto) && unstripped.is_empty(),
        }));
    }
    let report = json!({
        "machine": report::machine(),
        "functions": functions,
        "budgets": budgets,
        "requests": requests,
        "load": load,
        "webhooks": webhooks,
        "dollarsPerMillionOtps": dollars,
        "ceiling": ceiling,
        "instructions": instructions,
        "secondsPerPhase": phases.seconds,
    });
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("report.json"), serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let markdown = report::markdown(&report);
    std::fs::write(dir.join("report.md"), &markdown).map_err(|e| e.to_string())?;
    println!("{markdown}\nReport: {}", dir.join("report.json").display());
    Ok(())
}

/// Every path whose requests to AWS the report counts: the happy path and each refusal of each function.
async fn scenarios(
    run_id: u32,
    key: &str,
    broke_key: &str,
    low_key: &str,
    ids: &[String],
    urls: (&str, &str, &str),
    sender: &str,
) -> Result<Vec<Scenario>, String> {
    let (api_url, aws_url, whatsapp_url) = urls;
    let k = PER_SCENARIO;
    let send = |block: u8, i: usize, key: &str, phone: &str| events::send_message(key, phone, &events::ip(block, i));
    let fresh = |block: u8, i: usize| events::phone(run_id, block, i);
    let scenario =
        |function, name, setup, events, status| Scenario { function, name, env: Vec::new(), setup, events, status };
    // A scenario without a setup of its own: its first event only warms the process, as any instance that has served
    // a request is (the key's verifier, its use this hour, the raised per-IP limits: once per instance and minute or
    // hour, not per request); the other `k` are counted.
    let warmed = |function, name, mut events: Vec<String>, status| {
        let first = if events.is_empty() { Vec::new() } else { vec![events.remove(0)] };
        Scenario { function, name, env: Vec::new(), setup: first, events, status }
    };
    let mut list = vec![
        warmed("send-message", "happy path", (0..=k).map(|i| send(11, i, key, &fresh(7, 300 + i))).collect(), 200),
        warmed("send-message", "invalid number", (0..=k).map(|i| send(12, i, key, "+999999999999")).collect(), 400),
        warmed(
            "send-message",
            "unknown API key",
            (0..=k)
                .map(|i| send(13, i, &format!("lotp_{:016x}_{}", i + 1, "0".repeat(64)), &fresh(7, 400 + i)))
                .collect(),
            404,
        ),
        warmed(
            "send-message",
            "no credits",
            (0..=k).map(|i| send(14, i, broke_key, &fresh(7, 500 + i))).collect(),
            400,
        ),
        scenario(
            "send-message",
            "cooldown",
            vec![send(15, 0, key, &fresh(7, 600))],
            (1..=k).map(|i| send(15, i, key, &fresh(7, 600))).collect(),
            400,
        ),
        scenario(
            "send-message",
            "low-balance email",
            // 10 credits, threshold 10 % = 1: the tenth send takes the balance below it and claims the email.
            (0..9).map(|i| send(17, i, low_key, &fresh(7, 700 + i))).collect(),
            vec![send(17, 9, low_key, &fresh(7, 709))],
            200,
        ),
    ];
    // The same idempotency key again: the stored answer, replayed.
    let idempotency_key = uuid::Uuid::new_v4().to_string();
    let keyed = |i: usize| {
        let body = json!({"otpCode": "482913", "toPhoneE164": fresh(7, 800), "idempotencyKey": idempotency_key});
        events::lightotp("POST /SendMessage", key, &body, &events::ip(18, i))
    };
    list.push(scenario("send-message", "idempotent replay", vec![keyed(0)], (1..=k).map(keyed).collect(), 200));
    // One source address past a limit of 3 a minute (set for this process only).
    let mut limited = scenario(
        "send-message",
        "rate limited",
        (0..3).map(|i| send(19, 0, key, &fresh(7, 900 + i))).collect(),
        (0..k).map(|i| send(19, 0, key, &fresh(7, 910 + i))).collect(),
        429,
    );
    limited.env.push(("RATE_LIMIT_PER_MINUTE".to_owned(), "3".to_owned()));
    list.push(limited);

    let check = |i: usize, id: &str| events::check_status(key, id, &events::ip(20, i));
    list.push(warmed("check-message-status", "found", (0..=k).map(|i| check(i, &ids[i % ids.len()])).collect(), 200));
    list.push(warmed(
        "check-message-status",
        "not found",
        (0..=k).map(|i| check(i, &uuid::Uuid::new_v4().to_string())).collect(),
        404,
    ));

    // Webhooks for messages the measured run sent and no webhook has touched yet (it used the first ones).
    let messages = whatsapp_messages(whatsapp_url, sender).await?;
    let spare: Vec<&(String, String)> = messages.iter().rev().take(3 * k + 1).collect();
    if spare.len() < 3 * k + 1 {
        return Err("not enough messages for the webhook paths".to_owned());
    }
    let status = |m: &(String, String), s: &str, genuine: bool| events::whatsapp_status(&m.0, &m.1, s, genuine);
    list.push(scenario(
        "whatsapp-webhook",
        "status update",
        vec![],
        spare[..k].iter().map(|m| status(m, "delivered", true)).collect::<Result<_, _>>()?,
        200,
    ));
    list.push(scenario(
        "whatsapp-webhook",
        "failed, refunded",
        vec![],
        spare[k..2 * k].iter().map(|m| status(m, "failed", true)).collect::<Result<_, _>>()?,
        200,
    ));
    list.push(scenario(
        "whatsapp-webhook",
        "repeated status",
        vec![status(spare[2 * k], "read", true)?],
        (0..k).map(|_| status(spare[2 * k], "read", true)).collect::<Result<_, _>>()?,
        200,
    ));
    list.push(scenario(
        "whatsapp-webhook",
        "forged signature",
        vec![],
        (0..k).map(|_| status(spare[3 * k], "read", false)).collect::<Result<_, _>>()?,
        401,
    ));
    list.push(scenario(
        "sweep-stuck-messages",
        "scheduled run",
        vec![],
        (0..k).map(|_| events::schedule()).collect(),
        0,
    ));

    let initiate = |i: usize, receiver: &str| events::initiate(key, receiver, &events::ip(21, i));
    list.push(warmed("otp-initiate", "happy path", (0..=k).map(|i| initiate(i, &fresh(8, i))).collect(), 200));
    list.push(warmed("otp-initiate", "invalid number", (0..=k).map(|i| initiate(i, "+999999999999")).collect(), 400));

    // Codes initiated through the local stack, then checked once each: right, or with one digit changed.
    let http = reqwest::Client::new();
    let mut pending = Vec::new();
    for i in 0..2 * (k + 1) {
        let receiver = fresh(8, 100 + i);
        let initiate =
            http.post(format!("{api_url}/api/otp/initiate")).bearer_auth(key).json(&json!({"receiver": receiver}));
        let reply = json_reply(initiate, "initiate").await?;
        let request_id = reply["request_id"].as_str().ok_or(format!("initiate answered {reply}"))?.to_owned();
        pending.push((request_id, receiver));
    }
    let codes = sms_codes(aws_url).await?;
    let verify = |i: usize, (request_id, receiver): &(String, String), right: bool| {
        let code = codes.get(receiver).cloned().unwrap_or_default();
        let code = if right {
            code
        } else {
            code.chars().map(|c| if c == '9' { '0' } else { char::from(c as u8 + 1) }).collect()
        };
        events::verify(key, request_id, &code, &events::ip(22, i))
    };
    list.push(warmed(
        "otp-verify",
        "right code",
        pending[..=k].iter().enumerate().map(|(i, p)| verify(i, p, true)).collect(),
        200,
    ));
    list.push(warmed(
        "otp-verify",
        "wrong code",
        pending[k + 1..].iter().enumerate().map(|(i, p)| verify(i, p, false)).collect(),
        400,
    ));
    Ok(list)
}
