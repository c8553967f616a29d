//! The local stack (docs/local-stack.md): the serialized AWS emulator, the fake WhatsApp Graph API and the local
//! gateway as child processes on 127.0.0.1, provisioned from `template.yaml` and seeded with a demo client.
//! `.lightotp/stack.json` is written when, and only when, every part answers, and removed when the stack stops.
//! A stack first claims its files and ports (`claim`), so it never starts beside, or writes over, another.

mod claim;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::process::{Child, Command};

pub use claim::{Claim, Ports, StackFiles};

use crate::tools::{root, run, say, target_dir, venv};

/// The token the fake WhatsApp accepts and the stack stores as the WhatsApp token secret.
const WHATSAPP_TOKEN: &str = "local-whatsapp-token";
/// The app secret the fake signs webhooks with.
const WHATSAPP_APP_SECRET: &str = "local-app-secret";
/// The webhook verify token of the local stack.
const WHATSAPP_VERIFY_TOKEN: &str = "local-verify-token";

/// `cargo xtask up`'s stack file.
pub fn up_stack_file() -> PathBuf {
    root().join(".lightotp/stack.json")
}

/// A started stack; stopping it kills every child it started, then gives up its files.
pub struct Running {
    children: Vec<(String, Child)>,
    claim: Claim,
}

impl Running {
    /// Stops every child and removes the stack file and the environment file (the logs stay).
    pub async fn stop(mut self) {
        for (name, child) in self.children.iter_mut().rev() {
            if let Err(err) = child.kill().await {
                eprintln!("xtask: stopping {name}: {err}");
            }
        }
        self.claim.files().remove_running_state();
    }
}

/// The environment every part shares: the standard AWS variables pointing at the emulator, and the names the
/// functions read (the same names `template.yaml` sets on AWS). The per-IP rate limit is the deployed default, 60 a
/// minute, unless `LIGHTOTP_RATE_LIMIT_PER_MINUTE` (for `up`; `LIGHTOTP_TEST_RATE_LIMIT_PER_MINUTE` for the test
/// stack, the ports' prefix) sets another; the functions refuse to start on a value that is not a positive whole
/// number.
fn function_env(ports: Ports) -> Vec<(&'static str, String)> {
    let aws = format!("http://127.0.0.1:{}", ports.aws);
    let rate_limit =
        std::env::var(format!("{}RATE_LIMIT_PER_MINUTE", ports.variable_prefix)).unwrap_or_else(|_| "60".to_owned());
    let webhook_timeout = std::env::var(format!("{}WEBHOOK_TIMEOUT_MS", ports.variable_prefix))
        .unwrap_or_else(|_| if ports.variable_prefix == "LIGHTOTP_TEST_" { "2000" } else { "10000" }.to_owned());
    vec![
        ("AWS_ENDPOINT_URL", aws),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("TABLE_NAME", "lightotp".to_owned()),
        ("PEPPER_SECRET_ID", "lightotp/pepper".to_owned()),
        ("WHATSAPP_TOKEN_SECRET_ID", "lightotp/whatsapp-token".to_owned()),
        ("API_KEY_SECRET_PREFIX", "lightotp/api-keys/".to_owned()),
        ("WHATSAPP_API_URL", format!("http://127.0.0.1:{}", ports.whatsapp)),
        ("WHATSAPP_API_VERSION", "v23.0".to_owned()),
        ("WHATSAPP_APP_SECRET_ID", "lightotp/whatsapp-app-secret".to_owned()),
        ("WHATSAPP_VERIFY_TOKEN_SECRET_ID", "lightotp/whatsapp-verify-token".to_owned()),
        ("FALLBACK_KEY_SECRET_ID", "lightotp/fallback-key".to_owned()),
        ("EMAIL_FROM", "notifications@lightotp.example".to_owned()),
        ("DASHBOARD_URL", format!("http://127.0.0.1:{}/dashboard", ports.api)),
        ("OPERATORS_EMAIL", "operators@lightotp.example".to_owned()),
        ("RATE_LIMIT_PER_MINUTE", rate_limit.trim().to_owned()),
        // Client webhook endpoints on this machine's loopback are allowed here, and only here.
        ("WEBHOOK_ALLOW_LOOPBACK", "1".to_owned()),
        ("WEBHOOK_TIMEOUT_MS", webhook_timeout.trim().to_owned()),
        // As template.yaml sets them for every function (docs/performance.md, "Memory").
        ("MIMALLOC_ARENA_EAGER_COMMIT", "0".to_owned()),
        ("MIMALLOC_PURGE_DELAY", "0".to_owned()),
        ("LIGHTOTP_API_PORT", ports.api.to_string()),
        ("LIGHTOTP_WHATSAPP_PORT", ports.whatsapp.to_string()),
        ("LIGHTOTP_AWS_PORT", ports.aws.to_string()),
    ]
}

