//! SendMessage's branches through its ports, without the stack: what it reads, reserves, sends, records and
//! refunds on each path. The storage guarantees behind those calls are tested on the emulator (`tests/api`).

use std::collections::VecDeque;
use std::sync::Mutex;

use time::OffsetDateTime;

use super::Answer;
use super::ports::{
    FallbackPorts, Messages, Now, Pepper, RateLimitPorts, SendEmail, SendMessagePorts, SendSms, Subscriptions,
};
use super::send_message::*;
use crate::auth::ClientId;
use crate::domain::channel::Channel;
use crate::domain::cooldown::CooldownWindow;
use crate::domain::idempotency::{IdempotencyKey, request_fingerprint};
use crate::domain::language::{HumanLanguage, LanguageTag, Template};
use crate::domain::message::{MessageId, MessageStatus, OriginalResponse};
use crate::domain::notification::Email;
use crate::domain::otp_code::OtpCode;
use crate::domain::phone::PhoneE164;
use crate::domain::pricing::Credits;
use crate::domain::purse::{Purses, Terms};
use crate::domain::rate_limit::{Counted, RateWindow};
use crate::domain::subscription::{DebitGuard, StoredState, Subscription};
use crate::email::EmailError;
use crate::secrets::{SecretError, SecretText};
use crate::sms_sender::SmsError;
use crate::store::{
    Charge, ClientProfile, Failure, IdempotencyBinding, IdempotencyClaim, MessageRecord, NewMessage, Reservation,
    SendContext, StoreError, WhatsAppSender,
};
use crate::store::{Handover, SmsHandover};
use crate::whatsapp::{OutgoingOtp, SendError};

const CLIENT: &str = "client-1";
const PEPPER: &str = "pepper";
const PAYER: &str = "SUB#0001#s1";

/// One fail-and-refund SendMessage asked for.
#[derive(Debug, Clone)]
struct Refund {
    message_id: String,
    cost: Credits,
    subscription: Option<String>,
    failure: Failure,
    replay: Option<OriginalResponse>,
}

/// A world SendMessage talks to: what each port answers, and a log of what it was asked.
struct World {
    now: OffsetDateTime,
    pepper: SecretText,
    context: SendContext,
    subscriptions: Vec<Subscription>,
    /// Answers of `reserve`, in turn; `Reserved` once they run out.
    reservations: Mutex<VecDeque<Reservation>>,
    /// What an idempotency binding read finds.
    binding: Option<IdempotencyBinding>,
    /// What a message read finds.
    stored: Option<MessageRecord>,
    whatsapp: Result<String, SendError>,
    /// Answers of `record_sent`, in turn; `Ok(true)` once they run out.
    records: Mutex<VecDeque<Result<bool, StoreError>>>,
    calls: Mutex<Vec<&'static str>>,
    /// What a count toward the rate limit answers: `false` when the window filled up.
    counted: bool,
    refunds: Mutex<Vec<Refund>>,
    emails: Mutex<Vec<String>>,
    fallback_key: SecretText,
    /// What each reservation kept for the fallback (sealed), and each handover's SMS cost and replay.
    kept_codes: Mutex<Vec<Option<String>>>,
    handovers: Mutex<Vec<(Credits, Option<OriginalResponse>)>>,
    /// The SMS published: recipient, text, sender.
    sms: Mutex<Vec<(String, String, String)>>,
}

impl World {
    /// A client with a sender, an English template and one subscription of `balance` credits, sending to a number
    /// it never sent to.
    fn new(balance: u64) -> Self {
        let profile = ClientProfile {
            client_id: CLIENT.to_owned(),
            name: "Acme".to_owned(),
            email: "ops@acme.test".to_owned(),
            language: "en".to_owned(),
            sms_sender: None,
            sms_templates: Default::default(),
            fallback_sms: false,
            fallback_sms_texts: std::collections::HashMap::new(),
            sender: Some(WhatsAppSender { phone_number_id: "1234".to_owned(), display_phone: "+15550001".to_owned() }),
            templates: vec![Template { name: "otp_en".to_owned(), language: LanguageTag::parse("en").expect("en") }],
        };
        Self {
            now: OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a time"),
            pepper: SecretText::for_tests(PEPPER),
            context: SendContext {
                profile: Some(profile),
                listed_price: None,
                cooldown: CooldownWindow::default(),
                binding: None,
                rate_counts: vec![0],
                purses: Purses::default(),
            },
            subscriptions: vec![subscription(balance, 0)],
            reservations: Mutex::new(VecDeque::new()),
            binding: None,
            stored: None,
            whatsapp: Ok("wamid.1".to_owned()),
            records: Mutex::new(VecDeque::new()),
            calls: Mutex::new(Vec::new()),
            counted: true,
            refunds: Mutex::new(Vec::new()),
            emails: Mutex::new(Vec::new()),
            fallback_key: SecretText::for_tests("fallback key"),
            kept_codes: Mutex::new(Vec::new()),
            handovers: Mutex::new(Vec::new()),
            sms: Mutex::new(Vec::new()),
        }
    }

