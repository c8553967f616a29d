//! The browser the dashboard's browser tests drive (`tests/browser/`): Debian's Chromium and its chromedriver,
//! installed with apt when missing (docs: `shared/guides/browser-tests.md`). Nothing here downloads a browser from
//! anywhere but the system's package sources, and a browser that cannot be installed fails the suite: browser tests
//! are never skipped.

use std::path::Path;
use std::process::Command;

use crate::tools::{run, say};

/// The browser the tests start.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// The WebDriver server the tests start, pinned to the browser's version by the Debian package.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The Debian packages holding them.
const PACKAGES: [&str; 2] = ["chromium", "chromium-driver"];

/// Makes sure Chromium and chromedriver are installed, installing them with apt when either is missing (as root, as
/// CI runs). `apt-get update` runs only when apt does not know the packages yet or the first install fails (stale
/// package lists). Fails, naming what to run by hand, when they cannot be installed.
pub fn ensure_installed() -> Result<(), String> {
    if installed() {
        return Ok(());
    }
    say(&format!("{CHROMIUM} or {CHROMEDRIVER} is missing: installing {} with apt (about 130 MB)", PACKAGES.join(" ")));
    let mut updated = false;
    if !apt_knows_packages() {
        apt_update()?;
        updated = true;
    }
    if let Err(err) = apt_install() {
        if updated {
            return Err(advice(&err));
        }
        apt_update().map_err(|e| advice(&e))?;
        apt_install().map_err(|e| advice(&e))?;
    }
    if installed() {
        Ok(())
    } else {
        Err(advice(&format!("apt installed {} but {CHROMIUM} or {CHROMEDRIVER} is still missing", PACKAGES.join(" "))))
    }
}

/// Whether both binaries are there.
fn installed() -> bool {
    Path::new(CHROMIUM).is_file() && Path::new(CHROMEDRIVER).is_file()
}

/// Whether apt's package lists hold both packages (false on a fresh machine whose lists were never fetched).
fn apt_knows_packages() -> bool {
    Command::new("apt-cache")
        .arg("show")
        .args(PACKAGES)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn apt_update() -> Result<(), String> {
    run("apt-get update", apt_get().arg("update"))
}

fn apt_install() -> Result<(), String> {
    run(
        &format!("apt-get install {}", PACKAGES.join(" ")),
        apt_get().args(["install", "-y", "--no-install-recommends"]).args(PACKAGES),
    )
}

/// `apt-get`, never asking questions.
fn apt_get() -> Command {
    let mut command = Command::new("apt-get");
    command.env("DEBIAN_FRONTEND", "noninteractive");
    command
}

/// The error, with what a person can do about it.
fn advice(err: &str) -> String {
    format!(
        "{err}. The browser tests need Chromium and chromedriver: install them as root with `apt-get install -y \
         --no-install-recommends {}` (Debian or Ubuntu), then run again",
        PACKAGES.join(" ")
    )
}
