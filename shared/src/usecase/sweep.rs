//! The stuck-message sweep (docs/api.md, Message lifecycle): a message reserved but never handed to WhatsApp (the
//! function stopped between charging and sending), or handed over to SMS but never to SNS, is failed and refunded,
//! and its idempotency key then replays that failure. It also erases the codes kept for the WhatsApp → SMS
//! fallback once their window closed.

use tracing::instrument;

use crate::domain::channel::Channel;
use crate::store::{Failure, StoreError};
use crate::usecase::ports::SweepPorts;
use crate::usecase::send_message::{SendAnswers, SendFailure, SendRefusal};

/// How many stranded messages one run handles; the next run takes the rest.
const BATCH: i32 = 100;

/// Fails and refunds every message `Pending` without a WhatsApp answer for longer than the grace period, storing
/// for its idempotency key the answer `answers` gives an internal failure. Returns how many it failed.
#[instrument(skip_all)]
pub async fn sweep_stuck_messages(ports: &impl SweepPorts, answers: &impl SendAnswers) -> Result<usize, StoreError> {
    let now = ports.now();
    let grace = time::Duration::try_from(ports.sweep_grace()).unwrap_or(time::Duration::minutes(5));
    // Erasing codes must never hold up the refunds below: a failure here is logged, and the next run tries again.
    let erased = match ports.erase_expired_fallback_codes(now, BATCH).await {
        Ok(erased) => erased,
        Err(err) => {
            tracing::error!(error = %crate::logging::cause_chain(&err), "fallback codes could not be erased");
            0
        }
    };
    if erased > 0 {
        tracing::info!(erased, "fallback codes erased after their window");
    }
    let stranded = ports.stranded_messages(now - grace, BATCH).await?;
    let mut swept = 0;
    for message in stranded {
        let reason = match message.channel {
            Channel::WhatsApp => "The message was charged but never handed to WhatsApp; it was failed and refunded.",
            Channel::Sms => "The SMS fallback was charged but never handed to SNS; it was failed and refunded.",
        };
        let failure = Failure { code: None, title: Some("NotSent".to_owned()), reason: Some(reason.to_owned()) };
        // What the client would have got had the function lived: an internal error. A message that already has its
        // answer (a fallback to SMS after WhatsApp accepted it) keeps it.
        let replay = message
            .replay
            .is_none()
            .then(|| answers.refused(&SendRefusal::Failed(SendFailure::Stranded), message.language));
        if ports.fail_and_refund(message.charge(), &failure, replay.as_ref(), now).await? {
            tracing::warn!(message_id = %message.id, client_id = %message.client_id, "stranded message failed and refunded");
            crate::metrics::refund(crate::metrics::RefundCause::Sweep, message.cost);
            swept += 1;
        }
    }
    crate::metrics::sweep(swept, erased);
    Ok(swept)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use time::OffsetDateTime;

    use super::*;
    use crate::domain::language::HumanLanguage;
    use crate::domain::message::{MessageId, MessageStatus, OriginalResponse};
    use crate::domain::pricing::Credits;
    use crate::store::{Charge, MessageRecord};
    use crate::usecase::ports::{Messages, Now};
    use crate::usecase::send_message::SendMessageResponse;

    type Refund = (String, Option<OriginalResponse>, Option<String>);

    /// Two stranded messages, the second already refunded by a racing sweep.
    struct World {
        now: OffsetDateTime,
        stranded: Vec<MessageRecord>,
        asked_cutoff: Mutex<Option<OffsetDateTime>>,
        /// What each fail-and-refund was asked: the message, the answer to replay, the failure's title.
        refunds: Mutex<Vec<Refund>>,
    }

    impl Now for World {
        fn now(&self) -> OffsetDateTime {
            self.now
        }
    }

    impl Messages for World {
        async fn message(&self, _: &str, _: MessageId) -> Result<Option<MessageRecord>, StoreError> {
            Ok(None)
        }

        async fn fail_and_refund(
            &self,
            charge: Charge<'_>,
            failure: &Failure,
            replay: Option<&OriginalResponse>,
            _: OffsetDateTime,
        ) -> Result<bool, StoreError> {
            let mut refunds = self.refunds.lock().expect("refunds");
            refunds.push((charge.message_id.to_owned(), replay.cloned(), failure.title.clone()));
            Ok(refunds.len() == 1)
        }
    }

    impl SweepPorts for World {
        fn sweep_grace(&self) -> std::time::Duration {
            std::time::Duration::from_secs(300)
        }

        async fn stranded_messages(&self, cutoff: OffsetDateTime, _: i32) -> Result<Vec<MessageRecord>, StoreError> {
            *self.asked_cutoff.lock().expect("cutoff") = Some(cutoff);
            Ok(self.stranded.clone())
        }

        async fn erase_expired_fallback_codes(&self, _: OffsetDateTime, _: i32) -> Result<usize, StoreError> {
            Ok(0)
        }
    }

    struct Answers;

    impl SendAnswers for Answers {
        fn sent(&self, _: &SendMessageResponse) -> OriginalResponse {
            OriginalResponse { status: 200, body: "sent".to_owned() }
        }

        fn refused(&self, refusal: &SendRefusal, language: HumanLanguage) -> OriginalResponse {
            OriginalResponse { status: 500, body: format!("{refusal} in {language:?}") }
        }
    }

    fn stranded(language: HumanLanguage) -> MessageRecord {
        MessageRecord {
            charged_purse: 0,
            id: MessageId::new_random().to_string(),
            client_id: "client-1".to_owned(),
            language,
            status: MessageStatus::Pending,
            to_phone: "+966551234567".to_owned(),
            created_at: "2027-01-15T08:00:00.000Z".to_owned(),
            cost: Credits::new(1),
            charged_subscription: Some("SUB#1#s1".to_owned()),
            wamid: None,
            failure_code: None,
            failure_title: None,
            failure_reason: None,
            failed_at: None,
            replay: None,
            channel: crate::domain::channel::Channel::WhatsApp,
            fallback: None,
            template_language: HumanLanguage::En,
            fallback_until: None,
        }
    }

    #[tokio::test]
    async fn stranded_messages_are_failed_and_refunded_with_an_internal_error_to_replay_in_their_language() {
        let world = World {
            now: OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a time"),
            stranded: vec![stranded(HumanLanguage::Ar), stranded(HumanLanguage::En)],
            asked_cutoff: Mutex::new(None),
            refunds: Mutex::new(Vec::new()),
        };
        let swept = sweep_stuck_messages(&world, &Answers).await.expect("swept");
        assert_eq!(swept, 1, "the second was refunded by someone else first: not counted");
        let cutoff = world.asked_cutoff.lock().expect("cutoff").expect("asked");
        assert_eq!(world.now - cutoff, time::Duration::minutes(5), "older than the grace period");
        let refunds = world.refunds.lock().expect("refunds").clone();
        assert_eq!(refunds.len(), 2, "each stranded message is tried");
        let (id, replay, title) = &refunds[0];
        assert_eq!(id, &world.stranded[0].id);
        assert_eq!(title.as_deref(), Some("NotSent"));
        let replay = replay.as_ref().expect("a replay for its idempotency key");
        assert_eq!(replay.body, "the message was charged but never handed to WhatsApp in Ar", "in its own language");
    }
}
