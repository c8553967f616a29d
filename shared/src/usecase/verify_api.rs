//! The Verify API (docs/api.md, Verify API): initiate generates a code, stores only its keyed hash, charges the SMS
//! parts and sends the SMS; verify compares in constant time, once, at most five wrong tries, before the code
//! expires.

use serde::Serialize;
use subtle::ConstantTimeEq;
use tracing::instrument;
use uuid::Uuid;

use crate::auth::ClientId;
use crate::domain::pricing::Credits;
use crate::domain::sms::{default_template, render, sms_parts};
use crate::domain::subscription::{DebitGuard, choose_payer};
use crate::domain::verification::{
    InitiateParams, MAX_ATTEMPTS, PaymentType, VerificationCode, VerifyParams, code_from_random, code_hash,
};
use crate::secrets::SecretError;
use crate::sms_sender::SmsError;
use crate::store::{
    InitiateLimit, NewVerification, StoreError, VerificationCharge, VerificationRecord, VerificationReservation,
    VerificationStatus, pause,
};
use crate::usecase::low_balance::LowBalance;
use crate::usecase::ports::VerificationPorts;

/// The sender id when neither the request nor the client's profile sets one.
pub const DEFAULT_SENDER: &str = "LightOTP";
/// Reservation rounds before giving up when subscriptions keep moving under us.
const RESERVE_ATTEMPTS: u32 = 32;

