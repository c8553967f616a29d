//! System packages the tools need (Chromium for the browser tests, valgrind for the bench), installed with apt when
//! missing: as root, as CI runs. Nothing is downloaded from anywhere but the system's package sources, and a tool
//! that cannot be installed fails the command that needs it.

use std::path::Path;
use std::process::Command;

use crate::tools::{run, say};

/// Makes sure every one of `binaries` exists, installing `packages` with apt when one is missing. `apt-get update`
/// runs only when apt does not know the packages yet or the first install fails (stale package lists). Fails, naming
/// what to run by hand, when they cannot be installed. `why` says what needs them.
pub fn ensure(why: &str, packages: &[&str], binaries: &[&str]) -> Result<(), String> {
    let installed = || binaries.iter().all(|binary| Path::new(binary).is_file());
    if installed() {
        return Ok(());
    }
    say(&format!("{} missing: installing {} with apt for {why}", binaries.join(" or "), packages.join(" ")));
    let advice = |err: &str| {
        format!(
            "{err}. Install them as root with `apt-get install -y --no-install-recommends {}` (Debian or Ubuntu), \
             then run again",
            packages.join(" ")
        )
    };
    let mut updated = false;
    if !knows(packages) {
        update()?;
        updated = true;
    }
    if let Err(err) = install(packages) {
        if updated {
            return Err(advice(&err));
        }
        update().map_err(|e| advice(&e))?;
        install(packages).map_err(|e| advice(&e))?;
    }
    if installed() {
        Ok(())
    } else {
        Err(advice(&format!("apt installed {} but {} is still missing", packages.join(" "), binaries.join(" or "))))
    }
}

/// Whether apt's package lists hold every package (false on a fresh machine whose lists were never fetched).
fn knows(packages: &[&str]) -> bool {
    Command::new("apt-cache")
        .arg("show")
        .args(packages)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn update() -> Result<(), String> {
    run("apt-get update", apt_get().arg("update"))
}

fn install(packages: &[&str]) -> Result<(), String> {
    run(
        &format!("apt-get install {}", packages.join(" ")),
        apt_get().args(["install", "-y", "--no-install-recommends"]).args(packages),
    )
}

/// `apt-get`, never asking questions.
fn apt_get() -> Command {
    let mut command = Command::new("apt-get");
    command.env("DEBIAN_FRONTEND", "noninteractive");
    command
}
