//! The dashboard's Webhooks pages (docs/dashboard.md, "Pages"; docs/webhooks.md) over HTTP against the local stack,
//! without a browser: a signing secret shown once on a page that is not stored, and never again; refused URLs and
//! events answered with the form and a message, never a 500; another client's endpoint not found and untouched;
//! the CSRF and origin checks on the new forms; disable, enable, rotate, delete; the delivery log (escaped answers)
//! and redelivery. Each test makes its own client; the local stack allows loopback URLs.

use lightotp::domain::time_format::rfc3339_millis;
use lightotp::store::{AttemptRecord, EndpointRecord, NewDelivery, NextStep};
use time::Duration;
use uuid::Uuid;

use crate::dashboard_client::{Account, Browserless, Page, Site, form_body};
use crate::helpers::Ctx;

// The English texts the pages show (functions/dashboard/src/texts.rs).
const FORBIDDEN: &str = "This form has expired or came from another site.";
const NOT_FOUND: &str = "This page does not exist.";
const REQUIRED: &str = "This field is required.";
const WEBHOOKS_TITLE: &str = "<h1>Webhooks</h1>";
const NO_ENDPOINTS: &str = "No endpoints yet.";
const SECRET_TITLE: &str = "signing secret</h1>";
const SHOWN_ONCE: &str = "it is shown only once and cannot be shown again";
const PREVIOUS_UNTIL: &str = "For 24 hours the previous secret signs every delivery too, until";
const URL_FORBIDDEN: &str = "That address is not allowed";
const URL_NOT_HTTPS: &str = "The URL must start with https://.";
const URL_CREDENTIALS: &str = "The URL must not contain a user name or password.";
const URL_MALFORMED: &str = "Enter a full URL such as https://example.com/hooks.";
const UNKNOWN_EVENT: &str = "Choose events from the list.";
const ENABLED: &str = "Enabled";
const DISABLED_BY_YOU: &str = "Disabled by you";
const NOTICE_DISABLED: &str = "The endpoint is disabled: it gets no new events.";
const NOTICE_ENABLED: &str = "The endpoint is enabled: new events are sent to it again.";
const NOTICE_DELETED: &str = "The endpoint is deleted: nothing more is sent to it.";
const NO_ATTEMPTS: &str = "No attempts yet.";
const BAD_SINCE: &str = "Enter a time like 2026-11-23T00:00:00Z";
const ENABLE_FIRST: &str = "This endpoint is disabled: enable it on the Webhooks page before redelivering.";
const SCHEDULED: &str = "Events scheduled for redelivery: <strong>";
const REDELIVER_FORM: &str = "Redeliver every event since";

/// A form's fields, or a request's headers, as `(name, value)`.
type Pairs<'a> = Vec<(&'a str, &'a str)>;

impl Account {
    /// The client's endpoints as stored.
    async fn endpoints(&self, ctx: &Ctx) -> Vec<EndpointRecord> {
        ctx.admin.store.endpoints(&self.client_id).await.expect("endpoints")
    }

    async fn endpoint(&self, ctx: &Ctx, endpoint_id: &str) -> Option<EndpointRecord> {
        ctx.admin.store.endpoint(&self.client_id, endpoint_id).await.expect("endpoint")
    }
}

/// A loopback URL no other test uses (port 9, where nothing answers: nothing here needs a delivery to succeed).
fn hook_url() -> String {
    format!("http://127.0.0.1:9/hooks/{}", Uuid::new_v4().simple())
}

/// Asserts a page's status and that it shows `text`.
fn assert_page(page: &Page, status: u16, text: &str, what: &str) {
    assert_eq!(page.status, status, "{what}: {}", page.summary());
    assert!(page.shows(text), "{what}: the page should say {text:?}: {}", page.summary());
}

/// Asserts that a page holds no signing secret.
fn assert_no_secret(page: &Page, what: &str) {
    assert!(!page.shows("whsec_"), "{what} shows a signing secret: {}", page.summary());
}

