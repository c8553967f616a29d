//! API-key authentication (docs/api.md, Authentication; SendMessage: order of checks, step 2).
//!
//! A key's verifier lives in Secrets Manager, one secret per key (`<prefix><keyId>`), holding the owner, the
//! keyed hash of the secret and the optional expiry. Verifiers, and misses, are cached in memory for at most
//! [`CACHE_TTL`], which is the revocation promise: a warm request makes no Secrets Manager call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::domain::api_key::{ApiKey, KeyId};
use crate::domain::time_format::parse_rfc3339;
use crate::secrets::{LazySecret, SecretError};

/// How long a verifier (or its absence) is trusted before Secrets Manager is asked again.
pub const CACHE_TTL: Duration = Duration::from_secs(60);
/// Bounds the cache, so a flood of made-up key ids cannot grow memory without limit.
const CACHE_CAPACITY: usize = 10_000;

/// The header SendMessage and CheckMessageStatus read the key from.
pub const API_KEY_HEADER: &str = "x-api-key";

/// The client a request acts for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientId(String);

impl ClientId {
    /// Wraps a stored client id.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a request was not authenticated, in the order the checks run.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Header missing, empty or blank.
    #[error("API key header missing or blank")]
    Missing,
    /// Unknown, malformed or revoked.
    #[error("API key not found")]
    NotFound,
    /// Past its expiry.
    #[error("API key expired")]
    Expired,
    /// Secrets Manager failed: not the client's fault.
    #[error("verifier store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl From<SecretError> for AuthError {
    fn from(err: SecretError) -> Self {
        Self::Unavailable(Box::new(err))
    }
}

/// What the per-key secret holds (JSON). The verifier is a keyed hash, never the key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StoredVerifier {
    /// The key's owner.
    pub client_id: String,
    /// Hex HMAC-SHA256(pepper, secret).
    pub verifier: String,
    /// RFC 3339; absent for keys that never expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

struct CachedVerifier {
    fetched_at: OffsetDateTime,
    verifier: Option<StoredVerifier>,
}

/// Verifies API keys against Secrets Manager, through an in-memory cache, and records each key's use to the hour.
pub struct ApiKeyVerifier {
    client: Client,
    prefix: String,
    pepper: Arc<LazySecret>,
    cache: Mutex<HashMap<KeyId, CachedVerifier>>,
    /// The fetch under way for a key, if any: later misses for it wait for it rather than fetch again.
    in_flight: Mutex<HashMap<KeyId, Arc<tokio::sync::Mutex<()>>>>,
    usage: Option<KeyUsage>,
}

/// Where a key's last use is recorded (the dashboard's key list shows it), and the hour this instance last
/// recorded each key: at most one write per key per hour per instance.
struct KeyUsage {
    store: crate::store::DynamoStore,
    recorded: Mutex<HashMap<KeyId, i64>>,
}

impl std::fmt::Debug for ApiKeyVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyVerifier").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

/// The secret name of a key's verifier.
pub fn verifier_secret_name(prefix: &str, key_id: &KeyId) -> String {
    format!("{prefix}{key_id}")
}

