//! A client's pages: Overview, Subscriptions (plans, orders), API Keys, Webhooks, Settings (the WhatsApp → SMS
//! fallback). Every read and write is keyed by
//! the signed-in user's client, so another client's order, key or endpoint is simply not found.

use lambda_http::http::StatusCode;
use lightotp::domain::account::optional_text;
use lightotp::domain::console::{NOTES_CHARS, Overlap, key_expiry, key_name};
use lightotp::domain::time_format::rfc3339_millis;
use lightotp::usecase::console::accounts;
use lightotp::usecase::console::api_keys::{self, CreatedKey};
use lightotp::usecase::console::clients;
use lightotp::usecase::console::orders::{self, OrderRefusal};
use lightotp::usecase::console::webhooks::{self, EndpointRefusal, NewSecret, Redeliver, RedeliverRefusal};

use super::{Ctx, Failure, Outcome, fallback_settings, render};
use crate::pages::{
    AttemptRow, EndpointForm, EndpointRow, FallbackForm, KeyRow, KeyShownPage, KeysPage, NewKeyPage, OrderPage,
    OrderRow, OverviewPage, PlanCard, PlansPage, RotatePage, SettingsPage, SubscriptionRow, SubscriptionsPage,
    WebhookLogPage, WebhookSecretPage, WebhooksPage, field_message, url_message, when,
};
use crate::web::Reply;

/// The client's routes (the caller has checked a session and the POST).
pub async fn route(ctx: &Ctx<'_>) -> Outcome {
    let client_id = ctx.client_id()?.to_owned();
    let client_id = client_id.as_str();
    match (ctx.visit.method.as_str(), ctx.visit.route().as_slice()) {
        ("GET", []) => overview(ctx, client_id).await,
        ("POST", ["verify", "resend"]) => resend(ctx).await,
        ("GET", ["subscriptions"]) => subscriptions(ctx, client_id).await,
        ("GET", ["plans"]) => plans(ctx).await,
        ("GET", ["orders", "new"]) => new_order(ctx).await,
        ("POST", ["orders"]) => place_order(ctx, client_id).await,
        ("POST", ["orders", order_id, "cancel"]) => cancel_order(ctx, client_id, order_id).await,
        ("GET", ["keys"]) => keys(ctx, client_id).await,
        ("GET", ["keys", "new"]) => new_key_page(ctx, String::new(), String::new(), None, None, StatusCode::OK),
        ("POST", ["keys"]) => create_key(ctx, client_id).await,
        ("POST", ["keys", key_id, "revoke"]) => revoke(ctx, client_id, key_id).await,
        ("GET", ["keys", key_id, "rotate"]) => rotate_page(ctx, client_id, key_id, None).await,
        ("POST", ["keys", key_id, "rotate"]) => rotate(ctx, client_id, key_id).await,
        ("GET", ["settings"]) => settings(ctx, client_id).await,
        ("POST", ["settings"]) => save_settings(ctx, client_id).await,
        ("GET", ["webhooks"]) => webhooks_page(ctx, client_id, EndpointForm::new(String::new(), &[]), None).await,
        ("POST", ["webhooks"]) => add_endpoint(ctx, client_id).await,
        ("GET", ["webhooks", id]) => delivery_log(ctx, client_id, endpoint(id)?, LogForm::default()).await,
        ("POST", ["webhooks", id, "enable"]) => set_enabled(ctx, client_id, endpoint(id)?, true).await,
        ("POST", ["webhooks", id, "disable"]) => set_enabled(ctx, client_id, endpoint(id)?, false).await,
        ("POST", ["webhooks", id, "rotate"]) => rotate_secret(ctx, client_id, endpoint(id)?).await,
        ("POST", ["webhooks", id, "delete"]) => delete_endpoint(ctx, client_id, endpoint(id)?).await,
        ("POST", ["webhooks", id, "redeliver"]) => redeliver(ctx, client_id, endpoint(id)?).await,
        _ => Err(Failure::NotFound),
    }
}

