//! Messages: their id and their status (lightotp-api.txt, "messageStatus lifecycle").

use uuid::Uuid;

/// LightOTP's identifier of one message, a UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageId(Uuid);

impl MessageId {
    /// A fresh random id.
    pub fn new_random() -> Self {
        Self(Uuid::new_v4())
    }

    /// Parses a client-supplied id; anything that is not a UUID is simply no message (decisions.md).
    pub fn parse(raw: &str) -> Option<Self> {
        Uuid::parse_str(raw).ok().map(Self)
    }
}

impl std::fmt::Display for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// The exact status and body a SendMessage answered, kept with the message so that an idempotent retry replays it
/// byte for byte (decisions.md, Idempotency).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalResponse {
    /// HTTP status.
    pub status: u16,
    /// JSON body, exactly as sent.
    pub body: String,
}

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageStatus {
    /// Created locally; not yet acknowledged by WhatsApp.
    Pending,
    /// Accepted by WhatsApp for delivery.
    Sent,
    /// Delivered to the recipient's device.
    Delivered,
    /// The recipient opened the chat.
    Read,
    /// WhatsApp rejected the send or delivery failed.
    Failed,
    /// Deleted by an operator.
    Deleted,
}

impl MessageStatus {
    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Sent => "Sent",
            Self::Delivered => "Delivered",
            Self::Read => "Read",
            Self::Failed => "Failed",
            Self::Deleted => "Deleted",
        }
    }

    /// Reads the contract's spelling back.
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Pending, Self::Sent, Self::Delivered, Self::Read, Self::Failed, Self::Deleted]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_contract_spelling() {
        for raw in ["Pending", "Sent", "Delivered", "Read", "Failed", "Deleted"] {
            assert_eq!(MessageStatus::parse(raw).map(MessageStatus::as_str), Some(raw), "{raw}");
        }
        assert_eq!(MessageStatus::parse("pending"), None);
    }

    #[test]
    fn message_ids_are_uuids_and_nothing_else() {
        let id = MessageId::new_random();
        assert_eq!(MessageId::parse(&id.to_string()), Some(id));
        assert_eq!(MessageId::parse("not-a-uuid"), None);
        assert_eq!(MessageId::parse(""), None);
    }
}