impl ApiKeyVerifier {
    /// Verifiers under `prefix`, hashed with `pepper`.
    pub fn new(client: Client, prefix: impl Into<String>, pepper: Arc<LazySecret>) -> Self {
        Self {
            client,
            prefix: prefix.into(),
            pepper,
            cache: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashMap::new()),
            usage: None,
        }
    }

    /// Also records each key's last use, to the hour, on its metadata in `store`.
    pub fn recording_use(mut self, store: crate::store::DynamoStore) -> Self {
        self.usage = Some(KeyUsage { store, recorded: Mutex::new(HashMap::new()) });
        self
    }

    /// Records that `key_id` of `client` was used in the hour of `now`, unless this instance already did. A failure
    /// is logged and never fails the request (the record is for people, not for billing).
    async fn record_use(&self, key_id: &KeyId, client: &str, now: OffsetDateTime) {
        let Some(usage) = &self.usage else {
            return;
        };
        let hour = now.unix_timestamp().div_euclid(3600);
        let first_this_hour = usage.recorded.lock().is_ok_and(|mut recorded| {
            if recorded.len() >= CACHE_CAPACITY {
                recorded.clear();
            }
            recorded.insert(key_id.clone(), hour) != Some(hour)
        });
        if !first_this_hour {
            return;
        }
        let Ok(at) = OffsetDateTime::from_unix_timestamp(hour * 3600) else {
            return;
        };
        if let Err(err) = usage.store.record_key_use(client, key_id.as_str(), at).await {
            tracing::warn!(key_id = %key_id, error = %crate::logging::cause_chain(&err), "a key's last use was not recorded");
        }
    }

    /// Checks the key a request carries (`None` when the header is absent) and says whose it is.
    pub async fn authenticate(&self, header: Option<&str>, now: OffsetDateTime) -> Result<ClientId, AuthError> {
        let raw = header.map(str::trim).filter(|v| !v.is_empty()).ok_or(AuthError::Missing)?;
        let key = ApiKey::parse(raw).ok_or(AuthError::NotFound)?;
        let pepper = self.pepper.get().await?;
        // A key we did not issue fails its tag here, before any lookup: made-up keys cost no Secrets Manager call.
        if !key.is_ours(pepper.expose().as_bytes()) {
            return Err(AuthError::NotFound);
        }
        let stored = self.verifier(key.key_id(), now).await?.ok_or(AuthError::NotFound)?;
        if !key.matches(pepper.expose().as_bytes(), &stored.verifier) {
            return Err(AuthError::NotFound);
        }
        let expired = match stored.expires_at.as_deref() {
            None => false,
            // An unreadable expiry is treated as expired: fail closed.
            Some(raw) => parse_rfc3339(raw).is_none_or(|expires| now >= expires),
        };
        if expired {
            return Err(AuthError::Expired);
        }
        self.record_use(key.key_id(), &stored.client_id, now).await;
        Ok(ClientId::new(stored.client_id))
    }

    /// The key's verifier: from the cache, else from Secrets Manager, fetched once however many requests for the key
    /// arrive meanwhile (single flight: the others wait for that fetch and read its answer from the cache).
    async fn verifier(&self, key_id: &KeyId, now: OffsetDateTime) -> Result<Option<StoredVerifier>, AuthError> {
        if let Some(hit) = self.cached(key_id, now) {
            return Ok(hit);
        }
        let flight = match self.in_flight.lock() {
            Ok(mut flights) => Some(Arc::clone(flights.entry(key_id.clone()).or_default())),
            Err(_) => None,
        };
        let _turn = match &flight {
            Some(flight) => Some(flight.lock().await),
            None => None,
        };
        if let Some(hit) = self.cached(key_id, now) {
            return Ok(hit);
        }
        let fetched = self.fetch(key_id).await;
        if let Ok(fetched) = &fetched {
            self.remember(key_id, fetched, now);
        }
        if let Ok(mut flights) = self.in_flight.lock() {
            flights.remove(key_id);
        }
        fetched
    }

    fn remember(&self, key_id: &KeyId, fetched: &Option<StoredVerifier>, now: OffsetDateTime) {
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_CAPACITY {
                cache.retain(|_, entry| now - entry.fetched_at < CACHE_TTL);
                if cache.len() >= CACHE_CAPACITY {
                    cache.clear();
                }
            }
            cache.insert(key_id.clone(), CachedVerifier { fetched_at: now, verifier: fetched.clone() });
        }
    }

    fn cached(&self, key_id: &KeyId, now: OffsetDateTime) -> Option<Option<StoredVerifier>> {
        let cache = self.cache.lock().ok()?;
        let entry = cache.get(key_id)?;
        // A clock moved backwards (only the local stack's can) also invalidates the entry.
        let age = now - entry.fetched_at;
        (age >= time::Duration::ZERO && age < CACHE_TTL).then(|| entry.verifier.clone())
    }

    async fn fetch(&self, key_id: &KeyId) -> Result<Option<StoredVerifier>, AuthError> {
        let result = self.client.get_secret_value().secret_id(verifier_secret_name(&self.prefix, key_id)).send().await;
        let out = match result {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => {
                return Ok(None);
            }
            Err(e) => return Err(AuthError::Unavailable(Box::new(e))),
        };
        let parsed = out.secret_string().and_then(|raw| serde_json::from_str::<StoredVerifier>(raw).ok());
        if parsed.is_none() {
            tracing::warn!(key_id = %key_id, "unreadable API key verifier secret; treating the key as unknown");
        }
        Ok(parsed)
    }
}
