//! CheckMessageStatus (docs/api.md, POST /CheckMessageStatus).

use serde::{Deserialize, Serialize};
use tracing::instrument;

use crate::auth::ClientId;
use crate::deps::Deps;
use crate::domain::message::MessageId;
use crate::store::{MessageRecord, StoreError};

/// Why there is no message to show (docs/api.md, CheckMessageStatus: order of checks).
#[derive(Debug, thiserror::Error)]
pub enum CheckRefusal {
    /// No id in the request.
    #[error("message id missing")]
    IdRequired,
    /// No message of the caller's has that id (or it is not a UUID).
    #[error("message not found")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The body as sent.
#[derive(Debug, Default, Deserialize)]
pub struct CheckMessageStatusRequest {
    id: Option<String>,
}

impl CheckMessageStatusRequest {
    /// Missing, `null`, `""` or blank → `MessageIdIsRequired`; anything not a UUID can be no message of the
    /// caller's, so it answers `MessageNotFound` like an unknown id.
    pub fn validate(self) -> Result<MessageId, CheckRefusal> {
        let raw = self.id.filter(|id| !id.trim().is_empty()).ok_or(CheckRefusal::IdRequired)?;
        MessageId::parse(raw.trim()).ok_or(CheckRefusal::NotFound)
    }
}

/// The documented body: every field always present, `null` when unknown.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MessageStatusResponse {
    /// The message id.
    pub id: String,
    /// Its current status.
    pub message_status: &'static str,
    /// Its destination.
    #[serde(rename = "toPhoneE164")]
    pub to_phone_e164: String,
    /// When it was created (RFC 3339 UTC, milliseconds).
    pub created_at: String,
    /// WhatsApp's error code.
    pub failure_code: Option<i64>,
    /// WhatsApp's error title.
    pub failure_title: Option<String>,
    /// Why it failed.
    pub failure_reason: Option<String>,
    /// When it failed.
    pub failed_at: Option<String>,
}

impl From<MessageRecord> for MessageStatusResponse {
    fn from(record: MessageRecord) -> Self {
        Self {
            id: record.id,
            message_status: record.status.as_str(),
            to_phone_e164: record.to_phone,
            created_at: record.created_at,
            failure_code: record.failure_code,
            failure_title: record.failure_title,
            failure_reason: record.failure_reason,
            failed_at: record.failed_at,
        }
    }
}

/// Reads one of the caller's messages; another client's is not found, by construction of the key.
#[instrument(skip_all, fields(client_id = %client, message_id = %id))]
pub async fn check_message_status(
    deps: &Deps,
    client: &ClientId,
    id: MessageId,
) -> Result<MessageStatusResponse, CheckRefusal> {
    let record = deps.store.message(client.as_str(), id).await?.ok_or(CheckRefusal::NotFound)?;
    Ok(record.into())
}