/// The new signing secret on the page that shows it once; checks that page is not stored.
fn shown_secret(page: &Page, what: &str) -> String {
    assert_page(page, 200, SECRET_TITLE, what);
    assert!(page.shows(SHOWN_ONCE), "{what}: no shown-once warning: {}", page.summary());
    assert_eq!(page.header("cache-control"), "no-store", "{what}: a page that shows a secret is not stored");
    let secret =
        page.input_by_id("signing-secret").unwrap_or_else(|| panic!("{what}: no secret shown: {}", page.summary()));
    assert!(secret.starts_with("whsec_") && secret.len() > 40, "{what}: {secret:?} is not a signing secret");
    secret
}

/// Adds an endpoint on the Webhooks page with `events` ticked; answers its id and the secret shown once.
async fn add_endpoint(
    ctx: &Ctx,
    account: &Account,
    browser: &Browserless,
    url: &str,
    events: &[&str],
) -> (String, String) {
    let boxes: Vec<String> = events.iter().map(|event| format!("event:{event}")).collect();
    let mut fields = vec![("url", url)];
    fields.extend(boxes.iter().map(|name| (name.as_str(), "on")));
    let page = browser.post_form("/dashboard/webhooks", &fields).await;
    let secret = shown_secret(&page, &format!("adding {url}"));
    assert!(page.shows(url), "the secret's page names the endpoint's URL: {}", page.summary());
    let endpoint = account.endpoints(ctx).await.into_iter().find(|e| e.url == url).expect("the endpoint is stored");
    (endpoint.endpoint_id, secret)
}

