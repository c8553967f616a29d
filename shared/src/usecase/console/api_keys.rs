//! API keys (docs/dashboard.md, "API keys"; docs/api.md, Authentication): create, list, revoke, rotate. The key's
//! verifier (a keyed hash, never the key) goes to Secrets Manager, where the API functions read it; its metadata
//! (name, dates, no secret) to the table, where the key list reads it. The key itself is returned once.

use time::OffsetDateTime;

use super::{Console, ConsoleError, stamp};
use crate::auth::{StoredVerifier, verifier_secret_name};
use crate::domain::api_key::{ApiKey, KeyId, PREFIX};
use crate::domain::console::{KeyState, Overlap};
use crate::domain::time_format::parse_rfc3339;
use crate::store::{ApiKeyMetadata, ApiKeyRecord};

/// A key just made: the only time its secret is seen.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CreatedKey {
    /// The key's public id.
    pub key_id: String,
    /// The whole key.
    pub api_key: String,
    /// Its expiry, if any.
    pub expires_at: Option<String>,
}

/// A key in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyView {
    /// What is stored.
    pub record: ApiKeyRecord,
    /// Active, expired or revoked, now.
    pub state: KeyState,
    /// `lotp_<keyId>_…`: enough to recognise it, never enough to use it.
    pub prefix: String,
}

/// An action on a key the client does not have (or that is already revoked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoSuchKey;

fn secrets_error<E: std::error::Error>(err: E) -> ConsoleError {
    ConsoleError::Secrets(aws_sdk_secretsmanager::error::DisplayErrorContext(err).to_string())
}

