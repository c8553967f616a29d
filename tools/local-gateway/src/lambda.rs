//! A function invoked as Lambda invokes it: the API Gateway v2 event JSON goes through `lambda_http`'s own adapter
//! (the one `lambda_http::run` uses in Lambda), and its v2 response JSON comes back out as API Gateway would send it.
//! That is where cookies travel differently from other headers (the event's `cookies` array, the response's
//! `cookies` turned into one `Set-Cookie` header each), so the local stack loses them exactly where a deployment
//! would, and nowhere else.

use std::future::Future;

use axum::body::Body as AxumBody;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Body, Context, Error, LambdaEvent, Request, Service, service_fn};
use serde::Deserialize;

/// The API Gateway v2 response as `lambda_http` serializes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct V2Response {
    status_code: u16,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    cookies: Vec<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    is_base64_encoded: bool,
}

/// Runs `handler` on `event` through `lambda_http`'s adapter and returns the HTTP response API Gateway would send.
pub async fn invoke<F, Fut>(event: serde_json::Value, handler: F) -> Result<Response, Error>
where
    F: FnMut(Request) -> Fut,
    Fut: Future<Output = Result<lambda_http::Response<Body>, Error>> + Send,
{
    let payload: LambdaRequest = serde_json::from_value(event)?;
    let mut adapter = Adapter::from(service_fn(handler));
    let answer = adapter.call(LambdaEvent::new(payload, Context::default())).await?;
    into_http(serde_json::from_value(serde_json::to_value(answer)?)?)
}

fn into_http(answer: V2Response) -> Result<Response, Error> {
    let body = match (answer.body, answer.is_base64_encoded) {
        (None, _) => Vec::new(),
        (Some(text), false) => text.into_bytes(),
        (Some(encoded), true) => base64::engine::general_purpose::STANDARD.decode(encoded)?,
    };
    let mut response = Response::new(AxumBody::from(body));
    *response.status_mut() = StatusCode::from_u16(answer.status_code)?;
    let headers = response.headers_mut();
    for (name, value) in answer.headers {
        headers.insert(HeaderName::try_from(name)?, HeaderValue::try_from(value)?);
    }
    for cookie in answer.cookies {
        headers.append(axum::http::header::SET_COOKIE, HeaderValue::try_from(cookie)?);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use axum::http::{HeaderMap, Method, Uri};
    use time::OffsetDateTime;

    use super::*;
    use crate::event::{IncomingRequest, api_gateway_v2_event};

    /// The event of a `GET /dashboard` carrying two cookies in one header and a third in another.
    fn event_with_cookies() -> serde_json::Value {
        let mut headers = HeaderMap::new();
        headers.append("cookie", "session=abc; lang=ar".parse().expect("header"));
        headers.append("cookie", "theme=dark".parse().expect("header"));
        headers.insert("accept", "text/html".parse().expect("header"));
        let uri: Uri = "/dashboard".parse().expect("uri");
        let incoming = IncomingRequest {
            method: &Method::GET,
            uri: &uri,
            headers: &headers,
            body: b"",
            source_ip: IpAddr::from([127, 0, 0, 1]),
            route_key: "ANY /dashboard",
            request_id: "r-1",
            at: OffsetDateTime::UNIX_EPOCH,
        };
        api_gateway_v2_event(&incoming)
    }

    #[test]
    fn cookies_travel_in_the_events_cookies_array_not_its_headers() {
        let event = event_with_cookies();
        assert_eq!(event["cookies"], serde_json::json!(["session=abc", "lang=ar", "theme=dark"]));
        assert!(event["headers"].get("cookie").is_none(), "API Gateway takes them out of the headers");
        assert_eq!(event["headers"]["accept"], "text/html");
    }

    #[tokio::test]
    async fn a_handler_reads_the_cookies_and_each_cookie_it_sets_is_its_own_set_cookie_header() {
        let response = invoke(event_with_cookies(), |request: Request| async move {
            let seen = request.headers().get("cookie").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            let mut response = lambda_http::Response::new(Body::Text(seen));
            response.headers_mut().append("set-cookie", "session=new; HttpOnly; Path=/dashboard".parse()?);
            response.headers_mut().append("set-cookie", "lang=en; Path=/dashboard".parse()?);
            response.headers_mut().insert("content-type", "text/plain".parse()?);
            Ok(response)
        })
        .await
        .expect("invoked");

        let set: Vec<_> = response.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).collect();
        assert_eq!(set, ["session=new; HttpOnly; Path=/dashboard", "lang=en; Path=/dashboard"]);
        assert_eq!(response.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("text/plain"));
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.expect("body");
        assert_eq!(&body[..], b"session=abc; lang=ar; theme=dark", "the handler saw every cookie");
    }
}
