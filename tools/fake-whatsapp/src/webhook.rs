//! The status webhook Meta posts to the product (docs/whatsapp.md, "Webhooks"): its JSON shape for one status of
//! one accepted send, and the `X-Hub-Signature-256` signature over the exact body bytes. Delivering it is the
//! `control` module's job.

use hmac::digest::InvalidLength;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use time::OffsetDateTime;

use crate::ledger::{DeliveryStatus, SentMessage};

/// The header Meta signs webhooks with.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

/// The WhatsApp Business Account id the fake reports as `entry[0].id`.
pub(crate) const FAKE_WABA_ID: &str = "100000000000001";

/// The display number the fake reports in `metadata`; 555-01xx numbers are reserved for fiction.
pub(crate) const FAKE_DISPLAY_PHONE_NUMBER: &str = "15555550100";

/// Where Meta points from an error in a status webhook.
const ERROR_CODES_HREF: &str = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/";

/// Why a `failed` status failed, as its `errors[0]` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StatusError {
    pub(crate) code: i64,
    pub(crate) title: String,
    pub(crate) message: String,
    pub(crate) details: String,
}

/// `sha256=<hex HMAC-SHA256(app_secret, body)>`, the value of [`SIGNATURE_HEADER`] for `body`.
///
/// HMAC takes keys of any length, so the error cannot happen in practice; it is returned rather than unwrapped.
pub fn sign(app_secret: &str, body: &[u8]) -> Result<String, InvalidLength> {
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes())?;
    mac.update(body);
    Ok(format!("sha256={}", hex::encode(mac.finalize().into_bytes())))
}

/// One notification carrying one status of `message`, shaped as Meta sends it.
pub(crate) fn status_notification(
    message: &SentMessage,
    status: DeliveryStatus,
    error: Option<&StatusError>,
    at: OffsetDateTime,
) -> Value {
    let mut report = json!({
        "id": message.wamid,
        "status": status,
        "timestamp": at.unix_timestamp().to_string(),
        "recipient_id": message.wa_id(),
    });
    if let Some(callback) = &message.biz_opaque_callback_data {
        report["biz_opaque_callback_data"] = json!(callback);
    }
    if let Some(error) = error {
        report["errors"] = json!([{
            "code": error.code,
            "title": error.title,
            "message": error.message,
            "error_data": { "details": error.details },
            "href": ERROR_CODES_HREF,
        }]);
    }
    json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": FAKE_WABA_ID,
            "changes": [{
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {
                        "display_phone_number": FAKE_DISPLAY_PHONE_NUMBER,
                        "phone_number_id": message.phone_number_id,
                    },
                    "statuses": [report],
                },
            }],
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn sent(callback: Option<&str>) -> SentMessage {
        SentMessage {
            to: "+966551234567".to_owned(),
            phone_number_id: "1234567890".to_owned(),
            template: "otp_en".to_owned(),
            language: "en_US".to_owned(),
            code: "123456".to_owned(),
            wamid: "wamid.ABC".to_owned(),
            biz_opaque_callback_data: callback.map(str::to_owned),
            received_at: "2025-06-01T09:30:00.000Z".to_owned(),
        }
    }

    #[test]
    fn signature_matches_a_known_hmac_sha256_vector() {
        // RFC 4231 test case 2.
        let signature = sign("Jefe", b"what do ya want for nothing?").unwrap();
        assert_eq!(signature, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn a_delivered_status_echoes_callback_data_and_carries_no_errors() {
        let body = status_notification(
            &sent(Some("message-1")),
            DeliveryStatus::Delivered,
            None,
            datetime!(2025-06-01 09:30:00 UTC),
        );
        let value = &body["entry"][0]["changes"][0]["value"];
        assert_eq!(body["object"], "whatsapp_business_account");
        assert_eq!(value["metadata"]["phone_number_id"], "1234567890");
        let status = &value["statuses"][0];
        assert_eq!(status["id"], "wamid.ABC");
        assert_eq!(status["status"], "delivered");
        assert_eq!(status["timestamp"], "1748770200");
        assert_eq!(status["recipient_id"], "966551234567");
        assert_eq!(status["biz_opaque_callback_data"], "message-1");
        assert!(status.get("errors").is_none());
    }

    #[test]
    fn a_failed_status_carries_its_error_and_no_callback_data_when_none_was_sent() {
        let error = StatusError {
            code: 131026,
            title: "Message undeliverable".to_owned(),
            message: "Message undeliverable".to_owned(),
            details: "Recipient is not on WhatsApp".to_owned(),
        };
        let body = status_notification(&sent(None), DeliveryStatus::Failed, Some(&error), OffsetDateTime::now_utc());
        let status = &body["entry"][0]["changes"][0]["value"]["statuses"][0];
        assert!(status.get("biz_opaque_callback_data").is_none());
        assert_eq!(status["errors"][0]["code"], 131026);
        assert_eq!(status["errors"][0]["error_data"]["details"], "Recipient is not on WhatsApp");
    }
}
