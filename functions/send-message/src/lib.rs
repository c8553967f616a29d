//! `POST /SendMessage`: parse the request, call the one use case, respond. No error mapping here.

use lambda_http::{Body, Error, Request, Response};
use lightotp::api::lightotp::{ApiError, LightOtpAnswers};
use lightotp::auth::API_KEY_HEADER;
use lightotp::deps::Deps;
use lightotp::domain::language::HumanLanguage;
use lightotp::http::{self, respond};
use lightotp::metrics::Endpoint;
use lightotp::usecase::Answer;
use lightotp::usecase::rate_limit::admit;
use lightotp::usecase::send_message::{SendMessageRequest, SendMessageResponse, send_message};

/// Never `Err` for a client mistake: API Gateway would answer a bare 5xx outside the contract.
pub async fn handle(deps: &Deps, request: Request) -> Result<Response<Body>, Error> {
    let language = http::human_language(&request);
    Ok(respond(Endpoint::SendMessage, language, send(deps, &request, language).await))
}

async fn send(
    deps: &Deps,
    request: &Request,
    language: HumanLanguage,
) -> Result<Answer<SendMessageResponse>, ApiError> {
    // Rate limit, then the key, then the body and its fields (docs/api.md, SendMessage: order of checks, steps 1–7).
    admit(deps, http::source_ip(request)).await?;
    let client = deps.api_keys.authenticate(http::header(request, API_KEY_HEADER), deps.clock.now()).await?;
    let input = http::json_object::<SendMessageRequest>(request)?.validate()?;
    Ok(send_message(deps, &client, input, language, &LightOtpAnswers).await?)
}
