//! Requests to AWS per operation, counted through the SDK: the real handlers run in this process with SDK clients
//! carrying a counting interceptor, against the same emulator and fake WhatsApp as the stack. A change that adds a
//! round trip fails here.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use lightotp::config::Config;
use lightotp::deps::{AwsClients, Deps, Warm};
use serde_json::{Value, json};

use crate::helpers::{Ctx, Tenant, fresh_sa_phone};

/// Every request an SDK client puts on the wire, as `Service.Operation`.
#[derive(Debug, Clone, Default)]
struct RequestLog(Arc<Mutex<Vec<String>>>);

impl Intercept for RequestLog {
    fn name(&self) -> &'static str {
        "RequestLog"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map(|m| m.name().to_owned()).unwrap_or_else(|| "unknown".to_owned());
        self.0.lock().map_err(|_| "poisoned")?.push(operation);
        Ok(())
    }
}

impl RequestLog {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("log"))
    }

    /// [`Self::take`], checking that `function`'s policy in `template.yaml` allows every DynamoDB request taken: a
    /// request its role may not make works locally and fails on AWS.
    fn take_allowed(&self, function: &str) -> Vec<String> {
        let taken = self.take();
        let allowed = allowed_dynamodb_actions(function);
        for operation in &taken {
            // A transaction needs the action of each of its items; every transaction here updates an item.
            let action = match operation.as_str() {
                "TransactWriteItems" => "UpdateItem",
                "TransactGetItems" => "GetItem",
                other => other,
            };
            assert!(allowed.contains(action), "{function} may not {operation} (template.yaml allows {allowed:?})");
        }
        taken
    }
}

/// The DynamoDB actions `template.yaml` allows the function `logical_id`'s role (its policies' `Allow` statements).
fn allowed_dynamodb_actions(logical_id: &str) -> std::collections::BTreeSet<String> {
    let template: serde_yaml::Value = serde_yaml::from_str(lightotp_admin::provision::TEMPLATE).expect("template.yaml");
    let policies = template["Resources"][logical_id]["Properties"]["Policies"].as_sequence().expect("its policies");
    let statements = policies.iter().filter_map(|policy| policy["Statement"].as_sequence()).flatten();
    let actions = statements.filter(|statement| statement["Effect"].as_str() == Some("Allow")).flat_map(|statement| {
        match &statement["Action"] {
            serde_yaml::Value::Sequence(actions) => actions.iter().filter_map(|a| a.as_str()).collect::<Vec<_>>(),
            action => action.as_str().into_iter().collect(),
        }
    });
    actions.filter_map(|action| action.strip_prefix("dynamodb:")).map(str::to_owned).collect()
}

const SEND_MESSAGE: &str = "SendMessageFunction";
const CHECK_MESSAGE_STATUS: &str = "CheckMessageStatusFunction";
const DELIVER_WEBHOOKS: &str = "DeliverWebhooksFunction";
const OTP_INITIATE: &str = "OtpInitiateFunction";
const OTP_VERIFY: &str = "OtpVerifyFunction";
const SWEEP: &str = "SweepStuckMessagesFunction";
const WHATSAPP_WEBHOOK: &str = "WhatsAppWebhookFunction";

async fn counted_deps(ctx: &Ctx) -> (Deps, RequestLog, RequestLog) {
    let (deps, dynamodb, secrets, _) = counted(ctx, Vec::new()).await;
    (deps, dynamodb, secrets)
}

