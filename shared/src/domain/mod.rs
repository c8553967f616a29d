//! Pure domain rules: parsing untrusted input into product types, pricing, subscription choice, template
//! language matching. No I/O and no clock here: callers pass `now` in.

pub mod account;
pub mod api_key;
pub mod channel;
pub mod client_webhook;
pub mod console;
pub mod cooldown;
pub mod dashboard_email;
pub mod fallback;
pub mod graph_refusal;
pub mod idempotency;
pub mod language;
pub mod message;
pub mod notification;
pub mod otp_code;
pub mod outside_text;
pub mod phone;
pub mod pricing;
pub mod purse;
pub mod rate_limit;
pub mod sms;
pub mod subscription;
#[cfg(test)]
pub(crate) mod test_strategies;
pub mod time_format;
pub mod verification;
pub mod webhook_signature;

/// Which of `n` items (purses, rate counters) something identified by a random `id` goes to: spread evenly by the id,
/// so that concurrent requests land on different items.
pub fn spread_over(id: &str, n: usize) -> usize {
    id.bytes().fold(0usize, |hash, byte| hash.wrapping_mul(31).wrapping_add(usize::from(byte))) % n.max(1)
}
