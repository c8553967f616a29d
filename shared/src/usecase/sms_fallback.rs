//! The WhatsApp → SMS fallback (docs/api.md, WhatsApp → SMS fallback): a message WhatsApp cannot deliver to its
//! recipient is sent again, once, as an SMS. The same steps run whether the failure came in the Graph API's answer
//! (SendMessage) or in a `failed` webhook within the window: choose who pays the SMS, hand the message over in one
//! transaction (at most one caller ever does), publish the SMS, and record what SNS said. Whatever happens, the
//! message ends settled: on SMS, or failed and refunded with the reason.

use tracing::instrument;

use crate::domain::channel::Channel;
use crate::domain::fallback::sms_cost;
use crate::domain::language::HumanLanguage;
use crate::domain::message::{MessageStatus, OriginalResponse};
use crate::domain::phone::PhoneE164;
use crate::domain::purse::charged_purse;
use crate::domain::sms::{default_fallback_text, sms_parts};
use crate::domain::subscription::{DebitGuard, Subscription, choose_payer};
use crate::metrics::{self, RefundCause, SmsUse};
use crate::secrets::SecretError;
use crate::store::{Charge, ClientProfile, Failure, Handover, SmsHandover, StoreError, pause};
use crate::usecase::low_balance::LowBalance;
use crate::usecase::ports::FallbackPorts;
use crate::usecase::verify_api::DEFAULT_SENDER;

/// Handover rounds before giving up when balances keep moving under us.
const HANDOVER_ATTEMPTS: u32 = 16;

/// A message WhatsApp could not deliver, with everything its SMS needs.
#[derive(Debug, Clone, Copy)]
pub struct UndeliveredOnWhatsApp<'a> {
    /// What its WhatsApp attempt was charged (refunded by the handover, or by the failure).
    pub whatsapp: Charge<'a>,
    /// Its recipient.
    pub to: &'a PhoneE164,
    /// The language of its template, which the SMS is written in.
    pub language: HumanLanguage,
    /// WhatsApp's failure.
    pub failure: &'a Failure,
    /// The code, opened or still in hand.
    pub code: &'a str,
    /// Its client's profile: the SMS sender id and text, where a low-balance email goes.
    pub profile: &'a ClientProfile,
    /// The answers an idempotent retry replays, when the client has not had one yet (a fallback during the send):
    /// the success it gets if the SMS goes, and the refusal it gets otherwise. `None` keeps the answer it had.
    pub answers: Option<Answers<'a>>,
}

/// The answers a fallback during the send stores for its idempotency key.
#[derive(Debug, Clone, Copy)]
pub struct Answers<'a> {
    /// The message went by SMS: the send succeeded.
    pub sent: &'a OriginalResponse,
    /// It did not: WhatsApp's refusal stands.
    pub refused: &'a OriginalResponse,
}

/// How a fallback ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FallbackOutcome {
    /// SNS took the SMS: the message is `Sent` on SMS.
    SentBySms,
    /// SNS refused the SMS: the message is `Failed` on SMS, the SMS refunded.
    SmsRefused,
    /// No active subscription could pay for the SMS: the message is `Failed` on WhatsApp, refunded, and its
    /// reason says so.
    NobodyCanPay,
    /// It could not be handed over (its code was erased when the window closed or it was delivered, or the balances
    /// kept moving): the message is `Failed` on WhatsApp and refunded, as without the fallback.
    FailedOnWhatsApp,
    /// Another caller (a duplicated webhook, the sweep) settled the message first: nothing was done.
    AlreadySettled,
}

