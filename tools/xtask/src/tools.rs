//! Installing what cargo does not (Python virtualenvs from pinned requirement files) and the test pipeline.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::stack::{self, Ports};

/// The workspace root (xtask lives in `tools/xtask`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap_or_else(|_| PathBuf::from("."))
}

/// Runs a command from the workspace root, failing with its description when it fails.
pub fn run(what: &str, command: &mut Command) -> Result<(), String> {
    eprintln!("xtask: {what}");
    let status = command.current_dir(root()).status().map_err(|e| format!("{what}: cannot start: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{what}: failed ({status})")) }
}

/// A virtualenv under the workspace holding exactly `requirements`; reinstalled when the file changes.
pub fn venv(name: &str, requirements: &str) -> Result<PathBuf, String> {
    let dir = root().join(name);
    let wanted = std::fs::read_to_string(root().join(requirements)).map_err(|e| format!("{requirements}: {e}"))?;
    let stamp = dir.join(".installed-requirements");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(dir);
    }
    run(&format!("creating {name}"), Command::new("python3").args(["-m", "venv", "--clear"]).arg(&dir))?;
    run(
        &format!("installing {requirements} into {name}"),
        Command::new(dir.join("bin/pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            requirements,
        ]),
    )?;
    std::fs::write(&stamp, wanted).map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(dir)
}

/// Cargo, as the one running xtask (`$CARGO`), else from `PATH`.
pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

/// The whole suite.
pub async fn test() -> Result<(), String> {
    run("cargo fmt --check", cargo().args(["fmt", "--all", "--", "--check"]))?;
    run(
        "cargo clippy (all targets, warnings are errors)",
        cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]),
    )?;
    let sam = venv(".venv-sam", "tools/sam/requirements.txt")?;
    run(
        "sam validate --lint",
        Command::new(sam.join("bin/sam"))
            .args(["validate", "--lint", "--region", "us-east-1"])
            .env("SAM_CLI_TELEMETRY", "0")
            .env("PATH", path_with(&sam.join("bin"))),
    )?;
    let moto = venv(".venv", "tools/aws-emulator/requirements.txt")?;
    run(
        "the AWS emulator's own test",
        Command::new(moto.join("bin/python")).arg("tools/aws-emulator/test_launcher.py"),
    )?;
    run("building the workspace and its tests", cargo().args(["test", "--workspace", "--no-run", "--quiet"]))?;

    let ports = Ports { api: 3100, aws: 4666, whatsapp: 4677 };
    let stack_file = root().join(".lightotp/test-stack.json");
    let running = stack::start(ports, &stack_file).await?;
    let tests = run(
        "cargo test --workspace (against the test stack)",
        cargo().args(["test", "--workspace"]).env("LIGHTOTP_STACK_FILE", &stack_file),
    );
    running.stop().await;
    tests
}

fn path_with(dir: &Path) -> String {
    format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default())
}
