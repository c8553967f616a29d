//! What the fake remembers between requests: the sends it accepted, oldest first, and the failures planned for
//! the next sends. Everything sits behind one std `Mutex` that is locked briefly and never held across an
//! `.await`; a poisoned lock is still used, since no code panics while holding it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::graph::GraphError;

/// One send the fake accepted, as `GET /_fake/messages` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SentMessage {
    /// The recipient exactly as the sender wrote it (Graph's `contacts[0].input`).
    pub to: String,
    /// The sender's phone number id, from the request path.
    pub phone_number_id: String,
    /// The template name.
    pub template: String,
    /// The template language code, e.g. `en_US`.
    pub language: String,
    /// The code parameter of the authentication template (the body parameter).
    pub code: String,
    /// The message id the fake answered with.
    pub wamid: String,
    /// `biz_opaque_callback_data`, echoed in status webhooks.
    pub biz_opaque_callback_data: Option<String>,
    /// When the fake accepted the send: RFC 3339, UTC, milliseconds.
    pub received_at: String,
}

impl SentMessage {
    /// The recipient's WhatsApp id: the digits of `to` (Graph's `contacts[0].wa_id`).
    pub fn wa_id(&self) -> String {
        wa_id(&self.to)
    }
}

/// The digits of a phone number as written by a sender: `+966 55 123 4567` → `966551234567`.
pub(crate) fn wa_id(to: &str) -> String {
    to.chars().filter(char::is_ascii_digit).collect()
}

/// A status Meta reports for a message in a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Meta handed the message to WhatsApp.
    Sent,
    /// The message reached a device.
    Delivered,
    /// The recipient opened it.
    Read,
    /// It will not be delivered; the webhook carries `errors`.
    Failed,
}

/// How each of the next planned sends goes wrong.
#[derive(Debug, Clone)]
pub(crate) struct PlannedFailure {
    /// Wait this long before answering, to look like a timeout.
    pub(crate) delay: Option<Duration>,
    /// Answer with this error; `None` answers normally after the delay.
    pub(crate) answer: Option<GraphError>,
}

#[derive(Debug, Default)]
struct Memory {
    sent: Vec<SentMessage>,
    /// The failure still planned for any sender and how many more sends it applies to; never `Some((0, _))`.
    planned: Option<(u32, PlannedFailure)>,
    /// Failures planned for one sender (`phoneNumberId`) only, so that tests sharing the fake do not meet each
    /// other's failures. Counts are never 0.
    planned_for: HashMap<String, (u32, PlannedFailure)>,
}

/// The fake's shared memory; cloning it shares it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ledger(Arc<Mutex<Memory>>);

impl Ledger {
    fn lock(&self) -> MutexGuard<'_, Memory> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn record(&self, message: SentMessage) {
        self.lock().sent.push(message);
    }

    /// Every accepted send, oldest first.
    pub(crate) fn sent(&self) -> Vec<SentMessage> {
        self.lock().sent.clone()
    }

    pub(crate) fn find(&self, wamid: &str) -> Option<SentMessage> {
        self.lock().sent.iter().find(|m| m.wamid == wamid).cloned()
    }

    /// Without a sender: replaces whatever failures were still pending, for every sender. With one: replaces
    /// only that sender's. A `count` of 0 clears.
    pub(crate) fn plan_failures(&self, count: u32, failure: PlannedFailure, sender: Option<String>) {
        let mut memory = self.lock();
        match sender {
            None => {
                memory.planned_for.clear();
                memory.planned = (count > 0).then_some((count, failure));
            }
            Some(sender) if count > 0 => {
                memory.planned_for.insert(sender, (count, failure));
            }
            Some(sender) => {
                memory.planned_for.remove(&sender);
            }
        }
    }

    /// Claims one planned failure for a send through `sender`, if any is left: the sender's own plan first,
    /// then the plan for every sender.
    pub(crate) fn take_planned_failure(&self, sender: &str) -> Option<PlannedFailure> {
        let mut memory = self.lock();
        if let Some((remaining, failure)) = memory.planned_for.get_mut(sender) {
            *remaining -= 1;
            let failure = failure.clone();
            if *remaining == 0 {
                memory.planned_for.remove(sender);
            }
            return Some(failure);
        }
        let (remaining, failure) = memory.planned.as_mut()?;
        *remaining -= 1;
        let failure = failure.clone();
        if *remaining == 0 {
            memory.planned = None;
        }
        Some(failure)
    }

    /// Forgets every send and every planned failure.
    pub(crate) fn reset(&self) {
        *self.lock() = Memory::default();
    }
}

/// RFC 3339 in UTC with exactly three fractional digits, e.g. `2025-06-01T09:30:00.125Z`.
pub(crate) fn rfc3339_millis(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn failure() -> PlannedFailure {
        PlannedFailure { delay: Some(Duration::from_millis(1)), answer: None }
    }

    #[test]
    fn a_planned_failure_applies_to_exactly_count_sends() {
        let ledger = Ledger::default();
        ledger.plan_failures(2, failure(), None);
        assert!(ledger.take_planned_failure("p").is_some(), "first send fails");
        assert!(ledger.take_planned_failure("p").is_some(), "second send fails");
        assert!(ledger.take_planned_failure("p").is_none(), "third send goes through");
    }

    #[test]
    fn a_count_of_zero_clears_pending_failures() {
        let ledger = Ledger::default();
        ledger.plan_failures(3, failure(), None);
        ledger.plan_failures(0, failure(), None);
        assert!(ledger.take_planned_failure("p").is_none());
    }

    #[test]
    fn received_at_is_utc_with_milliseconds() {
        let cases = [
            (datetime!(2025-06-01 09:30:00.125 UTC), "2025-06-01T09:30:00.125Z"),
            (datetime!(2025-06-01 12:30:00 +03:00), "2025-06-01T09:30:00.000Z"),
            (datetime!(2025-12-31 23:59:59.999999 UTC), "2025-12-31T23:59:59.999Z"),
        ];
        for (at, want) in cases {
            assert_eq!(rfc3339_millis(at), want, "for {at}");
        }
    }

    #[test]
    fn wa_id_keeps_only_digits() {
        assert_eq!(wa_id("+966 55-123 4567"), "966551234567");
    }

    #[test]
    fn a_failure_planned_for_one_sender_meets_only_that_sender() {
        let ledger = Ledger::default();
        ledger.plan_failures(1, failure(), Some("mine".to_owned()));
        assert!(ledger.take_planned_failure("theirs").is_none(), "another sender is untouched");
        assert!(ledger.take_planned_failure("mine").is_some(), "the planned sender fails");
        assert!(ledger.take_planned_failure("mine").is_none(), "once");
        ledger.plan_failures(1, failure(), Some("mine".to_owned()));
        ledger.plan_failures(0, failure(), None);
        assert!(ledger.take_planned_failure("mine").is_none(), "an unscoped clear clears every plan");
    }
}
