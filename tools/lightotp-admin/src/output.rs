//! What a command prints: with `--json`, exactly one JSON object on one line (for scripts); without it, the same
//! answer as `name: value` lines for a person, lists indented beneath their name.

use serde_json::Value;

/// The answer as one line of JSON.
pub fn json(answer: &Value) -> String {
    answer.to_string()
}

/// The answer for a person: one `name: value` line per field, nested objects and lists indented beneath their name,
/// each list entry opened by `- `; strings without quotes, a missing value as `-`.
pub fn human(answer: &Value) -> String {
    let mut lines = Vec::new();
    write(&mut lines, answer, "");
    lines.join("\n")
}

fn write(lines: &mut Vec<String>, value: &Value, indent: &str) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields {
                if is_nested(field) {
                    lines.push(format!("{indent}{name}:"));
                    write(lines, field, &format!("{indent}  "));
                } else {
                    lines.push(format!("{indent}{name}: {}", scalar(field)));
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                let first = lines.len();
                write(lines, item, &format!("{indent}  "));
                if let Some(line) = lines.get_mut(first) {
                    line.replace_range(indent.len()..indent.len() + 2, "- ");
                }
            }
        }
        other => lines.push(format!("{indent}{}", scalar(other))),
    }
}

/// An object or list with something in it; an empty one prints as a scalar (`{}`, `(none)`).
fn is_nested(value: &Value) -> bool {
    match value {
        Value::Object(fields) => !fields.is_empty(),
        Value::Array(items) => !items.is_empty(),
        _ => false,
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(text) => text.clone(),
        Value::Array(_) => "(none)".to_owned(),
        Value::Object(_) => "{}".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_flat_answer_is_one_line_per_field_without_quotes() {
        let answer = json!({"clientId": "c-1", "phoneNumberId": "1234", "displayPhone": "+15550009999"});
        assert_eq!(human(&answer), "clientId: c-1\ndisplayPhone: +15550009999\nphoneNumberId: 1234");
    }

    #[test]
    fn a_list_of_objects_is_indented_with_a_dash_per_entry() {
        let answer = json!({
            "clientId": "c-1",
            "subscriptions": [{"balance": 500, "expiresAt": null}, {"balance": 0, "expiresAt": "2027-01-01"}],
        });
        let expected = "clientId: c-1\nsubscriptions:\n  - balance: 500\n    expiresAt: -\n  - balance: 0\n    expiresAt: 2027-01-01";
        assert_eq!(human(&answer), expected);
    }

    #[test]
    fn nested_objects_and_empty_lists_read_plainly() {
        let answer = json!({"demo": {"apiKey": "lotp_x", "credits": 1000}, "tables": [], "revoked": true});
        assert_eq!(human(&answer), "demo:\n  apiKey: lotp_x\n  credits: 1000\nrevoked: true\ntables: (none)");
    }

    #[test]
    fn a_list_of_names_is_a_dash_per_name() {
        assert_eq!(human(&json!({"tables": ["lightotp", "other"]})), "tables:\n  - lightotp\n  - other");
    }

    #[test]
    fn json_is_exactly_one_line() {
        let answer = json!({"a": {"b": [1, 2]}, "c": "d\ne"});
        let printed = json(&answer);
        assert!(!printed.contains('\n'), "{printed}");
        assert_eq!(serde_json::from_str::<Value>(&printed).unwrap(), answer);
    }
}
