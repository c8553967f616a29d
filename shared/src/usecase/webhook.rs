//! The WhatsApp webhook (docs/whatsapp.md, Webhooks): Meta's subscription handshake, and status notifications that
//! move messages forward, fail and refund them. Delivery is at least once and unordered; the storage conditions
//! make every application idempotent and forward-only.

use serde::Deserialize;
use subtle::ConstantTimeEq;
use tracing::{Instrument, instrument};

use crate::domain::channel::Channel;
use crate::domain::fallback::{falls_back, within_window};
use crate::domain::message::{MessageId, MessageStatus};
use crate::domain::outside_text::bounded;
use crate::domain::phone::PhoneE164;
use crate::domain::time_format::parse_rfc3339;
use crate::domain::webhook_signature::is_signed_by;
use crate::metrics::{self, RefundCause};
use crate::secrets::SecretError;
use crate::store::{Advanced, Failure, MessageRecord, StoreError};
use crate::usecase::ports::WebhookPorts;
use crate::usecase::sms_fallback::{
    FallbackError, FallbackOutcome, SealFailure, UndeliveredOnWhatsApp, fall_back_to_sms, open_code,
};

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
    /// The verify token, the app secret or the fallback key could not be read: Meta will deliver again.
    #[error("a webhook secret could not be read")]
    Secret(#[from] SecretError),
}

impl From<FallbackError> for WebhookError {
    fn from(FallbackError(err): FallbackError) -> Self {
        Self::Store(err)
    }
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
    /// Read one by one: a status that cannot be read is skipped, never the batch.
    #[serde(default)]
    statuses: Vec<serde_json::Value>,
    #[serde(default)]
    errors: Vec<serde_json::Value>,
}

/// What a status must carry: its WhatsApp id and status, as strings. Its error's fields are read leniently (a code
/// of another type is no code), so that a failure is still applied.
#[derive(Deserialize)]
struct StatusUpdate {
    id: String,
    status: String,
    #[serde(default)]
    biz_opaque_callback_data: Option<serde_json::Value>,
    #[serde(default)]
    errors: Option<serde_json::Value>,
}

impl StatusUpdate {
    fn callback_data(&self) -> Option<&str> {
        self.biz_opaque_callback_data.as_ref().and_then(serde_json::Value::as_str)
    }

    /// The first error's code, title and reason (`error_data.details`, else `message`), texts bounded.
    fn failure(&self) -> Failure {
        let error = self.errors.as_ref().and_then(|e| e.get(0));
        let text = |value: Option<&serde_json::Value>| value.and_then(serde_json::Value::as_str).map(bounded);
        Failure {
            code: error.and_then(|e| e.get("code")).and_then(serde_json::Value::as_i64),
            title: text(error.and_then(|e| e.get("title"))),
            reason: text(error.and_then(|e| e.get("error_data")).and_then(|d| d.get("details")))
                .or_else(|| text(error.and_then(|e| e.get("message")))),
        }
    }
}

/// How many status updates a notification carried, how many changed a message, and how many could not be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Applied {
    /// Status updates in the notification.
    pub received: usize,
    /// Those that moved a message (the rest were duplicates, backward, or not ours).
    pub changed: usize,
    /// Those that could not be read or applied for good (logged): never retried, never blocking the others.
    pub skipped: usize,
}

