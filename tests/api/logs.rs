//! Log lines (docs/operations.md, "Logs"): every line a request logs carries the invocation's request id, and, once
//! known, its client id and message id, so that one request can be followed through the logs; no line carries a
//! phone number, an OTP code or an API key.

use serde_json::Value;

use crate::helpers::{Ctx, fresh_sa_phone, otp};

/// The local gateway's log lines (where the functions' lines go locally), as JSON.
fn gateway_lines(ctx: &Ctx) -> Vec<Value> {
    let text = std::fs::read_to_string(ctx.logs_dir.join("local-gateway.log")).expect("the gateway's log");
    text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect()
}

/// The value of `field` in any span of the line.
fn in_spans<'a>(line: &'a Value, field: &str) -> Option<&'a str> {
    line["spans"].as_array()?.iter().find_map(|span| span[field].as_str())
}

#[tokio::test]
async fn every_line_of_a_request_carries_its_ids_and_no_line_a_number_a_code_or_a_key() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    let (phone, code) = (fresh_sa_phone(), uuid::Uuid::new_v4().simple().to_string()[..8].to_ascii_uppercase());
    let sent = ctx.send(&tenant, otp(&code, &phone)).await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    let id = sent.body["id"].as_str().expect("id").to_owned();
    let refused = ctx.send(&tenant, otp(&code, &phone)).await;
    assert_eq!(refused.status, 400, "the cooldown: {:?}", refused.body);

    // The lines are written as they happen; give the file a moment.
    let mut ours = Vec::new();
    for _ in 0..20 {
        ours = gateway_lines(&ctx)
            .into_iter()
            .filter(|line| in_spans(line, "client_id") == Some(tenant.client_id.as_str()))
            .collect();
        if ours.iter().any(|line| line["fields"]["message"] == "request refused") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let message = |line: &Value| line["fields"]["message"].as_str().unwrap_or_default().to_owned();
    let sent_line = ours.iter().find(|line| message(line) == "message sent").expect("the send's line");
    assert_eq!(in_spans(sent_line, "message_id"), Some(id.as_str()), "{sent_line}");
    let refused_line = ours.iter().find(|line| message(line) == "request refused").expect("the refusal's line");
    assert_eq!(refused_line["level"], "INFO", "a refusal is the client's mistake: {refused_line}");
    for line in &ours {
        assert!(in_spans(line, "requestId").is_some(), "a line without its request id: {line}");
    }

    // The WhatsApp webhook's lines about a status name the message's client and the message.
    let wamid = ctx.last_wamid(&tenant).await;
    assert_eq!(ctx.whatsapp_status(&wamid, "delivered", None).await, 200);
    let mut found = false;
    for _ in 0..20 {
        found = gateway_lines(&ctx).iter().any(|line| {
            message(line) == "status update"
                && in_spans(line, "client_id") == Some(tenant.client_id.as_str())
                && in_spans(line, "message_id") == Some(id.as_str())
        });
        if found {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(found, "the status update's line names the client and the message");

    let digits = phone.trim_start_matches('+');
    let text = std::fs::read_to_string(ctx.logs_dir.join("local-gateway.log")).expect("log");
    for (secret, what) in
        [(digits, "the phone number"), (code.as_str(), "the code"), (tenant.api_key.as_str(), "the API key")]
    {
        let leaked = text.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').any(|token| token.contains(secret));
        assert!(!leaked, "{what} appears in the gateway's log");
    }
}
