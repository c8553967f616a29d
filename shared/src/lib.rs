//! lightotp: the domain crate every Lambda function shares.
//!
//! Arrows point inward: `usecase` uses `domain` and `store`; `domain` does no I/O and imports neither the AWS SDK
//! nor `lambda_http`. `http` is the only place a use-case result becomes an HTTP response.
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
