//! The `otp-verify` Lambda: build the dependencies once per cold start, then serve invocations.

use lambda_http::{Error, service_fn};
use lightotp::deps::Deps;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lightotp::logging::init();
    let deps = Deps::from_env().await?;
    lightotp::domain::phone::warm_up();
    if let Err(err) = deps.api_keys.warm().await {
        tracing::warn!(error = %err, "pepper not loaded at cold start; the first request will retry");
    }
    lambda_http::run(service_fn(|request| otp_verify::handle(&deps, request))).await
}
