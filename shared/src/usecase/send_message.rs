//! SendMessage (docs/api.md, POST /SendMessage: "SendMessage: order of checks", "Billing", "WhatsApp outcomes").

use serde::{Deserialize, Serialize};
use tracing::instrument;

use std::time::Duration;

use crate::auth::ClientId;
use crate::domain::channel::Channel;
use crate::domain::fallback::falls_back;
use crate::domain::graph_refusal::{RefusalCause, refusal_cause};
use crate::domain::idempotency::{IdempotencyKey, request_fingerprint};
use crate::domain::language::{HumanLanguage, match_template};
use crate::domain::message::{MessageId, MessageStatus, OriginalResponse};
use crate::domain::otp_code::{OtpCode, OtpCodeError};
use crate::domain::phone::{PhoneE164, PhoneError};
use crate::domain::pricing::message_cost;
use crate::domain::purse::charged_purse;
use crate::domain::rate_limit::{Counted, RateWindow};
use crate::domain::spread_over;
use crate::domain::subscription::{DebitGuard, choose_payer};
use crate::metrics::{self, RefundCause, WhatsAppSend};
use crate::secrets::SecretError;
use crate::store::{Charge, Failure, IdempotencyBinding, IdempotencyClaim, NewMessage, Reservation, StoreError, pause};
use crate::usecase::Answer;
use crate::usecase::low_balance::LowBalance;
use crate::usecase::ports::SendMessagePorts;
use crate::usecase::rate_limit::{NotAdmitted, count_in, rate_limited};
use crate::usecase::sms_fallback::{
    Answers, FallbackError, FallbackOutcome, UndeliveredOnWhatsApp, fall_back_to_sms, seal_code,
};
use crate::whatsapp::{OutgoingOtp, SendError};

/// How many times a reservation is retried after another request got to the subscription first. Each retry reads
/// the balances again, so the loop ends with a reservation or with `InsufficientBalance` long before this.
const RESERVE_ATTEMPTS: u32 = 32;

/// The body as sent: every field optional here so that each rule can answer with its own code.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendMessageRequest {
    otp_code: Option<String>,
    #[serde(rename = "toPhoneE164")]
    to_phone_e164: Option<String>,
    language_code: Option<String>,
    idempotency_key: Option<String>,
}

/// A request that passed every validation rule.
#[derive(Debug)]
pub struct SendMessageInput {
    /// The code to deliver.
    pub code: OtpCode,
    /// Where to.
    pub to: PhoneE164,
    /// The requested template language, as sent (matched later, with fallback).
    pub language_code: Option<String>,
    /// The client's idempotency key, if any.
    pub idempotency_key: Option<IdempotencyKey>,
}

