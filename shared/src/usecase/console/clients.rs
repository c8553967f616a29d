//! What a client's pages show, and what operators do to a client (docs/dashboard.md, "Operators"): assign the
//! WhatsApp sender, add template languages, top up the Verify API wallet, set country prices, set the WhatsApp →
//! SMS fallback (which the client may set too). Every such action is recorded in the client's audit trail (who,
//! what, when), in the same transaction as the change.

use time::OffsetDateTime;

use super::api_keys::{KeyView, list_keys};
use super::{Console, ConsoleError, stamp};
use crate::domain::fallback::FallbackSettings;
use crate::domain::language::{LanguageTag, Template};
use crate::domain::phone::Region;
use crate::domain::pricing::Credits;
use crate::domain::subscription::Subscription;
use crate::store::{AuditEntry, ClientProfile, OrderRecord, PriceEntry};

/// Everything a client's overview (or an operator's page of that client) shows.
#[derive(Debug, Clone)]
pub struct ClientSummary {
    /// The profile.
    pub profile: ClientProfile,
    /// Subscriptions, newest first.
    pub subscriptions: Vec<Subscription>,
    /// Orders, newest first.
    pub orders: Vec<OrderRecord>,
    /// The Verify API wallet.
    pub wallet: Credits,
}

/// An operator's view of a client: the summary, its keys (metadata only) and the audit trail.
#[derive(Debug, Clone)]
pub struct ClientFile {
    /// Profile, subscriptions, orders, wallet.
    pub summary: ClientSummary,
    /// Keys, without secrets.
    pub keys: Vec<KeyView>,
    /// Operators' actions, newest first.
    pub audit: Vec<AuditEntry>,
}

/// The client's summary; `None` when there is no such client.
pub async fn summary(console: &Console, client_id: &str) -> Result<Option<ClientSummary>, ConsoleError> {
    if uuid::Uuid::parse_str(client_id).is_err() {
        return Ok(None);
    }
    let Some(profile) = console.store.client_profile(client_id).await? else {
        return Ok(None);
    };
    let (subscriptions, orders, wallet) = tokio::try_join!(
        console.store.subscriptions_newest_first(client_id),
        console.store.orders_newest_first(client_id),
        console.store.wallet_balance(client_id),
    )?;
    Ok(Some(ClientSummary { profile, subscriptions, orders, wallet }))
}

/// The client's profile alone; `None` when there is no such client.
pub async fn profile(console: &Console, client_id: &str) -> Result<Option<ClientProfile>, ConsoleError> {
    if uuid::Uuid::parse_str(client_id).is_err() {
        return Ok(None);
    }
    Ok(console.store.client_profile(client_id).await?)
}

/// The operator's page of a client.
pub async fn client_file(
    console: &Console,
    client_id: &str,
    now: OffsetDateTime,
) -> Result<Option<ClientFile>, ConsoleError> {
    let Some(summary) = summary(console, client_id).await? else {
        return Ok(None);
    };
    let keys = list_keys(console, client_id, now).await?;
    let audit = console.store.audit_trail(client_id).await?;
    Ok(Some(ClientFile { summary, keys, audit }))
}

/// Clients whose name or email contains `needle` (all when it is empty).
pub async fn search(console: &Console, needle: &str) -> Result<Vec<ClientProfile>, ConsoleError> {
    Ok(console.store.search_clients(needle).await?)
}

/// Why an operator's action on a client was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientActionRefusal {
    /// No such client.
    UnknownClient,
    /// The template language is not a tag such as `en` or `en_US`.
    BadLanguage,
    /// The country is not an ISO 3166-1 alpha-2 code.
    BadCountry,
    /// The wallet would go beyond the most a balance may hold.
    TooManyCredits,
}

fn entry(operator: &str, action: &str, detail: String, now: OffsetDateTime) -> AuditEntry {
    AuditEntry { at: stamp(now), operator: operator.to_owned(), action: action.to_owned(), detail }
}

async fn known(console: &Console, client_id: &str) -> Result<bool, ConsoleError> {
    Ok(uuid::Uuid::parse_str(client_id).is_ok() && console.store.client_profile(client_id).await?.is_some())
}

