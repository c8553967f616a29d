//! The client webhook function (docs/webhooks.md). One function, three triggers, told apart by the event's shape:
//!
//! - **the table's DynamoDB stream**: each status change becomes an event, recorded as one delivery per endpoint
//!   that wants it, and handed to the queue. A failure fails the invocation, so Lambda gives the same records again
//!   (a delivery already recorded is not recorded twice);
//! - **the delivery queue (SQS)**: one attempt per message, all of a batch at once so that a slow endpoint never
//!   holds up another's; a message whose attempt could not be recorded is reported failed and comes back;
//! - **the schedule** (every minute): deliveries whose retry is due, or whose worker died, go back to the queue.

pub mod stream;

use futures::future::join_all;
use lightotp::deps::Deps;
use lightotp::logging::cause_chain;
use lightotp::store::QueuedDelivery;
use lightotp::usecase::client_webhooks::{self, Attempt, Change, Recorded};
use serde::Deserialize;
use serde_json::{Value, json};

/// Which trigger an invocation came from.
#[derive(Debug)]
pub enum Trigger {
    /// Stream records.
    Stream(Vec<Change>),
    /// Queue messages: (message id, body).
    Queue(Vec<(String, String)>),
    /// The schedule (any other event).
    Schedule,
}

#[derive(Deserialize)]
struct Records {
    #[serde(rename = "Records")]
    records: Vec<Value>,
}

/// Tells the trigger from the event.
pub fn trigger(event: &Value) -> Trigger {
    let Ok(Records { records }) = serde_json::from_value::<Records>(event.clone()) else { return Trigger::Schedule };
    let source = |r: &Value| r.get("eventSource").and_then(Value::as_str).map(str::to_owned);
    match records.first().and_then(source).as_deref() {
        Some("aws:dynamodb") => Trigger::Stream(records.iter().map(stream::change).collect()),
        Some("aws:sqs") => Trigger::Queue(
            records
                .iter()
                .map(|r| {
                    let text = |name: &str| r.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
                    (text("messageId"), text("body"))
                })
                .collect(),
        ),
        _ => Trigger::Schedule,
    }
}

/// One invocation.
pub async fn handle(deps: &Deps, event: Value) -> Result<Value, lambda_runtime::Error> {
    match trigger(&event) {
        Trigger::Stream(changes) => {
            let recorded = record_and_enqueue(deps, &changes).await?;
            Ok(json!(recorded))
        }
        Trigger::Queue(messages) => {
            let outcomes = attempt_all(deps, &messages).await;
            let failures: Vec<Value> = outcomes
                .iter()
                .filter(|(_, outcome)| outcome.is_none())
                .map(|(id, _)| json!({"itemIdentifier": id}))
                .collect();
            Ok(json!({ "batchItemFailures": failures }))
        }
        Trigger::Schedule => match client_webhooks::enqueue_due(deps).await {
            Ok(enqueued) => Ok(json!({ "enqueued": enqueued })),
            Err(err) => {
                tracing::error!(error = %cause_chain(&err), "enqueueing due webhook deliveries failed");
                Err(err.into())
            }
        },
    }
}

/// Records the events of `changes` and hands the new deliveries to the queue.
pub async fn record_and_enqueue(deps: &Deps, changes: &[Change]) -> Result<Recorded, lambda_runtime::Error> {
    let (recorded, fresh) = match client_webhooks::record(deps, changes).await {
        Ok(done) => done,
        Err(err) => {
            tracing::error!(error = %cause_chain(&err), "recording client webhook events failed");
            return Err(err.into());
        }
    };
    // If this fails, the deliveries are due again when their lease ends: nothing is lost, only late.
    if let Err(err) = deps.webhook_queue.enqueue(&fresh).await {
        tracing::error!(error = %cause_chain(&err), "enqueueing new webhook deliveries failed; their lease brings them back");
    }
    Ok(recorded)
}

/// Attempts every message at once; `None` for a message to give again (unreadable bodies are dropped: they can
/// never succeed).
pub async fn attempt_all(deps: &Deps, messages: &[(String, String)]) -> Vec<(String, Option<Attempt>)> {
    let attempts = messages.iter().map(|(id, body)| async move {
        let Ok(queued) = serde_json::from_str::<QueuedDelivery>(body) else {
            tracing::warn!(message_id = %id, "unreadable webhook queue message dropped");
            return (id.clone(), Some(Attempt::Skipped));
        };
        match client_webhooks::attempt(deps, &queued).await {
            Ok(outcome) => (id.clone(), Some(outcome)),
            Err(err) => {
                tracing::error!(error = %cause_chain(&err), event = %queued.delivery.delivery, "webhook attempt failed");
                (id.clone(), None)
            }
        }
    });
    join_all(attempts).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trigger_is_told_by_the_event_shape() {
        let sqs = json!({"Records": [{"eventSource": "aws:sqs", "messageId": "m1", "body": "{}"}]});
        assert!(matches!(trigger(&sqs), Trigger::Queue(m) if m == vec![("m1".to_owned(), "{}".to_owned())]));
        let stream = json!({"Records": [{"eventSource": "aws:dynamodb", "dynamodb": {}}]});
        assert!(matches!(trigger(&stream), Trigger::Stream(c) if c.len() == 1));
        assert!(matches!(trigger(&json!({"source": "aws.scheduler"})), Trigger::Schedule));
        assert!(matches!(trigger(&json!({})), Trigger::Schedule));
    }
}
