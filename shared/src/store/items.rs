//! Turning items into product types and back. Every reader names the operation, so a corrupt item is reported
//! with where it was met.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::schema::{PK, SK, attr, key};
use super::{IdempotencyBinding, NewMessage, StoreError};
use crate::domain::channel::Channel;
use crate::domain::cooldown::{CooldownWindow, CountedSend};
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::language::{HumanLanguage, LanguageTag, Template};
use crate::domain::message::{MessageStatus, OriginalResponse};
use crate::domain::pricing::Credits;
use crate::domain::purse::{PURSES, Purses, Shares};
use crate::domain::subscription::{StoredState, Subscription};
use crate::domain::time_format::rfc3339_millis;

pub(super) type Item = HashMap<String, AttributeValue>;

/// The client a key belongs to, as the operators configured it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientProfile {
    /// The client's id.
    pub client_id: String,
    /// Display name.
    pub name: String,
    /// Where notifications go.
    pub email: String,
    /// Default language: for the WhatsApp template fallback and for emails.
    pub language: String,
    /// Default SMS sender id (Verify API).
    pub sms_sender: Option<String>,
    /// The client's own Verify API SMS texts by language (`en`, `ar`), with `{CODE}` and `{EXPIRATION}`; the
    /// document's templates otherwise.
    pub sms_templates: HashMap<String, String>,
    /// Whether a message WhatsApp cannot deliver to its recipient is sent again by SMS (off by default).
    pub fallback_sms: bool,
    /// The client's own fallback SMS texts by language (`en`, `ar`), with `{CODE}`; ours otherwise.
    pub fallback_sms_texts: HashMap<String, String>,
    /// The WhatsApp number messages are sent from, if one is assigned.
    pub sender: Option<WhatsAppSender>,
    /// Approved templates, by language.
    pub templates: Vec<Template>,
}

/// A WhatsApp business number assigned to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhatsAppSender {
    /// Graph API phone-number id (the path segment of a send).
    pub phone_number_id: String,
    /// The number as people see it.
    pub display_phone: String,
}

/// A message as stored (no OTP code is ever stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    /// The message id.
    pub id: String,
    /// Its client.
    pub client_id: String,
    /// The language of the request that created it (for a failure rendered later, by the sweep).
    pub language: HumanLanguage,
    /// Its current status.
    pub status: MessageStatus,
    /// Destination.
    pub to_phone: String,
    /// RFC 3339 UTC with milliseconds.
    pub created_at: String,
    /// Credits charged.
    pub cost: Credits,
    /// The sort key of the subscription that paid, if any.
    pub charged_subscription: Option<String>,
    /// The purse its credits were taken from (its refund goes back there).
    pub charged_purse: usize,
    /// WhatsApp's message id, once known.
    pub wamid: Option<String>,
    /// Graph API error code.
    pub failure_code: Option<i64>,
    /// Graph API error title.
    pub failure_title: Option<String>,
    /// Human-readable reason.
    pub failure_reason: Option<String>,
    /// When the failure was recorded.
    pub failed_at: Option<String>,
    /// What SendMessage answered for it, once known: an idempotent retry replays exactly this.
    pub replay: Option<OriginalResponse>,
    /// The channel its status is about: WhatsApp, or SMS after a fallback.
    pub channel: Channel,
    /// WhatsApp's failure that made it fall back to SMS, if it did.
    pub fallback: Option<FallbackFailure>,
    /// The language of the template it went out in, which its fallback SMS is written in (`en` or `ar`).
    pub template_language: HumanLanguage,
    /// Until when its sealed code is kept for the WhatsApp → SMS fallback (RFC 3339), when the client had the
    /// fallback on as it was sent. The code itself is a separate item, erased by then.
    pub fallback_until: Option<String>,
}

/// WhatsApp's failure that made a message fall back to SMS, kept after the SMS's own status takes over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FallbackFailure {
    /// Graph API error code.
    pub failure_code: Option<i64>,
    /// Graph API error title.
    pub failure_title: Option<String>,
    /// Human-readable reason.
    pub failure_reason: Option<String>,
    /// When the failure was recorded.
    pub failed_at: Option<String>,
}

