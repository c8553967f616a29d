//! The one table's names: keys, key prefixes, attributes and indexes. `template.yaml` declares the same table, and a
//! test fails when the two disagree; the local stack creates the table from `template.yaml` itself.

/// Partition key attribute.
pub const PK: &str = "pk";
/// Sort key attribute.
pub const SK: &str = "sk";
/// The sparse index that finds a message by its WhatsApp id.
pub const WAMID_INDEX: &str = "wamid-index";
/// The sparse index of messages still waiting for WhatsApp's answer (`pendingBucket`, `pendingSince`), which the
/// sweep reads.
pub const PENDING_INDEX: &str = "pending-index";
/// The value of `pendingBucket` for messages, shard 0 (see [`pending_bucket`]).
pub const PENDING_BUCKET: &str = "PENDING";
/// How many index partitions the messages waiting for WhatsApp's answer, and the codes kept for the fallback, are
/// spread over: every send enters and leaves `pending-index`, and one index partition takes 1,000 write units a
/// second, so one bucket would cap every client together at 500 sends a second (docs/data-model.md, "pending-index").
pub const PENDING_SHARDS: usize = 8;

/// The `pendingBucket` of `base` (`PENDING` or `FALLBACK`) for a message: shard 0 is `base` itself (every entry
/// before the shards existed is there), shard `n` is `<base>#<n>`, chosen by the message's id.
pub fn pending_bucket(base: &str, message_id: &str) -> String {
    shard_name(base, crate::domain::spread_over(message_id, PENDING_SHARDS))
}

/// The name of shard `shard` of what `base` names (a `pendingBucket`, an endpoint's log partition): shard 0 is `base`
/// itself, so that what was written before the shards existed is in shard 0; shard `n` is `<base>#<n>`.
pub fn shard_name(base: &str, shard: usize) -> String {
    match shard {
        0 => base.to_owned(),
        shard => format!("{base}#{shard}"),
    }
}
/// The value of `pendingBucket` for orders waiting for an operator: the orders queue is one `Query` of
/// `pending-index` (oldest first), and never meets the sweep's messages.
pub const PENDING_ORDERS_BUCKET: &str = "ORDER";
/// The value of `pendingBucket` for client webhook deliveries waiting for an attempt, shard 0 (see
/// [`webhook_bucket`]): `pendingSince` is then when the next attempt is due, and the delivery function's tick reads
/// the due ones (oldest first in each shard).
pub const PENDING_WEBHOOKS_BUCKET: &str = "WEBHOOK";
/// How many index partitions the deliveries waiting for an attempt are spread over. Every event an endpoint receives
/// enters `pending-index` when it is recorded and leaves it when it is delivered (2 write units), and one index
/// partition takes 1,000 write units a second, so one bucket would cap the whole platform at 500 events a second;
/// 8 take 4,000 (docs/performance.md, "The ceiling per client").
pub const WEBHOOK_SHARDS: usize = 8;

/// The `pendingBucket` of a delivery, chosen by its sort key: shard 0 is `WEBHOOK` itself (every delivery recorded
/// before the shards existed is there), shard `n` is `WEBHOOK#<n>`.
pub fn webhook_bucket(delivery_sort_key: &str) -> String {
    shard_name(PENDING_WEBHOOKS_BUCKET, crate::domain::spread_over(delivery_sort_key, WEBHOOK_SHARDS))
}
/// How many partitions one endpoint's log (its deliveries and their attempts) is spread over. Each event an endpoint
/// receives writes about 5 units to its log (the delivery recorded, then the attempt's transaction), and one partition
/// takes 1,000 write units a second under keys that grow with time (DynamoDB cannot split it for heat): one partition
/// would cap an endpoint at about 200 events a second; 32 take about 6,400, the three statuses of the 2,000 sends a
/// second one client's purses allow (docs/performance.md, "The ceiling per client").
pub const WEBHOOK_LOG_SHARDS: usize = 32;

