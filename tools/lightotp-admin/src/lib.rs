//! Operator tooling behind `lightotp-admin`: provisioning the table and secrets from `template.yaml` (for the
//! local emulator), and the operator actions the dashboard will later offer. The CLI in `main.rs` is a thin shell
//! over these functions; tests call them directly.

pub mod ops;
pub mod output;
pub mod provision;
pub mod webhooks;
