//! The WhatsApp → SMS fallback (issue 16, in progress): the per-client setting, its SMS texts, and the SMS pricing
//! table. The fallback itself is not built yet (docs/api.md, Known gaps).

use lightotp::domain::pricing::Credits;

use crate::helpers::Ctx;

#[tokio::test]
async fn the_sms_fallback_is_off_until_an_operator_turns_it_on_and_takes_the_clients_own_texts() {
    let ctx = Ctx::new().await;
    let tenant = ctx.default_tenant().await;
    let profile = |ctx: &Ctx| {
        let client_id = tenant.client_id.clone();
        let store = ctx.admin.store.clone();
        async move { store.client_profile(&client_id).await.expect("read").expect("profile") }
    };
    assert!(!profile(&ctx).await.fallback_sms, "off by default");

    assert!(ctx.admin.set_fallback(&tenant.client_id, "sms").await.expect("on"));
    assert!(profile(&ctx).await.fallback_sms);
    ctx.admin.set_fallback_sms_text(&tenant.client_id, "ar", "رمزك: {CODE}").await.expect("ar text");
    ctx.admin.set_fallback_sms_text(&tenant.client_id, "en", "Code {CODE}").await.expect("en text");
    let texts = profile(&ctx).await.fallback_sms_texts;
    assert_eq!(
        (texts.get("en").map(String::as_str), texts.get("ar").map(String::as_str)),
        (Some("Code {CODE}"), Some("رمزك: {CODE}"))
    );
    assert!(profile(&ctx).await.sms_templates.is_empty(), "the Verify API's texts are another map");

    assert!(!ctx.admin.set_fallback(&tenant.client_id, "off").await.expect("off"));
    assert!(!profile(&ctx).await.fallback_sms);

    assert!(ctx.admin.set_fallback(&tenant.client_id, "whatsapp").await.is_err(), "only sms or off");
    assert!(ctx.admin.set_fallback_sms_text(&tenant.client_id, "en", "no code here").await.is_err());
    assert!(ctx.admin.set_fallback_sms_text(&tenant.client_id, "fr", "{CODE}").await.is_err());
    assert!(ctx.admin.set_fallback("no-such-client", "sms").await.is_err(), "an unknown client is refused");
    assert!(ctx.admin.store.client_profile("no-such-client").await.expect("read").is_none(), "and not made");
}

#[tokio::test]
async fn an_sms_part_has_its_own_price_per_country_and_a_zero_price_is_refused() {
    let ctx = Ctx::new().await;
    let sms = lightotp::domain::channel::Channel::Sms;
    let set = ctx.admin.set_channel_price("tl", sms, Credits::new(6)).await.expect("sms price");
    assert_eq!((set.region.as_str(), set.credits.get(), set.channel), ("TL", 6, sms));
    assert!(ctx.admin.set_channel_price("TL", sms, Credits::ZERO).await.is_err());
    assert!(ctx.admin.set_channel_price("XX1", sms, Credits::new(1)).await.is_err());
    let prices = ctx.admin.store.prices().await.expect("prices");
    let tl: Vec<(u64, &str)> =
        prices.iter().filter(|p| p.region == "TL").map(|p| (p.credits.get(), p.channel.as_str())).collect();
    assert_eq!(tl, [(6, "sms")], "the WhatsApp table has no TL price");
}
