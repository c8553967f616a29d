//! The ceiling of sends a second: what the items a send writes allow (docs/performance.md, "The ceiling per
//! client"). DynamoDB takes at most 1,000 write units a second on one item (and on one index partition), whatever the
//! table's capacity. A send writes some items of its own (its message, its recipient's cooldown window, its
//! idempotency key) and some it shares with other sends: the client's purses, its address's rate counters, the
//! pending index's shards. From the write units each kind received per send (measured) and how many items of the
//! kind the sends are spread over (the data model's numbers), each shared kind allows `1,000 / (units per send /
//! items)` sends a second.

use serde_json::{Value, json};

/// Write units a second one item (or index partition) takes.
pub const ITEM_WRITE_UNITS_PER_SECOND: f64 = 1_000.0;

/// The kinds of item sends share, with how many items of the kind their writes are spread over (docs/data-model.md:
/// "Purse", four a client; "Rate counter", up to eight an address at the highest raise; "pending-index", eight
/// shards) and whose sends share them.
const SHARED: [(&str, usize, &str); 4] = [
    ("CLIENT#PURSE / PURSE", 4, "one client (and one subscription)"),
    ("RATE / RATE", 8, "one source address, at the highest raise"),
    ("pending-index / PENDING", 8, "every client together"),
    ("pending-index / FALLBACK", 8, "every client with the fallback on"),
];

/// The write units per call that `items` (rows of `cost::item_kinds`) give `kind`, if it was written.
fn units_per_call(items: &Value, kind: &str) -> Option<f64> {
    items
        .as_array()
        .into_iter()
        .flatten()
        .find(|row| row["kind"] == kind)
        .and_then(|row| row["writeUnitsPerCall"].as_f64())
}

/// The ceiling of sends a second, from the happy path's `items` (per kind: write units per call).
pub fn ceiling(items: &Value) -> Value {
    let per_call = |kind: &str| units_per_call(items, kind);
    let mut kinds = Vec::new();
    for (kind, spread, shared_by) in SHARED {
        let Some(units) = per_call(kind) else { continue };
        let per_item = units / spread as f64;
        kinds.push(json!({
            "kind": kind,
            "writeUnitsPerSend": units,
            "items": spread,
            "writeUnitsPerItemPerSend": per_item,
            "sendsPerSecond": ITEM_WRITE_UNITS_PER_SECOND / per_item,
            "sharedBy": shared_by,
        }));
    }
    let of = |kind: &str| {
        kinds.iter().find(|k| k["kind"] == kind).and_then(|k| k["sendsPerSecond"].as_f64()).unwrap_or(f64::INFINITY)
    };
    // One client's sends share its purses, its addresses' counters and every pending shard; the rate counters'
    // ceiling is per address, so a client sending from one address meets it, from several does not.
    let per_client = of("CLIENT#PURSE / PURSE").min(of("pending-index / PENDING"));
    json!({
        "kinds": kinds,
        "perClient": per_client,
        "perClientFromOneAddress": per_client.min(of("RATE / RATE")),
        "perSubscription": of("CLIENT#PURSE / PURSE"),
    })
}

/// The kinds of item a client webhook event writes that events share, with how many items (or index partitions)
/// they are spread over (docs/data-model.md, "Webhook delivery": an endpoint's log in 32 partitions;
/// "pending-index": 8 `WEBHOOK` shards), and whose events share them. An endpoint's deliveries and attempts share its
/// log's partitions, so their units add up.
const WEBHOOK_SHARED: [(&[&str], usize, &str); 2] = [
    (&["CLIENT#WEBHOOK / DELIVERY", "CLIENT#WEBHOOK / ATTEMPT"], 32, "one endpoint"),
    (&["pending-index / WEBHOOK"], 8, "every endpoint of every client together"),
];

/// The events a WhatsApp OTP gives an endpoint that wants its statuses: `sent`, `delivered`, `read`.
pub const EVENTS_PER_SEND: f64 = 3.0;