/// The log shard of an event's delivery, chosen by the event's id: the same event is always in the same shard, so
/// "the delivery of this event" is one partition's read.
pub fn webhook_log_shard(event_id: &str) -> usize {
    crate::domain::spread_over(event_id, WEBHOOK_LOG_SHARDS)
}
/// The value of `pendingBucket` for codes kept for the WhatsApp → SMS fallback: `pendingSince` is then when the
/// fallback window closes, and the sweep erases the codes whose window closed (oldest first).
pub const PENDING_FALLBACK_CODES_BUCKET: &str = "FALLBACK";
/// The attribute DynamoDB's TTL deletes items by (epoch seconds).
pub const TTL_ATTRIBUTE: &str = "expiresAt";

/// Attribute names, in one place so that expressions and readers agree.
pub mod attr {
    #![allow(missing_docs)]
    pub const NAME: &str = "name";
    pub const EMAIL: &str = "email";
    pub const LANGUAGE: &str = "language";
    pub const SMS_SENDER: &str = "smsSender";
    pub const SENDER_PHONE_NUMBER_ID: &str = "senderPhoneNumberId";
    pub const SENDER_DISPLAY_PHONE: &str = "senderDisplayPhone";
    pub const TEMPLATES: &str = "templates";
    pub const TEMPLATE_NAME: &str = "templateName";
    pub const CREATED_AT: &str = "createdAt";
    pub const CLIENT_ID: &str = "clientId";
    pub const SUBSCRIPTION_ID: &str = "subscriptionId";
    pub const GRANTED: &str = "granted";
    pub const BALANCE: &str = "balance";
    pub const STATE: &str = "state";
    pub const LOW_BALANCE_PERCENT: &str = "lowBalancePercent";
    pub const CREDITS: &str = "credits";
    pub const MESSAGE_ID: &str = "messageId";
    pub const STATUS: &str = "status";
    pub const TO_PHONE: &str = "toPhoneE164";
    pub const REGION: &str = "region";
    pub const COST: &str = "cost";
    pub const CHARGED_SUBSCRIPTION: &str = "chargedSubscription";
    pub const WAMID: &str = "wamid";
    pub const PENDING_SINCE: &str = "pendingSince";
    pub const UPDATED_AT: &str = "updatedAt";
    pub const FAILURE_CODE: &str = "failureCode";
    pub const FAILURE_TITLE: &str = "failureTitle";
    pub const FAILURE_REASON: &str = "failureReason";
    pub const FAILED_AT: &str = "failedAt";
    pub const REFUNDED_AT: &str = "refundedAt";
    pub const KEY_ID: &str = "keyId";
    pub const EXPIRES: &str = "keyExpiresAt";
    pub const REVOKED_AT: &str = "revokedAt";
    pub const IDEMPOTENCY_KEY: &str = "idempotencyKey";
    pub const FINGERPRINT: &str = "fingerprint";
    pub const VERSION: &str = "version";
    pub const STREAK: &str = "streak";
    pub const RECENT: &str = "recent";
    pub const AT: &str = "at";
    pub const REPLAY_STATUS: &str = "replayStatus";
    pub const REPLAY_BODY: &str = "replayBody";
    pub const COUNT: &str = "count";
    pub const LOW_BALANCE_THRESHOLD: &str = "lowBalanceThreshold";
    pub const LOW_BALANCE_NOTIFIED_AT: &str = "lowBalanceNotifiedAt";
    pub const PENDING_BUCKET: &str = "pendingBucket";
    pub const HUMAN_LANGUAGE: &str = "lang";
    pub const REQUEST_ID: &str = "requestId";
    pub const RECEIVER: &str = "receiver";
    pub const CODE_HASH: &str = "codeHash";
    pub const CODE_EXPIRES_AT: &str = "codeExpiresAt";
    pub const ATTEMPTS: &str = "attempts";
    pub const CHARGED_TO: &str = "chargedTo";
    pub const SENDER: &str = "sender";
    pub const UNTIL: &str = "until";
    pub const VERIFIED_AT: &str = "verifiedAt";
    pub const SMS_TEMPLATES: &str = "smsTemplates";
    pub const FALLBACK: &str = "fallback";
    pub const WEBHOOK_ENDPOINTS: &str = "webhookEndpoints";
    pub const CHANNEL: &str = "channel";
    pub const FALLBACK_FAILURE: &str = "fallbackFailure";
    pub const FALLBACK_SMS_TEXTS: &str = "fallbackSmsTexts";
    pub const FALLBACK_UNTIL: &str = "fallbackUntil";
    pub const SEALED_CODE: &str = "sealedCode";
    pub const WHATSAPP_REFUNDED_AT: &str = "whatsappRefundedAt";
    pub const USER_ID: &str = "userId";
    pub const ROLE: &str = "role";
    pub const PASSWORD_HASH: &str = "passwordHash";
    pub const EMAIL_VERIFIED_AT: &str = "emailVerifiedAt";
    pub const SESSION_GENERATION: &str = "sessionGeneration";
    pub const LAST_SEEN_AT: &str = "lastSeenAt";
    pub const PURPOSE: &str = "purpose";
    pub const FAILURES: &str = "failures";
    pub const PLAN_ID: &str = "planId";
    pub const PLAN_NAME: &str = "planName";
    pub const PRICE_LABEL: &str = "priceLabel";
    pub const DESCRIPTION: &str = "description";
    pub const ACTIVE: &str = "active";
    pub const ORDER_ID: &str = "orderId";
    pub const NOTES: &str = "notes";
    pub const REASON: &str = "reason";
    pub const OPERATOR: &str = "operator";
    pub const ACTION: &str = "action";
    pub const DETAIL: &str = "detail";
    pub const KEY_NAME: &str = "keyName";
    pub const LAST_USED_AT: &str = "lastUsedAt";
    pub const ENDPOINT_ID: &str = "endpointId";
    pub const URL: &str = "url";
    pub const EVENTS: &str = "events";
    pub const SIGNING_SECRET: &str = "signingSecret";
    pub const PREVIOUS_SIGNING_SECRETS: &str = "previousSigningSecrets";
    pub const SECRET: &str = "secret";
    pub const DISABLED_REASON: &str = "disabledReason";
    pub const FAILING_SINCE: &str = "failingSince";
    pub const EVENT_ID: &str = "eventId";
    pub const EVENT_TYPE: &str = "eventType";
    pub const BODY: &str = "body";
    pub const TOTAL_ATTEMPTS: &str = "totalAttempts";
    pub const DELIVERY: &str = "delivery";
    pub const ATTEMPT: &str = "attempt";
    pub const HTTP_STATUS: &str = "httpStatus";
    pub const LATENCY_MS: &str = "latencyMs";
    pub const ANSWER: &str = "answer";
    pub const ERROR: &str = "error";
    pub const CHARGED_PURSE: &str = "chargedPurse";
    pub const RANGE: &str = "range";
    pub const PER_MINUTE: &str = "perMinute";

