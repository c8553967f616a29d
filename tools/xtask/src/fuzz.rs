//! The fuzz run of `cargo xtask test`: a pinned Schemathesis (`tools/fuzz/requirements.txt`, in `.venv-fuzz`) tries
//! every operation of `docs/openapi.yaml` against the test stack, in all four of its phases: the document's examples,
//! the coverage of its boundaries, random fuzzing (valid and invalid requests), and stateful sequences that follow
//! the document's links (SendMessage's `id` to CheckMessageStatus, initiate's `request_id` to verify). Every answer
//! must be no server error, a status the document lists for the operation, of the document's content type, with a
//! body its schema accepts. Any failure fails the suite, with Schemathesis' report (a curl for each failing request)
//! printed.
//!
//! It runs after the other tests and the examples, as the demo client, whose key it sends the way each operation
//! declares (`X-Api-Key`, and `Authorization: Bearer` on the Verify API). Its requests spend the demo client's
//! credits and meet the duplicate-send cooldown and the Verify API's per-number limit, all documented answers. First
//! it tops up the demo client's (empty) Verify API wallet, so that initiate, and the link to verify, are reached.
//! The per-IP rate limit stays as deployed: the fuzzer sends from loopback addresses of its own, 50 requests each
//! (`tools/fuzz/hooks.py`), as the API tests do. The seed and the budget are fixed, so every run tries the same
//! requests; the budget keeps a run to about a minute and a half on 2 cores.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::stack::{StackFiles, read_env_file};
use crate::tools::{target_dir, venv};

/// The document under test, from the workspace root.
const DOCUMENT: &str = "docs/openapi.yaml";
/// Schemathesis' configuration: the hooks, the authentication and what makes a run reproducible.
const CONFIG: &str = "tools/fuzz/schemathesis.toml";
/// The checks every answer must pass.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";
/// Every phase: the examples, the coverage of the boundaries, fuzzing, and stateful sequences through the links.
const PHASES: &str = "examples,coverage,fuzzing,stateful";
/// The seed: the same requests on every run.
const SEED: &str = "20261202";
/// Generated cases per operation and phase (about 3,500 requests in all).
const MAX_EXAMPLES: &str = "800";
/// Credits put on the demo client's Verify API wallet first, more than a run spends.
const WALLET_CREDITS: &str = "2000";

/// Fuzzes every operation of the document against the stack of `stack_file`; fails on any failure Schemathesis
/// reports.
pub fn run(stack_file: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(stack_file).map_err(|e| format!("{}: {e}", stack_file.display()))?;
    let stack: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", stack_file.display()))?;
    let field = |pointer: &str| {
        stack
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("{}: no {pointer}", stack_file.display()))
    };
    let (api_url, api_key, client_id) = (field("/apiUrl")?, field("/demo/apiKey")?, field("/demo/clientId")?);
    let schemathesis = venv(".venv-fuzz", "tools/fuzz/requirements.txt")?.join("bin/schemathesis");

    let env = read_env_file(&StackFiles::of(stack_file).env)?;
    crate::tools::run(
        &format!("topping up the demo client's Verify API wallet ({WALLET_CREDITS} credits) for the fuzz run"),
        Command::new(target_dir().join("debug").join("lightotp-admin"))
            .args(["wallet", "top-up", "--client", &client_id, "--credits", WALLET_CREDITS, "--json"])
            .envs(env)
            .stdout(std::process::Stdio::null()),
    )?;

    crate::tools::run(
        &format!("schemathesis: every operation of {DOCUMENT} at {api_url}, {MAX_EXAMPLES} cases each, seed {SEED}"),
        Command::new(schemathesis)
            .args(["--config-file", CONFIG, "run", DOCUMENT, "--url", &api_url])
            .args(["--phases", PHASES, "--checks", CHECKS])
            .args(["--seed", SEED, "--max-examples", MAX_EXAMPLES])
            // Read by `tools/fuzz/schemathesis.toml`, so that the key never shows on a command line.
            .env("LIGHTOTP_FUZZ_API_KEY", &api_key)
            // Hypothesis' own files (Unicode tables, constants) in the build cache, not in the checkout.
            .env("HYPOTHESIS_STORAGE_DIRECTORY", target_dir().join("fuzz/hypothesis")),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_package_of_the_fuzzer_is_pinned_to_one_version() {
        let requirements = std::fs::read_to_string(crate::tools::root().join("tools/fuzz/requirements.txt"))
            .expect("tools/fuzz/requirements.txt");
        let packages: Vec<&str> =
            requirements.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#')).collect();
        assert!(packages.iter().any(|line| line.starts_with("schemathesis==")), "{packages:?}");
        for line in packages {
            let (name, version) = line.split_once("==").unwrap_or_else(|| panic!("{line:?} is not pinned with =="));
            assert!(!name.is_empty() && !version.is_empty() && !version.contains(['*', ',', ' ']), "{line:?}");
        }
    }
}
