//! The Verify API's branches through its ports, without the stack: what initiate and verify read, charge, send,
//! refund and write on each path. The storage guarantees behind those calls are tested on the emulator.

use std::collections::VecDeque;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

use super::ports::{ClientProfiles, Now, Pepper, SendEmail, SendSms, Subscriptions, VerificationPorts};
use super::verify_api::*;
use crate::auth::ClientId;
use crate::domain::language::HumanLanguage;
use crate::domain::notification::Email;
use crate::domain::phone::PhoneE164;
use crate::domain::pricing::Credits;
use crate::domain::subscription::{StoredState, Subscription};
use crate::domain::verification::{InitiateParams, PaymentType, VerificationCode, VerifyParams, code_hash};
use crate::email::EmailError;
use crate::secrets::{SecretError, SecretText};
use crate::sms_sender::SmsError;
use crate::store::{
    ClientProfile, InitiateLimit, NewVerification, StoreError, VerificationCharge, VerificationRecord,
    VerificationReservation, VerificationStatus,
};

const CLIENT: &str = "client-1";
const PEPPER: &str = "pepper";
const REQUEST: &str = "8c8a6f2f-9a3b-4d86-9b2c-1e3f8f9c2ab1";

/// A world the Verify API talks to: what each port answers, and a log of what it was asked.
struct World {
    now: OffsetDateTime,
    pepper: SecretText,
    profile: Option<ClientProfile>,
    limit: InitiateLimit,
    /// Answers of `reserve_verification`, in turn; `Reserved` once they run out.
    reservations: Mutex<VecDeque<VerificationReservation>>,
    sms: Mutex<Option<SmsError>>,
    /// What each read of the request finds, in turn (the last one stays).
    records: Mutex<VecDeque<VerificationRecord>>,
    /// Whether `mark_verified` and `count_wrong_code` apply.
    applies: bool,
    calls: Mutex<Vec<&'static str>>,
    /// The code hash initiate stored, and the SMS it sent: (to, text, sender).
    stored_hash: Mutex<Option<String>>,
    sent: Mutex<Vec<(String, String, String)>>,
}

impl World {
    fn new() -> Self {
        let profile = ClientProfile {
            client_id: CLIENT.to_owned(),
            name: "Acme".to_owned(),
            email: "ops@acme.test".to_owned(),
            language: "en".to_owned(),
            sms_sender: Some("Acme".to_owned()),
            sms_templates: Default::default(),
            fallback_sms: false,
            fallback_sms_texts: std::collections::HashMap::new(),
            sender: None,
            templates: Vec::new(),
        };
        Self {
            now: OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a time"),
            pepper: SecretText::for_tests(PEPPER),
            profile: Some(profile),
            limit: InitiateLimit::Admitted,
            reservations: Mutex::new(VecDeque::new()),
            sms: Mutex::new(None),
            records: Mutex::new(VecDeque::new()),
            applies: true,
            calls: Mutex::new(Vec::new()),
            stored_hash: Mutex::new(None),
            sent: Mutex::new(Vec::new()),
        }
    }

    /// A request whose code is `code`, in `status`, with `attempts` wrong codes, expiring `minutes` from now.
    fn with_request(self, code: &str, status: VerificationStatus, attempts: u32, minutes: i64) -> Self {
        let record = VerificationRecord {
            request_id: REQUEST.to_owned(),
            code_hash: code_hash(PEPPER.as_bytes(), REQUEST, code),
            code_expires_at: self.now + Duration::minutes(minutes),
            attempts,
            status,
        };
        self.records.lock().expect("records").push_back(record);
        self
    }

    fn called(&self, call: &'static str) {
        self.calls.lock().expect("calls").push(call);
    }

    fn calls(&self) -> Vec<&'static str> {
        self.calls.lock().expect("calls").clone()
    }
}

impl Now for World {
    fn now(&self) -> OffsetDateTime {
        self.now
    }
}

impl SendEmail for World {
    async fn send_email(&self, _: &str, _: &Email) -> Result<(), EmailError> {
        self.called("send_email");
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
        Ok(vec![Subscription {
            id: "s1".to_owned(),
            sort_key: "SUB#1#s1".to_owned(),
            granted: Credits::new(100),
            balance: Credits::new(50),
            shares: crate::domain::purse::spread(Credits::new(50)),
            stored_state: StoredState::Active,
            low_balance_threshold: Credits::new(0),
            low_balance_notified: false,
            created_at: String::new(),
        }])
    }
}

