//! CheckMessageStatus (docs/api.md, POST /CheckMessageStatus).

use serde::{Deserialize, Serialize};
use tracing::instrument;

use crate::auth::ClientId;
use crate::domain::message::MessageId;
use crate::store::{MessageRecord, StoreError};
use crate::usecase::ports::Messages;

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
    /// `whatsapp`, or `sms` after a fallback: the channel `message_status` and the failure fields are about.
    pub channel: &'static str,
    /// WhatsApp's failure that made it fall back to SMS, if it did.
    pub fallback: Option<FallbackView>,
}

/// WhatsApp's failure behind a fallback, as CheckMessageStatus shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FallbackView {
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
            channel: record.channel.as_str(),
            fallback: record.fallback.map(|f| FallbackView {
                failure_code: f.failure_code,
                failure_title: f.failure_title,
                failure_reason: f.failure_reason,
                failed_at: f.failed_at,
            }),
        }
    }
}

/// Reads one of the caller's messages; another client's is not found, by construction of the key.
#[instrument(skip_all, fields(client_id = %client, message_id = %id))]
pub async fn check_message_status(
    messages: &impl Messages,
    client: &ClientId,
    id: MessageId,
) -> Result<MessageStatusResponse, CheckRefusal> {
    let record = messages.message(client.as_str(), id).await?.ok_or(CheckRefusal::NotFound)?;
    Ok(record.into())
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;
    use crate::domain::language::HumanLanguage;
    use crate::domain::message::{MessageStatus, OriginalResponse};
    use crate::domain::pricing::Credits;
    use crate::store::{Charge, Failure};

    /// One stored message, of `client-1`.
    struct Stored(MessageRecord);

    impl Messages for Stored {
        async fn message(&self, client_id: &str, id: MessageId) -> Result<Option<MessageRecord>, StoreError> {
            Ok((client_id == self.0.client_id && id.to_string() == self.0.id).then(|| self.0.clone()))
        }

        async fn fail_and_refund(
            &self,
            _: Charge<'_>,
            _: &Failure,
            _: Option<&OriginalResponse>,
            _: OffsetDateTime,
        ) -> Result<bool, StoreError> {
            unreachable!("CheckMessageStatus only reads")
        }
    }

    fn stored() -> Stored {
        Stored(MessageRecord {
            charged_purse: 0,
            template_language: crate::domain::language::HumanLanguage::En,
            fallback_until: None,
            id: MessageId::new_random().to_string(),
            client_id: "client-1".to_owned(),
            language: HumanLanguage::En,
            status: MessageStatus::Failed,
            to_phone: "+966551234567".to_owned(),
            created_at: "2027-01-15T08:00:00.000Z".to_owned(),
            cost: Credits::new(1),
            charged_subscription: None,
            wamid: None,
            failure_code: Some(131026),
            failure_title: Some("Message undeliverable".to_owned()),
            failure_reason: Some("Not on WhatsApp".to_owned()),
            failed_at: Some("2027-01-15T08:00:01.000Z".to_owned()),
            replay: None,
            channel: crate::domain::channel::Channel::WhatsApp,
            fallback: None,
        })
    }

    #[tokio::test]
    async fn the_callers_message_is_shown_with_its_failure_and_anothers_is_not_found() {
        let stored = stored();
        let id = MessageId::parse(&stored.0.id).expect("id");
        let shown = check_message_status(&stored, &ClientId::new("client-1"), id).await.expect("found");
        assert_eq!((shown.message_status, shown.failure_code), ("Failed", Some(131026)));
        assert_eq!(shown.failed_at.as_deref(), Some("2027-01-15T08:00:01.000Z"));
        let refusal = check_message_status(&stored, &ClientId::new("client-2"), id).await.expect_err("not theirs");
        assert!(matches!(refusal, CheckRefusal::NotFound), "{refusal:?}");
    }

    #[test]
    fn a_missing_id_is_required_and_a_malformed_one_is_no_message() {
        let request = |id: Option<&str>| CheckMessageStatusRequest { id: id.map(str::to_owned) };
        assert!(matches!(request(None).validate(), Err(CheckRefusal::IdRequired)));
        assert!(matches!(request(Some("  ")).validate(), Err(CheckRefusal::IdRequired)));
        assert!(matches!(request(Some("nope")).validate(), Err(CheckRefusal::NotFound)));
        assert!(request(Some(" 8c8a6f2f-9a3b-4d86-9b2c-1e3f8f9c2ab1 ")).validate().is_ok(), "trimmed");
    }
}
