//! The dashboard's security and robustness promises (docs/dashboard.md), over HTTP against the local stack,
//! without a browser: CSRF and origin checks, tenant isolation, operator pages hidden, no account enumeration, the
//! sign-in throttle, single-use and expiring links, a reset ending sessions, one activation per order however many
//! operators click, no secret in logs or in the table, and bad input answered with a page and a message, never a
//! 500. Each test makes its own accounts; the seeded operator is shared.

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use lightotp::domain::account::EmailAddress;
use lightotp::store::schema::attr;
use lightotp::store::{ApiKeyRecord, OrderRecord};
use serde_json::Value;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::dashboard_client::{Account, Browserless, Page, Site, form_body};
use crate::helpers::{Ctx, race};

// The English texts the pages show (functions/dashboard/src/texts.rs).
const FORBIDDEN: &str = "This form has expired or came from another site.";
const NOT_FOUND: &str = "This page does not exist.";
const TOO_LARGE: &str = "That was more than a form can hold.";
const SIGN_IN_TITLE: &str = "Log in to LightOTP";
const SIGN_IN_REFUSED: &str = "The email or password is not right, or there were too many attempts.";
const CHECK_EMAIL: &str = "Check your email";
const EMAIL_CONFIRMED: &str = "Email confirmed";
const LINK_INVALID: &str = "This link does not work";
const CLIENT_ID: &str = "Client ID";
const NOT_PENDING: &str = "This order is no longer pending.";
const UNVERIFIED: &str = "Confirm your email address to order plans and create API keys";
const REQUIRED: &str = "This field is required.";
const TOO_LONG: &str = "This is too long.";
const NOT_AN_EMAIL: &str = "Enter an email address like name@example.com.";
const PASSWORD_LENGTH: &str = "Use 10 to 128 characters.";
const NOT_A_NUMBER: &str = "Enter a whole number from 1.";
const BAD_DATE: &str = "Choose a date that has not passed, within ten years.";
const BAD_CHOICE: &str = "Choose one of the options.";
const UNKNOWN_PLAN: &str = "That plan is not offered any more. Choose another.";
const BAD_COUNTRY: &str = "Use a two-letter country code such as SA.";
const BAD_LANGUAGE: &str = "Use a language tag such as en or en_US.";

/// More than the dashboard reads of a form (16 KiB).
const OVERSIZED: usize = 20 * 1024;

/// A new address no test has used.
fn unique_email(kind: &str) -> String {
    format!("dash-{kind}-{}@example.com", Uuid::new_v4().simple())
}

/// A new password, distinctive enough to be searched for in logs and the table.
fn unique_password() -> String {
    format!("Pw-{}", Uuid::new_v4().simple())
}

impl Account {
    async fn orders(&self, ctx: &Ctx) -> Vec<OrderRecord> {
        ctx.admin.store.orders_newest_first(&self.client_id).await.expect("orders")
    }

    async fn keys(&self, ctx: &Ctx) -> Vec<ApiKeyRecord> {
        ctx.admin.store.api_keys(&self.client_id).await.expect("keys")
    }
}

/// An account made through the sign-up form, its address not yet confirmed.
struct SignedUp {
    email: String,
    password: String,
    /// The token of the emailed verification link.
    verify_token: String,
}

/// Signs up through the form as a new visitor, and reads the verification link's token from the email.
async fn sign_up(ctx: &Ctx, site: &Site) -> SignedUp {
    let email = unique_email("signup");
    let password = unique_password();
    let visitor = Browserless::new(site);
    let page = visitor
        .post_form("/dashboard/signup", &[("company", "Signup Co"), ("email", &email), ("password", &password)])
        .await;
    assert_eq!(page.status, 200, "sign-up: {}", page.summary());
    assert!(page.shows(CHECK_EMAIL), "sign-up: {}", page.summary());
    let verify_token = link_token(ctx, site, &email, "/dashboard/verify?token=").await;
    SignedUp { email, password, verify_token }
}

/// Emails the stack "sent" to `address`, oldest first.
async fn emails_to(ctx: &Ctx, address: &str) -> Vec<Value> {
    let all: Vec<Value> = ctx
        .http
        .get(format!("{}/_local/emails", ctx.aws))
        .send()
        .await
        .expect("the emulator's emails")
        .json()
        .await
        .expect("emails JSON");
    all.into_iter().filter(|e| e["to"].as_array().is_some_and(|to| to.iter().any(|a| a == address))).collect()
}

/// The subjects of the emails to `address`, oldest first.
async fn subjects_to(ctx: &Ctx, address: &str) -> Vec<String> {
    emails_to(ctx, address).await.iter().map(|e| e["subject"].as_str().unwrap_or_default().to_owned()).collect()
}

/// The token of the newest link `{origin}{path}…` emailed to `address` (`path` ends with `token=`).
async fn link_token(ctx: &Ctx, site: &Site, address: &str, path: &str) -> String {
    let prefix = format!("{}{path}", site.origin);
    let emails = emails_to(ctx, address).await;
    let body = emails
        .iter()
        .rev()
        .filter_map(|e| e["body"].as_str())
        .find(|body| body.contains(&prefix))
        .unwrap_or_else(|| panic!("no email to {address} with a link {prefix}…"));
    let token = body.split(&prefix).nth(1).and_then(|rest| rest.split_whitespace().next()).unwrap_or_default();
    assert!(token.len() >= 20, "the link's token {token:?} is too short to be one");
    token.to_owned()
}

/// The id of a plan the dashboard offers (the first on the plans page).
async fn offered_plan(browser: &Browserless) -> String {
    let page = browser.get("/dashboard/plans").await;
    assert_eq!(page.status, 200, "plans: {}", page.summary());
    page.field("plan").unwrap_or_else(|| panic!("no plan is offered: {}", page.summary()))
}

/// Places an order for `plan` and checks it was accepted.
async fn place_order(browser: &Browserless, plan: &str) {
    let page = browser.post_form("/dashboard/orders", &[("plan", plan), ("notes", "Order from the API tests")]).await;
    assert_eq!(page.status, 303, "placing an order: {}", page.summary());
    assert_eq!(page.location(), Some("/dashboard/subscriptions?notice=ordered"));
}

/// Creates a key on the dashboard; answers the key shown once.
async fn create_key(browser: &Browserless, name: &str) -> String {
    let page = browser.post_form("/dashboard/keys", &[("name", name), ("expires", "")]).await;
    assert_eq!(page.status, 200, "creating a key: {}", page.summary());
    assert_eq!(page.header("cache-control"), "no-store", "a page that shows a key is not stored");
    let key = page.input_by_id("new-key").unwrap_or_else(|| panic!("no new key shown: {}", page.summary()));
    assert!(key.starts_with("lotp_"), "{key}");
    key
}

/// The public id in `lotp_<keyId>_<secret>`.
fn key_id_of(api_key: &str) -> String {
    api_key.split('_').nth(1).expect("lotp_<keyId>_<secret>").to_owned()
}

