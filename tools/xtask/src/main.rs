//! `cargo xtask`: the project's own commands.
//!
//! - `cargo xtask up`: the local stack (docs/local-stack.md), until SIGINT or SIGTERM.
//! - `cargo xtask test`: the whole suite, exactly what CI runs.
//! - `cargo xtask admin …`: the operator CLI against the running local stack.
//! - `cargo xtask bench`: the performance report (docs/performance.md).
//! - `cargo xtask build-lambda`: the deployment build that `sam deploy` takes (README, "Deploy").

mod apt;
mod bench;
mod browser;
mod examples;
mod fuzz;
mod lambda;
mod openapi;
mod policies;
mod receiver;
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
    /// Install the pinned cargo-lambda (with zig) and SAM CLI and build every function for deployment with `sam
    /// build` (about 15 minutes on 2 cores); then `.venv-sam/bin/sam deploy`.
    BuildLambda {
        /// Only install the tools, and print the line that puts cargo-lambda on `PATH` (for `cargo lambda watch`).
        #[arg(long)]
        tools_only: bool,
    },
    /// Run the operator CLI (`lightotp-admin`) against the running local stack: `cargo xtask admin client --help`.
    #[command(disable_help_flag = true)]
    Admin {
        /// The operator CLI's arguments, as `lightotp-admin` takes them.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Listen for client webhooks on this machine: print each delivery (its id, type, body and whether its signature
    /// verifies) and answer it with `--status`.
    WebhooksListen(receiver::Options),
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Up => stack::up().await,
        Command::Test => tools::test().await,
        Command::Bench => bench::bench().await,
        Command::BuildLambda { tools_only: false } => lambda::build(),
        Command::BuildLambda { tools_only: true } => lambda::tools_only(),
        Command::WebhooksListen(options) => receiver::listen(options).await,
        Command::Admin { args } => {
            return match stack::admin_command(&args) {
                // The CLI has printed its answer or its error: its exit code is ours.
                Ok(status) => ExitCode::from(status.code().and_then(|code| u8::try_from(code).ok()).unwrap_or(1)),
                Err(err) => {
                    eprintln!("xtask: {err}");
                    ExitCode::FAILURE
                }
            };
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err}");
            ExitCode::FAILURE
        }
    }
}