    fn called(&self, call: &'static str) {
        self.calls.lock().expect("calls").push(call);
    }

    fn calls(&self) -> Vec<&'static str> {
        self.calls.lock().expect("calls").clone()
    }

    fn refunds(&self) -> Vec<Refund> {
        self.refunds.lock().expect("refunds").clone()
    }
}

/// The purses that hold `subscriptions`, as the send's one read finds them.
fn purses_of(subscriptions: &[Subscription]) -> Purses {
    let mut purses = Purses::default();
    for subscription in subscriptions {
        purses.shares.insert(subscription.sort_key.clone(), subscription.shares);
        let terms = Terms { granted: subscription.granted, low_balance_threshold: subscription.low_balance_threshold };
        purses.terms.insert(subscription.sort_key.clone(), terms);
    }
    purses
}

fn subscription(balance: u64, threshold: u64) -> Subscription {
    Subscription {
        id: "s1".to_owned(),
        sort_key: PAYER.to_owned(),
        granted: Credits::new(100),
        balance: Credits::new(balance),
        shares: crate::domain::purse::spread(Credits::new(balance)),
        stored_state: StoredState::Active,
        low_balance_threshold: Credits::new(threshold),
        low_balance_notified: false,
        created_at: String::new(),
    }
}

impl Now for World {
    fn now(&self) -> OffsetDateTime {
        self.now
    }
}

impl SendEmail for World {
    async fn send_email(&self, to: &str, _email: &Email) -> Result<(), EmailError> {
        self.emails.lock().expect("emails").push(to.to_owned());
        Ok(())
    }
}

impl Pepper for World {
    async fn pepper(&self) -> Result<&SecretText, SecretError> {
        Ok(&self.pepper)
    }
}

impl Subscriptions for World {
    async fn subscriptions_newest_first(&self, _: &str) -> Result<Vec<Subscription>, StoreError> {
        self.called("subscriptions");
        Ok(self.subscriptions.clone())
    }
}

impl Messages for World {
    async fn message(&self, _: &str, _: MessageId) -> Result<Option<MessageRecord>, StoreError> {
        self.called("message");
        Ok(self.stored.clone())
    }

    async fn fail_and_refund(
        &self,
        charge: Charge<'_>,
        failure: &Failure,
        replay: Option<&OriginalResponse>,
        _: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.called("fail_and_refund");
        let refund = Refund {
            message_id: charge.message_id.to_owned(),
            cost: charge.cost,
            subscription: charge.subscription.map(str::to_owned),
            failure: failure.clone(),
            replay: replay.cloned(),
        };
        self.refunds.lock().expect("refunds").push(refund);
        Ok(true)
    }
}

impl SendSms for World {
    async fn send_sms(&self, to: &PhoneE164, text: &str, sender_id: &str) -> Result<String, SmsError> {
        self.called("send_sms");
        self.sms.lock().expect("sms").push((to.as_str().to_owned(), text.to_owned(), sender_id.to_owned()));
        Ok("sns-1".to_owned())
    }
}

impl FallbackPorts for World {
    async fn fallback_key(&self) -> Result<&SecretText, SecretError> {
        Ok(&self.fallback_key)
    }

    async fn sms_price(&self, _: &str) -> Result<Option<Credits>, StoreError> {
        self.called("sms_price");
        Ok(Some(Credits::new(3)))
    }

    async fn hand_over_to_sms(&self, handover: &SmsHandover<'_>) -> Result<Handover, StoreError> {
        self.called("hand_over_to_sms");
        self.handovers.lock().expect("handovers").push((handover.sms_cost, handover.replay.cloned()));
        Ok(Handover::HandedOver)
    }

