//! Logging out ends the session: a signed-in page asked for again shows the sign-in page.

use crate::ctx::Ctx;
use crate::steps::{log_out, sign_in};

pub async fn run(ctx: &Ctx) {
    let demo = &ctx.dashboard().demo;
    let b = ctx.browser().await;
    sign_in(&b, &demo.email, &demo.password).await;
    b.click_link("API Keys").await;
    b.expect_button("Add API key").await;

    log_out(&b).await;
    b.goto("/dashboard/keys").await;
    b.expect_button("Log in").await;
    let keys_shown = b.has_button("Add API key").await;
    b.ensure(!keys_shown, "the keys page after logging out", "it still offers \"Add API key\"").await;
}
