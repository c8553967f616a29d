//! The OpenAPI description of the API (`docs/openapi.yaml`), linted by a pinned Redocly CLI: the version is fixed by
//! `tools/openapi/package.json` and its `package-lock.json`, and `npm ci` installs exactly that into
//! `tools/openapi/node_modules` (git-ignored) when it is missing or the lock file changed.

use std::path::PathBuf;
use std::process::Command;

use crate::tools::{root, run, say};

/// The document, from the workspace root.
const DOCUMENT: &str = "docs/openapi.yaml";
/// The folder holding the linter's pinned npm package and its configuration.
const TOOL_DIR: &str = "tools/openapi";

/// Lints `docs/openapi.yaml` with Redocly's `recommended-strict` rules (`tools/openapi/redocly.yaml`): every finding,
/// a warning of the plain `recommended` set included, is an error and fails.
pub fn lint() -> Result<(), String> {
    let redocly = install()?;
    run(
        &format!("redocly lint {DOCUMENT} (recommended-strict: any finding fails)"),
        Command::new(redocly)
            .args(["lint", DOCUMENT, "--config", &format!("{TOOL_DIR}/redocly.yaml"), "--lint-config=error"])
            // Nothing leaves the machine: no usage report, no look-up of a newer version.
            .env("REDOCLY_TELEMETRY", "off")
            .env("REDOCLY_SUPPRESS_UPDATE_NOTICE", "true"),
    )
}

