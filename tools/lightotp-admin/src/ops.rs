//! Operator actions, against real AWS or (with `AWS_ENDPOINT_URL`) the local emulator.

use lightotp::auth::{StoredVerifier, verifier_secret_name};
use lightotp::domain::api_key::{ApiKey, KeyId};
use lightotp::domain::language::{LanguageTag, Template};
use lightotp::domain::phone::Region;
use lightotp::domain::pricing::Credits;
use lightotp::domain::subscription::Subscription;
use lightotp::domain::time_format::rfc3339_millis;
use lightotp::store::{ClientProfile, DynamoStore, StoreError};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::store::{ApiKeyMetadata, OperatorWrites, PriceEntry};

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
/// Where per-key verifier secrets live.
pub const DEFAULT_API_KEY_PREFIX: &str = "lightotp/api-keys/";
/// The low-balance threshold when none is given: 10 % of the credits granted (docs/api.md, Billing).
pub const DEFAULT_LOW_BALANCE_PERCENT: u8 = 10;

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
}

/// `client create`'s answer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CreatedClient {
    /// The new client's id.
    pub client_id: String,
}

/// `key create`'s answer: the only time the key is shown.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CreatedKey {
    /// The key's public id.
    pub key_id: String,
    /// The whole key.
    pub api_key: String,
    /// Its expiry, if any.
    pub expires_at: Option<String>,
}

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
}

/// Random bytes from the OS CSPRNG, hex encoded.
pub fn random_hex(bytes: usize) -> Result<String, AdminError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| AdminError::Random(e.to_string()))?;
    Ok(hex::encode(buf))
}

fn sm_error<E: std::error::Error>(err: E) -> AdminError {
    AdminError::Secrets(aws_sdk_secretsmanager::error::DisplayErrorContext(err).to_string())
}

impl Admin {
    /// Connects with the standard AWS configuration (honours `AWS_ENDPOINT_URL`).
    pub fn new(aws: &aws_config::SdkConfig, table: &str, pepper_secret: &str, api_key_prefix: &str) -> Self {
        Self {
            store: DynamoStore::new(aws_sdk_dynamodb::Client::new(aws), table),
            secrets: aws_sdk_secretsmanager::Client::new(aws),
            pepper_secret: pepper_secret.to_owned(),
            api_key_prefix: api_key_prefix.to_owned(),
        }
    }

    async fn existing_client(&self, client_id: &str) -> Result<ClientProfile, AdminError> {
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
        self.existing_client(client_id).await?;
        Ok(self.store.assign_sender(client_id, phone_number_id, display_phone).await?)
    }

    /// Adds an approved template in a language (`en`, `en_US`, `ar`, …).
    pub async fn add_template(&self, client_id: &str, name: &str, language: &str) -> Result<(), AdminError> {
        let language = LanguageTag::parse(language)
            .ok_or_else(|| AdminError::Invalid(format!("{language:?} is not a language tag such as en or en_US")))?;
        self.existing_client(client_id).await?;
        Ok(self.store.add_template(client_id, &Template { name: name.to_owned(), language }).await?)
    }

