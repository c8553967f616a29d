//! The dashboard Lambda: build the dependencies once per cold start, then serve invocations.

use dashboard::Dashboard;
use lambda_http::{Error, service_fn};
use lightotp::deps::{Deps, Warm};
use lightotp::handler_cpu::HandlerCpu;

// One thread: Lambda hands an instance one event at a time (docs/performance.md).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lightotp::logging::init();
    lightotp::metrics::install();
    let deps = Deps::cold_start(Warm { pepper: true, ..Warm::default() }).await?;
    let dashboard = Dashboard::from_env(std::sync::Arc::new(deps))?;
    let cpu = HandlerCpu::from_env();
    lambda_http::run(service_fn(|request| {
        lightotp::metrics::flushed(cpu.measure(dashboard::handle(&dashboard, request)))
    }))
    .await
}