    async fn advance_status(
        &self,
        _: &str,
        _: &str,
        channel: Channel,
        to: MessageStatus,
        _: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        assert_eq!((channel, to), (Channel::Sms, MessageStatus::Sent), "the SMS leg, taken by SNS");
        self.called("advance_status");
        Ok(true)
    }
}

impl RateLimitPorts for World {
    async fn rate_limit_for(&self, source_ip: Option<&str>) -> Result<u32, StoreError> {
        assert_eq!(source_ip, Some(SOURCE_IP));
        Ok(RATE_LIMIT)
    }

    async fn count_request(&self, rate: &RateWindow) -> Result<bool, StoreError> {
        assert_eq!(rate.limit, RATE_LIMIT);
        self.called("count_request");
        Ok(self.counted)
    }
}

impl SendMessagePorts for World {
    async fn send_context(
        &self,
        _: &str,
        _: &PhoneE164,
        _: Option<IdempotencyKey>,
        rate: &RateWindow,
    ) -> Result<SendContext, StoreError> {
        assert_eq!((rate.source_ip.as_str(), rate.window), (SOURCE_IP, self.now.unix_timestamp() / 60));
        self.called("send_context");
        Ok(SendContext { purses: purses_of(&self.subscriptions), ..self.context.clone() })
    }

    async fn reserve(
        &self,
        message: &NewMessage<'_>,
        _: &Subscription,
        _: DebitGuard,
        _: &CooldownWindow,
        _: &CooldownWindow,
        _: Option<&IdempotencyClaim>,
        rate: Counted<'_>,
    ) -> Result<Reservation, StoreError> {
        assert_eq!(
            (rate.window.source_ip.as_str(), rate.counter),
            (SOURCE_IP, 0),
            "the reservation counts the request"
        );
        self.called("reserve");
        self.kept_codes.lock().expect("kept").push(message.fallback_code.clone());
        Ok(self.reservations.lock().expect("reservations").pop_front().unwrap_or(Reservation::Reserved))
    }

    async fn idempotency_binding(&self, _: &str, _: IdempotencyKey) -> Result<Option<IdempotencyBinding>, StoreError> {
        self.called("idempotency_binding");
        Ok(self.binding.clone())
    }

    async fn record_sent(
        &self,
        _: &str,
        _: MessageId,
        _: &str,
        _: &OriginalResponse,
        _: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.called("record_sent");
        self.records.lock().expect("records").pop_front().unwrap_or(Ok(true))
    }

    async fn record_answer_if_missing(&self, _: &str, _: MessageId, _: &OriginalResponse) -> Result<bool, StoreError> {
        self.called("record_answer_if_missing");
        Ok(true)
    }

    async fn send_whatsapp(&self, _: &OutgoingOtp<'_>) -> Result<String, SendError> {
        self.called("send_whatsapp");
        self.whatsapp.clone()
    }
}

/// The surface's words, reduced to what the tests look for.
struct Answers;

impl SendAnswers for Answers {
    fn sent(&self, response: &SendMessageResponse) -> OriginalResponse {
        OriginalResponse { status: 200, body: format!("sent {}", response.id) }
    }

    fn refused(&self, refusal: &SendRefusal, _: HumanLanguage) -> OriginalResponse {
        OriginalResponse { status: 400, body: format!("refused: {refusal}") }
    }
}

const PHONE: &str = "+966551234567";
const SOURCE_IP: &str = "203.0.113.9";
const RATE_LIMIT: u32 = 60;

fn input(key: Option<IdempotencyKey>) -> SendMessageInput {
    SendMessageInput {
        code: OtpCode::parse(Some("482913")).expect("code"),
        to: PhoneE164::parse(Some(PHONE)).expect("phone"),
        language_code: None,
        idempotency_key: key,
    }
}

async fn send(world: &World, key: Option<IdempotencyKey>) -> Result<Answer<SendMessageResponse>, SendRefusal> {
    send_message(world, &ClientId::new(CLIENT), input(key), Some(SOURCE_IP), HumanLanguage::En, &Answers).await
}

fn fingerprint_of_the_request() -> String {
    let input = input(None);
    request_fingerprint(PEPPER.as_bytes(), &input.code, &input.to, None)
}

