//! The local stack (local-stack.md): the serialized AWS emulator, the fake WhatsApp Graph API and the local
//! gateway as child processes on 127.0.0.1, provisioned from `template.yaml` and seeded with a demo client.
//! `.lightotp/stack.json` is written when, and only when, every part answers, and removed when the stack stops.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::tools::{root, run, venv};

/// The token the fake WhatsApp accepts and the stack stores as the WhatsApp token secret.
const WHATSAPP_TOKEN: &str = "local-whatsapp-token";
/// The app secret the fake signs webhooks with.
const WHATSAPP_APP_SECRET: &str = "local-app-secret";
/// The webhook verify token of the local stack.
const WHATSAPP_VERIFY_TOKEN: &str = "local-verify-token";

/// Where the parts listen.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    /// The local gateway.
    pub api: u16,
    /// The AWS emulator.
    pub aws: u16,
    /// The fake WhatsApp.
    pub whatsapp: u16,
}

impl Ports {
    fn from_env() -> Result<Self, String> {
        let port = |name: &str, default: u16| -> Result<u16, String> {
            match std::env::var(name) {
                Ok(raw) => raw.parse().map_err(|_| format!("{name}={raw:?} is not a port")),
                Err(_) => Ok(default),
            }
        };
        Ok(Self {
            api: port("LIGHTOTP_API_PORT", 3000)?,
            aws: port("LIGHTOTP_AWS_PORT", 4566)?,
            whatsapp: port("LIGHTOTP_WHATSAPP_PORT", 4577)?,
        })
    }
}

/// A started stack; stopping it kills every child it started.
pub struct Running {
    children: Vec<(String, Child)>,
    stack_file: PathBuf,
}

impl Running {
    /// Stops every child and removes the stack file.
    pub async fn stop(mut self) {
        let _ = std::fs::remove_file(&self.stack_file);
        for (name, child) in self.children.iter_mut().rev() {
            if let Err(err) = child.kill().await {
                eprintln!("xtask: stopping {name}: {err}");
            }
        }
    }
}

/// The environment every part shares: the standard AWS variables pointing at the emulator, and the names the
/// functions read (the same names `template.yaml` sets on AWS).
fn function_env(ports: Ports) -> Vec<(&'static str, String)> {
    let aws = format!("http://127.0.0.1:{}", ports.aws);
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
        ("EMAIL_FROM", "notifications@lightotp.example".to_owned()),
        ("LIGHTOTP_API_PORT", ports.api.to_string()),
        ("LIGHTOTP_WHATSAPP_PORT", ports.whatsapp.to_string()),
        ("LIGHTOTP_AWS_PORT", ports.aws.to_string()),
    ]
}

fn binary(name: &str) -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| root().join("target"));
    target.join("debug").join(name)
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

async fn wait_until_answers(name: &str, url: &str, children: &mut [(String, Child)]) -> Result<(), String> {
    let http = reqwest::Client::new();
    for _ in 0..300 {
        if let Ok(response) = http.get(url).timeout(Duration::from_secs(2)).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        for (child_name, child) in children.iter_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("{child_name} exited ({status}) while waiting for {name}; see .lightotp/logs/"));
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("{name} did not answer at {url} within a minute"))
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

/// Builds the stack's binaries (debug): the fake WhatsApp, the local gateway and the operator CLI. Always the same
/// set in one `cargo build`: cargo resolves features per set, so building one of them alone would rebuild shared
/// dependencies with other features (`cargo xtask bench` calls this too, and after `up` it finds nothing to do).
pub fn build_binaries() -> Result<(), String> {
    let mut build = crate::tools::cargo();
    build.args(["build", "--quiet"]);
    for package in ["fake-whatsapp", "local-gateway", "lightotp-admin"] {
        build.args(["-p", package]);
    }
    run("building the stack's binaries", &mut build)
}

/// Starts every part, provisions and seeds, and writes `stack_file`.
pub async fn start(ports: Ports, stack_file: &Path) -> Result<Running, String> {
    let _ = std::fs::remove_file(stack_file);
    let moto = venv(".venv", "tools/aws-emulator/requirements.txt")?;
    build_binaries()?;
    // Each stack file has its own log folder, so a test stack never writes over a running `up`'s logs.
    let log_dir = match stack_file.file_stem().and_then(|s| s.to_str()) {
        Some("stack") | None => root().join(".lightotp/logs"),
        Some(stem) => root().join(format!(".lightotp/{stem}-logs")),
    };
    std::fs::create_dir_all(&log_dir).map_err(|e| format!("{}: {e}", log_dir.display()))?;
    let env = function_env(ports);
    let mut children = Vec::new();

    children.push(spawn(
        "aws-emulator",
        Command::new(moto.join("bin/python")).arg("tools/aws-emulator/launcher.py").args([
            "--host",
            "127.0.0.1",
            "--port",
            &ports.aws.to_string(),
        ]),
        &log_dir,
    )?);
    let aws_url = format!("http://127.0.0.1:{}", ports.aws);
    wait_until_answers("the AWS emulator", &format!("{aws_url}/moto-api/"), &mut children).await?;

    let api_url = format!("http://127.0.0.1:{}", ports.api);
    let whatsapp_url = format!("http://127.0.0.1:{}", ports.whatsapp);
    children.push(spawn(
        "fake-whatsapp",
        Command::new(binary("fake-whatsapp"))
            .args(["--host", "127.0.0.1", "--port", &ports.whatsapp.to_string()])
            .args(["--token", WHATSAPP_TOKEN, "--app-secret", WHATSAPP_APP_SECRET])
            .args(["--webhook-url", &format!("{api_url}/webhooks/whatsapp")]),
        &log_dir,
    )?);

    admin(
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

    children.push(spawn(
        "local-gateway",
        Command::new(binary("local-gateway")).envs(env.iter().map(|(k, v)| (*k, v.as_str()))),
        &log_dir,
    )?);
    wait_until_answers("the fake WhatsApp", &format!("{whatsapp_url}/_fake/messages"), &mut children).await?;
    wait_until_answers("the local gateway", &format!("{api_url}/_local/health"), &mut children).await?;

    let demo = admin(ports, &["seed-demo"])?;
    let stack = json!({
        "apiUrl": api_url,
        "awsEndpointUrl": aws_url,
        "whatsappUrl": whatsapp_url,
        "logsDir": log_dir,
        "demo": demo,
    });
    if let Some(dir) = stack_file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let env_file = stack_file.with_extension("env");
    let env_text: String = env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    std::fs::write(&env_file, env_text).map_err(|e| format!("{}: {e}", env_file.display()))?;
    let text = serde_json::to_string_pretty(&stack).map_err(|e| e.to_string())?;
    std::fs::write(stack_file, text).map_err(|e| format!("{}: {e}", stack_file.display()))?;
    Ok(Running { children, stack_file: stack_file.to_owned() })
}

/// `cargo xtask up`.
pub async fn up() -> Result<(), String> {
    let ports = Ports::from_env()?;
    let stack_file = root().join(".lightotp/stack.json");
    let running = start(ports, &stack_file).await?;
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
         Check its status:            curl -sS -X POST {api}/CheckMessageStatus -H 'Content-Type: application/json' -H 'X-Api-Key: {key}' -d '{{\"id\": \"<id from the send>\"}}'\n\n\
         Ctrl-C stops everything.",
        aws = stack["awsEndpointUrl"].as_str().unwrap_or_default(),
        wa = stack["whatsappUrl"].as_str().unwrap_or_default(),
    );
    wait_for_stop_signal().await;
    eprintln!("xtask: stopping the stack");
    running.stop().await;
    Ok(())
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
