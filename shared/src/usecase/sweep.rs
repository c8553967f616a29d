//! The stuck-message sweep (docs/api.md, Message lifecycle): a message reserved but never handed to WhatsApp (the
//! function stopped between charging and sending) is failed and refunded, and its idempotency key then replays that
//! failure.

use tracing::instrument;

use crate::deps::Deps;
use crate::store::{Failure, StoreError};
use crate::usecase::send_message::{SendAnswers, SendFailure, SendRefusal};

/// How many stranded messages one run handles; the next run takes the rest.
const BATCH: i32 = 100;

/// Fails and refunds every message `Pending` without a WhatsApp answer for longer than the grace period, storing
/// for its idempotency key the answer `answers` gives an internal failure. Returns how many it failed.
#[instrument(skip_all)]
pub async fn sweep_stuck_messages(deps: &Deps, answers: &impl SendAnswers) -> Result<usize, StoreError> {
    let now = deps.clock.now();
    let grace = time::Duration::try_from(deps.config.sweep_grace).unwrap_or(time::Duration::minutes(5));
    let stranded = deps.store.stranded_messages(now - grace, BATCH).await?;
    let mut swept = 0;
    for message in stranded {
        let failure = Failure {
            code: None,
            title: Some("NotSent".to_owned()),
            reason: Some(
                "The message was charged but never handed to WhatsApp; it was failed and refunded.".to_owned(),
            ),
        };
        // What the client would have got had the function lived: an internal error.
        let replay = answers.refused(&SendRefusal::Failed(SendFailure::Stranded), message.language);
        if deps.store.fail_and_refund(message.charge(), &failure, Some(&replay), now).await? {
            tracing::warn!(message_id = %message.id, client_id = %message.client_id, "stranded message failed and refunded");
            swept += 1;
        }
    }
    Ok(swept)
}