#[tokio::test]
async fn a_send_reads_once_reserves_once_sends_and_records_the_answer() {
    let world = World::new(10);
    let answer = send(&world, None).await.expect("sent");
    let Answer::Fresh(response) = answer else { panic!("a fresh answer") };
    assert_eq!(response.message_status, "Pending");
    assert_eq!(world.calls(), ["send_context", "reserve", "send_whatsapp", "record_sent"]);
    assert!(world.refunds().is_empty(), "nothing to refund");
}

#[tokio::test]
async fn a_retry_with_a_bound_key_replays_the_stored_answer_without_reserving_or_sending() {
    let mut world = World::new(10);
    let key = IdempotencyKey::new_random();
    world.context.binding = Some(IdempotencyBinding {
        message_id: MessageId::new_random().to_string(),
        fingerprint: fingerprint_of_the_request(),
    });
    let original = OriginalResponse { status: 200, body: "the first answer".to_owned() };
    world.stored = Some(record_with_replay(Some(original.clone())));
    let answer = send(&world, Some(key)).await.expect("a replay");
    let Answer::Replay(replayed) = answer else { panic!("a replay") };
    assert_eq!(replayed, original, "byte for byte");
    assert_eq!(world.calls(), ["send_context", "count_request", "message"], "counted; no reservation, no send");
}

#[tokio::test]
async fn a_key_bound_to_another_request_is_refused_and_nothing_is_sent() {
    let mut world = World::new(10);
    world.context.binding =
        Some(IdempotencyBinding { message_id: MessageId::new_random().to_string(), fingerprint: "another".to_owned() });
    let refusal = send(&world, Some(IdempotencyKey::new_random())).await.expect_err("refused");
    assert!(matches!(refusal, SendRefusal::KeyReused), "{refusal:?}");
    assert_eq!(world.calls(), ["send_context", "count_request"]);
}

#[tokio::test]
async fn the_cooldown_refuses_before_the_balance_and_nothing_is_charged() {
    let mut world = World::new(0);
    let now_millis = i64::try_from(world.now.unix_timestamp_nanos() / 1_000_000).expect("millis");
    world.context.cooldown = CooldownWindow::default().after_send("earlier", now_millis - 1_000);
    let refusal = send(&world, None).await.expect_err("refused");
    assert!(matches!(refusal, SendRefusal::Cooldown { wait } if wait.as_secs() == 29), "{refusal:?}");
    assert_eq!(world.calls(), ["send_context", "count_request"], "counted; no balance read, no reservation");
}

#[tokio::test]
async fn no_subscription_that_can_pay_is_insufficient_balance_and_nothing_is_reserved() {
    let world = World::new(0);
    let refusal = send(&world, None).await.expect_err("refused");
    assert!(matches!(refusal, SendRefusal::InsufficientBalance), "{refusal:?}");
    assert_eq!(world.calls(), ["send_context", "count_request"]);
}

#[tokio::test]
async fn a_full_rate_window_read_with_the_context_refuses_uncounted_before_anything_else() {
    let mut world = World::new(0);
    world.context.rate_counts = vec![RATE_LIMIT];
    world.context.profile = None;
    let refusal = send(&world, None).await.expect_err("refused");
    // 1_800_000_000 is the first second of its minute.
    assert!(matches!(refusal, SendRefusal::RateLimited { retry_after: 60 }), "{refusal:?}");
    assert_eq!(world.calls(), ["send_context"], "not counted, nothing else looked at");
}

#[tokio::test]
async fn a_refusal_in_a_window_that_filled_meanwhile_is_the_rate_limit() {
    let mut world = World::new(0);
    world.counted = false;
    let refusal = send(&world, None).await.expect_err("refused");
    assert!(matches!(refusal, SendRefusal::RateLimited { .. }), "the rate limit answers first: {refusal:?}");
}

#[tokio::test]
async fn a_reservation_refused_by_the_rate_limit_sends_nothing() {
    let world = World::new(10);
    world.reservations.lock().expect("reservations").push_back(Reservation::RateLimited);
    let refusal = send(&world, None).await.expect_err("refused");
    assert!(matches!(refusal, SendRefusal::RateLimited { .. }), "{refusal:?}");
    assert_eq!(world.calls(), ["send_context", "reserve"], "no send, no second count");
}