    /// A purse's share of the subscription `sort_key` (N).
    pub fn purse_credits(sort_key: &str) -> String {
        format!("{PURSE_CREDITS_PREFIX}{sort_key}")
    }
    pub const PURSE_CREDITS_PREFIX: &str = "credits:";
    /// Purse 0's copy of the subscription's grant (N).
    pub fn purse_granted(sort_key: &str) -> String {
        format!("{PURSE_GRANTED_PREFIX}{sort_key}")
    }
    pub const PURSE_GRANTED_PREFIX: &str = "granted:";
    /// Purse 0's copy of the subscription's low-balance threshold (N).
    pub fn purse_threshold(sort_key: &str) -> String {
        format!("{PURSE_THRESHOLD_PREFIX}{sort_key}")
    }
    pub const PURSE_THRESHOLD_PREFIX: &str = "threshold:";
    /// When a debit through this purse claimed the subscription's low-balance email (S).
    pub fn purse_notified(sort_key: &str) -> String {
        format!("{PURSE_NOTIFIED_PREFIX}{sort_key}")
    }
    pub const PURSE_NOTIFIED_PREFIX: &str = "notified:";
}

/// Key builders: every item of a client lives under `CLIENT#<id>`, so a read keyed by the caller can never reach
/// another client's item.
pub mod key {
    /// Partition of everything a client owns.
    pub fn client(client_id: &str) -> String {
        format!("CLIENT#{client_id}")
    }
    /// Sort key of the client's profile.
    pub const PROFILE: &str = "PROFILE";
    /// Sort-key prefix of subscriptions.
    pub const SUBSCRIPTION_PREFIX: &str = "SUB#";
    /// Sort key of a subscription: creation time first so that newest-first is reverse key order.
    pub fn subscription(created_at_nanos: i128, subscription_id: &str) -> String {
        format!("{SUBSCRIPTION_PREFIX}{created_at_nanos:025}#{subscription_id}")
    }
    /// Partition of one of a client's purses (docs/data-model.md, "Purse"): a partition each, so that no two purses
    /// share a partition's throughput.
    pub fn purse(client_id: &str, purse: usize) -> String {
        format!("CLIENT#{client_id}#PURSE#{purse}")
    }
    /// Sort key of a purse.
    pub const PURSE: &str = "PURSE";
    /// Sort key of a message.
    pub fn message(message_id: &str) -> String {
        format!("MSG#{message_id}")
    }
    /// The client and message ids of a message item's keys ([`client`], [`message`]).
    pub fn parse_message(pk: &str, sk: &str) -> Option<(String, String)> {
        let client = pk.strip_prefix("CLIENT#").filter(|id| !id.is_empty() && !id.contains('#'))?;
        let message = sk.strip_prefix("MSG#").filter(|id| !id.is_empty())?;
        Some((client.to_owned(), message.to_owned()))
    }
    /// Sort key of the sealed code a message keeps for its WhatsApp → SMS fallback, while the window is open.
    pub fn fallback_code(message_id: &str) -> String {
        format!("FALLBACK#{message_id}")
    }
    /// Sort key of an API key's metadata (no secret, no verifier).
    pub fn api_key(key_id: &str) -> String {
        format!("{API_KEY_PREFIX}{key_id}")
    }
    /// Sort key of an idempotency key's binding to a message.
    pub fn idempotency(key: &str) -> String {
        format!("IDEM#{key}")
    }
    /// Sort key of the cooldown window of one recipient number.
    pub fn cooldown(phone_e164: &str) -> String {
        format!("COOL#{phone_e164}")
    }
    /// Partition of one source IP's request counter for one minute (its own partition: counters of different IPs
    /// never contend).
    pub fn rate_window(source_ip: &str, window: i64) -> String {
        rate_counter(source_ip, window, 0)
    }
    /// Partition of one of the counters a raised limit spreads a window over (counter 0 is [`rate_window`]).
    pub fn rate_counter(source_ip: &str, window: i64, counter: usize) -> String {
        match counter {
            0 => format!("RATE#{source_ip}#{window}"),
            counter => format!("RATE#{source_ip}#{window}#{counter}"),
        }
    }
    /// Partition of the raised per-IP limits (`lightotp-admin rate-limit raise`).
    pub const RATE_RANGES: &str = "RATE_RANGES";
    /// Sort key of one raised range.
    pub fn rate_range(cidr: &str) -> String {
        format!("RANGE#{cidr}")
    }
    /// Sort key of a rate counter.
    pub const RATE: &str = "RATE";
    /// Sort key of the client's wallet (Verify API credits).
    pub const WALLET: &str = "WALLET";
    /// Sort key of a Verify API request.
    pub fn verification(request_id: &str) -> String {
        format!("OTP#{request_id}")
    }
    /// Partition of a Verify API limit counter for one scope and one minute, with the scope's cool-off over it.
    pub fn verify_limit(scope: &str, window: i64) -> String {
        format!("VLIM#{scope}#{window}")
    }
    /// Sort key of the Verify API's limit counters (which carry the cool-offs).
    pub const LIMIT: &str = "LIMIT";
    /// Partition of the pricing table.
    pub const PRICING: &str = "PRICING";
    /// Sort-key prefix of WhatsApp prices.
    pub const PRICE_PREFIX: &str = "CC#";
    /// Sort key of one country's price per WhatsApp message.
    pub fn price(region: &str) -> String {
        format!("{PRICE_PREFIX}{region}")
    }
    /// Sort-key prefix of SMS prices.
    pub const SMS_PRICE_PREFIX: &str = "SMS#";
    /// Sort key of one country's price per SMS part (the WhatsApp → SMS fallback's second pricing table).
    pub fn sms_price(region: &str) -> String {
        format!("{SMS_PRICE_PREFIX}{region}")
    }
    /// Partition of a dashboard user, by the email they sign in with (which makes an email one account).
    pub fn user(email: &str) -> String {
        format!("USER#{email}")
    }
    /// Sort key of a user.
    pub const USER: &str = "USER";
    /// Partition of a dashboard session, by the keyed hash of its token (the token itself is never stored).
    pub fn session(token_hash: &str) -> String {
        format!("SESSION#{token_hash}")
    }
    /// Sort key of a session.
    pub const SESSION: &str = "SESSION";
    /// Partition of an emailed link, by the keyed hash of its token.
    pub fn link(token_hash: &str) -> String {
        format!("LINK#{token_hash}")
    }
    /// Sort key of a link.
    pub const LINK: &str = "LINK";
    /// Partition of one email's failed sign-ins.
    pub fn sign_in_failures(email: &str) -> String {
        format!("SIGNIN#{email}")
    }
    /// Sort key of failed sign-ins.
    pub const FAILURES: &str = "FAILURES";
    /// Partition of the plans operators sell.
    pub const PLANS: &str = "PLANS";
    /// Sort key of a plan.
    pub fn plan(plan_id: &str) -> String {
        format!("PLAN#{plan_id}")
    }
    /// Sort-key prefix of orders (in the client's partition).
    pub const ORDER_PREFIX: &str = "ORDER#";
    /// Sort key of an order.
    pub fn order(order_id: &str) -> String {
        format!("{ORDER_PREFIX}{order_id}")
    }
    /// Sort-key prefix of API keys' metadata.
    pub const API_KEY_PREFIX: &str = "KEY#";
    /// Sort-key prefix of the operators' audit trail (in the client's partition).
    pub const AUDIT_PREFIX: &str = "AUDIT#";
    /// Sort key of one operator action: time first, so the trail reads in order.
    pub fn audit(at_nanos: i128, entry_id: &str) -> String {
        format!("{AUDIT_PREFIX}{at_nanos:025}#{entry_id}")
    }
    /// Sort-key prefix of a client's webhook endpoints (in the client's partition).
    pub const WEBHOOK_PREFIX: &str = "WEBHOOK#";
    /// Sort key of one webhook endpoint.
    pub fn webhook(endpoint_id: &str) -> String {
        format!("{WEBHOOK_PREFIX}{endpoint_id}")
    }
    /// Partition `shard` of one endpoint's deliveries and attempt log (see
    /// [`webhook_log_shard`](super::webhook_log_shard)): under the client's id, so a read keyed by the caller never
    /// reaches another client's deliveries. Shard 0 is the partition every delivery recorded before the log was
    /// spread is in; shard `n` ends in `#<n>`.
    pub fn webhook_log(client_id: &str, endpoint_id: &str, shard: usize) -> String {
        super::shard_name(&format!("CLIENT#{client_id}#{WEBHOOK_PREFIX}{endpoint_id}"), shard)
    }
    /// The client, endpoint and shard of a [`webhook_log`] partition (endpoint ids never contain `#`).
    pub fn parse_webhook_log(pk: &str) -> Option<(&str, &str, usize)> {
        let (client, endpoint) = pk.strip_prefix("CLIENT#")?.rsplit_once(&format!("#{WEBHOOK_PREFIX}"))?;
        let (endpoint, shard) = match endpoint.split_once('#') {
            None => (endpoint, 0),
            Some((endpoint, shard)) => (endpoint, shard.parse().ok().filter(|n| *n > 0)?),
        };
        (!client.is_empty() && !endpoint.is_empty()).then_some((client, endpoint, shard))
    }
    /// Sort-key prefix of deliveries.
    pub const DELIVERY_PREFIX: &str = "DELIVERY#";
    /// Sort key of one event's delivery to one endpoint: the event's time first, so "since a time" is a key range.
    pub fn delivery(event_at: &str, event_id: &str) -> String {
        format!("{DELIVERY_PREFIX}{event_at}#{event_id}")
    }
    /// Sort-key prefix of the attempt log.
    pub const ATTEMPT_PREFIX: &str = "ATTEMPT#";
    /// Sort key of one attempt: its time first, so the log reads newest first in reverse key order.
    pub fn attempt(at: &str, event_id: &str, attempt: u32) -> String {
        format!("{ATTEMPT_PREFIX}{at}#{event_id}#{attempt:04}")
    }
}

