//! Client webhooks on a laptop (docs/local-stack.md, "Client webhooks, locally"): what Lambda's event sources do on
//! AWS, done here with the same function code. One pass reads the table's stream on the emulator from its
//! checkpoint (as the DynamoDB event source mapping does, with its filter), hands each batch to `deliver-webhooks`
//! as a stream event, then runs its schedule (due retries, on the movable clock), then drains the emulator's SQS
//! queue, each received batch attempted at once and on its own task (as Lambda scales out over batches), so a
//! batch waiting on an endpoint that never answers holds up no other. Passes never read at the same time; their
//! attempts run after they let go.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use base64::Engine;
use lightotp::deps::Deps;
use lightotp::usecase::client_webhooks::Attempt;
use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;

/// How often the periodic passes run the schedule: `rate(1 minute)` in `template.yaml`.
const SCHEDULE_PERIOD: std::time::Duration = std::time::Duration::from_secs(60);

/// The stream event source's batch size in `template.yaml`.
const STREAM_BATCH: usize = 100;

/// The local event sources.
pub struct LocalWebhooks {
    deps: Arc<Deps>,
    streams: aws_sdk_dynamodbstreams::Client,
    tables: aws_sdk_dynamodb::Client,
    /// The stream position: the last sequence number handled. The lock also keeps passes' reading from
    /// overlapping.
    checkpoint: Mutex<Option<String>>,
    /// Set by a test: the next pass that records events dies before enqueueing them.
    crash_next: AtomicBool,
}

/// What one pass did (`POST /_local/webhooks/deliver` answers it).
#[derive(Debug, Default, Serialize)]
pub struct Pass {
    /// Attempts that got a 2xx.
    pub delivered: usize,
    /// Attempts that failed (retried later, or failed for good).
    pub failed: usize,
    /// Events read from the stream.
    pub events: usize,
}

impl LocalWebhooks {
    /// The event sources over `deps` (the delivering function's). `streams` reads the table's stream as the event source does on AWS (with the delivering function's role);
    /// `tables` only finds the stream's ARN, which the event source is given on AWS.
    pub fn new(deps: Arc<Deps>, streams: aws_sdk_dynamodbstreams::Client, tables: aws_sdk_dynamodb::Client) -> Self {
        Self { deps, streams, tables, checkpoint: Mutex::new(None), crash_next: AtomicBool::new(false) }
    }

    /// Makes the next pass that records deliveries die right after recording them, before enqueueing: a test's
    /// crash.
    pub fn crash_next_pass(&self) {
        self.crash_next.store(true, Ordering::SeqCst);
    }

    /// One pass: the stream, the schedule, then the queue. Only reading is serialized: the attempts of a pass run
    /// after it lets go, so a pass waiting on a slow endpoint never holds up the next pass.
    pub async fn pass(&self) -> Result<Pass, String> {
        self.pass_with(true).await
    }