impl MessageRecord {
    /// What it was charged, for failing and refunding it: the charge of the channel it is on now.
    pub fn charge(&self) -> super::Charge<'_> {
        super::Charge {
            client_id: &self.client_id,
            message_id: &self.id,
            to_phone: &self.to_phone,
            cost: self.cost,
            subscription: self.charged_subscription.as_deref(),
            purse: self.charged_purse,
            channel: self.channel,
        }
    }
}

pub(super) fn partition_key(item: &Item) -> Option<&str> {
    item.get(PK).and_then(|v| v.as_s().ok()).map(String::as_str)
}

pub(super) fn sort_key(item: &Item) -> Option<&str> {
    item.get(SK).and_then(|v| v.as_s().ok()).map(String::as_str)
}

pub(super) fn string(item: &Item, name: &str, op: &'static str) -> Result<String, StoreError> {
    optional_string(item, name).ok_or_else(|| StoreError::corrupt(op, format!("missing string {name}")))
}

pub(super) fn optional_string(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

pub(super) fn number<T: std::str::FromStr>(item: &Item, name: &str, op: &'static str) -> Result<T, StoreError> {
    optional_number(item, name).ok_or_else(|| StoreError::corrupt(op, format!("missing number {name}")))
}

pub(super) fn optional_number<T: std::str::FromStr>(item: &Item, name: &str) -> Option<T> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|raw| raw.parse().ok())
}

impl ClientProfile {
    pub(super) fn from_item(item: &Item, op: &'static str) -> Result<Self, StoreError> {
        let sender = match (
            optional_string(item, attr::SENDER_PHONE_NUMBER_ID),
            optional_string(item, attr::SENDER_DISPLAY_PHONE),
        ) {
            (Some(phone_number_id), Some(display_phone)) => Some(WhatsAppSender { phone_number_id, display_phone }),
            _ => None,
        };
        let templates = match item.get(attr::TEMPLATES).and_then(|v| v.as_l().ok()) {
            None => Vec::new(),
            Some(list) => list
                .iter()
                .filter_map(|entry| entry.as_m().ok())
                .filter_map(|m| {
                    let name = optional_string(m, attr::NAME)?;
                    let language = LanguageTag::parse(&optional_string(m, attr::LANGUAGE)?)?;
                    Some(Template { name, language })
                })
                .collect(),
        };
        Ok(Self {
            client_id: string(item, attr::CLIENT_ID, op)?,
            name: string(item, attr::NAME, op)?,
            email: string(item, attr::EMAIL, op)?,
            language: string(item, attr::LANGUAGE, op)?,
            sms_sender: optional_string(item, attr::SMS_SENDER),
            sms_templates: text_map(item, attr::SMS_TEMPLATES),
            fallback_sms: optional_string(item, attr::FALLBACK).as_deref() == Some("sms"),
            fallback_sms_texts: text_map(item, attr::FALLBACK_SMS_TEXTS),
            sender,
            templates,
        })
    }

    /// The profile as an item, as `lightotp-admin` writes it.
    pub fn to_item(&self) -> Item {
        let mut item = Item::from([
            (PK.to_owned(), AttributeValue::S(key::client(&self.client_id))),
            (SK.to_owned(), AttributeValue::S(key::PROFILE.to_owned())),
            (attr::CLIENT_ID.to_owned(), AttributeValue::S(self.client_id.clone())),
            (attr::NAME.to_owned(), AttributeValue::S(self.name.clone())),
            (attr::EMAIL.to_owned(), AttributeValue::S(self.email.clone())),
            (attr::LANGUAGE.to_owned(), AttributeValue::S(self.language.clone())),
            (attr::TEMPLATES.to_owned(), AttributeValue::L(self.templates.iter().map(template_value).collect())),
        ]);
        if let Some(sender) = &self.sms_sender {
            item.insert(attr::SMS_SENDER.to_owned(), AttributeValue::S(sender.clone()));
        }
        if let Some(sender) = &self.sender {
            item.insert(attr::SENDER_PHONE_NUMBER_ID.to_owned(), AttributeValue::S(sender.phone_number_id.clone()));
            item.insert(attr::SENDER_DISPLAY_PHONE.to_owned(), AttributeValue::S(sender.display_phone.clone()));
        }
        item
    }
}