/// A field of the request broke its rule (docs/api.md, SendMessage: order of checks, steps 5–7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSendRequest {
    /// `otpCode` broke a rule.
    #[error(transparent)]
    OtpCode(#[from] OtpCodeError),
    /// `toPhoneE164` broke a rule.
    #[error(transparent)]
    Phone(#[from] PhoneError),
    /// `idempotencyKey` present but not a UUID.
    #[error("idempotencyKey is not a UUID")]
    IdempotencyKey,
}

impl SendMessageRequest {
    /// Applies steps 5–7 of docs/api.md, SendMessage: order of checks, in order.
    pub fn validate(self) -> Result<SendMessageInput, InvalidSendRequest> {
        let code = OtpCode::parse(self.otp_code.as_deref())?;
        let to = PhoneE164::parse(self.to_phone_e164.as_deref())?;
        let idempotency_key = self
            .idempotency_key
            .map(|raw| IdempotencyKey::parse(&raw).ok_or(InvalidSendRequest::IdempotencyKey))
            .transpose()?;
        Ok(SendMessageInput { code, to, language_code: self.language_code, idempotency_key })
    }
}

/// Why a SendMessage sent nothing, or nothing that arrived, in the product's words (docs/api.md, SendMessage: order
/// of checks, and WhatsApp outcomes). `api::lightotp` words each for the wire.
#[derive(Debug, thiserror::Error)]
pub enum SendRefusal {
    /// The source IP used up this minute's requests (docs/api.md, Rate limit): nothing was counted or written.
    #[error("rate limit reached; retry in {retry_after} s")]
    RateLimited {
        /// Seconds until the window ends.
        retry_after: u64,
    },
    /// The client has no WhatsApp sender.
    #[error("no sender number assigned")]
    SenderNumberNotFound,
    /// No template matches the requested or the default language.
    #[error("no template for the language")]
    TemplateNotFound,
    /// The duplicate-send cooldown for this recipient is still running.
    #[error("cooldown: {wait:?} left")]
    Cooldown {
        /// How long is left.
        wait: Duration,
    },
    /// No active subscription covers the cost.
    #[error("insufficient balance")]
    InsufficientBalance,
    /// The idempotency key was bound by a different request.
    #[error("idempotency key reused for a different request")]
    KeyReused,
    /// The request that bound the idempotency key has not finished yet.
    #[error("idempotency key still in flight")]
    KeyInProgress,
    /// WhatsApp refused the send for a reason about the recipient or the message; the message is `Failed`.
    #[error("WhatsApp rejected message {id} with HTTP {status}")]
    WhatsAppRejected {
        /// WhatsApp's HTTP status.
        status: u16,
        /// WhatsApp's error message.
        message: String,
        /// The failed message, readable with CheckMessageStatus.
        id: MessageId,
    },
    /// Our failure: the client is told nothing of it, the log everything.
    #[error(transparent)]
    Failed(#[from] SendFailure),
}

impl From<StoreError> for SendRefusal {
    fn from(err: StoreError) -> Self {
        Self::Failed(SendFailure::Store(err))
    }
}

impl From<NotAdmitted> for SendRefusal {
    fn from(refusal: NotAdmitted) -> Self {
        match refusal {
            NotAdmitted::RateLimited { retry_after } => Self::RateLimited { retry_after },
            NotAdmitted::Store(err) => err.into(),
        }
    }
}

/// What went wrong on our side, with its cause.
#[derive(Debug, thiserror::Error)]
pub enum SendFailure {
    /// Storage failed.
    #[error("storage failed")]
    Store(#[from] StoreError),
    /// The pepper that keys idempotency fingerprints could not be read.
    #[error("the pepper could not be read")]
    Pepper(#[source] SecretError),
    /// The reservation lost every race for the subscription it chose.
    #[error("the reservation kept losing races")]
    ReservationContended,
    /// An idempotency binding names a message id that is not one.
    #[error("an idempotency binding names a malformed message id {0}")]
    CorruptBinding(String),
    /// WhatsApp refused the send because of our token, permissions or account (docs/api.md, WhatsApp outcomes).
    #[error("WhatsApp refused the send because of our side (HTTP {status}, code {code:?}): {message}")]
    OurWhatsAppAccount {
        /// WhatsApp's HTTP status.
        status: u16,
        /// Graph's error code.
        code: Option<i64>,
        /// WhatsApp's message.
        message: String,
    },
    /// WhatsApp did not accept the message: 5xx or no connection after retries, or a timeout.
    #[error("WhatsApp unavailable: {0}")]
    WhatsAppUnavailable(String),
    /// The message was charged but never handed to WhatsApp (the sweep found it).
    #[error("the message was charged but never handed to WhatsApp")]
    Stranded,
}

impl From<FallbackError> for SendFailure {
    fn from(FallbackError(err): FallbackError) -> Self {
        Self::Store(err)
    }
}

/// How the surface that asked words a SendMessage answer: the bytes stored with the message, which a retry with the
/// same idempotency key gets back as they are. `api::lightotp::LightOtpAnswers` is the LightOTP API's.
pub trait SendAnswers: Send + Sync {
    /// The answer to a send WhatsApp accepted.
    fn sent(&self, response: &SendMessageResponse) -> OriginalResponse;
    /// The answer to a refusal, with human text in `language`.
    fn refused(&self, refusal: &SendRefusal, language: HumanLanguage) -> OriginalResponse;
}

/// The documented success body.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SendMessageResponse {
    /// The new message's id.
    pub id: String,
    /// Its status now: `Pending` once WhatsApp accepted it.
    pub message_status: &'static str,
}

/// Replays an earlier answer when the idempotency key is already bound; otherwise checks the sender, the template,
/// the cooldown and the balance, reserves everything in one transaction, sends through WhatsApp and records the
/// answer for replay. A refused request writes nothing, binds nothing and charges nothing but its count toward the
/// rate limit of `source_ip`; a send WhatsApp refuses is stored `Failed`, refunded and taken out of the cooldown.
///
/// The request is counted toward the rate limit once (docs/data-model.md, "SendMessage"): a full window read with
/// the context refuses it uncounted; a refusal or a replay counts it on its own; a reservation counts it in its
/// transaction.
#[instrument(skip_all, fields(client_id = %client, message_id, region = %input.to.region()))]
pub async fn send_message(
    ports: &impl SendMessagePorts,
    client: &ClientId,
    input: SendMessageInput,
    source_ip: Option<&str>,
    language: HumanLanguage,
    answers: &impl SendAnswers,
) -> Result<Answer<SendMessageResponse>, SendRefusal> {
    let claim = match input.idempotency_key {
        None => None,
        Some(key) => {
            let pepper = ports.pepper().await.map_err(SendFailure::Pepper)?;
            let fingerprint =
                request_fingerprint(pepper.expose().as_bytes(), &input.code, &input.to, input.language_code.as_deref());
            Some(IdempotencyClaim { key, fingerprint })
        }
    };
    let id = MessageId::new_random();
    // The code sealed for the WhatsApp → SMS fallback, once the profile says the client has it on.
    let mut fallback_code = None;
    let mut reserved = None;
    let mut claimed_elsewhere: Vec<String> = Vec::new();
    let limit = ports.rate_limit_for(source_ip).await?;
    for attempt in 0..RESERVE_ATTEMPTS {
        if attempt > 0 {
            // Another request got to the subscription or the cooldown first: spread the retries out.
            pause(attempt).await;
        }
        let now = ports.now();
        let now_seconds = now.unix_timestamp();
        let rate = RateWindow::of(source_ip, now_seconds, limit);
        let context = ports.send_context(client.as_str(), &input.to, input.idempotency_key, &rate).await?;
        let Some(counter) = rate.counter_with_room(&context.rate_counts, spread_over(&id.to_string(), rate.counters()))
        else {
            return Err(rate_limited(now_seconds).into());
        };
        let refused = Refused { ports, client, claim: claim.as_ref(), rate: &rate, now_seconds };
        if let (Some(claim), Some(bound)) = (&claim, &context.binding) {
            count_in(ports, &rate, now_seconds).await?;
            return replay(ports, client, claim, bound).await;
        }
        let Some(profile) = context.profile else { return refused.counted(SendRefusal::SenderNumberNotFound).await };
        let Some(sender) = profile.sender.clone() else {
            return refused.counted(SendRefusal::SenderNumberNotFound).await;
        };
        let Some(template) =
            match_template(input.language_code.as_deref(), &profile.language, &profile.templates).cloned()
        else {
            return refused.counted(SendRefusal::TemplateNotFound).await;
        };
        let now_millis = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
        // The cooldown is checked before the balance: when both refuse, the cooldown wins (docs/api.md, SendMessage:
        // order of checks, steps 11–12).
        if let Some(wait) = context.cooldown.remaining(now_millis) {
            return refused.by(SendRefusal::Cooldown { wait }).await;
        }
        let cost = message_cost(context.listed_price);
        let mut subscriptions = context.purses.subscriptions_newest_first();
        for subscription in &mut subscriptions {
            // A claim this request lost: the purses it read did not show it yet.
            subscription.low_balance_notified |= claimed_elsewhere.contains(&subscription.sort_key);
        }
        let Some(payer) = choose_payer(&subscriptions, cost) else {
            return refused.by(SendRefusal::InsufficientBalance).await;
        };
        if profile.fallback_sms && fallback_code.is_none() {
            // Without the key, the message still goes by WhatsApp; it only cannot fall back.
            fallback_code = seal_code(ports, client.as_str(), &id.to_string(), input.code.expose())
                .await
                .inspect_err(|err| tracing::error!(error = %err, "the code could not be sealed; no SMS fallback"))
                .ok();
        }
        let message = NewMessage {
            client_id: client.as_str(),
            id,
            to: &input.to,
            template: &template,
            cost,
            created_at: now,
            language,
            fallback_code: fallback_code.clone().filter(|_| profile.fallback_sms),
        };
        let guard = DebitGuard::for_debit(payer, cost);
        let next_window = context.cooldown.after_send(&id.to_string(), now_millis);
        let counted = Counted { window: &rate, counter };
        match ports.reserve(&message, payer, guard, &context.cooldown, &next_window, claim.as_ref(), counted).await? {
            Reservation::RateLimited => return Err(rate_limited(now_seconds).into()),
            Reservation::Reserved => {
                metrics::credits_charged(metrics::CreditUse::WhatsApp, cost);
                let low_balance = guard.claims().then(|| LowBalance {
                    profile: profile.clone(),
                    threshold: payer.low_balance_threshold,
                    granted: payer.granted,
                });
                let kept_code = message.fallback_code.is_some();
                let charged = (payer.sort_key.clone(), charged_purse(payer, cost, guard, &id.to_string()));
                reserved = Some((sender, template, cost, charged, low_balance, profile, kept_code));
                break;
            }
            Reservation::ReadAgain => continue,
            Reservation::LowBalanceAlreadyClaimed => {
                claimed_elsewhere.push(payer.sort_key.clone());
                continue;
            }
            Reservation::KeyAlreadyBound(bound) => {
                if let Some(claim) = &claim {
                    count_in(ports, &rate, now_seconds).await?;
                    return replay(ports, client, claim, &bound).await;
                }
            }
        }
    }
    let Some((sender, template, cost, (payer, payer_purse), low_balance, profile, kept_code)) = reserved else {
        return Err(SendFailure::ReservationContended.into());
    };
    tracing::Span::current().record("message_id", tracing::field::display(id));

    let outgoing = OutgoingOtp {
        phone_number_id: &sender.phone_number_id,
        to: &input.to,
        template: &template,
        code: &input.code,
        // Echoed in status webhooks: finds the message with one consistent read, no index lag.
        callback_data: &format!("{client}/{id}"),
    };
    let sent = ports.send_whatsapp(&outgoing).await;
    count_send(&sent);
    if let Some(low_balance) = low_balance {
        low_balance.notify(ports).await;
    }
    match sent {
        Ok(wamid) => {
            let answer = SendMessageResponse { id: id.to_string(), message_status: MessageStatus::Pending.as_str() };
            let original = answers.sent(&answer);
            // The message went out and is paid for: a failure to record it must not make the client retry
            // (a second send), so it is logged and the send still succeeds.
            record_sent(ports, client, id, &wamid, &original).await;
            tracing::info!(cost = cost.get(), "message sent");
            Ok(Answer::Fresh(answer))
        }
        Err(err) => {
            let failure = failure_of(&err);
            let refused = match err {
                SendError::Rejected { status, message, code, .. } => match refusal_cause(status, code) {
                    RefusalCause::RecipientOrMessage => SendRefusal::WhatsAppRejected { status, message, id },
                    // Logged at `error` where the 500 is answered; the client sees nothing of our account.
                    RefusalCause::Ours => SendFailure::OurWhatsAppAccount { status, code, message }.into(),
                },
                SendError::Unavailable(why) => SendFailure::WhatsAppUnavailable(why).into(),
            };
            let original = answers.refused(&refused, language);
            let message_id = id.to_string();
            let charge = Charge {
                client_id: client.as_str(),
                message_id: &message_id,
                to_phone: input.to.as_str(),
                cost,
                subscription: Some(&payer),
                purse: payer_purse,
                channel: Channel::WhatsApp,
            };
            if kept_code && matches!(refused, SendRefusal::WhatsAppRejected { .. }) && falls_back(failure.code) {
                let answer =
                    SendMessageResponse { id: message_id.clone(), message_status: MessageStatus::Pending.as_str() };
                let sent = answers.sent(&answer);
                let undelivered = UndeliveredOnWhatsApp {
                    whatsapp: charge,
                    to: &input.to,
                    language: HumanLanguage::from_code(template.language.base().as_str()),
                    failure: &failure,
                    code: input.code.expose(),
                    profile: &profile,
                    answers: Some(Answers { sent: &sent, refused: &original }),
                };
                let outcome = fall_back_to_sms(ports, undelivered).await.map_err(SendFailure::from)?;
                if outcome == FallbackOutcome::SentBySms {
                    return Ok(Answer::Fresh(answer));
                }
                return Err(refused);
            }
            if ports.fail_and_refund(charge, &failure, Some(&original), ports.now()).await? {
                metrics::refund(RefundCause::Send, cost);
            } else {
                // Already settled: by a `failed` webhook's fallback after a send that timed out but went (which
                // records no answer), or by the sweep. A retry must still get this answer, not wait for ever.
                ports.record_answer_if_missing(client.as_str(), id, &original).await?;
            }
            Err(refused)
        }
    }
}

/// What a refusal found after the read needs: the request is counted toward its rate limit first (a full window
/// answers `429` instead), and a request with an idempotency key may have to replay instead.
struct Refused<'a, P> {
    ports: &'a P,
    client: &'a ClientId,
    claim: Option<&'a IdempotencyClaim>,
    rate: &'a RateWindow,
    now_seconds: i64,
}

impl<P: SendMessagePorts> Refused<'_, P> {
    /// Counts the request, then refuses with `refusal`.
    async fn counted(self, refusal: SendRefusal) -> Result<Answer<SendMessageResponse>, SendRefusal> {
        count_in(self.ports, self.rate, self.now_seconds).await?;
        Err(refusal)
    }

    /// Counts the request, then refuses with `refusal`, unless the request's idempotency key was bound meanwhile. A
    /// `BatchGetItem` is not a snapshot: a retry may read the cooldown window or the balance its first attempt just
    /// changed, but not yet the binding that attempt committed with them. The retry must replay, not be refused (one
    /// consistent read, only on a refusal that carries a key).
    async fn by(self, refusal: SendRefusal) -> Result<Answer<SendMessageResponse>, SendRefusal> {
        count_in(self.ports, self.rate, self.now_seconds).await?;
        if let Some(claim) = self.claim
            && let Some(bound) = self.ports.idempotency_binding(self.client.as_str(), claim.key).await?
        {
            return replay(self.ports, self.client, claim, &bound).await;
        }
        Err(refusal)
    }
}

/// Records the send, retrying a write that met throttling or a conflict a few times, with backoff: an unrecorded
/// send keeps no replay for its key and looks stranded to the sweep. Any other failure would fail again.
async fn record_sent(
    ports: &impl SendMessagePorts,
    client: &ClientId,
    id: MessageId,
    wamid: &str,
    original: &OriginalResponse,
) {
    for attempt in 1..=RECORD_ATTEMPTS {
        match ports.record_sent(client.as_str(), id, wamid, original, ports.now()).await {
            Ok(_) => return,
            Err(err) if attempt < RECORD_ATTEMPTS && err.is_transient() => {
                tracing::warn!(attempt, error = %err, "recording the send failed; retrying");
                pause(attempt).await;
            }
            Err(err) => {
                tracing::error!(error = %err, "sent, but the WhatsApp id could not be recorded");
                return;
            }
        }
    }
}

/// Attempts at recording a send.
const RECORD_ATTEMPTS: u32 = 3;

/// How long, and how often, a request whose key is bound by a request still in flight waits for its answer.
const IN_FLIGHT_POLLS: u32 = 8;
const IN_FLIGHT_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// Same key and same request: the original answer, byte for byte, once it exists (docs/api.md, Idempotency keys).
async fn replay(
    ports: &impl SendMessagePorts,
    client: &ClientId,
    claim: &IdempotencyClaim,
    bound: &IdempotencyBinding,
) -> Result<Answer<SendMessageResponse>, SendRefusal> {
    if bound.fingerprint != claim.fingerprint {
        return Err(SendRefusal::KeyReused);
    }
    let message_id =
        MessageId::parse(&bound.message_id).ok_or_else(|| SendFailure::CorruptBinding(bound.message_id.clone()))?;
    for poll in 0..=IN_FLIGHT_POLLS {
        if poll > 0 {
            tokio::time::sleep(IN_FLIGHT_POLL_INTERVAL).await;
        }
        let message = ports.message(client.as_str(), message_id).await?;
        if let Some(original) = message.and_then(|m| m.replay) {
            return Ok(Answer::Replay(original));
        }
    }
    Err(SendRefusal::KeyInProgress)
}

/// Counts a Graph API send by its outcome, and a refusal by its code.
fn count_send(sent: &Result<String, SendError>) {
    let outcome = match sent {
        Ok(_) => WhatsAppSend::Accepted,
        Err(SendError::Rejected { status, code, .. }) => {
            metrics::whatsapp_failure(*code);
            match refusal_cause(*status, *code) {
                RefusalCause::RecipientOrMessage => WhatsAppSend::Refused,
                RefusalCause::Ours => WhatsAppSend::OurSide,
            }
        }
        Err(SendError::Unavailable(_)) => WhatsAppSend::Unavailable,
    };
    metrics::whatsapp_send(outcome);
}

/// The failure fields CheckMessageStatus will show for a send WhatsApp refused or never answered. A refusal caused
/// by our side keeps WhatsApp's code but none of its text, which may describe our token or account.
fn failure_of(err: &SendError) -> Failure {
    match err {
        SendError::Rejected { status, code, .. } if refusal_cause(*status, *code) == RefusalCause::Ours => Failure {
            code: *code,
            title: Some("WhatsAppAccountError".to_owned()),
            reason: Some(
                "The message could not be sent because of a problem on our side. It was not charged.".to_owned(),
            ),
        },
        SendError::Rejected { message, code, title, details, .. } => Failure {
            code: *code,
            title: title.clone().or_else(|| Some(message.clone())),
            reason: details.clone().or_else(|| Some(message.clone())),
        },
        SendError::Unavailable(_) => Failure {
            code: None,
            title: Some("WhatsAppUnavailable".to_owned()),
            reason: Some("WhatsApp did not accept the message in time (timeout or server error).".to_owned()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(code: Option<&str>, phone: Option<&str>, key: Option<&str>) -> SendMessageRequest {
        SendMessageRequest {
            otp_code: code.map(str::to_owned),
            to_phone_e164: phone.map(str::to_owned),
            language_code: None,
            idempotency_key: key.map(str::to_owned),
        }
    }

    #[test]
    fn validation_runs_code_then_phone_then_idempotency_key() {
        let cases = [
            (request(None, None, Some("x")), InvalidSendRequest::OtpCode(OtpCodeError::Missing)),
            (request(Some("123456789"), Some(""), Some("x")), OtpCodeError::TooLong.into()),
            (request(Some("12 3"), None, Some("x")), OtpCodeError::NotAlphanumeric.into()),
            (request(Some("123"), None, Some("x")), PhoneError::Missing.into()),
            (request(Some("123"), Some(" "), Some("x")), PhoneError::Empty.into()),
            (request(Some("123"), Some("+999999999999"), Some("x")), PhoneError::Invalid.into()),
            (request(Some("123"), Some("+966551234567"), Some("x")), InvalidSendRequest::IdempotencyKey),
        ];
        for (request, expected) in cases {
            assert_eq!(request.validate().map(|_| ()), Err(expected));
        }
        let ok = request(Some("123"), Some("+966551234567"), Some("a3f1c2e4-9b27-4d6a-8e5f-1c2b3d4e5f60")).validate();
        assert!(ok.is_ok_and(|input| input.idempotency_key.is_some()));
    }
}
