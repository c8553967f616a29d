//! lightotp: the domain crate every Lambda function shares.
//!
//! `domain` is pure: no I/O, no clock, neither the AWS SDK nor `lambda_http`. `usecase` uses `domain` and `store`,
//! and answers in the product's words; `api` words those answers for each surface (codes, statuses, texts, the bytes
//! a replay sends); `http` reads requests and writes `api`'s answers as responses (docs/architecture.md).
#![warn(missing_docs)]

/// Every binary built on this crate (the functions, their tests, the local stack) allocates with mimalloc: glibc's
/// malloc and free were a fifth of a warm send's instructions (docs/performance.md, "Instructions per send").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod deps;
pub mod domain;
pub mod email;
pub mod handler_cpu;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod on_first_use;
pub mod passwords;
pub mod raised_limits;
pub mod sealed;
pub mod secrets;
pub mod sms_sender;
pub mod store;
pub mod tls;
pub mod usecase;
pub mod webhook_queue;
pub mod webhook_sender;
pub mod whatsapp;
