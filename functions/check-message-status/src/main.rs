//! The CheckMessageStatus Lambda: build the dependencies once per cold start, then serve invocations.

use lambda_http::{Error, service_fn};
use lightotp::deps::{Deps, Warm};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lightotp::logging::init();
    let deps = Deps::cold_start(Warm { pepper: true, ..Warm::default() }).await?;
    lambda_http::run(service_fn(|request| check_message_status::handle(&deps, request))).await
}
