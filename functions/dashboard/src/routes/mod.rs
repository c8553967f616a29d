//! The router: who is asking (a visitor, a client's user, an operator), which handler serves the path, and the
//! checks every `POST` passes first: its `Origin` is the dashboard's, its CSRF token is the session's (or the
//! visitor cookie's), and the per-IP limit admits it. A refused check changes nothing.

mod client;
mod operator;
mod visitor;

use askama::Template;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use lightotp::domain::account::Role;
use lightotp::domain::language::HumanLanguage;
use lightotp::usecase::console::accounts::{self, SignedIn};
use lightotp::usecase::console::{Console, ConsoleError};
use lightotp::usecase::rate_limit::{NotAdmitted, admit};
use time::OffsetDateTime;
use tracing::Instrument;

use crate::Dashboard;
use crate::pages::{Chrome, MessagePage, Nav};
use crate::texts::Texts;
use crate::web::{LANGUAGE_COOKIE, Reply, VISITOR_COOKIE, Visit};

/// The webhooks guide for client developers (docs/webhooks.md), linked from the Webhooks page and served as text.
const WEBHOOKS_GUIDE: &str = include_str!("../../../../docs/webhooks.md");

/// Why a request gets an error page instead of what it asked for.
#[derive(Debug)]
pub enum Failure {
    /// A POST from elsewhere, or without the right CSRF token: `403`.
    Forbidden,
    /// No such page for this user (another client's order, an operator page for a client): `404`.
    NotFound,
    /// A form larger than any of ours: `413`.
    TooLarge,
    /// The per-IP limit: `429` with `Retry-After`.
    RateLimited(u64),
    /// Ours: `500`, logged once with its causes.
    Internal(ConsoleError),
}

impl From<ConsoleError> for Failure {
    fn from(err: ConsoleError) -> Self {
        Self::Internal(err)
    }
}

impl From<lightotp::store::StoreError> for Failure {
    fn from(err: lightotp::store::StoreError) -> Self {
        Self::Internal(ConsoleError::Store(err))
    }
}

/// A handler's answer.
pub type Outcome = Result<Reply, Failure>;

/// One request, as handlers see it.
pub struct Ctx<'a> {
    pub app: &'a Dashboard,
    /// Where this request reached the dashboard.
    pub site: crate::Site,
    /// The console's use cases, their links under `site`.
    pub console: Console,
    pub visit: &'a Visit,
    pub now: OffsetDateTime,
    /// The signed-in user, if any.
    pub me: Option<SignedIn>,
    /// The page's language: the user's setting, else the visitor's cookie or `Accept-Language`.
    pub language: HumanLanguage,
    /// The visitor token the signed-out forms' CSRF token is tied to.
    visitor: String,
    /// Whether the visitor token is new (and its cookie must be set).
    new_visitor: bool,
    visitor_csrf: String,
}

impl Ctx<'_> {
    /// The page's texts.
    pub fn t(&self) -> &'static Texts {
        Texts::of(self.language)
    }

    /// The CSRF token of this page's forms.
    pub fn csrf(&self) -> String {
        self.me.as_ref().map_or_else(|| self.visitor_csrf.clone(), |me| me.csrf.clone())
    }

    /// The shared parts of a page titled `title`.
    pub fn chrome(&self, title: &str) -> Chrome {
        let nav = match self.me.as_ref().map(|me| me.user.role) {
            None => Nav::Visitor,
            Some(Role::Client) => Nav::Client,
            Some(Role::Operator) => Nav::Operator,
        };
        let unverified =
            self.me.as_ref().is_some_and(|me| me.user.role == Role::Client && me.user.email_verified_at.is_none());
        Chrome { t: self.t(), title: title.to_owned(), nav, csrf: self.csrf(), notice: None, problem: None, unverified }
    }

    /// A page with a heading, a sentence and a link.
    pub fn message(
        &self,
        status: StatusCode,
        title: &str,
        body: &'static str,
        link: Option<(&str, &'static str)>,
    ) -> Outcome {
        let page = MessagePage { c: self.chrome(title), body, link: link.map(|(href, text)| (href.to_owned(), text)) };
        render(status, &page)
    }

    /// The checks every POST passes before it may change anything: same origin, the form's CSRF token, the
    /// per-IP limit.
    pub async fn check_post(&self) -> Result<(), Failure> {
        if self.visit.form.is_none() {
            return Err(Failure::TooLarge);
        }
        if !self.visit.same_origin(&self.site.origin) || !self.visit.csrf_matches(&self.csrf()) {
            return Err(Failure::Forbidden);
        }
        match admit(self.app.deps.as_ref(), self.visit.source_ip.as_deref()).await {
            Ok(()) => Ok(()),
            Err(NotAdmitted::RateLimited { retry_after }) => Err(Failure::RateLimited(retry_after)),
            Err(NotAdmitted::Store(err)) => Err(err.into()),
        }
    }

    /// The signed-in client's id, or `NotFound` for anyone else (operators have no client pages).
    pub fn client_id(&self) -> Result<&str, Failure> {
        self.me
            .as_ref()
            .filter(|me| me.user.role == Role::Client)
            .and_then(|me| me.user.client_id.as_deref())
            .ok_or(Failure::NotFound)
    }

    /// The signed-in operator's email, or `NotFound` for anyone else.
    pub fn operator(&self) -> Result<&str, Failure> {
        self.me
            .as_ref()
            .filter(|me| me.user.role == Role::Operator)
            .map(|me| me.user.email.as_str())
            .ok_or(Failure::NotFound)
    }

    /// Whether the signed-in client user has confirmed its email (needed to order and to create keys).
    pub fn verified(&self) -> bool {
        self.me.as_ref().is_some_and(|me| me.user.email_verified_at.is_some())
    }
}

