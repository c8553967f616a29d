//! Use cases: one per endpoint, combining domain rules and storage. Handlers parse, call one of these, respond.

pub mod check_status;
pub mod low_balance;
pub mod rate_limit;
pub mod send_message;
pub mod sweep;
pub mod verify_api;
pub mod webhook;
