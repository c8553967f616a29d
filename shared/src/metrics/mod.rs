//! The platform's metrics (docs/operations.md, "Metrics"): counters and latencies in CloudWatch's Embedded Metric
//! Format, through the `metrics` facade and the `metrics_cloudwatch_embedded` recorder, in one namespace. Each metric
//! has a function here, in the product's words, with its few dimensions: never a client, a phone number, a code, a
//! key or a token (cardinality is money, and those are secrets). A function flushes once per invocation
//! ([`flushed`]), one JSON line per dimension set on standard output, which CloudWatch Logs turns into metrics.
//!
//! Without [`install`] (unit tests, tools) every call here does nothing.

pub mod emf;

use std::sync::OnceLock;
use std::time::Duration;

use metrics_cloudwatch_embedded::Collector;

use crate::domain::pricing::Credits;

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "LightOTP";

static COLLECTOR: OnceLock<Option<&'static Collector>> = OnceLock::new();

/// The environment variable that turns metrics off (`off`): the bench measures what they cost against the same
/// build without them.
pub const SWITCH_ENV: &str = "LIGHTOTP_METRICS";

/// Installs the process's recorder, once (later calls return the same collector); `None` if another recorder was
/// installed first, or metrics are switched off (`LIGHTOTP_METRICS=off`).
pub fn install() -> Option<&'static Collector> {
    *COLLECTOR.get_or_init(|| {
        if std::env::var(SWITCH_ENV).is_ok_and(|v| v == "off") {
            return None;
        }
        let collector = metrics_cloudwatch_embedded::Builder::new().cloudwatch_namespace(NAMESPACE).init();
        match collector {
            Ok(collector) => {
                describe();
                Some(collector)
            }
            Err(err) => {
                tracing::error!(error = %err, "the metrics recorder could not be installed; no metrics");
                None
            }
        }
    })
}

/// Writes what was recorded since the last flush, as EMF lines, to `writer`, and starts again from zero.
pub fn flush(writer: impl std::io::Write) {
    if let Some(Some(collector)) = COLLECTOR.get()
        && let Err(err) = collector.flush(writer)
    {
        tracing::error!(error = %err, "metrics could not be written");
    }
}

/// Runs one invocation, then flushes its metrics to standard output (where Lambda's log agent reads them), all its
/// lines in one write (standard output is line-buffered: one system call per line otherwise).
pub async fn flushed<T>(invocation: impl Future<Output = T>) -> T {
    use std::io::Write;
    let output = invocation.await;
    let mut lines = Vec::with_capacity(1024);
    flush(&mut lines);
    if !lines.is_empty() {
        let _ = std::io::stdout().lock().write_all(&lines);
    }
    output
}

/// Names of metrics and dimensions, shared by the emitters, the docs, the alarms and the tests.
pub mod name {
    #![allow(missing_docs)]
    pub const REQUESTS: &str = "Requests";
    pub const WHATSAPP_SENDS: &str = "WhatsAppSends";
    pub const WHATSAPP_FAILURES: &str = "WhatsAppFailures";
    pub const GRAPH_LATENCY: &str = "GraphApiLatency";
    pub const REFUNDS: &str = "Refunds";
    pub const CREDITS_CHARGED: &str = "CreditsCharged";
    pub const CREDITS_REFUNDED: &str = "CreditsRefunded";
    pub const FALLBACKS: &str = "Fallbacks";
    pub const SMS_FAILURES: &str = "SmsFailures";
    pub const SWEEP_RUNS: &str = "SweepRuns";
    pub const MESSAGES_SWEPT: &str = "MessagesSwept";
    pub const FALLBACK_CODES_ERASED: &str = "FallbackCodesErased";
    pub const WEBHOOK_ATTEMPTS: &str = "WebhookAttempts";
    pub const WEBHOOK_LATENCY: &str = "WebhookLatency";
    pub const WEBHOOK_OLDEST_DUE_AGE: &str = "WebhookOldestDueAge";
    pub const DYNAMODB_RETRIES: &str = "DynamoDbRetries";
    pub const DYNAMODB_ERRORS: &str = "DynamoDbErrors";
    pub const SIGN_INS: &str = "SignIns";
    pub const KIND: &str = "Kind";

    /// Every metric above.
    pub const ALL: [&str; 18] = [
        REQUESTS,
        WHATSAPP_SENDS,
        WHATSAPP_FAILURES,
        GRAPH_LATENCY,
        REFUNDS,
        CREDITS_CHARGED,
        CREDITS_REFUNDED,
        FALLBACKS,
        SMS_FAILURES,
        SWEEP_RUNS,
        MESSAGES_SWEPT,
        FALLBACK_CODES_ERASED,
        WEBHOOK_ATTEMPTS,
        WEBHOOK_LATENCY,
        WEBHOOK_OLDEST_DUE_AGE,
        DYNAMODB_RETRIES,
        DYNAMODB_ERRORS,
        SIGN_INS,
    ];