/// A map of texts by language, as a profile keeps its SMS texts.
fn text_map(item: &Item, name: &str) -> HashMap<String, String> {
    item.get(name)
        .and_then(|v| v.as_m().ok())
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_s().ok()?.clone()))).collect())
        .unwrap_or_default()
}

/// A template as it is stored in a profile's list.
pub fn template_value(template: &Template) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        (attr::NAME.to_owned(), AttributeValue::S(template.name.clone())),
        (attr::LANGUAGE.to_owned(), AttributeValue::S(template.language.as_str().to_owned())),
    ]))
}

/// A subscription from its item and what the purses hold of it.
pub(super) fn subscription_from_item(
    item: &Item,
    shares: Shares,
    notified_in_purses: bool,
    op: &'static str,
) -> Result<Subscription, StoreError> {
    let stored_state = match string(item, attr::STATE, op)?.as_str() {
        "Active" => StoredState::Active,
        _ => StoredState::Expired,
    };
    Ok(Subscription {
        id: string(item, attr::SUBSCRIPTION_ID, op)?,
        sort_key: sort_key(item).map(str::to_owned).ok_or_else(|| StoreError::corrupt(op, "no sort key"))?,
        granted: number(item, attr::GRANTED, op)?,
        balance: Credits::new(shares.iter().map(|share| share.get()).sum()),
        shares,
        stored_state,
        low_balance_threshold: optional_number(item, attr::LOW_BALANCE_THRESHOLD).unwrap_or(Credits::ZERO),
        low_balance_notified: notified_in_purses || item.contains_key(attr::LOW_BALANCE_NOTIFIED_AT),
        created_at: optional_string(item, attr::CREATED_AT).unwrap_or_default(),
    })
}

pub(super) fn new_message_item(
    message: &NewMessage<'_>,
    payer: &Subscription,
    charged_purse: usize,
    key: Option<IdempotencyKey>,
) -> Item {
    let created_at = rfc3339_millis(message.created_at);
    let id = message.id.to_string();
    let mut item = Item::from([
        (PK.to_owned(), AttributeValue::S(key::client(message.client_id))),
        (SK.to_owned(), AttributeValue::S(key::message(&id))),
        (attr::MESSAGE_ID.to_owned(), AttributeValue::S(id.clone())),
        (attr::CLIENT_ID.to_owned(), AttributeValue::S(message.client_id.to_owned())),
        (attr::STATUS.to_owned(), AttributeValue::S(MessageStatus::Pending.as_str().to_owned())),
        (attr::TO_PHONE.to_owned(), AttributeValue::S(message.to.as_str().to_owned())),
        (attr::REGION.to_owned(), AttributeValue::S(message.to.region().as_str().to_owned())),
        (attr::TEMPLATE_NAME.to_owned(), AttributeValue::S(message.template.name.clone())),
        (attr::LANGUAGE.to_owned(), AttributeValue::S(message.template.language.as_str().to_owned())),
        (attr::COST.to_owned(), AttributeValue::N(message.cost.to_string())),
        (attr::CHARGED_SUBSCRIPTION.to_owned(), AttributeValue::S(payer.sort_key.clone())),
        (attr::CHARGED_PURSE.to_owned(), AttributeValue::N(charged_purse.to_string())),
        (attr::CREATED_AT.to_owned(), AttributeValue::S(created_at.clone())),
        (attr::UPDATED_AT.to_owned(), AttributeValue::S(created_at.clone())),
        (attr::PENDING_SINCE.to_owned(), AttributeValue::S(created_at)),
        (
            attr::PENDING_BUCKET.to_owned(),
            AttributeValue::S(super::schema::pending_bucket(super::schema::PENDING_BUCKET, &id)),
        ),
        (attr::HUMAN_LANGUAGE.to_owned(), AttributeValue::S(message.language.code().to_owned())),
    ]);
    if let Some(key) = key {
        item.insert(attr::IDEMPOTENCY_KEY.to_owned(), AttributeValue::S(key.to_string()));
    }
    if message.fallback_code.is_some() {
        let until = message.created_at + crate::domain::fallback::FALLBACK_WINDOW;
        item.insert(attr::FALLBACK_UNTIL.to_owned(), AttributeValue::S(rfc3339_millis(until)));
    }
    item
}