#[cfg(test)]
mod tests {
    use super::key;

    #[test]
    fn webhook_deliveries_are_spread_over_their_own_shards_whose_first_is_the_old_bucket() {
        let buckets: std::collections::BTreeSet<String> = (0..1000)
            .map(|i| super::webhook_bucket(&super::key::delivery("2026-12-03T00:00:00.000Z", &format!("evt_{i}"))))
            .collect();
        assert_eq!(buckets.len(), super::WEBHOOK_SHARDS, "{buckets:?}");
        assert!(buckets.contains("WEBHOOK"), "shard 0 is the bucket every earlier delivery is in");
        assert!(buckets.iter().all(|b| b == "WEBHOOK" || b.starts_with("WEBHOOK#")), "{buckets:?}");
        let sort_key = super::key::delivery("2026-12-03T00:00:00.000Z", "evt_1");
        assert_eq!(
            super::webhook_bucket(&sort_key),
            super::webhook_bucket(&sort_key),
            "the same delivery, the same shard"
        );
    }

    #[test]
    fn pending_entries_are_spread_over_shards_whose_first_is_the_old_bucket() {
        assert_eq!(super::shard_name("PENDING", 0), "PENDING", "entries written before the shards are found");
        assert_eq!(super::shard_name("FALLBACK", 3), "FALLBACK#3");
        let buckets: std::collections::BTreeSet<_> =
            (0..200).map(|_| super::pending_bucket("PENDING", &uuid::Uuid::new_v4().to_string())).collect();
        assert_eq!(buckets.len(), super::PENDING_SHARDS, "{buckets:?}");
    }