#[tokio::test]
async fn dashboard_webhooks_an_endpoint_is_added_with_its_secret_shown_once_then_disabled_enabled_rotated_and_deleted()
{
    let ctx = Ctx::new().await;
    let site = Site::from_stack();
    let account = Account::new(&ctx, "Webhooks test client").await;
    let browser = account.browser(&site).await;

    let page = browser.get("/dashboard/webhooks").await;
    assert_page(&page, 200, WEBHOOKS_TITLE, "the Webhooks page");
    assert!(page.shows(NO_ENDPOINTS) && page.shows("href=\"/dashboard/webhooks\""), "{}", page.summary());
    for event in ["message.sent", "message.delivered", "message.read", "message.failed", "message.deleted"] {
        assert!(page.shows(&format!("name=\"event:{event}\"")), "no checkbox for {event}");
    }

    let url = hook_url();
    let (id, secret) = add_endpoint(&ctx, &account, &browser, &url, &["otp.failed", "message.delivered"]).await;
    let stored = account.endpoint(&ctx, &id).await.expect("stored");
    let events: Vec<&str> = stored.events.events().iter().map(|e| e.as_str()).collect();
    assert_eq!((events, stored.enabled), (vec!["message.delivered", "otp.failed"], true));
    assert!(!stored.signing_secret.contains(&secret), "the secret is stored sealed, not in clear");

    // Listed, with its events and state, and never its secret (nor its sealed form) again.
    let list = browser.get("/dashboard/webhooks").await;
    assert_page(&list, 200, &url, "the list after adding");
    assert!(list.shows("message.delivered, otp.failed") && list.shows(ENABLED), "{}", list.summary());
    assert!(!list.shows(&stored.signing_secret), "the list shows the sealed secret");
    assert_no_secret(&list, "the list");
    assert_no_secret(&browser.get(&format!("/dashboard/webhooks/{id}")).await, "the delivery log");

    // A second endpoint with no event ticked gets every event.
    let every = hook_url();
    let (every_id, _) = add_endpoint(&ctx, &account, &browser, &every, &[]).await;
    assert!(account.endpoint(&ctx, &every_id).await.expect("stored").events.is_all());
    assert!(browser.get("/dashboard/webhooks").await.shows("All events"));

    // Disable: the state says who did it, and the log says to enable it before redelivering.
    let page = browser.post_form(&format!("/dashboard/webhooks/{id}/disable"), &[]).await;
    assert_eq!((page.status, page.location()), (303, Some("/dashboard/webhooks?notice=disabled")));
    let stored = account.endpoint(&ctx, &id).await.expect("stored");
    assert_eq!((stored.enabled, stored.disabled_reason.as_deref()), (false, Some("client")));
    let list = browser.get("/dashboard/webhooks?notice=disabled").await;
    assert!(list.shows(NOTICE_DISABLED) && list.shows(DISABLED_BY_YOU), "{}", list.summary());
    assert!(list.shows(&format!("action=\"/dashboard/webhooks/{id}/enable\"")), "no Enable button: {}", list.summary());
    let log = browser.get(&format!("/dashboard/webhooks/{id}")).await;
    assert_page(&log, 200, ENABLE_FIRST, "the log of a disabled endpoint");
    assert!(!log.shows(REDELIVER_FORM), "a disabled endpoint offers redelivery: {}", log.summary());
    let since = rfc3339_millis(ctx.gateway_now().await - Duration::days(1));
    let page = browser.post_form(&format!("/dashboard/webhooks/{id}/redeliver"), &[("since", &since)]).await;
    assert_page(&page, 409, ENABLE_FIRST, "redelivering to a disabled endpoint");

    // Enable.
    let page = browser.post_form(&format!("/dashboard/webhooks/{id}/enable"), &[]).await;
    assert_eq!((page.status, page.location()), (303, Some("/dashboard/webhooks?notice=enabled")));
    assert!(account.endpoint(&ctx, &id).await.expect("stored").enabled);
    assert!(browser.get("/dashboard/webhooks?notice=enabled").await.shows(NOTICE_ENABLED));

    // Rotate: a new secret, once, and until when the old one still signs.
    let page = browser.post_form(&format!("/dashboard/webhooks/{id}/rotate"), &[]).await;
    let rotated = shown_secret(&page, "rotating");
    assert_ne!(rotated, secret, "the rotation showed the old secret");
    assert!(
        page.shows(PREVIOUS_UNTIL),
        "the rotation does not say until when the old secret signs: {}",
        page.summary()
    );
    let stored = account.endpoint(&ctx, &id).await.expect("stored");
    let (_, until) = stored.previous_secrets.first().cloned().expect("the previous secret is kept for 24 hours");
    assert!(page.shows(&until[..10]), "the page does not show {until}: {}", page.summary());
    let list = browser.get("/dashboard/webhooks").await;
    assert_no_secret(&list, "the list after a rotation");
    assert!(!list.shows(&stored.signing_secret), "the list shows the sealed secret");

    // The log of an endpoint with no attempts, and redelivery: a malformed time gets the form back.
    let log = browser.get(&format!("/dashboard/webhooks/{id}")).await;
    assert_page(&log, 200, NO_ATTEMPTS, "the log with no attempts");
    assert!(
        log.shows(REDELIVER_FORM) && log.input_by_id("since").is_some_and(|v| v.ends_with('Z')),
        "{}",
        log.summary()
    );
    for (what, since, message) in [
        ("a malformed time", "yesterday", BAD_SINCE),
        ("a time without its zone", "2026-11-23T00:00:00", BAD_SINCE),
        ("no time", "", REQUIRED),
    ] {
        let page = browser.post_form(&format!("/dashboard/webhooks/{id}/redeliver"), &[("since", since)]).await;
        assert_page(&page, 400, message, &format!("redelivering since {what}"));
        assert!(page.shows(REDELIVER_FORM), "redelivering since {what}: no form again: {}", page.summary());
    }
    let page = browser.post_form(&format!("/dashboard/webhooks/{id}/redeliver"), &[("since", &since)]).await;
    let back = format!("/dashboard/webhooks/{id}?scheduled=0");
    assert_eq!((page.status, page.location()), (303, Some(back.as_str())), "{}", page.summary());
    assert!(browser.get(&back).await.shows(&format!("{SCHEDULED}0</strong>")));

    // Delete: gone from the table and the page, and its log is not found.
    let page = browser.post_form(&format!("/dashboard/webhooks/{id}/delete"), &[]).await;
    assert_eq!((page.status, page.location()), (303, Some("/dashboard/webhooks?notice=deleted")));
    assert!(account.endpoint(&ctx, &id).await.is_none(), "the endpoint is still stored");
    let list = browser.get("/dashboard/webhooks?notice=deleted").await;
    assert!(list.shows(NOTICE_DELETED) && !list.shows(&url) && list.shows(&every), "{}", list.summary());
    assert_page(&browser.get(&format!("/dashboard/webhooks/{id}")).await, 404, NOT_FOUND, "the deleted endpoint's log");
}

