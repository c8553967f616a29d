//! Reading an Embedded Metric Format line back, checked against the specification (CloudWatch's "Specification:
//! Embedded metric format"): the local stack sums what the functions write (`GET /_local/metrics`), and a line that
//! breaks the specification is counted as such instead of summed, so that tests see it. Pure.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// At most this many dimensions in one dimension set.
pub const MAX_DIMENSIONS: usize = 30;
/// At most this many metrics in one directive, and values in one metric.
pub const MAX_METRICS: usize = 100;
/// Namespace, metric and dimension names: 1 to this many characters.
pub const MAX_NAME_CHARS: usize = 255;
/// Dimension values: 1 to this many characters.
pub const MAX_DIMENSION_VALUE_CHARS: usize = 1024;

/// The units CloudWatch accepts.
const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// One metric's values in one line, under one dimension set.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    /// The namespace.
    pub namespace: String,
    /// The metric's name.
    pub name: String,
    /// Its unit, if the line gave one.
    pub unit: Option<String>,
    /// The dimension set's names and values.
    pub dimensions: BTreeMap<String, String>,
    /// Its values (one, or several for a distribution).
    pub values: Vec<f64>,
}

/// How a line breaks the specification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an EMF document: {0}")]
pub struct NotEmf(String);

fn broken(why: impl Into<String>) -> NotEmf {
    NotEmf(why.into())
}

fn name_ok(name: &str, max: usize) -> bool {
    (1..=max).contains(&name.chars().count())
}