async fn overview(ctx: &Ctx<'_>, client_id: &str) -> Outcome {
    let t = ctx.t();
    let summary = clients::summary(&ctx.console, client_id).await?.ok_or(Failure::NotFound)?;
    let curl = format!(
        "curl -sS -X POST {}/SendMessage \\\n  -H \"X-Api-Key: YOUR_API_KEY\" \\\n  -H \"Content-Type: application/json\" \\\n  \
         -d '{{\"otpCode\": \"123456\", \"toPhoneE164\": \"+966551234567\"}}'",
        ctx.site.api_url
    );
    let page = OverviewPage {
        c: ctx.chrome(t.nav_overview),
        name: summary.profile.name.clone(),
        client_id: client_id.to_owned(),
        wallet: summary.wallet.get(),
        subscriptions: summary.subscriptions.iter().map(|s| SubscriptionRow::of(t, s)).collect(),
        pending: summary.orders.iter().filter(|o| o.state.as_str() == "Pending").map(|o| OrderRow::of(t, o)).collect(),
        curl,
    };
    render(StatusCode::OK, &page)
}

async fn resend(ctx: &Ctx<'_>) -> Outcome {
    let Some(me) = ctx.me.as_ref().filter(|me| me.user.email_verified_at.is_none()) else {
        return Ok(Reply::redirect("/dashboard"));
    };
    accounts::send_verification(&ctx.console, &me.user.email, me.user.language, ctx.now).await?;
    Ok(Reply::redirect("/dashboard/subscriptions?notice=resent"))
}

async fn subscriptions(ctx: &Ctx<'_>, client_id: &str) -> Outcome {
    let t = ctx.t();
    let summary = clients::summary(&ctx.console, client_id).await?.ok_or(Failure::NotFound)?;
    let mut c = ctx.chrome(t.nav_subscriptions);
    c.notice = match ctx.visit.param("notice") {
        "ordered" => Some(t.order_placed),
        "cancelled" => Some(t.order_cancelled),
        "resent" => Some(t.resent),
        _ => None,
    };
    let page = SubscriptionsPage {
        c,
        orders: summary.orders.iter().map(|o| OrderRow::of(t, o)).collect(),
        subscriptions: summary.subscriptions.iter().map(|s| SubscriptionRow::of(t, s)).collect(),
        wallet: summary.wallet.get(),
    };
    render(StatusCode::OK, &page)
}

async fn plans(ctx: &Ctx<'_>) -> Outcome {
    let plans = orders::offered_plans(&ctx.console).await?;
    render(
        StatusCode::OK,
        &PlansPage { c: ctx.chrome(ctx.t().plans_title), plans: plans.iter().map(PlanCard::of).collect() },
    )
}

async fn new_order(ctx: &Ctx<'_>) -> Outcome {
    let Some(plan) = orders::offered_plan(&ctx.console, ctx.visit.param("plan")).await? else {
        return unknown_plan(ctx).await;
    };
    order_page(ctx, PlanCard::of(&plan), String::new(), None, StatusCode::OK)
}

/// The order form (an unverified user sees why it refuses in the page's banner).
fn order_page(
    ctx: &Ctx<'_>,
    plan: PlanCard,
    notes: String,
    notes_error: Option<&'static str>,
    status: StatusCode,
) -> Outcome {
    render(status, &OrderPage { c: ctx.chrome(ctx.t().order_title), plan, notes, notes_error })
}

async fn unknown_plan(ctx: &Ctx<'_>) -> Outcome {
    let plans = orders::offered_plans(&ctx.console).await?;
    let mut c = ctx.chrome(ctx.t().plans_title);
    c.problem = Some(ctx.t().unknown_plan);
    render(StatusCode::NOT_FOUND, &PlansPage { c, plans: plans.iter().map(PlanCard::of).collect() })
}

