//! Operator actions, against real AWS or (with `AWS_ENDPOINT_URL`) the local emulator.

use lightotp::domain::phone::Region;
use lightotp::domain::pricing::Credits;
use lightotp::domain::rate_limit::{self, RaisedRange};
use lightotp::domain::subscription::Subscription;
use lightotp::store::{AuditEntry, ClientProfile, DynamoStore, StoreError};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use std::sync::Arc;

use lightotp::domain::account::{EmailAddress, Password, optional_text};
use lightotp::domain::console::{MAX_CREDITS, PlanDraft, REASON_CHARS};
use lightotp::email::Mailer;
use lightotp::secrets::LazySecret;
use lightotp::store::PlanRecord;
use lightotp::store::PriceEntry;
use lightotp::usecase::console::clients::{self, ClientActionRefusal};
use lightotp::usecase::console::orders::{self, OrderRefusal, QueuedOrder};
use lightotp::usecase::console::{Console, ConsoleError, accounts, api_keys};

/// The table `template.yaml` declares.
pub const DEFAULT_TABLE: &str = "lightotp";
/// The pepper secret `template.yaml` declares.
pub const DEFAULT_PEPPER_SECRET: &str = "lightotp/pepper";
/// The WhatsApp token secret `template.yaml` declares.
pub const DEFAULT_WHATSAPP_TOKEN_SECRET: &str = "lightotp/whatsapp-token";
/// The webhook-signing app secret `template.yaml` declares.
pub const DEFAULT_WHATSAPP_APP_SECRET: &str = "lightotp/whatsapp-app-secret";
/// The webhook verify token secret `template.yaml` declares.
pub const DEFAULT_WHATSAPP_VERIFY_TOKEN: &str = "lightotp/whatsapp-verify-token";
/// The fallback key secret `template.yaml` declares (it seals codes kept for the WhatsApp → SMS fallback).
pub const DEFAULT_FALLBACK_KEY: &str = "lightotp/fallback-key";
/// The name of a key made by `key create` without `--name`.
pub const DEFAULT_KEY_NAME: &str = "Created by lightotp-admin";
/// Where per-key verifier secrets live.
pub const DEFAULT_API_KEY_PREFIX: &str = "lightotp/api-keys/";
/// The low-balance threshold when none is given: 10 % of the credits granted (docs/api.md, Billing).
pub const DEFAULT_LOW_BALANCE_PERCENT: u8 = lightotp::usecase::console::orders::DEFAULT_LOW_BALANCE_PERCENT;
/// The dashboard's URL when `DASHBOARD_URL` is not set: the local stack's (emailed links point under it).
pub const DEFAULT_DASHBOARD_URL: &str = "http://127.0.0.1:3000/dashboard";
/// The address emails come from when `EMAIL_FROM` is not set (`template.yaml`'s default).
pub const DEFAULT_EMAIL_FROM: &str = "notifications@lightotp.example";

/// What an operator action failed on.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Bad input from the operator.
    #[error("{0}")]
    Invalid(String),
    /// The referenced client, key or subscription does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Secrets Manager failed.
    #[error("Secrets Manager: {0}")]
    Secrets(String),
    /// The OS random generator failed.
    #[error("random generator: {0}")]
    Random(String),
    /// A console use case failed on our side.
    #[error(transparent)]
    Console(#[from] ConsoleError),
}

/// What the operator tooling talks to.
#[derive(Debug, Clone)]
pub struct Admin {
    /// The table.
    pub store: DynamoStore,
    /// Secrets Manager.
    pub secrets: aws_sdk_secretsmanager::Client,
    /// The pepper's secret id.
    pub pepper_secret: String,
    /// The verifier secrets' name prefix.
    pub api_key_prefix: String,
    /// The dashboard's use cases, which the CLI shares.
    pub console: Console,
}

/// `client create`'s answer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CreatedClient {
    /// The new client's id.
    pub client_id: String,
}

pub use lightotp::usecase::console::api_keys::CreatedKey;

/// `subscription grant`'s answer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GrantedSubscription {
    /// The new subscription's id.
    pub subscription_id: String,
}

/// A subscription as the operator sees it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionView {
    /// Its id.
    pub subscription_id: String,
    /// Credits granted.
    pub granted: Credits,
    /// Credits left.
    pub balance: Credits,
    /// `Active` or `Expired` (exhausted or ended).
    pub state: &'static str,
}

