//! The `otp-initiate` Lambda: build the dependencies once per cold start, then serve invocations.

use lambda_http::{Error, service_fn};
use lightotp::deps::{Deps, Warm};
use lightotp::handler_cpu::HandlerCpu;

// One thread: Lambda hands an instance one event at a time, and a single-threaded runtime spares the
// cross-thread wake-ups a multi-threaded one pays on every await (docs/performance.md).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lightotp::logging::init();
    lightotp::metrics::install();
    let deps = Deps::cold_start(Warm { pepper: true, phone_metadata: true, sms: true, ..Warm::default() }).await?;
    let cpu = HandlerCpu::from_env();
    lambda_http::run(service_fn(|request| {
        lightotp::metrics::flushed(cpu.measure(otp_initiate::handle(&deps, request)))
    }))
    .await
}