/// The pinned `redocly` binary, installed with `npm ci` from the committed lock file unless the installed copy was
/// made from this very lock file (a stamp in `node_modules` records which).
fn install() -> Result<PathBuf, String> {
    let dir = root().join(TOOL_DIR);
    let lock_file = format!("{TOOL_DIR}/package-lock.json");
    let wanted = std::fs::read_to_string(dir.join("package-lock.json")).map_err(|e| format!("{lock_file}: {e}"))?;
    let redocly = dir.join("node_modules/.bin/redocly");
    let stamp = dir.join("node_modules/.lightotp-installed-lock.json");
    if redocly.is_file() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(redocly);
    }
    say(&format!("the pinned Redocly CLI is missing or older than {lock_file}: installing it with npm"));
    run(
        &format!("npm ci into {TOOL_DIR}/node_modules (once, and again when {lock_file} changes; about 15 MB)"),
        Command::new("npm").args([
            "ci",
            "--prefix",
            TOOL_DIR,
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ]),
    )
    .map_err(|e| format!("{e} (the linter needs Node.js 20.19 or later with npm on PATH)"))?;
    if !redocly.is_file() {
        return Err(format!("npm ci succeeded but {} is missing", redocly.display()));
    }
    std::fs::write(&stamp, wanted).map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(redocly)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_yaml::Value;

    use super::*;

    fn document_text() -> String {
        std::fs::read_to_string(root().join(DOCUMENT)).expect("docs/openapi.yaml")
    }

    fn document() -> Value {
        serde_yaml::from_str(&document_text()).expect("docs/openapi.yaml is YAML")
    }

    /// Every string listed under an `enum` anywhere in `value`.
    fn enum_strings(value: &Value, found: &mut BTreeSet<String>) {
        match value {
            Value::Mapping(map) => {
                for (key, item) in map {
                    if key.as_str() == Some("enum") {
                        let values = item.as_sequence().into_iter().flatten();
                        found.extend(values.filter_map(Value::as_str).map(str::to_owned));
                    }
                    enum_strings(item, found);
                }
            }
            Value::Sequence(items) => items.iter().for_each(|item| enum_strings(item, found)),
            _ => {}
        }
    }

    /// Every value of an `operationId` key anywhere in `value`: the operations' own and those their links name.
    fn operation_ids(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Mapping(map) => {
                for (key, item) in map {
                    if key.as_str() == Some("operationId") {
                        found.push(item.as_str().expect("an operationId is a string").to_owned());
                    }
                    operation_ids(item, found);
                }
            }
            Value::Sequence(items) => items.iter().for_each(|item| operation_ids(item, found)),
            _ => {}
        }
    }

    #[test]
    fn the_document_describes_the_four_client_endpoints_as_post_only() {
        let document = document();
        assert_eq!(document["openapi"].as_str(), Some("3.1.0"));
        let paths = document["paths"].as_mapping().expect("paths");
        let listed: BTreeSet<&str> = paths.keys().filter_map(Value::as_str).collect();
        let wanted = BTreeSet::from(["/SendMessage", "/CheckMessageStatus", "/api/otp/initiate", "/api/otp/verify"]);
        assert_eq!(listed, wanted, "exactly the four client endpoints");
        for (path, item) in paths {
            let methods: Vec<&str> = item.as_mapping().expect("a path item").keys().filter_map(Value::as_str).collect();
            assert_eq!(methods, ["post"], "{path:?} takes POST only");
        }
    }

    #[test]
    fn every_error_code_and_message_the_code_answers_is_in_an_enum() {
        let mut enums = BTreeSet::new();
        enum_strings(&document(), &mut enums);
        // The `errorMessage` codes of `ApiError::error_message` in shared/src/api/lightotp.rs (all but the cooldown's
        // sentence and WhatsApp's own message, which are text, not codes).
        let lightotp = [
            "TooManyRequests",
            "IdempotencyKeyReused",
            "IdempotencyKeyInProgress",
            "ApiKeyIsRequired",
            "ApiKeyNotFound",
            "ApiKeyExpired",
            "UnsupportedMediaType",
            "InvalidRequestBody",
            "OTPCodeIsRequired",
            "OTPCodeLengthMustBeLessThanOrEqualTo8",
            "OTPCodeMustContainOnlyLettersOrDigits",
            "DestinationPhoneNumberIsRequired",
            "PhoneNumberCanNotBeEmpty",
            "InvalidphoneNumber",
            "InvalidIdempotencyKey",
            "SenderNumberNotFound",
            "TemplateNotFound",
            "InsufficientBalance",
            "MessageIdIsRequired",
            "MessageNotFound",
            "InternalServerError",
        ];
        // The Verify API's messages: `VerifyApiError`'s in shared/src/api/verify.rs and the `ParamError`s of
        // shared/src/domain/verification.rs.
        let verify = [
            "Unauthenticated.",
            "Invalid JSON body.",
            "Insufficient balance",
            "Too many requests.",
            "Not found.",
            "Invalid code.",
            "The code has expired.",
            "Too many attempts.",
            "The code has already been used.",
            "Server Error.",
            "The receiver field is required.",
            "Invalid phone number",
            "The lang field must be one of: ar, en.",
            "The length field must be one of: 4, 6.",
            "The expiration field must be between 1 and 10.",
            "The sender field must be 1 to 11 letters or digits.",
            "The payment_type field must be one of: wallet, subscription.",
            "The request_id field is required.",
            "The code field is required.",
        ];
        let missing: Vec<&str> = lightotp.into_iter().chain(verify).filter(|code| !enums.contains(*code)).collect();
        assert!(missing.is_empty(), "not in any enum of {DOCUMENT}: {missing:?}");
    }

    #[test]
    fn links_name_operations_of_the_document() {
        let document = document();
        let mut ids = Vec::new();
        operation_ids(&document["paths"], &mut ids);
        let operations: BTreeSet<&str> = ["sendMessage", "checkMessageStatus", "initiateOtp", "verifyOtp"].into();
        assert_eq!(ids.len(), 6, "four operations and two links: {ids:?}");
        assert!(ids.iter().all(|id| operations.contains(id.as_str())), "{ids:?}");
        let link = |path: &str, name: &str| {
            document["paths"][path]["post"]["responses"]["200"]["links"][name]["operationId"]
                .as_str()
                .map(str::to_owned)
        };
        assert_eq!(link("/SendMessage", "CheckMessageStatus").as_deref(), Some("checkMessageStatus"));
        assert_eq!(link("/api/otp/initiate", "VerifyOtp").as_deref(), Some("verifyOtp"));
    }

    #[test]
    fn routes_that_are_not_for_clients_are_not_described() {
        let text = document_text();
        for route in ["/webhooks/whatsapp", "/dashboard", "/_local", "/_fake"] {
            assert!(!text.contains(route), "{DOCUMENT} mentions {route}");
        }
    }
}