/// The pricing table's entry for `region`, if it has one.
async fn price_of(ctx: &Ctx, region: &str) -> Option<u64> {
    let prices = ctx.admin.store.prices().await.expect("prices");
    prices.into_iter().find(|p| p.region == region).map(|p| p.credits.get())
}

/// Asserts that two pages differ only by their CSRF tokens and the address each echoes.
fn assert_same_page(what: &str, (known, known_address): (&Page, &str), (unknown, unknown_address): (&Page, &str)) {
    assert_eq!(known.status, unknown.status, "{what}: {} vs {}", known.summary(), unknown.summary());
    let known_body = known.without_csrf().replace(known_address, "ADDRESS");
    let unknown_body = unknown.without_csrf().replace(unknown_address, "ADDRESS");
    assert_eq!(known_body, unknown_body, "{what}: the pages differ");
}

/// A form's fields, or a request's headers, as `(name, value)`.
type Pairs<'a> = Vec<(&'a str, &'a str)>;

/// A form that must be refused: what is wrong with it, its fields, and the status and message it gets.
struct BadForm<'a> {
    what: &'a str,
    fields: Pairs<'a>,
    status: u16,
    message: &'a str,
}

fn bad<'a>(what: &'a str, fields: &[(&'a str, &'a str)], status: u16, message: &'a str) -> BadForm<'a> {
    BadForm { what, fields: fields.to_vec(), status, message }
}

impl BadForm<'_> {
    /// Sends the form to `path` as its page would, and checks that it is refused as expected.
    async fn send(&self, browser: &Browserless, path: &str) -> Page {
        let page = browser.post_form(path, &self.fields).await;
        assert_page(&page, self.status, self.message, &format!("POST {path} with {}", self.what));
        page
    }
}

/// `YYYY-MM-DD` of `at`.
fn day(at: OffsetDateTime) -> String {
    format!("{:04}-{:02}-{:02}", at.year(), u8::from(at.month()), at.day())
}

/// Asserts a page's status and that it shows `text` (for a refusal, its message).
fn assert_page(page: &Page, status: u16, text: &str, what: &str) {
    assert_eq!(page.status, status, "{what}: {}", page.summary());
    assert!(page.shows(text), "{what}: the page should say {text:?}: {}", page.summary());
}

// 1. CSRF and origin.

#[tokio::test]
async fn dashboard_posts_without_the_right_csrf_token_or_from_another_origin_are_403_and_change_nothing() {
    let ctx = Ctx::new().await;
    let site = Site::from_stack();
    let account = Account::new(&ctx, "Dashboard test client").await;
    let browser = account.browser(&site).await;
    let plan = offered_plan(&browser).await;
    let csrf = browser.csrf().await;
    let visitors_csrf = Browserless::new(&site).csrf().await;
    let wrong = "0".repeat(64);
    let ours = site.origin.as_str();
    let our_page = format!("{ours}/dashboard/keys/new");
    let refusals: [(&str, Option<&str>, Pairs); 9] = [
        ("no csrf field", None, vec![("origin", ours)]),
        ("an empty csrf field", Some(""), vec![("origin", ours)]),
        ("a wrong csrf token", Some(wrong.as_str()), vec![("origin", ours)]),
        ("another visitor's csrf token", Some(visitors_csrf.as_str()), vec![("origin", ours)]),
        ("a foreign Origin", Some(csrf.as_str()), vec![("origin", "https://evil.example")]),
        (
            "a foreign Origin with our Referer",
            Some(csrf.as_str()),
            vec![("origin", "https://evil.example"), ("referer", our_page.as_str())],
        ),
        ("an Origin that only starts like ours", Some(csrf.as_str()), vec![("origin", "http://127.0.0.1:30001")]),
        (
            "a foreign Referer and no Origin",
            Some(csrf.as_str()),
            vec![("referer", "https://evil.example/dashboard/keys/new")],
        ),
        ("neither Origin nor Referer", Some(csrf.as_str()), vec![]),
    ];
    let targets: [(&str, Pairs); 2] = [
        ("/dashboard/keys", vec![("name", "CSRF test"), ("expires", "")]),
        ("/dashboard/orders", vec![("plan", plan.as_str()), ("notes", "CSRF test")]),
    ];
    for (what, token, headers) in &refusals {
        for (path, fields) in &targets {
            let mut all: Vec<(&str, &str)> = token.iter().map(|t| ("csrf", *t)).collect();
            all.extend(fields.iter().copied());
            let page = browser.post_raw(path, form_body(&all), headers).await;
            assert_page(&page, 403, FORBIDDEN, &format!("{what} on {path}"));
        }
        let page = browser.post_raw("/dashboard/logout", form_body(&[("csrf", token.unwrap_or(""))]), headers).await;
        assert_page(&page, 403, FORBIDDEN, &format!("{what} on /dashboard/logout"));
    }
    assert!(account.keys(&ctx).await.is_empty(), "a refused POST created a key");
    assert!(account.orders(&ctx).await.is_empty(), "a refused POST placed an order");
    let overview = browser.get("/dashboard").await;
    assert!(overview.shows(CLIENT_ID), "a refused sign-out signed out: {}", overview.summary());

    // A visitor's sign-in is checked the same way: no token, or another visitor's, signs nobody in.
    let visitor = Browserless::new(&site);
    let _ = visitor.get("/dashboard").await;
    for (what, token) in [("no csrf field", None), ("another visitor's csrf token", Some(visitors_csrf.as_str()))] {
        let mut fields = vec![("email", account.email.as_str()), ("password", account.password.as_str())];
        fields.extend(token.map(|t| ("csrf", t)));
        let page = visitor.post("/dashboard/login", &fields).await;
        assert_page(&page, 403, FORBIDDEN, &format!("sign-in with {what}"));
        assert!(visitor.cookie("lotp_session").is_none(), "sign-in with {what} set a session cookie");
    }

    // The same forms with the session's token from our origin go through (a Referer under it stands in for a
    // missing Origin), so the refusals above are the checks', not the forms'.
    let page = browser
        .post_raw("/dashboard/keys", form_body(&[("csrf", &csrf), ("name", "CSRF control")]), &[("referer", &our_page)])
        .await;
    assert_eq!(page.status, 200, "our Referer without an Origin: {}", page.summary());
    let page = browser.post("/dashboard/orders", &[("csrf", &csrf), ("plan", &plan)]).await;
    assert_eq!(page.status, 303, "our Origin and token: {}", page.summary());
    assert_eq!((account.keys(&ctx).await.len(), account.orders(&ctx).await.len()), (1, 1));
}

// 2. Tenant isolation.

