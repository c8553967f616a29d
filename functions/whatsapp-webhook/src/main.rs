//! The WhatsApp webhook Lambda: build the dependencies once per cold start, then serve invocations.

use lambda_http::{Error, service_fn};
use lightotp::deps::Deps;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lightotp::logging::init();
    let deps = Deps::from_env().await?;
    if let Err(err) = deps.whatsapp_app_secret.get().await {
        tracing::warn!(error = %err, "app secret not loaded at cold start; the first notification will retry");
    }
    lambda_http::run(service_fn(|request| whatsapp_webhook::handle(&deps, request))).await
}
