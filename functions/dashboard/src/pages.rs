//! The pages: one askama template (`templates/`) per struct, checked at compile time, HTML-escaped. Rows are made
//! here from the use cases' answers, in the page's language, so templates only place text.

use askama::Template;
use lightotp::domain::account::FieldError;
use lightotp::domain::client_webhook::{EventType, UrlRefusal};
use lightotp::domain::console::{KeyState, OrderState};
use lightotp::domain::subscription::{Subscription, SubscriptionState};
use lightotp::store::{AttemptRecord, AuditEntry, EndpointRecord, OrderRecord, PlanRecord};
use lightotp::usecase::console::api_keys::KeyView;

use crate::texts::Texts;

/// Which navigation a page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// Signed out: none.
    Visitor,
    /// A client's user.
    Client,
    /// An operator.
    Operator,
}

/// What every page shares: texts, title, navigation, the form token, a notice or a problem.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// The page's language.
    pub t: &'static Texts,
    /// The `<title>` and, on message pages, the heading.
    pub title: String,
    /// Which links the header shows.
    pub nav: Nav,
    /// The CSRF token every form carries.
    pub csrf: String,
    /// A confirmation (after a redirect).
    pub notice: Option<&'static str>,
    /// A problem with what was sent.
    pub problem: Option<&'static str>,
    /// The signed-in client user has not confirmed its email.
    pub unverified: bool,
}

/// How a field's problem reads.
pub fn field_message(t: &Texts, error: FieldError) -> &'static str {
    match error {
        FieldError::Empty => t.err_empty,
        FieldError::TooLong => t.err_too_long,
        FieldError::NotAnEmail => t.err_email,
        FieldError::PasswordLength => t.err_password,
        FieldError::NotANumber => t.err_number,
        FieldError::NotAFutureDate => t.err_date,
        FieldError::UnknownChoice => t.err_choice,
    }
}

/// A stored RFC 3339 time as people read it: `2026-12-01 12:00 UTC`.
pub fn when(stored: &str) -> String {
    match (stored.get(..10), stored.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => stored.to_owned(),
    }
}

/// A stored RFC 3339 time to the second: `2026-12-01 12:34:56 UTC` (the delivery log's attempts).
pub fn when_exact(stored: &str) -> String {
    match (stored.get(..10), stored.get(11..19)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => stored.to_owned(),
    }
}

/// A page with a heading, a sentence and maybe a link.
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub c: Chrome,
    pub body: &'static str,
    pub link: Option<(String, &'static str)>,
}

/// What `/dashboard` shows a visitor.
#[derive(Template)]
#[template(path = "sign_in.html")]
pub struct SignInPage {
    pub c: Chrome,
    pub email: String,
}

/// The sign-up form.
#[derive(Template)]
#[template(path = "sign_up.html")]
pub struct SignUpPage {
    pub c: Chrome,
    pub company: String,
    pub email: String,
    pub company_error: Option<&'static str>,
    pub email_error: Option<&'static str>,
    pub password_error: Option<&'static str>,
}

/// The forgot-password form.
#[derive(Template)]
#[template(path = "forgot.html")]
pub struct ForgotPage {
    pub c: Chrome,
    pub email: String,
    pub email_error: Option<&'static str>,
}

/// The confirmation form of a verification link (opening the link changes nothing; its button does).
#[derive(Template)]
#[template(path = "verify.html")]
pub struct VerifyPage {
    pub c: Chrome,
    pub token: String,
}

/// The new-password form of a reset link.
#[derive(Template)]
#[template(path = "reset.html")]
pub struct ResetPage {
    pub c: Chrome,
    pub token: String,
    pub password_error: Option<&'static str>,
}

/// A subscription row.
pub struct SubscriptionRow {
    pub granted: u64,
    pub balance: u64,
    pub state: &'static str,
    pub created: String,
}

impl SubscriptionRow {
    /// The row of `s`.
    pub fn of(t: &Texts, s: &Subscription) -> Self {
        Self {
            granted: s.granted.get(),
            balance: s.balance.get(),
            state: match s.effective_state() {
                SubscriptionState::Active => t.state_active,
                SubscriptionState::Expired => t.state_expired,
            },
            created: when(&s.created_at),
        }
    }
}