#[tokio::test]
async fn dashboard_another_clients_order_and_key_are_not_found_and_untouched() {
    let ctx = Ctx::new().await;
    let site = Site::from_stack();
    let (owner, stranger) =
        (Account::new(&ctx, "Dashboard test client").await, Account::new(&ctx, "Dashboard test client").await);
    let (owners, strangers) = (owner.browser(&site).await, stranger.browser(&site).await);
    place_order(&owners, &offered_plan(&owners).await).await;
    let order_id = owner.orders(&ctx).await.first().expect("the owner's order").order_id.clone();
    let key_id = key_id_of(&create_key(&owners, "Owner key").await);

    let cancel = format!("/dashboard/orders/{order_id}/cancel");
    let revoke = format!("/dashboard/keys/{key_id}/revoke");
    let rotate = format!("/dashboard/keys/{key_id}/rotate");
    let page = strangers.get(&rotate).await;
    assert_page(&page, 404, NOT_FOUND, "the stranger's GET of the owner's rotate page");
    assert!(!page.shows("Owner key") && !page.shows(&key_id), "the 404 shows the owner's key");
    for (path, fields) in [(&cancel, vec![]), (&revoke, vec![]), (&rotate, vec![("overlap", "none")])] {
        let page = strangers.post_form(path, &fields).await;
        assert_page(&page, 404, NOT_FOUND, &format!("the stranger's POST {path}"));
    }

    let order = ctx.admin.store.order(&owner.client_id, &order_id).await.expect("order").expect("still there");
    assert_eq!(order.state.as_str(), "Pending", "the stranger changed the owner's order");
    let keys = owner.keys(&ctx).await;
    assert_eq!(keys.len(), 1, "a rotation made a key for the owner: {keys:?}");
    assert_eq!((keys[0].revoked_at.as_deref(), keys[0].expires_at.as_deref()), (None, None), "the key changed");
    assert!(stranger.keys(&ctx).await.is_empty(), "a rotation made a key for the stranger");

    // The owner can do each of them: the 404s were about whose they are.
    assert_eq!(owners.get(&rotate).await.status, 200);
    assert_eq!(owners.post_form(&cancel, &[]).await.status, 303);
    assert_eq!(owners.post_form(&revoke, &[]).await.status, 303);
}

// 3. Operator pages.

#[tokio::test]
async fn dashboard_operator_pages_are_not_found_for_a_client_or_a_visitor() {
    let ctx = Ctx::new().await;
    let site = Site::from_stack();
    let account = Account::new(&ctx, "Dashboard test client").await;
    let client = account.browser(&site).await;
    let visitor = Browserless::new(&site);
    place_order(&client, &offered_plan(&client).await).await;
    let order_id = account.orders(&ctx).await.first().expect("order").order_id.clone();
    let now = OffsetDateTime::now_utc();
    let plan_name = format!("Ops 404 test {}", Uuid::new_v4().simple());
    let plan = ctx.admin.create_plan(&plan_name, "5", "SAR 1", "", now).await.expect("plan");
    let zw_before = price_of(&ctx, "ZW").await;

    let id = &account.client_id;
    let gets = [
        "/dashboard/ops".to_owned(),
        "/dashboard/ops/orders".to_owned(),
        "/dashboard/ops/clients".to_owned(),
        "/dashboard/ops/clients?q=Dashboard".to_owned(),
        format!("/dashboard/ops/clients/{id}"),
        "/dashboard/ops/plans".to_owned(),
        "/dashboard/ops/pricing".to_owned(),
    ];
    let unique_plan = format!("{plan_name} (posted)");
    let posts: [(String, Vec<(&str, &str)>); 9] = [
        (format!("/dashboard/ops/orders/{id}/{order_id}/activate"), vec![]),
        (format!("/dashboard/ops/orders/{id}/{order_id}/cancel"), vec![("reason", "no")]),
        (format!("/dashboard/ops/clients/{id}/wallet"), vec![("credits", "1000")]),
        (format!("/dashboard/ops/clients/{id}/sender"), vec![("phone_number_id", "pn-x"), ("display_phone", "+1555")]),
        (format!("/dashboard/ops/clients/{id}/templates"), vec![("name", "otp_x"), ("language", "en")]),
        ("/dashboard/ops/plans".to_owned(), vec![("name", unique_plan.as_str()), ("credits", "9"), ("price", "SAR 9")]),
        (format!("/dashboard/ops/plans/{}/deactivate", plan.plan_id), vec![]),
        ("/dashboard/ops/pricing".to_owned(), vec![("country", "ZW"), ("credits", "7")]),
        ("/dashboard/ops/nothing-here".to_owned(), vec![]),
    ];
    for (who, browser) in [("a client", &client), ("a visitor", &visitor)] {
        for path in &gets {
            let page = browser.get(path).await;
            assert_page(&page, 404, NOT_FOUND, &format!("{who}'s GET {path}"));
        }
        for (path, fields) in &posts {
            let page = browser.post_form(path, fields).await;
            assert_page(&page, 404, NOT_FOUND, &format!("{who}'s POST {path}"));
        }
    }

    let order = ctx.admin.store.order(id, &order_id).await.expect("order").expect("still there");
    assert_eq!(order.state.as_str(), "Pending");
    assert!(ctx.admin.subscriptions(id).await.expect("subscriptions").is_empty(), "a subscription was granted");
    assert_eq!(ctx.admin.store.wallet_balance(id).await.expect("wallet").get(), 0, "the wallet was topped up");
    let profile = ctx.admin.store.client_profile(id).await.expect("profile").expect("client");
    assert!(profile.sender.is_none() && profile.templates.is_empty(), "the sender or templates changed");
    let plans = ctx.admin.plans().await.expect("plans");
    assert!(!plans.iter().any(|p| p.name == unique_plan), "a plan was created");
    assert!(plans.iter().any(|p| p.plan_id == plan.plan_id && p.active), "the plan was deactivated");
    assert_eq!(price_of(&ctx, "ZW").await, zw_before, "the pricing table changed");

    // The operator gets each page and may activate the order: the 404s were about who asked.
    let operator = Browserless::operator(&site).await;
    for path in &gets {
        let page = operator.get(path).await;
        assert_eq!(page.status, 200, "the operator's GET {path}: {}", page.summary());
    }
    let page = operator.post_form(&posts[0].0, &[]).await;
    assert_eq!(page.status, 303, "the operator's activation: {}", page.summary());
    ctx.admin.deactivate_plan(&plan.plan_id).await.expect("deactivate the test's plan");
}

// 4. No account enumeration.

