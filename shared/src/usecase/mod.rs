//! Use cases: one per endpoint, combining domain rules and storage. Handlers parse, call one of these, respond.
//! Use cases speak the product: each returns its own outcome and a typed refusal, which each surface's module in
//! `api/` words for the wire. None of them imports `api` or `http`.

use crate::domain::message::OriginalResponse;

pub mod check_status;
pub mod client_webhooks;
pub mod console;
pub mod low_balance;
pub mod ports;
pub mod rate_limit;
pub mod send_message;
#[cfg(test)]
mod send_message_tests;
pub mod sms_fallback;
pub mod sweep;
pub mod verify_api;
#[cfg(test)]
mod verify_api_tests;
pub mod webhook;
#[cfg(test)]
mod webhook_tests;

/// What a use case answers: a fresh outcome, or the stored bytes of an earlier answer (an idempotent replay).
#[derive(Debug)]
pub enum Answer<T> {
    /// Decided now.
    Fresh(T),
    /// Replayed exactly as first sent.
    Replay(OriginalResponse),
}
