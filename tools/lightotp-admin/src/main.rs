//! `lightotp-admin`: the operator CLI. With `--json` every command prints exactly one JSON object on stdout,
//! without it the same answer as `name: value` lines (`output`); errors go to stderr with a non-zero exit.

use std::collections::HashMap;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use lightotp::domain::pricing::Credits;
use lightotp_admin::ops::{self, Admin};
use lightotp_admin::{output, provision};
use serde_json::{Value, json};
use time::OffsetDateTime;

#[derive(Parser)]
#[command(name = "lightotp-admin", about = "Operate lightotp: clients, keys, subscriptions, pricing")]
struct Cli {
    /// Print exactly one JSON object on stdout.
    #[arg(long, global = true)]
    json: bool,
    /// The DynamoDB table.
    #[arg(long, global = true, env = "TABLE_NAME", default_value = ops::DEFAULT_TABLE)]
    table: String,
    /// The pepper secret.
    #[arg(long, global = true, env = "PEPPER_SECRET_ID", default_value = ops::DEFAULT_PEPPER_SECRET)]
    pepper_secret: String,
    /// The verifier secrets' name prefix.
    #[arg(long, global = true, env = "API_KEY_SECRET_PREFIX", default_value = ops::DEFAULT_API_KEY_PREFIX)]
    api_key_prefix: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// WhatsApp sender numbers.
    #[command(subcommand)]
    Sender(SenderCommand),
    /// WhatsApp templates.
    #[command(subcommand)]
    Template(TemplateCommand),
    /// API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Subscriptions.
    #[command(subcommand)]
    Subscription(SubscriptionCommand),
    /// The pricing table.
    #[command(subcommand)]
    Pricing(PricingCommand),
    /// Messages.
    #[command(subcommand)]
    Message(MessageCommand),
    /// The Verify API wallet.
    #[command(subcommand)]
    Wallet(WalletCommand),
    /// The per-IP rate limit of clients' addresses (docs/operations.md, "Raising the per-IP limit").
    #[command(subcommand)]
    RateLimit(RateLimitCommand),
    /// The Verify API's SMS texts.
    #[command(subcommand)]
    SmsTemplate(SmsTemplateCommand),
    /// Dashboard operators.
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// The plans clients order in the dashboard.
    #[command(subcommand)]
    Plan(PlanCommand),
    /// Clients' orders.
    #[command(subcommand)]
    Order(OrderCommand),
    /// A client's webhook endpoints (docs/webhooks.md).
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Creates a demo client with a sender, templates, credits, a key and a dashboard sign-in; an operator; plans.
    SeedDemo {
        /// The WhatsApp phone-number id of the demo sender.
        #[arg(long, default_value = "100000000000001")]
        phone_number_id: String,
    },
    /// Creates the table and secrets declared in template.yaml (for the local emulator; on AWS, deploy the stack).
    Provision {
        /// The WhatsApp token to store (defaults to a random one).
        #[arg(long, env = "LIGHTOTP_WHATSAPP_TOKEN")]
        whatsapp_token: Option<String>,
        /// The WhatsApp app secret that signs webhooks (defaults to a random one).
        #[arg(long)]
        whatsapp_app_secret: Option<String>,
        /// The webhook verify token (defaults to a random one).
        #[arg(long)]
        whatsapp_verify_token: Option<String>,
    },
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Creates a client.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "en")]
        language: String,
        #[arg(long)]
        sms_sender: Option<String>,
    },
    /// Changes a client's settings: `--fallback sms` sends a message WhatsApp cannot deliver to its recipient again
    /// by SMS (docs/api.md, WhatsApp → SMS fallback); `--fallback off` (the default) does not.
    Set {
        #[arg(long)]
        client: String,
        #[arg(long)]
        fallback: String,
    },
}

