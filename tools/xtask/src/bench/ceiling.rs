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

/// The ceiling of sends a second, from the happy path's `items` (per kind: write units per call).
pub fn ceiling(items: &Value) -> Value {
    let per_call = |kind: &str| {
        items
            .as_array()
            .into_iter()
            .flatten()
            .find(|row| row["kind"] == kind)
            .and_then(|row| row["writeUnitsPerCall"].as_f64())
    };
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

#[cfg(test)]
mod tests {
    use super::*;

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