impl ClientProfiles for World {
    async fn client_profile(&self, _: &str) -> Result<Option<ClientProfile>, StoreError> {
        self.called("client_profile");
        Ok(self.profile.clone())
    }
}

impl SendSms for World {
    async fn send_sms(&self, to: &PhoneE164, text: &str, sender_id: &str) -> Result<String, SmsError> {
        self.called("send_sms");
        self.sent.lock().expect("sent").push((to.as_str().to_owned(), text.to_owned(), sender_id.to_owned()));
        match self.sms.lock().expect("sms").take() {
            Some(refusal) => Err(refusal),
            None => Ok("sns-1".to_owned()),
        }
    }
}

impl VerificationPorts for World {
    async fn admit_initiate(&self, _: &str, _: &PhoneE164, _: OffsetDateTime) -> Result<InitiateLimit, StoreError> {
        self.called("admit_initiate");
        Ok(self.limit)
    }

    async fn reserve_verification(
        &self,
        request: &NewVerification<'_>,
        _: VerificationCharge<'_>,
    ) -> Result<VerificationReservation, StoreError> {
        self.called("reserve_verification");
        *self.stored_hash.lock().expect("hash") = Some(request.code_hash.clone());
        Ok(self.reservations.lock().expect("reservations").pop_front().unwrap_or(VerificationReservation::Reserved))
    }

    async fn refund_verification(&self, _: &str, _: &str, _: OffsetDateTime) -> Result<bool, StoreError> {
        self.called("refund_verification");
        Ok(true)
    }

    async fn verification(&self, _: &str, _: &str) -> Result<Option<VerificationRecord>, StoreError> {
        self.called("verification");
        let mut records = self.records.lock().expect("records");
        if records.len() > 1 { Ok(records.pop_front()) } else { Ok(records.front().cloned()) }
    }

    async fn mark_verified(&self, _: &str, _: &str, _: OffsetDateTime) -> Result<bool, StoreError> {
        self.called("mark_verified");
        Ok(self.applies)
    }

    async fn count_wrong_code(&self, _: &str, _: &str, _: OffsetDateTime) -> Result<bool, StoreError> {
        self.called("count_wrong_code");
        Ok(self.applies)
    }
}

fn params(payment_type: PaymentType) -> InitiateParams {
    InitiateParams {
        receiver: PhoneE164::parse(Some("+966551234567")).expect("phone"),
        lang: HumanLanguage::En,
        length: 6,
        expiration: 5,
        sender: None,
        payment_type,
    }
}

async fn initiate_with(world: &World, payment_type: PaymentType) -> Result<InitiateResponse, VerificationRefusal> {
    initiate(world, &ClientId::new(CLIENT), &params(payment_type)).await
}

async fn verify_with(world: &World, code: &str) -> Result<VerifyResponse, VerificationRefusal> {
    let params = VerifyParams {
        request_id: uuid::Uuid::parse_str(REQUEST).expect("uuid"),
        code: VerificationCode::new(code.to_owned()),
    };
    verify(world, &ClientId::new(CLIENT), &params).await
}

#[tokio::test]
async fn an_initiate_stores_only_the_hash_of_the_code_it_sends_from_the_clients_sender() {
    let world = World::new();
    let response = initiate_with(&world, PaymentType::Wallet).await.expect("sent");
    assert_eq!(response.cost, Credits::new(1));
    assert_eq!(world.calls(), ["client_profile", "admit_initiate", "reserve_verification", "send_sms"]);
    let (to, text, sender) = world.sent.lock().expect("sent")[0].clone();
    assert_eq!((to.as_str(), sender.as_str()), ("+966551234567", "Acme"), "the client's sender id");
    let code: String = text.chars().filter(char::is_ascii_digit).take(6).collect();
    let stored = world.stored_hash.lock().expect("hash").clone().expect("a hash");
    assert_eq!(stored, code_hash(PEPPER.as_bytes(), &response.request_id, &code), "the hash of the code sent");
    assert!(!stored.contains(&code), "never the code itself");
}