#[tokio::test]
async fn dashboard_a_known_and_an_unknown_address_get_the_same_answers_and_only_the_owner_is_emailed() {
    let ctx = Ctx::new().await;
    let site = Site::from_stack();
    let known = Account::new(&ctx, "Dashboard test client").await;
    let password = unique_password();

    // Sign-up: the new address gets its verification link, the known one's owner a warning; the page is the same.
    let new_address = unique_email("new");
    let mut pages = Vec::new();
    for email in [known.email.as_str(), new_address.as_str()] {
        let fields = [("company", "Enumeration Co"), ("email", email), ("password", password.as_str())];
        pages.push(Browserless::new(&site).post_form("/dashboard/signup", &fields).await);
    }
    assert_page(&pages[0], 200, CHECK_EMAIL, "sign-up with a known address");
    assert_same_page("sign-up", (&pages[0], &known.email), (&pages[1], &new_address));
    assert_eq!(subjects_to(&ctx, &known.email).await, ["LightOTP: you already have an account"]);
    assert_eq!(subjects_to(&ctx, &new_address).await, ["LightOTP: confirm your email address"]);
    let user = ctx.admin.store.user(&EmailAddress::parse(&known.email).expect("email")).await.expect("user");
    assert_eq!(user.and_then(|u| u.client_id), Some(known.client_id.clone()), "the known account was replaced");

    // Sign-in: a wrong password for a known address, any password for an unknown one.
    let unknown = unique_email("unknown");
    let wrong = unique_password();
    let known_page = Browserless::new(&site).sign_in(&known.email, &wrong).await;
    let unknown_page = Browserless::new(&site).sign_in(&unknown, &wrong).await;
    assert_page(&known_page, 401, SIGN_IN_REFUSED, "a wrong password");
    assert_same_page("sign-in", (&known_page, &known.email), (&unknown_page, &unknown));

    // Forgot password: the same page; the owner gets a reset link, the unknown address nothing.
    let known_page = Browserless::new(&site).post_form("/dashboard/forgot", &[("email", &known.email)]).await;
    let unknown_page = Browserless::new(&site).post_form("/dashboard/forgot", &[("email", &unknown)]).await;
    assert_eq!(known_page.status, 200, "forgot: {}", known_page.summary());
    assert_same_page("forgot password", (&known_page, &known.email), (&unknown_page, &unknown));
    assert_eq!(subjects_to(&ctx, &known.email).await.last().map(String::as_str), Some("LightOTP: reset your password"));
    assert!(emails_to(&ctx, &unknown).await.is_empty(), "an unknown address was emailed");
}

// 5. The sign-in throttle.

#[tokio::test]
async fn dashboard_the_sixth_sign_in_after_five_failures_is_refused_even_with_the_right_password() {
    let ctx = Ctx::new().await;
    let site = Site::from_stack();
    let (target, bystander) =
        (Account::new(&ctx, "Dashboard test client").await, Account::new(&ctx, "Dashboard test client").await);
    Browserless::signed_in(&site, &target.email, &target.password).await;

    let browser = Browserless::new(&site);
    for attempt in 1..=5 {
        let page = browser.sign_in(&target.email, &format!("wrong password {attempt}")).await;
        assert_page(&page, 401, SIGN_IN_REFUSED, &format!("failure {attempt}"));
    }
    let page = browser.sign_in(&target.email, &target.password).await;
    assert_page(&page, 401, SIGN_IN_REFUSED, "the right password after five failures");
    assert!(browser.cookie("lotp_session").is_none(), "the throttled sign-in set a session cookie");
    let page = Browserless::new(&site).sign_in(&target.email, &target.password).await;
    assert_page(&page, 401, SIGN_IN_REFUSED, "the right password from another address");

    // Another email, from the same browser and address, is not throttled.
    let page = browser.sign_in(&bystander.email, &bystander.password).await;
    assert_eq!(page.status, 303, "another email: {}", page.summary());
    assert!(browser.get("/dashboard").await.shows(CLIENT_ID), "the other email is signed in");
}

// 6. Links: single use, and expiry.

#[tokio::test]
async fn dashboard_a_verification_link_works_once() {
    let ctx = Ctx::new().await;
    let site = Site::from_stack();
    let account = sign_up(&ctx, &site).await;
    let visitor = Browserless::new(&site);
    let password = unique_password();
    let as_reset =
        visitor.post_form("/dashboard/reset", &[("token", &account.verify_token), ("password", &password)]).await;
    assert_page(&as_reset, 400, LINK_INVALID, "a verification link used as a reset link");
    // Opening the link only shows its button; the button's POST confirms, once.
    let link = format!("/dashboard/verify?token={}", account.verify_token);
    assert_eq!(visitor.get(&link).await.status, 200, "opening the link");
    assert_eq!(visitor.get(&link).await.status, 200, "opening the link again changes nothing");
    let confirm = [("token", account.verify_token.as_str())];
    assert_page(&visitor.post_form("/dashboard/verify", &confirm).await, 200, EMAIL_CONFIRMED, "the link's first use");
    assert_page(&visitor.post_form("/dashboard/verify", &confirm).await, 400, LINK_INVALID, "the link's second use");
    let made_up = Uuid::new_v4().simple().to_string();
    let page = visitor.post_form("/dashboard/verify", &[("token", &made_up)]).await;
    assert_page(&page, 400, LINK_INVALID, "a made-up link");
    let user = ctx.admin.store.user(&EmailAddress::parse(&account.email).expect("email")).await.expect("user");
    assert!(user.expect("the user").email_verified_at.is_some(), "the first use verified the address");
}

#[tokio::test]
async fn dashboard_a_verification_link_expires_after_24_hours() {
    let ctx = Ctx::exclusive().await;
    let site = Site::from_stack();
    let (early, account) = (sign_up(&ctx, &site).await, sign_up(&ctx, &site).await);
    let visitor = Browserless::new(&site);
    ctx.advance_clock(23.0 * 3600.0).await;
    let page = visitor.post_form("/dashboard/verify", &[("token", &early.verify_token)]).await;
    assert_page(&page, 200, EMAIL_CONFIRMED, "a verification link 23 h old");
    ctx.advance_clock(2.0 * 3600.0).await;
    let page = visitor.post_form("/dashboard/verify", &[("token", &account.verify_token)]).await;
    assert_page(&page, 400, LINK_INVALID, "a verification link 25 h old");
    let user = ctx.admin.store.user(&EmailAddress::parse(&account.email).expect("email")).await.expect("user");
    assert!(user.expect("the user").email_verified_at.is_none(), "an expired link verified the address");
}

#[tokio::test]
async fn dashboard_a_reset_link_works_once() {
    let ctx = Ctx::new().await;
    let site = Site::from_stack();
    let account = Account::new(&ctx, "Dashboard test client").await;
    let visitor = Browserless::new(&site);
    assert_eq!(visitor.post_form("/dashboard/forgot", &[("email", &account.email)]).await.status, 200);
    let token = link_token(&ctx, &site, &account.email, "/dashboard/reset?token=").await;
    let as_verify = visitor.post_form("/dashboard/verify", &[("token", &token)]).await;
    assert_page(&as_verify, 400, LINK_INVALID, "a reset link used as a verification link");
    let form = visitor.get(&format!("/dashboard/reset?token={token}")).await;
    assert_eq!((form.status, form.field("token")), (200, Some(token.clone())), "the reset form: {}", form.summary());

    let (first, second) = (unique_password(), unique_password());
    let page = visitor.post_form("/dashboard/reset", &[("token", &token), ("password", &first)]).await;
    assert_eq!((page.status, page.location()), (303, Some("/dashboard?notice=reset")), "{}", page.summary());
    let page = visitor.post_form("/dashboard/reset", &[("token", &token), ("password", &second)]).await;
    assert_page(&page, 400, LINK_INVALID, "the reset link's second use");

    assert_eq!(Browserless::new(&site).sign_in(&account.email, &second).await.status, 401, "the reuse set a password");
    assert_eq!(Browserless::new(&site).sign_in(&account.email, &account.password).await.status, 401, "old password");
    Browserless::signed_in(&site, &account.email, &first).await;
}