async fn place_order(ctx: &Ctx<'_>, client_id: &str) -> Outcome {
    let t = ctx.t();
    let Some(plan) = orders::offered_plan(&ctx.console, ctx.visit.field("plan")).await? else {
        return unknown_plan(ctx).await;
    };
    let raw_notes = ctx.visit.field("notes");
    let notes = match optional_text(raw_notes, NOTES_CHARS) {
        Ok(notes) => notes,
        Err(e) => {
            let kept = raw_notes.chars().take(NOTES_CHARS).collect();
            return order_page(ctx, PlanCard::of(&plan), kept, Some(field_message(t, e)), StatusCode::BAD_REQUEST);
        }
    };
    if !ctx.verified() {
        return order_page(ctx, PlanCard::of(&plan), notes.unwrap_or_default(), None, StatusCode::FORBIDDEN);
    }
    match orders::place_order(&ctx.console, client_id, &plan.plan_id, notes, ctx.now).await? {
        Ok(_) => Ok(Reply::redirect("/dashboard/subscriptions?notice=ordered")),
        Err(_) => unknown_plan(ctx).await,
    }
}

async fn cancel_order(ctx: &Ctx<'_>, client_id: &str, order_id: &str) -> Outcome {
    match orders::cancel_own_order(&ctx.console, client_id, order_id, ctx.now).await? {
        Ok(()) => Ok(Reply::redirect("/dashboard/subscriptions?notice=cancelled")),
        Err(OrderRefusal::NotPending) => {
            let t = ctx.t();
            ctx.message(
                StatusCode::CONFLICT,
                t.nav_subscriptions,
                t.order_not_pending,
                Some(("/dashboard/subscriptions", t.nav_subscriptions)),
            )
        }
        Err(_) => Err(Failure::NotFound),
    }
}

async fn keys(ctx: &Ctx<'_>, client_id: &str) -> Outcome {
    let t = ctx.t();
    let keys = api_keys::list_keys(&ctx.console, client_id, ctx.now).await?;
    let mut c = ctx.chrome(t.keys_title);
    c.notice = (ctx.visit.param("notice") == "revoked").then_some(t.key_revoked);
    render(StatusCode::OK, &KeysPage { c, keys: keys.iter().map(|k| KeyRow::of(t, k)).collect() })
}

/// The new-key form (an unverified user sees why it refuses in the page's banner).
fn new_key_page(
    ctx: &Ctx<'_>,
    name: String,
    expires: String,
    name_error: Option<&'static str>,
    expires_error: Option<&'static str>,
    status: StatusCode,
) -> Outcome {
    render(status, &NewKeyPage { c: ctx.chrome(ctx.t().add_key), name, expires, name_error, expires_error })
}

fn key_shown(ctx: &Ctx<'_>, name: String, created: CreatedKey) -> Outcome {
    let page = KeyShownPage { c: ctx.chrome(ctx.t().new_key_label), name, api_key: created.api_key };
    Ok(render(StatusCode::OK, &page)?.no_store())
}

async fn create_key(ctx: &Ctx<'_>, client_id: &str) -> Outcome {
    let t = ctx.t();
    let raw_name = ctx.visit.field("name");
    let raw_expires = ctx.visit.field("expires");
    let (name, expires) = match (key_name(raw_name), key_expiry(raw_expires, ctx.now)) {
        (Ok(name), Ok(expires)) => (name, expires),
        (name, expires) => {
            return new_key_page(
                ctx,
                raw_name.chars().take(60).collect(),
                raw_expires.chars().take(10).collect(),
                name.err().map(|e| field_message(t, e)),
                expires.err().map(|e| field_message(t, e)),
                StatusCode::BAD_REQUEST,
            );
        }
    };
    if !ctx.verified() {
        return new_key_page(ctx, name, raw_expires.chars().take(10).collect(), None, None, StatusCode::FORBIDDEN);
    }
    let created = api_keys::create_key(&ctx.console, client_id, &name, expires, ctx.now).await?;
    key_shown(ctx, name, created)
}

async fn revoke(ctx: &Ctx<'_>, client_id: &str, key_id: &str) -> Outcome {
    match api_keys::revoke_key(&ctx.console, client_id, key_id, ctx.now).await? {
        Ok(()) => Ok(Reply::redirect("/dashboard/keys?notice=revoked")),
        Err(_) => Err(Failure::NotFound),
    }
}

