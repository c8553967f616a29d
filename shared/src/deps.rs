//! Everything a function needs from outside, built once per cold start and borrowed by every invocation.

use std::sync::Arc;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};

use crate::auth::ApiKeyVerifier;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError};
use crate::email::Mailer;
use crate::on_first_use::OnFirstUse;
use crate::raised_limits::RaisedLimits;
use crate::secrets::{LazySecret, SecretError};
use crate::sms_sender::SmsSender;
use crate::store::DynamoStore;
use crate::webhook_queue::DeliveryQueue;
use crate::webhook_sender::WebhookSender;
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
    /// The key that seals codes kept for the WhatsApp → SMS fallback.
    pub fallback_key: LazySecret,
    /// Platform emails (SES).
    pub mailer: Mailer,
    /// SMS (SNS), for the Verify API and the WhatsApp → SMS fallback.
    pub sms: SmsSender,
    /// Secrets Manager itself, for the dashboard's API-key verifiers.
    pub secrets: aws_sdk_secretsmanager::Client,
    /// The client webhook delivery queue and its dead-letter queue (SQS).
    pub webhook_queue: DeliveryQueue,
    /// The operators' raised per-IP limits, cached.
    pub raised_limits: RaisedLimits,
    /// The HTTP client that posts client webhooks, built by the first delivery (no other function pays for it).
    webhook_sender: std::sync::OnceLock<WebhookSender>,
}

impl std::fmt::Debug for dyn Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

/// The AWS SDK clients the functions use, from one configuration: DynamoDB and Secrets Manager, which nearly every
/// request calls, built at the cold start; SES, SNS and SQS on first use, as most functions seldom or never call them.
#[derive(Debug, Clone)]
pub struct AwsClients {
    /// DynamoDB.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// Secrets Manager.
    pub secrets: aws_sdk_secretsmanager::Client,
    /// SES v2.
    pub ses: OnFirstUse<aws_sdk_sesv2::Client>,
    /// SNS.
    pub sns: OnFirstUse<aws_sdk_sns::Client>,
    /// SQS.
    pub sqs: OnFirstUse<aws_sdk_sqs::Client>,
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
    /// The AWS SDK's TLS settings were refused.
    #[error("building the AWS SDK's HTTPS client: {0}")]
    AwsHttp(#[from] aws_smithy_http_client::HttpClientError),
}

/// What a function loads during its cold start, so that no client pays for it on a first request.
#[derive(Debug, Default, Clone, Copy)]
pub struct Warm {
    /// The pepper, to check API keys.
    pub pepper: bool,
    /// The WhatsApp token, to send.
    pub whatsapp_token: bool,
    /// The WhatsApp app secret, to check webhook signatures.
    pub app_secret: bool,
    /// libphonenumber's metadata, to parse recipients.
    pub phone_metadata: bool,
    /// The SNS client, to send an SMS on every request.
    pub sms: bool,
}

/// The SDK's HTTPS client (rustls with aws-lc, as the SDK's default), trusting the compiled-in roots AWS endpoints
/// chain to instead of parsing the system's certificate store on the first request.
pub fn aws_http_client() -> Result<SharedHttpClient, DepsError> {
    let trust = TrustStore::empty().with_native_roots(false).with_pem_certificate(crate::tls::aws_roots_pem());
    let context = TlsContext::builder().with_trust_store(trust).build()?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc))
        .tls_context(context)
        .build_https())
}

/// The standard AWS configuration (region, credentials, `AWS_ENDPOINT_URL`) with our HTTPS client: what the tools
/// build once (an operator's credentials may live in a profile, or come from SSO).
pub async fn aws_config() -> Result<SdkConfig, DepsError> {
    Ok(aws_config::defaults(BehaviorVersion::latest()).http_client(aws_http_client()?).load().await)
}

/// A function's AWS configuration: the standard one, with the credentials Lambda puts in the environment (the
/// execution role's; the local stack sets them too). The default chain would build its other providers first (web
/// identity with its own STS client, profile files, container and instance metadata): 0.7 M instructions of every
/// cold start, for credentials that are always in the environment there (docs/performance.md, "Init").
pub async fn function_aws_config() -> Result<SdkConfig, DepsError> {
    Ok(aws_config::defaults(BehaviorVersion::latest())
        .http_client(aws_http_client()?)
        .credentials_provider(EnvironmentVariableCredentialsProvider::new())
        .load()
        .await)
}

/// An SDK client that `new` builds from `aws` when it is first used.
fn on_first_use<C: 'static>(aws: &SdkConfig, new: fn(&SdkConfig) -> C) -> OnFirstUse<C> {
    let aws = aws.clone();
    OnFirstUse::new(move || new(&aws))
}

