//! Rotating a key: with an overlap both keys work; with none, the old key is refused within the API's 60 s.
//! Done as the seeded demo client, which has a sender, templates and credits.

use crate::api::{Refusal, expect_refused_soon, expect_sends};
use crate::ctx::Ctx;
use crate::steps::{create_key, rotate, sign_in};

pub async fn run(ctx: &Ctx) {
    let demo = &ctx.dashboard().demo;
    let b = ctx.browser().await;
    sign_in(&b, &demo.email, &demo.password).await;

    let name = format!("browser rotation {}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let first = create_key(&b, &name).await;
    expect_sends(ctx, &first, "a new key").await;

    let second = rotate(&b, &name, &first, "1 hour").await;
    expect_sends(ctx, &second, "the rotated key").await;
    expect_sends(ctx, &first, "the old key, within its 1 hour overlap").await;

    let third = rotate(&b, &name, &second, "None").await;
    expect_sends(ctx, &third, "the key rotated again").await;
    expect_refused_soon(ctx, &second, "the key rotated with no overlap", Refusal::Expired).await;
    expect_sends(ctx, &first, "the first key, still within its overlap").await;
}
