//! The API reference page (`/dashboard/docs`), read from `docs/openapi.yaml` (compiled in as JSON by `build.rs`):
//! for each operation its summary, description, request fields and documented answers with their codes. The
//! document itself is served beside it, `/dashboard/docs/openapi.yaml`.

use serde_json::Value;

/// The document as YAML, for download.
pub const OPENAPI_YAML: &str = include_str!("../../../docs/openapi.yaml");

/// The document, and its paths in the document's order.
fn document() -> Option<(Value, Vec<String>)> {
    let compiled: Value = serde_json::from_str(include_str!(concat!(env!("OUT_DIR"), "/openapi.json"))).ok()?;
    let paths = compiled["paths"].as_array()?.iter().filter_map(Value::as_str).map(str::to_owned).collect();
    Some((compiled["document"].clone(), paths))
}

/// One field of a request body.
pub struct Field {
    pub name: String,
    pub kind: String,
    pub required: bool,
    pub description: String,
}

/// One documented answer.
pub struct Answer {
    pub status: String,
    pub description: String,
    /// The error codes or messages it may carry.
    pub codes: Vec<String>,
}

/// One operation.
pub struct Operation {
    pub method: &'static str,
    pub path: String,
    pub summary: String,
    pub description: String,
    pub fields: Vec<Field>,
    pub answers: Vec<Answer>,
}

/// The reference, in the document's order; empty if the compiled-in document cannot be read.
pub struct Reference {
    pub title: String,
    pub description: String,
    pub operations: Vec<Operation>,
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().trim().to_owned()
}

/// Follows a local `$ref`.
fn resolve<'d>(document: &'d Value, value: &'d Value) -> &'d Value {
    value
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|pointer| document.pointer(pointer))
        .unwrap_or(value)
}

fn kind(document: &Value, schema: &Value) -> String {
    let schema = resolve(document, schema);
    match schema.get("type") {
        Some(Value::String(one)) => one.clone(),
        Some(Value::Array(many)) => many.iter().map(text).collect::<Vec<_>>().join(" or "),
        _ => schema
            .get("oneOf")
            .or_else(|| schema.get("anyOf"))
            .and_then(Value::as_array)
            .map(|choices| choices.iter().map(|c| kind(document, c)).collect::<Vec<_>>().join(" or "))
            .unwrap_or_else(|| "any".to_owned()),
    }
}

/// Every `enum` or `const` string reachable in a response schema: the codes or messages it may carry.
fn codes(document: &Value, schema: &Value, found: &mut Vec<String>, depth: usize) {
    if depth > 8 {
        return;
    }
    let schema = resolve(document, schema);
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        found.extend(values.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    if let Some(value) = schema.get("const").and_then(Value::as_str) {
        found.push(value.to_owned());
    }
    for key in ["properties"] {
        if let Some(properties) = schema.get(key).and_then(Value::as_object) {
            for (name, property) in properties {
                if matches!(name.as_str(), "errorMessage" | "message") {
                    codes(document, property, found, depth + 1);
                }
            }
        }
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        for choice in schema.get(key).and_then(Value::as_array).into_iter().flatten() {
            codes(document, choice, found, depth + 1);
        }
    }
}

impl Reference {
    /// Reads the compiled-in document.
    pub fn load() -> Self {
        let Some((document, order)) = document() else {
            return Self { title: "LightOTP API".to_owned(), description: String::new(), operations: Vec::new() };
        };
        let mut operations = Vec::new();
        for path in &order {
            let Some(operation) = document["paths"][path].get("post") else { continue };
            let schema = operation.pointer("/requestBody/content/application~1json/schema").unwrap_or(&Value::Null);
            let schema = resolve(&document, schema);
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let fields = schema
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(name, property)| Field {
                    name: name.clone(),
                    kind: kind(&document, property),
                    required: required.contains(&name.as_str()),
                    description: text(&resolve(&document, property)["description"]),
                })
                .collect();
            let answers = operation["responses"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(status, response)| {
                    let response = resolve(&document, response);
                    let mut found = Vec::new();
                    if let Some(schema) = response.pointer("/content/application~1json/schema") {
                        codes(&document, schema, &mut found, 0);
                    }
                    found.dedup();
                    Answer { status: status.clone(), description: text(&response["description"]), codes: found }
                })
                .collect();
            operations.push(Operation {
                method: "POST",
                path: path.clone(),
                summary: text(&operation["summary"]),
                description: text(&operation["description"]),
                fields,
                answers,
            });
        }
        Self {
            title: text(&document["info"]["title"]),
            description: text(&document["info"]["description"]),
            operations,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_has_the_four_operations_with_their_fields_and_codes() {
        let reference = Reference::load();
        let paths: Vec<&str> = reference.operations.iter().map(|o| o.path.as_str()).collect();
        assert_eq!(paths, ["/SendMessage", "/CheckMessageStatus", "/api/otp/initiate", "/api/otp/verify"]);
        let send = &reference.operations[0];
        assert!(send.fields.iter().any(|f| f.name == "otpCode" && f.required && f.kind == "string"));
        let codes: Vec<&String> = send.answers.iter().flat_map(|a| &a.codes).collect();
        assert!(codes.iter().any(|c| *c == "InvalidphoneNumber"), "{codes:?}");
    }
}