/// An order row.
pub struct OrderRow {
    pub id: String,
    pub plan: String,
    pub credits: u64,
    pub price: String,
    pub notes: String,
    pub state: &'static str,
    pub pending: bool,
    pub created: String,
    pub reason: String,
}

impl OrderRow {
    /// The row of `o`.
    pub fn of(t: &Texts, o: &OrderRecord) -> Self {
        Self {
            id: o.order_id.clone(),
            plan: o.plan_name.clone(),
            credits: o.credits.get(),
            price: o.price_label.clone(),
            notes: o.notes.clone().unwrap_or_default(),
            state: match o.state {
                OrderState::Pending => t.state_pending,
                OrderState::Activated => t.state_activated,
                OrderState::Cancelled => t.state_cancelled,
            },
            pending: o.state == OrderState::Pending,
            created: when(&o.created_at),
            reason: o.reason.clone().unwrap_or_default(),
        }
    }
}

/// A client's overview.
#[derive(Template)]
#[template(path = "overview.html")]
pub struct OverviewPage {
    pub c: Chrome,
    pub name: String,
    pub client_id: String,
    pub wallet: u64,
    pub subscriptions: Vec<SubscriptionRow>,
    pub pending: Vec<OrderRow>,
    pub curl: String,
}

/// A client's orders and subscriptions.
#[derive(Template)]
#[template(path = "subscriptions.html")]
pub struct SubscriptionsPage {
    pub c: Chrome,
    pub orders: Vec<OrderRow>,
    pub subscriptions: Vec<SubscriptionRow>,
    pub wallet: u64,
}

/// A plan card.
pub struct PlanCard {
    pub id: String,
    pub name: String,
    pub price: String,
    pub credits: u64,
    pub description: String,
    pub active: bool,
}

impl PlanCard {
    /// The card of `p`.
    pub fn of(p: &PlanRecord) -> Self {
        Self {
            id: p.plan_id.clone(),
            name: p.plan.name.clone(),
            price: p.plan.price_label.clone(),
            credits: p.plan.credits.get(),
            description: p.plan.description.clone().unwrap_or_default(),
            active: p.active,
        }
    }
}

/// The offered plans.
#[derive(Template)]
#[template(path = "plans.html")]
pub struct PlansPage {
    pub c: Chrome,
    pub plans: Vec<PlanCard>,
}

/// The order form of one plan.
#[derive(Template)]
#[template(path = "order_new.html")]
pub struct OrderPage {
    pub c: Chrome,
    pub plan: PlanCard,
    pub notes: String,
    pub notes_error: Option<&'static str>,
}

/// A key row.
pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub created: String,
    pub expires: String,
    pub last_used: String,
    pub state: &'static str,
    pub active: bool,
}

impl KeyRow {
    /// The row of `k`.
    pub fn of(t: &Texts, k: &KeyView) -> Self {
        Self {
            id: k.record.key_id.clone(),
            name: k.record.name.clone(),
            prefix: k.prefix.clone(),
            created: when(&k.record.created_at),
            expires: k.record.expires_at.as_deref().map_or_else(|| t.never.to_owned(), when),
            last_used: k.record.last_used_at.as_deref().map_or_else(|| "—".to_owned(), when),
            state: match k.state {
                KeyState::Active => t.state_active,
                KeyState::Expired => t.state_expired,
                KeyState::Revoked => t.state_revoked,
            },
            active: k.state == KeyState::Active,
        }
    }
}

/// The key list.
#[derive(Template)]
#[template(path = "keys.html")]
pub struct KeysPage {
    pub c: Chrome,
    pub keys: Vec<KeyRow>,
}

/// The new-key form.
#[derive(Template)]
#[template(path = "key_new.html")]
pub struct NewKeyPage {
    pub c: Chrome,
    pub name: String,
    pub expires: String,
    pub name_error: Option<&'static str>,
    pub expires_error: Option<&'static str>,
}

/// A new key, shown once.
#[derive(Template)]
#[template(path = "key_shown.html")]
pub struct KeyShownPage {
    pub c: Chrome,
    pub name: String,
    pub api_key: String,
}

/// The rotation form of one key.
#[derive(Template)]
#[template(path = "key_rotate.html")]
pub struct RotatePage {
    pub c: Chrome,
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub overlap_error: Option<&'static str>,
}