/// The WhatsApp → SMS fallback form as posted (the client's Settings page, the operator's client page): its
/// settings, or the message for its first refused text.
pub fn fallback_settings(ctx: &Ctx<'_>) -> Result<lightotp::domain::fallback::FallbackSettings, &'static str> {
    use lightotp::domain::fallback::{FallbackSettings, FallbackTextError};
    let t = ctx.t();
    let on = ctx.visit.field("fallback") == "sms";
    let texts = [(HumanLanguage::En, ctx.visit.field("text_en")), (HumanLanguage::Ar, ctx.visit.field("text_ar"))];
    FallbackSettings::parse(on, &texts).map_err(|(_, refused)| match refused {
        FallbackTextError::NoCode => t.fallback_no_code,
        FallbackTextError::TooLong => t.fallback_too_long,
    })
}

/// Renders a page.
pub fn render(status: StatusCode, page: &impl Template) -> Outcome {
    match page.render() {
        Ok(html) => Ok(Reply::page(status, html)),
        Err(err) => {
            tracing::error!(error = %err, "a page failed to render");
            Err(Failure::Internal(ConsoleError::Secrets(format!("rendering: {err}"))))
        }
    }
}

/// Serves one request: assets, then the routes, then the error page of a failure.
pub async fn serve(app: &Dashboard, request: &Request) -> Response<Body> {
    let visit = Visit::read(request);
    match (visit.method.as_str(), visit.route().as_slice()) {
        ("GET", ["assets", "style.css"]) => {
            return Reply::asset("text/css; charset=utf-8", include_str!("../../assets/style.css"));
        }
        ("GET", ["assets", "app.js"]) => {
            return Reply::asset("text/javascript; charset=utf-8", include_str!("../../assets/app.js"));
        }
        ("GET", ["docs", "openapi.yaml"]) => {
            return Reply::asset("application/yaml; charset=utf-8", crate::reference::OPENAPI_YAML);
        }
        ("GET", ["docs", "webhooks.md"]) => {
            return Reply::asset("text/plain; charset=utf-8", WEBHOOKS_GUIDE);
        }
        _ => {}
    }
    let now = app.deps.clock.now();
    let Some(site) = app.site.clone().or_else(|| crate::Site::of_request(request)) else {
        return failure_page(&visit, visit.language, Failure::NotFound);
    };
    let ctx = match context(app, site, &visit, now).await {
        Ok(ctx) => ctx,
        Err(err) => return failure_page(&visit, visit.language, Failure::Internal(err)),
    };
    // Every line of a signed-in client user's request names the client (docs/operations.md, "Logs").
    let client_id = ctx.me.as_ref().and_then(|me| me.user.client_id.clone()).unwrap_or_default();
    let outcome = route(&ctx).instrument(tracing::info_span!("page", client_id = %client_id)).await;
    let mut reply = match outcome {
        Ok(reply) => reply,
        Err(failure) => return failure_page(&visit, ctx.language, failure),
    };
    if ctx.new_visitor {
        reply = reply.cookie(ctx.site.cookies.set(VISITOR_COOKIE, &ctx.visitor));
    }
    reply.into_response()
}

async fn context<'a>(
    app: &'a Dashboard,
    site: crate::Site,
    visit: &'a Visit,
    now: OffsetDateTime,
) -> Result<Ctx<'a>, ConsoleError> {
    let console = Console { dashboard_url: site.dashboard_url(), ..app.console.clone() };
    let session_cookie = visit.cookies.get(site.cookies.session_name());
    let me = match session_cookie {
        Some(token) => accounts::session(&console, token, now).await?,
        None => None,
    };
    let (visitor, new_visitor) = match visit.cookies.get(VISITOR_COOKIE).filter(|v| (20..=100).contains(&v.len())) {
        Some(token) => (token.clone(), false),
        None => (lightotp::usecase::console::random_token()?, true),
    };
    let visitor_csrf = accounts::visitor_csrf(&console, &visitor).await?;
    let language = me.as_ref().map_or(visit.language, |me| me.user.language);
    Ok(Ctx { app, site, console, visit, now, me, language, visitor, new_visitor, visitor_csrf })
}