#[tokio::test]
async fn dashboard_webhooks_refused_urls_and_events_get_the_form_back_with_a_message_and_add_nothing() {
    let ctx = Ctx::new().await;
    let site = Site::from_stack();
    let account = Account::new(&ctx, "Webhooks test client").await;
    let browser = account.browser(&site).await;
    let good = hook_url();
    let cases: [(&str, &str, Option<&str>, &str); 9] = [
        ("a private address", "https://10.0.0.1/", None, URL_FORBIDDEN),
        ("the cloud metadata address", "http://169.254.169.254/", None, URL_FORBIDDEN),
        ("the cloud metadata address over https", "https://169.254.169.254/latest/meta-data/", None, URL_FORBIDDEN),
        ("a private address over http", "http://192.168.1.10:8080/hooks", None, URL_FORBIDDEN),
        ("another scheme", "ftp://hooks.example.com/in", None, URL_NOT_HTTPS),
        ("a user and password", "https://user:secret@127.0.0.1/hooks", None, URL_CREDENTIALS),
        ("a URL with no host", "https://", None, URL_MALFORMED),
        ("no URL", "", None, REQUIRED),
        ("an unknown event", &good, Some("event:message.exploded"), UNKNOWN_EVENT),
    ];
    for (what, url, extra, message) in cases {
        let mut fields = vec![("url", url), ("event:otp.verified", "on")];
        fields.extend(extra.map(|name| (name, "on")));
        let page = browser.post_form("/dashboard/webhooks", &fields).await;
        assert_page(&page, 400, message, &format!("adding {what}"));
        assert!(page.shows("action=\"/dashboard/webhooks\""), "adding {what}: no form again: {}", page.summary());
        assert_eq!(page.input_by_id("endpoint-url").as_deref(), Some(url), "adding {what}: the URL is not kept");
        assert!(page.shows("name=\"event:otp.verified\" value=\"on\" checked"), "adding {what}: the ticks are lost");
        assert_no_secret(&page, &format!("adding {what}"));
    }
    let page = browser.post_form("/dashboard/webhooks", &[("url", &"x".repeat(20 * 1024))]).await;
    assert_eq!(page.status, 413, "a 20 KiB form: {}", page.summary());
    assert!(account.endpoints(&ctx).await.is_empty(), "a refused form added an endpoint");

    // The same form with a loopback URL is accepted, so the refusals above were the URLs' and the events'.
    add_endpoint(&ctx, &account, &browser, &good, &["otp.verified"]).await;
}