/// A queued order row.
pub struct QueueRow {
    pub id: String,
    pub client_id: String,
    pub client: String,
    pub plan: String,
    pub price: String,
    pub credits: u64,
    pub notes: String,
    pub created: String,
    pub age: String,
}

/// The operators' orders queue.
#[derive(Template)]
#[template(path = "ops_orders.html")]
pub struct OpsOrdersPage {
    pub c: Chrome,
    pub orders: Vec<QueueRow>,
}

/// A client in the search results.
pub struct ClientRow {
    pub id: String,
    pub name: String,
    pub email: String,
}

/// The operators' client search.
#[derive(Template)]
#[template(path = "ops_clients.html")]
pub struct OpsClientsPage {
    pub c: Chrome,
    pub query: String,
    pub clients: Vec<ClientRow>,
}

/// An audit row.
pub struct AuditRow {
    pub at: String,
    pub operator: String,
    pub action: String,
    pub detail: String,
}

impl AuditRow {
    /// The row of `a`.
    pub fn of(a: &AuditEntry) -> Self {
        Self { at: when(&a.at), operator: a.operator.clone(), action: a.action.clone(), detail: a.detail.clone() }
    }
}

/// An operator's page of one client.
#[derive(Template)]
#[template(path = "ops_client.html")]
pub struct OpsClientPage {
    pub c: Chrome,
    pub id: String,
    pub name: String,
    pub email: String,
    pub wallet: u64,
    pub sender: String,
    pub templates: Vec<String>,
    pub subscriptions: Vec<SubscriptionRow>,
    pub orders: Vec<OrderRow>,
    pub keys: Vec<KeyRow>,
    pub webhooks: Vec<EndpointRow>,
    pub fallback: FallbackForm,
    pub audit: Vec<AuditRow>,
}

/// The WhatsApp → SMS fallback's form (the client's Settings page and the operator's client page): on or off, the
/// client's own text per language (empty for ours), and where it posts.
pub struct FallbackForm {
    pub action: String,
    pub on: bool,
    pub text_en: String,
    pub text_ar: String,
    /// The SMS sender id the SMS goes from.
    pub sender_id: String,
    /// Ours, shown as the placeholders.
    pub default_en: &'static str,
    pub default_ar: &'static str,
    pub max_chars: usize,
}

impl FallbackForm {
    /// The form as `profile` stands, posting to `action`.
    pub fn of(profile: &lightotp::store::ClientProfile, action: String) -> Self {
        use lightotp::domain::language::HumanLanguage;
        let text =
            |language: HumanLanguage| profile.fallback_sms_texts.get(language.code()).cloned().unwrap_or_default();
        Self {
            action,
            on: profile.fallback_sms,
            text_en: text(HumanLanguage::En),
            text_ar: text(HumanLanguage::Ar),
            sender_id: profile
                .sms_sender
                .clone()
                .unwrap_or_else(|| lightotp::usecase::verify_api::DEFAULT_SENDER.to_owned()),
            default_en: lightotp::domain::sms::default_fallback_text(HumanLanguage::En),
            default_ar: lightotp::domain::sms::default_fallback_text(HumanLanguage::Ar),
            max_chars: lightotp::domain::fallback::MAX_TEXT_CHARS,
        }
    }
}

/// The client's Settings page: the WhatsApp → SMS fallback.
#[derive(Template)]
#[template(path = "settings.html")]
pub struct SettingsPage {
    pub c: Chrome,
    pub form: FallbackForm,
}

/// A webhook endpoint's row (the client's Webhooks page, its delivery log, the operator's client page). Never its
/// secrets: the record's `signing_secret` and `previous_secrets` are sealed and stay out of every page.
pub struct EndpointRow {
    pub id: String,
    pub url: String,
    /// `All events`, or the chosen events' names.
    pub events: String,
    pub enabled: bool,
    /// `Enabled`, or why it is disabled, worded for people.
    pub state: &'static str,
    /// When its current streak of failures began, or `—`.
    pub failing_since: String,
    /// Until when the secret before the last rotation also signs, while it does; else empty.
    pub previous_until: String,
    pub created: String,
}

