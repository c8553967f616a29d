//! Ports: what a use case calls outside, as traits in the product's words (docs/architecture.md, "Direction of
//! dependencies"). `Deps` implements them with the real adapters (DynamoDB, the Graph API, SES, Secrets Manager,
//! the clock); a use case's unit tests implement them with fakes, so that its branches (a replay, a refusal, a lost
//! race, a failure after the charge) are tested without the stack. The storage guarantees themselves are tested
//! against the emulator (`tests/api/store.rs`), never against a fake.

use std::future::Future;

use time::OffsetDateTime;

use crate::deps::Deps;
use crate::domain::channel::Channel;
use crate::domain::cooldown::CooldownWindow;
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::message::{MessageId, MessageStatus, OriginalResponse};
use crate::domain::notification::Email;
use crate::domain::phone::PhoneE164;
use crate::domain::pricing::Credits;
use crate::domain::rate_limit::{Counted, RateWindow};
use crate::domain::subscription::{DebitGuard, Subscription};
use crate::email::EmailError;
use crate::secrets::{SecretError, SecretText};
use crate::sms_sender::SmsError;
use crate::store::{
    Advanced, Charge, ClientProfile, Failure, Handover, IdempotencyBinding, IdempotencyClaim, InitiateLimit,
    MessageRecord, NewMessage, NewVerification, Reservation, SendContext, SmsHandover, StoreError, VerificationCharge,
    VerificationRecord, VerificationReservation,
};
use crate::whatsapp::{OutgoingOtp, SendError};

/// The time, as the product reads it.
pub trait Now: Send + Sync {
    /// The current time.
    fn now(&self) -> OffsetDateTime;
}

/// Where an email goes out.
pub trait SendEmail: Send + Sync {
    /// Sends `email` to `to`.
    fn send_email(&self, to: &str, email: &Email) -> impl Future<Output = Result<(), EmailError>> + Send;
}

/// The pepper: the key of every keyed hash (idempotency fingerprints, verification codes).
pub trait Pepper: Send + Sync {
    /// The pepper, fetched once per instance.
    fn pepper(&self) -> impl Future<Output = Result<&SecretText, SecretError>> + Send;
}

/// Who can pay.
pub trait Subscriptions: Send + Sync {
    /// The client's subscriptions, newest first.
    fn subscriptions_newest_first(
        &self,
        client_id: &str,
    ) -> impl Future<Output = Result<Vec<Subscription>, StoreError>> + Send;
}

