//! The queue of client webhook deliveries (SQS) and its dead-letter queue. A message names one delivery
//! ([`QueuedDelivery`]: the delivery and the due time it was enqueued under); the delivery's state lives in the
//! table, so a message seen twice, or late, attempts at most once per due time (docs/webhooks.md, docs/architecture.md).

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use crate::on_first_use::OnFirstUse;
use crate::store::{DeliveryRef, QueuedDelivery};

/// SQS refused or could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("SQS {operation}: {cause}")]
pub struct QueueError {
    operation: &'static str,
    cause: String,
}

impl QueueError {
    fn new(operation: &'static str, cause: impl std::fmt::Display) -> Self {
        Self { operation, cause: cause.to_string() }
    }
}

/// The delivery queue and its dead-letter queue.
#[derive(Debug, Clone)]
pub struct DeliveryQueue {
    client: OnFirstUse<aws_sdk_sqs::Client>,
    url: Option<String>,
    dead_letter_url: Option<String>,
}

impl DeliveryQueue {
    /// The queues at these URLs (`None` where a function is not configured with them: sending then fails).
    pub fn new(
        client: impl Into<OnFirstUse<aws_sdk_sqs::Client>>,
        url: Option<String>,
        dead_letter_url: Option<String>,
    ) -> Self {
        Self { client: client.into(), url, dead_letter_url }
    }

    /// The SDK client, for the local stack's consumer.
    pub fn client(&self) -> &aws_sdk_sqs::Client {
        self.client.get()
    }

    /// The queue's URL.
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// The dead-letter queue's URL.
    pub fn dead_letter_url(&self) -> Option<&str> {
        self.dead_letter_url.as_deref()
    }

    /// Sends one message per delivery, ten to a `SendMessageBatch`. Fails if any entry was refused: the caller's
    /// deliveries then become due again when their lease ends, so nothing is lost.
    pub async fn enqueue(&self, deliveries: &[QueuedDelivery]) -> Result<(), QueueError> {
        const OP: &str = "SendMessageBatch";
        let url = self.url.as_deref().ok_or_else(|| QueueError::new(OP, "WEBHOOK_QUEUE_URL is not set"))?;
        for chunk in deliveries.chunks(10) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, delivery) in chunk.iter().enumerate() {
                let body = serde_json::to_string(delivery).map_err(|e| QueueError::new(OP, e))?;
                entries.push(
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body)
                        .build()
                        .map_err(|e| QueueError::new(OP, e))?,
                );
            }
            let out = self
                .client
                .get()
                .send_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| QueueError::new(OP, aws_sdk_sqs::error::DisplayErrorContext(e)))?;
            if let Some(failed) = out.failed().first() {
                return Err(QueueError::new(OP, format!("entry refused: {}", failed.code())));
            }
        }
        Ok(())
    }

    /// Puts a delivery whose every attempt failed on the dead-letter queue, with why.
    pub async fn dead_letter(&self, delivery: &DeliveryRef, reason: &str) -> Result<(), QueueError> {
        const OP: &str = "SendMessage dead letter";
        let url = self
            .dead_letter_url
            .as_deref()
            .ok_or_else(|| QueueError::new(OP, "WEBHOOK_DEAD_LETTER_QUEUE_URL is not set"))?;
        let body = serde_json::json!({"delivery": delivery, "reason": reason}).to_string();
        self.client
            .get()
            .send_message()
            .queue_url(url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| QueueError::new(OP, aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        Ok(())
    }
}