impl Deps {
    /// Reads the environment and a function's AWS configuration (which honours `AWS_ENDPOINT_URL`, so the
    /// emulator needs no code path of its own), with the real clock.
    pub async fn from_env() -> Result<Self, DepsError> {
        let config = Config::from_env()?;
        Self::build(config, &function_aws_config().await?, Arc::new(SystemClock))
    }

    /// A function's cold start: the dependencies, then everything `warm` names loaded at once (see `warm_up`).
    pub async fn cold_start(warm: Warm) -> Result<Self, DepsError> {
        let deps = Self::from_env().await?;
        deps.warm_up(warm).await;
        Ok(deps)
    }

    /// Loads what `warm` names concurrently: the secrets' fetches together (one round trip instead of one each), and
    /// the phone metadata on a blocking thread meanwhile. A secret that fails is logged and fetched again by the
    /// first request that needs it.
    pub async fn warm_up(&self, warm: Warm) {
        async fn when(wanted: bool, load: impl Future<Output = Result<(), SecretError>>) -> Result<(), SecretError> {
            if wanted { load.await } else { Ok(()) }
        }
        let phone = warm.phone_metadata.then(|| tokio::task::spawn_blocking(crate::domain::phone::warm_up));
        if warm.sms {
            self.sms.warm();
        }
        let loaded = tokio::join!(
            when(warm.pepper, self.pepper.warm()),
            when(warm.whatsapp_token, self.whatsapp.warm()),
            when(warm.app_secret, self.whatsapp_app_secret.warm()),
        );
        for err in [loaded.0, loaded.1, loaded.2].into_iter().filter_map(Result::err) {
            tracing::warn!(error = %err, "secret not loaded at cold start; the first request that needs it will retry");
        }
        if let Some(phone) = phone {
            let _ = phone.await;
        }
    }

    /// Builds from explicit parts: the local stack passes its movable clock here.
    pub fn build(config: Config, aws: &SdkConfig, clock: Arc<dyn Clock>) -> Result<Self, DepsError> {
        let dynamodb = aws_sdk_dynamodb::Client::new(aws);
        let secrets = aws_sdk_secretsmanager::Client::new(aws);
        let ses = on_first_use(aws, aws_sdk_sesv2::Client::new);
        let sns = on_first_use(aws, aws_sdk_sns::Client::new);
        let sqs = on_first_use(aws, aws_sdk_sqs::Client::new);
        Self::from_clients(config, AwsClients { dynamodb, secrets, ses, sns, sqs }, clock)
    }

    /// Builds from ready SDK clients (tests pass clients carrying a request-counting interceptor).
    pub fn from_clients(config: Config, aws: AwsClients, clock: Arc<dyn Clock>) -> Result<Self, DepsError> {
        let AwsClients { dynamodb, secrets, ses, sns, sqs } = aws;
        let webhook_queue =
            DeliveryQueue::new(sqs, config.webhook_queue_url.clone(), config.webhook_dead_letter_queue_url.clone());
        let store = DynamoStore::new(dynamodb, &config.table_name);
        let pepper = Arc::new(LazySecret::new(secrets.clone(), &config.pepper_secret_id));
        let api_keys = ApiKeyVerifier::new(secrets.clone(), &config.api_key_secret_prefix, Arc::clone(&pepper))
            .recording_use(store.clone());
        let token = LazySecret::new(secrets.clone(), &config.whatsapp_token_secret_id);
        let whatsapp_app_secret = LazySecret::new(secrets.clone(), &config.whatsapp_app_secret_id);
        let whatsapp_verify_token = LazySecret::new(secrets.clone(), &config.whatsapp_verify_token_secret_id);
        let fallback_key = LazySecret::new(secrets.clone(), &config.fallback_key_secret_id);
        let mailer = Mailer::new(ses, &config.email_from);
        let whatsapp_timeout = config.whatsapp_timeout;
        let whatsapp = WhatsAppClient::new(
            OnFirstUse::new(move || http_client(whatsapp_timeout)),
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
            fallback_key,
            mailer,
            sms: SmsSender::new(sns),
            secrets,
            webhook_queue,
            raised_limits: RaisedLimits::default(),
            webhook_sender: std::sync::OnceLock::new(),
        })
    }

    /// The HTTP client that posts client webhooks (built once, by the first caller).
    pub fn webhook_sender(&self) -> Result<&WebhookSender, DepsError> {
        if let Some(sender) = self.webhook_sender.get() {
            return Ok(sender);
        }
        let sender = WebhookSender::new(self.config.webhook_address_policy, self.config.webhook_timeout)?;
        Ok(self.webhook_sender.get_or_init(|| sender))
    }
}
