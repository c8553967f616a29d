//! Operator pages under `/dashboard/ops/`: the orders queue, clients (search, a client's page and its actions),
//! plans and the pricing table. Anyone but an operator gets `404`, as if they did not exist.

use lambda_http::http::StatusCode;
use lightotp::domain::account::{FieldError, optional_text, short_text};
use lightotp::domain::channel::Channel;
use lightotp::domain::console::{PlanDraft, REASON_CHARS, credits};
use lightotp::usecase::console::clients::{self, ClientActionRefusal};
use lightotp::usecase::console::orders::{self, OrderRefusal};
use lightotp::usecase::console::webhooks;

use super::{Ctx, Failure, Outcome, render};
use crate::pages::{
    AuditRow, ClientRow, EndpointRow, FallbackForm, KeyRow, OpsClientPage, OpsClientsPage, OpsOrdersPage,
    OpsPlanEditPage, OpsPlansPage, OpsPricingPage, OrderRow, PlanCard, PlanForm, QueueRow, SubscriptionRow,
    field_message, when,
};
use crate::web::Reply;

/// The operator's routes.
pub async fn route(ctx: &Ctx<'_>) -> Outcome {
    let operator = ctx.operator()?.to_owned();
    let operator = operator.as_str();
    match (ctx.visit.method.as_str(), ctx.visit.route().as_slice()) {
        ("GET", ["ops"] | ["ops", "orders"]) => queue(ctx).await,
        ("POST", ["ops", "orders", client_id, order_id, "activate"]) => {
            activate(ctx, operator, client_id, order_id).await
        }
        ("POST", ["ops", "orders", client_id, order_id, "cancel"]) => cancel(ctx, operator, client_id, order_id).await,
        ("GET", ["ops", "clients"]) => search(ctx).await,
        ("GET", ["ops", "clients", client_id]) => client_page(ctx, client_id, None).await,
        ("POST", ["ops", "clients", client_id, action]) => client_action(ctx, operator, client_id, action).await,
        ("GET", ["ops", "plans"]) => plans(ctx, PlanForm::default(), StatusCode::OK).await,
        ("POST", ["ops", "plans"]) => create_plan(ctx).await,
        ("GET", ["ops", "plans", plan_id]) => edit_plan_page(ctx, plan_id).await,
        ("POST", ["ops", "plans", plan_id]) => update_plan(ctx, plan_id).await,
        ("POST", ["ops", "plans", plan_id, "deactivate"]) => deactivate(ctx, plan_id).await,
        ("GET", ["ops", "pricing"]) => pricing(ctx, String::new(), String::new(), None, None).await,
        ("POST", ["ops", "pricing"]) => set_price(ctx).await,
        _ => Err(Failure::NotFound),
    }
}

/// "3 h" or "2 d" (in the page's language): how long an order has waited.
fn age(t: &crate::texts::Texts, created: &str, now: time::OffsetDateTime) -> String {
    let Some(at) = lightotp::domain::time_format::parse_rfc3339(created) else {
        return String::new();
    };
    let waited = now - at;
    if waited.whole_days() >= 1 {
        format!("{} {}", waited.whole_days(), t.unit_days)
    } else if waited.whole_hours() >= 1 {
        format!("{} {}", waited.whole_hours(), t.unit_hours)
    } else {
        format!("{} {}", waited.whole_minutes().max(0), t.unit_minutes)
    }
}

async fn queue(ctx: &Ctx<'_>) -> Outcome {
    let t = ctx.t();
    let queue = orders::orders_queue(&ctx.console).await?;
    let mut c = ctx.chrome(t.orders_queue_title);
    c.notice = match ctx.visit.param("notice") {
        "activated" => Some(t.order_activated),
        "cancelled" => Some(t.order_cancelled),
        _ => None,
    };
    let orders = queue
        .iter()
        .map(|q| QueueRow {
            id: q.order.order_id.clone(),
            client_id: q.order.client_id.clone(),
            client: q.client_name.clone(),
            plan: q.order.plan_name.clone(),
            price: q.order.price_label.clone(),
            credits: q.order.credits.get(),
            notes: q.order.notes.clone().unwrap_or_default(),
            created: when(&q.order.created_at),
            age: age(t, &q.order.created_at, ctx.now),
        })
        .collect();
    render(StatusCode::OK, &OpsOrdersPage { c, orders })
}

fn not_pending(ctx: &Ctx<'_>) -> Outcome {
    let t = ctx.t();
    ctx.message(
        StatusCode::CONFLICT,
        t.orders_queue_title,
        t.order_not_pending,
        Some(("/dashboard/ops/orders", t.orders_queue_title)),
    )
}

async fn activate(ctx: &Ctx<'_>, operator: &str, client_id: &str, order_id: &str) -> Outcome {
    match orders::activate_order(&ctx.console, operator, client_id, order_id, ctx.now).await? {
        Ok(_) => Ok(Reply::redirect("/dashboard/ops/orders?notice=activated")),
        Err(OrderRefusal::NotPending) => not_pending(ctx),
        Err(_) => Err(Failure::NotFound),
    }
}

