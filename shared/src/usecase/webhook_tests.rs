//! The WhatsApp webhook's branches through its ports, without the stack: the handshake, the signature, and what each
//! status update reads and writes.

use std::sync::Mutex;

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::ports::{ClientProfiles, FallbackPorts, Messages, Now, SendEmail, SendSms, Subscriptions, WebhookPorts};
use super::webhook::*;
use crate::domain::api_key::keyed_hash;
use crate::domain::channel::Channel;
use crate::domain::language::HumanLanguage;
use crate::domain::message::{MessageId, MessageStatus, OriginalResponse};
use crate::domain::notification::Email;
use crate::domain::phone::PhoneE164;
use crate::domain::pricing::Credits;
use crate::domain::subscription::Subscription;
use crate::email::EmailError;
use crate::secrets::{SecretError, SecretText};
use crate::sms_sender::SmsError;
use crate::store::{Advanced, Charge, Failure, MessageRecord, StoreError};
use crate::store::{ClientProfile, Handover, SmsHandover};

const APP_SECRET: &str = "app-secret";
const CLIENT: &str = "client-1";

/// A world the webhook talks to: the one message it knows, and a log of what it was asked.
struct World {
    now: OffsetDateTime,
    verify_token: SecretText,
    app_secret: SecretText,
    message: MessageRecord,
    calls: Mutex<Vec<String>>,
    /// How `fail_and_refund` fails, when it does: `Some(true)` passes (throttled), `Some(false)` for good.
    refund_fails: Option<bool>,
}

impl World {
    fn new() -> Self {
        Self {
            now: OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a time"),
            verify_token: SecretText::for_tests("verify-token"),
            app_secret: SecretText::for_tests(APP_SECRET),
            message: MessageRecord {
                charged_purse: 0,
                id: MessageId::new_random().to_string(),
                client_id: CLIENT.to_owned(),
                language: HumanLanguage::En,
                status: MessageStatus::Pending,
                to_phone: "+966551234567".to_owned(),
                created_at: "2027-01-15T08:00:00.000Z".to_owned(),
                cost: Credits::new(1),
                charged_subscription: Some("SUB#1#s1".to_owned()),
                wamid: Some("wamid.ours".to_owned()),
                failure_code: None,
                failure_title: None,
                failure_reason: None,
                failed_at: None,
                replay: None,
                channel: crate::domain::channel::Channel::WhatsApp,
                fallback: None,
                template_language: HumanLanguage::En,
                fallback_until: None,
            },
            calls: Mutex::new(Vec::new()),
            refund_fails: None,
        }
    }

    fn called(&self, call: String) {
        self.calls.lock().expect("calls").push(call);
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("calls").clone()
    }

    fn callback(&self) -> String {
        format!("{CLIENT}/{}", self.message.id)
    }
}

impl Now for World {
    fn now(&self) -> OffsetDateTime {
        self.now
    }
}

impl Messages for World {
    async fn message(&self, client_id: &str, id: MessageId) -> Result<Option<MessageRecord>, StoreError> {
        self.called(format!("message {client_id}"));
        Ok((client_id == CLIENT && id.to_string() == self.message.id).then(|| self.message.clone()))
    }

    async fn fail_and_refund(
        &self,
        charge: Charge<'_>,
        failure: &Failure,
        replay: Option<&OriginalResponse>,
        _: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        assert!(replay.is_none(), "a webhook never changes the client's answer");
        match self.refund_fails {
            Some(true) => {
                return Err(StoreError::Throttled { operation: "TransactWriteItems fail", cause: "throttled".into() });
            }
            Some(false) => {
                return Err(StoreError::new("TransactWriteItems fail", "ValidationException: item too large"));
            }
            None => {}
        }
        self.called(format!(
            "fail_and_refund {} {} {:?} {:?} {:?}",
            charge.message_id, charge.cost, failure.code, failure.title, failure.reason
        ));
        Ok(true)
    }
}

impl WebhookPorts for World {
    async fn verify_token(&self) -> Result<&SecretText, SecretError> {
        Ok(&self.verify_token)
    }

    async fn app_secret(&self) -> Result<&SecretText, SecretError> {
        Ok(&self.app_secret)
    }

    async fn message_by_wamid(&self, wamid: &str) -> Result<Option<MessageRecord>, StoreError> {
        self.called(format!("message_by_wamid {wamid}"));
        Ok((self.message.wamid.as_deref() == Some(wamid)).then(|| self.message.clone()))
    }