async fn rotate_page(ctx: &Ctx<'_>, client_id: &str, key_id: &str, overlap_error: Option<&'static str>) -> Outcome {
    let keys = api_keys::list_keys(&ctx.console, client_id, ctx.now).await?;
    let key = keys.iter().find(|k| k.record.key_id == key_id).ok_or(Failure::NotFound)?;
    let page = RotatePage {
        c: ctx.chrome(ctx.t().rotate_title),
        id: key.record.key_id.clone(),
        name: key.record.name.clone(),
        prefix: key.prefix.clone(),
        overlap_error,
    };
    render(if overlap_error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK }, &page)
}

async fn rotate(ctx: &Ctx<'_>, client_id: &str, key_id: &str) -> Outcome {
    if !ctx.verified() {
        let t = ctx.t();
        return ctx.message(
            StatusCode::FORBIDDEN,
            t.keys_title,
            t.unverified,
            Some(("/dashboard/keys", t.back_to_keys)),
        );
    }
    let overlap = match Overlap::parse(ctx.visit.field("overlap")) {
        Ok(overlap) => overlap,
        Err(e) => return rotate_page(ctx, client_id, key_id, Some(field_message(ctx.t(), e))).await,
    };
    let name = ctx.console.store.api_key(client_id, key_id).await?.map(|k| k.name).unwrap_or_default();
    match api_keys::rotate_key(&ctx.console, client_id, key_id, overlap, ctx.now).await? {
        Ok(created) => key_shown(ctx, name, created),
        Err(_) => Err(Failure::NotFound),
    }
}

/// The add-endpoint form names each event's checkbox `event:<type>` (a form field is read once by name).
const EVENT_FIELD: &str = "event:";

/// How many attempts the delivery log shows.
const LOG_ATTEMPTS: i32 = 50;

/// An endpoint id from the path: ids are UUIDs, so anything else is no endpoint of anyone's (and never reaches the
/// table).
fn endpoint(id: &str) -> Result<&str, Failure> {
    uuid::Uuid::try_parse(id).map(|_| id).map_err(|_| Failure::NotFound)
}