/// A binary of the workspace's debug build.
fn binary(name: &str) -> PathBuf {
    target_dir().join("debug").join(name)
}

fn spawn(name: &str, command: &mut Command, log_dir: &Path) -> Result<(String, Child), String> {
    let log = std::fs::File::create(log_dir.join(format!("{name}.log"))).map_err(|e| format!("{name} log: {e}"))?;
    let log_err = log.try_clone().map_err(|e| format!("{name} log: {e}"))?;
    let child = command
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("starting {name}: {e}"))?;
    Ok((name.to_owned(), child))
}

/// Waits until the part started last answers `health_url` with its own process id (`{"pid": …}`), so that a server
/// of somebody else's on the port can never pass for it; fails as soon as any child exits.
async fn wait_until_ours(
    part: &str,
    health_url: &str,
    children: &mut [(String, Child)],
    log_dir: &Path,
) -> Result<(), String> {
    let started = Instant::now();
    let pid = children.last().and_then(|(_, child)| child.id());
    let http = reqwest::Client::new();
    while started.elapsed() < Duration::from_secs(60) {
        for (child_name, child) in children.iter_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "{child_name} exited ({status}) while waiting for the {part}; see {}",
                    log_dir.join(format!("{child_name}.log")).display()
                ));
            }
        }
        let answer = http.get(health_url).timeout(Duration::from_secs(2)).send().await;
        if let Ok(response) = answer
            && response.status().is_success()
        {
            let answered = response.json::<Value>().await.ok().and_then(|health| health["pid"].as_u64());
            if answered.is_some() && answered == pid.map(u64::from) {
                say(&format!("  the {part} is ready ({:.1} s)", started.elapsed().as_secs_f64()));
                return Ok(());
            }
            return Err(format!(
                "another server answers at {health_url} (process {}, not the {part} just started): is another stack \
                 running on these ports?",
                answered.map_or("unknown".to_owned(), |p| p.to_string())
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("the {part} did not answer at {health_url} within a minute; see {}", log_dir.display()))
}

fn admin(ports: Ports, args: &[&str]) -> Result<Value, String> {
    let output = std::process::Command::new(binary("lightotp-admin"))
        .args(args)
        .arg("--json")
        .envs(function_env(ports))
        .current_dir(root())
        .output()
        .map_err(|e| format!("lightotp-admin: {e}"))?;
    if !output.status.success() {
        return Err(format!("lightotp-admin {}: {}", args.join(" "), String::from_utf8_lossy(&output.stderr)));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("lightotp-admin {} printed no JSON: {e}", args.join(" ")))
}

/// The packages of the stack's binaries: the fake WhatsApp, the local gateway and the operator CLI.
const STACK_PACKAGES: [&str; 3] = ["fake-whatsapp", "local-gateway", "lightotp-admin"];

/// Builds the stack's binaries (debug), showing cargo's progress. Always the same set in one `cargo build`: cargo
/// resolves features per set, so building one of them alone would rebuild shared dependencies with other features
/// (`cargo xtask bench` and `cargo xtask admin` call this too, and after `up` it finds nothing to do).
pub fn build_binaries() -> Result<(), String> {
    let mut build = crate::tools::cargo();
    build.arg("build");
    for package in STACK_PACKAGES {
        build.args(["-p", package]);
    }
    run("building the stack's binaries (cargo shows its progress)", &mut build)
}

/// Starts every part on the claimed ports, provisions and seeds, and writes the claimed stack file.
pub async fn start(claim: Claim, ports: Ports) -> Result<Running, String> {
    let files = claim.files().clone();
    let moto = venv(".venv", "tools/aws-emulator/requirements.txt")?;
    build_binaries()?;
    std::fs::create_dir_all(&files.logs).map_err(|e| format!("{}: {e}", files.logs.display()))?;
    say(&format!("starting the stack; each part logs to {}", files.logs.display()));
    let mut env = function_env(ports);
    let mut children = Vec::new();

    let aws_url = format!("http://127.0.0.1:{}", ports.aws);
    say(&format!("  starting the AWS emulator (moto, serialized) at {aws_url}"));
    children.push(spawn(
        "aws-emulator",
        Command::new(moto.join("bin/python")).arg("tools/aws-emulator/launcher.py").args([
            "--host",
            "127.0.0.1",
            "--port",
            &ports.aws.to_string(),
        ]),
        &files.logs,
    )?);
    wait_until_ours("AWS emulator", &format!("{aws_url}/_local/health"), &mut children, &files.logs).await?;

    let api_url = format!("http://127.0.0.1:{}", ports.api);
    let whatsapp_url = format!("http://127.0.0.1:{}", ports.whatsapp);
    say(&format!("  starting the fake WhatsApp at {whatsapp_url}"));
    children.push(spawn(
        "fake-whatsapp",
        Command::new(binary("fake-whatsapp"))
            .args(["--host", "127.0.0.1", "--port", &ports.whatsapp.to_string()])
            .args(["--token", WHATSAPP_TOKEN, "--app-secret", WHATSAPP_APP_SECRET])
            .args(["--webhook-url", &format!("{api_url}/webhooks/whatsapp")]),
        &files.logs,
    )?);
    wait_until_ours("fake WhatsApp", &format!("{whatsapp_url}/_fake/health"), &mut children, &files.logs).await?;

    say("  creating the table, secrets, queues and email identity from template.yaml");
    let provisioned = admin(
        ports,
        &[
            "provision",
            "--whatsapp-token",
            WHATSAPP_TOKEN,
            "--whatsapp-app-secret",
            WHATSAPP_APP_SECRET,
            "--whatsapp-verify-token",
            WHATSAPP_VERIFY_TOKEN,
        ],
    )?;
    for (variable, queue) in
        [("WEBHOOK_QUEUE_URL", "WebhookDeliveryQueue"), ("WEBHOOK_DEAD_LETTER_QUEUE_URL", "WebhookDeadLetterQueue")]
    {
        let url = provisioned["queues"][queue].as_str().ok_or(format!("provisioning made no {queue}"))?;
        env.push((variable, url.to_owned()));
    }

    say(&format!("  starting the local gateway (the API) at {api_url}"));
    children.push(spawn(
        "local-gateway",
        Command::new(binary("local-gateway")).envs(env.iter().map(|(k, v)| (*k, v.as_str()))),
        &files.logs,
    )?);
    wait_until_ours("local gateway", &format!("{api_url}/_local/health"), &mut children, &files.logs).await?;

    say("  seeding the demo client (WhatsApp sender, templates, 1000 credits, an API key)");
    let mut demo = admin(ports, &["seed-demo"])?;
    let mut dashboard = demo.as_object_mut().and_then(|d| d.remove("dashboard")).unwrap_or_default();
    if let Some(dashboard) = dashboard.as_object_mut() {
        dashboard.insert("url".to_owned(), json!(format!("{api_url}/dashboard")));
    }
    let stack = json!({
        "apiUrl": api_url,
        "awsEndpointUrl": aws_url,
        "whatsappUrl": whatsapp_url,
        "logsDir": files.logs,
        "demo": demo,
        "dashboard": dashboard,
    });
    let env_text: String = env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    std::fs::write(&files.env, env_text).map_err(|e| format!("{}: {e}", files.env.display()))?;
    let text = serde_json::to_string_pretty(&stack).map_err(|e| e.to_string())?;
    std::fs::write(&files.stack, text).map_err(|e| format!("{}: {e}", files.stack.display()))?;
    Ok(Running { children, claim })
}

/// `cargo xtask up`.
pub async fn up() -> Result<(), String> {
    let ports = Ports::for_up()?;
    let stack_file = up_stack_file();
    let claim = Claim::take(StackFiles::of(&stack_file), &ports)?;
    let running = start(claim, ports).await?;
    let stack: Value = std::fs::read_to_string(&stack_file)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null);
    let api = stack["apiUrl"].as_str().unwrap_or_default();
    let key = stack["demo"]["apiKey"].as_str().unwrap_or_default();
    let phone = stack["demo"]["phoneE164"].as_str().unwrap_or_default();
    println!(
        "\nlightotp is up: API {api}, AWS emulator {aws}, fake WhatsApp {wa}\n\
         Stack file: .lightotp/stack.json (the demo API key is in it); logs in .lightotp/logs/\n\n\
         Send an OTP:\n\n  curl -sS -X POST {api}/SendMessage \\\n    -H 'Content-Type: application/json' \\\n    -H 'X-Api-Key: {key}' \\\n    -d '{{\"otpCode\": \"482913\", \"toPhoneE164\": \"{phone}\", \"languageCode\": \"en\"}}'\n\n\
         See what WhatsApp received:  curl -sS {wa}/_fake/messages\n\
         Check its status:            curl -sS -X POST {api}/CheckMessageStatus -H 'Content-Type: application/json' -H 'X-Api-Key: {key}' -d '{{\"id\": \"<id from the send>\"}}'\n\
         The operator CLI:            cargo xtask admin --help\n\n\
         The dashboard:               {dashboard} (open it at this address)\n\
         \x20 the demo client's sign-in:  {demo_email} / {demo_password}\n\
         \x20 an operator's sign-in:      {operator_email} / {operator_password}\n\
         \x20 the emails it sent:         curl -sS {aws}/_local/emails | jq -r '.[-1].body'\n\n\
         Ctrl-C stops everything.",
        dashboard = stack["dashboard"]["url"].as_str().unwrap_or_default(),
        demo_email = stack["dashboard"]["demo"]["email"].as_str().unwrap_or_default(),
        demo_password = stack["dashboard"]["demo"]["password"].as_str().unwrap_or_default(),
        operator_email = stack["dashboard"]["operator"]["email"].as_str().unwrap_or_default(),
        operator_password = stack["dashboard"]["operator"]["password"].as_str().unwrap_or_default(),
        aws = stack["awsEndpointUrl"].as_str().unwrap_or_default(),
        wa = stack["whatsappUrl"].as_str().unwrap_or_default(),
    );
    wait_for_stop_signal().await;
    say("stopping the stack");
    running.stop().await;
    Ok(())
}

/// `cargo xtask admin …`: the operator CLI against the running `up` stack, built as `up` built it (so it starts at
/// once) and run with the stack's environment.
/// `LIGHTOTP_STACK_FILE` points it at another stack (the README's examples run against the test stack that way).
pub fn admin_command(args: &[String]) -> Result<std::process::ExitStatus, String> {
    let stack_file = std::env::var_os("LIGHTOTP_STACK_FILE").map(PathBuf::from).unwrap_or_else(up_stack_file);
    let env_file = StackFiles::of(&stack_file).env;
    let env = read_env_file(&env_file).map_err(|_| {
        format!("no local stack is running (no {}): start one with `cargo xtask up`", env_file.display())
    })?;
    build_binaries()?;
    std::process::Command::new(binary("lightotp-admin"))
        .args(args)
        .envs(env)
        .current_dir(root())
        .status()
        .map_err(|e| format!("lightotp-admin: {e}"))
}

/// A stack's environment file as (name, value) pairs.
pub fn read_env_file(path: &Path) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: {e} (start the stack first: cargo xtask up)", path.display()))?;
    Ok(text.lines().filter_map(|line| line.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
}

async fn wait_for_stop_signal() {
    let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(signal) => signal,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = terminate.recv() => {},
    }
}