    async fn message_key_by_wamid(&self, wamid: &str) -> Result<Option<(String, String)>, StoreError> {
        self.called(format!("message_key_by_wamid {wamid}"));
        let message = &self.message;
        Ok((message.wamid.as_deref() == Some(wamid)).then(|| (message.client_id.clone(), message.id.clone())))
    }

    /// As the store's condition: ours, on WhatsApp, recording this WhatsApp id or none, and behind `to`.
    async fn advance_reported_status(
        &self,
        client_id: &str,
        message_id: &str,
        wamid: &str,
        to: MessageStatus,
        _: OffsetDateTime,
    ) -> Result<Option<Advanced>, StoreError> {
        self.called(format!("advance_reported_status {message_id} {}", to.as_str()));
        if client_id != CLIENT || message_id != self.message.id {
            return Ok(None);
        }
        let changed = self.message.channel == Channel::WhatsApp
            && self.message.wamid.as_deref().is_none_or(|ours| ours == wamid)
            && to.predecessors().contains(&self.message.status);
        Ok(Some(Advanced { changed, before: self.message.clone() }))
    }

    async fn fallback_code(&self, _: &str, message_id: &str) -> Result<Option<String>, StoreError> {
        self.called(format!("fallback_code {message_id}"));
        Ok(None)
    }

    async fn erase_fallback_code(&self, _: &str, message_id: &str) -> Result<bool, StoreError> {
        self.called(format!("erase_fallback_code {message_id}"));
        Ok(true)
    }
}

impl SendEmail for World {
    async fn send_email(&self, to: &str, _: &Email) -> Result<(), EmailError> {
        self.called(format!("send_email {to}"));
        Ok(())
    }
}

impl Subscriptions for World {
    async fn subscriptions_newest_first(&self, _: &str) -> Result<Vec<Subscription>, StoreError> {
        self.called("subscriptions".to_owned());
        Ok(Vec::new())
    }
}

impl SendSms for World {
    async fn send_sms(&self, to: &PhoneE164, _: &str, _: &str) -> Result<String, SmsError> {
        self.called(format!("send_sms {}", to.as_str()));
        Ok("sns-1".to_owned())
    }
}

impl ClientProfiles for World {
    async fn client_profile(&self, client_id: &str) -> Result<Option<ClientProfile>, StoreError> {
        self.called(format!("client_profile {client_id}"));
        Ok(None)
    }
}

impl FallbackPorts for World {
    async fn fallback_key(&self) -> Result<&SecretText, SecretError> {
        Ok(&self.app_secret)
    }

    async fn sms_price(&self, _: &str) -> Result<Option<Credits>, StoreError> {
        Ok(None)
    }

    async fn hand_over_to_sms(&self, _: &SmsHandover<'_>) -> Result<Handover, StoreError> {
        self.called("hand_over_to_sms".to_owned());
        Ok(Handover::AlreadyDecided)
    }

    async fn advance_status(
        &self,
        _: &str,
        message_id: &str,
        channel: Channel,
        to: MessageStatus,
        _: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        assert_eq!(channel, Channel::WhatsApp, "a WhatsApp status moves the WhatsApp leg only");
        self.called(format!("advance_status {message_id} {}", to.as_str()));
        Ok(true)
    }
}

/// A notification carrying `statuses`, as Meta sends it.
fn notification(statuses: Value) -> Vec<u8> {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "waba", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "statuses": statuses}}]}]})
    .to_string()
    .into_bytes()
}

fn signature(body: &[u8]) -> String {
    format!("sha256={}", hex::encode(keyed_hash(APP_SECRET.as_bytes(), body)))
}

async fn receive(world: &World, body: &[u8]) -> Result<Applied, WebhookError> {
    receive_notification(world, body, Some(&signature(body))).await
}

#[tokio::test]
async fn the_handshake_answers_the_challenge_only_to_subscribe_with_our_token() {
    let world = World::new();
    let challenge = verify_subscription(&world, Some("subscribe"), Some("verify-token"), Some("nonce")).await;
    assert_eq!(challenge.expect("the challenge"), "nonce");
    for (mode, token) in [(Some("subscribe"), Some("wrong")), (Some("unsubscribe"), Some("verify-token")), (None, None)]
    {
        let refused = verify_subscription(&world, mode, token, Some("nonce")).await;
        assert!(matches!(refused, Err(WebhookError::Forbidden)), "{mode:?} {token:?}: {refused:?}");
    }
}