/// What the fallback may fail with on our side: storage.
#[derive(Debug, thiserror::Error)]
#[error("storage failed")]
pub struct FallbackError(#[from] pub StoreError);

/// The SMS text: the client's own for the language, else ours, with the code in.
pub fn sms_text(profile: &ClientProfile, language: HumanLanguage, code: &str) -> String {
    let template =
        profile.fallback_sms_texts.get(language.code()).map_or(default_fallback_text(language), String::as_str);
    template.replace("{CODE}", code)
}

/// Sends `message` again by SMS, once, and settles it (see the module's description).
#[instrument(skip_all, fields(client_id = %message.whatsapp.client_id, message_id = %message.whatsapp.message_id))]
pub async fn fall_back_to_sms(
    ports: &impl FallbackPorts,
    message: UndeliveredOnWhatsApp<'_>,
) -> Result<FallbackOutcome, FallbackError> {
    let outcome = settle(ports, message).await?;
    let counted = match outcome {
        FallbackOutcome::SentBySms => Some("SentBySms"),
        FallbackOutcome::SmsRefused => Some("SmsRefused"),
        FallbackOutcome::NobodyCanPay => Some("NobodyCanPay"),
        FallbackOutcome::FailedOnWhatsApp => Some("FailedOnWhatsApp"),
        FallbackOutcome::AlreadySettled => None,
    };
    if let Some(counted) = counted {
        metrics::fallback(counted);
    }
    Ok(outcome)
}

async fn settle(
    ports: &impl FallbackPorts,
    message: UndeliveredOnWhatsApp<'_>,
) -> Result<FallbackOutcome, FallbackError> {
    let text = sms_text(message.profile, message.language, message.code);
    let price = ports.sms_price(message.to.region().as_str()).await?;
    let cost = sms_cost(sms_parts(&text), price);
    let refused = message.answers.map(|a| a.refused);
    for attempt in 0..HANDOVER_ATTEMPTS {
        if attempt > 0 {
            pause(attempt).await;
        }
        let subscriptions = ports.subscriptions_newest_first(message.whatsapp.client_id).await?;
        let after_refund = as_after_refund(subscriptions, &message.whatsapp);
        let Some((cost, payer)) = cost.and_then(|cost| Some((cost, choose_payer(&after_refund, cost)?))) else {
            let failure = nobody_can_pay(message.failure);
            return Ok(if ports.fail_and_refund(message.whatsapp, &failure, refused, ports.now()).await? {
                metrics::refund(RefundCause::Fallback, message.whatsapp.cost);
                tracing::warn!("no SMS fallback: no subscription can pay for it");
                FallbackOutcome::NobodyCanPay
            } else {
                FallbackOutcome::AlreadySettled
            });
        };
        let guard = DebitGuard::for_debit(payer, cost);
        let handover = SmsHandover {
            whatsapp: message.whatsapp,
            failure: message.failure,
            sms_cost: cost,
            payer,
            guard,
            replay: message.answers.map(|a| a.sent),
            now: ports.now(),
        };
        match ports.hand_over_to_sms(&handover).await? {
            Handover::HandedOver => {
                metrics::refund(RefundCause::Fallback, message.whatsapp.cost);
                metrics::credits_charged(metrics::CreditUse::Sms, cost);
                let low_balance = guard.claims().then(|| LowBalance {
                    profile: message.profile.clone(),
                    threshold: payer.low_balance_threshold,
                    granted: payer.granted,
                });
                let sms = Charge {
                    cost,
                    subscription: Some(payer.sort_key.as_str()),
                    purse: charged_purse(payer, cost, guard, message.whatsapp.message_id),
                    channel: Channel::Sms,
                    ..message.whatsapp
                };
                let outcome = send(ports, &message, sms, &text, refused).await;
                if let Some(low_balance) = low_balance {
                    low_balance.notify(ports).await;
                }
                return outcome;
            }
            Handover::ReadAgain => continue,
            // Settled as any WhatsApp failure, whose own conditions say whether anything is left to do: nothing
            // after another handover or failure; a failure after a delivery the handover may not follow.
            Handover::AlreadyDecided | Handover::CodeGone => return fail_on_whatsapp(ports, &message, refused).await,
        }
    }
    tracing::warn!("the handover kept losing races for the balances; failed without an SMS");
    fail_on_whatsapp(ports, &message, refused).await
}

/// Fails and refunds the message on WhatsApp, as without the fallback.
async fn fail_on_whatsapp(
    ports: &impl FallbackPorts,
    message: &UndeliveredOnWhatsApp<'_>,
    refused: Option<&OriginalResponse>,
) -> Result<FallbackOutcome, FallbackError> {
    Ok(if ports.fail_and_refund(message.whatsapp, message.failure, refused, ports.now()).await? {
        metrics::refund(RefundCause::Fallback, message.whatsapp.cost);
        FallbackOutcome::FailedOnWhatsApp
    } else {
        FallbackOutcome::AlreadySettled
    })
}

/// Publishes the SMS of a message handed over to SMS, and records SNS's answer: `Sent`, or failed and refunded.
async fn send(
    ports: &impl FallbackPorts,
    message: &UndeliveredOnWhatsApp<'_>,
    sms: Charge<'_>,
    text: &str,
    refused: Option<&OriginalResponse>,
) -> Result<FallbackOutcome, FallbackError> {
    let sender = message.profile.sms_sender.as_deref().unwrap_or(DEFAULT_SENDER);
    match ports.send_sms(message.to, text, sender).await {
        Ok(_) => {
            record_sms_sent(ports, &sms).await;
            tracing::info!(cost = sms.cost.get(), "sent by SMS after WhatsApp could not deliver");
            Ok(FallbackOutcome::SentBySms)
        }
        Err(err) => {
            tracing::warn!(error = %err, "the fallback SMS was refused");
            metrics::sms_failure(SmsUse::Fallback);
            let failure = Failure {
                code: None,
                title: Some("SmsRefused".to_owned()),
                reason: Some("WhatsApp could not deliver the message and the SMS sent instead was refused.".to_owned()),
            };
            if ports.fail_and_refund(sms, &failure, refused, ports.now()).await? {
                metrics::refund(RefundCause::Fallback, sms.cost);
            }
            Ok(FallbackOutcome::SmsRefused)
        }
    }
}

/// Records that SNS took the SMS, retrying a write that met throttling or a conflict: the SMS went, so a failure here
/// must not make the client send again. If it still fails, it is logged and the sweep later fails and refunds the
/// message (docs/api.md, Known gaps).
async fn record_sms_sent(ports: &impl FallbackPorts, sms: &Charge<'_>) {
    const ATTEMPTS: u32 = 3;
    for attempt in 1..=ATTEMPTS {
        let now = ports.now();
        match ports.advance_status(sms.client_id, sms.message_id, Channel::Sms, MessageStatus::Sent, now).await {
            Ok(_) => return,
            Err(err) if attempt < ATTEMPTS && err.is_transient() => {
                tracing::warn!(attempt, error = %err, "recording the SMS as sent failed; retrying");
                pause(attempt).await;
            }
            Err(err) => {
                tracing::error!(error = %crate::logging::cause_chain(&err), "the SMS went, but could not be recorded");
                return;
            }
        }
    }
}

/// The subscriptions as they will be once the WhatsApp attempt is refunded: the SMS is chosen by the same rule as
/// any charge (docs/api.md, Billing), counting the credits the handover gives back in the same transaction.
fn as_after_refund(mut subscriptions: Vec<Subscription>, whatsapp: &Charge<'_>) -> Vec<Subscription> {
    if let Some(paid) = subscriptions.iter_mut().find(|s| Some(s.sort_key.as_str()) == whatsapp.subscription) {
        paid.balance = paid.balance.saturating_add(whatsapp.cost);
        if let Some(share) = paid.shares.get_mut(whatsapp.purse) {
            *share = share.saturating_add(whatsapp.cost);
        }
    }
    subscriptions
}

/// WhatsApp's failure, its reason saying why no SMS followed.
fn nobody_can_pay(failure: &Failure) -> Failure {
    let why = "No SMS was sent instead: no active subscription could pay for it.";
    Failure {
        reason: Some(match failure.reason.as_deref().map(str::trim_end) {
            Some(reason) if reason.ends_with(['.', '!', '?']) => format!("{reason} {why}"),
            Some(reason) if !reason.is_empty() => format!("{reason}. {why}"),
            _ => why.to_owned(),
        }),
        ..failure.clone()
    }
}

/// The code sealed for a message's fallback, bound to the message (`<client id>/<message id>`).
pub async fn seal_code(
    ports: &impl FallbackPorts,
    client_id: &str,
    message_id: &str,
    code: &str,
) -> Result<String, SealFailure> {
    let key = ports.fallback_key().await.map_err(SealFailure::Key)?;
    crate::sealed::seal(
        crate::sealed::Purpose::FallbackCode,
        key.expose().as_bytes(),
        &binding(client_id, message_id),
        code,
    )
    .map_err(SealFailure::Seal)
}

/// A message's sealed code, opened.
pub async fn open_code(
    ports: &impl FallbackPorts,
    client_id: &str,
    message_id: &str,
    sealed: &str,
) -> Result<String, SealFailure> {
    let key = ports.fallback_key().await.map_err(SealFailure::Key)?;
    crate::sealed::open(
        crate::sealed::Purpose::FallbackCode,
        key.expose().as_bytes(),
        &binding(client_id, message_id),
        sealed,
    )
    .map_err(SealFailure::Seal)
}

fn binding(client_id: &str, message_id: &str) -> String {
    format!("{client_id}/{message_id}")
}

/// A code could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SealFailure {
    /// The fallback key could not be read.
    #[error("the fallback key could not be read")]
    Key(#[source] SecretError),
    /// Sealing or opening failed (no randomness; a code sealed under another key).
    #[error(transparent)]
    Seal(crate::sealed::SealError),
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::domain::pricing::Credits;
    use crate::domain::subscription::StoredState;

    fn profile(texts: &[(&str, &str)]) -> ClientProfile {
        ClientProfile {
            client_id: "c".into(),
            name: "C".into(),
            email: "c@example.com".into(),
            language: "en".into(),
            sms_sender: None,
            sms_templates: HashMap::new(),
            fallback_sms: true,
            fallback_sms_texts: texts.iter().map(|(l, t)| ((*l).to_owned(), (*t).to_owned())).collect(),
            sender: None,
            templates: Vec::new(),
        }
    }

    #[test]
    fn the_text_is_the_clients_own_for_the_language_else_ours() {
        let own = profile(&[("ar", "رمزك {CODE}")]);
        assert_eq!(sms_text(&own, HumanLanguage::Ar, "4821"), "رمزك 4821");
        assert_eq!(sms_text(&own, HumanLanguage::En, "4821"), "Your verification code is: 4821");
    }

    fn subscription(sort_key: &str, balance: u64) -> Subscription {
        Subscription {
            id: sort_key.into(),
            sort_key: sort_key.into(),
            granted: Credits::new(100),
            balance: Credits::new(balance),
            shares: crate::domain::purse::spread(Credits::new(balance)),
            stored_state: StoredState::Active,
            low_balance_threshold: Credits::new(10),
            low_balance_notified: false,
            created_at: String::new(),
        }
    }

    #[test]
    fn the_whatsapp_refund_counts_toward_paying_the_sms() {
        let whatsapp = Charge {
            purse: 0,
            client_id: "c",
            message_id: "m",
            to_phone: "+966551234567",
            cost: Credits::new(2),
            subscription: Some("SUB#old"),
            channel: Channel::WhatsApp,
        };
        let after = as_after_refund(vec![subscription("SUB#new", 0), subscription("SUB#old", 1)], &whatsapp);
        assert_eq!(after[0].balance, Credits::new(0), "only the payer of the WhatsApp attempt gets it back");
        assert_eq!(after[1].balance, Credits::new(3));
        assert_eq!(choose_payer(&after, Credits::new(3)).map(|s| s.sort_key.as_str()), Some("SUB#old"));
    }

    #[test]
    fn no_payer_says_so_after_whatsapps_reason() {
        let failure = Failure {
            code: Some(131026),
            title: Some("Undeliverable".into()),
            reason: Some("Not on WhatsApp.".into()),
        };
        let said = nobody_can_pay(&failure);
        assert_eq!(said.code, Some(131026));
        assert_eq!(
            said.reason.as_deref(),
            Some("Not on WhatsApp. No SMS was sent instead: no active subscription could pay for it.")
        );
        let unpunctuated = Failure { reason: Some("Not on WhatsApp".into()), ..failure };
        assert_eq!(
            nobody_can_pay(&unpunctuated).reason.as_deref(),
            Some("Not on WhatsApp. No SMS was sent instead: no active subscription could pay for it.")
        );
    }
}
