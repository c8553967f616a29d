//! The `otp-initiate` Lambda: build the dependencies once per cold start, then serve invocations.

use lambda_http::{Error, service_fn};
use lightotp::deps::{Deps, Warm};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lightotp::logging::init();
    let deps = Deps::cold_start(Warm { pepper: true, phone_metadata: true, ..Warm::default() }).await?;
    lambda_http::run(service_fn(|request| otp_initiate::handle(&deps, request))).await
}
