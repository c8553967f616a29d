//! Configuration, read from the environment once per cold start (never per request).

use std::time::Duration;

/// What a function is configured with.
#[derive(Debug, Clone)]
pub struct Config {
    /// The DynamoDB table (`TABLE_NAME`).
    pub table_name: String,
    /// The secret holding the HMAC pepper (`PEPPER_SECRET_ID`).
    pub pepper_secret_id: String,
    /// The secret holding the WhatsApp system-user token (`WHATSAPP_TOKEN_SECRET_ID`).
    pub whatsapp_token_secret_id: String,
    /// Name prefix of the per-key verifier secrets (`API_KEY_SECRET_PREFIX`, default `lightotp/api-keys/`).
    pub api_key_secret_prefix: String,
    /// The Graph API's base URL (`WHATSAPP_API_URL`, default `https://graph.facebook.com`).
    pub whatsapp_api_url: String,
    /// The Graph API version in the path (`WHATSAPP_API_VERSION`, default `v23.0`).
    pub whatsapp_api_version: String,
    /// How long one Graph API attempt may take (`WHATSAPP_TIMEOUT_MS`, default 3000).
    pub whatsapp_timeout: Duration,
    /// Requests per source IP per minute, across the four API endpoints, not the webhook
    /// (`RATE_LIMIT_PER_MINUTE`, default 60).
    pub rate_limit_per_minute: u32,
    /// The secret holding the WhatsApp app secret that signs webhooks (`WHATSAPP_APP_SECRET_ID`, default
    /// `lightotp/whatsapp-app-secret`).
    pub whatsapp_app_secret_id: String,
    /// The secret holding the webhook verify token (`WHATSAPP_VERIFY_TOKEN_SECRET_ID`, default
    /// `lightotp/whatsapp-verify-token`).
    pub whatsapp_verify_token_secret_id: String,
    /// The secret holding the key that seals codes kept for the WhatsApp → SMS fallback (`FALLBACK_KEY_SECRET_ID`,
    /// default `lightotp/fallback-key`).
    pub fallback_key_secret_id: String,
    /// The address platform emails come from, an SES-verified identity (`EMAIL_FROM`, default
    /// `notifications@lightotp.example`, `template.yaml`'s default).
    pub email_from: String,
    /// How long a message may stay `Pending` without WhatsApp's answer before the sweep fails it
    /// (`SWEEP_GRACE_SECONDS`, default 300: far longer than a function may run).
    pub sweep_grace: Duration,
    /// The queue of client webhook deliveries (`WEBHOOK_QUEUE_URL`); only the delivery function sends to it.
    pub webhook_queue_url: Option<String>,
    /// Its dead-letter queue, which also holds deliveries whose every attempt failed
    /// (`WEBHOOK_DEAD_LETTER_QUEUE_URL`).
    pub webhook_dead_letter_queue_url: Option<String>,
    /// Where client webhook endpoints may point (`WEBHOOK_ALLOW_LOOPBACK=1`: the local stack's loopback too;
    /// otherwise `https` to public addresses only).
    pub webhook_address_policy: crate::domain::client_webhook::AddressPolicy,
    /// How long an endpoint has to answer an attempt (`WEBHOOK_TIMEOUT_MS`, default 10000: docs/webhooks.md).
    pub webhook_timeout: Duration,
}

