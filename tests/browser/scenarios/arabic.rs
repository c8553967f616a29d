//! A visitor whose browser asks for Arabic gets the sign-in page in Arabic, right to left
//! (`<html lang="ar" dir="rtl">`); one asking for nothing in particular gets English.

use crate::ctx::Ctx;

pub async fn run(ctx: &Ctx) {
    ctx.dashboard();

    let english = ctx.browser().await;
    english.goto("/dashboard").await;
    english.expect_button("Log in").await;
    let (lang, dir) = english.html_lang_dir().await;
    english.ensure(lang == "en" && dir != "rtl", "an English page", &format!("<html lang={lang:?} dir={dir:?}>")).await;

    let arabic = ctx.browser_accepting("ar").await;
    arabic.goto("/dashboard").await;
    let (lang, dir) = arabic.html_lang_dir().await;
    let rtl = lang == "ar" && dir == "rtl";
    arabic.ensure(rtl, "an Arabic page, right to left", &format!("<html lang={lang:?} dir={dir:?}>")).await;
    let translated = !arabic.has_button("Log in").await;
    arabic.ensure(translated, "an Arabic sign-in page", "its button still reads \"Log in\"").await;
}
