//! `cargo xtask`: the project's own commands.
//!
//! - `cargo xtask up`: the local stack (local-stack.md), until SIGINT or SIGTERM.
//! - `cargo xtask test`: the whole suite, exactly what CI runs.

mod bench;
mod stack;
mod tools;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "lightotp's project commands")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the local stack: the AWS emulator, the fake WhatsApp, the local gateway and a seeded demo account.
    Up,
    /// Run everything CI runs: formatting, lints, the SAM template check, and every test against a fresh stack.
    Test,
    /// Measure cold start, warm latency, CPU, memory and size of release builds against the running stack.
    Bench,
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Up => stack::up().await,
        Command::Test => tools::test().await,
        Command::Bench => bench::bench().await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err}");
            ExitCode::FAILURE
        }
    }
}
