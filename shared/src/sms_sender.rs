//! Sending SMS through Amazon SNS (`Publish` to a phone number, transactional, with the sender id).

use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::MessageAttributeValue;

use crate::domain::phone::PhoneE164;
use crate::on_first_use::OnFirstUse;

/// Publishes SMS.
#[derive(Debug, Clone)]
pub struct SmsSender {
    client: OnFirstUse<aws_sdk_sns::Client>,
}

/// SNS refused or failed.
#[derive(Debug, thiserror::Error)]
#[error("sending SMS: {0}")]
pub struct SmsError(String);

impl SmsError {
    /// A refusal of the tests' own.
    #[cfg(test)]
    pub(crate) fn for_tests(reason: &str) -> Self {
        Self(reason.to_owned())
    }
}

fn string_attribute(value: &str) -> Result<MessageAttributeValue, SmsError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| SmsError(e.to_string()))
}

impl SmsSender {
    /// A sender over an SNS client.
    pub fn new(client: impl Into<OnFirstUse<aws_sdk_sns::Client>>) -> Self {
        Self { client: client.into() }
    }

    /// Builds the SNS client now (during a cold start, for a function that sends an SMS on every request).
    pub fn warm(&self) {
        self.client.get();
    }

    /// Sends `text` to `to` as a transactional SMS from `sender_id`; returns SNS's message id.
    pub async fn send(&self, to: &PhoneE164, text: &str, sender_id: &str) -> Result<String, SmsError> {
        let out = self
            .client
            .get()
            .publish()
            .phone_number(to.as_str())
            .message(text)
            .message_attributes("AWS.SNS.SMS.SenderID", string_attribute(sender_id)?)
            .message_attributes("AWS.SNS.SMS.SMSType", string_attribute("Transactional")?)
            .send()
            .await
            .map_err(|e| SmsError(DisplayErrorContext(e).to_string()))?;
        Ok(out.message_id().unwrap_or_default().to_owned())
    }
}
