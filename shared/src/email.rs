//! Sending the platform's emails through Amazon SES (v2), from the configured sender address.

use aws_sdk_sesv2::error::DisplayErrorContext;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use crate::domain::notification::Email;
use crate::on_first_use::OnFirstUse;

/// Sends emails from one verified address.
#[derive(Debug, Clone)]
pub struct Mailer {
    client: OnFirstUse<aws_sdk_sesv2::Client>,
    from: String,
}

/// SES refused or failed.
#[derive(Debug, thiserror::Error)]
#[error("sending email: {0}")]
pub struct EmailError(String);

impl Mailer {
    /// A mailer sending as `from` (an SES-verified identity).
    pub fn new(client: impl Into<OnFirstUse<aws_sdk_sesv2::Client>>, from: impl Into<String>) -> Self {
        Self { client: client.into(), from: from.into() }
    }

    /// Sends a plain-text email to `to`.
    pub async fn send(&self, to: &str, email: &Email) -> Result<(), EmailError> {
        let text = |value: &str| Content::builder().data(value).charset("UTF-8").build();
        let subject = text(&email.subject).map_err(|e| EmailError(e.to_string()))?;
        let body = text(&email.body).map_err(|e| EmailError(e.to_string()))?;
        self.client
            .get()
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to).build())
            .content(
                EmailContent::builder()
                    .simple(Message::builder().subject(subject).body(Body::builder().text(body).build()).build())
                    .build(),
            )
            .send()
            .await
            .map_err(|e| EmailError(DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}