#[tokio::test]
async fn dashboard_webhooks_another_clients_endpoint_is_not_found_and_untouched() {
    let ctx = Ctx::new().await;
    let site = Site::from_stack();
    let (owner, stranger) =
        (Account::new(&ctx, "Webhooks test client").await, Account::new(&ctx, "Webhooks test client").await);
    let (owners, strangers) = (owner.browser(&site).await, stranger.browser(&site).await);
    let url = hook_url();
    let (id, _) = add_endpoint(&ctx, &owner, &owners, &url, &[]).await;
    let before = owner.endpoint(&ctx, &id).await.expect("stored");

    assert!(!strangers.get("/dashboard/webhooks").await.shows(&url), "the stranger's list shows the owner's endpoint");
    let page = strangers.get(&format!("/dashboard/webhooks/{id}")).await;
    assert_page(&page, 404, NOT_FOUND, "the stranger's GET of the owner's log");
    assert!(!page.shows(&url), "the 404 shows the owner's endpoint");
    let since = rfc3339_millis(ctx.gateway_now().await - Duration::days(1));
    let posts: [(&str, Vec<(&str, &str)>); 7] = [
        ("disable", vec![]),
        ("enable", vec![]),
        ("rotate", vec![]),
        ("redeliver", vec![("since", since.as_str())]),
        ("redeliver", vec![("since", "not a time")]),
        ("redeliver", vec![("event", "evt_otp_x_verified")]),
        ("delete", vec![]),
    ];
    for (action, fields) in &posts {
        let path = format!("/dashboard/webhooks/{id}/{action}");
        let page = strangers.post_form(&path, fields).await;
        assert_page(&page, 404, NOT_FOUND, &format!("the stranger's POST {path} {fields:?}"));
        assert_no_secret(&page, &format!("the stranger's POST {path}"));
    }
    assert_eq!(owner.endpoint(&ctx, &id).await.as_ref(), Some(&before), "the stranger changed the owner's endpoint");
    assert!(stranger.endpoints(&ctx).await.is_empty());

    // Ids that are not ids, and the operator, who has no client pages.
    for path in ["/dashboard/webhooks/nope", "/dashboard/webhooks/nope/disable", &format!("/dashboard/webhooks/{id}/x")]
    {
        let page = if path.ends_with("nope") { owners.get(path).await } else { owners.post_form(path, &[]).await };
        assert_page(&page, 404, NOT_FOUND, path);
    }
    let operator = Browserless::operator(&site).await;
    assert_page(&operator.get(&format!("/dashboard/webhooks/{id}")).await, 404, NOT_FOUND, "the operator's GET");

    // The operator reads the client's endpoints on its page, without secrets.
    let page = operator.get(&format!("/dashboard/ops/clients/{}", owner.client_id)).await;
    assert_page(&page, 200, "Webhook endpoints", "the operator's client page");
    assert!(page.shows(&url) && page.shows("All events") && page.shows(ENABLED), "{}", page.summary());
    assert!(!page.shows(&before.signing_secret), "the operator's page shows the sealed secret");
    assert_no_secret(&page, "the operator's client page");

    // The owner can do each of them: the 404s were about whose it is.
    assert_eq!(owners.get(&format!("/dashboard/webhooks/{id}")).await.status, 200);
    assert_eq!(owners.post_form(&format!("/dashboard/webhooks/{id}/disable"), &[]).await.status, 303);
    let page = operator.get(&format!("/dashboard/ops/clients/{}", owner.client_id)).await;
    assert!(page.shows("Disabled by the client"), "the operator's page: {}", page.summary());
    assert_eq!(owners.post_form(&format!("/dashboard/webhooks/{id}/delete"), &[]).await.status, 303);
}

#[tokio::test]
async fn dashboard_webhooks_posts_without_the_right_csrf_token_or_from_another_origin_are_403_and_change_nothing() {
    let ctx = Ctx::new().await;
    let site = Site::from_stack();
    let account = Account::new(&ctx, "Webhooks test client").await;
    let browser = account.browser(&site).await;
    let (id, _) = add_endpoint(&ctx, &account, &browser, &hook_url(), &[]).await;
    let before = account.endpoint(&ctx, &id).await.expect("stored");
    let csrf = browser.csrf().await;
    let (csrf, ours) = (csrf.as_str(), site.origin.as_str());
    let url = hook_url();
    let url = url.as_str();
    let refusals: [(&str, String, Pairs, Pairs); 4] = [
        ("an add without a token", "/dashboard/webhooks".into(), vec![("url", url)], vec![("origin", ours)]),
        (
            "an add from another origin",
            "/dashboard/webhooks".into(),
            vec![("csrf", csrf), ("url", url)],
            vec![("origin", "https://evil.example")],
        ),
        (
            "a rotation with a wrong token",
            format!("/dashboard/webhooks/{id}/rotate"),
            vec![("csrf", "0")],
            vec![("origin", ours)],
        ),
        (
            "a delete from another origin",
            format!("/dashboard/webhooks/{id}/delete"),
            vec![("csrf", csrf)],
            vec![("origin", "https://evil.example")],
        ),
    ];
    for (what, path, fields, headers) in &refusals {
        let page = browser.post_raw(path, form_body(fields), headers).await;
        assert_page(&page, 403, FORBIDDEN, what);
        assert_no_secret(&page, what);
    }
    assert_eq!(account.endpoints(&ctx).await, vec![before], "a refused POST changed the endpoints");
}

