//! `POST /CheckMessageStatus`: parse the request, call the one use case, respond. No error mapping here.

use lambda_http::{Body, Error, Request, Response};
use lightotp::api::lightotp::ApiError;
use lightotp::auth::API_KEY_HEADER;
use lightotp::deps::Deps;
use lightotp::http::{self, respond};
use lightotp::logging;
use lightotp::metrics::Endpoint;
use lightotp::usecase::Answer;
use lightotp::usecase::check_status::{CheckMessageStatusRequest, MessageStatusResponse, check_message_status};
use lightotp::usecase::rate_limit::admit;
use tracing::Instrument;

/// Never `Err` for a client mistake: API Gateway would answer a bare 5xx outside the contract.
pub async fn handle(deps: &Deps, request: Request) -> Result<Response<Body>, Error> {
    let language = http::human_language(&request);
    let span = logging::request_span("CheckMessageStatus");
    Ok(async { respond(Endpoint::CheckMessageStatus, language, check(deps, &request).await) }.instrument(span).await)
}

async fn check(deps: &Deps, request: &Request) -> Result<Answer<MessageStatusResponse>, ApiError> {
    admit(deps, http::source_ip(request)).await?;
    let client = deps.api_keys.authenticate(http::header(request, API_KEY_HEADER), deps.clock.now()).await?;
    logging::record_client(&client);
    let id = http::json_object::<CheckMessageStatusRequest>(request)?.validate()?;
    Ok(Answer::Fresh(check_message_status(deps, &client, id).await?))
}
