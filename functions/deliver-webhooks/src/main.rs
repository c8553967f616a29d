//! The client webhook Lambda: the table's stream, the delivery queue and a one-minute schedule invoke it
//! (docs/architecture.md, Client webhooks).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use lightotp::deps::{Deps, Warm};
use lightotp::handler_cpu::HandlerCpu;
use serde_json::Value;

// One thread, as every function (docs/performance.md): the attempts of one batch still run concurrently on it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lightotp::logging::init();
    lightotp::metrics::install();
    let deps = Deps::cold_start(Warm { pepper: true, ..Warm::default() }).await?;
    let cpu = HandlerCpu::from_env();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        lightotp::metrics::flushed(cpu.measure(deliver_webhooks::handle(&deps, event.payload)))
    }))
    .await
}