#[tokio::test]
async fn dashboard_webhooks_the_log_shows_attempts_escaped_and_redelivers_an_event() {
    let ctx = Ctx::new().await;
    let site = Site::from_stack();
    let account = Account::new(&ctx, "Webhooks test client").await;
    let browser = account.browser(&site).await;
    let (id, _) = add_endpoint(&ctx, &account, &browser, &hook_url(), &[]).await;

    // An event and one failed attempt, as the delivery pass records them; not due again, so the stack leaves it be.
    let now = ctx.gateway_now().await;
    let event_id = format!("evt_otp_{}_verified", Uuid::new_v4());
    let event_at = rfc3339_millis(now - Duration::minutes(5));
    let delivery = NewDelivery {
        client_id: &account.client_id,
        endpoint_id: &id,
        event_id: &event_id,
        event_type: "otp.verified",
        event_at: &event_at,
        body: "{}",
    };
    assert!(ctx.admin.store.record_delivery(&delivery, now + Duration::days(1)).await.expect("delivery"));
    let recorded = ctx.admin.store.deliveries(&account.client_id, &id, None, 10).await.expect("deliveries");
    let recorded = recorded.into_iter().find(|d| d.event_id == event_id).expect("the delivery");
    let attempt = AttemptRecord {
        event_id: event_id.clone(),
        event_type: "otp.verified".to_owned(),
        delivery: recorded.reference.delivery.clone(),
        attempt: 1,
        at: rfc3339_millis(now - Duration::minutes(4)),
        http_status: Some(503),
        latency_ms: 1234,
        answer: "<script>alert('answer')</script> & more".to_owned(),
        error: None,
    };
    assert!(ctx.admin.store.record_attempt(&recorded, &attempt, NextStep::GiveUp, now).await.expect("attempt"));

    let log = browser.get(&format!("/dashboard/webhooks/{id}")).await;
    assert_page(&log, 200, &event_id, "the log with an attempt");
    assert!(log.shows("otp.verified") && log.shows(">503<") && log.shows(">1234<"), "{}", log.summary());
    assert!(!log.shows("<script>alert"), "the answer is not escaped: {}", log.summary());
    assert!(log.shows("&#60;script&#62;") || log.shows("&lt;script&gt;"), "the answer is not shown: {}", log.summary());
    assert!(!log.shows(NO_ATTEMPTS));

    // Redeliver that event: one scheduled; again at once: it is pending already, so none.
    let back = |n: usize| format!("/dashboard/webhooks/{id}?scheduled={n}");
    let page = browser.post_form(&format!("/dashboard/webhooks/{id}/redeliver"), &[("event", &event_id)]).await;
    assert_eq!((page.status, page.location()), (303, Some(back(1).as_str())), "{}", page.summary());
    assert!(browser.get(&back(1)).await.shows(&format!("{SCHEDULED}1</strong>")));
    let page = browser.post_form(&format!("/dashboard/webhooks/{id}/redeliver"), &[("event", &event_id)]).await;
    assert_eq!(page.location(), Some(back(0).as_str()), "a pending event was scheduled twice: {}", page.summary());
    let delivery = ctx.admin.store.deliveries(&account.client_id, &id, None, 10).await.expect("deliveries");
    assert!(delivery.iter().any(|d| d.event_id == event_id && d.state.as_str() == "pending"), "{delivery:?}");
}
