//! The SendMessage Lambda: build the dependencies once per cold start, then serve invocations.

use lambda_http::{Error, service_fn};
use lightotp::deps::{Deps, Warm};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lightotp::logging::init();
    let deps =
        Deps::cold_start(Warm { pepper: true, whatsapp_token: true, phone_metadata: true, ..Warm::default() }).await?;
    lambda_http::run(service_fn(|request| send_message::handle(&deps, request))).await
}