/// Dependencies whose DynamoDB, Secrets Manager and SQS clients log every request, with `extra` settings.
async fn counted(ctx: &Ctx, extra: Vec<(&'static str, String)>) -> (Deps, RequestLog, RequestLog, RequestLog) {
    let dynamodb_log = RequestLog::default();
    let secrets_log = RequestLog::default();
    let sqs_log = RequestLog::default();
    let aws = ctx.sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&aws).interceptor(dynamodb_log.clone()).build(),
    );
    let secrets = aws_sdk_secretsmanager::Client::from_conf(
        aws_sdk_secretsmanager::config::Builder::from(&aws).interceptor(secrets_log.clone()).build(),
    );
    let sqs =
        aws_sdk_sqs::Client::from_conf(aws_sdk_sqs::config::Builder::from(&aws).interceptor(sqs_log.clone()).build());
    let whatsapp = ctx.whatsapp.clone();
    let config = Config::from_lookup(|name| match name {
        "TABLE_NAME" => Some("lightotp".to_owned()),
        "PEPPER_SECRET_ID" => Some("lightotp/pepper".to_owned()),
        "WHATSAPP_TOKEN_SECRET_ID" => Some("lightotp/whatsapp-token".to_owned()),
        "WHATSAPP_API_URL" => Some(whatsapp.clone()),
        other => extra.iter().find(|(name, _)| *name == other).map(|(_, value)| value.clone()),
    })
    .expect("config");
    let clients = AwsClients {
        dynamodb,
        secrets,
        ses: aws_sdk_sesv2::Client::new(&aws).into(),
        sns: aws_sdk_sns::Client::new(&aws).into(),
        sqs: sqs.into(),
    };
    // The stack's clock (earlier tests may have moved it): what these functions write is read by the stack too.
    let deps = Deps::from_clients(config, clients, Arc::new(StoppedClock(ctx.gateway_now().await))).expect("deps");
    (deps, dynamodb_log, secrets_log, sqs_log)
}

/// The stack's clock as it read when the test began, standing still: the counts must not change because the hour
/// turned (a key's use is recorded once an hour) or a minute passed (the raised limits are read again after one)
/// while a busy machine ran the test.
struct StoppedClock(time::OffsetDateTime);

impl lightotp::clock::Clock for StoppedClock {
    fn now(&self) -> time::OffsetDateTime {
        self.0
    }
}

/// An API Gateway v2 event for `path`, parsed by lambda_http exactly as in Lambda.
fn request(path: &str, api_key: &str, body: &Value) -> lambda_http::Request {
    let method = http::Method::POST;
    let uri: http::Uri = path.parse().expect("path");
    let mut headers = http::HeaderMap::new();
    headers.insert("content-type", "application/json".parse().expect("header"));
    headers.insert("x-api-key", api_key.parse().expect("header"));
    let body = body.to_string();
    let incoming = local_gateway::event::IncomingRequest {
        method: &method,
        uri: &uri,
        headers: &headers,
        body: body.as_bytes(),
        source_ip: crate::helpers::random_loopback(),
        route_key: match path {
            "/SendMessage" => "POST /SendMessage",
            "/CheckMessageStatus" => "POST /CheckMessageStatus",
            "/api/otp/verify" => "POST /api/otp/verify",
            _ => "POST /api/otp/initiate",
        },
        request_id: "counted",
        at: time::OffsetDateTime::now_utc(),
    };
    lambda_http::request::from_str(&local_gateway::event::api_gateway_v2_event(&incoming).to_string()).expect("event")
}

async fn send(deps: &Deps, tenant: &Tenant, body: Value) -> (u16, Value) {
    let response = send_message::handle(deps, request("/SendMessage", &tenant.api_key, &body)).await.expect("handled");
    (response.status().as_u16(), serde_json::from_slice(response.body()).unwrap_or(Value::Null))
}

async fn check(deps: &Deps, tenant: &Tenant, id: &str) -> (u16, Value) {
    let body = json!({"id": id});
    let response = check_message_status::handle(deps, request("/CheckMessageStatus", &tenant.api_key, &body))
        .await
        .expect("handled");
    (response.status().as_u16(), serde_json::from_slice(response.body()).unwrap_or(Value::Null))
}

/// A notification carrying `statuses`, signed as Meta signs it, applied by the webhook's use case.
async fn receive_statuses(deps: &Deps, statuses: Value) -> lightotp::usecase::webhook::Applied {
    let body = crate::helpers::meta_notification(statuses);
    let signature = crate::helpers::meta_signature(&body);
    lightotp::usecase::webhook::receive_notification(deps, body.as_bytes(), Some(&signature)).await.expect("applied")
}