/// Assigns the client's WhatsApp sender number.
pub async fn assign_sender(
    console: &Console,
    operator: &str,
    client_id: &str,
    phone_number_id: &str,
    display_phone: &str,
    now: OffsetDateTime,
) -> Result<Result<(), ClientActionRefusal>, ConsoleError> {
    if !known(console, client_id).await? {
        return Ok(Err(ClientActionRefusal::UnknownClient));
    }
    let audit = entry(operator, "sender assigned", format!("{display_phone} (phone number id {phone_number_id})"), now);
    console.store.assign_sender(client_id, phone_number_id, display_phone, &audit, now).await?;
    Ok(Ok(()))
}

/// Adds an approved WhatsApp template in one language.
pub async fn add_template(
    console: &Console,
    operator: &str,
    client_id: &str,
    name: &str,
    language: &str,
    now: OffsetDateTime,
) -> Result<Result<(), ClientActionRefusal>, ConsoleError> {
    let Some(language) = LanguageTag::parse(language) else {
        return Ok(Err(ClientActionRefusal::BadLanguage));
    };
    if !known(console, client_id).await? {
        return Ok(Err(ClientActionRefusal::UnknownClient));
    }
    let template = Template { name: name.to_owned(), language };
    let audit = entry(operator, "template added", format!("{} ({})", template.name, template.language.as_str()), now);
    console.store.add_template(client_id, &template, &audit, now).await?;
    Ok(Ok(()))
}

/// Adds credits to the client's Verify API wallet; answers the new balance.
pub async fn top_up_wallet(
    console: &Console,
    operator: &str,
    client_id: &str,
    credits: Credits,
    now: OffsetDateTime,
) -> Result<Result<Credits, ClientActionRefusal>, ConsoleError> {
    if !known(console, client_id).await? {
        return Ok(Err(ClientActionRefusal::UnknownClient));
    }
    let audit = entry(operator, "wallet topped up", format!("+{credits} credits"), now);
    let Some(balance) = console.store.top_up_wallet(client_id, credits, &audit, now).await? else {
        return Ok(Err(ClientActionRefusal::TooManyCredits));
    };
    Ok(Ok(balance))
}

/// Grants a subscription of `credits` (the operator CLI's `subscription grant`); answers its id.
pub async fn grant_subscription(
    console: &Console,
    operator: &str,
    client_id: &str,
    credits: Credits,
    low_balance_percent: u8,
    now: OffsetDateTime,
) -> Result<Result<String, ClientActionRefusal>, ConsoleError> {
    if !known(console, client_id).await? {
        return Ok(Err(ClientActionRefusal::UnknownClient));
    }
    let subscription_id = uuid::Uuid::new_v4().to_string();
    let audit =
        entry(operator, "subscription granted", format!("{credits} credits, subscription {subscription_id}"), now);
    console.store.grant_subscription(client_id, &subscription_id, credits, low_balance_percent, &audit, now).await?;
    Ok(Ok(subscription_id))
}

/// The pricing table.
pub async fn prices(console: &Console) -> Result<Vec<PriceEntry>, ConsoleError> {
    Ok(console.store.prices().await?)
}

/// Sets a country's price in a channel's table: per WhatsApp message, or per SMS part.
pub async fn set_price(
    console: &Console,
    country: &str,
    channel: crate::domain::channel::Channel,
    credits: Credits,
) -> Result<Result<PriceEntry, ClientActionRefusal>, ConsoleError> {
    let Some(region) = Region::parse(country) else {
        return Ok(Err(ClientActionRefusal::BadCountry));
    };
    let price = PriceEntry { region: region.as_str().to_owned(), credits, channel };
    console.store.set_price(&price).await?;
    Ok(Ok(price))
}

/// Saves the client's WhatsApp → SMS fallback settings, by an operator or by one of the client's own users (`who`,
/// their email, is recorded either way).
pub async fn save_fallback(
    console: &Console,
    who: &str,
    client_id: &str,
    settings: &FallbackSettings,
    now: OffsetDateTime,
) -> Result<Result<(), ClientActionRefusal>, ConsoleError> {
    if !known(console, client_id).await? {
        return Ok(Err(ClientActionRefusal::UnknownClient));
    }
    let action = if settings.on { "SMS fallback on" } else { "SMS fallback off" };
    let languages: Vec<&str> = settings.texts.iter().map(|(language, _)| language.code()).collect();
    let detail =
        if languages.is_empty() { "our texts".to_owned() } else { format!("own texts: {}", languages.join(", ")) };
    console.store.save_fallback_settings(client_id, settings, &entry(who, action, detail, now), now).await?;
    Ok(Ok(()))
}