/// The Webhooks page: the endpoints and the add form (`form`, with its problems after a refused add).
async fn webhooks_page(
    ctx: &Ctx<'_>,
    client_id: &str,
    form: EndpointForm,
    refused: Option<(StatusCode, Option<&'static str>)>,
) -> Outcome {
    let t = ctx.t();
    let endpoints = webhooks::list_endpoints(&ctx.console, client_id).await?;
    let now = rfc3339_millis(ctx.now);
    let mut c = ctx.chrome(t.webhooks_title);
    c.notice = match ctx.visit.param("notice") {
        "enabled" => Some(t.endpoint_enabled),
        "disabled" => Some(t.endpoint_disabled),
        "deleted" => Some(t.endpoint_deleted),
        _ => None,
    };
    let (status, problem) = refused.unwrap_or((StatusCode::OK, None));
    c.problem = problem;
    let endpoints = endpoints.iter().map(|e| EndpointRow::of(t, e, &now)).collect();
    render(status, &WebhooksPage { c, endpoints, form })
}

const SETTINGS: &str = "/dashboard/settings";

async fn settings(ctx: &Ctx<'_>, client_id: &str) -> Outcome {
    let profile = clients::profile(&ctx.console, client_id).await?.ok_or(Failure::NotFound)?;
    let mut c = ctx.chrome(ctx.t().settings_title);
    c.notice = (ctx.visit.param("notice") == "saved").then_some(ctx.t().settings_saved);
    render(StatusCode::OK, &SettingsPage { c, form: FallbackForm::of(&profile, SETTINGS.to_owned()) })
}

async fn save_settings(ctx: &Ctx<'_>, client_id: &str) -> Outcome {
    let who = ctx.me.as_ref().map_or("client", |me| me.user.email.as_str());
    match fallback_settings(ctx) {
        Ok(settings) => match clients::save_fallback(&ctx.console, who, client_id, &settings, ctx.now).await? {
            Ok(()) => Ok(Reply::redirect(format!("{SETTINGS}?notice=saved"))),
            Err(_) => Err(Failure::NotFound),
        },
        Err(problem) => {
            // The form again as typed, with what to fix.
            let profile = clients::profile(&ctx.console, client_id).await?.ok_or(Failure::NotFound)?;
            let mut form = FallbackForm::of(&profile, SETTINGS.to_owned());
            form.on = ctx.visit.field("fallback") == "sms";
            form.text_en = ctx.visit.field("text_en").chars().take(form.max_chars).collect();
            form.text_ar = ctx.visit.field("text_ar").chars().take(form.max_chars).collect();
            let mut c = ctx.chrome(ctx.t().settings_title);
            c.problem = Some(problem);
            render(StatusCode::BAD_REQUEST, &SettingsPage { c, form })
        }
    }
}

/// A new signing secret, shown this once, never stored by the browser.
fn secret_shown(ctx: &Ctx<'_>, new: NewSecret) -> Outcome {
    let page = WebhookSecretPage {
        c: ctx.chrome(ctx.t().secret_title),
        url: new.url,
        secret: new.signing_secret,
        previous_until: new.previous_secret_until.as_deref().map(when),
    };
    Ok(render(StatusCode::OK, &page)?.no_store())
}

async fn add_endpoint(ctx: &Ctx<'_>, client_id: &str) -> Outcome {
    let t = ctx.t();
    let raw_url = ctx.visit.field("url");
    let mut chosen: Vec<&str> =
        ctx.visit.form.iter().flat_map(|form| form.keys()).filter_map(|name| name.strip_prefix(EVENT_FIELD)).collect();
    chosen.sort_unstable();
    let kept_url = raw_url.chars().take(lightotp::domain::client_webhook::EndpointUrl::MAX_LEN).collect();
    let mut form = EndpointForm::new(kept_url, &chosen);
    if raw_url.trim().is_empty() {
        form.url_error = Some(t.err_empty);
        return webhooks_page(ctx, client_id, form, Some((StatusCode::BAD_REQUEST, None))).await;
    }
    let refused = match webhooks::add_endpoint(&ctx.console, client_id, raw_url, &chosen, ctx.now).await? {
        Ok(new) => return secret_shown(ctx, new),
        Err(EndpointRefusal::Url(refusal)) => {
            form.url_error = Some(url_message(t, &refusal));
            (StatusCode::BAD_REQUEST, None)
        }
        Err(EndpointRefusal::Events(_)) => {
            form.events_error = Some(t.unknown_event);
            (StatusCode::BAD_REQUEST, None)
        }
        Err(EndpointRefusal::TooMany) => (StatusCode::CONFLICT, Some(t.too_many_endpoints)),
    };
    webhooks_page(ctx, client_id, form, Some(refused)).await
}

async fn set_enabled(ctx: &Ctx<'_>, client_id: &str, endpoint_id: &str, enabled: bool) -> Outcome {
    match webhooks::set_enabled(&ctx.console, client_id, endpoint_id, enabled, "client").await? {
        Ok(()) if enabled => Ok(Reply::redirect("/dashboard/webhooks?notice=enabled")),
        Ok(()) => Ok(Reply::redirect("/dashboard/webhooks?notice=disabled")),
        Err(_) => Err(Failure::NotFound),
    }
}

async fn rotate_secret(ctx: &Ctx<'_>, client_id: &str, endpoint_id: &str) -> Outcome {
    match webhooks::rotate_secret(&ctx.console, client_id, endpoint_id, ctx.now).await? {
        Ok(new) => secret_shown(ctx, new),
        // No such endpoint of this client's (or a rotation racing this one won, and this secret was never stored).
        Err(_) => Err(Failure::NotFound),
    }
}

async fn delete_endpoint(ctx: &Ctx<'_>, client_id: &str, endpoint_id: &str) -> Outcome {
    match webhooks::delete_endpoint(&ctx.console, client_id, endpoint_id).await? {
        Ok(()) => Ok(Reply::redirect("/dashboard/webhooks?notice=deleted")),
        Err(_) => Err(Failure::NotFound),
    }
}

/// The "since" form as sent back after a refused redelivery.
struct LogForm {
    status: StatusCode,
    /// The field's value; empty: a day before now.
    since: String,
    since_error: Option<&'static str>,
}

impl Default for LogForm {
    fn default() -> Self {
        Self { status: StatusCode::OK, since: String::new(), since_error: None }
    }
}

/// An endpoint's delivery log and redelivery forms.
async fn delivery_log(ctx: &Ctx<'_>, client_id: &str, endpoint_id: &str, form: LogForm) -> Outcome {
    let t = ctx.t();
    // After a redelivery that read its most events: where to go on from (prefills the form).
    let more_from: String = ctx.visit.param("more").chars().take(40).collect();
    let attempts = webhooks::attempt_log(&ctx.console, client_id, endpoint_id, LOG_ATTEMPTS)
        .await?
        .map_err(|_| Failure::NotFound)?;
    let endpoints = webhooks::list_endpoints(&ctx.console, client_id).await?;
    let endpoint = endpoints.iter().find(|e| e.endpoint_id == endpoint_id).ok_or(Failure::NotFound)?;
    let page = WebhookLogPage {
        c: ctx.chrome(t.delivery_log),
        endpoint: EndpointRow::of(t, endpoint, &rfc3339_millis(ctx.now)),
        attempts: attempts.iter().map(AttemptRow::of).collect(),
        since: if !form.since.is_empty() {
            form.since
        } else if !more_from.is_empty() {
            more_from.clone()
        } else {
            a_day_before(ctx.now)
        },
        since_error: form.since_error,
        scheduled: ctx.visit.param("scheduled").parse().ok(),
        more_from: webhooks::parse_since(&more_from).map(|_| more_from),
    };
    render(form.status, &page)
}

/// The "since" field's first value: 24 hours before `now`, to the minute, in UTC (`2026-11-22T09:13:00Z`).
fn a_day_before(now: time::OffsetDateTime) -> String {
    let at = now.to_offset(time::UtcOffset::UTC) - time::Duration::days(1);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:00Z", at.year(), u8::from(at.month()), at.day(), at.hour(), at.minute())
}

async fn redeliver(ctx: &Ctx<'_>, client_id: &str, endpoint_id: &str) -> Outcome {
    let t = ctx.t();
    let event = ctx.visit.field("event").trim();
    let what = if event.is_empty() {
        let raw = ctx.visit.field("since");
        match webhooks::parse_since(raw) {
            Some(since) => Redeliver::Since(since),
            None => {
                let problem = if raw.trim().is_empty() { t.err_empty } else { t.bad_since };
                let form = LogForm {
                    status: StatusCode::BAD_REQUEST,
                    since: raw.chars().take(40).collect(),
                    since_error: Some(problem),
                };
                return delivery_log(ctx, client_id, endpoint_id, form).await;
            }
        }
    } else {
        Redeliver::Event(event.chars().take(200).collect())
    };
    match webhooks::redeliver(&ctx.console, client_id, endpoint_id, &what, ctx.now).await? {
        Ok(done) => {
            let more = done.more_from.map(|at| format!("&more={at}")).unwrap_or_default();
            Ok(Reply::redirect(format!("/dashboard/webhooks/{endpoint_id}?scheduled={}{more}", done.scheduled)))
        }
        Err(RedeliverRefusal::NoSuchEndpoint) => Err(Failure::NotFound),
        // The page says why: the endpoint must be enabled first.
        Err(RedeliverRefusal::Disabled) => {
            delivery_log(ctx, client_id, endpoint_id, LogForm { status: StatusCode::CONFLICT, ..LogForm::default() })
                .await
        }
    }
}
