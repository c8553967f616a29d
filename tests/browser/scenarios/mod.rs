//! The scenarios, in the order they run. Each gets a [`Ctx`] of its own and opens the browser sessions it needs.

mod arabic;
mod fallback_settings;
mod getting_started;
mod harness;
mod key_rotation;
mod sign_out;
mod webhooks;

use futures::future::BoxFuture;

use crate::ctx::Ctx;

/// A scenario: a name (its screenshots' folder, what a filter matches) and what it does.
pub type Scenario = (&'static str, for<'a> fn(&'a Ctx) -> BoxFuture<'a, ()>);

/// Every scenario. The harness's own check comes first: it needs no dashboard, so a failure there is the harness's.
pub fn all() -> Vec<Scenario> {
    vec![
        ("harness", |ctx| Box::pin(harness::run(ctx))),
        ("arabic_pages_are_rtl", |ctx| Box::pin(arabic::run(ctx))),
        ("sign_out_ends_the_session", |ctx| Box::pin(sign_out::run(ctx))),
        ("getting_started", |ctx| Box::pin(getting_started::run(ctx))),
        ("rotate_with_overlap", |ctx| Box::pin(key_rotation::run(ctx))),
        ("webhook_secret_shown_once", |ctx| Box::pin(webhooks::run(ctx))),
        ("sms_fallback_settings", |ctx| Box::pin(fallback_settings::run(ctx))),
    ]
}
