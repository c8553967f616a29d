//! Messages: their id and their status (docs/api.md, Message lifecycle).

use uuid::Uuid;

/// LightOTP's identifier of one message, a UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageId(Uuid);

impl MessageId {
    /// A fresh random id.
    pub fn new_random() -> Self {
        Self(Uuid::new_v4())
    }

    /// Parses a client-supplied id; anything that is not a UUID is simply no message (docs/api.md,
    /// CheckMessageStatus: order of checks, step 6).
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
/// byte for byte (docs/api.md, Idempotency keys).
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

    /// The statuses a message may move to `self` from (docs/api.md, Message lifecycle): forward only,
    /// `Pending → Sent → Delivered → Read`, `Failed` from any of the first three, `Deleted` from anything else. A
    /// repeated or backward step is not in the list, so it changes nothing.
    pub fn predecessors(self) -> &'static [Self] {
        match self {
            Self::Pending => &[],
            Self::Sent => &[Self::Pending],
            Self::Delivered => &[Self::Pending, Self::Sent],
            Self::Read => &[Self::Pending, Self::Sent, Self::Delivered],
            Self::Failed => &[Self::Pending, Self::Sent, Self::Delivered],
            Self::Deleted => &[Self::Pending, Self::Sent, Self::Delivered, Self::Read, Self::Failed],
        }
    }

    /// Whether a message may move from `self` to `to`.
    pub fn can_move_to(self, to: Self) -> bool {
        to.predecessors().contains(&self)
    }

    /// A WhatsApp status webhook's `status` (`sent`, `delivered`, `read`, `failed`); others are not ours to apply.
    pub fn from_whatsapp(raw: &str) -> Option<Self> {
        match raw {
            "sent" => Some(Self::Sent),
            "delivered" => Some(Self::Delivered),
            "read" => Some(Self::Read),
            "failed" => Some(Self::Failed),
            _ => None,
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
    fn statuses_only_move_forward_failed_from_the_first_three_and_deleted_from_anything() {
        use MessageStatus::*;
        let all = [Pending, Sent, Delivered, Read, Failed, Deleted];
        let allowed = [
            (Pending, Sent),
            (Pending, Delivered),
            (Pending, Read),
            (Sent, Delivered),
            (Sent, Read),
            (Delivered, Read),
            (Pending, Failed),
            (Sent, Failed),
            (Delivered, Failed),
            (Pending, Deleted),
            (Sent, Deleted),
            (Delivered, Deleted),
            (Read, Deleted),
            (Failed, Deleted),
        ];
        for from in all {
            for to in all {
                assert_eq!(from.can_move_to(to), allowed.contains(&(from, to)), "{from:?} -> {to:?}");
            }
        }
    }

    #[test]
    fn whatsapp_statuses_map_to_ours() {
        assert_eq!(MessageStatus::from_whatsapp("delivered"), Some(MessageStatus::Delivered));
        assert_eq!(MessageStatus::from_whatsapp("failed"), Some(MessageStatus::Failed));
        assert_eq!(MessageStatus::from_whatsapp("deleted"), None);
    }

    #[test]
    fn message_ids_are_uuids_and_nothing_else() {
        let id = MessageId::new_random();
        assert_eq!(MessageId::parse(&id.to_string()), Some(id));
        assert_eq!(MessageId::parse("not-a-uuid"), None);
        assert_eq!(MessageId::parse(""), None);
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::test_strategies::any_text;

    const ALL: [MessageStatus; 6] = [
        MessageStatus::Pending,
        MessageStatus::Sent,
        MessageStatus::Delivered,
        MessageStatus::Read,
        MessageStatus::Failed,
        MessageStatus::Deleted,
    ];

    proptest! {
        #[test]
        fn any_text_is_a_message_id_only_as_a_uuid_written_back_lower_case_and_hyphenated(raw in any_text()) {
            if let Some(id) = MessageId::parse(&raw) {
                let written = id.to_string();
                prop_assert_eq!((written.len(), written.to_ascii_lowercase()), (36, written.clone()));
                prop_assert_eq!(MessageId::parse(&written), Some(id));
            }
        }

        #[test]
        fn a_message_id_formats_back_to_itself(n in any::<u128>()) {
            let id = MessageId(Uuid::from_u128(n));
            prop_assert_eq!(MessageId::parse(&id.to_string()), Some(id));
        }

        #[test]
        fn a_status_reads_only_from_its_contract_spelling(
            raw in prop_oneof![any_text(), "Pending|Sent|Delivered|Read|Failed|Deleted|pending|SENT| Read"]
        ) {
            if let Some(status) = MessageStatus::parse(&raw) {
                prop_assert_eq!(status.as_str(), raw.as_str());
            }
        }

        #[test]
        fn a_whatsapp_status_maps_only_from_its_lower_case_spelling_and_never_to_pending_or_deleted(
            raw in prop_oneof![any_text(), "sent|delivered|read|failed|deleted|pending|Sent| read"]
        ) {
            if let Some(status) = MessageStatus::from_whatsapp(&raw) {
                prop_assert_eq!(status.as_str().to_ascii_lowercase(), raw.clone());
                prop_assert!(!matches!(status, MessageStatus::Pending | MessageStatus::Deleted));
            }
        }

        #[test]
        fn no_status_moves_to_itself_or_back_to_one_it_came_from(
            from in proptest::sample::select(ALL.as_slice()),
            to in proptest::sample::select(ALL.as_slice()),
        ) {
            prop_assert!(!(from.can_move_to(to) && to.can_move_to(from)), "{:?} <-> {:?}", from, to);
            prop_assert_eq!(MessageStatus::parse(from.as_str()), Some(from), "a status reads back as itself");
        }
    }
}