async fn cancel(ctx: &Ctx<'_>, operator: &str, client_id: &str, order_id: &str) -> Outcome {
    let Ok(reason) = optional_text(ctx.visit.field("reason"), REASON_CHARS) else {
        let t = ctx.t();
        return ctx.message(
            StatusCode::BAD_REQUEST,
            t.orders_queue_title,
            t.err_too_long,
            Some(("/dashboard/ops/orders", t.orders_queue_title)),
        );
    };
    match orders::cancel_order(&ctx.console, operator, client_id, order_id, reason.as_deref(), ctx.now).await? {
        Ok(()) => Ok(Reply::redirect("/dashboard/ops/orders?notice=cancelled")),
        Err(OrderRefusal::NotPending) => not_pending(ctx),
        Err(_) => Err(Failure::NotFound),
    }
}

async fn search(ctx: &Ctx<'_>) -> Outcome {
    let query: String = ctx.visit.param("q").chars().take(100).collect();
    let found = clients::search(&ctx.console, &query).await?;
    let clients = found.into_iter().map(|p| ClientRow { id: p.client_id, name: p.name, email: p.email }).collect();
    render(StatusCode::OK, &OpsClientsPage { c: ctx.chrome(ctx.t().clients_title), query, clients })
}

async fn client_page(ctx: &Ctx<'_>, client_id: &str, problem: Option<&'static str>) -> Outcome {
    let t = ctx.t();
    let file = clients::client_file(&ctx.console, client_id, ctx.now).await?.ok_or(Failure::NotFound)?;
    let endpoints = webhooks::list_endpoints(&ctx.console, client_id).await?;
    let now = lightotp::domain::time_format::rfc3339_millis(ctx.now);
    let profile = &file.summary.profile;
    let mut c = ctx.chrome(&profile.name);
    c.problem = problem;
    c.notice = (ctx.visit.param("notice") == "saved").then_some(t.saved);
    let page = OpsClientPage {
        c,
        id: profile.client_id.clone(),
        name: profile.name.clone(),
        email: profile.email.clone(),
        wallet: file.summary.wallet.get(),
        sender: profile
            .sender
            .as_ref()
            .map_or_else(|| t.no_sender.to_owned(), |s| format!("{} ({})", s.display_phone, s.phone_number_id)),
        templates: profile.templates.iter().map(|tpl| format!("{} ({})", tpl.name, tpl.language.as_str())).collect(),
        subscriptions: file.summary.subscriptions.iter().map(|s| SubscriptionRow::of(t, s)).collect(),
        orders: file.summary.orders.iter().map(|o| OrderRow::of(t, o)).collect(),
        keys: file.keys.iter().map(|k| KeyRow::of(t, k)).collect(),
        webhooks: endpoints.iter().map(|e| EndpointRow::for_operator(t, e, &now)).collect(),
        fallback: FallbackForm::of(profile, format!("/dashboard/ops/clients/{}/fallback", profile.client_id)),
        audit: file.audit.iter().map(AuditRow::of).collect(),
    };
    render(if problem.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK }, &page)
}

async fn client_action(ctx: &Ctx<'_>, operator: &str, client_id: &str, action: &str) -> Outcome {
    let t = ctx.t();
    let console = &ctx.console;
    let field = |name: &str, max: usize| short_text(ctx.visit.field(name), max);
    let outcome = match action {
        "sender" => match (field("phone_number_id", 40), field("display_phone", 40)) {
            (Ok(id), Ok(display)) => {
                clients::assign_sender(console, operator, client_id, &id, &display, ctx.now).await?
            }
            (Err(e), _) | (_, Err(e)) => return client_page(ctx, client_id, Some(field_message(t, e))).await,
        },
        "templates" => match field("name", 512) {
            Ok(name) => {
                clients::add_template(console, operator, client_id, &name, ctx.visit.field("language"), ctx.now).await?
            }
            Err(e) => return client_page(ctx, client_id, Some(field_message(t, e))).await,
        },
        "fallback" => match super::fallback_settings(ctx) {
            Ok(settings) => clients::save_fallback(console, operator, client_id, &settings, ctx.now).await?,
            Err(problem) => return client_page(ctx, client_id, Some(problem)).await,
        },
        "wallet" => match credits(ctx.visit.field("credits")) {
            Ok(amount) => clients::top_up_wallet(console, operator, client_id, amount, ctx.now).await?.map(|_| ()),
            Err(e) => return client_page(ctx, client_id, Some(field_message(t, e))).await,
        },
        _ => return Err(Failure::NotFound),
    };
    match outcome {
        Ok(()) => Ok(Reply::redirect(format!("/dashboard/ops/clients/{client_id}?notice=saved"))),
        Err(ClientActionRefusal::UnknownClient) => Err(Failure::NotFound),
        Err(ClientActionRefusal::BadLanguage) => client_page(ctx, client_id, Some(t.bad_language)).await,
        Err(ClientActionRefusal::BadCountry) => client_page(ctx, client_id, Some(t.bad_country)).await,
        Err(ClientActionRefusal::TooManyCredits) => client_page(ctx, client_id, Some(t.too_many_credits)).await,
    }
}

