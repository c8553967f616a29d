//! Emails the stack "sent": the AWS emulator's `GET /_local/emails`, oldest first.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::ctx::Ctx;

/// How long an email may take to show up.
const WAIT: Duration = Duration::from_secs(10);

/// The body of the newest email to `address`, waiting up to 10 s for one.
pub async fn latest_email_to(ctx: &Ctx, address: &str) -> String {
    let url = format!("{}/_local/emails", ctx.stack.aws_endpoint_url);
    let started = Instant::now();
    loop {
        let emails = match ctx.http.get(&url).send().await {
            Ok(response) => response.json::<Vec<Value>>().await.unwrap_or_default(),
            Err(err) => panic!("GET {url}: {err}"),
        };
        let newest = emails.iter().rev().find(|email| is_to(email, address));
        if let Some(body) = newest.and_then(|email| email["body"].as_str()) {
            return body.to_owned();
        }
        if started.elapsed() > WAIT {
            panic!("no email to {address} at {url} within {} s ({} emails in all)", WAIT.as_secs(), emails.len());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Whether an email's `to` (a list of addresses, or one) holds `address`.
fn is_to(email: &Value, address: &str) -> bool {
    let same = |to: &Value| to.as_str().is_some_and(|to| to.eq_ignore_ascii_case(address));
    match &email["to"] {
        Value::Array(list) => list.iter().any(same),
        to => same(to),
    }
}

/// The first `http(s)://…/dashboard…` link in an email's body (HTML's `&amp;` undone).
pub fn link_in(body: &str) -> String {
    let ends = |c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ')' | ']');
    let mut rest = body;
    while let Some(start) = rest.find("http") {
        let candidate = &rest[start..];
        let link = candidate.split(ends).next().unwrap_or(candidate);
        if (link.starts_with("http://") || link.starts_with("https://")) && link.contains("/dashboard") {
            return link.trim_end_matches(['.', ',', ';']).replace("&amp;", "&");
        }
        rest = &candidate[4..];
    }
    panic!("no dashboard link in this email:\n{body}");
}