/// A client's messages after their reservation.
pub trait Messages: Send + Sync {
    /// One of the client's messages.
    fn message(
        &self,
        client_id: &str,
        id: MessageId,
    ) -> impl Future<Output = Result<Option<MessageRecord>, StoreError>> + Send;
    /// Fails a charged message and refunds it, once.
    fn fail_and_refund(
        &self,
        charge: Charge<'_>,
        failure: &Failure,
        replay: Option<&OriginalResponse>,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Where an SMS goes out (SNS).
pub trait SendSms: Send + Sync {
    /// Sends `text` to `to` from `sender_id`; SNS's message id when it took it.
    fn send_sms(
        &self,
        to: &PhoneE164,
        text: &str,
        sender_id: &str,
    ) -> impl Future<Output = Result<String, SmsError>> + Send;
}

/// Clients' profiles.
pub trait ClientProfiles: Send + Sync {
    /// The client's profile (its SMS sender id and texts, where its emails go).
    fn client_profile(&self, client_id: &str)
    -> impl Future<Output = Result<Option<ClientProfile>, StoreError>> + Send;
}

/// Everything the WhatsApp → SMS fallback calls outside, at send time and from a `failed` webhook.
pub trait FallbackPorts: Now + SendEmail + Subscriptions + Messages + SendSms {
    /// The key that seals codes kept for the fallback, fetched once per instance.
    fn fallback_key(&self) -> impl Future<Output = Result<&SecretText, SecretError>> + Send;
    /// A country's price per SMS part, if listed.
    fn sms_price(&self, region: &str) -> impl Future<Output = Result<Option<Credits>, StoreError>> + Send;
    /// Hands a message over to SMS (WhatsApp refunded, the SMS debited, the code erased), at most once.
    fn hand_over_to_sms(&self, handover: &SmsHandover<'_>)
    -> impl Future<Output = Result<Handover, StoreError>> + Send;
    /// Moves a message forward to `to` on `channel`; `false` when that would repeat, go backward, or be about the
    /// channel it left.
    fn advance_status(
        &self,
        client_id: &str,
        message_id: &str,
        channel: Channel,
        to: MessageStatus,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Everything SendMessage calls outside.
pub trait SendMessagePorts: FallbackPorts + Pepper + RateLimitPorts {
    /// What the send decides on, in one read, with the request's rate window.
    fn send_context(
        &self,
        client_id: &str,
        to: &PhoneE164,
        key: Option<IdempotencyKey>,
        rate: &RateWindow,
    ) -> impl Future<Output = Result<SendContext, StoreError>> + Send;
    /// The one transaction that counts the request, binds the key, debits, creates the message and advances the
    /// cooldown.
    #[allow(clippy::too_many_arguments)]
    fn reserve(
        &self,
        message: &NewMessage<'_>,
        payer: &Subscription,
        guard: DebitGuard,
        read: &CooldownWindow,
        next: &CooldownWindow,
        claim: Option<&IdempotencyClaim>,
        rate: Counted<'_>,
    ) -> impl Future<Output = Result<Reservation, StoreError>> + Send;
    /// What an idempotency key is bound to, read consistently.
    fn idempotency_binding(
        &self,
        client_id: &str,
        key: IdempotencyKey,
    ) -> impl Future<Output = Result<Option<IdempotencyBinding>, StoreError>> + Send;
    /// Records WhatsApp's id for a sent message and the answer a retry replays.
    fn record_sent(
        &self,
        client_id: &str,
        id: MessageId,
        wamid: &str,
        answer: &OriginalResponse,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Records the answer a retry replays, only if none is recorded yet; `false` when one was.
    fn record_answer_if_missing(
        &self,
        client_id: &str,
        id: MessageId,
        answer: &OriginalResponse,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Hands the code to WhatsApp; its message id when accepted.
    fn send_whatsapp(&self, otp: &OutgoingOtp<'_>) -> impl Future<Output = Result<String, SendError>> + Send;
}

/// Everything the per-IP rate limit calls outside.
pub trait RateLimitPorts: Now {
    /// Requests a minute `source_ip` may make: the default, or an operator's raise for its range.
    fn rate_limit_for(&self, source_ip: Option<&str>) -> impl Future<Output = Result<u32, StoreError>> + Send;
    /// Counts a request in its window; `false` when the window is full.
    fn count_request(&self, rate: &RateWindow) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Everything the stuck-message sweep calls outside.
pub trait SweepPorts: Now + Messages {
    /// How long a charged message may wait for its send before it counts as stranded.
    fn sweep_grace(&self) -> std::time::Duration;
    /// Erases up to `limit` fallback codes whose window closed before `now`; how many it erased.
    fn erase_expired_fallback_codes(
        &self,
        now: OffsetDateTime,
        limit: i32,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
    /// Up to `limit` messages charged before `cutoff` whose send left no trace, oldest first.
    fn stranded_messages(
        &self,
        cutoff: OffsetDateTime,
        limit: i32,
    ) -> impl Future<Output = Result<Vec<MessageRecord>, StoreError>> + Send;
}

/// Everything the WhatsApp webhook calls outside.
pub trait WebhookPorts: FallbackPorts + ClientProfiles {
    /// The token Meta echoes in the subscription handshake.
    fn verify_token(&self) -> impl Future<Output = Result<&SecretText, SecretError>> + Send;
    /// The app secret Meta signs notifications with.
    fn app_secret(&self) -> impl Future<Output = Result<&SecretText, SecretError>> + Send;
    /// The message WhatsApp knows by `wamid` (eventually consistent: for statuses without our callback data).
    fn message_by_wamid(&self, wamid: &str) -> impl Future<Output = Result<Option<MessageRecord>, StoreError>> + Send;
    /// The client and message ids of the message WhatsApp knows by `wamid`, without reading it (the index alone).
    fn message_key_by_wamid(
        &self,
        wamid: &str,
    ) -> impl Future<Output = Result<Option<(String, String)>, StoreError>> + Send;
    /// Moves the message a WhatsApp status (about `wamid`) names forward to `to`, in one write that also answers what
    /// the message was: `None` when there is no such message, and no change when it records another WhatsApp id,
    /// left WhatsApp, or is already at or past `to`.
    fn advance_reported_status(
        &self,
        client_id: &str,
        message_id: &str,
        wamid: &str,
        to: MessageStatus,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<Advanced>, StoreError>> + Send;
    /// The sealed code a message keeps for its fallback; `None` once erased.
    fn fallback_code(
        &self,
        client_id: &str,
        message_id: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
    /// Erases a message's sealed code; `false` when it was already gone.
    fn erase_fallback_code(
        &self,
        client_id: &str,
        message_id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Everything the Verify API's initiate and verify call outside.
pub trait VerificationPorts: Now + SendEmail + Pepper + Subscriptions + SendSms + ClientProfiles {
    /// Counts an initiate against the per-number and per-client limits, or says how long to wait.
    fn admit_initiate(
        &self,
        client_id: &str,
        receiver: &PhoneE164,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<InitiateLimit, StoreError>> + Send;
    /// Charges the request and creates it, together.
    fn reserve_verification(
        &self,
        request: &NewVerification<'_>,
        charge: VerificationCharge<'_>,
    ) -> impl Future<Output = Result<VerificationReservation, StoreError>> + Send;
    /// Fails a request whose SMS was refused and gives its credits back, once.
    fn refund_verification(
        &self,
        client_id: &str,
        request_id: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// One of the client's requests.
    fn verification(
        &self,
        client_id: &str,
        request_id: &str,
    ) -> impl Future<Output = Result<Option<VerificationRecord>, StoreError>> + Send;
    /// Marks a request verified, once.
    fn mark_verified(
        &self,
        client_id: &str,
        request_id: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Counts a wrong code, while attempts are left.
    fn count_wrong_code(
        &self,
        client_id: &str,
        request_id: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

impl Now for Deps {
    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }
}

impl SendEmail for Deps {
    async fn send_email(&self, to: &str, email: &Email) -> Result<(), EmailError> {
        self.mailer.send(to, email).await
    }
}

impl Pepper for Deps {
    async fn pepper(&self) -> Result<&SecretText, SecretError> {
        self.pepper.get().await
    }
}

impl Subscriptions for Deps {
    async fn subscriptions_newest_first(&self, client_id: &str) -> Result<Vec<Subscription>, StoreError> {
        // What a payment decides on: the purses alone, in one read.
        self.store.paying_subscriptions(client_id).await
    }
}

impl Messages for Deps {
    async fn message(&self, client_id: &str, id: MessageId) -> Result<Option<MessageRecord>, StoreError> {
        self.store.message(client_id, id).await
    }

    async fn fail_and_refund(
        &self,
        charge: Charge<'_>,
        failure: &Failure,
        replay: Option<&OriginalResponse>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.store.fail_and_refund(charge, failure, replay, now).await
    }
}

impl SendSms for Deps {
    async fn send_sms(&self, to: &PhoneE164, text: &str, sender_id: &str) -> Result<String, SmsError> {
        self.sms.send(to, text, sender_id).await
    }
}

impl ClientProfiles for Deps {
    async fn client_profile(&self, client_id: &str) -> Result<Option<ClientProfile>, StoreError> {
        self.store.client_profile(client_id).await
    }
}

impl FallbackPorts for Deps {
    async fn fallback_key(&self) -> Result<&SecretText, SecretError> {
        self.fallback_key.get().await
    }

    async fn sms_price(&self, region: &str) -> Result<Option<Credits>, StoreError> {
        self.store.sms_price(region).await
    }

    async fn hand_over_to_sms(&self, handover: &SmsHandover<'_>) -> Result<Handover, StoreError> {
        self.store.hand_over_to_sms(handover).await
    }

    async fn advance_status(
        &self,
        client_id: &str,
        message_id: &str,
        channel: Channel,
        to: MessageStatus,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.store.advance_status(client_id, message_id, channel, to, now).await
    }
}

impl RateLimitPorts for Deps {
    async fn rate_limit_for(&self, source_ip: Option<&str>) -> Result<u32, StoreError> {
        self.raised_limits.limit_for(&self.store, source_ip, self.config.rate_limit_per_minute, self.clock.now()).await
    }

    async fn count_request(&self, rate: &RateWindow) -> Result<bool, StoreError> {
        self.store.count_request(rate).await
    }
}

impl SweepPorts for Deps {
    fn sweep_grace(&self) -> std::time::Duration {
        self.config.sweep_grace
    }

    async fn stranded_messages(&self, cutoff: OffsetDateTime, limit: i32) -> Result<Vec<MessageRecord>, StoreError> {
        self.store.stranded_messages(cutoff, limit).await
    }

    async fn erase_expired_fallback_codes(&self, now: OffsetDateTime, limit: i32) -> Result<usize, StoreError> {
        self.store.erase_expired_fallback_codes(now, limit).await
    }
}

impl WebhookPorts for Deps {
    async fn verify_token(&self) -> Result<&SecretText, SecretError> {
        self.whatsapp_verify_token.get().await
    }

    async fn app_secret(&self) -> Result<&SecretText, SecretError> {
        self.whatsapp_app_secret.get().await
    }

    async fn message_by_wamid(&self, wamid: &str) -> Result<Option<MessageRecord>, StoreError> {
        self.store.message_by_wamid(wamid).await
    }

    async fn message_key_by_wamid(&self, wamid: &str) -> Result<Option<(String, String)>, StoreError> {
        self.store.message_key_by_wamid(wamid).await
    }

    async fn advance_reported_status(
        &self,
        client_id: &str,
        message_id: &str,
        wamid: &str,
        to: MessageStatus,
        now: OffsetDateTime,
    ) -> Result<Option<Advanced>, StoreError> {
        self.store.advance_reported_status(client_id, message_id, wamid, to, now).await
    }

    async fn fallback_code(&self, client_id: &str, message_id: &str) -> Result<Option<String>, StoreError> {
        self.store.fallback_code(client_id, message_id).await
    }

    async fn erase_fallback_code(&self, client_id: &str, message_id: &str) -> Result<bool, StoreError> {
        self.store.erase_fallback_code(client_id, message_id).await
    }
}

impl SendMessagePorts for Deps {
    async fn send_context(
        &self,
        client_id: &str,
        to: &PhoneE164,
        key: Option<IdempotencyKey>,
        rate: &RateWindow,
    ) -> Result<SendContext, StoreError> {
        self.store.send_context(client_id, to, key, rate).await
    }

    async fn reserve(
        &self,
        message: &NewMessage<'_>,
        payer: &Subscription,
        guard: DebitGuard,
        read: &CooldownWindow,
        next: &CooldownWindow,
        claim: Option<&IdempotencyClaim>,
        rate: Counted<'_>,
    ) -> Result<Reservation, StoreError> {
        self.store.reserve(message, payer, guard, read, next, claim, rate).await
    }

    async fn idempotency_binding(
        &self,
        client_id: &str,
        key: IdempotencyKey,
    ) -> Result<Option<IdempotencyBinding>, StoreError> {
        self.store.idempotency_binding(client_id, key).await
    }

    async fn record_sent(
        &self,
        client_id: &str,
        id: MessageId,
        wamid: &str,
        answer: &OriginalResponse,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.store.record_sent(client_id, id, wamid, answer, now).await
    }

    async fn record_answer_if_missing(
        &self,
        client_id: &str,
        id: MessageId,
        answer: &OriginalResponse,
    ) -> Result<bool, StoreError> {
        self.store.record_answer_if_missing(client_id, id, answer).await
    }

    async fn send_whatsapp(&self, otp: &OutgoingOtp<'_>) -> Result<String, SendError> {
        self.whatsapp.send_otp(otp).await
    }
}

impl VerificationPorts for Deps {
    async fn admit_initiate(
        &self,
        client_id: &str,
        receiver: &PhoneE164,
        now: OffsetDateTime,
    ) -> Result<InitiateLimit, StoreError> {
        self.store.admit_initiate(client_id, receiver, now).await
    }

    async fn reserve_verification(
        &self,
        request: &NewVerification<'_>,
        charge: VerificationCharge<'_>,
    ) -> Result<VerificationReservation, StoreError> {
        self.store.reserve_verification(request, charge).await
    }

    async fn refund_verification(
        &self,
        client_id: &str,
        request_id: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.store.refund_verification(client_id, request_id, now).await
    }

    async fn verification(&self, client_id: &str, request_id: &str) -> Result<Option<VerificationRecord>, StoreError> {
        self.store.verification(client_id, request_id).await
    }

    async fn mark_verified(&self, client_id: &str, request_id: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        self.store.mark_verified(client_id, request_id, now).await
    }

    async fn count_wrong_code(
        &self,
        client_id: &str,
        request_id: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.store.count_wrong_code(client_id, request_id, now).await
    }
}
