//! `POST /api/otp/verify` (the Verify API): rate limit, key, body, then the one use case.

use lambda_http::{Body, Error, Request, Response};
use lightotp::api::verify::VerifyApiError;
use lightotp::deps::Deps;
use lightotp::domain::verification::parse_verify;
use lightotp::http::{self, respond_verify};
use lightotp::logging;
use lightotp::metrics::Endpoint;
use lightotp::usecase::rate_limit::admit;
use lightotp::usecase::verify_api::{VerifyResponse, verify};
use tracing::Instrument;

/// Never `Err` for a client mistake: API Gateway would answer a bare 5xx outside the contract.
pub async fn handle(deps: &Deps, request: Request) -> Result<Response<Body>, Error> {
    let span = logging::request_span("OtpVerify");
    Ok(async { respond_verify(Endpoint::OtpVerify, run(deps, &request).await) }.instrument(span).await)
}

async fn run(deps: &Deps, request: &Request) -> Result<VerifyResponse, VerifyApiError> {
    admit(deps, http::source_ip(request)).await?;
    let client = deps.api_keys.authenticate(http::bearer_or_api_key(request), deps.clock.now()).await?;
    logging::record_client(&client);
    let params = parse_verify(&http::verify_api_body(request)?)?;
    Ok(verify(deps, &client, &params).await?)
}
