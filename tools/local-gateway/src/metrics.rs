//! The functions' metrics, locally (docs/local-stack.md, "Metrics"): after each invocation the gateway flushes the
//! process's EMF recorder as a Lambda function does, writes the lines to its log, reads each back against the EMF
//! specification and adds it to running sums, which `GET /_local/metrics` serves. A line that breaks the
//! specification is not summed but counted, with the last such line, so that a test sees it.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;

use lightotp::metrics::emf::{Datum, read_line};
use serde_json::{Value, json};

/// Running sums of every metric the functions wrote since the gateway started.
#[derive(Debug, Default)]
pub struct LocalMetrics {
    state: Mutex<Sums>,
}

/// A metric under one dimension set: its name and the dimensions' names and values.
type Series = (String, BTreeMap<String, String>);

/// A series' unit, the sum of its values and how many values there were.
#[derive(Debug, Default)]
struct Total {
    unit: Option<String>,
    sum: f64,
    samples: u64,
}

#[derive(Debug, Default)]
struct Sums {
    totals: BTreeMap<Series, Total>,
    lines: u64,
    invalid_lines: u64,
    last_invalid: Option<String>,
}

impl LocalMetrics {
    /// Takes what the functions recorded since the last flush: logs its lines and adds them up.
    pub fn absorb(&self) {
        let mut written = Vec::new();
        lightotp::metrics::flush(&mut written);
        if written.is_empty() {
            return;
        }
        // Where Lambda's log agent would read them: the function's standard output (the gateway's log).
        let _ = std::io::stdout().lock().write_all(&written);
        let Ok(mut sums) = self.state.lock() else { return };
        for line in String::from_utf8_lossy(&written).lines().filter(|l| !l.trim().is_empty()) {
            sums.lines += 1;
            match read_line(line) {
                Ok(data) => data.into_iter().for_each(|datum| sums.add(datum)),
                Err(err) => {
                    sums.invalid_lines += 1;
                    sums.last_invalid = Some(format!("{err}: {line}"));
                }
            }
        }
    }

    /// Everything summed so far, as `GET /_local/metrics` serves it.
    pub fn snapshot(&self) -> Value {
        self.absorb();
        let Ok(sums) = self.state.lock() else { return json!({"error": "the sums' lock is poisoned"}) };
        let metrics: Vec<Value> = sums
            .totals
            .iter()
            .map(|((name, dimensions), total)| {
                json!({
                    "name": name,
                    "dimensions": dimensions,
                    "unit": total.unit,
                    "sum": total.sum,
                    "samples": total.samples,
                })
            })
            .collect();
        json!({
            "namespace": lightotp::metrics::NAMESPACE,
            "lines": sums.lines,
            "invalidLines": sums.invalid_lines,
            "lastInvalid": sums.last_invalid,
            "metrics": metrics,
        })
    }
}

impl Sums {
    fn add(&mut self, datum: Datum) {
        let total = self.totals.entry((datum.name, datum.dimensions)).or_default();
        total.unit = datum.unit;
        total.sum += datum.values.iter().sum::<f64>();
        total.samples += datum.values.len() as u64;
    }
}
