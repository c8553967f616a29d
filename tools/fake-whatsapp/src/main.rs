//! `fake-whatsapp`: runs the fake WhatsApp Graph API on one port until SIGINT or SIGTERM, logging JSON lines.
//! Flags and environment variables are those below; the port's, `LIGHTOTP_WHATSAPP_PORT`, is the local stack's
//! (docs/local-stack.md). Codes and tokens are never logged.

use std::process::ExitCode;

use clap::Parser;
use fake_whatsapp::{FakeConfig, router};
use tracing_subscriber::EnvFilter;

/// A local fake of the WhatsApp Cloud (Graph) API send endpoint.
#[derive(Debug, Parser)]
#[command(name = "fake-whatsapp", version, about)]
struct Cli {
    /// Port to listen on.
    #[arg(long, env = "LIGHTOTP_WHATSAPP_PORT", default_value_t = 4577)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Access token a send must carry as `Authorization: Bearer <token>`.
    #[arg(long, env = "FAKE_WHATSAPP_TOKEN", default_value = "local-whatsapp-token", hide_env_values = true)]
    token: String,
    /// App secret that signs status webhooks (`X-Hub-Signature-256`).
    #[arg(long, env = "FAKE_WHATSAPP_APP_SECRET", default_value = "local-app-secret", hide_env_values = true)]
    app_secret: String,
    /// The product's WhatsApp webhook, where `POST /_fake/status` delivers, e.g.
    /// http://127.0.0.1:3000/webhooks/whatsapp.
    #[arg(long, env = "FAKE_WHATSAPP_WEBHOOK_URL")]
    webhook_url: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();

    let cli = Cli::parse();
    if let Some(url) = &cli.webhook_url
        && let Err(e) = reqwest::Url::parse(url)
    {
        tracing::error!(webhook_url = %url, error = %e, "--webhook-url is not a URL");
        return ExitCode::from(2);
    }
    let listener = match tokio::net::TcpListener::bind((cli.host.as_str(), cli.port)).await {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!(host = %cli.host, port = cli.port, error = %e, "cannot listen");
            return ExitCode::FAILURE;
        }
    };
    let address = listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| cli.host.clone());
    tracing::info!(%address, webhook_url = cli.webhook_url.as_deref(), "fake WhatsApp Graph API listening");

    let config = FakeConfig { token: cli.token, app_secret: cli.app_secret, webhook_url: cli.webhook_url };
    match axum::serve(listener, router(config)).with_graceful_shutdown(shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("fake WhatsApp Graph API stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "fake WhatsApp Graph API failed");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM, whichever comes first; a signal that cannot be watched never fires.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