    pub const ENDPOINT: &str = "Endpoint";
    pub const OUTCOME: &str = "Outcome";
    pub const CODE: &str = "Code";
    pub const CAUSE: &str = "Cause";
    pub const USE: &str = "Use";
}

fn describe() {
    use ::metrics::{Unit, describe_counter, describe_histogram};
    describe_counter!(name::REQUESTS, Unit::Count, "API requests by endpoint and outcome");
    describe_counter!(name::WHATSAPP_SENDS, Unit::Count, "Graph API sends by outcome");
    describe_counter!(name::WHATSAPP_FAILURES, Unit::Count, "WhatsApp failures by Graph error code");
    describe_histogram!(name::GRAPH_LATENCY, Unit::Milliseconds, "one Graph API attempt, request to answer");
    describe_counter!(name::REFUNDS, Unit::Count, "refunds given, by cause");
    describe_counter!(name::CREDITS_CHARGED, Unit::Count, "credits debited, by what they paid for");
    describe_counter!(name::CREDITS_REFUNDED, Unit::Count, "credits given back");
    describe_counter!(name::FALLBACKS, Unit::Count, "WhatsApp → SMS fallbacks by outcome");
    describe_counter!(name::SMS_FAILURES, Unit::Count, "SMS SNS refused, by use");
    describe_counter!(name::SWEEP_RUNS, Unit::Count, "sweep runs");
    describe_counter!(name::MESSAGES_SWEPT, Unit::Count, "stranded messages the sweep failed and refunded");
    describe_counter!(name::FALLBACK_CODES_ERASED, Unit::Count, "fallback codes the sweep erased after their window");
    describe_counter!(name::WEBHOOK_ATTEMPTS, Unit::Count, "client webhook attempts by outcome");
    describe_histogram!(name::WEBHOOK_LATENCY, Unit::Milliseconds, "one client webhook POST, request to answer");
    describe_histogram!(name::WEBHOOK_OLDEST_DUE_AGE, Unit::Seconds, "how late the oldest due delivery is");
    describe_counter!(name::DYNAMODB_RETRIES, Unit::Count, "store operations tried again after a race or throttling");
    describe_counter!(name::DYNAMODB_ERRORS, Unit::Count, "DynamoDB errors by kind");
    describe_counter!(name::SIGN_INS, Unit::Count, "dashboard sign-ins by outcome");
}

/// The API endpoints, as the `Endpoint` dimension names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /SendMessage`.
    SendMessage,
    /// `POST /CheckMessageStatus`.
    CheckMessageStatus,
    /// `POST /api/otp/initiate`.
    OtpInitiate,
    /// `POST /api/otp/verify`.
    OtpVerify,
}

impl Endpoint {
    fn as_str(self) -> &'static str {
        match self {
            Self::SendMessage => "SendMessage",
            Self::CheckMessageStatus => "CheckMessageStatus",
            Self::OtpInitiate => "OtpInitiate",
            Self::OtpVerify => "OtpVerify",
        }
    }
}

/// One API request answered: `outcome` is `OK`, `Replay`, or the refusal's name (a fixed word, never a text).
pub fn request(endpoint: Endpoint, outcome: &'static str) {
    ::metrics::counter!(name::REQUESTS, name::ENDPOINT => endpoint.as_str(), name::OUTCOME => outcome).increment(1);
}

/// How the Graph API answered a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhatsAppSend {
    /// It took the message.
    Accepted,
    /// It refused it for a reason about the recipient or the message.
    Refused,
    /// It refused it because of our token, permissions or account.
    OurSide,
    /// No answer, a 5xx on every attempt, or a timeout.
    Unavailable,
}

/// One send handed to the Graph API, and how it ended.
pub fn whatsapp_send(outcome: WhatsAppSend) {
    let outcome = match outcome {
        WhatsAppSend::Accepted => "Accepted",
        WhatsAppSend::Refused => "Refused",
        WhatsAppSend::OurSide => "OurSide",
        WhatsAppSend::Unavailable => "Unavailable",
    };
    ::metrics::counter!(name::WHATSAPP_SENDS, name::OUTCOME => outcome).increment(1);
}

/// A WhatsApp failure (a send's refusal or a `failed` status) with its Graph code (`none` without one). Codes are
/// Meta's own, a short list: they are a dimension, never a text.
pub fn whatsapp_failure(code: Option<i64>) {
    let code = code.map_or_else(|| "none".to_owned(), |code| code.to_string());
    ::metrics::counter!(name::WHATSAPP_FAILURES, name::CODE => code).increment(1);
}

/// How long one Graph API attempt took.
pub fn graph_latency(took: Duration) {
    ::metrics::histogram!(name::GRAPH_LATENCY).record(took.as_secs_f64() * 1000.0);
}

