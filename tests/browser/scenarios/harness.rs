//! The harness checks itself, without the dashboard: its helpers on a page of its own (a `data:` URL), a page of the
//! stack (the gateway's health route), and its text helpers.

use crate::ctx::Ctx;
use crate::email::link_in;
use crate::page::literal;
use crate::shots::screenshots_root;
use crate::steps::{credits_in, key_prefix, word_after};

/// A page with what the dashboard's pages have: labels, a select, a read-only key, a table of keys, plans, and a
/// link to `HEALTH_URL` (the gateway's health route).
const PAGE: &str = r##"<!doctype html>
<html lang="en" dir="ltr"><head><meta charset="utf-8"><title>Harness check</title></head><body>
<h1>Harness check</h1>
<form><label for="company">Company's name</label> <input id="company" name="company">
<label>Overlap <select name="overlap"><option value="0">None</option><option value="3600">1 hour</option></select></label>
<button type="button" onclick="say('Hello, ' + document.getElementById('company').value)">Say hello</button></form>
<label for="key">Your new API key</label> <input id="key" readonly value="lotp_k1_secret">
<table><tr><td>first key</td><td>lotp_k1_…</td><td><button type="button" onclick="say('revoked k1')">Revoke</button></td></tr>
<tr><td>second key</td><td>lotp_k2_…</td><td><button type="button" onclick="say('revoked k2')">Revoke</button></td></tr></table>
<article><h2>Starter</h2><p>1,000 credits, SAR 150</p><button type="button">Subscribe</button></article>
<article><h2>Growth</h2><p>5,000 credits</p><button type="button">Subscribe</button></article>
<a href="HEALTH_URL">Continue</a>
<p id="said"></p>
<script>function say(text) { document.getElementById('said').textContent = text; }</script>
</body></html>"##;

pub async fn run(ctx: &Ctx) {
    text_helpers();

    let health = format!("{}/_local/health", ctx.stack.api_url);
    let b = ctx.browser().await;
    b.goto_url(&data_url(&PAGE.replace("HEALTH_URL", &health))).await;
    let (lang, dir) = b.html_lang_dir().await;
    b.ensure(lang == "en" && dir == "ltr", "read <html lang dir>", &format!("lang={lang:?} dir={dir:?}")).await;

    b.fill("Company's name", "Acme").await;
    let company = b.value_of("Company's name").await;
    b.ensure(company == "Acme", "fill a labelled input", &format!("it holds {company:?}")).await;
    b.fill("Overlap", "1 hour").await;
    let overlap = b.value_of("Overlap").await;
    b.ensure(overlap == "3600", "pick an option of a labelled select", &format!("its value is {overlap:?}")).await;
    let key = b.value_of("Your new API key").await;
    b.ensure(key == "lotp_k1_secret", "read a read-only input", &format!("it holds {key:?}")).await;

    b.click_button("Say hello").await;
    b.expect_text("Hello, Acme").await;
    b.row_with(&["second key", &key_prefix("lotp_k2_secret")]).await.click_button("Revoke").await;
    b.expect_text("revoked k2").await;
    let plan = b.article_with_button("Subscribe").await.text().await;
    let credits = credits_in(&plan);
    b.ensure(credits.as_deref() == Some("1,000"), "read the first plan's credits", &format!("{credits:?}")).await;
    let exact = b.has_button("Subscribe").await && !b.has_button("Subscribe now").await;
    b.ensure(exact, "match button texts exactly", "a button matched a text it does not read").await;

    // The link leads to a page of the stack: the gateway's health route.
    b.click_link("Continue").await;
    b.expect_text("pid").await;
    let url = b.current_url().await;
    b.ensure(url == health, "follow a link", &format!("the browser is at {url}")).await;

    let shots = screenshots_root().join("harness");
    let taken = std::fs::read_dir(&shots).map(|dir| dir.count()).unwrap_or(0);
    assert!(taken >= 4, "screenshots of every page visited in {}: {taken}", shots.display());
}

/// The helpers that read text, on known inputs.
fn text_helpers() {
    let body = "Welcome.\n<a href=\"http://127.0.0.1:3000/dashboard/verify?token=ab-c&amp;x=1\">Verify</a> \
                (or http://example.com/other)";
    assert_eq!(link_in(body), "http://127.0.0.1:3000/dashboard/verify?token=ab-c&x=1");
    assert_eq!(link_in("Open http://h/dashboard/reset?token=t."), "http://h/dashboard/reset?token=t");
    assert_eq!(literal("plain"), "'plain'");
    assert_eq!(literal("it's"), "\"it's\"");
    assert_eq!(literal("it's \"x\""), "concat('it', \"'\", 's \"x\"')");
    assert_eq!(credits_in("Starter: 500 credits"), Some("500".to_owned()));
    assert_eq!(credits_in("Credits: 1,000"), Some("1,000".to_owned()));
    assert_eq!(credits_in("Credits: 1,000, SAR 150"), Some("1,000".to_owned()));
    assert_eq!(credits_in("no number here"), None);
    assert_eq!(key_prefix("lotp_0707_secret_part"), "lotp_0707_");
    assert_eq!(word_after("Client ID: a04d6519-b39c\nWallet", "Client ID").as_deref(), Some("a04d6519-b39c"));
    assert_eq!(word_after("Client ID\n  a04d6519", "Client ID").as_deref(), Some("a04d6519"));
}

/// A `data:` URL showing `html`.
fn data_url(html: &str) -> String {
    let mut url = String::from("data:text/html;charset=utf-8,");
    for byte in html.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}
