//! The dashboard's and the operator CLI's use cases (docs/dashboard.md): accounts and sessions, API keys, plans and
//! orders, operators' actions on clients. Both surfaces call these same functions with one [`Console`], so a key made
//! in the dashboard and one made by `lightotp-admin key create` are made by the same code.

pub mod accounts;
pub mod api_keys;
pub mod clients;
pub mod orders;
pub mod webhooks;

use std::sync::Arc;

use base64::Engine;
use time::OffsetDateTime;

use crate::domain::api_key::keyed_hash;
use crate::domain::notification::Email;
use crate::email::Mailer;
use crate::secrets::{LazySecret, SecretError};
use crate::store::{DynamoStore, StoreError};

/// What the console's use cases need, built once per cold start (or once per CLI run).
#[derive(Debug, Clone)]
pub struct Console {
    /// The table.
    pub store: DynamoStore,
    /// Secrets Manager, for API keys' verifiers.
    pub secrets: aws_sdk_secretsmanager::Client,
    /// The verifier secrets' name prefix.
    pub api_key_prefix: String,
    /// The HMAC key of verifiers, token hashes and (as Argon2's secret) password hashes.
    pub pepper: Arc<LazySecret>,
    /// Platform emails.
    pub mailer: Mailer,
    /// The dashboard's public URL, without a trailing slash (`https://api.example.com/dashboard`): emailed links
    /// point under it.
    pub dashboard_url: String,
    /// Where new orders are announced to the operators, if anywhere.
    pub operators_email: Option<String>,
    /// Where client webhook endpoints may point.
    pub webhook_policy: crate::domain::client_webhook::AddressPolicy,
}

/// A failure of ours while serving a console action (never the user's mistake: those are each use case's
/// refusals).
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The pepper could not be read.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// Secrets Manager failed on a key's verifier.
    #[error("Secrets Manager: {0}")]
    Secrets(String),
    /// The OS random generator failed.
    #[error("random generator: {0}")]
    Random(String),
    /// Password hashing failed.
    #[error(transparent)]
    Hash(#[from] crate::passwords::HashError),
}

/// A random token for a cookie or a link: 32 bytes from the OS, base64url without padding.
pub fn random_token() -> Result<String, ConsoleError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ConsoleError::Random(e.to_string()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

impl Console {
    /// The pepper's bytes.
    async fn pepper(&self) -> Result<Vec<u8>, ConsoleError> {
        Ok(self.pepper.get().await?.expose().as_bytes().to_vec())
    }

    /// The keyed hash a token is stored under: hex HMAC-SHA256(pepper, `<purpose>:<token>`). Tokens of different
    /// purposes never share a hash.
    pub async fn token_hash(&self, purpose: &str, token: &str) -> Result<String, ConsoleError> {
        Ok(hex::encode(keyed_hash(&self.pepper().await?, format!("{purpose}:{token}").as_bytes())))
    }

    /// A link under the dashboard's URL.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.dashboard_url)
    }

    /// Sends an email; a failure is logged, never shown to the user (the action it reports has happened).
    async fn notify(&self, to: &str, email: &Email) {
        if let Err(err) = self.mailer.send(to, email).await {
            tracing::error!(error = %err, subject = %email.subject, "dashboard email not sent");
        }
    }
}

/// Now, as the stored text form.
pub(crate) fn stamp(now: OffsetDateTime) -> String {
    crate::domain::time_format::rfc3339_millis(now)
}