#[tokio::test]
async fn an_unsigned_or_missigned_notification_is_refused_before_anything_is_read() {
    let world = World::new();
    let body = notification(json!([{"id": "wamid.ours", "status": "delivered"}]));
    let unsigned = receive_notification(&world, &body, None).await;
    assert!(matches!(unsigned, Err(WebhookError::BadSignature)), "{unsigned:?}");
    let other_body = notification(json!([]));
    let missigned = receive_notification(&world, &body, Some(&signature(&other_body))).await;
    assert!(matches!(missigned, Err(WebhookError::BadSignature)), "{missigned:?}");
    assert!(world.calls().is_empty(), "{:?}", world.calls());
}

#[tokio::test]
async fn a_signed_body_that_is_not_a_notification_is_a_bad_payload() {
    let world = World::new();
    let refused = receive(&world, b"not json").await;
    assert!(matches!(refused, Err(WebhookError::BadPayload)), "{refused:?}");
}

#[tokio::test]
async fn a_delivery_moves_our_message_forward_found_by_its_callback_data() {
    let world = World::new();
    let body = notification(
        json!([{"id": "wamid.ours", "status": "delivered", "biz_opaque_callback_data": world.callback()}]),
    );
    let applied = receive(&world, &body).await.expect("applied");
    assert_eq!(applied, Applied { received: 1, changed: 1, skipped: 0 });
    assert_eq!(
        world.calls(),
        [format!("advance_reported_status {} Delivered", world.message.id)],
        "one write, no read first"
    );
}

#[tokio::test]
async fn a_failure_fails_and_refunds_with_whatsapps_code_title_and_details() {
    let world = World::new();
    let body =
        notification(json!([{"id": "wamid.ours", "status": "failed", "biz_opaque_callback_data": world.callback(),
        "errors": [{"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
                    "error_data": {"details": "Not on WhatsApp"}}]}]));
    receive(&world, &body).await.expect("applied");
    let expected = format!(
        "fail_and_refund {} 1 Some(131026) Some(\"Message undeliverable\") Some(\"Not on WhatsApp\")",
        world.message.id
    );
    assert_eq!(world.calls().last(), Some(&expected));
}

#[tokio::test]
async fn a_status_without_callback_data_finds_the_message_by_its_whatsapp_id() {
    let world = World::new();
    let body = notification(json!([{"id": "wamid.ours", "status": "read"}]));
    let applied = receive(&world, &body).await.expect("applied");
    assert_eq!(applied, Applied { received: 1, changed: 1, skipped: 0 });
    assert_eq!(
        world.calls(),
        ["message_key_by_wamid wamid.ours".to_owned(), format!("advance_reported_status {} Read", world.message.id)]
    );
}

#[tokio::test]
async fn statuses_that_are_not_about_our_send_change_nothing() {
    let mut world = World::new();
    world.message.fallback_until = Some("2027-01-15T08:10:00.000Z".to_owned());
    let body = notification(json!([
        {"id": "wamid.other", "status": "delivered", "biz_opaque_callback_data": world.callback()},
        {"id": "wamid.unknown", "status": "delivered"},
        {"id": "wamid.ours", "status": "deleted", "biz_opaque_callback_data": world.callback()},
        {"id": "wamid.ours", "status": "delivered", "biz_opaque_callback_data": format!("another-client/{}", world.message.id)},
    ]));
    let applied = receive(&world, &body).await.expect("acknowledged");
    assert_eq!(applied, Applied { received: 4, changed: 0, skipped: 0 });
    assert!(
        world.calls().iter().all(|call| call.starts_with("message") || call.starts_with("advance_reported_status")),
        "no code erased, nothing refunded: {:?}",
        world.calls()
    );
}

#[tokio::test]
async fn a_signed_body_that_is_json_but_not_an_object_is_a_bad_payload() {
    let world = World::new();
    for body in [&b"[]"[..], b"\"x\"", b"42", b"null"] {
        let refused = receive(&world, body).await;
        assert!(matches!(refused, Err(WebhookError::BadPayload)), "{:?}: {refused:?}", String::from_utf8_lossy(body));
    }
    assert!(world.calls().is_empty());
}

#[tokio::test]
async fn a_status_that_cannot_be_read_is_skipped_and_the_others_are_applied() {
    let world = World::new();
    let body = notification(json!([
        {"status": "delivered"},
        {"id": 42, "status": "delivered"},
        {"id": "wamid.ours", "status": "failed", "biz_opaque_callback_data": world.callback(),
         "errors": [{"code": "not a number", "title": 7, "error_data": {"details": "x".repeat(450 * 1024)}}]},
        {"id": "wamid.ours", "status": "read", "biz_opaque_callback_data": world.callback()},
    ]));
    let applied = receive(&world, &body).await.expect("applied");
    assert_eq!(applied, Applied { received: 4, changed: 2, skipped: 2 });
    let refund = world.calls().into_iter().find(|c| c.starts_with("fail_and_refund")).expect("the failure applied");
    assert!(refund.contains(" None None Some(\""), "a code or title of another type is none: {}", &refund[..80]);
    assert!(refund.chars().count() < 1_200, "the details are bounded: {} characters", refund.chars().count());
    assert!(world.calls().iter().any(|c| c.ends_with(" Read")), "{:?}", world.calls());
}

