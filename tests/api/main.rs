//! API tests: the real handlers, over HTTP through the local gateway, against the serialized AWS emulator and the
//! fake WhatsApp Graph API. The stack is the one `cargo xtask test` starts (`LIGHTOTP_STACK_FILE`), or a running
//! `cargo xtask up`. Without a stack these tests fail; they never skip.

mod contract;
mod dashboard_client;
mod helpers;

mod auth;
mod billing;
mod check_status;
mod client_webhooks;
mod cooldown;
mod cost;
mod dashboard;
mod dashboard_settings;
mod dashboard_webhooks;
mod fallback;
mod hostile;
mod idempotency;
mod lifecycle;
mod logs;
mod metrics;
mod race;
mod rate_limit;
mod send_message;
mod store;
mod verify_api;
