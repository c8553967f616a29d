//! The browser the dashboard's browser tests drive (`tests/browser/`): Debian's Chromium and its chromedriver,
//! installed with apt when missing (docs: `shared/guides/browser-tests.md`). Nothing here downloads a browser from
//! anywhere but the system's package sources, and a browser that cannot be installed fails the suite: browser tests
//! are never skipped.

/// The browser the tests start.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// The WebDriver server the tests start, pinned to the browser's version by the Debian package.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The Debian packages holding them.
const PACKAGES: [&str; 2] = ["chromium", "chromium-driver"];

/// Makes sure Chromium and chromedriver are installed, installing them with apt when either is missing (as root, as
/// CI runs; `crate::apt`). Fails, naming what to run by hand, when they cannot be installed.
pub fn ensure_installed() -> Result<(), String> {
    crate::apt::ensure("the dashboard's browser tests (about 130 MB)", &PACKAGES, &[CHROMIUM, CHROMEDRIVER])
}