#[derive(Subcommand)]
enum OperatorCommand {
    /// Creates an operator: prints a one-time password, or reads one from stdin with --password-stdin.
    Create {
        #[arg(long)]
        email: String,
        /// Read the password (10 to 128 characters) from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum PlanCommand {
    /// Creates a plan, offered at once.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        credits: String,
        /// The price as clients see it, e.g. "SAR 150".
        #[arg(long)]
        price: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Lists every plan.
    List,
    /// Stops offering a plan (placed orders keep it).
    Deactivate {
        #[arg(long)]
        plan: String,
    },
}

#[derive(Subcommand)]
enum OrderCommand {
    /// Lists pending orders, oldest first.
    List,
    /// Activates a pending order: grants its subscription and emails the client.
    Activate {
        #[arg(long)]
        client: String,
        #[arg(long)]
        order: String,
        /// Who acts, for the client's audit trail.
        #[arg(long, env = "LIGHTOTP_OPERATOR", default_value = "lightotp-admin")]
        operator: String,
    },
    /// Cancels a pending order, with a reason the client sees.
    Cancel {
        #[arg(long)]
        client: String,
        #[arg(long)]
        order: String,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long, env = "LIGHTOTP_OPERATOR", default_value = "lightotp-admin")]
        operator: String,
    },
}

#[derive(Subcommand)]
enum SenderCommand {
    /// Assigns a WhatsApp number to a client.
    Assign {
        #[arg(long)]
        client: String,
        #[arg(long)]
        phone_number_id: String,
        #[arg(long)]
        display_phone: String,
    },
}

