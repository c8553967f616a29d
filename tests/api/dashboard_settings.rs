//! The dashboard's Settings page and the operator's client page set the WhatsApp → SMS fallback (docs/dashboard.md,
//! "Settings"), over HTTP against the local stack: saved on and off with the client's own texts, a text without
//! `{CODE}` answered with the form and a message and nothing saved, the CSRF check, and every change in the client's
//! audit trail with who made it.

use crate::dashboard_client::{Account, Browserless, Site};
use crate::helpers::Ctx;

// The English texts the pages show (functions/dashboard/src/texts.rs).
const HEADING: &str = "<h2>WhatsApp → SMS fallback</h2>";
const SAVED: &str = "Settings saved.";
const NO_CODE: &str = "A fallback SMS text must contain {CODE}, where the code goes.";
const FORBIDDEN: &str = "This form has expired or came from another site.";
const CHECKED: &str = "name=\"fallback\" value=\"sms\" checked";

async fn fallback_of(ctx: &Ctx, client_id: &str) -> (bool, Vec<(String, String)>) {
    let profile = ctx.admin.store.client_profile(client_id).await.expect("read").expect("profile");
    let mut texts: Vec<(String, String)> = profile.fallback_sms_texts.into_iter().collect();
    texts.sort();
    (profile.fallback_sms, texts)
}

#[tokio::test]
async fn dashboard_settings_a_client_turns_the_sms_fallback_on_with_its_own_text_and_off_again() {
    let ctx = Ctx::new().await;
    let site = Site::from_stack();
    let account = Account::new(&ctx, "Settings client").await;
    let browser = account.browser(&site).await;

    let page = browser.get("/dashboard/settings").await;
    assert_eq!(page.status, 200, "{}", page.summary());
    assert!(page.shows(HEADING) && !page.shows(CHECKED), "off by default: {}", page.summary());
    assert!(page.shows("<code dir=\"ltr\">LightOTP</code>"), "the sender id the SMS goes from");

    let saved = browser
        .post_form("/dashboard/settings", &[("fallback", "sms"), ("text_en", " Acme code: {CODE} "), ("text_ar", "")])
        .await;
    assert_eq!(
        (saved.status, saved.location()),
        (303, Some("/dashboard/settings?notice=saved")),
        "{}",
        saved.summary()
    );
    assert_eq!(fallback_of(&ctx, &account.client_id).await, (true, vec![("en".into(), "Acme code: {CODE}".into())]));
    let page = browser.get("/dashboard/settings?notice=saved").await;
    assert!(
        page.shows(SAVED) && page.shows(CHECKED) && page.shows("Acme code: {CODE}</textarea>"),
        "{}",
        page.summary()
    );

    // A text without the code: the form again as typed, with the message; nothing saved.
    let refused =
        browser.post_form("/dashboard/settings", &[("text_en", "Acme code: {CODE}"), ("text_ar", "رمزك")]).await;
    assert_eq!(refused.status, 400, "{}", refused.summary());
    assert!(refused.shows(NO_CODE) && refused.shows("رمزك</textarea>") && !refused.shows(CHECKED), "as typed");
    assert!(fallback_of(&ctx, &account.client_id).await.0, "nothing saved");

    // Without the form's token: refused.
    let forged = browser.post("/dashboard/settings", &[("text_en", "")]).await;
    assert!(forged.status == 403 && forged.shows(FORBIDDEN), "{}", forged.summary());
    assert!(fallback_of(&ctx, &account.client_id).await.0, "still on");

    let off = browser.post_form("/dashboard/settings", &[("text_en", ""), ("text_ar", "")]).await;
    assert_eq!(off.status, 303, "{}", off.summary());
    assert_eq!(fallback_of(&ctx, &account.client_id).await, (false, vec![]), "off, and our texts again");

    let audit = ctx.admin.store.audit_trail(&account.client_id).await.expect("audit");
    let actions: Vec<(&str, &str)> = audit.iter().map(|a| (a.operator.as_str(), a.action.as_str())).collect();
    assert_eq!(
        actions,
        [(account.email.as_str(), "SMS fallback off"), (account.email.as_str(), "SMS fallback on")],
        "who, newest first"
    );
}

#[tokio::test]
async fn dashboard_settings_an_operator_sets_a_clients_sms_fallback_on_its_page_recorded_in_the_audit() {
    let ctx = Ctx::new().await;
    let site = Site::from_stack();
    let account = Account::new(&ctx, "Operated client").await;
    let operator = Browserless::operator(&site).await;
    let page_path = format!("/dashboard/ops/clients/{}", account.client_id);
    let page = operator.get(&page_path).await;
    assert!(page.shows(HEADING) && !page.shows(CHECKED), "{}", page.summary());

    let path = format!("{page_path}/fallback");
    let saved = operator.post_form(&path, &[("fallback", "sms"), ("text_ar", "رمز الدخول: {CODE}")]).await;
    assert_eq!(saved.status, 303, "{}", saved.summary());
    assert_eq!(fallback_of(&ctx, &account.client_id).await, (true, vec![("ar".into(), "رمز الدخول: {CODE}".into())]));
    let page = operator.get(&page_path).await;
    assert!(page.shows(CHECKED) && page.shows("SMS fallback on"), "on, and in the audit: {}", page.summary());

    let refused = operator.post_form(&path, &[("fallback", "sms"), ("text_en", "no code")]).await;
    assert!(refused.status == 400 && refused.shows(NO_CODE), "{}", refused.summary());
    let audit = ctx.admin.store.audit_trail(&account.client_id).await.expect("audit");
    assert_eq!(audit.len(), 1, "a refused form records nothing");
    assert_eq!((audit[0].action.as_str(), audit[0].detail.as_str()), ("SMS fallback on", "own texts: ar"));
    assert_ne!(audit[0].operator, account.email, "the operator, not the client");
}