/// A `POST` notification: verified over the raw bytes first; it must be a JSON object; then every status of every
/// change of every entry is applied on its own. A status that cannot be read, or whose write fails for good (an
/// item DynamoDB refuses), is logged and skipped; a failure that passes (throttling, a conflict) is answered `500`
/// after the others are applied, so that Meta delivers the batch again (applying a status twice changes nothing).
/// Unknown message ids are acknowledged and ignored.
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
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|_| WebhookError::BadPayload)?;
    if !value.is_object() {
        return Err(WebhookError::BadPayload);
    }
    let notification: Notification = serde_json::from_value(value).map_err(|_| WebhookError::BadPayload)?;
    let mut applied = Applied { received: 0, changed: 0, skipped: 0 };
    let mut retry = None;
    for value in notification.entry.iter().flat_map(|e| &e.changes).filter_map(|c| c.value.as_ref()) {
        if !value.errors.is_empty() {
            tracing::warn!(errors = %serde_json::Value::from(value.errors.clone()), "WhatsApp reported system errors");
        }
        for raw in &value.statuses {
            applied.received += 1;
            let Ok(update) = serde_json::from_value::<StatusUpdate>(raw.clone()) else {
                tracing::warn!("a status without a string id and status; skipped");
                applied.skipped += 1;
                continue;
            };
            match apply(ports, &update).await {
                Ok(true) => applied.changed += 1,
                Ok(false) => {}
                Err(WebhookError::Store(err)) if !err.is_transient() => {
                    tracing::error!(wamid = %bounded(&update.id), error = %crate::logging::cause_chain(&err), "a status could not be applied; skipped");
                    applied.skipped += 1;
                }
                Err(err) => {
                    tracing::warn!(wamid = %bounded(&update.id), error = %crate::logging::cause_chain(&err), "a status will be delivered again");
                    retry = Some(err);
                }
            }
        }
    }
    if let Some(err) = retry {
        return Err(err);
    }
    tracing::info!(
        received = applied.received,
        changed = applied.changed,
        skipped = applied.skipped,
        "status notification applied"
    );
    Ok(applied)
}

/// The message a status names through the callback data we sent with it (`<client id>/<message id>`), if it
/// carries it: no read needed.
fn named_by_callback(update: &StatusUpdate) -> Option<(&str, MessageId)> {
    let data = update.callback_data()?;
    let (client, id) = data.split_once('/')?;
    Some((client, MessageId::parse(id)?)).filter(|(client, _)| !client.is_empty())
}

/// The message a status is about, read: through its callback data (one strongly consistent read), else through the
/// `wamid-index` (eventually consistent, for statuses that carry no callback data).
async fn find_message(ports: &impl WebhookPorts, update: &StatusUpdate) -> Result<Option<MessageRecord>, StoreError> {
    match named_by_callback(update) {
        Some((client, id)) => Ok(ports
            .message(client, id)
            .await?
            // The status must be about the send we recorded (or one whose id we failed to record).
            .filter(|m| m.wamid.as_deref().is_none_or(|wamid| wamid == update.id))),
        None => ports.message_by_wamid(&update.id).await,
    }
}

fn not_ours(update: &StatusUpdate) -> Result<bool, WebhookError> {
    tracing::info!(wamid = %bounded(&update.id), "status for a message that is not ours; ignored");
    Ok(false)
}

async fn apply(ports: &impl WebhookPorts, update: &StatusUpdate) -> Result<bool, WebhookError> {
    let Some(to) = MessageStatus::from_whatsapp(&update.status) else { return Ok(false) };
    if to != MessageStatus::Failed {
        // Sent, delivered, read: one conditional write, no read first (docs/data-model.md, WhatsApp webhook).
        let (client_id, message_id) = match named_by_callback(update) {
            Some((client, id)) => (client.to_owned(), id.to_string()),
            None => match ports.message_key_by_wamid(&update.id).await? {
                Some(key) => key,
                None => return not_ours(update),
            },
        };
        let span = tracing::info_span!("status", client_id = %client_id, message_id = %message_id);
        return advance(ports, update, to, &client_id, &message_id).instrument(span).await;
    }
    let Some(message) = find_message(ports, update).await? else { return not_ours(update) };
    // Every line about this status names its client and message (docs/operations.md, "Logs").
    let span = tracing::info_span!("status", client_id = %message.client_id, message_id = %message.id);
    fail(ports, update, message).instrument(span).await
}