/// Issues a key for a client that exists: the verifier first (so a key is never listed without one), then the
/// metadata. The caller shows `api_key` once.
pub async fn create_key(
    console: &Console,
    client_id: &str,
    name: &str,
    expires_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<CreatedKey, ConsoleError> {
    let mut id_bytes = [0u8; 8];
    let mut random = [0u8; 28];
    getrandom::fill(&mut id_bytes).map_err(|e| ConsoleError::Random(e.to_string()))?;
    getrandom::fill(&mut random).map_err(|e| ConsoleError::Random(e.to_string()))?;
    let pepper = console.pepper().await?;
    let key = ApiKey::issue(id_bytes, random, &pepper);
    let expires_at = expires_at.map(stamp);
    let stored = StoredVerifier {
        client_id: client_id.to_owned(),
        verifier: key.verifier(&pepper),
        expires_at: expires_at.clone(),
    };
    let body = serde_json::to_string(&stored).map_err(|e| ConsoleError::Secrets(e.to_string()))?;
    console
        .secrets
        .create_secret()
        .name(verifier_secret_name(&console.api_key_prefix, key.key_id()))
        .description(format!("lightotp API key verifier for client {client_id}"))
        .secret_string(body)
        .send()
        .await
        .map_err(secrets_error)?;
    console
        .store
        .put_api_key_metadata(&ApiKeyMetadata {
            key_id: key.key_id().to_string(),
            client_id: client_id.to_owned(),
            name: name.to_owned(),
            created_at: stamp(now),
            expires_at: expires_at.clone(),
        })
        .await?;
    Ok(CreatedKey { key_id: key.key_id().to_string(), api_key: key.reveal(), expires_at })
}

/// The client's keys, newest first, with their state now.
pub async fn list_keys(console: &Console, client_id: &str, now: OffsetDateTime) -> Result<Vec<KeyView>, ConsoleError> {
    Ok(console
        .store
        .api_keys(client_id)
        .await?
        .into_iter()
        .map(|record| {
            let expires = record.expires_at.as_deref().and_then(parse_rfc3339);
            KeyView {
                state: KeyState::of(record.revoked_at.is_some(), expires, now),
                prefix: format!("{PREFIX}{}_…", record.key_id),
                record,
            }
        })
        .collect())
}

/// Revokes one of the client's keys: marked revoked (once), then its verifier is deleted, so every function refuses
/// it once its cached copy ages out (at most 60 s).
pub async fn revoke_key(
    console: &Console,
    client_id: &str,
    key_id: &str,
    now: OffsetDateTime,
) -> Result<Result<(), NoSuchKey>, ConsoleError> {
    let Some(key_id) = KeyId::parse(key_id) else {
        return Ok(Err(NoSuchKey));
    };
    // The metadata first, on condition that the key is not revoked yet: of two racing revokes one goes on, and a
    // rotation racing it finds the key revoked.
    if !console.store.mark_api_key_revoked(client_id, key_id.as_str(), now).await? {
        return Ok(Err(NoSuchKey));
    }
    delete_verifier(console, &key_id).await?;
    Ok(Ok(()))
}

/// Revokes a key knowing only its id (the operator CLI): the verifier says whose it is.
pub async fn revoke_key_by_id(
    console: &Console,
    key_id: &str,
    now: OffsetDateTime,
) -> Result<Result<(), NoSuchKey>, ConsoleError> {
    let Some(id) = KeyId::parse(key_id) else {
        return Ok(Err(NoSuchKey));
    };
    let Some(stored) = read_verifier(console, &id).await? else {
        return Ok(Err(NoSuchKey));
    };
    revoke_key(console, &stored.client_id, key_id, now).await
}

/// Rotates one of the client's active keys: a new key with the same name (and the same expiry, if any), shown
/// once; the old key keeps working for `overlap`, by moving its expiry in its verifier and its metadata.
pub async fn rotate_key(
    console: &Console,
    client_id: &str,
    key_id: &str,
    overlap: Overlap,
    now: OffsetDateTime,
) -> Result<Result<CreatedKey, NoSuchKey>, ConsoleError> {
    let Some(id) = KeyId::parse(key_id) else {
        return Ok(Err(NoSuchKey));
    };
    let Some(record) = console.store.api_key(client_id, id.as_str()).await? else {
        return Ok(Err(NoSuchKey));
    };
    let current_expiry = record.expires_at.as_deref().and_then(parse_rfc3339);
    if KeyState::of(record.revoked_at.is_some(), current_expiry, now) != KeyState::Active {
        return Ok(Err(NoSuchKey));
    }
    let Some(mut stored) = read_verifier(console, &id).await? else {
        return Ok(Err(NoSuchKey));
    };
    // The old key's end first, on condition that it is not revoked and not moved since it was read (a revoke or a
    // second rotation racing this one wins, and no new key is made); then its verifier; then the new key.
    let old_expires = overlap.old_key_expires(current_expiry, now);
    if !console.store.set_api_key_expiry(client_id, id.as_str(), record.expires_at.as_deref(), old_expires).await? {
        return Ok(Err(NoSuchKey));
    }
    stored.expires_at = Some(stamp(old_expires));
    let body = serde_json::to_string(&stored).map_err(|e| ConsoleError::Secrets(e.to_string()))?;
    match console
        .secrets
        .put_secret_value()
        .secret_id(verifier_secret_name(&console.api_key_prefix, &id))
        .secret_string(body)
        .send()
        .await
    {
        Ok(_) => {}
        // Revoked meanwhile: the key is gone, and no new one is made.
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => {
            return Ok(Err(NoSuchKey));
        }
        Err(e) => return Err(secrets_error(e)),
    }
    let created = create_key(console, client_id, &record.name, current_expiry, now).await?;
    Ok(Ok(created))
}

async fn read_verifier(console: &Console, key_id: &KeyId) -> Result<Option<StoredVerifier>, ConsoleError> {
    let name = verifier_secret_name(&console.api_key_prefix, key_id);
    match console.secrets.get_secret_value().secret_id(&name).send().await {
        Ok(out) => Ok(out.secret_string().and_then(|raw| serde_json::from_str::<StoredVerifier>(raw).ok())),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => Ok(None),
        Err(e) => Err(secrets_error(e)),
    }
}

async fn delete_verifier(console: &Console, key_id: &KeyId) -> Result<(), ConsoleError> {
    let name = verifier_secret_name(&console.api_key_prefix, key_id);
    match console.secrets.delete_secret().secret_id(&name).force_delete_without_recovery(true).send().await {
        Ok(_) => Ok(()),
        // Already gone: the key is refused either way.
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => Ok(()),
        Err(e) => Err(secrets_error(e)),
    }
}