#[tokio::test]
async fn a_warm_send_makes_three_dynamodb_requests_no_secrets_request_and_one_whatsapp_request() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    let (deps, dynamodb, secrets) = counted_deps(&ctx).await;

    // Cold: the pepper, the WhatsApp token and the key's verifier are fetched once.
    let (status, _) = send(&deps, &tenant, json!({"otpCode": "1234", "toPhoneE164": fresh_sa_phone()})).await;
    assert_eq!(status, 200);
    let cold = secrets.take();
    assert_eq!(cold.len(), 3, "pepper, WhatsApp token, verifier: {cold:?}");
    assert_eq!(
        dynamodb.take_allowed(SEND_MESSAGE),
        ["UpdateItem", "Query", "BatchGetItem", "TransactWriteItems", "UpdateItem"],
        "the key's first use this hour (once per key per hour per instance); the raised per-IP limits (an instance's \
         first request, then once a minute); then the send's own"
    );

    let key = uuid::Uuid::new_v4().to_string();
    let body = json!({"otpCode": "5678", "toPhoneE164": fresh_sa_phone(), "idempotencyKey": key});
    let (status, reply) = send(&deps, &tenant, body.clone()).await;
    assert_eq!(status, 200, "{reply:?}");
    assert_eq!(
        dynamodb.take_allowed(SEND_MESSAGE),
        ["BatchGetItem", "TransactWriteItems", "UpdateItem"],
        "profile, price, cooldown, key, rate counter and purses in one read; the reservation (which counts the \
         request); the WhatsApp id"
    );
    assert_eq!(secrets.take(), Vec::<String>::new(), "a warm request makes no Secrets Manager call");
    assert_eq!(ctx.whatsapp_messages(&tenant).await.len(), 2, "one Graph API request per send");

    // A replay sends nothing and writes nothing but the rate counter.
    let (status, replayed) = send(&deps, &tenant, body).await;
    assert_eq!((status, &replayed), (200, &reply));
    assert_eq!(
        dynamodb.take_allowed(SEND_MESSAGE),
        ["BatchGetItem", "UpdateItem", "GetItem"],
        "the binding; rate counter; the answer"
    );
    assert_eq!(ctx.whatsapp_messages(&tenant).await.len(), 2, "a replay sends nothing");

    let id = reply["id"].as_str().expect("id");
    let (status, _) = check(&deps, &tenant, id).await;
    assert_eq!(status, 200);
    assert_eq!(
        dynamodb.take_allowed(CHECK_MESSAGE_STATUS),
        ["UpdateItem", "GetItem"],
        "CheckMessageStatus: rate counter and the message"
    );
    assert_eq!(secrets.take(), Vec::<String>::new());

    // A refusal found by the read (here the cooldown) costs the read and the request's count.
    let phone = fresh_sa_phone();
    assert_eq!(send(&deps, &tenant, json!({"otpCode": "1234", "toPhoneE164": phone})).await.0, 200);
    dynamodb.take();
    let (status, refusal) = send(&deps, &tenant, json!({"otpCode": "1234", "toPhoneE164": phone})).await;
    assert_eq!(status, 400, "{refusal:?}");
    assert_eq!(dynamodb.take_allowed(SEND_MESSAGE), ["BatchGetItem", "UpdateItem"], "the read; the count");
    // So does a balance refusal: the balances come with the read (the purses).
    let broke = ctx.tenant(crate::helpers::TenantSpec { credits: None, ..Default::default() }).await;
    assert_eq!(send(&deps, &broke, json!({"otpCode": "1234", "toPhoneE164": fresh_sa_phone()})).await.0, 400);
    dynamodb.take();
    let (status, refusal) = send(&deps, &broke, json!({"otpCode": "1234", "toPhoneE164": fresh_sa_phone()})).await;
    assert_eq!((status, refusal["errorMessage"].as_str()), (400, Some("InsufficientBalance")));
    assert_eq!(dynamodb.take_allowed(SEND_MESSAGE), ["BatchGetItem", "UpdateItem"], "the read; the count");
    // A refusal before the read (a malformed number) costs the count alone.
    let (status, _) = send(&deps, &tenant, json!({"otpCode": "1234", "toPhoneE164": "+1"})).await;
    assert_eq!(status, 400);
    assert_eq!(dynamodb.take_allowed(SEND_MESSAGE), ["UpdateItem"], "the count");
}