/// A `sent`, `delivered` or `read`: the message moves forward if it is ours, on WhatsApp and behind `to`. Delivered
/// or read, it will never fall back, so the code it kept for that goes now (docs/api.md, WhatsApp → SMS fallback),
/// also when the status changed nothing: a redelivery after an erase that failed erases it then.
async fn advance(
    ports: &impl WebhookPorts,
    update: &StatusUpdate,
    to: MessageStatus,
    client_id: &str,
    message_id: &str,
) -> Result<bool, WebhookError> {
    let advanced = ports.advance_reported_status(client_id, message_id, &update.id, to, ports.now()).await?;
    let Some(Advanced { changed, before }) = advanced else { return not_ours(update) };
    if before.wamid.as_deref().is_some_and(|wamid| wamid != update.id) {
        return not_ours(update);
    }
    // After a fallback to SMS, WhatsApp's statuses change nothing (the write's condition said so).
    if before.channel == Channel::WhatsApp
        && matches!(to, MessageStatus::Delivered | MessageStatus::Read)
        && before.fallback_until.is_some()
    {
        ports.erase_fallback_code(client_id, message_id).await?;
    }
    tracing::info!(message_id = %message_id, status = to.as_str(), changed, "status update");
    Ok(changed)
}

/// A `failed`: the message falls back to SMS when it may, else it fails and is refunded, once.
async fn fail(ports: &impl WebhookPorts, update: &StatusUpdate, message: MessageRecord) -> Result<bool, WebhookError> {
    if message.channel != Channel::WhatsApp {
        // The message fell back to SMS: WhatsApp's statuses change nothing any more (the store's conditions say so
        // too, for a status read just before the handover).
        return Ok(false);
    }
    let failure = update.failure();
    let changed = if let Some(outcome) = fall_back(ports, &message, &failure).await? {
        outcome != FallbackOutcome::AlreadySettled
    } else {
        // The client's original answer stays what it was: an idempotent retry still replays it.
        let refunded = ports.fail_and_refund(message.charge(), &failure, None, ports.now()).await?;
        if refunded {
            metrics::refund(RefundCause::Status, message.cost);
        }
        refunded
    };
    if changed {
        metrics::whatsapp_failure(failure.code);
    }
    tracing::info!(message_id = %message.id, status = MessageStatus::Failed.as_str(), changed, "status update");
    Ok(changed)
}

/// Sends a failed message again by SMS when it may (docs/api.md, WhatsApp → SMS fallback): its code was kept, the
/// failure is about the recipient, the window is open, the code opens and its client still exists. `None` when it
/// may not: the caller fails and refunds it as any failure.
async fn fall_back(
    ports: &impl WebhookPorts,
    message: &MessageRecord,
    failure: &Failure,
) -> Result<Option<FallbackOutcome>, WebhookError> {
    let since_send = parse_rfc3339(&message.created_at).map(|sent| ports.now() - sent);
    let in_window = since_send.and_then(|d| std::time::Duration::try_from(d).ok()).is_some_and(within_window);
    if message.fallback_until.is_none() || !falls_back(failure.code) || !in_window {
        return Ok(None);
    }
    let Some(sealed) = ports.fallback_code(&message.client_id, &message.id).await? else { return Ok(None) };
    let code = match open_code(ports, &message.client_id, &message.id, &sealed).await {
        Ok(code) => code,
        Err(SealFailure::Key(err)) => return Err(err.into()),
        Err(SealFailure::Seal(err)) => {
            tracing::error!(message_id = %message.id, error = %err, "a kept code does not open; no SMS fallback");
            return Ok(None);
        }
    };
    let (Some(profile), Ok(to)) =
        (ports.client_profile(&message.client_id).await?, PhoneE164::parse(Some(&message.to_phone)))
    else {
        return Ok(None);
    };
    let undelivered = UndeliveredOnWhatsApp {
        whatsapp: message.charge(),
        to: &to,
        language: message.template_language,
        failure,
        code: &code,
        profile: &profile,
        answers: None,
    };
    Ok(Some(fall_back_to_sms(ports, undelivered).await?))
}