impl From<&Subscription> for SubscriptionView {
    fn from(s: &Subscription) -> Self {
        Self {
            subscription_id: s.id.clone(),
            granted: s.granted,
            balance: s.balance,
            state: s.effective_state().as_str(),
        }
    }
}

/// `seed-demo`'s answer (the `demo` object of `.lightotp/stack.json`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Demo {
    /// The demo client.
    pub client_id: String,
    /// A key of the demo client.
    pub api_key: String,
    /// A number to send to.
    pub phone_e164: String,
    /// The seeded dashboard sign-ins.
    pub dashboard: DemoSignIns,
}

/// The demo client's address and dashboard sign-in.
pub const DEMO_EMAIL: &str = "demo@example.com";
/// The seeded operator's address.
pub const OPERATOR_EMAIL: &str = "operator@example.com";

/// An email and a password, as `.lightotp/stack.json` lists the seeded sign-ins.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SignIn {
    /// The address.
    pub email: String,
    /// The password.
    pub password: String,
}

/// The seeded dashboard sign-ins.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DemoSignIns {
    /// The operator.
    pub operator: SignIn,
    /// The demo client's user.
    pub demo: SignIn,
}

/// `operator create`'s answer: the password only when the CLI made it (shown once).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CreatedOperator {
    /// The operator's address.
    pub email: String,
    /// The one-time password the CLI generated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// A plan as the CLI prints it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PlanView {
    /// Its id.
    pub plan_id: String,
    /// Its name.
    pub name: String,
    /// Credits an activation grants.
    pub credits: Credits,
    /// The price as shown.
    pub price: String,
    /// Offered to clients.
    pub active: bool,
}

impl From<&PlanRecord> for PlanView {
    fn from(plan: &PlanRecord) -> Self {
        Self {
            plan_id: plan.plan_id.clone(),
            name: plan.plan.name.clone(),
            credits: plan.plan.credits,
            price: plan.plan.price_label.clone(),
            active: plan.active,
        }
    }
}

/// A pending order as the CLI prints it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    /// Its id.
    pub order_id: String,
    /// Whose.
    pub client_id: String,
    /// The client's name.
    pub client_name: String,
    /// The plan ordered.
    pub plan: String,
    /// Its credits.
    pub credits: Credits,
    /// The client's notes.
    pub notes: Option<String>,
    /// Placed at.
    pub created_at: String,
}

impl From<&QueuedOrder> for OrderView {
    fn from(queued: &QueuedOrder) -> Self {
        Self {
            order_id: queued.order.order_id.clone(),
            client_id: queued.order.client_id.clone(),
            client_name: queued.client_name.clone(),
            plan: queued.order.plan_name.clone(),
            credits: queued.order.credits,
            notes: queued.order.notes.clone(),
            created_at: queued.order.created_at.clone(),
        }
    }
}

/// Credits one grant or top-up may carry: 1 to `MAX_CREDITS`, as the dashboard's forms (a balance stays far from
/// any overflow).
fn check_credits(credits: Credits) -> Result<(), AdminError> {
    if (1..=MAX_CREDITS).contains(&credits.get()) {
        Ok(())
    } else {
        Err(AdminError::Invalid(format!("credits must be 1 to {MAX_CREDITS}")))
    }
}

/// A CIDR range, or one address as its own range (`/32`, `/128`), in its canonical form (host bits cleared).
fn parse_range(raw: &str) -> Result<ipnet::IpNet, AdminError> {
    let raw = raw.trim();
    raw.parse::<ipnet::IpNet>()
        .or_else(|_| raw.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map(|range| range.trunc())
        .map_err(|_| AdminError::Invalid(format!("{raw:?} is not an address or a CIDR range such as 203.0.113.0/24")))
}

/// A raised per-IP limit, as the CLI prints it.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RaisedRangeView {
    /// The addresses.
    pub range: String,
    /// Requests a minute per address.
    pub per_minute: u32,
    /// Whose addresses.
    pub client_id: String,
}

impl From<&RaisedRange> for RaisedRangeView {
    fn from(raised: &RaisedRange) -> Self {
        Self { range: raised.range.to_string(), per_minute: raised.per_minute, client_id: raised.client_id.clone() }
    }
}