    #[test]
    fn an_endpoints_log_is_spread_over_its_shards_whose_first_is_the_old_partition() {
        let shards: std::collections::BTreeSet<usize> =
            (0..1000).map(|_| super::webhook_log_shard(&format!("evt_msg_{}_2", uuid::Uuid::new_v4()))).collect();
        assert_eq!(shards.len(), super::WEBHOOK_LOG_SHARDS, "{shards:?}");
        assert_eq!(super::webhook_log_shard("evt_otp_r1_verified"), super::webhook_log_shard("evt_otp_r1_verified"));
        assert_eq!(key::webhook_log("c1", "e-1", 0), "CLIENT#c1#WEBHOOK#e-1", "deliveries recorded before are found");
        let partitions: std::collections::BTreeSet<String> =
            (0..super::WEBHOOK_LOG_SHARDS).map(|shard| key::webhook_log("c1", "e-1", shard)).collect();
        assert_eq!(partitions.len(), super::WEBHOOK_LOG_SHARDS, "each shard is a partition of its own");
    }

    #[test]
    fn a_webhook_log_partition_names_its_client_endpoint_and_shard() {
        let pk = key::webhook_log("client#1", "e-1", 0);
        assert_eq!(key::parse_webhook_log(&pk), Some(("client#1", "e-1", 0)));
        assert_eq!(key::parse_webhook_log(&key::webhook_log("client#1", "e-1", 31)), Some(("client#1", "e-1", 31)));
        assert_eq!(key::parse_webhook_log("CLIENT#c#WEBHOOK#e#0"), None, "shard 0 has no suffix");
        assert_eq!(key::parse_webhook_log("CLIENT#c#WEBHOOK#e#x"), None);
        assert_eq!(key::parse_message(&key::client("c1"), &key::message("m1")), Some(("c1".into(), "m1".into())));
        assert_eq!(key::parse_message("CLIENT#c1#PURSE#2", "MSG#m1"), None, "a purse's partition is not a client's");
        assert_eq!(key::parse_message("CLIENT#c1", "OTP#m1"), None);
        assert_eq!(key::parse_message("CLIENT#", "MSG#m1"), None);
        assert_eq!(key::parse_webhook_log("CLIENT#c"), None);
        assert_eq!(key::parse_webhook_log("MSG#x#WEBHOOK#e"), None);
    }
}