#[tokio::test]
async fn a_cold_start_fetches_each_named_secret_once_and_the_first_send_needs_only_its_key() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    let (deps, dynamodb, secrets) = counted_deps(&ctx).await;
    deps.warm_up(Warm { pepper: true, whatsapp_token: true, phone_metadata: true, ..Warm::default() }).await;
    let mut fetched = secrets.take();
    fetched.sort();
    assert_eq!(fetched, ["GetSecretValue", "GetSecretValue"], "the pepper and the WhatsApp token, once each");
    assert_eq!(dynamodb.take_allowed(SEND_MESSAGE), Vec::<String>::new(), "a cold start reads nothing from the table");

    deps.warm_up(Warm { pepper: true, whatsapp_token: true, ..Warm::default() }).await;
    assert_eq!(secrets.take(), Vec::<String>::new(), "warm secrets are not fetched again");

    let (status, _) = send(&deps, &tenant, json!({"otpCode": "482913", "toPhoneE164": fresh_sa_phone()})).await;
    assert_eq!(status, 200);
    assert_eq!(secrets.take(), ["GetSecretValue"], "only the API key's verifier is left to read");
    assert_eq!(
        dynamodb.take_allowed(SEND_MESSAGE)[..2],
        ["UpdateItem", "Query"],
        "the key's use this hour; the raised per-IP limits"
    );
}

#[tokio::test]
async fn a_made_up_key_costs_no_secrets_manager_call_and_ten_at_once_for_one_revoked_key_cost_one() {
    let ctx = Ctx::new().await;
    let (deps, _, secrets) = counted_deps(&ctx).await;
    deps.warm_up(Warm { pepper: true, ..Warm::default() }).await;
    secrets.take();
    let now = time::OffsetDateTime::now_utc();
    let refused = |answers: &[Result<lightotp::auth::ClientId, lightotp::auth::AuthError>]| {
        answers.iter().all(|a| matches!(a, Err(lightotp::auth::AuthError::NotFound)))
    };

    // Key-shaped, but not issued by us: its tag fails before any lookup (it made one call per request).
    let made_up: Vec<String> = (0..10)
        .map(|_| {
            format!(
                "lotp_{}_{}",
                &uuid::Uuid::new_v4().simple().to_string()[..16],
                uuid::Uuid::new_v4().simple().to_string().repeat(2)
            )
        })
        .collect();
    let answers = futures::future::join_all(made_up.iter().map(|key| deps.api_keys.authenticate(Some(key), now))).await;
    assert!(refused(&answers), "{answers:?}");
    assert_eq!(secrets.take(), Vec::<String>::new(), "no lookup for a key we never issued");

    // A key we issued and then revoked passes its tag; ten requests with it at once make one lookup between them
    // (single flight), and its absence is cached.
    let tenant = ctx.default_tenant().await;
    ctx.admin.revoke_key(&tenant.key_id, now).await.expect("revoke");
    let answers =
        futures::future::join_all((0..10).map(|_| deps.api_keys.authenticate(Some(&tenant.api_key), now))).await;
    assert!(refused(&answers), "{answers:?}");
    assert_eq!(secrets.take(), ["GetSecretValue"], "one lookup for the ten");
}