/// Why credits were given back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundCause {
    /// SendMessage's own send failed.
    Send,
    /// A `failed` status webhook.
    Status,
    /// The sweep failed a stranded message.
    Sweep,
    /// The WhatsApp → SMS fallback: the WhatsApp attempt handed over, or an SMS SNS refused.
    Fallback,
    /// SNS refused a Verify API SMS.
    VerifySms,
}

/// One refund (of a message or a Verify request) of `credits`, given back once.
pub fn refund(cause: RefundCause, credits: Credits) {
    ::metrics::counter!(name::CREDITS_REFUNDED).increment(credits.get());
    let cause = match cause {
        RefundCause::Send => "Send",
        RefundCause::Status => "Status",
        RefundCause::Sweep => "Sweep",
        RefundCause::Fallback => "Fallback",
        RefundCause::VerifySms => "VerifySms",
    };
    ::metrics::counter!(name::REFUNDS, name::CAUSE => cause).increment(1);
}

/// How a WhatsApp → SMS fallback ended (`SentBySms`, `SmsRefused`, `NobodyCanPay`, `FailedOnWhatsApp`).
pub fn fallback(outcome: &'static str) {
    ::metrics::counter!(name::FALLBACKS, name::OUTCOME => outcome).increment(1);
}

/// What an SMS was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsUse {
    /// A Verify API code.
    Verify,
    /// A WhatsApp → SMS fallback.
    Fallback,
}

/// SNS refused an SMS.
pub fn sms_failure(sms: SmsUse) {
    let sms = match sms {
        SmsUse::Verify => "Verify",
        SmsUse::Fallback => "Fallback",
    };
    ::metrics::counter!(name::SMS_FAILURES, name::USE => sms).increment(1);
}

/// One sweep run: how many stranded messages it failed and refunded, and how many fallback codes it erased.
pub fn sweep(messages_swept: usize, codes_erased: usize) {
    ::metrics::counter!(name::SWEEP_RUNS).increment(1);
    ::metrics::counter!(name::MESSAGES_SWEPT).increment(u64::try_from(messages_swept).unwrap_or(u64::MAX));
    ::metrics::counter!(name::FALLBACK_CODES_ERASED).increment(u64::try_from(codes_erased).unwrap_or(u64::MAX));
}

/// How a client webhook attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookAttempt {
    /// The endpoint answered 2xx.
    Delivered,
    /// It failed; another attempt is due later.
    WillRetry,
    /// It failed for the last time (or the endpoint is disabled or gone): the delivery failed.
    Failed,
}

/// One client webhook attempt recorded, with how long its POST took (`None`: not posted, the endpoint was unusable).
pub fn webhook_attempt(outcome: WebhookAttempt, took: Option<Duration>) {
    let outcome = match outcome {
        WebhookAttempt::Delivered => "Delivered",
        WebhookAttempt::WillRetry => "WillRetry",
        WebhookAttempt::Failed => "Failed",
    };
    ::metrics::counter!(name::WEBHOOK_ATTEMPTS, name::OUTCOME => outcome).increment(1);
    if let Some(took) = took {
        ::metrics::histogram!(name::WEBHOOK_LATENCY).record(took.as_secs_f64() * 1000.0);
    }
}

/// How late the oldest delivery due now is (0 when none is), as the schedule finds it.
pub fn webhook_oldest_due(late: Duration) {
    ::metrics::histogram!(name::WEBHOOK_OLDEST_DUE_AGE).record(late.as_secs_f64());
}

/// A store operation tried again, after a lost race, a conflict or throttling.
pub fn dynamodb_retry() {
    ::metrics::counter!(name::DYNAMODB_RETRIES).increment(1);
}

/// A DynamoDB error that reached the store's caller: `Throttled`, `Conflict`, `ConditionLost` or `Other`.
pub fn dynamodb_error(kind: &'static str) {
    ::metrics::counter!(name::DYNAMODB_ERRORS, name::KIND => kind).increment(1);
}

/// A dashboard sign-in: `SignedIn` or `Refused` (a wrong password, an unknown email, or the throttle).
pub fn sign_in(outcome: &'static str) {
    ::metrics::counter!(name::SIGN_INS, name::OUTCOME => outcome).increment(1);
}

/// What credits paid for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreditUse {
    /// A WhatsApp message.
    WhatsApp,
    /// A WhatsApp → SMS fallback's SMS.
    Sms,
    /// A Verify API request's SMS.
    Verify,
}

/// `credits` debited (a reservation, a handover, a Verify charge that committed).
pub fn credits_charged(paid_for: CreditUse, credits: Credits) {
    let paid_for = match paid_for {
        CreditUse::WhatsApp => "WhatsApp",
        CreditUse::Sms => "Sms",
        CreditUse::Verify => "Verify",
    };
    ::metrics::counter!(name::CREDITS_CHARGED, name::USE => paid_for).increment(credits.get());
}