impl EndpointRow {
    /// The row of `e` at `now` (RFC 3339, as stored), as its client reads it.
    pub fn of(t: &Texts, e: &EndpointRecord, now: &str) -> Self {
        Self::read_by(t, e, now, false)
    }

    /// The row of `e` at `now`, as an operator reads it (who disabled it is worded for an operator).
    pub fn for_operator(t: &Texts, e: &EndpointRecord, now: &str) -> Self {
        Self::read_by(t, e, now, true)
    }

    fn read_by(t: &Texts, e: &EndpointRecord, now: &str, operator: bool) -> Self {
        let events = if e.events.is_all() {
            t.all_events.to_owned()
        } else {
            e.events.events().iter().map(|event| event.as_str()).collect::<Vec<_>>().join(", ")
        };
        let state = match (e.enabled, e.disabled_reason.as_deref()) {
            (true, _) => t.endpoint_on,
            (false, Some("client")) if operator => t.disabled_by_the_client,
            (false, Some("client")) => t.disabled_by_client,
            (false, Some("operator")) if operator => t.disabled_by_an_operator,
            (false, Some("operator")) => t.disabled_by_operator,
            (false, Some("failing")) => t.disabled_failing,
            (false, _) => t.disabled_state,
        };
        let previous_until = match e.previous_secrets.iter().map(|(_, until)| until).max() {
            Some(until) if until.as_str() > now => when(until),
            _ => String::new(),
        };
        Self {
            id: e.endpoint_id.clone(),
            url: e.url.clone(),
            events,
            enabled: e.enabled,
            state,
            failing_since: e.failing_since.as_deref().map_or_else(|| "—".to_owned(), when),
            previous_until,
            created: when(&e.created_at),
        }
    }
}

/// One event type's checkbox in the add-endpoint form.
pub struct EventChoice {
    /// The wire name, `message.sent`: the checkbox is `event:<name>`.
    pub name: &'static str,
    pub checked: bool,
}

/// The add-endpoint form's values and problems.
pub struct EndpointForm {
    pub url: String,
    pub events: Vec<EventChoice>,
    pub url_error: Option<&'static str>,
    pub events_error: Option<&'static str>,
}

impl EndpointForm {
    /// The form with `url` and the events named in `chosen` ticked.
    pub fn new(url: String, chosen: &[&str]) -> Self {
        let events = EventType::ALL
            .iter()
            .map(|e| EventChoice { name: e.as_str(), checked: chosen.contains(&e.as_str()) })
            .collect();
        Self { url, events, url_error: None, events_error: None }
    }
}

/// How a refused URL reads.
pub fn url_message(t: &Texts, refusal: &UrlRefusal) -> &'static str {
    match refusal {
        UrlRefusal::Malformed => t.url_malformed,
        UrlRefusal::NotHttps => t.url_not_https,
        UrlRefusal::Credentials => t.url_credentials,
        UrlRefusal::TooLong => t.url_too_long,
        UrlRefusal::ForbiddenAddress => t.url_forbidden,
        UrlRefusal::Unresolvable => t.url_unresolvable,
    }
}

/// The client's Webhooks page: its endpoints and the form to add one.
#[derive(Template)]
#[template(path = "webhooks.html")]
pub struct WebhooksPage {
    pub c: Chrome,
    pub endpoints: Vec<EndpointRow>,
    pub form: EndpointForm,
}

/// A new signing secret, shown once (after adding an endpoint or rotating its secret).
#[derive(Template)]
#[template(path = "webhook_secret.html")]
pub struct WebhookSecretPage {
    pub c: Chrome,
    pub url: String,
    pub secret: String,
    /// After a rotation: until when the previous secret also signs.
    pub previous_until: Option<String>,
}

/// One attempt in the delivery log.
pub struct AttemptRow {
    pub at: String,
    pub event_type: String,
    pub event_id: String,
    pub attempt: u32,
    /// The HTTP status, else what went wrong without an answer.
    pub result: String,
    pub latency_ms: u64,
    /// The first 1 KB of the answer, as received (escaped by the template).
    pub answer: String,
}

