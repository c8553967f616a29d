//! Webhooks: a client adds an endpoint, sees its signing secret once (with a Copy button), and then sees the
//! endpoint listed, with every event and enabled, and no secret. Done as a new client signed up through the page, so
//! that the endpoints of other scenarios and earlier runs (at most 10 a client) never meet this one's.

use crate::ctx::Ctx;
use crate::steps::sign_in;

pub async fn run(ctx: &Ctx) {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let email = format!("browser-hooks-{id}@example.com");
    let password = format!("pw-{id}");
    let b = ctx.browser().await;

    b.goto("/dashboard").await;
    b.click_link("Sign up").await;
    b.fill("Company name", &format!("Hooks Co {}", &id[..8])).await;
    b.fill("Email", &email).await;
    b.fill("Password", &password).await;
    b.click_button("Sign up").await;
    b.expect_text("Check your email").await;
    sign_in(&b, &email, &password).await;

    // Add an endpoint on the local stack's loopback, no event ticked: every event.
    b.click_link("Webhooks").await;
    b.expect_text("No endpoints yet.").await;
    let url = format!("http://127.0.0.1:9/hooks/{}", &id[..12]);
    b.fill("Endpoint URL", &url).await;
    b.click_button("Add endpoint").await;

    // The secret, once, with the warning and the Copy button the page's script shows.
    let secret = b.value_of("Signing secret").await;
    b.ensure(secret.starts_with("whsec_"), "read the signing secret", &format!("{secret:?} is not a whsec_ secret"))
        .await;
    b.expect_text("it is shown only once and cannot be shown again").await;
    b.expect_button("Copy").await;
    b.shoot("the signing secret, shown once").await;

    // Listed without it.
    b.click_link("Back to Webhooks").await;
    let row = b.row_with(&[&url]).await.text().await;
    let listed = row.contains("All events") && row.contains("Enabled");
    b.ensure(listed, "see the endpoint listed, every event, enabled", &format!("its row reads {row:?}")).await;
    let page = b.text_of_page().await;
    b.ensure(!page.contains(&secret) && !page.contains("whsec_"), "the secret is not shown again", &page).await;
    b.shoot("the endpoint listed").await;

    // Its delivery log: nothing delivered yet, and redelivery offered.
    b.row_with(&[&url]).await.click_link("Delivery log").await;
    b.expect_text("No attempts yet.").await;
    b.expect_button("Redeliver every event since").await;
}
