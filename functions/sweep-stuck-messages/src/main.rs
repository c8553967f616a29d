//! The sweep Lambda, invoked by an EventBridge schedule.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use lightotp::deps::{Deps, Warm};
use lightotp::handler_cpu::HandlerCpu;
use serde_json::Value;

// One thread: Lambda hands an instance one event at a time, and a single-threaded runtime spares the
// cross-thread wake-ups a multi-threaded one pays on every await (docs/performance.md).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lightotp::logging::init();
    lightotp::metrics::install();
    let deps = Deps::cold_start(Warm::default()).await?;
    let cpu = HandlerCpu::from_env();
    lambda_runtime::run(service_fn(|_event: LambdaEvent<Value>| {
        lightotp::metrics::flushed(cpu.measure(sweep_stuck_messages::run(&deps)))
    }))
    .await
}