impl AttemptRow {
    /// The row of `a`.
    pub fn of(a: &AttemptRecord) -> Self {
        Self {
            at: when_exact(&a.at),
            event_type: a.event_type.clone(),
            event_id: a.event_id.clone(),
            attempt: a.attempt,
            result: match (a.http_status, &a.error) {
                (Some(status), _) => status.to_string(),
                (None, Some(error)) => error.clone(),
                (None, None) => "—".to_owned(),
            },
            latency_ms: a.latency_ms,
            answer: a.answer.clone(),
        }
    }
}

/// One endpoint's delivery log, with the redelivery forms.
#[derive(Template)]
#[template(path = "webhook_log.html")]
pub struct WebhookLogPage {
    pub c: Chrome,
    pub endpoint: EndpointRow,
    pub attempts: Vec<AttemptRow>,
    /// The "since" field's value.
    pub since: String,
    pub since_error: Option<&'static str>,
    /// How many events the last redelivery scheduled.
    pub scheduled: Option<usize>,
    /// When it read its most events: the time more remain from.
    pub more_from: Option<String>,
}

/// The plan form's values and problems.
#[derive(Default)]
pub struct PlanForm {
    pub name: String,
    pub credits: String,
    pub price: String,
    pub description: String,
    pub name_error: Option<&'static str>,
    pub credits_error: Option<&'static str>,
    pub price_error: Option<&'static str>,
    pub description_error: Option<&'static str>,
}

/// The operators' plans.
#[derive(Template)]
#[template(path = "ops_plans.html")]
pub struct OpsPlansPage {
    pub c: Chrome,
    pub plans: Vec<PlanCard>,
    pub form: PlanForm,
}

/// The API reference, from docs/openapi.yaml.
#[derive(Template)]
#[template(path = "docs.html")]
pub struct DocsPage {
    pub c: Chrome,
    pub reference: crate::reference::Reference,
}

/// The edit form of one plan.
#[derive(Template)]
#[template(path = "ops_plan_edit.html")]
pub struct OpsPlanEditPage {
    pub c: Chrome,
    pub id: String,
    pub form: PlanForm,
}