/// Every datum a line carries, one per metric and dimension set; or why it is not a valid EMF document.
pub fn read_line(line: &str) -> Result<Vec<Datum>, NotEmf> {
    let root: Map<String, Value> = match serde_json::from_str(line) {
        Ok(Value::Object(root)) => root,
        _ => return Err(broken("not a JSON object")),
    };
    let aws = root.get("_aws").and_then(Value::as_object).ok_or_else(|| broken("no _aws object"))?;
    match aws.get("Timestamp") {
        Some(Value::Number(n)) if n.as_u64().is_some() => {}
        _ => return Err(broken("_aws.Timestamp is not a whole number of milliseconds")),
    }
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| broken("_aws.CloudWatchMetrics is not a non-empty array"))?;
    let mut data = Vec::new();
    for directive in directives {
        let directive = directive.as_object().ok_or_else(|| broken("a directive is not an object"))?;
        let namespace = directive
            .get("Namespace")
            .and_then(Value::as_str)
            .filter(|n| name_ok(n, MAX_NAME_CHARS))
            .ok_or_else(|| broken("a directive has no valid Namespace"))?;
        let sets = directive
            .get("Dimensions")
            .and_then(Value::as_array)
            .ok_or_else(|| broken("a directive's Dimensions is not an array"))?;
        let mut dimension_sets = Vec::new();
        for set in sets {
            let names = set.as_array().ok_or_else(|| broken("a dimension set is not an array"))?;
            if names.len() > MAX_DIMENSIONS {
                return Err(broken(format!("a dimension set has {} dimensions", names.len())));
            }
            let mut dimensions = BTreeMap::new();
            for name in names {
                let name = name
                    .as_str()
                    .filter(|n| name_ok(n, MAX_NAME_CHARS))
                    .ok_or_else(|| broken("a dimension name is not a valid string"))?;
                let value = root
                    .get(name)
                    .and_then(Value::as_str)
                    .filter(|v| name_ok(v, MAX_DIMENSION_VALUE_CHARS))
                    .ok_or_else(|| broken(format!("dimension {name} has no valid string value in the document")))?;
                dimensions.insert(name.to_owned(), value.to_owned());
            }
            dimension_sets.push(dimensions);
        }
        if dimension_sets.is_empty() {
            // No dimension set: the metrics are published with no dimensions.
            dimension_sets.push(BTreeMap::new());
        }
        let metrics = directive
            .get("Metrics")
            .and_then(Value::as_array)
            .filter(|m| (1..=MAX_METRICS).contains(&m.len()))
            .ok_or_else(|| broken("a directive's Metrics is not an array of 1 to 100 definitions"))?;
        for metric in metrics {
            let metric = metric.as_object().ok_or_else(|| broken("a metric definition is not an object"))?;
            let name = metric
                .get("Name")
                .and_then(Value::as_str)
                .filter(|n| name_ok(n, MAX_NAME_CHARS))
                .ok_or_else(|| broken("a metric definition has no valid Name"))?;
            let unit = match metric.get("Unit") {
                None => None,
                Some(Value::String(unit)) if UNITS.contains(&unit.as_str()) => Some(unit.clone()),
                Some(other) => return Err(broken(format!("metric {name} has an unknown unit {other}"))),
            };
            if let Some(resolution) = metric.get("StorageResolution")
                && resolution.as_u64().is_none_or(|r| r != 1 && r != 60)
            {
                return Err(broken(format!("metric {name} has a StorageResolution other than 1 or 60")));
            }
            let values = match root.get(name) {
                Some(Value::Number(n)) => vec![n.as_f64().ok_or_else(|| broken(format!("{name} is not a number")))?],
                Some(Value::Array(values)) if (1..=MAX_METRICS).contains(&values.len()) => values
                    .iter()
                    .map(|v| v.as_f64().ok_or_else(|| broken(format!("{name} has a value that is not a number"))))
                    .collect::<Result<_, _>>()?,
                _ => return Err(broken(format!("metric {name} has no number, or 1 to 100 numbers, in the document"))),
            };
            for dimensions in &dimension_sets {
                data.push(Datum {
                    namespace: namespace.to_owned(),
                    name: name.to_owned(),
                    unit: unit.clone(),
                    dimensions: dimensions.clone(),
                    values: values.clone(),
                });
            }
        }
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"{"_aws":{"Timestamp":1800000000000,"CloudWatchMetrics":[{"Namespace":"LightOTP","Dimensions":[["Endpoint","Outcome"]],"Metrics":[{"Name":"Requests","Unit":"Count"}]}]},"Endpoint":"SendMessage","Outcome":"OK","Requests":2}"#;

    #[test]
    fn a_valid_line_gives_each_metric_with_its_dimensions_and_values() {
        let data = read_line(VALID).expect("valid");
        assert_eq!(data.len(), 1);
        assert_eq!((data[0].name.as_str(), data[0].values.as_slice()), ("Requests", &[2.0][..]));
        assert_eq!(data[0].dimensions.get("Outcome").map(String::as_str), Some("OK"));
        let histogram = r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"L","Unit":"Milliseconds"}]}]},"L":[1.5,2.5]}"#;
        let data = read_line(histogram).expect("valid");
        assert_eq!((data[0].values.len(), data[0].dimensions.len()), (2, 0));
    }

    #[test]
    fn every_break_of_the_specification_is_refused() {
        let cases = [
            ("not json", "not an object"),
            (r#"{"Requests":1}"#, "no _aws"),
            (r#"{"_aws":{"CloudWatchMetrics":[]},"R":1}"#, "no timestamp"),
            (r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]}}"#, "no directive"),
            (
                r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Dimensions":[],"Metrics":[{"Name":"R"}]}]},"R":1}"#,
                "no namespace",
            ),
            (
                r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["D"]],"Metrics":[{"Name":"R"}]}]},"R":1}"#,
                "a dimension without its value",
            ),
            (
                r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["D"]],"Metrics":[{"Name":"R"}]}]},"D":7,"R":1}"#,
                "a dimension value that is not a string",
            ),
            (
                r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"R","Unit":"Widgets"}]}]},"R":1}"#,
                "an unknown unit",
            ),
            (
                r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"R"}]}]},"R":"1"}"#,
                "a value that is not a number",
            ),
            (
                r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"R"}]}]}}"#,
                "a metric without its value",
            ),
        ];
        for (line, what) in cases {
            assert!(read_line(line).is_err(), "{what}: {line}");
        }
        let too_many: Vec<String> = (0..31).map(|i| format!("\"D{i}\"")).collect();
        let values: Vec<String> = (0..31).map(|i| format!("\"D{i}\":\"v\"")).collect();
        let wide = format!(
            r#"{{"_aws":{{"Timestamp":1,"CloudWatchMetrics":[{{"Namespace":"N","Dimensions":[[{}]],"Metrics":[{{"Name":"R"}}]}}]}},{},"R":1}}"#,
            too_many.join(","),
            values.join(",")
        );
        assert!(read_line(&wide).is_err(), "31 dimensions");
    }
}