#[tokio::test]
async fn dashboard_a_reset_link_expires_after_an_hour() {
    let ctx = Ctx::exclusive().await;
    let site = Site::from_stack();
    let (early, account) =
        (Account::new(&ctx, "Dashboard test client").await, Account::new(&ctx, "Dashboard test client").await);
    let visitor = Browserless::new(&site);
    let mut tokens = Vec::new();
    for who in [&early, &account] {
        assert_eq!(visitor.post_form("/dashboard/forgot", &[("email", &who.email)]).await.status, 200);
        tokens.push(link_token(&ctx, &site, &who.email, "/dashboard/reset?token=").await);
    }
    let new_password = unique_password();
    ctx.advance_clock(59.0 * 60.0).await;
    let page = visitor.post_form("/dashboard/reset", &[("token", &tokens[0]), ("password", &new_password)]).await;
    assert_eq!(page.status, 303, "a reset link 59 min old: {}", page.summary());
    ctx.advance_clock(2.0 * 60.0).await;
    let page = visitor.post_form("/dashboard/reset", &[("token", &tokens[1]), ("password", &new_password)]).await;
    assert_page(&page, 400, LINK_INVALID, "a reset link 61 min old");
    let page = Browserless::new(&site).sign_in(&account.email, &new_password).await;
    assert_eq!(page.status, 401, "the expired link changed the password: {}", page.summary());
    Browserless::signed_in(&site, &account.email, &account.password).await;
}

// 7. One activation per order.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dashboard_two_operators_activating_one_order_at_once_grant_one_subscription() {
    let ctx = Ctx::new().await;
    let site = Site::from_stack();
    let account = Account::new(&ctx, "Dashboard test client").await;
    let client = account.browser(&site).await;
    place_order(&client, &offered_plan(&client).await).await;
    let order = account.orders(&ctx).await.first().expect("order").clone();

    let operators = [Browserless::operator(&site).await, Browserless::operator(&site).await];
    assert_ne!(operators[0].cookie("lotp_session"), operators[1].cookie("lotp_session"), "two sessions");
    let mut racers = Vec::new();
    for operator in operators {
        let csrf = operator.csrf().await;
        racers.push(Arc::new((operator, csrf)));
    }
    let path = format!("/dashboard/ops/orders/{}/{}/activate", account.client_id, order.order_id);
    let pages = race(2, |i| {
        let (racer, path) = (Arc::clone(&racers[i]), path.clone());
        async move { racer.0.post(&path, &[("csrf", racer.1.as_str())]).await }
    })
    .await;

    let mut statuses: Vec<u16> = pages.iter().map(|p| p.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [303, 409], "{:?}", pages.iter().map(Page::summary).collect::<Vec<_>>());
    for page in &pages {
        match page.status {
            303 => assert_eq!(page.location(), Some("/dashboard/ops/orders?notice=activated")),
            _ => assert!(page.shows(NOT_PENDING), "the loser: {}", page.summary()),
        }
    }
    let subscriptions = ctx.admin.subscriptions(&account.client_id).await.expect("subscriptions");
    assert_eq!(subscriptions.len(), 1, "{subscriptions:?}");
    assert_eq!(subscriptions[0].granted, order.credits);
    let stored = ctx.admin.store.order(&account.client_id, &order.order_id).await.expect("order").expect("order");
    assert_eq!(stored.state.as_str(), "Activated");
    let activated = subjects_to(&ctx, &account.email).await;
    let activated = activated.iter().filter(|s| *s == "LightOTP: your plan is active").count();
    assert_eq!(activated, 1, "the client is told once");
}

// 8. A reset ends the other sessions.

#[tokio::test]
async fn dashboard_a_password_reset_ends_the_users_other_sessions() {
    let ctx = Ctx::new().await;
    let site = Site::from_stack();
    let account = Account::new(&ctx, "Dashboard test client").await;
    let before = account.browser(&site).await;
    let other = account.browser(&site).await;
    assert!(before.get("/dashboard").await.shows(CLIENT_ID), "signed in before the reset");
    let stale_csrf = before.csrf().await;

    let visitor = Browserless::new(&site);
    assert_eq!(visitor.post_form("/dashboard/forgot", &[("email", &account.email)]).await.status, 200);
    let token = link_token(&ctx, &site, &account.email, "/dashboard/reset?token=").await;
    let new_password = unique_password();
    let page = visitor.post_form("/dashboard/reset", &[("token", &token), ("password", &new_password)]).await;
    assert_eq!(page.status, 303, "the reset: {}", page.summary());

    for (which, browser) in [("the first", &before), ("the second", &other)] {
        let page = browser.get("/dashboard").await;
        assert_eq!(page.status, 200, "{which} old session: {}", page.summary());
        assert!(page.shows(SIGN_IN_TITLE) && !page.shows(CLIENT_ID), "{which} old session: {}", page.summary());
        assert_eq!(browser.get("/dashboard/keys").await.location(), Some("/dashboard"), "{which} old session");
    }
    let page = before.post("/dashboard/keys", &[("csrf", &stale_csrf), ("name", "after the reset")]).await;
    assert_page(&page, 403, FORBIDDEN, "a form of the ended session");
    assert!(account.keys(&ctx).await.is_empty(), "the ended session created a key");
    let after = Browserless::signed_in(&site, &account.email, &new_password).await;
    assert!(after.get("/dashboard").await.shows(CLIENT_ID), "the new password signs in");
}

// 9. No secret in clear.