    /// A pass that runs the schedule (the due deliveries: a `Query` of each `WEBHOOK` shard of `pending-index`)
    /// only when `schedule` is true, as the periodic passes do once a minute, like the deployed schedule: on the
    /// emulator an index `Query` reads the whole table, and every 2 s it would slow everything else down.
    async fn pass_with(&self, schedule: bool) -> Result<Pass, String> {
        let mut pass = Pass::default();
        let received = {
            let mut checkpoint = self.checkpoint.lock().await;
            let records = self.read_stream(checkpoint.as_deref()).await?;
            for batch in records.chunks(STREAM_BATCH) {
                let Some(last) = batch.last().and_then(|r| r.dynamodb()).and_then(|d| d.sequence_number()) else {
                    continue;
                };
                let wanted: Vec<Value> = batch.iter().filter_map(lambda_record).filter(passes_filter).collect();
                if !wanted.is_empty() {
                    let deliver_webhooks::Trigger::Stream(changes) =
                        deliver_webhooks::trigger(&json!({ "Records": wanted }))
                    else {
                        return Err("a stream event was not read as one".to_owned());
                    };
                    let recorded = if self.crash_next.load(Ordering::SeqCst) {
                        let (recorded, fresh) = lightotp::usecase::client_webhooks::record(&self.deps, &changes)
                            .await
                            .map_err(|e| e.to_string())?;
                        if recorded.deliveries > 0 {
                            // The crash a test asked for: the deliveries are recorded, the queue never hears of
                            // them and the checkpoint stays where it was.
                            self.crash_next.store(false, Ordering::SeqCst);
                            tracing::warn!(deliveries = recorded.deliveries, "local webhooks: died after recording");
                            return Ok(pass);
                        }
                        self.deps.webhook_queue.enqueue(&fresh).await.map_err(|e| e.to_string())?;
                        recorded
                    } else {
                        // As the event source mapping: on an error the batch is read again next time.
                        deliver_webhooks::record_and_enqueue(&self.deps, &changes).await.map_err(|e| e.to_string())?
                    };
                    pass.events += recorded.events;
                }
                *checkpoint = Some(last.to_owned());
            }
            if schedule {
                deliver_webhooks::handle(&self.deps, json!({"source": "local schedule"}))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            self.receive_all().await?
        };
        let (delivered, failed) = self.attempt(received).await?;
        pass.delivered = delivered;
        pass.failed = failed;
        Ok(pass)
    }

    /// Every record after `checkpoint` (from the start without one).
    async fn read_stream(&self, checkpoint: Option<&str>) -> Result<Vec<Record>, String> {
        let table = self
            .tables
            .describe_table()
            .table_name(self.deps.store.table())
            .send()
            .await
            .map_err(|e| format!("DescribeTable: {}", aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)))?;
        let Some(arn) = table.table().and_then(|t| t.latest_stream_arn()) else {
            return Err("the table has no stream (is template.yaml's StreamSpecification gone?)".to_owned());
        };
        let stream = self
            .streams
            .describe_stream()
            .stream_arn(arn)
            .send()
            .await
            .map_err(|e| format!("DescribeStream: {}", aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)))?;
        let Some(shard) = stream.stream_description().and_then(|d| d.shards().first()).and_then(|s| s.shard_id())
        else {
            return Ok(Vec::new());
        };
        let mut request = self.streams.get_shard_iterator().stream_arn(arn).shard_id(shard);
        request = match checkpoint {
            Some(sequence) => {
                request.shard_iterator_type(ShardIteratorType::AfterSequenceNumber).sequence_number(sequence)
            }
            None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        let mut iterator = request
            .send()
            .await
            .map_err(|e| format!("GetShardIterator: {}", aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)))?
            .shard_iterator()
            .map(str::to_owned);
        let mut records = Vec::new();
        while let Some(current) = iterator {
            let out = self
                .streams
                .get_records()
                .shard_iterator(current)
                .limit(1000)
                .send()
                .await
                .map_err(|e| format!("GetRecords: {}", aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)))?;
            if out.records().is_empty() {
                break;
            }
            records.extend(out.records().iter().cloned());
            iterator = out.next_shard_iterator().map(str::to_owned);
        }
        Ok(records)
    }

    /// Receives every visible message, in batches of ten (received messages stay invisible to other passes).
    async fn receive_all(&self) -> Result<Vec<Vec<Received>>, String> {
        let Some(url) = self.deps.webhook_queue.url() else { return Ok(Vec::new()) };
        let sqs = self.deps.webhook_queue.client();
        let mut batches = Vec::new();
        loop {
            let out = sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .send()
                .await
                .map_err(|e| format!("ReceiveMessage: {}", aws_sdk_sqs::error::DisplayErrorContext(e)))?;
            if out.messages().is_empty() {
                return Ok(batches);
            }
            batches.push(
                out.messages()
                    .iter()
                    .map(|m| Received {
                        id: m.message_id().unwrap_or_default().to_owned(),
                        body: m.body().unwrap_or_default().to_owned(),
                        receipt: m.receipt_handle().unwrap_or_default().to_owned(),
                    })
                    .collect(),
            );
        }
    }

    /// Attempts each batch on its own task, as Lambda scales out over batches, and deletes the messages the
    /// function handled (what the SQS event source does with its answer); returns (delivered, failed).
    async fn attempt(&self, batches: Vec<Vec<Received>>) -> Result<(usize, usize), String> {
        let Some(url) = self.deps.webhook_queue.url().map(str::to_owned) else { return Ok((0, 0)) };
        let tasks: Vec<_> = batches
            .into_iter()
            .map(|batch| {
                let deps = Arc::clone(&self.deps);
                let url = url.clone();
                tokio::spawn(async move {
                    let bodies: Vec<(String, String)> = batch.iter().map(|m| (m.id.clone(), m.body.clone())).collect();
                    let outcomes = deliver_webhooks::attempt_all(&deps, &bodies).await;
                    let sqs = deps.webhook_queue.client();
                    let mut counts = (0, 0);
                    for ((_, outcome), message) in outcomes.iter().zip(&batch) {
                        match outcome {
                            Some(Attempt::Delivered) => counts.0 += 1,
                            Some(Attempt::WillRetry | Attempt::Failed) => counts.1 += 1,
                            Some(Attempt::Skipped) => {}
                            // Reported failed: it stays, and comes back when its visibility timeout ends.
                            None => continue,
                        }
                        let _ = sqs.delete_message().queue_url(&url).receipt_handle(&message.receipt).send().await;
                    }
                    counts
                })
            })
            .collect();
        let mut totals = (0, 0);
        for task in tasks {
            let (delivered, failed) = task.await.map_err(|e| format!("a delivery batch panicked: {e}"))?;
            totals.0 += delivered;
            totals.1 += failed;
        }
        Ok(totals)
    }
}