/// The item that keeps a message's sealed code for its WhatsApp → SMS fallback until the window closes: in the
/// `pending-index` bucket `FALLBACK` by that time (the sweep erases it then), and under DynamoDB's TTL as a backstop.
pub(super) fn fallback_code_item(message: &NewMessage<'_>, sealed_code: &str) -> Item {
    let until = message.created_at + crate::domain::fallback::FALLBACK_WINDOW;
    Item::from([
        (PK.to_owned(), AttributeValue::S(key::client(message.client_id))),
        (SK.to_owned(), AttributeValue::S(key::fallback_code(&message.id.to_string()))),
        (attr::MESSAGE_ID.to_owned(), AttributeValue::S(message.id.to_string())),
        (attr::SEALED_CODE.to_owned(), AttributeValue::S(sealed_code.to_owned())),
        (
            attr::PENDING_BUCKET.to_owned(),
            AttributeValue::S(super::schema::pending_bucket(
                super::schema::PENDING_FALLBACK_CODES_BUCKET,
                &message.id.to_string(),
            )),
        ),
        (attr::PENDING_SINCE.to_owned(), AttributeValue::S(rfc3339_millis(until))),
        (super::schema::TTL_ATTRIBUTE.to_owned(), AttributeValue::N(until.unix_timestamp().to_string())),
    ])
}

pub(super) fn binding_from_item(item: &Item, op: &'static str) -> Result<IdempotencyBinding, StoreError> {
    Ok(IdempotencyBinding {
        message_id: string(item, attr::MESSAGE_ID, op)?,
        fingerprint: string(item, attr::FINGERPRINT, op)?,
    })
}