#[derive(Subcommand)]
enum TemplateCommand {
    /// Adds an approved template in one language.
    Add {
        #[arg(long)]
        client: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        language: String,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Issues a key (shown once).
    Create(KeyCreate),
    /// Revokes a key (effective everywhere within 60 s).
    Revoke {
        #[arg(long)]
        key_id: String,
    },
}

#[derive(Args)]
struct KeyCreate {
    #[arg(long)]
    client: String,
    /// The key's name, as the dashboard lists it (1 to 60 characters).
    #[arg(long, default_value = ops::DEFAULT_KEY_NAME)]
    name: String,
    /// RFC 3339 expiry, e.g. 2027-01-01T00:00:00Z.
    #[arg(long)]
    expires: Option<String>,
}

#[derive(Subcommand)]
enum WebhookCommand {
    /// Adds an endpoint and prints its signing secret, once.
    Add {
        #[arg(long)]
        client: String,
        /// https://… (the local stack also takes http://127.0.0.1:…).
        #[arg(long)]
        url: String,
        /// Comma-separated events (message.sent, message.delivered, message.read, message.failed, message.deleted,
        /// otp.verified, otp.failed); all when omitted.
        #[arg(long, value_delimiter = ',')]
        events: Vec<String>,
    },
    /// Lists a client's endpoints.
    List {
        #[arg(long)]
        client: String,
    },
    /// Stops sending an endpoint events.
    Disable {
        #[arg(long)]
        client: String,
        #[arg(long)]
        endpoint: String,
    },
    /// Sends an endpoint events again (its failing streak forgotten).
    Enable {
        #[arg(long)]
        client: String,
        #[arg(long)]
        endpoint: String,
    },
    /// Deletes an endpoint.
    Delete {
        #[arg(long)]
        client: String,
        #[arg(long)]
        endpoint: String,
    },
    /// Gives an endpoint a new signing secret (printed once); the old one keeps signing for 24 hours.
    RotateSecret {
        #[arg(long)]
        client: String,
        #[arg(long)]
        endpoint: String,
    },
    /// The endpoint's attempts of the last 30 days, newest first.
    Deliveries {
        #[arg(long)]
        client: String,
        #[arg(long)]
        endpoint: String,
        #[arg(long, default_value_t = 50)]
        limit: i32,
    },
    /// Redelivers one event (--event) or every event since a time (--since, RFC 3339).
    Redeliver {
        #[arg(long)]
        client: String,
        #[arg(long)]
        endpoint: String,
        #[arg(long)]
        event: Option<String>,
        #[arg(long)]
        since: Option<String>,
    },
}

#[derive(Subcommand)]
enum SubscriptionCommand {
    /// Grants credits as a new subscription.
    Grant {
        #[arg(long)]
        client: String,
        #[arg(long)]
        credits: u64,
        #[arg(long, default_value_t = ops::DEFAULT_LOW_BALANCE_PERCENT)]
        low_balance_percent: u8,
    },
    /// Lists a client's subscriptions, newest first.
    List {
        #[arg(long)]
        client: String,
    },
}

#[derive(Subcommand)]
enum SmsTemplateCommand {
    /// Sets a client's SMS text for en or ar: the Verify API's ({CODE} and {EXPIRATION} are filled in), or with
    /// `--for fallback` the WhatsApp → SMS fallback's ({CODE}).
    Set {
        #[arg(long)]
        client: String,
        #[arg(long)]
        language: String,
        #[arg(long)]
        text: String,
        /// `verify` or `fallback`.
        #[arg(long = "for", default_value = "verify")]
        purpose: String,
    },
}

#[derive(Subcommand)]
enum WalletCommand {
    /// Adds credits to a client's wallet.
    TopUp {
        #[arg(long)]
        client: String,
        #[arg(long)]
        credits: u64,
    },
}

#[derive(Subcommand)]
enum RateLimitCommand {
    /// Raises the limit of a client's addresses: every address of the range may make this many requests a minute.
    Raise {
        #[arg(long)]
        client: String,
        /// A CIDR range (203.0.113.0/28, 2001:db8::/64) or one address.
        #[arg(long)]
        range: String,
        #[arg(long)]
        per_minute: u32,
    },
    /// Lists every raised range.
    List,
    /// Gives a range the default limit again.
    Lower {
        #[arg(long)]
        range: String,
    },
}

#[derive(Subcommand)]
enum MessageCommand {
    /// Marks a message Deleted (the administrative action).
    Delete {
        #[arg(long)]
        id: String,
        /// The message's client; found by a scan when omitted.
        #[arg(long)]
        client: Option<String>,
    },
}

#[derive(Subcommand)]
enum PricingCommand {
    /// Sets the credits a message to a country costs: a WhatsApp message, or (`--channel sms`) an SMS part, as the
    /// WhatsApp → SMS fallback charges it.
    Set {
        #[arg(long)]
        country: String,
        #[arg(long)]
        credits: u64,
        /// `whatsapp` or `sms`.
        #[arg(long, default_value = "whatsapp")]
        channel: String,
    },
}

async fn run(cli: Cli) -> Result<Value, String> {
    let aws = lightotp::deps::aws_config().await.map_err(|e| e.to_string())?;
    let admin = Admin::new(&aws, &cli.table, &cli.pepper_secret, &cli.api_key_prefix);
    let now = OffsetDateTime::now_utc();
    let result: Result<Value, ops::AdminError> = match cli.command {
        Command::Client(ClientCommand::Create { name, email, language, sms_sender }) => {
            admin.create_client(&name, &email, &language, sms_sender.as_deref()).await.map(|c| to_json(&c))
        }
        Command::Client(ClientCommand::Set { client, fallback }) => admin
            .set_fallback(&client, &fallback)
            .await
            .map(|on| json!({"clientId": client, "fallback": if on { "sms" } else { "off" }})),
        Command::Sender(SenderCommand::Assign { client, phone_number_id, display_phone }) => admin
            .assign_sender(&client, &phone_number_id, &display_phone)
            .await
            .map(|()| json!({"clientId": client, "phoneNumberId": phone_number_id, "displayPhone": display_phone})),
        Command::Template(TemplateCommand::Add { client, name, language }) => admin
            .add_template(&client, &name, &language)
            .await
            .map(|()| json!({"clientId": client, "name": name, "language": language})),
        Command::Key(KeyCommand::Create(KeyCreate { client, name, expires })) => {
            let expires = match expires.as_deref().map(lightotp::domain::time_format::parse_rfc3339) {
                Some(None) => return Err("--expires must be an RFC 3339 timestamp".to_owned()),
                Some(Some(at)) => Some(at),
                None => None,
            };
            admin.create_named_key(&client, &name, expires, now).await.map(|k| to_json(&k))
        }
        Command::Key(KeyCommand::Revoke { key_id }) => {
            admin.revoke_key(&key_id, now).await.map(|()| json!({"keyId": key_id, "revoked": true}))
        }
        Command::Subscription(SubscriptionCommand::Grant { client, credits, low_balance_percent }) => admin
            .grant_subscription(&client, Credits::new(credits), low_balance_percent, now)
            .await
            .map(|s| to_json(&s)),
        Command::Subscription(SubscriptionCommand::List { client }) => {
            admin.subscriptions(&client).await.map(|list| json!({"clientId": client, "subscriptions": list}))
        }
        Command::Pricing(PricingCommand::Set { country, credits, channel }) => {
            let Some(channel) = lightotp::domain::channel::Channel::parse(&channel) else {
                return Err(format!("--channel must be whatsapp or sms, not {channel:?}"));
            };
            admin
                .set_channel_price(&country, channel, Credits::new(credits))
                .await
                .map(|p| json!({"country": p.region, "credits": p.credits, "channel": p.channel.as_str()}))
        }
        Command::RateLimit(RateLimitCommand::Raise { client, range, per_minute }) => {
            admin.raise_rate_limit(&client, &range, per_minute, now).await.map(|raised| to_json(&raised))
        }
        Command::RateLimit(RateLimitCommand::List) => {
            admin.raised_rate_limits().await.map(|ranges| json!({"ranges": ranges}))
        }
        Command::RateLimit(RateLimitCommand::Lower { range }) => {
            admin.lower_rate_limit(&range).await.map(|()| json!({"range": range, "lowered": true}))
        }
        Command::Wallet(WalletCommand::TopUp { client, credits }) => admin
            .top_up_wallet(&client, Credits::new(credits))
            .await
            .map(|balance| json!({"clientId": client, "balance": balance})),
        Command::SmsTemplate(SmsTemplateCommand::Set { client, language, text, purpose }) => {
            let set = match purpose.as_str() {
                "verify" => admin.set_sms_template(&client, &language, &text).await,
                "fallback" => admin.set_fallback_sms_text(&client, &language, &text).await,
                other => return Err(format!("--for must be verify or fallback, not {other:?}")),
            };
            set.map(|()| json!({"clientId": client, "language": language, "for": purpose}))
        }
        Command::Message(MessageCommand::Delete { id, client }) => admin
            .delete_message(client.as_deref(), &id, now)
            .await
            .map(|changed| json!({"id": id, "messageStatus": "Deleted", "changed": changed})),
        Command::Operator(OperatorCommand::Create { email, password_stdin }) => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).map_err(|e| format!("reading the password: {e}"))?;
                Some(line.trim_end_matches(['\r', '\n']).to_owned())
            } else {
                None
            };
            admin.create_operator(&email, password.as_deref(), now).await.map(|o| to_json(&o))
        }
        Command::Plan(PlanCommand::Create { name, credits, price, description }) => {
            admin.create_plan(&name, &credits, &price, &description, now).await.map(|p| to_json(&p))
        }
        Command::Plan(PlanCommand::List) => admin.plans().await.map(|plans| json!({ "plans": plans })),
        Command::Plan(PlanCommand::Deactivate { plan }) => {
            admin.deactivate_plan(&plan).await.map(|()| json!({"planId": plan, "active": false}))
        }
        Command::Order(OrderCommand::List) => admin.pending_orders().await.map(|orders| json!({ "orders": orders })),
        Command::Order(OrderCommand::Activate { client, order, operator }) => admin
            .activate_order(&operator, &client, &order, now)
            .await
            .map(|subscription| json!({"orderId": order, "state": "Activated", "subscriptionId": subscription})),
        Command::Order(OrderCommand::Cancel { client, order, reason, operator }) => admin
            .cancel_order(&operator, &client, &order, reason.as_deref(), now)
            .await
            .map(|()| json!({"orderId": order, "state": "Cancelled"})),
        Command::Webhook(WebhookCommand::Add { client, url, events }) => {
            admin.add_webhook(&client, &url, &events, now).await.map(|added| to_json(&added))
        }
        Command::Webhook(WebhookCommand::List { client }) => {
            admin.webhooks(&client).await.map(|list| json!({"clientId": client, "endpoints": list}))
        }
        Command::Webhook(WebhookCommand::Disable { client, endpoint }) => admin
            .set_webhook_enabled(&client, &endpoint, false)
            .await
            .map(|()| json!({"endpointId": endpoint, "state": "disabled"})),
        Command::Webhook(WebhookCommand::Enable { client, endpoint }) => admin
            .set_webhook_enabled(&client, &endpoint, true)
            .await
            .map(|()| json!({"endpointId": endpoint, "state": "enabled"})),
        Command::Webhook(WebhookCommand::Delete { client, endpoint }) => {
            admin.delete_webhook(&client, &endpoint).await.map(|()| json!({"endpointId": endpoint, "deleted": true}))
        }
        Command::Webhook(WebhookCommand::RotateSecret { client, endpoint }) => {
            admin.rotate_webhook_secret(&client, &endpoint, now).await.map(|rotated| to_json(&rotated))
        }
        Command::Webhook(WebhookCommand::Deliveries { client, endpoint, limit }) => admin
            .webhook_attempts(&client, &endpoint, limit)
            .await
            .map(|attempts| json!({"endpointId": endpoint, "attempts": attempts})),
        Command::Webhook(WebhookCommand::Redeliver { client, endpoint, event, since }) => admin
            .redeliver_webhooks(&client, &endpoint, event.as_deref(), since.as_deref(), now)
            .await
            .map(|done| json!({"endpointId": endpoint, "scheduled": done.scheduled, "moreFrom": done.more_from})),
        Command::SeedDemo { phone_number_id } => admin.seed_demo(&phone_number_id, now).await.map(|d| to_json(&d)),
        Command::Provision { whatsapp_token, whatsapp_app_secret, whatsapp_verify_token } => {
            let values = [
                (ops::DEFAULT_WHATSAPP_TOKEN_SECRET, whatsapp_token),
                (ops::DEFAULT_WHATSAPP_APP_SECRET, whatsapp_app_secret),
                (ops::DEFAULT_WHATSAPP_VERIFY_TOKEN, whatsapp_verify_token),
            ]
            .into_iter()
            .filter_map(|(name, value)| value.map(|v| (name.to_owned(), v)))
            .collect();
            return provision_all(&aws, values).await;
        }
    };
    result.map_err(|e| e.to_string())
}

