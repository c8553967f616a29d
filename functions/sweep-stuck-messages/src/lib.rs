//! The scheduled sweep: one run fails and refunds the messages stranded between reservation and send.

use lightotp::api::lightotp::LightOtpAnswers;
use lightotp::deps::Deps;
use lightotp::usecase::sweep::sweep_stuck_messages;
use serde_json::{Value, json};

/// One run; `Err` makes EventBridge's invocation fail, so the error shows in the function's metrics.
pub async fn run(deps: &Deps) -> Result<Value, lambda_runtime::Error> {
    let swept = sweep_stuck_messages(deps, &LightOtpAnswers).await?;
    Ok(json!({ "swept": swept }))
}