#[tokio::test]
async fn dashboard_no_password_token_or_key_is_logged_or_stored_in_clear() {
    let ctx = Ctx::new().await;
    let site = Site::from_stack();
    let account = sign_up(&ctx, &site).await;
    let visitor = Browserless::new(&site);
    let page = visitor.post_form("/dashboard/verify", &[("token", &account.verify_token)]).await;
    assert_eq!(page.status, 200, "verify: {}", page.summary());
    let first_session = Browserless::signed_in(&site, &account.email, &account.password).await;
    let api_key = create_key(&first_session, "Secret scan").await;
    let wrong_password = unique_password();
    assert_eq!(Browserless::new(&site).sign_in(&account.email, &wrong_password).await.status, 401);
    assert_eq!(visitor.post_form("/dashboard/forgot", &[("email", &account.email)]).await.status, 200);
    let reset_token = link_token(&ctx, &site, &account.email, "/dashboard/reset?token=").await;
    let new_password = unique_password();
    let page = visitor.post_form("/dashboard/reset", &[("token", &reset_token), ("password", &new_password)]).await;
    assert_eq!(page.status, 303, "reset: {}", page.summary());
    let second_session = Browserless::signed_in(&site, &account.email, &new_password).await;

    let key_secret = api_key.rsplit('_').next().unwrap_or_default().to_owned();
    let session = |b: &Browserless| b.cookie("lotp_session").expect("a session cookie");
    let secrets = [
        ("the sign-up password", account.password.clone()),
        ("the new password", new_password),
        ("a wrong password", wrong_password),
        ("a session token", session(&first_session)),
        ("a session token", session(&second_session)),
        ("the verification link's token", account.verify_token.clone()),
        ("the reset link's token", reset_token),
        ("the API key", api_key),
        ("the API key's secret", key_secret),
    ];

    // Every item of the table, every attribute.
    let dynamodb = &ctx.admin.store;
    let mut start = None;
    let (mut items, mut saw_the_user) = (0, false);
    loop {
        let page = dynamodb
            .client()
            .scan()
            .table_name(dynamodb.table())
            .set_exclusive_start_key(start)
            .consistent_read(true)
            .send()
            .await
            .expect("scan the table");
        for item in page.items() {
            items += 1;
            let text = format!("{item:?}");
            saw_the_user |= item.get(attr::EMAIL) == Some(&AttributeValue::S(account.email.clone()));
            for (what, secret) in &secrets {
                assert!(!text.contains(secret.as_str()), "{what} is stored in clear: {text}");
            }
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    assert!(items > 0 && saw_the_user, "the scan read the account's items ({items} items)");

    // Every line the stack's processes logged.
    let mut lines = 0;
    for entry in std::fs::read_dir(&ctx.logs_dir).expect("the logs directory") {
        let path = entry.expect("a log file").path();
        let text = std::fs::read_to_string(&path).expect("a log file's text");
        for line in text.lines() {
            lines += 1;
            for (what, secret) in &secrets {
                assert!(!line.contains(secret.as_str()), "{what} is in {}: {line}", path.display());
            }
        }
    }
    assert!(lines > 0, "the logs were read");
}

// 10. Bad input.

#[tokio::test]
async fn dashboard_bad_sign_up_forgot_reset_and_sign_in_input_gets_a_message_and_writes_nothing() {
    let ctx = Ctx::new().await;
    let site = Site::from_stack();
    let visitor = Browserless::new(&site);
    let good_password = unique_password();
    let email = unique_email("bad-input");
    let long_company = "C".repeat(101);
    let password_129 = "p".repeat(129);
    let oversized = "x".repeat(OVERSIZED);
    let long_email = format!("{}@example.com", "a".repeat(288));
    let cases = [
        bad("an empty form", &[("company", ""), ("email", ""), ("password", "")], 400, REQUIRED),
        bad(
            "a bad address",
            &[("company", "Co"), ("email", "not-an-email"), ("password", &good_password)],
            400,
            NOT_AN_EMAIL,
        ),
        bad(
            "a 101-character company",
            &[("company", &long_company), ("email", &email), ("password", &good_password)],
            400,
            TOO_LONG,
        ),
        bad(
            "a 9-character password",
            &[("company", "Co"), ("email", &email), ("password", "123456789")],
            400,
            PASSWORD_LENGTH,
        ),
        bad(
            "a 129-character password",
            &[("company", "Co"), ("email", &email), ("password", &password_129)],
            400,
            PASSWORD_LENGTH,
        ),
        bad(
            "an address of 300 characters",
            &[("company", "Co"), ("email", &long_email), ("password", &good_password)],
            400,
            TOO_LONG,
        ),
        bad(
            "a 20 KiB body",
            &[("company", &oversized), ("email", &email), ("password", &good_password)],
            413,
            TOO_LARGE,
        ),
    ];
    for case in &cases {
        let page = case.send(&visitor, "/dashboard/signup").await;
        if case.status == 400 {
            assert!(page.shows("action=\"/dashboard/signup\""), "sign-up with {}: no form shown again", case.what);
        }
    }
    let user = ctx.admin.store.user(&EmailAddress::parse(&email).expect("email")).await.expect("user");
    assert!(user.is_none(), "a refused sign-up created the account");
    assert!(emails_to(&ctx, &email).await.is_empty(), "a refused sign-up sent an email");

    for (what, email, status, message) in
        [("a bad address", "nope", 400, NOT_AN_EMAIL), ("an empty address", "", 400, REQUIRED)]
    {
        let page = visitor.post_form("/dashboard/forgot", &[("email", email)]).await;
        assert_page(&page, status, message, &format!("forgot with {what}"));
    }
    let page = visitor.post_raw("/dashboard/forgot", form_body(&[("email", &oversized)]), &[]).await;
    assert_eq!(page.status, 413, "forgot with a 20 KiB body: {}", page.summary());

    for (what, email, password) in [
        ("an empty form", "", ""),
        ("a bad address", "nope", "whatever password"),
        ("a 300-character password", "someone@example.com", &"p".repeat(300)),
    ] {
        let page = visitor.sign_in(email, password).await;
        assert_page(&page, 401, SIGN_IN_REFUSED, &format!("sign-in with {what}"));
    }

    // A bad new password leaves the reset link usable.
    let account = Account::new(&ctx, "Dashboard test client").await;
    assert_eq!(visitor.post_form("/dashboard/forgot", &[("email", &account.email)]).await.status, 200);
    let token = link_token(&ctx, &site, &account.email, "/dashboard/reset?token=").await;
    let page = visitor.post_form("/dashboard/reset", &[("token", &token), ("password", "short")]).await;
    assert_page(&page, 400, PASSWORD_LENGTH, "a reset with a 5-character password");
    assert_eq!(page.field("token"), Some(token.clone()), "the reset form is shown again with its link");
    let page = visitor.post_form("/dashboard/reset", &[("token", "not-a-token"), ("password", &good_password)]).await;
    assert_page(&page, 400, LINK_INVALID, "a reset with a made-up token");
    let page = visitor.post_form("/dashboard/reset", &[("token", &token), ("password", &good_password)]).await;
    assert_eq!(page.status, 303, "the link still works after a refused password: {}", page.summary());
}

#[tokio::test]
async fn dashboard_bad_key_order_and_rotation_input_gets_a_message_and_writes_nothing() {
    let ctx = Ctx::new().await;
    let site = Site::from_stack();
    let account = Account::new(&ctx, "Dashboard test client").await;
    let browser = account.browser(&site).await;
    let plan = offered_plan(&browser).await;
    let today = ctx.gateway_now().await;
    let yesterday = day(today - Duration::days(1));
    let eleven_years = day(today + Duration::days(11 * 366));
    let name_61 = "k".repeat(61);
    let oversized = "x".repeat(OVERSIZED);

    let key_cases = [
        bad("an empty name", &[("name", ""), ("expires", "")], 400, REQUIRED),
        bad("a blank name", &[("name", " "), ("expires", "")], 400, REQUIRED),
        bad("a 61-character name", &[("name", &name_61), ("expires", "")], 400, TOO_LONG),
        bad("yesterday's date", &[("name", "Key"), ("expires", &yesterday)], 400, BAD_DATE),
        bad("a date in eleven years", &[("name", "Key"), ("expires", &eleven_years)], 400, BAD_DATE),
        bad("a date that is not one", &[("name", "Key"), ("expires", "31/12/2099")], 400, BAD_DATE),
        bad("a 20 KiB body", &[("name", &oversized), ("expires", "")], 413, TOO_LARGE),
    ];
    for case in &key_cases {
        let page = case.send(&browser, "/dashboard/keys").await;
        assert!(page.input_by_id("new-key").is_none(), "a key with {} was shown", case.what);
        if case.status == 400 {
            assert!(page.shows("action=\"/dashboard/keys\""), "a key with {}: no form shown again", case.what);
        }
    }
    assert!(account.keys(&ctx).await.is_empty(), "a refused form created a key");

    let notes_501 = "n".repeat(501);
    let unknown_plan = Uuid::new_v4().to_string();
    let order_cases = [
        bad("an unknown plan", &[("plan", &unknown_plan), ("notes", "")], 404, UNKNOWN_PLAN),
        bad("a plan id that is not one", &[("plan", "starter"), ("notes", "")], 404, UNKNOWN_PLAN),
        bad("no plan", &[("plan", ""), ("notes", "")], 404, UNKNOWN_PLAN),
        bad("501 characters of notes", &[("plan", &plan), ("notes", &notes_501)], 400, TOO_LONG),
        bad("a 20 KiB body", &[("plan", &plan), ("notes", &oversized)], 413, TOO_LARGE),
    ];
    for case in &order_cases {
        case.send(&browser, "/dashboard/orders").await;
    }
    let page = browser.get(&format!("/dashboard/orders/new?plan={unknown_plan}")).await;
    assert_page(&page, 404, UNKNOWN_PLAN, "the order form for an unknown plan");
    assert!(account.orders(&ctx).await.is_empty(), "a refused form placed an order");

    let key_id = key_id_of(&create_key(&browser, "To rotate").await);
    for (what, overlap) in [("an unknown overlap", "forever"), ("no overlap", "")] {
        let page = browser.post_form(&format!("/dashboard/keys/{key_id}/rotate"), &[("overlap", overlap)]).await;
        assert_page(&page, 400, BAD_CHOICE, &format!("a rotation with {what}"));
        assert!(page.input_by_id("new-key").is_none(), "a rotation with {what} showed a key");
    }
    for path in
        ["/dashboard/keys/nokey/revoke", "/dashboard/keys/0123456789abcdef/revoke", "/dashboard/orders/x/cancel"]
    {
        assert_page(&browser.post_form(path, &[]).await, 404, NOT_FOUND, path);
    }
    let keys = account.keys(&ctx).await;
    assert_eq!(keys.len(), 1, "a refused rotation created a key: {keys:?}");
    assert_eq!((keys[0].revoked_at.as_deref(), keys[0].expires_at.as_deref()), (None, None), "the key changed");
}

#[tokio::test]
async fn dashboard_bad_operator_input_gets_a_message_and_writes_nothing() {
    let ctx = Ctx::new().await;
    let site = Site::from_stack();
    let account = Account::new(&ctx, "Dashboard test client").await;
    let client = account.browser(&site).await;
    place_order(&client, &offered_plan(&client).await).await;
    let order_id = account.orders(&ctx).await.first().expect("order").order_id.clone();
    let operator = Browserless::operator(&site).await;
    let id = &account.client_id;
    let plan_name = format!("Bad input {}", Uuid::new_v4().simple());
    let name_81 = "P".repeat(81);
    let reason_201 = "r".repeat(201);
    let oversized = "x".repeat(OVERSIZED);
    let zw_before = price_of(&ctx, "ZW").await;

    let plans = "/dashboard/ops/plans".to_owned();
    let pricing = "/dashboard/ops/pricing".to_owned();
    let wallet = format!("/dashboard/ops/clients/{id}/wallet");
    let sender = format!("/dashboard/ops/clients/{id}/sender");
    let templates = format!("/dashboard/ops/clients/{id}/templates");
    let cancel = format!("/dashboard/ops/orders/{id}/{order_id}/cancel");
    let unknown_order = format!("/dashboard/ops/orders/{id}/{}/activate", Uuid::new_v4());
    let cases = [
        (
            &plans,
            bad(
                "a plan without credits or price",
                &[("name", &plan_name), ("credits", "abc"), ("price", "")],
                400,
                NOT_A_NUMBER,
            ),
        ),
        (
            &plans,
            bad("a plan without a price", &[("name", &plan_name), ("credits", "10"), ("price", "")], 400, REQUIRED),
        ),
        (
            &plans,
            bad(
                "a plan with an 81-character name",
                &[("name", &name_81), ("credits", "10"), ("price", "SAR 1")],
                400,
                TOO_LONG,
            ),
        ),
        (
            &plans,
            bad("a plan of 20 KiB", &[("name", &plan_name), ("credits", "10"), ("price", &oversized)], 413, TOO_LARGE),
        ),
        (&pricing, bad("a price for no country", &[("country", "ZZZ"), ("credits", "2")], 400, BAD_COUNTRY)),
        (&pricing, bad("a price of 0 credits", &[("country", "ZW"), ("credits", "0")], 400, NOT_A_NUMBER)),
        (&wallet, bad("a negative top-up", &[("credits", "-5")], 400, NOT_A_NUMBER)),
        (&wallet, bad("an empty top-up", &[("credits", "")], 400, REQUIRED)),
        (&sender, bad("a sender without an id", &[("phone_number_id", ""), ("display_phone", "+1555")], 400, REQUIRED)),
        (
            &templates,
            bad("a template in no language", &[("name", "otp_x"), ("language", "not a tag")], 400, BAD_LANGUAGE),
        ),
        (&cancel, bad("a 201-character reason", &[("reason", &reason_201)], 400, TOO_LONG)),
        (&unknown_order, bad("an unknown order", &[], 404, NOT_FOUND)),
    ];
    for (path, case) in &cases {
        case.send(&operator, path).await;
    }

    let all_plans = ctx.admin.plans().await.expect("plans");
    assert!(!all_plans.iter().any(|p| p.name == plan_name || p.name == name_81), "a refused plan was created");
    assert_eq!(price_of(&ctx, "ZW").await, zw_before, "a refused price was set");
    assert_eq!(ctx.admin.store.wallet_balance(id).await.expect("wallet").get(), 0, "a refused top-up");
    let profile = ctx.admin.store.client_profile(id).await.expect("profile").expect("client");
    assert!(profile.sender.is_none() && profile.templates.is_empty(), "a refused sender or template was saved");
    let order = ctx.admin.store.order(id, &order_id).await.expect("order").expect("order");
    assert_eq!(order.state.as_str(), "Pending", "a refused cancellation cancelled the order");
}

// Unverified users.

#[tokio::test]
async fn dashboard_an_unverified_user_can_neither_order_nor_create_keys() {
    let ctx = Ctx::new().await;
    let site = Site::from_stack();
    let account = sign_up(&ctx, &site).await;
    let browser = Browserless::signed_in(&site, &account.email, &account.password).await;
    let plan = offered_plan(&browser).await;
    let order = browser.post_form("/dashboard/orders", &[("plan", &plan), ("notes", "")]).await;
    let key = browser.post_form("/dashboard/keys", &[("name", "Unverified"), ("expires", "")]).await;

    let user = ctx.admin.store.user(&EmailAddress::parse(&account.email).expect("email")).await.expect("user");
    let client_id = user.and_then(|u| u.client_id).expect("the signed-up user's client");
    let orders = ctx.admin.store.orders_newest_first(&client_id).await.expect("orders");
    assert!(orders.is_empty(), "an unverified user placed an order");
    assert!(key.input_by_id("new-key").is_none(), "an unverified user was shown a key");
    assert!(ctx.admin.store.api_keys(&client_id).await.expect("keys").is_empty(), "an unverified user made a key");
    assert_page(&order, 403, UNVERIFIED, "an unverified user's order");
    assert_page(&key, 403, UNVERIFIED, "an unverified user's key");
}

// Plans: an operator edits one; orders placed before keep what they were placed for.

#[tokio::test]
async fn dashboard_an_edited_plan_is_offered_as_edited_and_earlier_orders_keep_their_snapshot() {
    let ctx = Ctx::new().await;
    let site = Site::from_stack();
    let name = format!("Editable {}", Uuid::new_v4().simple());
    let plan = ctx.admin.create_plan(&name, "7", "SAR 7", "", OffsetDateTime::now_utc()).await.expect("plan");
    let account = Account::new(&ctx, "Dashboard test client").await;
    let client = account.browser(&site).await;
    place_order(&client, &plan.plan_id).await;
    let order = account.orders(&ctx).await.first().expect("order").clone();
    assert_eq!(order.credits.get(), 7);

    let operator = Browserless::operator(&site).await;
    let edit = format!("/dashboard/ops/plans/{}", plan.plan_id);
    let form = operator.get(&edit).await;
    assert_eq!(form.field("name").as_deref(), Some(name.as_str()), "the form shows the plan: {}", form.summary());
    let bad = operator.post_form(&edit, &[("name", ""), ("credits", "9"), ("price", "SAR 9")]).await;
    assert_page(&bad, 400, REQUIRED, "an edit without a name");
    let renamed = format!("{name} (edited)");
    let saved = operator.post_form(&edit, &[("name", &renamed), ("credits", "9"), ("price", "SAR 9")]).await;
    assert_eq!(
        (saved.status, saved.location()),
        (303, Some("/dashboard/ops/plans?notice=saved")),
        "{}",
        saved.summary()
    );
    let unknown = operator
        .post_form(
            &format!("/dashboard/ops/plans/{}", Uuid::new_v4()),
            &[("name", "x"), ("credits", "1"), ("price", "x")],
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.summary());

    let offered = client.get("/dashboard/plans").await;
    assert!(offered.shows(&renamed) && offered.shows("SAR 9"), "clients see the plan as edited: {}", offered.summary());
    let activate = format!("/dashboard/ops/orders/{}/{}/activate", account.client_id, order.order_id);
    assert_eq!(operator.post_form(&activate, &[]).await.status, 303);
    let subscriptions = ctx.admin.subscriptions(&account.client_id).await.expect("subscriptions");
    assert_eq!(subscriptions.iter().map(|s| s.granted.get()).collect::<Vec<_>>(), [7], "the order's own credits");
    let client_page = client.post_form(&edit, &[("name", "mine"), ("credits", "1"), ("price", "x")]).await;
    assert_eq!(client_page.status, 404, "a client cannot edit plans");
}

// The API reference, from docs/openapi.yaml.

#[tokio::test]
async fn dashboard_the_api_reference_is_rendered_from_the_openapi_document_for_anyone() {
    let site = Site::from_stack();
    let visitor = Browserless::new(&site);
    let page = visitor.get("/dashboard/docs").await;
    assert_eq!(page.status, 200, "{}", page.summary());
    for text in [
        "POST /SendMessage",
        "POST /api/otp/verify",
        "otpCode",
        "InvalidphoneNumber",
        "The code has already been used.",
    ] {
        assert!(page.shows(text), "the reference shows {text:?}: {}", page.summary());
    }
    let document = visitor.get("/dashboard/docs/openapi.yaml").await;
    assert_eq!(document.status, 200);
    let served = std::fs::read_to_string(crate::contract::repository_file("docs/openapi.yaml")).expect("document");
    assert_eq!(document.body, served, "the very file is served");
}

#[tokio::test]
async fn dashboard_operators_price_whatsapp_messages_and_sms_parts_in_two_tables() {
    let ctx = Ctx::new().await;
    let site = Site::from_stack();
    let operator = Browserless::operator(&site).await;
    let before = ctx.admin.store.prices().await.expect("prices");
    let whatsapp_tv =
        before.iter().find(|p| p.region == "TV" && p.channel == lightotp::domain::channel::Channel::WhatsApp);

    let saved =
        operator.post_form("/dashboard/ops/pricing", &[("country", "tv"), ("channel", "sms"), ("credits", "4")]).await;
    assert_eq!(saved.status, 303, "{}", saved.summary());
    let page = operator.get("/dashboard/ops/pricing").await;
    assert!(page.shows("SMS, per part"), "{}", page.summary());

    let after = ctx.admin.store.prices().await.expect("prices");
    let sms_tv: Vec<u64> = after
        .iter()
        .filter(|p| p.region == "TV" && p.channel == lightotp::domain::channel::Channel::Sms)
        .map(|p| p.credits.get())
        .collect();
    assert_eq!(sms_tv, [4], "one SMS price for TV");
    let whatsapp_after =
        after.iter().find(|p| p.region == "TV" && p.channel == lightotp::domain::channel::Channel::WhatsApp);
    assert_eq!(whatsapp_after, whatsapp_tv, "the WhatsApp table is not touched by an SMS price");

    // The CLI's own path, for the other table.
    let set = ctx
        .admin
        .set_channel_price(
            "TV",
            lightotp::domain::channel::Channel::WhatsApp,
            lightotp::domain::pricing::Credits::new(2),
        )
        .await
        .expect("price");
    assert_eq!((set.region.as_str(), set.credits.get()), ("TV", 2));
    let sms_still: Vec<u64> = ctx
        .admin
        .store
        .prices()
        .await
        .expect("prices")
        .iter()
        .filter(|p| p.region == "TV" && p.channel == lightotp::domain::channel::Channel::Sms)
        .map(|p| p.credits.get())
        .collect();
    assert_eq!(sms_still, [4]);
}
