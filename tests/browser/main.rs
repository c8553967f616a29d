//! Browser tests of the dashboard: a real Chromium, driven over WebDriver, clicking what a person sees
//! (Debian's chromium and chromium-driver, fantoccini), against the texts of docs/dashboard.md, "Pages".
//!
//! The stack is the one `cargo xtask test` starts (`LIGHTOTP_STACK_FILE`), or a running `cargo xtask up`. Without a
//! stack, a browser or the dashboard, the tests fail; they never skip.
//!
//! This binary is its own small runner (`harness = false`): it starts one chromedriver, runs the scenarios one at a
//! time, closes each scenario's browsers after it (passed or not), and kills chromedriver and every browser left at
//! the end, Ctrl-C included. `cargo test -p browser-tests -- NAME` runs the scenarios whose name contains NAME;
//! `--skip NAME` leaves some out; `--list` lists them. Screenshots of every page visited land in
//! `$CARGO_TARGET_DIR/browser-screenshots/<scenario>/` (else `target/` in the checkout).

mod api;
mod ctx;
mod driver;
mod email;
mod page;
mod scenarios;
mod shots;
mod stack;
mod steps;

use std::panic::AssertUnwindSafe;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures::FutureExt;

use crate::ctx::Ctx;
use crate::driver::Driver;
use crate::scenarios::Scenario;
use crate::stack::Stack;

/// How long one scenario may take (the longest wait in one is the API's 60 s key cache, twice).
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(300);

/// Which scenarios to run, from the test binary's arguments.
struct Selection {
    filters: Vec<String>,
    skips: Vec<String>,
    list: bool,
}

impl Selection {
    /// Reads the arguments libtest would take: names to match, `--skip NAME`, `--list`; other flags (and the
    /// values of `--test-threads`, `--color`, `--format`) are accepted and ignored.
    fn from_args() -> Selection {
        let mut selection = Selection { filters: Vec::new(), skips: Vec::new(), list: false };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--list" => selection.list = true,
                "--skip" => selection.skips.extend(args.next()),
                "--test-threads" | "--color" | "--format" | "--logfile" | "-Z" => {
                    args.next();
                }
                flag if flag.starts_with('-') => {}
                name => selection.filters.push(name.to_owned()),
            }
        }
        selection
    }

    fn wants(&self, name: &str) -> bool {
        (self.filters.is_empty() || self.filters.iter().any(|filter| name.contains(filter.as_str())))
            && !self.skips.iter().any(|skip| name.contains(skip.as_str()))
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let selection = Selection::from_args();
    let chosen: Vec<Scenario> = scenarios::all().into_iter().filter(|(name, _)| selection.wants(name)).collect();
    if selection.list {
        for (name, _) in &chosen {
            println!("{name}: test");
        }
        return ExitCode::SUCCESS;
    }
    if chosen.is_empty() {
        println!("browser: no scenario matches; 0 run");
        return ExitCode::SUCCESS;
    }
    tokio::select! {
        code = run(&chosen) => code,
        () = interrupted() => {
            // Dropping `run` dropped its driver: chromedriver and its browsers are gone.
            eprintln!("browser: interrupted; chromedriver and its browsers stopped");
            ExitCode::from(130)
        }
    }
}

/// Runs the scenarios one at a time with one chromedriver; fails when any fails.
async fn run(chosen: &[Scenario]) -> ExitCode {
    let started = match start().await {
        Ok(started) => started,
        Err(err) => {
            eprintln!("browser: {err}");
            return ExitCode::from(101);
        }
    };
    let (stack, driver) = started;
    println!("\nrunning {} browser scenarios (screenshots in {})", chosen.len(), shots::screenshots_root().display());
    let mut failed = Vec::new();
    for (name, scenario) in chosen {
        let began = Instant::now();
        let passed = match Ctx::new(name, &stack, &driver.url) {
            Ok(ctx) => {
                let outcome = tokio::time::timeout(SCENARIO_TIMEOUT, AssertUnwindSafe(scenario(&ctx)).catch_unwind());
                let passed = match outcome.await {
                    Ok(Ok(())) => true,
                    // The panic's message is already on stderr (the default hook).
                    Ok(Err(_panic)) => false,
                    Err(_elapsed) => {
                        eprintln!("browser: {name} took longer than {SCENARIO_TIMEOUT:?}");
                        false
                    }
                };
                ctx.close().await;
                passed
            }
            Err(err) => {
                eprintln!("browser: {name}: {err}");
                false
            }
        };
        println!("test {name} ... {} ({:.1} s)", if passed { "ok" } else { "FAILED" }, began.elapsed().as_secs_f64());
        if !passed {
            failed.push(*name);
        }
    }
    drop(driver);
    if failed.is_empty() {
        println!("\nbrowser test result: ok. {} passed\n", chosen.len());
        ExitCode::SUCCESS
    } else {
        println!(
            "\nbrowser test result: FAILED. {} passed; {} failed: {}\n(screenshots in {}; the stack's logs in {})\n",
            chosen.len() - failed.len(),
            failed.len(),
            failed.join(", "),
            shots::screenshots_root().display(),
            stack.logs_dir.display()
        );
        ExitCode::from(101)
    }
}

/// The stack, and chromedriver started.
async fn start() -> Result<(Stack, Driver), String> {
    let stack = Stack::load()?;
    let root = shots::screenshots_root();
    std::fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    let driver = Driver::start(&root.join("chromedriver.log")).await?;
    Ok((stack, driver))
}

/// Resolves on Ctrl-C or SIGTERM.
async fn interrupted() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
