//! Everything a function needs from outside, built once per cold start and borrowed by every invocation.

use std::sync::Arc;

use aws_config::{BehaviorVersion, SdkConfig};

use crate::auth::ApiKeyVerifier;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError};
use crate::email::Mailer;
use crate::secrets::LazySecret;
use crate::sms_sender::SmsSender;
use crate::store::DynamoStore;
use crate::whatsapp::{WhatsAppClient, http_client};

/// The dependencies of every handler.
#[derive(Debug)]
pub struct Deps {
    /// Settings read at cold start.
    pub config: Config,
    /// The table.
    pub store: DynamoStore,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
    /// API-key verification with its cache.
    pub api_keys: ApiKeyVerifier,
    /// The HMAC key of API-key verifiers and request fingerprints.
    pub pepper: Arc<LazySecret>,
    /// The Graph API client.
    pub whatsapp: WhatsAppClient,
    /// The WhatsApp app secret that signs webhooks.
    pub whatsapp_app_secret: LazySecret,
    /// The token Meta echoes when it checks the webhook subscription.
    pub whatsapp_verify_token: LazySecret,
    /// Platform emails (SES).
    pub mailer: Mailer,
    /// SMS (SNS), for the Verify API.
    pub sms: SmsSender,
}

impl std::fmt::Debug for dyn Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

/// The AWS SDK clients the functions use, built once from one configuration.
#[derive(Debug, Clone)]
pub struct AwsClients {
    /// DynamoDB.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// Secrets Manager.
    pub secrets: aws_sdk_secretsmanager::Client,
    /// SES v2.
    pub ses: aws_sdk_sesv2::Client,
    /// SNS.
    pub sns: aws_sdk_sns::Client,
}

/// A cold start that cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum DepsError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The HTTP client could not be built.
    #[error("building the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

impl Deps {
    /// Reads the environment and the standard AWS configuration (which honours `AWS_ENDPOINT_URL`, so the
    /// emulator needs no code path of its own), with the real clock.
    pub async fn from_env() -> Result<Self, DepsError> {
        let config = Config::from_env()?;
        let aws = aws_config::load_defaults(BehaviorVersion::latest()).await;
        Self::build(config, &aws, Arc::new(SystemClock))
    }

    /// Builds from explicit parts: the local stack passes its movable clock here.
    pub fn build(config: Config, aws: &SdkConfig, clock: Arc<dyn Clock>) -> Result<Self, DepsError> {
        let dynamodb = aws_sdk_dynamodb::Client::new(aws);
        let secrets = aws_sdk_secretsmanager::Client::new(aws);
        let ses = aws_sdk_sesv2::Client::new(aws);
        let sns = aws_sdk_sns::Client::new(aws);
        Self::from_clients(config, AwsClients { dynamodb, secrets, ses, sns }, clock)
    }

    /// Builds from ready SDK clients (tests pass clients carrying a request-counting interceptor).
    pub fn from_clients(config: Config, aws: AwsClients, clock: Arc<dyn Clock>) -> Result<Self, DepsError> {
        let AwsClients { dynamodb, secrets, ses, sns } = aws;
        let store = DynamoStore::new(dynamodb, &config.table_name);
        let pepper = Arc::new(LazySecret::new(secrets.clone(), &config.pepper_secret_id));
        let api_keys = ApiKeyVerifier::new(secrets.clone(), &config.api_key_secret_prefix, Arc::clone(&pepper));
        let token = LazySecret::new(secrets.clone(), &config.whatsapp_token_secret_id);
        let whatsapp_app_secret = LazySecret::new(secrets.clone(), &config.whatsapp_app_secret_id);
        let whatsapp_verify_token = LazySecret::new(secrets, &config.whatsapp_verify_token_secret_id);
        let mailer = Mailer::new(ses, &config.email_from);
        let whatsapp = WhatsAppClient::new(
            http_client(config.whatsapp_timeout)?,
            &config.whatsapp_api_url,
            &config.whatsapp_api_version,
            token,
        );
        Ok(Self {
            config,
            store,
            clock,
            api_keys,
            pepper,
            whatsapp,
            whatsapp_app_secret,
            whatsapp_verify_token,
            mailer,
            sms: SmsSender::new(sns),
        })
    }
}