/// A missing or malformed setting: fails the cold start once, loudly.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    /// A variable is set to something unusable.
    #[error("environment variable {name} is malformed: {reason}")]
    Malformed {
        /// The variable.
        name: &'static str,
        /// Why.
        reason: String,
    },
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| lookup(name).filter(|v| !v.is_empty()).ok_or(ConfigError::Missing(name));
        let optional = |name: &str, default: &str| lookup(name).filter(|v| !v.is_empty()).unwrap_or(default.to_owned());
        let timeout_ms = optional("WHATSAPP_TIMEOUT_MS", "3000");
        let timeout_ms: u64 = timeout_ms.parse().map_err(|_| ConfigError::Malformed {
            name: "WHATSAPP_TIMEOUT_MS",
            reason: format!("{timeout_ms:?} is not a whole number of milliseconds"),
        })?;
        let rate_limit = optional("RATE_LIMIT_PER_MINUTE", "60");
        let rate_limit_per_minute: u32 =
            rate_limit.parse().ok().filter(|n| *n > 0).ok_or_else(|| ConfigError::Malformed {
                name: "RATE_LIMIT_PER_MINUTE",
                reason: format!("{rate_limit:?} is not a positive whole number"),
            })?;
        let grace = optional("SWEEP_GRACE_SECONDS", "300");
        let grace: u64 = grace.parse().map_err(|_| ConfigError::Malformed {
            name: "SWEEP_GRACE_SECONDS",
            reason: format!("{grace:?} is not a whole number of seconds"),
        })?;
        let webhook_timeout_ms = optional("WEBHOOK_TIMEOUT_MS", "10000");
        let webhook_timeout_ms: u64 =
            webhook_timeout_ms.parse().ok().filter(|ms| *ms > 0).ok_or_else(|| ConfigError::Malformed {
                name: "WEBHOOK_TIMEOUT_MS",
                reason: format!("{webhook_timeout_ms:?} is not a positive whole number of milliseconds"),
            })?;
        Ok(Self {
            webhook_timeout: Duration::from_millis(webhook_timeout_ms),
            rate_limit_per_minute,
            whatsapp_app_secret_id: optional("WHATSAPP_APP_SECRET_ID", "lightotp/whatsapp-app-secret"),
            whatsapp_verify_token_secret_id: optional(
                "WHATSAPP_VERIFY_TOKEN_SECRET_ID",
                "lightotp/whatsapp-verify-token",
            ),
            fallback_key_secret_id: optional("FALLBACK_KEY_SECRET_ID", "lightotp/fallback-key"),
            email_from: optional("EMAIL_FROM", "notifications@lightotp.example"),
            sweep_grace: Duration::from_secs(grace),
            table_name: required("TABLE_NAME")?,
            pepper_secret_id: required("PEPPER_SECRET_ID")?,
            whatsapp_token_secret_id: required("WHATSAPP_TOKEN_SECRET_ID")?,
            api_key_secret_prefix: optional("API_KEY_SECRET_PREFIX", "lightotp/api-keys/"),
            whatsapp_api_url: optional("WHATSAPP_API_URL", "https://graph.facebook.com"),
            whatsapp_api_version: optional("WHATSAPP_API_VERSION", "v23.0"),
            whatsapp_timeout: Duration::from_millis(timeout_ms),
            webhook_queue_url: lookup("WEBHOOK_QUEUE_URL").filter(|v| !v.is_empty()),
            webhook_dead_letter_queue_url: lookup("WEBHOOK_DEAD_LETTER_QUEUE_URL").filter(|v| !v.is_empty()),
            webhook_address_policy: if lookup("WEBHOOK_ALLOW_LOOPBACK").as_deref() == Some("1") {
                crate::domain::client_webhook::AddressPolicy::AllowLoopback
            } else {
                crate::domain::client_webhook::AddressPolicy::PublicOnly
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn required_settings_are_named_when_missing_and_optional_ones_default() {
        let env: HashMap<&str, &str> = [("TABLE_NAME", "t"), ("PEPPER_SECRET_ID", "p")].into();
        let lookup = |name: &str| env.get(name).map(|v| v.to_string());
        assert!(matches!(Config::from_lookup(lookup), Err(ConfigError::Missing("WHATSAPP_TOKEN_SECRET_ID"))));

        let env: HashMap<&str, &str> =
            [("TABLE_NAME", "t"), ("PEPPER_SECRET_ID", "p"), ("WHATSAPP_TOKEN_SECRET_ID", "w")].into();
        let config = Config::from_lookup(|name| env.get(name).map(|v| v.to_string())).expect("complete config");
        assert_eq!(config.api_key_secret_prefix, "lightotp/api-keys/");
        assert_eq!(config.whatsapp_api_version, "v23.0");
        assert_eq!(config.whatsapp_timeout, Duration::from_secs(3));
        assert_eq!(config.rate_limit_per_minute, 60);
        assert_eq!(config.webhook_address_policy, crate::domain::client_webhook::AddressPolicy::PublicOnly);
    }
}