/// Why an initiate or a verify did not succeed, in the product's words (docs/api.md, Verify API). `api::verify`
/// words each as the Lamah OTP document does.
#[derive(Debug, thiserror::Error)]
pub enum VerificationRefusal {
    /// The key's client has no profile any more.
    #[error("the key's client is gone")]
    UnknownClient,
    /// A limit was hit (per number, per client) or its cool-off is running.
    #[error("initiate limit reached; retry in {retry_after} s")]
    Limited {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// The wallet or every active subscription cannot pay.
    #[error("insufficient balance")]
    InsufficientBalance,
    /// Unknown, malformed or another client's `request_id`, or a request whose SMS failed.
    #[error("verification request not found")]
    NotFound,
    /// The code does not match (an attempt is counted).
    #[error("wrong code")]
    WrongCode,
    /// The code expired.
    #[error("code expired")]
    Expired,
    /// Five wrong codes were given.
    #[error("attempts used up")]
    AttemptsUsedUp,
    /// The code was verified before.
    #[error("already verified")]
    AlreadyVerified,
    /// Our failure, with its cause.
    #[error(transparent)]
    Failed(#[from] VerificationFailure),
}

impl From<StoreError> for VerificationRefusal {
    fn from(err: StoreError) -> Self {
        Self::Failed(VerificationFailure::Store(err))
    }
}

/// What went wrong on our side, with its cause.
#[derive(Debug, thiserror::Error)]
pub enum VerificationFailure {
    /// Storage failed.
    #[error("storage failed")]
    Store(#[from] StoreError),
    /// The pepper that keys code hashes could not be read.
    #[error("the pepper could not be read")]
    Pepper(#[source] SecretError),
    /// The operating system's random generator failed.
    #[error("the random generator failed: {0}")]
    Random(getrandom::Error),
    /// The reservation lost every race for the wallet or subscription it chose.
    #[error("the reservation kept losing races")]
    ReservationContended,
    /// SNS refused the SMS; the charge was refunded.
    #[error("the SMS was not sent")]
    SmsRefused(#[source] SmsError),
}

/// `200` of initiate.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct InitiateResponse {
    /// The request to verify against.
    pub request_id: String,
    /// SMS parts charged, a credit each.
    pub cost: Credits,
}

/// `200` of verify.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VerifyResponse {
    /// The request verified.
    pub request_id: String,
    /// Always `verified`.
    pub status: &'static str,
}

/// Draws a code from the OS CSPRNG.
fn random_code(length: u8) -> Result<VerificationCode, VerificationFailure> {
    loop {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(VerificationFailure::Random)?;
        if let Some(code) = code_from_random(&bytes, length) {
            return Ok(VerificationCode::new(code));
        }
    }
}

/// `POST /api/otp/initiate`, with parameters the function parsed (`domain::verification::parse_initiate`). The SMS
/// goes from the sender id asked for, else the client's, else `LightOTP`.
#[instrument(skip_all, fields(client_id = %client, request_id))]
pub async fn initiate(
    ports: &impl VerificationPorts,
    client: &ClientId,
    params: &InitiateParams,
) -> Result<InitiateResponse, VerificationRefusal> {
    let profile = ports.client_profile(client.as_str()).await?.ok_or(VerificationRefusal::UnknownClient)?;
    let sender =
        params.sender.clone().or_else(|| profile.sms_sender.clone()).unwrap_or_else(|| DEFAULT_SENDER.to_owned());
    let now = ports.now();
    if let InitiateLimit::Limited { retry_after } = ports.admit_initiate(client.as_str(), &params.receiver, now).await?
    {
        return Err(VerificationRefusal::Limited { retry_after });
    }

    let request_id = Uuid::new_v4().to_string();
    tracing::Span::current().record("request_id", request_id.as_str());
    let code = random_code(params.length)?;
    let template = profile.sms_templates.get(params.lang.code()).map_or(default_template(params.lang), String::as_str);
    let text = render(template, code.expose(), params.expiration);
    // Each SMS part costs one credit (docs/api.md, Cost: SMS parts).
    let cost = Credits::new(sms_parts(&text));
    let pepper = ports.pepper().await.map_err(VerificationFailure::Pepper)?;
    let request = NewVerification {
        client_id: client.as_str(),
        request_id: &request_id,
        receiver: &params.receiver,
        code_hash: code_hash(pepper.expose().as_bytes(), &request_id, code.expose()),
        code_expires_at: now + time::Duration::minutes(i64::from(params.expiration)),
        cost,
        lang: params.lang,
        sender: &sender,
        created_at: now,
    };
    let low_balance = charge(ports, client, params, &request).await?;
    crate::metrics::credits_charged(crate::metrics::CreditUse::Verify, cost);
    let low_balance = low_balance.map(|(threshold, granted)| LowBalance { profile, threshold, granted });

    let sent = ports.send_sms(&params.receiver, &text, &sender).await;
    if let Some(low_balance) = low_balance {
        low_balance.notify(ports).await;
    }
    if let Err(err) = sent {
        crate::metrics::sms_failure(crate::metrics::SmsUse::Verify);
        if ports.refund_verification(client.as_str(), &request_id, ports.now()).await? {
            crate::metrics::refund(crate::metrics::RefundCause::VerifySms, cost);
        }
        return Err(VerificationFailure::SmsRefused(err).into());
    }
    tracing::info!(cost = cost.get(), "verification code sent");
    Ok(InitiateResponse { request_id, cost })
}

/// Charges the wallet or a subscription and creates the request, together. Returns the low-balance email the
/// debit claimed, if it did (threshold, granted).
async fn charge(
    ports: &impl VerificationPorts,
    client: &ClientId,
    params: &InitiateParams,
    request: &NewVerification<'_>,
) -> Result<Option<(Credits, Credits)>, VerificationRefusal> {
    for attempt in 0..RESERVE_ATTEMPTS {
        if attempt > 0 {
            // A concurrent transaction held the wallet or the subscription: spread the retries out.
            pause(attempt).await;
        }
        if params.payment_type == PaymentType::Wallet {
            match ports.reserve_verification(request, VerificationCharge::Wallet).await? {
                VerificationReservation::Reserved => return Ok(None),
                VerificationReservation::WalletShort => return Err(VerificationRefusal::InsufficientBalance),
                // A concurrent transaction held the wallet: try again.
                VerificationReservation::ReadAgain => continue,
            }
        }
        let subscriptions = ports.subscriptions_newest_first(client.as_str()).await?;
        let payer = choose_payer(&subscriptions, request.cost).ok_or(VerificationRefusal::InsufficientBalance)?;
        let guard = DebitGuard::for_debit(payer, request.cost);
        match ports.reserve_verification(request, VerificationCharge::Subscription(payer, guard)).await? {
            VerificationReservation::Reserved => {
                return Ok(guard.claims().then_some((payer.low_balance_threshold, payer.granted)));
            }
            VerificationReservation::ReadAgain | VerificationReservation::WalletShort => continue,
        }
    }
    Err(VerificationFailure::ReservationContended.into())
}

/// Why a request cannot be verified any more, checked in this order; `None` when it still can.
fn closed(record: &VerificationRecord, now: time::OffsetDateTime) -> Option<VerificationRefusal> {
    match record.status {
        VerificationStatus::Verified => Some(VerificationRefusal::AlreadyVerified),
        VerificationStatus::Failed => Some(VerificationRefusal::NotFound),
        VerificationStatus::Pending if record.attempts >= MAX_ATTEMPTS => Some(VerificationRefusal::AttemptsUsedUp),
        VerificationStatus::Pending if now >= record.code_expires_at => Some(VerificationRefusal::Expired),
        VerificationStatus::Pending => None,
    }
}

/// `POST /api/otp/verify`, with parameters the function parsed (`domain::verification::parse_verify`).
#[instrument(skip_all, fields(client_id = %client))]
pub async fn verify(
    ports: &impl VerificationPorts,
    client: &ClientId,
    params: &VerifyParams,
) -> Result<VerifyResponse, VerificationRefusal> {
    let request_id = params.request_id.to_string();
    let pepper = ports.pepper().await.map_err(VerificationFailure::Pepper)?;
    let candidate = code_hash(pepper.expose().as_bytes(), &request_id, params.code.expose());
    let record = ports.verification(client.as_str(), &request_id).await?.ok_or(VerificationRefusal::NotFound)?;
    if let Some(refusal) = closed(&record, ports.now()) {
        return Err(refusal);
    }
    let matches: bool = candidate.as_bytes().ct_eq(record.code_hash.as_bytes()).into();
    let applied = if matches {
        ports.mark_verified(client.as_str(), &request_id, ports.now()).await?
    } else {
        ports.count_wrong_code(client.as_str(), &request_id, ports.now()).await?
    };
    match (matches, applied) {
        (true, true) => {
            tracing::info!(request_id = %request_id, "code verified");
            Ok(VerifyResponse { request_id, status: "verified" })
        }
        (false, true) => Err(VerificationRefusal::WrongCode),
        // Another verify changed the request between our read and our write: answer from what it is now.
        _ => {
            let now = ports.now();
            let record =
                ports.verification(client.as_str(), &request_id).await?.ok_or(VerificationRefusal::NotFound)?;
            Err(closed(&record, now).unwrap_or(VerificationRefusal::WrongCode))
        }
    }
}
