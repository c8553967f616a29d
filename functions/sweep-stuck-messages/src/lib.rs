//! The scheduled sweep: one run fails and refunds the messages stranded between reservation and send.

use lightotp::api::lightotp::LightOtpAnswers;
use lightotp::deps::Deps;
use lightotp::logging::cause_chain;
use lightotp::usecase::sweep::sweep_stuck_messages;
use serde_json::{Value, json};

/// One run; `Err` makes EventBridge's invocation fail, so the error shows in the function's metrics. The failure is
/// logged here with its whole cause chain, once.
pub async fn run(deps: &Deps) -> Result<Value, lambda_runtime::Error> {
    match sweep_stuck_messages(deps, &LightOtpAnswers).await {
        Ok(swept) => Ok(json!({ "swept": swept })),
        Err(err) => {
            tracing::error!(error = %cause_chain(&err), "sweep failed");
            Err(err.into())
        }
    }
}
