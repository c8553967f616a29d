//! Getting Started, end to end: a company signs up, verifies its email and orders a plan; an operator activates
//! the order and sets up its WhatsApp sender and template; the client sees its credits, creates an API key, sends a
//! code with it, and revokes it, after which the API refuses it within 60 s.

use crate::api::{Refusal, expect_refused_soon, expect_sends};
use crate::ctx::Ctx;
use crate::email::{latest_email_to, link_in};
use crate::steps::{create_key, credits_in, log_out, revoke, sign_in, word_after};

pub async fn run(ctx: &Ctx) {
    let operator = &ctx.dashboard().operator;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let company = format!("Browser Co {}", &id[..8]);
    let email = format!("browser-{id}@example.com");
    let password = format!("pw-{id}");
    let b = ctx.browser().await;

    // Sign up: the same "check your email" page as for any address (no account enumeration), no session yet.
    b.goto("/dashboard").await;
    b.click_link("Sign up").await;
    b.fill("Company name", &company).await;
    b.fill("Email", &email).await;
    b.fill("Password", &password).await;
    b.click_button("Sign up").await;
    b.expect_text("Check your email").await;

    // The emailed link verifies; then sign in.
    let link = link_in(&latest_email_to(ctx, &email).await);
    b.ensure(link.contains("/verify?token="), "the verification link", &format!("{link} is not a /verify link")).await;
    b.goto_url(&link).await;
    b.click_button("Confirm email").await;
    b.expect_text("Email confirmed").await;
    b.goto("/dashboard").await;
    sign_in(&b, &email, &password).await;

    // Order the first plan.
    b.click_link("Subscriptions").await;
    b.click_button("Purchase plan").await;
    let plan = b.article_with_button("Subscribe").await;
    let plan_text = plan.text().await;
    let credits = credits_in(&plan_text);
    b.ensure(credits.is_some(), "the plan's credits", &format!("no number of credits in {plan_text:?}")).await;
    let credits = credits.unwrap_or_default();
    plan.click_button("Subscribe").await;
    b.fill("Notes", &format!("Ordered by the browser test ({company})")).await;
    b.click_button("Confirm Order").await;
    b.expect_text("Pending").await;
    log_out(&b).await;

    // The operator activates it, and sets up the client's WhatsApp sender and template.
    sign_in(&b, &operator.email, &operator.password).await;
    b.click_link("Orders").await;
    b.row_with(&[&company]).await.click_button("Activate").await;
    b.click_link("Clients").await;
    b.fill("Search", &company).await;
    b.click_button("Search").await;
    b.click_link(&company).await;
    let sender = b.form_with_button("Assign sender").await;
    sender.fill("Phone number ID", "100000000000001").await;
    sender.fill("Display phone", "+15550001234").await;
    sender.click_button("Assign sender").await;
    let template = b.form_with_button("Add template").await;
    template.fill("Template name", "lightotp_auth").await;
    template.fill("Language", "en").await;
    template.click_button("Add template").await;
    log_out(&b).await;

    // The client sees its credits and id, and its order activated.
    sign_in(&b, &email, &password).await;
    b.click_link("Overview").await;
    b.expect_text("Client ID").await;
    let overview = b.text_of_page().await;
    let client_id = word_after(&overview, "Client ID").unwrap_or_default();
    b.ensure(client_id.len() >= 8, "the client's id", &format!("\"Client ID\" is followed by {client_id:?}")).await;
    let shows_credits = overview.contains(&credits) || overview.contains(&credits.replace(',', ""));
    b.ensure(shows_credits, "the plan's credits on the overview", &format!("no {credits} in {overview:?}")).await;
    b.click_link("Subscriptions").await;
    b.expect_text("Activated").await;

    // A key sends, and once revoked is refused within the API's 60 s.
    let key_name = format!("browser key {}", &id[..8]);
    let key = create_key(&b, &key_name).await;
    expect_sends(ctx, &key, "the new key").await;
    revoke(&b, &key_name, &key).await;
    expect_refused_soon(ctx, &key, "the revoked key", Refusal::Revoked).await;
}
