//! Secrets read from Secrets Manager once and kept in memory for the life of the process (a Lambda instance).

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;
use tokio::sync::OnceCell;

/// A secret fetched on first use (or during the cold start, by `warm`) and never again.
#[derive(Debug)]
pub struct LazySecret {
    client: Client,
    secret_id: String,
    value: OnceCell<SecretText>,
}

/// A secret's text. No `Display`, no `Serialize`; `Debug` is redacted.
#[derive(Clone)]
pub struct SecretText(String);

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretText(<redacted>)")
    }
}

impl SecretText {
    /// A secret of the tests' own.
    #[cfg(test)]
    pub(crate) fn for_tests(text: &str) -> Self {
        Self(text.to_owned())
    }

    /// The only way to read it: grep `expose` to audit every use.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Secrets Manager could not give a secret we cannot work without.
#[derive(Debug, thiserror::Error)]
#[error("reading secret {secret_id}: {detail}")]
pub struct SecretError {
    secret_id: String,
    detail: String,
}

impl LazySecret {
    /// Names the secret; nothing is fetched yet.
    pub fn new(client: Client, secret_id: impl Into<String>) -> Self {
        Self { client, secret_id: secret_id.into(), value: OnceCell::new() }
    }

    /// Fetches the secret now (during a cold start) unless it is already in memory.
    pub async fn warm(&self) -> Result<(), SecretError> {
        self.get().await.map(|_| ())
    }

    /// The secret's text: one `GetSecretValue` the first time, memory afterwards.
    pub async fn get(&self) -> Result<&SecretText, SecretError> {
        self.value
            .get_or_try_init(|| async {
                let out = self.client.get_secret_value().secret_id(&self.secret_id).send().await.map_err(|e| {
                    SecretError { secret_id: self.secret_id.clone(), detail: DisplayErrorContext(e).to_string() }
                })?;
                out.secret_string().map(|s| SecretText(s.to_owned())).ok_or_else(|| SecretError {
                    secret_id: self.secret_id.clone(),
                    detail: "the secret has no string value".to_owned(),
                })
            })
            .await
    }
}
