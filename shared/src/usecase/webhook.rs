//! The WhatsApp webhook (docs/whatsapp.md, Webhooks): Meta's subscription handshake, and status notifications that
//! move messages forward, fail and refund them. Delivery is at least once and unordered; the storage conditions
//! make every application idempotent and forward-only.

use serde::Deserialize;
use subtle::ConstantTimeEq;
use tracing::instrument;

use crate::domain::message::{MessageId, MessageStatus};
use crate::domain::webhook_signature::is_signed_by;
use crate::secrets::SecretError;
use crate::store::{Failure, StoreError};
use crate::usecase::ports::WebhookPorts;

/// What the webhook answers besides success.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The handshake's mode or verify token is wrong.
    #[error("verification refused")]
    Forbidden,
    /// `X-Hub-Signature-256` is missing or wrong.
    #[error("bad signature")]
    BadSignature,
    /// Signed, but not a notification we can read.
    #[error("unreadable notification")]
    BadPayload,
    /// Storage failed: Meta will deliver again.
    #[error("storage failed")]
    Store(#[from] StoreError),
    /// The verify token or the app secret could not be read: Meta will deliver again.
    #[error("a webhook secret could not be read")]
    Secret(#[from] SecretError),
}

/// The `GET` handshake: answers the challenge when the mode is `subscribe` and the token matches.
pub async fn verify_subscription(
    ports: &impl WebhookPorts,
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
) -> Result<String, WebhookError> {
    let expected = ports.verify_token().await?;
    let token_matches: bool = token.is_some_and(|t| t.as_bytes().ct_eq(expected.expose().as_bytes()).into());
    match (mode, challenge) {
        (Some("subscribe"), Some(challenge)) if token_matches => Ok(challenge.to_owned()),
        _ => Err(WebhookError::Forbidden),
    }
}

#[derive(Deserialize)]
struct Notification {
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    value: Option<ChangeValue>,
}

#[derive(Deserialize)]
struct ChangeValue {
    #[serde(default)]
    statuses: Vec<StatusUpdate>,
    #[serde(default)]
    errors: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct StatusUpdate {
    id: String,
    status: String,
    #[serde(default)]
    biz_opaque_callback_data: Option<String>,
    #[serde(default)]
    errors: Vec<StatusError>,
}

#[derive(Deserialize)]
struct StatusError {
    code: Option<i64>,
    title: Option<String>,
    message: Option<String>,
    error_data: Option<ErrorData>,
}

#[derive(Deserialize)]
struct ErrorData {
    details: Option<String>,
}

/// How many status updates a notification carried, and how many changed a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Applied {
    /// Status updates in the notification.
    pub received: usize,
    /// Those that moved a message (the rest were duplicates, backward, or not ours).
    pub changed: usize,
}

/// A `POST` notification: verified over the raw bytes first, then every status of every change of every entry
/// applied. Unknown message ids are acknowledged and ignored.
#[instrument(skip_all)]
pub async fn receive_notification(
    ports: &impl WebhookPorts,
    body: &[u8],
    signature: Option<&str>,
) -> Result<Applied, WebhookError> {
    let secret = ports.app_secret().await?;
    if !is_signed_by(secret.expose().as_bytes(), body, signature) {
        return Err(WebhookError::BadSignature);
    }
    let notification: Notification = serde_json::from_slice(body).map_err(|_| WebhookError::BadPayload)?;
    let mut applied = Applied { received: 0, changed: 0 };
    for value in notification.entry.iter().flat_map(|e| &e.changes).filter_map(|c| c.value.as_ref()) {
        if !value.errors.is_empty() {
            tracing::warn!(errors = %serde_json::Value::from(value.errors.clone()), "WhatsApp reported system errors");
        }
        for update in &value.statuses {
            applied.received += 1;
            if apply(ports, update).await? {
                applied.changed += 1;
            }
        }
    }
    tracing::info!(received = applied.received, changed = applied.changed, "status notification applied");
    Ok(applied)
}

/// The message a status is about: through the callback data we sent with it (`<client id>/<message id>`, one
/// strongly consistent read), else through the `wamid-index` (eventually consistent, for statuses that carry no
/// callback data).
async fn find_message(
    ports: &impl WebhookPorts,
    update: &StatusUpdate,
) -> Result<Option<crate::store::MessageRecord>, StoreError> {
    let ours = update.biz_opaque_callback_data.as_deref().and_then(|data| {
        let (client, id) = data.split_once('/')?;
        Some((client, MessageId::parse(id)?)).filter(|(client, _)| !client.is_empty())
    });
    match ours {
        Some((client, id)) => Ok(ports
            .message(client, id)
            .await?
            // The status must be about the send we recorded (or one whose id we failed to record).
            .filter(|m| m.wamid.as_deref().is_none_or(|wamid| wamid == update.id))),
        None => ports.message_by_wamid(&update.id).await,
    }
}

async fn apply(ports: &impl WebhookPorts, update: &StatusUpdate) -> Result<bool, WebhookError> {
    let Some(to) = MessageStatus::from_whatsapp(&update.status) else { return Ok(false) };
    let Some(message) = find_message(ports, update).await? else {
        tracing::info!(wamid = %update.id, "status for a message that is not ours; ignored");
        return Ok(false);
    };
    let now = ports.now();
    let changed = if to == MessageStatus::Failed {
        let error = update.errors.first();
        let failure = Failure {
            code: error.and_then(|e| e.code),
            title: error.and_then(|e| e.title.clone()),
            reason: error
                .and_then(|e| e.error_data.as_ref().and_then(|d| d.details.clone()).or_else(|| e.message.clone())),
        };
        // The client's original answer stays what it was: an idempotent retry still replays it.
        ports.fail_and_refund(message.charge(), &failure, None, now).await?
    } else {
        ports.advance_status(&message.client_id, &message.id, to, now).await?
    };
    tracing::info!(message_id = %message.id, status = to.as_str(), changed, "status update");
    Ok(changed)
}