#[tokio::test]
async fn a_status_whose_write_fails_for_good_is_skipped_and_one_that_passes_makes_meta_deliver_again() {
    let batch = |world: &World| {
        notification(json!([
            {"id": "wamid.ours", "status": "failed", "biz_opaque_callback_data": world.callback(),
             "errors": [{"code": 131026, "title": "Message undeliverable"}]},
            {"id": "wamid.ours", "status": "delivered", "biz_opaque_callback_data": world.callback()},
        ]))
    };
    let for_good = World { refund_fails: Some(false), ..World::new() };
    let applied = receive(&for_good, &batch(&for_good)).await.expect("acknowledged");
    assert_eq!(applied, Applied { received: 2, changed: 1, skipped: 1 }, "the delivery beside it is applied");

    let passing = World { refund_fails: Some(true), ..World::new() };
    let again = receive(&passing, &batch(&passing)).await;
    assert!(matches!(again, Err(WebhookError::Store(_))), "Meta must deliver again: {again:?}");
    assert!(passing.calls().iter().any(|c| c.ends_with(" Delivered")), "the others were applied first");
}

#[tokio::test]
async fn after_a_fallback_whatsapps_statuses_change_nothing() {
    let mut world = World::new();
    world.message.channel = Channel::Sms;
    world.message.fallback_until = Some("2027-01-15T08:10:00.000Z".to_owned());
    let body = notification(json!([
        {"id": "wamid.ours", "status": "failed", "biz_opaque_callback_data": world.callback(),
         "errors": [{"code": 131026, "title": "Message undeliverable"}]},
        {"id": "wamid.ours", "status": "delivered", "biz_opaque_callback_data": world.callback()},
    ]));
    let applied = receive(&world, &body).await.expect("acknowledged");
    assert_eq!(applied, Applied { received: 2, changed: 0, skipped: 0 });
    assert!(
        world.calls().iter().all(|call| call.starts_with("message") || call.starts_with("advance_reported_status")),
        "no code erased, nothing refunded: {:?}",
        world.calls()
    );
}

#[tokio::test]
async fn a_delivery_erases_the_code_kept_for_the_fallback() {
    let mut world = World::new();
    world.message.fallback_until = Some("2027-01-15T08:10:00.000Z".to_owned());
    let body = notification(
        json!([{"id": "wamid.ours", "status": "delivered", "biz_opaque_callback_data": world.callback()}]),
    );
    receive(&world, &body).await.expect("applied");
    assert_eq!(
        world.calls(),
        [
            format!("advance_reported_status {} Delivered", world.message.id),
            format!("erase_fallback_code {}", world.message.id)
        ]
    );
}

#[tokio::test]
async fn a_repeated_delivery_still_erases_the_code_an_earlier_erase_failed_to() {
    let mut world = World::new();
    world.message.status = MessageStatus::Delivered;
    world.message.fallback_until = Some("2027-01-15T08:10:00.000Z".to_owned());
    let body = notification(
        json!([{"id": "wamid.ours", "status": "delivered", "biz_opaque_callback_data": world.callback()}]),
    );
    let applied = receive(&world, &body).await.expect("applied");
    assert_eq!(applied, Applied { received: 1, changed: 0, skipped: 0 });
    assert_eq!(world.calls().last(), Some(&format!("erase_fallback_code {}", world.message.id)));
}

#[tokio::test]
async fn a_failure_after_the_window_fails_and_refunds_without_reading_the_code() {
    let mut world = World::new();
    world.message.fallback_until = Some("2027-01-15T08:10:00.000Z".to_owned());
    world.now = world.now + time::Duration::minutes(10) + time::Duration::milliseconds(1);
    let body =
        notification(json!([{"id": "wamid.ours", "status": "failed", "biz_opaque_callback_data": world.callback(),
        "errors": [{"code": 131026, "title": "Message undeliverable"}]}]));
    receive(&world, &body).await.expect("applied");
    assert!(!world.calls().iter().any(|c| c.starts_with("fallback_code")), "{:?}", world.calls());
    assert!(world.calls().last().is_some_and(|c| c.starts_with("fail_and_refund")), "{:?}", world.calls());
}
