//! `local-gateway`: the API on a laptop. Reads the same environment as the Lambda functions.

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Parser;
use lightotp::config::Config;
use local_gateway::functions::{DELIVER_WEBHOOKS, signed_as};
use local_gateway::{Functions, Gateway, MovableClock, router};

#[derive(Parser)]
#[command(about = "Serves the lightotp API locally by running the Lambda handlers in-process")]
struct Args {
    #[arg(long, env = "LIGHTOTP_API_HOST", default_value = "127.0.0.1")]
    host: String,
    #[arg(long, env = "LIGHTOTP_API_PORT", default_value_t = 3000)]
    port: u16,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    lightotp::logging::init();
    // One recorder for every function the gateway runs: their metrics are flushed and summed after each invocation.
    lightotp::metrics::install();
    let args = Args::parse();
    let config = Config::from_env()?;
    let aws = lightotp::deps::aws_config().await?;
    let clock = Arc::new(MovableClock::default());
    let functions = Arc::new(Functions::build(&config, &aws, clock.clone())?);
    lightotp::domain::phone::warm_up();
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await?;
    tracing::info!(address = %listener.local_addr()?, "local gateway listening");
    tokio::spawn(local_gateway::sweep_periodically(
        Arc::clone(&functions.sweep_stuck_messages),
        std::time::Duration::from_secs(60),
    ));
    // The dashboard's public URL: its emailed links point under it, and its forms must come from its origin.
    let dashboard_url = std::env::var("DASHBOARD_URL")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| format!("http://{}:{}/dashboard", args.host, args.port));
    let operators_email = std::env::var("OPERATORS_EMAIL").ok().filter(|v| !v.is_empty());
    // On AWS the stream's event source reads it with the delivering function's role.
    let streams = aws_sdk_dynamodbstreams::Client::new(&signed_as(&aws, DELIVER_WEBHOOKS)?);
    let webhooks = Arc::new(local_gateway::webhooks::LocalWebhooks::new(
        Arc::clone(&functions.deliver_webhooks),
        streams,
        aws_sdk_dynamodb::Client::new(&aws),
    ));
    tokio::spawn(local_gateway::webhooks::deliver_periodically(
        Arc::clone(&webhooks),
        std::time::Duration::from_secs(2),
    ));
    let gateway = Gateway::new(functions, clock, &dashboard_url, operators_email, webhooks)?;
    let app = router(gateway).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown()).await?;
    Ok(())
}

async fn shutdown() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
