//! The one `chromedriver` of a test run: started on a free port in a process group of its own, and killed with
//! every browser it started (the whole group) when dropped, so that a failed or interrupted run leaves no process.

use std::fs::File;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The browser the sessions start (Debian's package; `cargo xtask test` installs it when missing).
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// The WebDriver server, pinned to the browser's version by the Debian package.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long chromedriver may take to answer `/status`.
const READY_WITHIN: Duration = Duration::from_secs(20);

/// A running chromedriver.
pub struct Driver {
    child: Child,
    /// Its WebDriver address, `http://127.0.0.1:<port>`.
    pub url: String,
}

impl Driver {
    /// Starts chromedriver on a free port, logging to `log`, and waits until it is ready.
    pub async fn start(log: &Path) -> Result<Driver, String> {
        for binary in [CHROMIUM, CHROMEDRIVER] {
            if !Path::new(binary).is_file() {
                return Err(format!(
                    "{binary} is missing: `cargo xtask test` installs it, or as root `apt-get install -y \
                     --no-install-recommends chromium chromium-driver`"
                ));
            }
        }
        let port = free_port()?;
        let log_file = File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let log_err = log_file.try_clone().map_err(|e| format!("{}: {e}", log.display()))?;
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            // Its own group: the browsers it starts join it, and Drop kills the group at once.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("starting {CHROMEDRIVER}: {e}"))?;
        let mut driver = Driver { child, url: format!("http://127.0.0.1:{port}") };
        driver.wait_until_ready(log).await?;
        Ok(driver)
    }

    async fn wait_until_ready(&mut self, log: &Path) -> Result<(), String> {
        let http = reqwest::Client::new();
        let started = Instant::now();
        while started.elapsed() < READY_WITHIN {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("chromedriver exited ({status}); see {}", log.display()));
            }
            let status = http.get(format!("{}/status", self.url)).timeout(Duration::from_secs(2)).send().await;
            if let Ok(response) = status
                && let Ok(body) = response.json::<serde_json::Value>().await
                && body["value"]["ready"] == true
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!("chromedriver did not answer at {} within {READY_WITHIN:?}; see {}", self.url, log.display()))
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let Ok(group) = libc::pid_t::try_from(self.child.id()) else { return };
        // SAFETY: kill(2) with a negative pid signals the process group whose id is the chromedriver's pid; the
        // group was created for it at spawn (`process_group(0)`) and holds only it and the browsers it started.
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
        // Reaps chromedriver itself (its browsers are reaped by init, their parent being gone).
        let _ = self.child.wait();
    }
}

/// A TCP port free on 127.0.0.1 right now.
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("finding a free port: {e}"))?;
    listener.local_addr().map(|addr| addr.port()).map_err(|e| format!("finding a free port: {e}"))
}