/// Who acts, for the client's audit trail: `LIGHTOTP_OPERATOR`, else `lightotp-admin`.
fn operator() -> String {
    std::env::var("LIGHTOTP_OPERATOR").ok().filter(|v| !v.is_empty()).unwrap_or_else(|| "lightotp-admin".to_owned())
}

fn client_refusal(refusal: ClientActionRefusal, client_id: &str) -> AdminError {
    match refusal {
        ClientActionRefusal::UnknownClient => AdminError::NotFound(format!("client {client_id}")),
        ClientActionRefusal::BadLanguage => AdminError::Invalid("not a language tag such as en or en_US".to_owned()),
        ClientActionRefusal::BadCountry => AdminError::Invalid("not an ISO 3166-1 alpha-2 code".to_owned()),
        ClientActionRefusal::TooManyCredits => {
            AdminError::Invalid(format!("the wallet would hold more than {} credits", Credits::MAX_BALANCE))
        }
    }
}

fn order_refusal(refusal: OrderRefusal, order_id: &str) -> AdminError {
    match refusal {
        OrderRefusal::NotPending => AdminError::Invalid(format!("order {order_id} is not pending")),
        OrderRefusal::UnknownOrder | OrderRefusal::UnknownPlan => AdminError::NotFound(format!("order {order_id}")),
    }
}

/// Random bytes from the OS CSPRNG, hex encoded.
pub fn random_hex(bytes: usize) -> Result<String, AdminError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| AdminError::Random(e.to_string()))?;
    Ok(hex::encode(buf))
}

