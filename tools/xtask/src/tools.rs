//! Installing what cargo does not (Python virtualenvs from pinned requirement files) and the test pipeline.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::stack::{self, Claim, Ports, StackFiles};

/// The workspace root: the nearest folder, from where cargo was run upward, whose `Cargo.toml` declares the
/// workspace and holds `tools/xtask`. Found at run time, not from the path xtask was compiled at: with a build cache
/// shared between clones, cargo may run an xtask binary another clone compiled from the same sources.
pub fn root() -> PathBuf {
    let start = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    start
        .ancestors()
        .find(|dir| is_workspace_root(dir))
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap_or(start))
}

fn is_workspace_root(dir: &Path) -> bool {
    dir.join("tools/xtask/Cargo.toml").is_file()
        && std::fs::read_to_string(dir.join("Cargo.toml")).is_ok_and(|manifest| manifest.contains("[workspace]"))
}

/// Cargo's target folder: `$CARGO_TARGET_DIR`, else `target/` in the workspace.
pub fn target_dir() -> PathBuf {
    std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| root().join("target"))
}

/// Tells the person waiting what is happening now (on stderr, so stdout stays for what a command prints).
pub fn say(what: &str) {
    eprintln!("xtask: {what}");
}

/// Runs a command from the workspace root, failing with its description when it fails.
pub fn run(what: &str, command: &mut Command) -> Result<(), String> {
    say(what);
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
    run(
        &format!("creating {name} (once, and again when {requirements} changes)"),
        Command::new("python3").args(["-m", "venv", "--clear"]).arg(&dir),
    )?;
    run(
        &format!("installing {requirements} into {name} (under a minute; pip lists each package)"),
        Command::new(dir.join("bin/pip")).args(["install", "--disable-pip-version-check", "-r", requirements]),
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
    // The test stack's files and ports are claimed first, so a busy port is named before minutes of checks.
    let ports = Ports::for_test()?;
    let stack_file = root().join(".lightotp/test-stack.json");
    let claim = Claim::take(StackFiles::of(&stack_file), &ports)?;
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
    crate::openapi::lint()?;
    crate::lambda::check_wiring()?;
    let moto = venv(".venv", "tools/aws-emulator/requirements.txt")?;
    run(
        "the AWS emulator's own test",
        Command::new(moto.join("bin/python")).arg("tools/aws-emulator/test_launcher.py"),
    )?;
    run("building the workspace and its tests", cargo().args(["test", "--workspace", "--no-run"]))?;
    crate::browser::ensure_installed()?;

    let running = stack::start(claim, ports).await?;
    let tests = run(
        "cargo test --workspace (against the test stack)",
        cargo().args(["test", "--workspace"]).env("LIGHTOTP_STACK_FILE", &stack_file),
    )
    .and_then(|()| crate::examples::run(&stack_file))
    .and_then(|()| crate::fuzz::run(&stack_file));
    let tests = match tests {
        Ok(()) => crate::policies::check(&stack_file).await,
        failed => failed,
    };
    running.stop().await;
    tests
}

/// `PATH` with `dir` first.
pub fn path_with(dir: &Path) -> String {
    format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_found_from_any_folder_of_the_checkout() {
        // cargo runs tests in the package's folder, two levels below the root.
        let package = std::env::current_dir().expect("the test's folder");
        let root = root();
        assert!(root.join("tools/xtask/Cargo.toml").is_file(), "{}", root.display());
        assert_eq!(Some(root.as_path()), package.ancestors().nth(2), "two levels up from {}", package.display());
        assert!(!is_workspace_root(&root.join("tools")), "a member's folder is not the root");
    }
}