/// A received queue message.
struct Received {
    id: String,
    body: String,
    receipt: String,
}

/// Runs a pass every `period`, as the event sources and the schedule do on AWS, until the process ends.
pub async fn deliver_periodically(webhooks: Arc<LocalWebhooks>, period: std::time::Duration) {
    let mut ticks = tokio::time::interval(period);
    ticks.tick().await;
    let mut last_schedule = tokio::time::Instant::now();
    loop {
        ticks.tick().await;
        let schedule = last_schedule.elapsed() >= SCHEDULE_PERIOD;
        if schedule {
            last_schedule = tokio::time::Instant::now();
        }
        if let Err(err) = webhooks.pass_with(schedule).await {
            tracing::warn!(error = %err, "local webhook pass failed; the next one reads the same records again");
        }
    }
}

/// The template's filter: modified messages and Verify requests only.
fn passes_filter(record: &Value) -> bool {
    let sk = record["dynamodb"]["NewImage"]["sk"]["S"].as_str().unwrap_or_default();
    record["eventName"] == "MODIFY" && (sk.starts_with("MSG#") || sk.starts_with("OTP#"))
}

/// A stream record as Lambda hands it to a function: attribute values in DynamoDB's JSON.
fn lambda_record(record: &Record) -> Option<Value> {
    let change = record.dynamodb()?;
    let image = |item: Option<&std::collections::HashMap<String, AttributeValue>>| {
        item.map(|item| Value::Object(item.iter().map(|(k, v)| (k.clone(), attribute_json(v))).collect::<Map<_, _>>()))
    };
    let mut dynamodb = Map::new();
    dynamodb.insert("SequenceNumber".to_owned(), json!(change.sequence_number()));
    if let Some(keys) = image(change.keys.as_ref()) {
        dynamodb.insert("Keys".to_owned(), keys);
    }
    if let Some(new) = image(change.new_image.as_ref()) {
        dynamodb.insert("NewImage".to_owned(), new);
    }
    if let Some(old) = image(change.old_image.as_ref()) {
        dynamodb.insert("OldImage".to_owned(), old);
    }
    Some(json!({
        "eventID": record.event_id(),
        "eventName": record.event_name().map(|n| n.as_str()),
        "eventSource": "aws:dynamodb",
        "dynamodb": dynamodb,
    }))
}

fn attribute_json(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(_) => json!({ "NULL": true }),
        AttributeValue::B(b) => json!({ "B": base64::engine::general_purpose::STANDARD.encode(b.as_ref()) }),
        AttributeValue::Ss(list) => json!({ "SS": list }),
        AttributeValue::Ns(list) => json!({ "NS": list }),
        AttributeValue::Bs(list) => {
            json!({ "BS": list.iter().map(|b| base64::engine::general_purpose::STANDARD.encode(b.as_ref())).collect::<Vec<_>>() })
        }
        AttributeValue::L(list) => json!({ "L": list.iter().map(attribute_json).collect::<Vec<_>>() }),
        AttributeValue::M(map) => {
            json!({ "M": map.iter().map(|(k, v)| (k.clone(), attribute_json(v))).collect::<Map<_, _>>() })
        }
        _ => Value::Null,
    }
}