async fn route(ctx: &Ctx<'_>) -> Outcome {
    let visit = ctx.visit;
    let is_post = visit.method == Method::POST;
    if is_post {
        ctx.check_post().await?;
    }
    let signed_in = ctx.me.is_some();
    match (visit.method.as_str(), visit.route().as_slice()) {
        ("POST", ["language"]) => language(ctx).await,
        ("POST", ["logout"]) => visitor::log_out(ctx).await,
        ("GET", ["docs"]) => render(
            StatusCode::OK,
            &crate::pages::DocsPage {
                c: ctx.chrome(ctx.t().api_reference),
                reference: crate::reference::Reference::load(),
            },
        ),
        ("GET", ["verify"]) => visitor::verify_page(ctx),
        ("POST", ["verify"]) => visitor::verify(ctx).await,
        ("GET", []) if !signed_in => visitor::sign_in_page(ctx, None),
        ("POST", ["login"]) => visitor::log_in(ctx).await,
        ("GET", ["signup"]) => visitor::sign_up_page(ctx),
        ("POST", ["signup"]) => visitor::sign_up(ctx).await,
        ("GET", ["forgot"]) => visitor::forgot_page(ctx),
        ("POST", ["forgot"]) => visitor::forgot(ctx).await,
        ("GET", ["reset"]) => visitor::reset_page(ctx),
        ("POST", ["reset"]) => visitor::reset(ctx).await,
        ("GET" | "POST", ["ops", ..]) => operator::route(ctx).await,
        // A visitor on a signed-in page goes to the sign-in page.
        ("GET", _) if !signed_in => Ok(Reply::redirect("/dashboard")),
        _ if !signed_in => Err(Failure::NotFound),
        ("GET", []) if ctx.operator().is_ok() => Ok(Reply::redirect("/dashboard/ops/orders")),
        _ => client::route(ctx).await,
    }
}

/// Saves the page language: on the user when signed in, in a cookie otherwise.
async fn language(ctx: &Ctx<'_>) -> Outcome {
    let language = match ctx.visit.field("language") {
        "ar" => HumanLanguage::Ar,
        _ => HumanLanguage::En,
    };
    if let Some(me) = &ctx.me {
        ctx.console.store.set_user_language(&me.user.email, language).await?;
    }
    Ok(Reply::redirect("/dashboard").cookie(ctx.site.cookies.keep(LANGUAGE_COOKIE, language.code())))
}

fn failure_page(visit: &Visit, language: HumanLanguage, failure: Failure) -> Response<Body> {
    let t = Texts::of(language);
    let (status, body, retry) = match &failure {
        Failure::Forbidden => (StatusCode::FORBIDDEN, t.forbidden, None),
        Failure::NotFound => (StatusCode::NOT_FOUND, t.not_found, None),
        Failure::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, t.too_large, None),
        Failure::RateLimited(seconds) => (StatusCode::TOO_MANY_REQUESTS, t.rate_limited, Some(*seconds)),
        Failure::Internal(err) => {
            tracing::error!(error = %lightotp::logging::cause_chain(err), path = ?visit.segments, "dashboard request failed");
            (StatusCode::INTERNAL_SERVER_ERROR, t.server_error, None)
        }
    };
    // The error page has no form (its empty token hides the language switch): a link leads back.
    let c = Chrome {
        t,
        title: t.error_title.to_owned(),
        nav: Nav::Visitor,
        csrf: String::new(),
        notice: None,
        problem: None,
        unverified: false,
    };
    let page = MessagePage { c, body, link: Some(("/dashboard".to_owned(), t.back_home)) };
    let html = page.render().unwrap_or_else(|_| body.to_owned());
    let mut reply = Reply::page(status, html);
    if let Some(seconds) = retry {
        reply = reply.retry_after(seconds);
    }
    reply.into_response()
}
