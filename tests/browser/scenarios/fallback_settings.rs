//! The WhatsApp → SMS fallback, self-serve: a client opens Settings, sees it off, ticks it, gives its own English
//! text, saves, and sees it on with its text; a text without `{CODE}` is refused with the form kept. Done as a new
//! client signed up through the page, so that other scenarios' settings never meet this one's.

use crate::ctx::Ctx;
use crate::steps::sign_in;

const FALLBACK: &str = "Send the code by SMS when WhatsApp cannot deliver it";
const ENGLISH_TEXT: &str = "Fallback SMS text (English)";

pub async fn run(ctx: &Ctx) {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let email = format!("browser-fallback-{id}@example.com");
    let password = format!("pw-{id}");
    let b = ctx.browser().await;

    b.goto("/dashboard").await;
    b.click_link("Sign up").await;
    b.fill("Company name", &format!("Fallback Co {}", &id[..8])).await;
    b.fill("Email", &email).await;
    b.fill("Password", &password).await;
    b.click_button("Sign up").await;
    b.expect_text("Check your email").await;
    sign_in(&b, &email, &password).await;

    b.click_link("Settings").await;
    b.expect_text("WhatsApp → SMS fallback").await;
    b.ensure(!b.is_ticked(FALLBACK).await, "see the fallback off by default", "it is ticked").await;

    // A text without the code: refused, the form kept as typed.
    b.tick(FALLBACK).await;
    b.fill(ENGLISH_TEXT, "Your Acme code").await;
    b.click_button("Save settings").await;
    b.expect_text("A fallback SMS text must contain {CODE}, where the code goes.").await;
    let kept = b.value_of(ENGLISH_TEXT).await;
    b.ensure(kept == "Your Acme code", "see the refused text kept", &format!("the field reads {kept:?}")).await;
    b.shoot("a text without the code, refused").await;

    b.fill(ENGLISH_TEXT, "Your Acme code: {CODE}").await;
    b.click_button("Save settings").await;
    b.expect_text("Settings saved.").await;
    b.ensure(b.is_ticked(FALLBACK).await, "see the fallback on", "it is not ticked").await;
    let saved = b.value_of(ENGLISH_TEXT).await;
    b.ensure(saved == "Your Acme code: {CODE}", "see the text saved", &format!("the field reads {saved:?}")).await;
    b.shoot("the fallback on, with the client's own text").await;
}
