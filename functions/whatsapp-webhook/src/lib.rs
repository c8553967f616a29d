//! `GET /webhooks/whatsapp` (Meta's subscription handshake) and `POST /webhooks/whatsapp` (signed status
//! notifications): parse, call one use case, respond. Not rate-limited per IP: Meta sends from few addresses, and
//! an unsigned request is refused before it touches storage.

use lambda_http::http::Method;
use lambda_http::{Body, Error, Request, RequestExt, Response};
use lightotp::deps::Deps;
use lightotp::http::{self, WebhookReply, respond_webhook};
use lightotp::usecase::webhook::{WebhookError, receive_notification, verify_subscription};

/// The header Meta signs notifications in.
const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Never `Err`: Meta would retry a bare 5xx, and every answer here is deliberate.
pub async fn handle(deps: &Deps, request: Request) -> Result<Response<Body>, Error> {
    Ok(respond_webhook(webhook(deps, &request).await))
}

async fn webhook(deps: &Deps, request: &Request) -> Result<WebhookReply, WebhookError> {
    if request.method() == Method::GET {
        let query = request.query_string_parameters_ref();
        let param = |name: &str| query.and_then(|q| q.first(name));
        let challenge =
            verify_subscription(deps, param("hub.mode"), param("hub.verify_token"), param("hub.challenge")).await?;
        return Ok(WebhookReply::Challenge(challenge));
    }
    let applied = receive_notification(deps, http::raw_body(request), http::header(request, SIGNATURE_HEADER)).await?;
    Ok(WebhookReply::Applied(applied))
}