impl Admin {
    /// Connects with the standard AWS configuration (honours `AWS_ENDPOINT_URL`).
    /// Emails go from `EMAIL_FROM` and their links point under `DASHBOARD_URL`; new orders are announced to
    /// `OPERATORS_EMAIL` (all optional: the local stack's values by default).
    pub fn new(aws: &aws_config::SdkConfig, table: &str, pepper_secret: &str, api_key_prefix: &str) -> Self {
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(aws), table);
        let secrets = aws_sdk_secretsmanager::Client::new(aws);
        let env = |name: &str, default: &str| {
            std::env::var(name).ok().filter(|v| !v.is_empty()).unwrap_or(default.to_owned())
        };
        let console = Console {
            store: store.clone(),
            secrets: secrets.clone(),
            api_key_prefix: api_key_prefix.to_owned(),
            pepper: Arc::new(LazySecret::new(secrets.clone(), pepper_secret)),
            mailer: Mailer::new(aws_sdk_sesv2::Client::new(aws), env("EMAIL_FROM", DEFAULT_EMAIL_FROM)),
            dashboard_url: env("DASHBOARD_URL", DEFAULT_DASHBOARD_URL).trim_end_matches('/').to_owned(),
            operators_email: std::env::var("OPERATORS_EMAIL").ok().filter(|v| !v.is_empty()),
            // As the functions read it: the local stack sets WEBHOOK_ALLOW_LOOPBACK=1.
            webhook_policy: if std::env::var("WEBHOOK_ALLOW_LOOPBACK").as_deref() == Ok("1") {
                lightotp::domain::client_webhook::AddressPolicy::AllowLoopback
            } else {
                lightotp::domain::client_webhook::AddressPolicy::PublicOnly
            },
        };
        Self {
            store,
            secrets,
            pepper_secret: pepper_secret.to_owned(),
            api_key_prefix: api_key_prefix.to_owned(),
            console,
        }
    }

    /// The same operator tooling, with endpoints allowed where `policy` allows them (tests on the local stack,
    /// whose receivers listen on loopback).
    pub fn with_webhook_policy(mut self, policy: lightotp::domain::client_webhook::AddressPolicy) -> Self {
        self.console.webhook_policy = policy;
        self
    }

    pub(crate) async fn existing_client(&self, client_id: &str) -> Result<ClientProfile, AdminError> {
        self.store.client_profile(client_id).await?.ok_or_else(|| AdminError::NotFound(format!("client {client_id}")))
    }

    /// Creates a client with its default language (`en` or `ar`) and optional SMS sender id.
    pub async fn create_client(
        &self,
        name: &str,
        email: &str,
        language: &str,
        sms_sender: Option<&str>,
    ) -> Result<CreatedClient, AdminError> {
        if !matches!(language, "en" | "ar") {
            return Err(AdminError::Invalid(format!("language must be en or ar, not {language:?}")));
        }
        if let Some(sender) = sms_sender
            && !lightotp::domain::verification::is_sender_id(sender)
        {
            return Err(AdminError::Invalid("the SMS sender id must be 1 to 11 letters or digits".to_owned()));
        }
        let client_id = Uuid::new_v4().to_string();
        let profile = ClientProfile {
            client_id: client_id.clone(),
            name: name.to_owned(),
            email: email.to_owned(),
            language: language.to_owned(),
            sms_sender: sms_sender.map(str::to_owned),
            sms_templates: std::collections::HashMap::new(),
            fallback_sms: false,
            fallback_sms_texts: std::collections::HashMap::new(),
            sender: None,
            templates: Vec::new(),
        };
        self.store.create_client(&profile).await?;
        Ok(CreatedClient { client_id })
    }

    /// Assigns the client's WhatsApp sender.
    pub async fn assign_sender(
        &self,
        client_id: &str,
        phone_number_id: &str,
        display_phone: &str,
    ) -> Result<(), AdminError> {
        let now = OffsetDateTime::now_utc();
        clients::assign_sender(&self.console, &operator(), client_id, phone_number_id, display_phone, now)
            .await?
            .map_err(|refusal| client_refusal(refusal, client_id))
    }

    /// Adds an approved template in a language (`en`, `en_US`, `ar`, …).
    pub async fn add_template(&self, client_id: &str, name: &str, language: &str) -> Result<(), AdminError> {
        let now = OffsetDateTime::now_utc();
        clients::add_template(&self.console, &operator(), client_id, name, language, now).await?.map_err(|refusal| {
            match refusal {
                ClientActionRefusal::BadLanguage => {
                    AdminError::Invalid(format!("{language:?} is not a language tag such as en or en_US"))
                }
                other => client_refusal(other, client_id),
            }
        })
    }

    /// Issues a key for a client, named `name`, exactly as the dashboard's `Create key` does
    /// (`usecase::console::api_keys`): the verifier goes to Secrets Manager, the metadata to the table, and the key
    /// itself only to the caller.
    pub async fn create_named_key(
        &self,
        client_id: &str,
        name: &str,
        expires_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<CreatedKey, AdminError> {
        let name = lightotp::domain::console::key_name(name)
            .map_err(|e| AdminError::Invalid(format!("the key name: {e} (1 to 60 characters)")))?;
        if expires_at.is_some_and(|at| at <= now) {
            return Err(AdminError::Invalid("--expires must be in the future".to_owned()));
        }
        self.existing_client(client_id).await?;
        Ok(api_keys::create_key(&self.console, client_id, &name, expires_at, now).await?)
    }

    /// [`Admin::create_named_key`] with the name the CLI gives when none is given.
    pub async fn create_key(
        &self,
        client_id: &str,
        expires_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<CreatedKey, AdminError> {
        self.create_named_key(client_id, DEFAULT_KEY_NAME, expires_at, now).await
    }

    /// Revokes a key: its verifier is deleted at once, so every function stops accepting it when its cache entry
    /// ages out (at most 60 s).
    pub async fn revoke_key(&self, key_id: &str, now: OffsetDateTime) -> Result<(), AdminError> {
        api_keys::revoke_key_by_id(&self.console, key_id, now)
            .await?
            .map_err(|api_keys::NoSuchKey| AdminError::NotFound(format!("key {key_id}")))
    }

    /// Grants a subscription of `credits`, active at once.
    pub async fn grant_subscription(
        &self,
        client_id: &str,
        credits: Credits,
        low_balance_percent: u8,
        now: OffsetDateTime,
    ) -> Result<GrantedSubscription, AdminError> {
        check_credits(credits)?;
        if low_balance_percent > 100 {
            return Err(AdminError::Invalid("low-balance percent must be 0 to 100".to_owned()));
        }
        let subscription_id =
            clients::grant_subscription(&self.console, &operator(), client_id, credits, low_balance_percent, now)
                .await?
                .map_err(|refusal| client_refusal(refusal, client_id))?;
        Ok(GrantedSubscription { subscription_id })
    }

    /// The client's subscriptions, newest first.
    pub async fn subscriptions(&self, client_id: &str) -> Result<Vec<SubscriptionView>, AdminError> {
        self.existing_client(client_id).await?;
        Ok(self.store.subscriptions_newest_first(client_id).await?.iter().map(SubscriptionView::from).collect())
    }

    /// Raises the per-IP limit of a client's addresses to `per_minute` requests a minute each (docs/operations.md,
    /// "Raising the per-IP limit"): `range` is a CIDR range or one address. Replaces an earlier raise of the same
    /// range; audited in the client's trail. Takes effect everywhere within a minute.
    pub async fn raise_rate_limit(
        &self,
        client_id: &str,
        range: &str,
        per_minute: u32,
        now: OffsetDateTime,
    ) -> Result<RaisedRangeView, AdminError> {
        let range = parse_range(range)?;
        let most = rate_limit::PER_COUNTER * rate_limit::MAX_COUNTERS;
        if !(1..=most).contains(&per_minute) {
            return Err(AdminError::Invalid(format!("--per-minute must be 1 to {most}")));
        }
        self.existing_client(client_id).await?;
        let raised = RaisedRange { range, per_minute, client_id: client_id.to_owned() };
        let audit = AuditEntry {
            at: lightotp::domain::time_format::rfc3339_millis(now),
            operator: operator(),
            action: "per-IP limit raised".to_owned(),
            detail: format!("{range}: {per_minute} requests a minute per address"),
        };
        self.store.raise_rate_limit(&raised, &audit).await?;
        Ok(RaisedRangeView::from(&raised))
    }

    /// Every raised per-IP limit.
    pub async fn raised_rate_limits(&self) -> Result<Vec<RaisedRangeView>, AdminError> {
        Ok(self.store.raised_ranges().await?.iter().map(RaisedRangeView::from).collect())
    }

    /// Removes the raise of `range`: its addresses get the default limit again, within a minute.
    pub async fn lower_rate_limit(&self, range: &str) -> Result<(), AdminError> {
        let range = parse_range(range)?;
        if self.store.remove_raised_range(&range).await? {
            Ok(())
        } else {
            Err(AdminError::NotFound(format!("raised range {range}")))
        }
    }

    /// Adds credits to the client's wallet (the Verify API's `wallet` payment type); returns the new balance.
    pub async fn top_up_wallet(&self, client_id: &str, credits: Credits) -> Result<Credits, AdminError> {
        check_credits(credits)?;
        clients::top_up_wallet(&self.console, &operator(), client_id, credits, OffsetDateTime::now_utc())
            .await?
            .map_err(|refusal| client_refusal(refusal, client_id))
    }

    /// Sets the client's Verify API SMS text for `en` or `ar`; it must carry `{CODE}` (and may carry
    /// `{EXPIRATION}`).
    pub async fn set_sms_template(&self, client_id: &str, language: &str, text: &str) -> Result<(), AdminError> {
        Self::check_sms_text(language, text)?;
        self.existing_client(client_id).await?;
        Ok(self.store.set_sms_template(client_id, language, text).await?)
    }

    /// Sets the client's WhatsApp → SMS fallback text for `language` (`en` or `ar`, `{CODE}` in it).
    pub async fn set_fallback_sms_text(&self, client_id: &str, language: &str, text: &str) -> Result<(), AdminError> {
        Self::check_sms_text(language, text)?;
        self.existing_client(client_id).await?;
        Ok(self.store.set_fallback_sms_text(client_id, language, text).await?)
    }

    fn check_sms_text(language: &str, text: &str) -> Result<(), AdminError> {
        if !matches!(language, "en" | "ar") {
            return Err(AdminError::Invalid(format!("language must be en or ar, not {language:?}")));
        }
        if !text.contains("{CODE}") {
            return Err(AdminError::Invalid("the text must contain {CODE}".to_owned()));
        }
        Ok(())
    }

    /// Turns the client's WhatsApp → SMS fallback on (`sms`) or off (`off`).
    pub async fn set_fallback(&self, client_id: &str, fallback: &str) -> Result<bool, AdminError> {
        let on = match fallback.trim() {
            "sms" => true,
            "off" => false,
            other => return Err(AdminError::Invalid(format!("--fallback must be sms or off, not {other:?}"))),
        };
        self.existing_client(client_id).await?;
        self.store.set_fallback(client_id, on).await?;
        Ok(on)
    }

    /// Sets a country's price in credits (at least 1).
    pub async fn set_price(&self, country: &str, credits: Credits) -> Result<PriceEntry, AdminError> {
        self.set_channel_price(country, lightotp::domain::channel::Channel::WhatsApp, credits).await
    }

    /// Sets the credits a WhatsApp message, or an SMS part, to a country costs.
    pub async fn set_channel_price(
        &self,
        country: &str,
        channel: lightotp::domain::channel::Channel,
        credits: Credits,
    ) -> Result<PriceEntry, AdminError> {
        let region = Region::parse(country)
            .ok_or_else(|| AdminError::Invalid(format!("{country:?} is not an ISO 3166-1 alpha-2 code")))?;
        if credits == Credits::ZERO {
            return Err(AdminError::Invalid("a message costs at least 1 credit".to_owned()));
        }
        let price = PriceEntry { region: region.as_str().to_owned(), credits, channel };
        self.store.set_price(&price).await?;
        Ok(price)
    }

    /// Marks a message `Deleted` (the administrative action): allowed from every status but `Deleted`, so a
    /// second delete changes nothing. Returns whether it changed the message.
    pub async fn delete_message(
        &self,
        client_id: Option<&str>,
        message_id: &str,
        now: OffsetDateTime,
    ) -> Result<bool, AdminError> {
        let id = lightotp::domain::message::MessageId::parse(message_id)
            .ok_or_else(|| AdminError::Invalid(format!("{message_id:?} is not a message id")))?;
        let client_id = match client_id {
            Some(client_id) => client_id.to_owned(),
            None => self
                .store
                .client_of_message(&id.to_string())
                .await?
                .ok_or_else(|| AdminError::NotFound(format!("message {message_id}")))?,
        };
        let Some(message) = self.store.message(&client_id, id).await? else {
            return Err(AdminError::NotFound(format!("message {message_id}")));
        };
        Ok(self
            .store
            .advance_status(
                &client_id,
                &id.to_string(),
                message.channel,
                lightotp::domain::message::MessageStatus::Deleted,
                now,
            )
            .await?)
    }

    /// A demo client with a WhatsApp sender, `en` and `ar` templates, 1000 credits, a key and a dashboard
    /// sign-in; an operator; and two active plans.
    pub async fn seed_demo(&self, whatsapp_phone_number_id: &str, now: OffsetDateTime) -> Result<Demo, AdminError> {
        let client = self.create_client("Demo client", DEMO_EMAIL, "en", Some("LightOTP")).await?;
        self.assign_sender(&client.client_id, whatsapp_phone_number_id, "+15550001234").await?;
        self.add_template(&client.client_id, "lightotp_auth", "en").await?;
        self.add_template(&client.client_id, "lightotp_auth", "ar").await?;
        self.grant_subscription(&client.client_id, Credits::new(1000), DEFAULT_LOW_BALANCE_PERCENT, now).await?;
        let key = self.create_named_key(&client.client_id, "Demo key", None, now).await?;
        let demo_password = random_hex(8)?;
        self.create_client_user(&client.client_id, DEMO_EMAIL, &demo_password, now).await?;
        let operator = self.create_operator(OPERATOR_EMAIL, None, now).await?;
        self.create_plan("Starter", "1000", "SAR 150", "1,000 WhatsApp OTP credits.", now).await?;
        self.create_plan("Growth", "10000", "SAR 1,200", "10,000 WhatsApp OTP credits.", now).await?;
        Ok(Demo {
            client_id: client.client_id,
            api_key: key.api_key,
            phone_e164: "+966551234567".to_owned(),
            dashboard: DemoSignIns {
                operator: SignIn { email: operator.email, password: operator.password.unwrap_or_default() },
                demo: SignIn { email: DEMO_EMAIL.to_owned(), password: demo_password },
            },
        })
    }

    /// Creates an operator (never by signing up): with the given password, or a printed one-time random one.
    pub async fn create_operator(
        &self,
        email: &str,
        password: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<CreatedOperator, AdminError> {
        let address = EmailAddress::parse(email).map_err(|e| AdminError::Invalid(format!("--email: {e}")))?;
        let generated = match password {
            Some(_) => None,
            None => Some(random_hex(12)?),
        };
        let chosen = password.or(generated.as_deref()).unwrap_or_default();
        let password = Password::new_password(chosen)
            .map_err(|_| AdminError::Invalid("the password must have 10 to 128 characters".to_owned()))?;
        if !accounts::create_operator(&self.console, &address, &password, now).await? {
            return Err(AdminError::Invalid(format!("{} already has an account", address.as_str())));
        }
        Ok(CreatedOperator { email: address.as_str().to_owned(), password: generated })
    }

    /// Creates a verified dashboard sign-in for an existing client.
    pub async fn create_client_user(
        &self,
        client_id: &str,
        email: &str,
        password: &str,
        now: OffsetDateTime,
    ) -> Result<(), AdminError> {
        let address = EmailAddress::parse(email).map_err(|e| AdminError::Invalid(format!("email: {e}")))?;
        let password = Password::new_password(password)
            .map_err(|_| AdminError::Invalid("the password must have 10 to 128 characters".to_owned()))?;
        self.existing_client(client_id).await?;
        if !accounts::create_client_user(&self.console, client_id, &address, &password, now).await? {
            return Err(AdminError::Invalid(format!("{} already has an account", address.as_str())));
        }
        Ok(())
    }

    /// Creates a plan, active at once.
    pub async fn create_plan(
        &self,
        name: &str,
        credits: &str,
        price: &str,
        description: &str,
        now: OffsetDateTime,
    ) -> Result<PlanView, AdminError> {
        let draft = PlanDraft::parse(name, credits, price, description).map_err(|errors| {
            AdminError::Invalid(
                errors.iter().map(|(field, e)| format!("--{field}: {e}")).collect::<Vec<_>>().join("; "),
            )
        })?;
        let plan_id = orders::create_plan(&self.console, &draft, now).await?;
        Ok(PlanView::from(&PlanRecord { plan_id, plan: draft, active: true, created_at: String::new() }))
    }

    /// Every plan, oldest first.
    pub async fn plans(&self) -> Result<Vec<PlanView>, AdminError> {
        Ok(orders::all_plans(&self.console).await?.iter().map(PlanView::from).collect())
    }

    /// Stops offering a plan.
    pub async fn deactivate_plan(&self, plan_id: &str) -> Result<(), AdminError> {
        if orders::deactivate_plan(&self.console, plan_id).await? {
            Ok(())
        } else {
            Err(AdminError::NotFound(format!("plan {plan_id}")))
        }
    }

    /// The pending orders, oldest first.
    pub async fn pending_orders(&self) -> Result<Vec<OrderView>, AdminError> {
        Ok(orders::orders_queue(&self.console).await?.iter().map(OrderView::from).collect())
    }

    /// Activates a pending order (granting its subscription, once) as the operator `operator`.
    pub async fn activate_order(
        &self,
        operator: &str,
        client_id: &str,
        order_id: &str,
        now: OffsetDateTime,
    ) -> Result<String, AdminError> {
        match orders::activate_order(&self.console, operator, client_id, order_id, now).await? {
            Ok(order) => Ok(order.subscription_id.unwrap_or_default()),
            Err(refusal) => Err(order_refusal(refusal, order_id)),
        }
    }

    /// Cancels a pending order with an optional reason the client sees.
    pub async fn cancel_order(
        &self,
        operator: &str,
        client_id: &str,
        order_id: &str,
        reason: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), AdminError> {
        let reason = match reason.map(|r| optional_text(r, REASON_CHARS)) {
            Some(Err(e)) => {
                return Err(AdminError::Invalid(format!("--reason: {e} (up to {REASON_CHARS} characters)")));
            }
            Some(Ok(reason)) => reason,
            None => None,
        };
        orders::cancel_order(&self.console, operator, client_id, order_id, reason.as_deref(), now)
            .await?
            .map_err(|refusal| order_refusal(refusal, order_id))
    }
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn a_range_is_an_address_or_a_cidr_range_in_canonical_form() {
        let parsed = |raw: &str| parse_range(raw).map(|range| range.to_string()).ok();
        assert_eq!(parsed("203.0.113.7"), Some("203.0.113.7/32".to_owned()), "one address");
        assert_eq!(parsed(" 203.0.113.9/24 "), Some("203.0.113.0/24".to_owned()), "host bits cleared");
        assert_eq!(parsed("2001:db8::1/64"), Some("2001:db8::/64".to_owned()));
        assert_eq!(parsed("203.0.113.0/33"), None);
        assert_eq!(parsed("example.com"), None);
    }
}
