//! Every answer of the four API endpoints that a test receives is checked against `docs/openapi.yaml`: its status
//! must be documented for the operation, and its JSON body must match that response's schema (JSON Schema 2020-12,
//! the `jsonschema` crate). A field added to a body without the document, or an undocumented status, fails the test
//! that met it.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

/// The operations the document describes.
pub const DOCUMENTED_PATHS: [&str; 4] = ["/SendMessage", "/CheckMessageStatus", "/api/otp/initiate", "/api/otp/verify"];

fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let text = std::fs::read_to_string(repository_file("docs/openapi.yaml")).expect("docs/openapi.yaml");
        serde_yaml::from_str(&text).expect("docs/openapi.yaml is YAML")
    })
}

/// A file of this checkout: found from the folder cargo runs the tests in (a test binary compiled by another clone
/// that shares the build cache must still read this clone's files).
pub fn repository_file(path: &str) -> std::path::PathBuf {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    std::path::Path::new(&manifest).join("../..").join(path)
}

/// Follows a local `$ref` (`#/components/…`).
fn resolve(value: &Value) -> &Value {
    match value.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => document().pointer(pointer).unwrap_or_else(|| panic!("docs/openapi.yaml: no {pointer}")),
        None => value,
    }
}

/// The documented response of `path` for `status`: its own code, else `4XX`/`5XX`, else `default`.
fn response(path: &str, status: u16) -> Option<&'static Value> {
    let responses = document().pointer(&format!("/paths/{}/post/responses", path.replace('/', "~1")))?;
    let class = format!("{}XX", status / 100);
    [status.to_string(), class, "default".to_owned()].iter().find_map(|key| responses.get(key)).map(resolve)
}

/// A validator for one response schema, with the document's components beside it so its `$ref`s resolve.
fn validator(path: &str, status: u16, schema: &Value) -> &'static jsonschema::Validator {
    static CACHE: OnceLock<Mutex<HashMap<(String, u16), &'static jsonschema::Validator>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut cache = cache.lock().expect("validators");
    cache.entry((path.to_owned(), status)).or_insert_with(|| {
        let mut schema = schema.clone();
        if let Some(object) = schema.as_object_mut() {
            object.insert("components".to_owned(), document()["components"].clone());
        }
        let built = jsonschema::draft202012::new(&schema)
            .unwrap_or_else(|e| panic!("docs/openapi.yaml: the schema of {path} {status} does not compile: {e}"));
        Box::leak(Box::new(built))
    })
}

/// Fails the test when `status` and `body` are not what the document says `path` answers.
pub fn assert_documented(path: &str, status: u16, body: &Value) {
    if !DOCUMENTED_PATHS.contains(&path) {
        return;
    }
    let Some(response) = response(path, status) else {
        panic!("{path} answered {status}, which docs/openapi.yaml does not document: {body}");
    };
    let Some(schema) = response.pointer("/content/application~1json/schema") else {
        assert!(body.is_null(), "{path} {status} has a body the document does not describe: {body}");
        return;
    };
    let errors: Vec<String> =
        validator(path, status, schema).iter_errors(body).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(
        errors.is_empty(),
        "{path} {status}: the body breaks docs/openapi.yaml:\n  {}\nbody: {}",
        errors.join("\n  "),
        body.to_string().chars().take(600).collect::<String>()
    );
}

#[test]
fn a_body_that_breaks_the_document_is_caught() {
    assert_documented(
        "/SendMessage",
        200,
        &serde_json::json!({"id": "ad463327-9096-4d9d-beb2-29941aa319c4", "messageStatus": "Pending"}),
    );
    let extra =
        serde_json::json!({"id": "ad463327-9096-4d9d-beb2-29941aa319c4", "messageStatus": "Pending", "cost": 1});
    let caught = std::panic::catch_unwind(|| assert_documented("/SendMessage", 200, &extra));
    assert!(caught.is_err(), "a field the document does not name fails");
    let undocumented = std::panic::catch_unwind(|| assert_documented("/CheckMessageStatus", 302, &Value::Null));
    assert!(undocumented.is_err(), "an undocumented status fails");
}