#[tokio::test]
async fn a_client_without_a_sender_is_refused_first() {
    let mut world = World::new(10);
    world.context.profile.as_mut().expect("profile").sender = None;
    let refusal = send(&world, None).await.expect_err("refused");
    assert!(matches!(refusal, SendRefusal::SenderNumberNotFound), "{refusal:?}");
}

#[tokio::test]
async fn a_lost_race_reads_again_and_reserves_once() {
    let world = World::new(10);
    world.reservations.lock().expect("reservations").extend([Reservation::ReadAgain, Reservation::ReadAgain]);
    send(&world, None).await.expect("sent");
    assert_eq!(
        world.calls(),
        [
            "send_context",
            "reserve",
            "send_context",
            "reserve",
            "send_context",
            "reserve",
            "send_whatsapp",
            "record_sent"
        ],
        "each lost race reads everything again; one send"
    );
}

#[tokio::test]
async fn a_recipient_refusal_after_the_charge_is_refunded_once_with_its_code_and_mirrored() {
    let mut world = World::new(10);
    world.whatsapp = Err(rejected(400, 131026, "(#131026) Message undeliverable"));
    let refusal = send(&world, None).await.expect_err("refused");
    let SendRefusal::WhatsAppRejected { status, message, id } = &refusal else { panic!("{refusal:?}") };
    assert_eq!((*status, message.as_str()), (400, "(#131026) Message undeliverable"));
    let refunds = world.refunds();
    assert_eq!(refunds.len(), 1, "refunded once");
    let refund = &refunds[0];
    assert_eq!(
        (refund.message_id.as_str(), refund.cost, refund.subscription.as_deref()),
        (id.to_string().as_str(), Credits::new(1), Some(PAYER)),
        "what was charged"
    );
    assert_eq!(refund.failure.code, Some(131026));
    assert_eq!(refund.replay.as_ref().map(|r| r.body.as_str()), Some(format!("refused: {refusal}").as_str()));
    assert!(!world.calls().contains(&"record_sent"), "nothing sent to record");
}

#[tokio::test]
async fn a_refusal_caused_by_our_side_is_our_failure_refunded_with_its_code_and_none_of_its_text() {
    let mut world = World::new(10);
    world.whatsapp = Err(rejected(401, 190, "(#190) Error validating access token"));
    let refusal = send(&world, None).await.expect_err("refused");
    assert!(
        matches!(&refusal, SendRefusal::Failed(SendFailure::OurWhatsAppAccount { status: 401, code: Some(190), .. })),
        "{refusal:?}"
    );
    let refunds = world.refunds();
    assert_eq!(refunds.len(), 1, "refunded once");
    let failure = &refunds[0].failure;
    assert_eq!((failure.code, failure.title.as_deref()), (Some(190), Some("WhatsAppAccountError")));
    assert!(!failure.reason.as_deref().unwrap_or_default().contains("access token"), "{failure:?}");
}

#[tokio::test]
async fn a_send_whatsapp_never_answered_is_our_failure_and_refunded() {
    let mut world = World::new(10);
    world.whatsapp = Err(SendError::Unavailable("timed out".to_owned()));
    let refusal = send(&world, None).await.expect_err("refused");
    assert!(matches!(&refusal, SendRefusal::Failed(SendFailure::WhatsAppUnavailable(_))), "{refusal:?}");
    assert_eq!(world.refunds()[0].failure.title.as_deref(), Some("WhatsAppUnavailable"));
}

#[tokio::test]
async fn recording_the_send_is_retried_when_it_met_throttling_and_not_otherwise() {
    let world = World::new(10);
    let throttled = || StoreError::Throttled { operation: "UpdateItem record sent", cause: "slow down".into() };
    world.records.lock().expect("records").extend([Err(throttled()), Err(throttled())]);
    send(&world, None).await.expect("the send succeeds: the message went out");
    assert_eq!(world.calls().iter().filter(|call| **call == "record_sent").count(), 3, "two retries");

    let world = World::new(10);
    world.records.lock().expect("records").push_back(Err(StoreError::new("UpdateItem record sent", "invalid")));
    send(&world, None).await.expect("the send succeeds: the message went out");
    assert_eq!(world.calls().iter().filter(|call| **call == "record_sent").count(), 1, "it would fail again");
}

