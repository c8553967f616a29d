//! The stack under test, from its stack file: `$LIGHTOTP_STACK_FILE` (what `cargo xtask test` sets), else the
//! checkout's `.lightotp/stack.json` (a running `cargo xtask up`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// What the tests read of the stack file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stack {
    /// The API's base URL (`POST {apiUrl}/SendMessage`).
    pub api_url: String,
    /// The AWS emulator (`GET {awsEndpointUrl}/_local/emails`).
    pub aws_endpoint_url: String,
    /// Where the stack's processes log, named in failure messages.
    pub logs_dir: PathBuf,
    /// The dashboard's address and seeded sign-ins; absent from a stack without the dashboard.
    pub dashboard: Option<Dashboard>,
}

/// The stack file's `dashboard` section.
#[derive(Debug, Clone, Deserialize)]
pub struct Dashboard {
    /// `http://127.0.0.1:<port>/dashboard`.
    pub url: String,
    /// The seeded operator.
    pub operator: Login,
    /// The demo client's seeded user.
    pub demo: Login,
}

/// An email and password that sign in.
#[derive(Debug, Clone, Deserialize)]
pub struct Login {
    pub email: String,
    pub password: String,
}

/// The checkout: two levels above this crate (cargo sets `CARGO_MANIFEST_DIR` when it runs the tests, and runs
/// them in the crate's folder).
pub fn repo_root() -> PathBuf {
    let crate_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("."));
    crate_dir.ancestors().nth(2).map(Path::to_path_buf).unwrap_or(crate_dir)
}

/// The stack file's path.
pub fn stack_file() -> PathBuf {
    std::env::var_os("LIGHTOTP_STACK_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".lightotp/stack.json"))
}

impl Stack {
    /// Reads the stack file; fails, saying how to start a stack, when there is none.
    pub fn load() -> Result<Stack, String> {
        let path = stack_file();
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "no stack file at {} ({e}): start a stack with `cargo xtask up`, or run the whole suite with `cargo \
                 xtask test`",
                path.display()
            )
        })?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}
