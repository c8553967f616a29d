//! The dashboard (docs/dashboard.md): every path under `/dashboard`, server-rendered. `handle` reads the request,
//! finds the signed-in user, routes to one handler (`routes`), and writes the page; it never answers `Err` for a
//! visitor's mistake. Pages are in `pages` (templates in `templates/`), texts in `texts`, HTTP in `web`.

pub mod pages;
pub mod reference;
mod routes;
pub mod texts;
pub mod web;

use std::sync::Arc;

use lambda_http::{Body, Error, Request, RequestExt, Response};
use lightotp::config::ConfigError;
use lightotp::deps::Deps;
use lightotp::usecase::console::Console;

use crate::web::CookiePolicy;

/// The dashboard function's dependencies, built once per cold start.
#[derive(Debug)]
pub struct Dashboard {
    /// What every function has (the clock, the rate limit, the store).
    pub deps: Arc<Deps>,
    /// The console's use cases (their emailed links point under the configured site, or the request's).
    pub console: Console,
    /// Where the dashboard is served, when configured (`DASHBOARD_URL`); otherwise each request's own domain.
    pub site: Option<Site>,
}

/// Where the dashboard is served, from `DASHBOARD_URL`.
#[derive(Debug, Clone)]
pub struct Site {
    /// `scheme://host[:port]`: what a form's `Origin` must be.
    pub origin: String,
    /// The API's base URL (the dashboard's URL without `/dashboard`), for the overview's curl.
    pub api_url: String,
    /// How cookies are written.
    pub cookies: CookiePolicy,
}

impl Site {
    /// Reads `https://host/dashboard` (or `http://127.0.0.1:3000/dashboard` locally).
    pub fn from_url(url: &str) -> Result<Self, ConfigError> {
        let malformed = |reason: &str| ConfigError::Malformed { name: "DASHBOARD_URL", reason: reason.to_owned() };
        let url = url.trim_end_matches('/');
        let api_url = url.strip_suffix("/dashboard").ok_or_else(|| malformed("must end with /dashboard"))?;
        let (scheme, rest) =
            api_url.split_once("://").ok_or_else(|| malformed("must start with http:// or https://"))?;
        if !matches!(scheme, "http" | "https") || rest.is_empty() || rest.contains('/') {
            return Err(malformed("must be http(s)://host[:port]/dashboard"));
        }
        Ok(Self {
            origin: api_url.to_owned(),
            api_url: api_url.to_owned(),
            cookies: CookiePolicy { secure: scheme == "https" },
        })
    }
}

impl Site {
    /// The site a request reached: `https://<API Gateway's domain name>/dashboard` (API Gateway serves HTTPS only).
    pub fn of_request(request: &Request) -> Option<Self> {
        let domain = match request.request_context_ref()? {
            lambda_http::request::RequestContext::ApiGatewayV2(context) => context.domain_name.clone()?,
            _ => return None,
        };
        Self::from_url(&format!("https://{domain}/dashboard")).ok()
    }

    /// The dashboard's URL.
    pub fn dashboard_url(&self) -> String {
        format!("{}/dashboard", self.api_url)
    }
}

impl Dashboard {
    /// From the environment: `DASHBOARD_URL` (optional: each request's own domain otherwise) and `OPERATORS_EMAIL`
    /// (optional).
    pub fn from_env(deps: Arc<Deps>) -> Result<Self, ConfigError> {
        let url = std::env::var("DASHBOARD_URL").ok().filter(|v| !v.is_empty());
        let operators = std::env::var("OPERATORS_EMAIL").ok().filter(|v| !v.is_empty());
        Self::new(deps, url.as_deref(), operators)
    }

    /// From explicit settings (the local gateway and tests).
    pub fn new(deps: Arc<Deps>, url: Option<&str>, operators_email: Option<String>) -> Result<Self, ConfigError> {
        let site = url.map(Site::from_url).transpose()?;
        let console = Console {
            store: deps.store.clone(),
            secrets: deps.secrets.clone(),
            api_key_prefix: deps.config.api_key_secret_prefix.clone(),
            pepper: Arc::clone(&deps.pepper),
            mailer: deps.mailer.clone(),
            dashboard_url: site.as_ref().map(Site::dashboard_url).unwrap_or_default(),
            operators_email,
            webhook_policy: deps.config.webhook_address_policy,
        };
        Ok(Self { deps, console, site })
    }
}

/// Serves one request. Never `Err` for a visitor's mistake: each gets its page.
pub async fn handle(dashboard: &Dashboard, request: Request) -> Result<Response<Body>, Error> {
    Ok(routes::serve(dashboard, &request).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_site_is_read_from_the_dashboard_url() {
        let local = Site::from_url("http://127.0.0.1:3000/dashboard").expect("valid");
        assert_eq!((local.origin.as_str(), local.cookies.secure), ("http://127.0.0.1:3000", false));
        let deployed = Site::from_url("https://abc.execute-api.eu-west-1.amazonaws.com/dashboard/").expect("valid");
        assert!(deployed.cookies.secure);
        assert!(Site::from_url("https://example.com/console").is_err());
        assert!(Site::from_url("ftp://example.com/dashboard").is_err());
    }
}
