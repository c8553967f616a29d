//! Turns an incoming HTTP request into the API Gateway HTTP API (payload 2.0) event Lambda would receive, and
//! lets `lambda_http` parse it exactly as it does in Lambda. The source IP is the socket peer's, never a header.

use std::collections::BTreeMap;
use std::net::IpAddr;

use axum::http::{HeaderMap, Method, Uri};
use base64::Engine;
use serde_json::json;
use time::OffsetDateTime;

/// The parts of an HTTP request an event is built from.
#[derive(Debug)]
pub struct IncomingRequest<'a> {
    /// Method.
    pub method: &'a Method,
    /// Path and query.
    pub uri: &'a Uri,
    /// Headers.
    pub headers: &'a HeaderMap,
    /// Raw body.
    pub body: &'a [u8],
    /// The TCP peer.
    pub source_ip: IpAddr,
    /// The route key, e.g. `POST /SendMessage`.
    pub route_key: &'a str,
    /// The request id to stamp on it.
    pub request_id: &'a str,
    /// When it arrived.
    pub at: OffsetDateTime,
}

/// The event JSON.
pub fn api_gateway_v2_event(request: &IncomingRequest<'_>) -> serde_json::Value {
    // API Gateway joins repeated headers with commas and lower-cases names, and moves cookies out of the headers
    // into the event's `cookies` array, one entry per cookie.
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    let mut cookies: Vec<String> = Vec::new();
    for (name, value) in request.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == axum::http::header::COOKIE {
            cookies.extend(value.split(';').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned));
            continue;
        }
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|joined| {
                joined.push(',');
                joined.push_str(&value);
            })
            .or_insert(value);
    }
    let query = request.uri.query().unwrap_or("");
    let mut parameters: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in url_pairs(query) {
        parameters
            .entry(name)
            .and_modify(|joined| {
                joined.push(',');
                joined.push_str(&value);
            })
            .or_insert(value);
    }
    let (body, encoded) = match std::str::from_utf8(request.body) {
        Ok(text) => (text.to_owned(), false),
        Err(_) => (base64::engine::general_purpose::STANDARD.encode(request.body), true),
    };
    let path = request.uri.path();
    json!({
        "version": "2.0",
        "routeKey": request.route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "cookies": if cookies.is_empty() { serde_json::Value::Null } else { json!(cookies) },
        "queryStringParameters": if parameters.is_empty() { serde_json::Value::Null } else { json!(parameters) },
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "domainPrefix": "local",
            "http": {
                "method": request.method.as_str(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.source_ip.to_string(),
                "userAgent": request.headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or(""),
            },
            "requestId": request.request_id,
            "routeKey": request.route_key,
            "stage": "$default",
            "time": request.at.unix_timestamp().to_string(),
            "timeEpoch": request.at.unix_timestamp_nanos() / 1_000_000,
        },
        "body": if request.body.is_empty() { serde_json::Value::Null } else { json!(body) },
        "isBase64Encoded": encoded,
    })
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes()).map(|(name, value)| (name.into_owned(), value.into_owned())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;

    #[test]
    fn lambda_http_reads_the_event_as_it_would_in_lambda() {
        let method = Method::POST;
        let uri: Uri = "/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=a%20b".parse().expect("uri");
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", "k".parse().expect("header"));
        headers.insert("x-forwarded-for", "203.0.113.9".parse().expect("header"));
        let incoming = IncomingRequest {
            method: &method,
            uri: &uri,
            headers: &headers,
            body: br#"{"id":"x"}"#,
            source_ip: "127.0.0.7".parse().expect("ip"),
            route_key: "POST /webhooks/whatsapp",
            request_id: "req-1",
            at: OffsetDateTime::now_utc(),
        };
        let event = api_gateway_v2_event(&incoming).to_string();
        let request = lambda_http::request::from_str(&event).expect("lambda_http parses the event");
        assert_eq!(request.headers().get("x-api-key").and_then(|v| v.to_str().ok()), Some("k"));
        assert_eq!(request.uri().path(), "/webhooks/whatsapp");
        assert_eq!(request.query_string_parameters().first("hub.challenge"), Some("a b"));
        match request.request_context() {
            RequestContext::ApiGatewayV2(context) => {
                assert_eq!(context.http.source_ip.as_deref(), Some("127.0.0.7"), "the peer, not X-Forwarded-For");
                assert_eq!(context.request_id.as_deref(), Some("req-1"));
            }
            _ => panic!("expected an HTTP API v2 context"),
        }
        assert_eq!(request.body().as_ref(), br#"{"id":"x"}"#);
    }
}