pub(super) fn cooldown_from_item(item: &Item, op: &'static str) -> Result<CooldownWindow, StoreError> {
    let recent = item
        .get(attr::RECENT)
        .and_then(|v| v.as_l().ok())
        .map(|list| {
            list.iter()
                .filter_map(|entry| entry.as_m().ok())
                .map(|m| {
                    Ok(CountedSend {
                        message_id: string(m, attr::MESSAGE_ID, op)?,
                        at_millis: number(m, attr::AT, op)?,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()
        })
        .transpose()?
        .unwrap_or_default();
    Ok(CooldownWindow { streak: number(item, attr::STREAK, op)?, recent, version: number(item, attr::VERSION, op)? })
}

pub(super) fn cooldown_item(client_id: &str, phone: &str, window: &CooldownWindow) -> Item {
    let recent = window
        .recent
        .iter()
        .map(|send| {
            AttributeValue::M(HashMap::from([
                (attr::MESSAGE_ID.to_owned(), AttributeValue::S(send.message_id.clone())),
                (attr::AT.to_owned(), AttributeValue::N(send.at_millis.to_string())),
            ]))
        })
        .collect();
    let last = window.recent.last().map_or(0, |s| s.at_millis);
    Item::from([
        (PK.to_owned(), AttributeValue::S(key::client(client_id))),
        (SK.to_owned(), AttributeValue::S(key::cooldown(phone))),
        (attr::STREAK.to_owned(), AttributeValue::N(window.streak.to_string())),
        (attr::RECENT.to_owned(), AttributeValue::L(recent)),
        (attr::VERSION.to_owned(), AttributeValue::N(window.version.to_string())),
        // Nothing is left to remember 6 h after the last counted send; a day later the item may go.
        (super::schema::TTL_ATTRIBUTE.to_owned(), AttributeValue::N((last / 1000 + 30 * 3600).to_string())),
    ])
}

impl MessageRecord {
    pub(super) fn from_item(item: &Item, op: &'static str) -> Result<Self, StoreError> {
        let status = string(item, attr::STATUS, op)?;
        Ok(Self {
            id: string(item, attr::MESSAGE_ID, op)?,
            client_id: string(item, attr::CLIENT_ID, op)?,
            language: HumanLanguage::from_code(&optional_string(item, attr::HUMAN_LANGUAGE).unwrap_or_default()),
            status: MessageStatus::parse(&status).ok_or_else(|| StoreError::corrupt(op, format!("status {status}")))?,
            to_phone: string(item, attr::TO_PHONE, op)?,
            created_at: string(item, attr::CREATED_AT, op)?,
            cost: number(item, attr::COST, op)?,
            charged_subscription: optional_string(item, attr::CHARGED_SUBSCRIPTION),
            charged_purse: optional_number(item, attr::CHARGED_PURSE).unwrap_or(0),
            wamid: optional_string(item, attr::WAMID),
            failure_code: optional_number(item, attr::FAILURE_CODE),
            failure_title: optional_string(item, attr::FAILURE_TITLE),
            failure_reason: optional_string(item, attr::FAILURE_REASON),
            failed_at: optional_string(item, attr::FAILED_AT),
            replay: match (optional_number(item, attr::REPLAY_STATUS), optional_string(item, attr::REPLAY_BODY)) {
                (Some(status), Some(body)) => Some(OriginalResponse { status, body }),
                _ => None,
            },
            // No attribute: a WhatsApp message (every message before the fallback existed).
            channel: optional_string(item, attr::CHANNEL)
                .as_deref()
                .and_then(Channel::parse)
                .unwrap_or(Channel::WhatsApp),
            fallback: item.get(attr::FALLBACK_FAILURE).and_then(|v| v.as_m().ok()).map(|m| FallbackFailure {
                failure_code: optional_number(m, attr::FAILURE_CODE),
                failure_title: optional_string(m, attr::FAILURE_TITLE),
                failure_reason: optional_string(m, attr::FAILURE_REASON),
                failed_at: optional_string(m, attr::FAILED_AT),
            }),
            template_language: optional_string(item, attr::LANGUAGE)
                .and_then(|tag| LanguageTag::parse(&tag))
                .map_or(HumanLanguage::En, |tag| HumanLanguage::from_code(tag.base().as_str())),
            fallback_until: optional_string(item, attr::FALLBACK_UNTIL),
        })
    }
}

/// A client's purses from their items (absent purses hold nothing).
pub(super) fn purses_from_items(client_id: &str, found: &[Item], op: &'static str) -> Result<Purses, StoreError> {
    let mut purses = Purses::default();
    for item in found {
        let pk = partition_key(item).unwrap_or_default();
        let index = (0..PURSES)
            .find(|&i| pk == key::purse(client_id, i))
            .ok_or_else(|| StoreError::corrupt(op, format!("not one of the client's purses: {pk}")))?;
        for (name, value) in item {
            let number = || -> Result<Credits, StoreError> {
                value
                    .as_n()
                    .ok()
                    .and_then(|raw| raw.parse().ok())
                    .ok_or_else(|| StoreError::corrupt(op, format!("{name} is not a number of credits")))
            };
            if let Some(sort_key) = name.strip_prefix(attr::PURSE_CREDITS_PREFIX) {
                purses.shares.entry(sort_key.to_owned()).or_default()[index] = number()?;
            } else if let Some(sort_key) = name.strip_prefix(attr::PURSE_GRANTED_PREFIX) {
                purses.terms.entry(sort_key.to_owned()).or_default().granted = number()?;
            } else if let Some(sort_key) = name.strip_prefix(attr::PURSE_THRESHOLD_PREFIX) {
                purses.terms.entry(sort_key.to_owned()).or_default().low_balance_threshold = number()?;
            } else if let Some(sort_key) = name.strip_prefix(attr::PURSE_NOTIFIED_PREFIX) {
                purses.notified.insert(sort_key.to_owned());
            }
        }
    }
    Ok(purses)
}