/// The pricing table.
#[derive(Template)]
#[template(path = "ops_pricing.html")]
pub struct OpsPricingPage {
    pub c: Chrome,
    /// (country, channel as worded, credits).
    pub prices: Vec<(String, &'static str, u64)>,
    pub country: String,
    pub credits: String,
    pub country_error: Option<&'static str>,
    pub credits_error: Option<&'static str>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::texts::{AR, EN};

    fn chrome(t: &'static Texts) -> Chrome {
        Chrome {
            t,
            title: "t".into(),
            nav: Nav::Visitor,
            csrf: "c".into(),
            notice: None,
            problem: None,
            unverified: false,
        }
    }

    #[test]
    fn an_arabic_page_is_right_to_left_and_text_is_escaped() {
        let page = SignInPage { c: chrome(&AR), email: "<script>".into() }.render().unwrap_or_default();
        assert!(page.contains(r#"<html lang="ar" dir="rtl">"#), "{page}");
        assert!(page.contains("&#60;script&#62;") || page.contains("&lt;script&gt;"), "{page}");
        let page = SignInPage { c: chrome(&EN), email: String::new() }.render().unwrap_or_default();
        assert!(page.contains(r#"<html lang="en" dir="ltr">"#));
        assert!(page.contains(">Log in</button>") && page.contains(">Forgot password?</a>"));
    }

    #[test]
    fn times_read_to_the_minute() {
        assert_eq!(when("2026-12-01T12:34:56.789Z"), "2026-12-01 12:34 UTC");
        assert_eq!(when("odd"), "odd");
        assert_eq!(when_exact("2026-12-01T12:34:56.789Z"), "2026-12-01 12:34:56 UTC");
    }

    fn endpoint(enabled: bool, reason: Option<&str>, events: &[&str]) -> EndpointRecord {
        EndpointRecord {
            endpoint_id: "0b6f4c1e-2d3a-4e5f-8a9b-0c1d2e3f4a5b".into(),
            client_id: "c".into(),
            url: "https://hooks.example.com/in?a=1&b=<2>".into(),
            events: lightotp::domain::client_webhook::EventSelection::parse(events.iter().copied())
                .unwrap_or_else(|e| panic!("{e}")),
            enabled,
            disabled_reason: reason.map(str::to_owned),
            signing_secret: "SEALED-CURRENT".into(),
            previous_secrets: vec![("SEALED-PREVIOUS".into(), "2026-12-02T10:00:00.000Z".into())],
            created_at: "2026-12-01T09:00:00.000Z".into(),
            failing_since: Some("2026-12-01T09:30:00.000Z".into()),
        }
    }

    #[test]
    fn an_endpoint_reads_its_state_for_people_and_shows_no_secret() {
        let now = "2026-12-01T10:00:00.000Z";
        let rows = vec![
            EndpointRow::of(&EN, &endpoint(true, None, &[]), now),
            EndpointRow::of(&EN, &endpoint(false, Some("client"), &["otp.failed", "message.sent"]), now),
            EndpointRow::of(&EN, &endpoint(false, Some("operator"), &[]), now),
            EndpointRow::of(&EN, &endpoint(false, Some("failing"), &[]), now),
        ];
        let states: Vec<&str> = rows.iter().map(|r| r.state).collect();
        assert_eq!(
            states,
            [
                "Enabled",
                "Disabled by you",
                "Disabled by LightOTP's operators",
                "Disabled: every delivery failed for 5 days"
            ]
        );
        assert_eq!((rows[0].events.as_str(), rows[1].events.as_str()), ("All events", "message.sent, otp.failed"));
        assert_eq!(
            (rows[0].failing_since.as_str(), rows[0].previous_until.as_str()),
            ("2026-12-01 09:30 UTC", "2026-12-02 10:00 UTC")
        );
        let later = EndpointRow::of(&EN, &endpoint(true, None, &[]), "2026-12-02T10:00:00.001Z");
        assert_eq!(later.previous_until, "", "a previous secret that no longer signs is not shown");
        assert_eq!(
            EndpointRow::for_operator(&EN, &endpoint(false, Some("client"), &[]), now).state,
            "Disabled by the client"
        );

        let page =
            WebhooksPage { c: chrome(&EN), endpoints: rows, form: EndpointForm::new(String::new(), &["otp.failed"]) }
                .render()
                .unwrap_or_default();
        assert!(!page.contains("SEALED"), "{page}");
        assert!(!page.contains("b=<2>") && page.contains("hooks.example.com"), "{page}");
        assert!(page.contains(r#"name="event:otp.failed" value="on" checked"#), "{page}");
        assert!(page.contains(r#"name="event:message.sent" value="on">"#), "{page}");
        let arabic =
            WebhooksPage { c: chrome(&AR), endpoints: Vec::new(), form: EndpointForm::new(String::new(), &[]) }
                .render()
                .unwrap_or_default();
        assert!(arabic.contains(AR.no_endpoints) && arabic.contains(r#"dir="rtl""#));
    }

    #[test]
    fn an_attempts_answer_is_escaped_in_the_log() {
        let attempt = AttemptRecord {
            event_id: "evt_otp_x_verified".into(),
            event_type: "otp.verified".into(),
            delivery: "d".into(),
            attempt: 2,
            at: "2026-12-01T10:00:05.123Z".into(),
            http_status: Some(500),
            latency_ms: 42,
            answer: "<script>alert(1)</script>".into(),
            error: None,
        };
        let page = WebhookLogPage {
            c: chrome(&EN),
            endpoint: EndpointRow::of(&EN, &endpoint(true, None, &[]), "2026-12-01T10:00:00.000Z"),
            attempts: vec![AttemptRow::of(&attempt)],
            since: "2026-11-30T10:00:00Z".into(),
            since_error: None,
            scheduled: Some(3),
            more_from: None,
        }
        .render()
        .unwrap_or_default();
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(page.contains("&#60;script&#62;") || page.contains("&lt;script&gt;"), "{page}");
        assert!(page.contains("2026-12-01 10:00:05 UTC") && page.contains(">500<") && page.contains(">42<"), "{page}");
        assert!(page.contains(r#"name="event" value="evt_otp_x_verified""#), "{page}");
        assert!(page.contains("Events scheduled for redelivery: <strong>3</strong>"), "{page}");
        let failed = AttemptRecord { http_status: None, error: Some("connection refused".into()), ..attempt };
        assert_eq!(AttemptRow::of(&failed).result, "connection refused");
    }
}
