//! `POST /SendMessage`: parse the request, call the one use case, respond. No error mapping here.

use lambda_http::{Body, Error, Request, Response};
use lightotp::auth::API_KEY_HEADER;
use lightotp::deps::Deps;
use lightotp::http::{self, ApiError, respond};
use lightotp::usecase::send_message::{SendMessageRequest, SendMessageResponse, send_message};

/// Never `Err` for a client mistake: API Gateway would answer a bare 5xx outside the contract.
pub async fn handle(deps: &Deps, request: Request) -> Result<Response<Body>, Error> {
    Ok(respond(
        http::human_language(&request),
        send(deps, &request).await,
    ))
}

async fn send(deps: &Deps, request: &Request) -> Result<SendMessageResponse, ApiError> {
    // The key is checked before the body is read (decisions.md, step 2).
    let client = deps
        .api_keys
        .authenticate(http::header(request, API_KEY_HEADER), deps.clock.now())
        .await?;
    let input = http::json_object::<SendMessageRequest>(request)?.validate()?;
    send_message(deps, &client, input).await
}