#[tokio::test]
async fn a_limited_initiate_charges_and_sends_nothing() {
    let mut world = World::new();
    world.limit = InitiateLimit::Limited { retry_after: 60 };
    let refusal = initiate_with(&world, PaymentType::Wallet).await.expect_err("limited");
    assert!(matches!(refusal, VerificationRefusal::Limited { retry_after: 60 }), "{refusal:?}");
    assert_eq!(world.calls(), ["client_profile", "admit_initiate"]);
}

#[tokio::test]
async fn a_wallet_too_short_is_insufficient_balance_and_nothing_is_sent() {
    let world = World::new();
    world.reservations.lock().expect("reservations").push_back(VerificationReservation::WalletShort);
    let refusal = initiate_with(&world, PaymentType::Wallet).await.expect_err("refused");
    assert!(matches!(refusal, VerificationRefusal::InsufficientBalance), "{refusal:?}");
    assert!(!world.calls().contains(&"send_sms"));
}

#[tokio::test]
async fn a_subscription_payment_that_lost_a_race_reads_again() {
    let world = World::new();
    world.reservations.lock().expect("reservations").push_back(VerificationReservation::ReadAgain);
    initiate_with(&world, PaymentType::Subscription).await.expect("sent");
    let reserves = world.calls().iter().filter(|call| **call == "reserve_verification").count();
    assert_eq!(reserves, 2, "{:?}", world.calls());
}

#[tokio::test]
async fn a_refused_sms_is_refunded_once_and_is_our_failure() {
    let world = World::new();
    *world.sms.lock().expect("sms") = Some(SmsError::for_tests("InvalidParameter"));
    let refusal = initiate_with(&world, PaymentType::Wallet).await.expect_err("failed");
    assert!(matches!(refusal, VerificationRefusal::Failed(VerificationFailure::SmsRefused(_))), "{refusal:?}");
    assert_eq!(world.calls().iter().filter(|call| **call == "refund_verification").count(), 1);
}

#[tokio::test]
async fn a_client_whose_profile_is_gone_is_refused_before_anything_is_counted() {
    let mut world = World::new();
    world.profile = None;
    let refusal = initiate_with(&world, PaymentType::Wallet).await.expect_err("refused");
    assert!(matches!(refusal, VerificationRefusal::UnknownClient), "{refusal:?}");
    assert_eq!(world.calls(), ["client_profile"]);
}

#[tokio::test]
async fn the_right_code_verifies_and_a_wrong_one_counts_an_attempt() {
    let world = World::new().with_request("123456", VerificationStatus::Pending, 0, 5);
    let verified = verify_with(&world, "123456").await.expect("verified");
    assert_eq!((verified.request_id.as_str(), verified.status), (REQUEST, "verified"));
    assert_eq!(world.calls(), ["verification", "mark_verified"]);

    let world = World::new().with_request("123456", VerificationStatus::Pending, 0, 5);
    let refusal = verify_with(&world, "654321").await.expect_err("wrong");
    assert!(matches!(refusal, VerificationRefusal::WrongCode), "{refusal:?}");
    assert_eq!(world.calls(), ["verification", "count_wrong_code"]);
}

#[tokio::test]
async fn a_closed_request_refuses_even_the_right_code_and_writes_nothing() {
    let cases = [
        (VerificationStatus::Pending, 5, 5, "attempts used up"),
        (VerificationStatus::Pending, 0, 0, "code expired"),
        (VerificationStatus::Verified, 0, 5, "already verified"),
        (VerificationStatus::Failed, 0, 5, "verification request not found"),
    ];
    for (status, attempts, minutes, expected) in cases {
        let world = World::new().with_request("123456", status, attempts, minutes);
        let refusal = verify_with(&world, "123456").await.expect_err("closed");
        assert_eq!(refusal.to_string(), expected, "{status:?}, {attempts} attempts, {minutes} min left");
        assert_eq!(world.calls(), ["verification"], "{expected}: nothing written");
    }
}

#[tokio::test]
async fn a_verify_that_lost_its_race_answers_from_what_the_request_is_now() {
    let mut world = World::new().with_request("123456", VerificationStatus::Pending, 0, 5).with_request(
        "123456",
        VerificationStatus::Verified,
        0,
        5,
    );
    world.applies = false;
    let refusal = verify_with(&world, "123456").await.expect_err("another verify won");
    assert!(matches!(refusal, VerificationRefusal::AlreadyVerified), "{refusal:?}");
    assert_eq!(world.calls(), ["verification", "mark_verified", "verification"]);
}