async fn plans(ctx: &Ctx<'_>, form: PlanForm, status: StatusCode) -> Outcome {
    let plans = orders::all_plans(&ctx.console).await?;
    let mut c = ctx.chrome(ctx.t().nav_plans);
    c.notice = (ctx.visit.param("notice") == "saved").then_some(ctx.t().saved);
    render(status, &OpsPlansPage { c, plans: plans.iter().map(PlanCard::of).collect(), form })
}

/// The plan form's fields, checked; or the form again with each field's problem.
fn plan_form(ctx: &Ctx<'_>) -> Result<PlanDraft, Box<PlanForm>> {
    let t = ctx.t();
    let f = |name: &str| ctx.visit.field(name).chars().take(600).collect::<String>();
    PlanDraft::parse(&f("name"), &f("credits"), &f("price"), &f("description")).map_err(|errors| {
        let error = |field: &str| -> Option<&'static str> {
            errors.iter().find(|(name, _)| *name == field).map(|(_, e): &(&str, FieldError)| field_message(t, *e))
        };
        Box::new(PlanForm {
            name_error: error("name"),
            credits_error: error("credits"),
            price_error: error("price"),
            description_error: error("description"),
            name: f("name"),
            credits: f("credits"),
            price: f("price"),
            description: f("description"),
        })
    })
}

async fn create_plan(ctx: &Ctx<'_>) -> Outcome {
    match plan_form(ctx) {
        Ok(draft) => {
            orders::create_plan(&ctx.console, &draft, ctx.now).await?;
            Ok(Reply::redirect("/dashboard/ops/plans?notice=saved"))
        }
        Err(form) => plans(ctx, *form, StatusCode::BAD_REQUEST).await,
    }
}

async fn edit_plan_page(ctx: &Ctx<'_>, plan_id: &str) -> Outcome {
    let plan = orders::any_plan(&ctx.console, plan_id).await?.ok_or(Failure::NotFound)?;
    let form = PlanForm {
        name: plan.plan.name,
        credits: plan.plan.credits.to_string(),
        price: plan.plan.price_label,
        description: plan.plan.description.unwrap_or_default(),
        ..PlanForm::default()
    };
    render(StatusCode::OK, &OpsPlanEditPage { c: ctx.chrome(ctx.t().edit_plan), id: plan.plan_id, form })
}

async fn update_plan(ctx: &Ctx<'_>, plan_id: &str) -> Outcome {
    match plan_form(ctx) {
        Ok(draft) if orders::update_plan(&ctx.console, plan_id, &draft).await? => {
            Ok(Reply::redirect("/dashboard/ops/plans?notice=saved"))
        }
        Ok(_) => Err(Failure::NotFound),
        Err(form) => {
            orders::any_plan(&ctx.console, plan_id).await?.ok_or(Failure::NotFound)?;
            let page = OpsPlanEditPage { c: ctx.chrome(ctx.t().edit_plan), id: plan_id.to_owned(), form: *form };
            render(StatusCode::BAD_REQUEST, &page)
        }
    }
}

async fn deactivate(ctx: &Ctx<'_>, plan_id: &str) -> Outcome {
    if orders::deactivate_plan(&ctx.console, plan_id).await? {
        Ok(Reply::redirect("/dashboard/ops/plans?notice=saved"))
    } else {
        Err(Failure::NotFound)
    }
}

async fn pricing(
    ctx: &Ctx<'_>,
    country: String,
    credits: String,
    country_error: Option<&'static str>,
    credits_error: Option<&'static str>,
) -> Outcome {
    let prices = clients::prices(&ctx.console).await?;
    let mut c = ctx.chrome(ctx.t().pricing_title);
    c.notice = (ctx.visit.param("notice") == "saved").then_some(ctx.t().saved);
    let status =
        if country_error.is_some() || credits_error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let prices = prices
        .into_iter()
        .map(|p| {
            let channel = match p.channel {
                Channel::WhatsApp => ctx.t().channel_whatsapp,
                Channel::Sms => ctx.t().channel_sms,
            };
            (p.region, channel, p.credits.get())
        })
        .collect();
    render(status, &OpsPricingPage { c, prices, country, credits, country_error, credits_error })
}

async fn set_price(ctx: &Ctx<'_>) -> Outcome {
    let t = ctx.t();
    let country: String = ctx.visit.field("country").chars().take(10).collect();
    let raw_credits: String = ctx.visit.field("credits").chars().take(20).collect();
    let amount = match credits(&raw_credits) {
        Ok(amount) => amount,
        Err(e) => return pricing(ctx, country, raw_credits, None, Some(field_message(t, e))).await,
    };
    // An unknown channel is WhatsApp's table: the form offers only the two.
    let channel = Channel::parse(ctx.visit.field("channel")).unwrap_or(Channel::WhatsApp);
    match clients::set_price(&ctx.console, &country, channel, amount).await? {
        Ok(_) => Ok(Reply::redirect("/dashboard/ops/pricing?notice=saved")),
        Err(_) => pricing(ctx, country, raw_credits, Some(t.bad_country), None).await,
    }
}
