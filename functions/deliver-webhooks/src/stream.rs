//! A DynamoDB stream record, as Lambda delivers it (attribute values in DynamoDB's JSON: `{"S": "…"}`), read into
//! the images the use case takes.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use lightotp::usecase::client_webhooks::{Change, Image};
use serde_json::Value;

/// One record's images; an image that is absent or unreadable is `None`.
pub fn change(record: &Value) -> Change {
    let image = |name: &str| record.get("dynamodb").and_then(|d| d.get(name)).and_then(image);
    Change { old: image("OldImage"), new: image("NewImage") }
}

fn image(value: &Value) -> Option<Image> {
    value.as_object()?.iter().map(|(name, v)| Some((name.clone(), attribute(v)?))).collect()
}

/// One attribute value from DynamoDB's JSON.
pub fn attribute(value: &Value) -> Option<AttributeValue> {
    let (kind, inner) = value.as_object()?.iter().next()?;
    let strings =
        || inner.as_array().map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect::<Vec<_>>());
    Some(match kind.as_str() {
        "S" => AttributeValue::S(inner.as_str()?.to_owned()),
        "N" => AttributeValue::N(inner.as_str()?.to_owned()),
        "BOOL" => AttributeValue::Bool(inner.as_bool()?),
        "NULL" => AttributeValue::Null(true),
        "B" => AttributeValue::B(Blob::new(base64::engine::general_purpose::STANDARD.decode(inner.as_str()?).ok()?)),
        "SS" => AttributeValue::Ss(strings()?),
        "NS" => AttributeValue::Ns(strings()?),
        "BS" => AttributeValue::Bs(
            strings()?
                .iter()
                .map(|b| base64::engine::general_purpose::STANDARD.decode(b).ok().map(Blob::new))
                .collect::<Option<Vec<_>>>()?,
        ),
        "L" => AttributeValue::L(inner.as_array()?.iter().map(attribute).collect::<Option<Vec<_>>>()?),
        "M" => AttributeValue::M(
            inner
                .as_object()?
                .iter()
                .map(|(k, v)| Some((k.clone(), attribute(v)?)))
                .collect::<Option<HashMap<_, _>>>()?,
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamodb_json_reads_into_attribute_values() {
        let record = serde_json::json!({
            "eventSource": "aws:dynamodb",
            "dynamodb": {
                "NewImage": {
                    "sk": {"S": "MSG#1"},
                    "cost": {"N": "2"},
                    "events": {"L": [{"S": "message.read"}]},
                    "nested": {"M": {"ok": {"BOOL": true}, "none": {"NULL": true}}}
                }
            }
        });
        let change = change(&record);
        assert!(change.old.is_none());
        let new = change.new.unwrap();
        assert_eq!(new["sk"], AttributeValue::S("MSG#1".into()));
        assert_eq!(new["cost"], AttributeValue::N("2".into()));
        assert_eq!(new["events"], AttributeValue::L(vec![AttributeValue::S("message.read".into())]));
        assert!(matches!(&new["nested"], AttributeValue::M(m) if m["ok"] == AttributeValue::Bool(true)));
        assert_eq!(attribute(&serde_json::json!({"X": 1})), None);
    }
}