/// The ceiling of client webhook events a second, from the write units each kind received per delivered event
/// (`per_event`: kind → units), and what it leaves of one client's `sends_per_second` when an endpoint of theirs
/// wants the three statuses of every send.
pub fn webhook_ceiling(per_event: &Value, sends_per_second: f64) -> Value {
    let mut kinds = Vec::new();
    for (parts, spread, shared_by) in WEBHOOK_SHARED {
        let units: f64 = parts.iter().filter_map(|kind| units_per_call(per_event, kind)).sum();
        if units <= 0.0 {
            continue;
        }
        let per_item = units / spread as f64;
        kinds.push(json!({
            "kind": parts.join(" + "),
            "writeUnitsPerEvent": units,
            "items": spread,
            "writeUnitsPerItemPerEvent": per_item,
            "eventsPerSecond": ITEM_WRITE_UNITS_PER_SECOND / per_item,
            "sharedBy": shared_by,
        }));
    }
    let events = kinds.iter().filter_map(|k| k["eventsPerSecond"].as_f64()).fold(f64::INFINITY, f64::min);
    json!({
        "kinds": kinds,
        "eventsPerSecondPerEndpoint": events,
        "eventsPerSend": EVENTS_PER_SEND,
        "perClientWithWebhooks": sends_per_second.min(events / EVENTS_PER_SEND),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoints_events_share_its_log_partitions_and_the_webhook_shards() {
        let per_event = json!([
            {"kind": "CLIENT#WEBHOOK / DELIVERY", "writeUnitsPerCall": 3.0},
            {"kind": "CLIENT#WEBHOOK / ATTEMPT", "writeUnitsPerCall": 2.0},
            {"kind": "pending-index / WEBHOOK", "writeUnitsPerCall": 2.0},
            {"kind": "CLIENT / WEBHOOK", "writeUnitsPerCall": 1.0},
        ]);
        let ceiling = webhook_ceiling(&per_event, 2_000.0);
        // The log: 5 units an event over 32 partitions, 6,400 events a second; the shards: 2 over 8, 4,000.
        let kinds = ceiling["kinds"].as_array().cloned().unwrap_or_default();
        assert_eq!(kinds.len(), 2, "an endpoint's own item is no events' ceiling: {kinds:?}");
        assert_eq!(kinds[0]["eventsPerSecond"], 6_400.0);
        assert_eq!(kinds[1]["eventsPerSecond"], 4_000.0);
        assert_eq!(ceiling["eventsPerSecondPerEndpoint"], 4_000.0);
        // Three events a send: 1,333 sends a second, below the purses' 2,000.
        assert!((ceiling["perClientWithWebhooks"].as_f64().unwrap_or(0.0) - 4_000.0 / 3.0).abs() < 1e-9);
        assert_eq!(webhook_ceiling(&per_event, 1_000.0)["perClientWithWebhooks"], 1_000.0);
    }

    #[test]
    fn each_shared_kind_allows_a_thousand_units_a_second_per_item() {
        let items = json!([
            {"kind": "CLIENT#PURSE / PURSE", "writeUnitsPerCall": 2.0},
            {"kind": "CLIENT / MSG", "writeUnitsPerCall": 6.0},
            {"kind": "pending-index / PENDING", "writeUnitsPerCall": 2.0},
            {"kind": "RATE / RATE", "writeUnitsPerCall": 2.0},
        ]);
        let ceiling = ceiling(&items);
        // Purses: 2 units per send over 4 purses, half a unit per purse: 2,000 sends a second.
        assert_eq!(ceiling["perSubscription"], 2_000.0);
        // Pending shards: 2 over 8: 4,000.
        assert_eq!(ceiling["perClient"], 2_000.0);
        assert_eq!(ceiling["kinds"].as_array().map(Vec::len), Some(3), "a message's own item is nobody's ceiling");
    }
}