    /// Issues a key for a client: the verifier goes to Secrets Manager, the metadata to the table, and the key
    /// itself only to the caller.
    pub async fn create_key(
        &self,
        client_id: &str,
        expires_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<CreatedKey, AdminError> {
        self.existing_client(client_id).await?;
        let mut id_bytes = [0u8; 8];
        let mut secret_bytes = [0u8; 32];
        getrandom::fill(&mut id_bytes).map_err(|e| AdminError::Random(e.to_string()))?;
        getrandom::fill(&mut secret_bytes).map_err(|e| AdminError::Random(e.to_string()))?;
        let key = ApiKey::from_random(id_bytes, secret_bytes);
        let pepper = self.pepper().await?;
        let expires_at = expires_at.map(rfc3339_millis);
        let stored = StoredVerifier {
            client_id: client_id.to_owned(),
            verifier: key.verifier(pepper.as_bytes()),
            expires_at: expires_at.clone(),
        };
        let body = serde_json::to_string(&stored).map_err(|e| AdminError::Invalid(e.to_string()))?;
        self.secrets
            .create_secret()
            .name(verifier_secret_name(&self.api_key_prefix, key.key_id()))
            .description(format!("lightotp API key verifier for client {client_id}"))
            .secret_string(body)
            .send()
            .await
            .map_err(sm_error)?;
        self.store
            .put_api_key_metadata(&ApiKeyMetadata {
                key_id: key.key_id().to_string(),
                client_id: client_id.to_owned(),
                created_at: rfc3339_millis(now),
                expires_at: expires_at.clone(),
            })
            .await?;
        Ok(CreatedKey { key_id: key.key_id().to_string(), api_key: key.reveal(), expires_at })
    }

    /// Revokes a key: its verifier is deleted at once, so every function stops accepting it when its cache entry
    /// ages out (at most 60 s).
    pub async fn revoke_key(&self, key_id: &str, now: OffsetDateTime) -> Result<(), AdminError> {
        let key_id = KeyId::parse(key_id).ok_or_else(|| AdminError::Invalid(format!("{key_id:?} is not a key id")))?;
        let name = verifier_secret_name(&self.api_key_prefix, &key_id);
        let current = self.secrets.get_secret_value().secret_id(&name).send().await;
        let stored = match current {
            Ok(out) => out.secret_string().and_then(|raw| serde_json::from_str::<StoredVerifier>(raw).ok()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => {
                return Err(AdminError::NotFound(format!("key {key_id}")));
            }
            Err(e) => return Err(sm_error(e)),
        };
        self.secrets
            .delete_secret()
            .secret_id(&name)
            .force_delete_without_recovery(true)
            .send()
            .await
            .map_err(sm_error)?;
        if let Some(stored) = stored {
            self.store.mark_api_key_revoked(&stored.client_id, key_id.as_str(), now).await?;
        }
        Ok(())
    }

    /// Grants a subscription of `credits`, active at once.
    pub async fn grant_subscription(
        &self,
        client_id: &str,
        credits: Credits,
        low_balance_percent: u8,
        now: OffsetDateTime,
    ) -> Result<GrantedSubscription, AdminError> {
        if credits == Credits::ZERO {
            return Err(AdminError::Invalid("credits must be at least 1".to_owned()));
        }
        if low_balance_percent > 100 {
            return Err(AdminError::Invalid("low-balance percent must be 0 to 100".to_owned()));
        }
        self.existing_client(client_id).await?;
        let subscription_id = Uuid::new_v4().to_string();
        self.store.grant_subscription(client_id, &subscription_id, credits, low_balance_percent, now).await?;
        Ok(GrantedSubscription { subscription_id })
    }

    /// The client's subscriptions, newest first.
    pub async fn subscriptions(&self, client_id: &str) -> Result<Vec<SubscriptionView>, AdminError> {
        self.existing_client(client_id).await?;
        Ok(self.store.subscriptions_newest_first(client_id).await?.iter().map(SubscriptionView::from).collect())
    }

    /// Adds credits to the client's wallet (the Verify API's `wallet` payment type); returns the new balance.
    pub async fn top_up_wallet(&self, client_id: &str, credits: Credits) -> Result<Credits, AdminError> {
        if credits == Credits::ZERO {
            return Err(AdminError::Invalid("credits must be at least 1".to_owned()));
        }
        self.existing_client(client_id).await?;
        Ok(self.store.top_up_wallet(client_id, credits).await?)
    }

    /// Sets the client's Verify API SMS text for `en` or `ar`; it must carry `{CODE}` (and may carry
    /// `{EXPIRATION}`).
    pub async fn set_sms_template(&self, client_id: &str, language: &str, text: &str) -> Result<(), AdminError> {
        if !matches!(language, "en" | "ar") {
            return Err(AdminError::Invalid(format!("language must be en or ar, not {language:?}")));
        }
        if !text.contains("{CODE}") {
            return Err(AdminError::Invalid("the text must contain {CODE}".to_owned()));
        }
        self.existing_client(client_id).await?;
        Ok(self.store.set_sms_template(client_id, language, text).await?)
    }

    /// Sets a country's price in credits (at least 1).
    pub async fn set_price(&self, country: &str, credits: Credits) -> Result<PriceEntry, AdminError> {
        let region = Region::parse(country)
            .ok_or_else(|| AdminError::Invalid(format!("{country:?} is not an ISO 3166-1 alpha-2 code")))?;
        if credits == Credits::ZERO {
            return Err(AdminError::Invalid("a message costs at least 1 credit".to_owned()));
        }
        let price = PriceEntry { region: region.as_str().to_owned(), credits };
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
        if self.store.message(&client_id, id).await?.is_none() {
            return Err(AdminError::NotFound(format!("message {message_id}")));
        }
        Ok(self
            .store
            .advance_status(&client_id, &id.to_string(), lightotp::domain::message::MessageStatus::Deleted, now)
            .await?)
    }

    /// A demo client with a WhatsApp sender, `en` and `ar` templates, 1000 credits and a key.
    pub async fn seed_demo(&self, whatsapp_phone_number_id: &str, now: OffsetDateTime) -> Result<Demo, AdminError> {
        let client = self.create_client("Demo client", "demo@example.com", "en", Some("LightOTP")).await?;
        self.assign_sender(&client.client_id, whatsapp_phone_number_id, "+15550001234").await?;
        self.add_template(&client.client_id, "lightotp_auth", "en").await?;
        self.add_template(&client.client_id, "lightotp_auth", "ar").await?;
        self.grant_subscription(&client.client_id, Credits::new(1000), DEFAULT_LOW_BALANCE_PERCENT, now).await?;
        let key = self.create_key(&client.client_id, None, now).await?;
        Ok(Demo { client_id: client.client_id, api_key: key.api_key, phone_e164: "+966551234567".to_owned() })
    }

    async fn pepper(&self) -> Result<String, AdminError> {
        let out = self.secrets.get_secret_value().secret_id(&self.pepper_secret).send().await.map_err(sm_error)?;
        out.secret_string().map(str::to_owned).ok_or_else(|| AdminError::Secrets("the pepper has no value".to_owned()))
    }
}