#[tokio::test]
async fn client_webhooks_add_no_request_to_a_send_and_cost_a_query_a_put_and_a_transaction_per_delivered_event() {
    use lightotp::domain::client_webhook::AddressPolicy;
    use lightotp::usecase::client_webhooks::{self, Attempt};

    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    // An endpoint on loopback that answers 200.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hooks", listener.local_addr().expect("address"));
    let app = axum::Router::new().route("/hooks", axum::routing::post(|| async { "ok" }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let admin = ctx.admin.clone().with_webhook_policy(AddressPolicy::AllowLoopback);
    admin.add_webhook(&tenant.client_id, &url, &[], time::OffsetDateTime::now_utc()).await.expect("endpoint");
    let sqs = aws_sdk_sqs::Client::new(&ctx.sdk_config().await);
    let queue = |name: &'static str| {
        let sqs = sqs.clone();
        async move {
            sqs.get_queue_url().queue_name(name).send().await.expect("queue").queue_url().unwrap_or_default().to_owned()
        }
    };
    let (deps, dynamodb, secrets, sqs_log) = counted(
        &ctx,
        vec![
            ("WEBHOOK_QUEUE_URL", queue("lightotp-webhooks").await),
            ("WEBHOOK_DEAD_LETTER_QUEUE_URL", queue("lightotp-webhooks-dead-letter").await),
            ("WEBHOOK_ALLOW_LOOPBACK", "1".to_owned()),
        ],
    )
    .await;

    // A client with an endpoint: a warm send makes exactly the requests it made before webhooks existed.
    let (status, _) = send(&deps, &tenant, json!({"otpCode": "1234", "toPhoneE164": fresh_sa_phone()})).await;
    assert_eq!(status, 200);
    dynamodb.take();
    secrets.take();
    let (status, reply) = send(&deps, &tenant, json!({"otpCode": "5678", "toPhoneE164": fresh_sa_phone()})).await;
    assert_eq!(status, 200);
    assert_eq!(dynamodb.take_allowed(SEND_MESSAGE), ["BatchGetItem", "TransactWriteItems", "UpdateItem"]);
    assert_eq!(sqs_log.take(), Vec::<String>::new(), "a send never talks to the queue");

    // The delivery function, for one status change.
    let change = read_by_whatsapp(&ctx, &tenant, reply["id"].as_str().expect("id")).await;
    let (recorded, fresh) = client_webhooks::record(&deps, &[change]).await.expect("recorded");
    assert_eq!((recorded.events, recorded.deliveries, fresh.len()), (1, 1, 1));
    assert_eq!(
        dynamodb.take_allowed(DELIVER_WEBHOOKS),
        ["Query", "PutItem"],
        "the client's endpoints once per batch; one put per delivery"
    );
    deps.webhook_queue.enqueue(&fresh).await.expect("enqueued");
    assert_eq!(sqs_log.take(), ["SendMessageBatch"], "ten deliveries to a request");

    let outcome = client_webhooks::attempt(&deps, &fresh[0]).await.expect("attempted");
    assert_eq!(outcome, Attempt::Delivered);
    assert_eq!(
        dynamodb.take_allowed(DELIVER_WEBHOOKS),
        ["BatchGetItem", "TransactWriteItems"],
        "the delivery and its endpoint; the outcome"
    );
    assert_eq!(secrets.take(), Vec::<String>::new(), "the pepper was already in memory");
    assert_eq!(sqs_log.take(), Vec::<String>::new(), "the event source deletes the message, not the function");
    // The same message again: the delivery is done, and nothing is posted or written.
    assert_eq!(client_webhooks::attempt(&deps, &fresh[0]).await.expect("attempted"), Attempt::Skipped);
    assert_eq!(dynamodb.take_allowed(DELIVER_WEBHOOKS), ["BatchGetItem"]);
}

#[tokio::test]
async fn a_late_or_repeated_queue_message_costs_one_read_and_posts_nothing() {
    use lightotp::domain::client_webhook::AddressPolicy;
    use lightotp::usecase::client_webhooks::{self, Attempt};
    use std::sync::atomic::{AtomicUsize, Ordering};

    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    // An endpoint that refuses every delivery, counting them.
    let posts = Arc::new(AtomicUsize::new(0));
    let counted_posts = Arc::clone(&posts);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hooks", listener.local_addr().expect("address"));
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move || {
            let posts = Arc::clone(&counted_posts);
            async move {
                posts.fetch_add(1, Ordering::SeqCst);
                axum::http::StatusCode::SERVICE_UNAVAILABLE
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let admin = ctx.admin.clone().with_webhook_policy(AddressPolicy::AllowLoopback);
    admin.add_webhook(&tenant.client_id, &url, &[], time::OffsetDateTime::now_utc()).await.expect("endpoint");
    let (deps, dynamodb, _, _) = counted(&ctx, vec![("WEBHOOK_ALLOW_LOOPBACK", "1".to_owned())]).await;
    deps.warm_up(Warm { pepper: true, ..Warm::default() }).await;

    let (status, reply) = send(&deps, &tenant, json!({"otpCode": "1234", "toPhoneE164": fresh_sa_phone()})).await;
    assert_eq!(status, 200);
    let change = read_by_whatsapp(&ctx, &tenant, reply["id"].as_str().expect("id")).await;
    let (_, fresh) = client_webhooks::record(&deps, &[change]).await.expect("recorded");
    assert_eq!(fresh.len(), 1);
    dynamodb.take();

    assert_eq!(client_webhooks::attempt(&deps, &fresh[0]).await.expect("attempted"), Attempt::WillRetry);
    assert_eq!(posts.load(Ordering::SeqCst), 1);
    dynamodb.take();
    // SQS gives the same message again (or late): the delivery is due later now, so nothing is posted or written,
    // and the retry keeps its delay.
    assert_eq!(client_webhooks::attempt(&deps, &fresh[0]).await.expect("attempted"), Attempt::Skipped);
    assert_eq!(posts.load(Ordering::SeqCst), 1, "no early retry");
    assert_eq!(dynamodb.take_allowed(DELIVER_WEBHOOKS), ["BatchGetItem"]);
}

/// A change of one of the tenant's messages to `Read`, as the table's stream would show it: images made here from
/// the stored message, with a status the message never reaches, so the stack's own delivery pass never sees it.
async fn read_by_whatsapp(ctx: &Ctx, tenant: &Tenant, id: &str) -> lightotp::usecase::client_webhooks::Change {
    use aws_sdk_dynamodb::types::AttributeValue;
    let stored = ctx
        .admin
        .store
        .client()
        .get_item()
        .table_name("lightotp")
        .key("pk", AttributeValue::S(format!("CLIENT#{}", tenant.client_id)))
        .key("sk", AttributeValue::S(format!("MSG#{id}")))
        .consistent_read(true)
        .send()
        .await
        .expect("the message")
        .item()
        .cloned()
        .expect("stored");
    let mut new = stored.clone();
    new.insert("status".to_owned(), AttributeValue::S("Read".to_owned()));
    lightotp::usecase::client_webhooks::Change { old: Some(stored), new: Some(new) }
}

#[tokio::test]
async fn a_fallback_client_pays_one_fallback_key_fetch_and_a_fallback_at_send_time_three_more_requests() {
    let ctx = Ctx::new().await;
    let tenant = ctx.fallback_tenant(crate::helpers::TenantSpec::default()).await;
    let (deps, dynamodb, secrets) = counted_deps(&ctx).await;

    // Cold, then warm: the fallback key is fetched once per instance, with the other secrets, and a send with the
    // code kept makes the same requests as any (the code is one more item in the same reservation).
    let (status, _) = send(&deps, &tenant, json!({"otpCode": "1234", "toPhoneE164": fresh_sa_phone()})).await;
    assert_eq!(status, 200);
    assert_eq!(secrets.take().len(), 4, "pepper, WhatsApp token, verifier, fallback key");
    dynamodb.take();
    let (status, _) = send(&deps, &tenant, json!({"otpCode": "1234", "toPhoneE164": fresh_sa_phone()})).await;
    assert_eq!(status, 200);
    assert_eq!(dynamodb.take_allowed(SEND_MESSAGE), ["BatchGetItem", "TransactWriteItems", "UpdateItem"]);
    assert_eq!(secrets.take(), Vec::<String>::new());

    let phone = fresh_sa_phone();
    ctx.whatsapp_fails_next(
        &tenant,
        1,
        json!({"httpStatus": 400, "code": 131026, "message": "(#131026) Message undeliverable"}),
    )
    .await;
    let (status, reply) = send(&deps, &tenant, json!({"otpCode": "1234", "toPhoneE164": phone})).await;
    assert_eq!(status, 200, "{reply:?}");
    assert_eq!(
        dynamodb.take_allowed(SEND_MESSAGE),
        ["BatchGetItem", "TransactWriteItems", "GetItem", "BatchGetItem", "TransactWriteItems", "UpdateItem"],
        "the send's read and reservation; the SMS price, the purses again, the handover, the SMS recorded sent"
    );
    assert_eq!(ctx.sms_to(&phone).await.len(), 1, "one SNS Publish");
}

async fn initiate(deps: &Deps, tenant: &Tenant, body: Value) -> (u16, Option<String>) {
    let response =
        otp_initiate::handle(deps, request("/api/otp/initiate", &tenant.api_key, &body)).await.expect("handled");
    let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
    (response.status().as_u16(), retry_after)
}

#[tokio::test]
async fn an_initiate_paid_by_a_subscription_makes_five_requests_and_a_limited_one_reads_nothing_for_its_retry_after() {
    let ctx = Ctx::exclusive().await;
    // 5 s into a minute: the eleven initiates to one number stay in it.
    let now = ctx.gateway_now().await;
    ctx.advance_clock(f64::from(60 - u32::from(now.second())) + 5.0).await;
    let tenant = ctx.default_tenant().await;
    let (deps, dynamodb, _) = counted_deps(&ctx).await;
    let phone = fresh_sa_phone();
    let body = json!({"receiver": phone, "payment_type": "subscription"});

    assert_eq!(initiate(&deps, &tenant, body.clone()).await.0, 200, "cold");
    dynamodb.take();
    assert_eq!(initiate(&deps, &tenant, body.clone()).await.0, 200);
    assert_eq!(
        dynamodb.take_allowed(OTP_INITIATE),
        ["UpdateItem", "GetItem", "TransactWriteItems", "BatchGetItem", "TransactWriteItems"],
        "rate counter; profile; both limits counted; the purses; the debit with the request"
    );
    for _ in 3..=10 {
        assert_eq!(initiate(&deps, &tenant, body.clone()).await.0, 200);
    }
    dynamodb.take();
    assert_eq!(initiate(&deps, &tenant, body.clone()).await, (429, Some("60".to_owned())), "the eleventh");
    assert_eq!(
        dynamodb.take_allowed(OTP_INITIATE),
        ["UpdateItem", "GetItem", "TransactWriteItems", "UpdateItem", "UpdateItem"],
        "the limit refused; the cool-off on this minute's counter and the next one's"
    );
    let (status, retry_after) = initiate(&deps, &tenant, body).await;
    assert_eq!(status, 429, "cooling off");
    assert!(retry_after.and_then(|s| s.parse::<u64>().ok()).is_some_and(|s| (55..=60).contains(&s)));
    assert_eq!(
        dynamodb.take_allowed(OTP_INITIATE),
        ["UpdateItem", "GetItem", "TransactWriteItems"],
        "the cool-off's end comes back with the refused counter: no read for Retry-After"
    );
}

#[tokio::test]
async fn a_failed_status_handed_over_to_sms_reads_the_purses_as_its_policy_allows() {
    let ctx = Ctx::new().await;
    let tenant = ctx.fallback_tenant(crate::helpers::TenantSpec::default()).await;
    let (deps, dynamodb, _) = counted_deps(&ctx).await;
    let phone = fresh_sa_phone();
    let (status, reply) = send(&deps, &tenant, json!({"otpCode": "1234", "toPhoneE164": phone})).await;
    assert_eq!(status, 200, "{reply:?}");
    let id = reply["id"].as_str().expect("id");
    let wamid = ctx.last_wamid(&tenant).await;
    dynamodb.take();

    // WhatsApp cannot deliver it: signed as Meta signs, with the local stack's app secret.
    let failed = json!({"id": wamid, "status": "failed", "timestamp": "1", "recipient_id": "1",
        "biz_opaque_callback_data": format!("{}/{id}", tenant.client_id),
        "errors": [{"code": 131026, "title": "Message undeliverable"}]});
    receive_statuses(&deps, json!([failed])).await;
    assert_eq!(ctx.sms_to(&phone).await.len(), 1, "the code went by SMS");
    assert_eq!(
        dynamodb.take_allowed(WHATSAPP_WEBHOOK),
        ["GetItem", "GetItem", "GetItem", "GetItem", "BatchGetItem", "TransactWriteItems", "UpdateItem"],
        "the message; its sealed code; the profile; the SMS price; the purses; the handover; the SMS recorded sent"
    );
}

#[tokio::test]
async fn each_status_meta_reports_is_one_write_without_a_read() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    let (deps, dynamodb, _) = counted_deps(&ctx).await;
    let (status, reply) = send(&deps, &tenant, json!({"otpCode": "1234", "toPhoneE164": fresh_sa_phone()})).await;
    assert_eq!(status, 200, "{reply:?}");
    let id = reply["id"].as_str().expect("id");
    let wamid = ctx.last_wamid(&tenant).await;
    let callback = format!("{}/{id}", tenant.client_id);
    dynamodb.take();

    // A status naming our message but about another WhatsApp id changes nothing (the write's condition); then Meta's
    // three statuses for a delivered OTP, and one delivered again (it delivers at least once).
    let statuses = [
        ("wamid.another-send", "delivered", 0),
        (wamid.as_str(), "sent", 1),
        (wamid.as_str(), "delivered", 1),
        (wamid.as_str(), "read", 1),
        (wamid.as_str(), "delivered", 0),
    ];
    for (about, reported, changed) in statuses {
        let applied = receive_statuses(
            &deps,
            json!([{"id": about, "status": reported, "timestamp": "1",
            "recipient_id": "1", "biz_opaque_callback_data": callback}]),
        )
        .await;
        assert_eq!(applied.changed, changed, "{reported}");
        assert_eq!(dynamodb.take_allowed(WHATSAPP_WEBHOOK), ["UpdateItem"], "{reported}: the write alone");
    }
    let (_, checked) = check(&deps, &tenant, id).await;
    assert_eq!(checked["messageStatus"], "Read", "the statuses were applied");
    dynamodb.take();

    // A status without our callback data finds the message's keys in wamid-index, and writes: no read of the message.
    let applied =
        receive_statuses(&deps, json!([{"id": wamid, "status": "read", "timestamp": "2", "recipient_id": "1"}])).await;
    assert_eq!((applied.received, applied.changed), (1, 0), "already read");
    assert_eq!(dynamodb.take_allowed(WHATSAPP_WEBHOOK), ["Query", "UpdateItem"], "the index, then the write");
    let applied = receive_statuses(
        &deps,
        json!([{"id": "wamid.not-ours", "status": "read", "timestamp": "2", "recipient_id": "1"}]),
    )
    .await;
    assert_eq!((applied.received, applied.changed), (1, 0), "not ours");
    assert_eq!(dynamodb.take_allowed(WHATSAPP_WEBHOOK), ["Query"], "the index finds nothing: nothing written");
}

#[tokio::test]
async fn a_verify_makes_three_requests_its_policy_allows_right_code_or_wrong() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    ctx.admin.top_up_wallet(&tenant.client_id, lightotp::domain::pricing::Credits::new(5)).await.expect("top up");
    let phone = fresh_sa_phone();
    let initiated = ctx.verify_api("/api/otp/initiate", &tenant.api_key, &json!({"receiver": phone})).await;
    assert_eq!(initiated.status, 200, "{:?}", initiated.body);
    let request_id = initiated.body["request_id"].as_str().expect("request_id").to_owned();
    let (_, code) = ctx.last_code_sent_to(&phone).await;
    let wrong = if code.starts_with('0') { code.replacen('0', "1", 1) } else { code.replacen(&code[..1], "0", 1) };

    let (deps, dynamodb, _) = counted_deps(&ctx).await;
    let verify = |code: String| {
        let body = json!({"request_id": request_id, "code": code});
        otp_verify::handle(&deps, request("/api/otp/verify", &tenant.api_key, &body))
    };
    // The instance's first request also records the key's use for the hour: counted from the second on.
    assert_eq!(verify(wrong.clone()).await.expect("handled").status(), 400, "the wrong code");
    dynamodb.take();
    assert_eq!(verify(wrong).await.expect("handled").status(), 400, "the wrong code again");
    assert_eq!(
        dynamodb.take_allowed(OTP_VERIFY),
        ["UpdateItem", "GetItem", "UpdateItem"],
        "rate counter; the request; the attempt counted"
    );
    assert_eq!(verify(code).await.expect("handled").status(), 200, "the right code");
    assert_eq!(
        dynamodb.take_allowed(OTP_VERIFY),
        ["UpdateItem", "GetItem", "UpdateItem"],
        "rate counter; the request; verified once"
    );
}

#[tokio::test]
async fn a_sweep_run_queries_each_shard_once_as_its_policy_allows() {
    let ctx = Ctx::new().await;
    let (deps, dynamodb, _) = counted_deps(&ctx).await;
    sweep_stuck_messages::run(&deps).await.expect("a sweep run");
    let taken = dynamodb.take_allowed(SWEEP);
    assert_eq!(
        taken.iter().filter(|operation| *operation == "Query").count(),
        16,
        "the 8 PENDING and the 8 FALLBACK shards ({taken:?}); anything stranded by another test adds its own writes"
    );
}
