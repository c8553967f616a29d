//! lightotp: the domain crate every Lambda function shares.
//!
//! `domain` is pure: no I/O, no clock, neither the AWS SDK nor `lambda_http`. `usecase` uses `domain` and `store`;
//! `http` turns a use-case result into an HTTP response (`respond`, `respond_verify`, `respond_webhook`). Today the
//! two also lean on each other (use cases render the answer they store for replay with `http::render`, and `http`
//! maps the use cases' error types): docs/architecture.md, "Direction of dependencies", says how it stands.
#![warn(missing_docs)]

pub mod auth;
pub mod clock;
pub mod config;
pub mod deps;
pub mod domain;
pub mod email;
pub mod handler_cpu;
pub mod http;
pub mod logging;
pub mod secrets;
pub mod sms_sender;
pub mod store;
pub mod tls;
pub mod usecase;
pub mod whatsapp;