async fn provision_all(aws: &aws_config::SdkConfig, values: HashMap<String, String>) -> Result<Value, String> {
    let declared = provision::resources(provision::TEMPLATE).map_err(|e| e.to_string())?;
    let dynamodb = aws_sdk_dynamodb::Client::new(aws);
    let secrets = aws_sdk_secretsmanager::Client::new(aws);
    provision::create_tables(&dynamodb, &declared.tables).await.map_err(|e| e.to_string())?;
    provision::create_secrets(&secrets, &declared.secrets, &values).await.map_err(|e| e.to_string())?;
    let ses = aws_sdk_sesv2::Client::new(aws);
    provision::create_email_identities(&ses, &declared.email_identities).await.map_err(|e| e.to_string())?;
    let sqs = aws_sdk_sqs::Client::new(aws);
    let queues = provision::create_queues(&sqs, &declared.queues).await.map_err(|e| e.to_string())?;
    Ok(json!({
        "queues": queues,
        "tables": declared.tables.iter().map(|t| t.name.clone()).collect::<Vec<_>>(),
        "secrets": declared.secrets.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
        "emailIdentities": declared.email_identities,
    }))
}

fn to_json<T: serde::Serialize>(answer: &T) -> Value {
    serde_json::to_value(answer).unwrap_or(Value::Null)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let json_output = cli.json;
    match run(cli).await {
        Ok(value) => {
            if json_output {
                println!("{}", output::json(&value));
            } else {
                println!("{}", output::human(&value));
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            if json_output {
                eprintln!("{}", json!({ "error": message }));
            } else {
                eprintln!("error: {message}");
            }
            ExitCode::FAILURE
        }
    }
}