#[tokio::test]
async fn a_debit_that_crosses_the_threshold_sends_one_low_balance_email() {
    let mut world = World::new(10);
    world.subscriptions = vec![subscription(10, 10)];
    send(&world, None).await.expect("sent");
    assert_eq!(*world.emails.lock().expect("emails"), ["ops@acme.test"]);

    let quiet = World::new(50);
    send(&quiet, None).await.expect("sent");
    assert!(quiet.emails.lock().expect("emails").is_empty(), "far above the threshold: no email");
}

fn rejected(status: u16, code: i64, message: &str) -> SendError {
    SendError::Rejected { status, message: message.to_owned(), code: Some(code), title: None, details: None }
}

fn record_with_replay(replay: Option<OriginalResponse>) -> MessageRecord {
    MessageRecord {
        charged_purse: 0,
        template_language: HumanLanguage::En,
        fallback_until: None,
        id: "m".to_owned(),
        client_id: CLIENT.to_owned(),
        language: HumanLanguage::En,
        status: MessageStatus::Pending,
        to_phone: PHONE.to_owned(),
        created_at: "2027-01-15T08:00:00.000Z".to_owned(),
        cost: Credits::new(1),
        charged_subscription: Some(PAYER.to_owned()),
        wamid: None,
        failure_code: None,
        failure_title: None,
        failure_reason: None,
        failed_at: None,
        replay,
        channel: crate::domain::channel::Channel::WhatsApp,
        fallback: None,
    }
}

/// WhatsApp's refusal for a recipient it cannot deliver to (131026).
fn undeliverable() -> SendError {
    SendError::Rejected {
        status: 400,
        message: "Message undeliverable".to_owned(),
        code: Some(131026),
        title: Some("Message undeliverable".to_owned()),
        details: None,
    }
}

#[tokio::test]
async fn with_the_fallback_on_an_undeliverable_send_goes_by_sms_and_succeeds() {
    let mut world = World::new(10);
    if let Some(profile) = world.context.profile.as_mut() {
        profile.fallback_sms = true;
        profile.sms_sender = Some("Acme".to_owned());
    }
    world.whatsapp = Err(undeliverable());
    let answer = send(&world, None).await.expect("sent by SMS");
    let Answer::Fresh(response) = answer else { panic!("a fresh answer") };
    assert_eq!(response.message_status, "Pending");
    let kept = world.kept_codes.lock().expect("kept").clone();
    let sealed = kept.first().cloned().flatten().expect("the code was kept, sealed");
    assert!(!sealed.contains("482913"), "never in clear");
    let opened = crate::sealed::open(
        crate::sealed::Purpose::FallbackCode,
        b"fallback key",
        &format!("{CLIENT}/{}", response.id),
        &sealed,
    );
    assert_eq!(opened.expect("opens for its message"), "482913");
    assert_eq!(
        world.calls(),
        [
            "send_context",
            "reserve",
            "send_whatsapp",
            "sms_price",
            "subscriptions",
            "hand_over_to_sms",
            "send_sms",
            "advance_status"
        ]
    );
    let handovers = world.handovers.lock().expect("handovers").clone();
    let (cost, replay) = &handovers[0];
    assert_eq!(*cost, Credits::new(3), "one part at the listed SMS price");
    assert_eq!(replay.as_ref().map(|r| r.status), Some(200), "a retry replays the success");
    let sms = world.sms.lock().expect("sms").clone();
    assert_eq!(sms, [(PHONE.to_owned(), "Your verification code is: 482913".to_owned(), "Acme".to_owned())]);
    assert!(world.refunds().is_empty(), "the handover refunds WhatsApp itself");
}

#[tokio::test]
async fn with_the_fallback_off_nothing_is_kept_and_an_undeliverable_send_fails_as_before() {
    let mut world = World::new(10);
    world.whatsapp = Err(undeliverable());
    let refusal = send(&world, None).await.expect_err("refused");
    assert!(matches!(refusal, SendRefusal::WhatsAppRejected { .. }), "{refusal:?}");
    assert_eq!(world.kept_codes.lock().expect("kept").clone(), [None]);
    assert_eq!(world.calls(), ["send_context", "reserve", "send_whatsapp", "fail_and_refund"]);
}
