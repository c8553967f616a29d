//! `POST /SendMessage`: parse the request, call the one use case, respond. No error mapping here.

use lambda_http::{Body, Error, Request, Response};
use lightotp::api::lightotp::{ApiError, LightOtpAnswers};
use lightotp::auth::API_KEY_HEADER;
use lightotp::deps::Deps;
use lightotp::domain::language::HumanLanguage;
use lightotp::http::{self, respond};
use lightotp::logging;
use lightotp::metrics::Endpoint;
use lightotp::usecase::Answer;
use lightotp::usecase::rate_limit::admit;
use lightotp::usecase::send_message::{SendMessageRequest, SendMessageResponse, send_message};
use tracing::Instrument;

/// Never `Err` for a client mistake: API Gateway would answer a bare 5xx outside the contract.
pub async fn handle(deps: &Deps, request: Request) -> Result<Response<Body>, Error> {
    let span = logging::request_span("SendMessage");
    async {
        let language = http::human_language(&request);
        let result = send(deps, &request, language).await;
        // The message, on the lines that answer it too (a refusal WhatsApp gave has one).
        let message_id = match &result {
            Ok(Answer::Fresh(answer)) => Some(answer.id.as_str()),
            Err(ApiError::WhatsAppRejected { id, .. }) => Some(id.as_str()),
            _ => None,
        };
        if let Some(id) = message_id {
            tracing::Span::current().record("message_id", id);
        }
        Ok(respond(Endpoint::SendMessage, language, result))
    }
    .instrument(span)
    .await
}

async fn send(
    deps: &Deps,
    request: &Request,
    language: HumanLanguage,
) -> Result<Answer<SendMessageResponse>, ApiError> {
    // The key, then the body and its fields (docs/api.md, SendMessage: order of checks, steps 2–7). The rate limit
    // (step 1) answers first all the same: a refusal here is counted before it is answered, and a request that passes
    // is counted by the use case, with the read it makes anyway (docs/data-model.md, "SendMessage").
    let source_ip = http::source_ip(request);
    let checked = async {
        let client = deps.api_keys.authenticate(http::header(request, API_KEY_HEADER), deps.clock.now()).await?;
        logging::record_client(&client);
        let input = http::json_object::<SendMessageRequest>(request)?.validate()?;
        Ok::<_, ApiError>((client, input))
    };
    let (client, input) = match checked.await {
        Ok(checked) => checked,
        Err(refusal) => {
            admit(deps, source_ip).await?;
            return Err(refusal);
        }
    };
    Ok(send_message(deps, &client, input, source_ip, language, &LightOtpAnswers).await?)
}
