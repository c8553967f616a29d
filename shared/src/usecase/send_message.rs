//! SendMessage (lightotp-api.txt; decisions.md "SendMessage: order of checks", "Billing",
//! "WhatsApp outcomes of a send").

use serde::{Deserialize, Serialize};
use tracing::instrument;
use uuid::Uuid;

use crate::auth::ClientId;
use crate::deps::Deps;
use crate::domain::language::match_template;
use crate::domain::message::{MessageId, MessageStatus};
use crate::domain::otp_code::OtpCode;
use crate::domain::phone::PhoneE164;
use crate::domain::pricing::message_cost;
use crate::domain::subscription::choose_payer;
use crate::http::ApiError;
use crate::store::{Failure, MessageRecord, NewMessage, Reservation};
use crate::whatsapp::{OutgoingOtp, SendError};

/// How many times a reservation is retried after another request got to the subscription first. Each retry reads
/// the balances again, so the loop ends with a reservation or with `InsufficientBalance` long before this.
const RESERVE_ATTEMPTS: usize = 32;

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
    pub idempotency_key: Option<Uuid>,
}

impl SendMessageRequest {
    /// Applies decisions.md steps 4–6 in order.
    pub fn validate(self) -> Result<SendMessageInput, ApiError> {
        let code = OtpCode::parse(self.otp_code.as_deref())?;
        let to = PhoneE164::parse(self.to_phone_e164.as_deref())?;
        let idempotency_key = self
            .idempotency_key
            .map(|raw| Uuid::parse_str(&raw).map_err(|_| ApiError::InvalidIdempotencyKey))
            .transpose()?;
        Ok(SendMessageInput {
            code,
            to,
            language_code: self.language_code,
            idempotency_key,
        })
    }
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

/// Checks the sender, the template and the balance, reserves the credits together with the message, sends it
/// through WhatsApp and records WhatsApp's id. A refused request writes nothing and charges nothing; a send
/// WhatsApp refuses is stored `Failed` and its credits come back.
#[instrument(skip_all, fields(client_id = %client, message_id, region = %input.to.region()))]
pub async fn send_message(
    deps: &Deps,
    client: &ClientId,
    input: SendMessageInput,
) -> Result<SendMessageResponse, ApiError> {
    let context = deps
        .store
        .send_context(client.as_str(), input.to.region())
        .await?;
    let profile = context.profile.ok_or(ApiError::SenderNumberNotFound)?;
    let sender = profile
        .sender
        .as_ref()
        .ok_or(ApiError::SenderNumberNotFound)?;
    let template = match_template(
        input.language_code.as_deref(),
        &profile.language,
        &profile.templates,
    )
    .ok_or(ApiError::TemplateNotFound)?;
    let cost = message_cost(context.listed_price);

    let id = MessageId::new_random();
    tracing::Span::current().record("message_id", tracing::field::display(id));
    let message = NewMessage {
        client_id: client.as_str(),
        id,
        to: &input.to,
        template,
        cost,
        created_at: deps.clock.now(),
    };
    let payer = reserve(deps, &message).await?;

    let outgoing = OutgoingOtp {
        phone_number_id: &sender.phone_number_id,
        to: &input.to,
        template,
        code: &input.code,
        callback_data: &id.to_string(),
    };
    match deps.whatsapp.send_otp(&outgoing).await {
        Ok(wamid) => {
            // The message went out and is paid for: a failure to record the id must not make the client retry
            // (a second send), so it is logged and the send still succeeds.
            if let Err(err) = deps
                .store
                .record_whatsapp_id(client.as_str(), id, &wamid)
                .await
            {
                tracing::error!(error = %err, "sent, but the WhatsApp id could not be recorded");
            }
            tracing::info!(cost, "message sent");
            Ok(SendMessageResponse {
                id: id.to_string(),
                message_status: MessageStatus::Pending.as_str(),
            })
        }
        Err(err) => {
            let record = charged_record(&message, &payer);
            let failure = failure_of(&err);
            deps.store
                .fail_and_refund(client.as_str(), &record, &failure, deps.clock.now())
                .await?;
            match err {
                SendError::Rejected {
                    status, message, ..
                } => Err(ApiError::WhatsAppRejected {
                    status,
                    message,
                    id: id.to_string(),
                }),
                SendError::Unavailable(why) => {
                    Err(ApiError::Internal(format!("WhatsApp unavailable: {why}")))
                }
            }
        }
    }
}

/// Picks the payer and reserves; when another request spends the chosen subscription first, reads again.
async fn reserve(deps: &Deps, message: &NewMessage<'_>) -> Result<String, ApiError> {
    for _ in 0..RESERVE_ATTEMPTS {
        let subscriptions = deps
            .store
            .subscriptions_newest_first(message.client_id)
            .await?;
        let payer =
            choose_payer(&subscriptions, message.cost).ok_or(ApiError::InsufficientBalance)?;
        if deps.store.reserve(message, payer).await? == Reservation::Reserved {
            return Ok(payer.sort_key.clone());
        }
    }
    Err(ApiError::Internal(
        "reservation kept losing races".to_owned(),
    ))
}

fn charged_record(message: &NewMessage<'_>, payer: &str) -> MessageRecord {
    MessageRecord {
        id: message.id.to_string(),
        status: MessageStatus::Pending,
        to_phone: message.to.as_str().to_owned(),
        created_at: String::new(),
        cost: message.cost,
        charged_subscription: Some(payer.to_owned()),
        wamid: None,
        failure_code: None,
        failure_title: None,
        failure_reason: None,
        failed_at: None,
    }
}

/// The failure fields CheckMessageStatus will show for a send WhatsApp refused or never answered.
fn failure_of(err: &SendError) -> Failure {
    match err {
        SendError::Rejected {
            message,
            code,
            title,
            details,
            ..
        } => Failure {
            code: *code,
            title: title.clone().or_else(|| Some(message.clone())),
            reason: details.clone().or_else(|| Some(message.clone())),
        },
        SendError::Unavailable(_) => Failure {
            code: None,
            title: Some("WhatsAppUnavailable".to_owned()),
            reason: Some(
                "WhatsApp did not accept the message in time (timeout or server error).".to_owned(),
            ),
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
            (request(None, None, Some("x")), "OTPCodeIsRequired"),
            (
                request(Some("123456789"), Some(""), Some("x")),
                "OTPCodeLengthMustBeLessThanOrEqualTo8",
            ),
            (
                request(Some("12 3"), None, Some("x")),
                "OTPCodeMustContainOnlyLettersOrDigits",
            ),
            (
                request(Some("123"), None, Some("x")),
                "DestinationPhoneNumberIsRequired",
            ),
            (
                request(Some("123"), Some(" "), Some("x")),
                "PhoneNumberCanNotBeEmpty",
            ),
            (
                request(Some("123"), Some("+999999999999"), Some("x")),
                "InvalidphoneNumber",
            ),
            (
                request(Some("123"), Some("+966551234567"), Some("x")),
                "InvalidIdempotencyKey",
            ),
        ];
        for (request, expected) in cases {
            let got = request
                .validate()
                .map(|_| ())
                .map_err(|e| e.error_message().to_owned());
            assert_eq!(got, Err(expected.to_owned()));
        }
        let ok = request(
            Some("123"),
            Some("+966551234567"),
            Some("a3f1c2e4-9b27-4d6a-8e5f-1c2b3d4e5f60"),
        )
        .validate();
        assert!(ok.is_ok_and(|input| input.idempotency_key.is_some()));
    }
}
