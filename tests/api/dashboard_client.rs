//! A browser without a browser, for the dashboard's API tests: plain HTTP with its own cookie jar and its own
//! source IP, forms sent as a browser sends them (urlencoded, with the dashboard's `Origin` and the page's CSRF
//! token), redirects not followed so that each `303` can be checked. Pages are read as text: a hidden input's
//! value, an input's value by its id, a visible sentence.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use reqwest::header::{self, HeaderMap};
use serde_json::Value;

use crate::helpers::random_loopback;

/// A sign-in the stack seeded (`stack.json`'s `dashboard.operator` and `dashboard.demo`).
#[derive(Debug, Clone)]
pub struct SignIn {
    pub email: String,
    pub password: String,
}

/// Where the dashboard is and who may sign in, from the stack file's `dashboard`.
#[derive(Debug, Clone)]
pub struct Site {
    /// `http://127.0.0.1:3000`: what a form's `Origin` must be, and the base of every path.
    pub origin: String,
    /// The seeded operator.
    pub operator: SignIn,
}

impl Site {
    /// Reads the stack file the suite runs against (`LIGHTOTP_STACK_FILE`, as `helpers` does).
    pub fn from_stack() -> Self {
        let path = std::env::var("LIGHTOTP_STACK_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.lightotp/stack.json"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("no stack at {}: {e}", path.display()));
        let stack: Value = serde_json::from_str(&text).expect("stack.json is JSON");
        let text_at = |pointer: &str| {
            stack.pointer(pointer).and_then(Value::as_str).unwrap_or_else(|| panic!("stack.json has no {pointer}"))
        };
        let url = text_at("/dashboard/url").trim_end_matches('/');
        let origin = url.strip_suffix("/dashboard").expect("the dashboard's URL ends with /dashboard").to_owned();
        let operator = SignIn {
            email: text_at("/dashboard/operator/email").to_owned(),
            password: text_at("/dashboard/operator/password").to_owned(),
        };
        Self { origin, operator }
    }
}

/// A response: status, headers and the page's HTML.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// `Location`, for a redirect.
    pub fn location(&self) -> Option<&str> {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok())
    }

    /// A header's value, or "".
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    /// Whether the page shows `text` (as HTML: texts with `'`, `&`, `<` are escaped in the page).
    pub fn shows(&self, text: &str) -> bool {
        self.body.contains(text)
    }

    /// The value of the first `<input … name="{name}" value="…">` (hidden inputs: `csrf`, `plan`, `token`).
    pub fn field(&self, name: &str) -> Option<String> {
        attribute_after(&self.body, &format!("name=\"{name}\""), "value")
    }

    /// The value of the `<input id="{id}" …>` (the new key's read-only input is `new-key`).
    pub fn input_by_id(&self, id: &str) -> Option<String> {
        attribute_after(&self.body, &format!("id=\"{id}\""), "value")
    }

    /// The CSRF token this page's forms carry.
    pub fn csrf(&self) -> Option<String> {
        self.field("csrf")
    }

    /// The body with every CSRF token blanked, for comparing two pages that differ only by their visitor.
    pub fn without_csrf(&self) -> String {
        let mut out = String::with_capacity(self.body.len());
        let mut rest = self.body.as_str();
        let marker = "name=\"csrf\" value=\"";
        while let Some(at) = rest.find(marker) {
            let value_starts = at + marker.len();
            out.push_str(&rest[..value_starts]);
            rest = &rest[value_starts..];
            rest = rest.find('"').map_or("", |end| &rest[end..]);
        }
        out.push_str(rest);
        out
    }

    /// A short description for assertion messages: the status, the `Location` and the text of `<main>`.
    pub fn summary(&self) -> String {
        let main = self.body.split_once("<main>").map_or("", |(_, rest)| rest);
        let main = main.split_once("</main>").map_or(main, |(inside, _)| inside);
        let mut text = String::new();
        let mut in_tag = false;
        for c in main.chars() {
            match c {
                '<' => in_tag = true,
                '>' => {
                    in_tag = false;
                    text.push(' ');
                }
                c if !in_tag => text.push(c),
                _ => {}
            }
        }
        let text: Vec<&str> = text.split_whitespace().collect();
        let text: String = text.join(" ").chars().take(400).collect();
        format!("{} {:?} {text:?}", self.status, self.location())
    }
}

/// The value of `attribute="…"` inside the tag where `marker` first occurs.
fn attribute_after(html: &str, marker: &str, attribute: &str) -> Option<String> {
    let at = html.find(marker)?;
    let tag_start = html[..at].rfind('<')?;
    let tag = &html[tag_start..at + html[at..].find('>')?];
    let needle = format!(" {attribute}=\"");
    let value_start = tag.find(&needle)? + needle.len();
    let value = &tag[value_start..];
    Some(unescape(&value[..value.find('"')?]))
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"").replace("&#x27;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// `application/x-www-form-urlencoded`, as a browser encodes a form.
pub fn form_body(fields: &[(&str, &str)]) -> String {
    fn encode(text: &str) -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => (b as char).to_string(),
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    fields.iter().map(|(name, value)| format!("{}={}", encode(name), encode(value))).collect::<Vec<_>>().join("&")
}

/// One browser: its cookies (the visitor cookie, then the session) and its own source IP, so that its POSTs count
/// against their own per-IP limit.
pub struct Browserless {
    origin: String,
    http: reqwest::Client,
    cookies: Mutex<BTreeMap<String, String>>,
}

impl Browserless {
    /// A new visitor with no cookies, from a random loopback address.
    pub fn new(site: &Site) -> Self {
        let http = reqwest::Client::builder()
            .local_address(random_loopback())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");
        Self { origin: site.origin.clone(), http, cookies: Mutex::new(BTreeMap::new()) }
    }

    /// A browser signed in as `email`; panics unless the sign-in is a `303` with a session cookie.
    pub async fn signed_in(site: &Site, email: &str, password: &str) -> Self {
        let browser = Self::new(site);
        let page = browser.sign_in(email, password).await;
        assert_eq!(page.status, 303, "signing in as {email}: {}", page.summary());
        assert!(browser.cookie("lotp_session").is_some(), "signing in as {email} set no session cookie");
        browser
    }

    /// The seeded operator, signed in.
    pub async fn operator(site: &Site) -> Self {
        Self::signed_in(site, &site.operator.email, &site.operator.password).await
    }

    /// A cookie this browser holds.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar().get(name).cloned()
    }

    fn jar(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        self.cookies.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn cookie_header(&self) -> String {
        self.jar().iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; ")
    }

    /// Keeps the response's cookies (every cookie of the dashboard is `Path=/dashboard`); `Max-Age=0` deletes.
    fn keep_cookies(&self, headers: &HeaderMap) {
        let mut jar = self.jar();
        for set in headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()) {
            let mut parts = set.split(';');
            let Some((name, value)) = parts.next().and_then(|pair| pair.trim().split_once('=')) else {
                continue;
            };
            if parts.any(|attribute| attribute.trim().eq_ignore_ascii_case("Max-Age=0")) {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    async fn finish(&self, request: reqwest::RequestBuilder, what: &str) -> Page {
        let cookies = self.cookie_header();
        let request = if cookies.is_empty() { request } else { request.header(header::COOKIE, cookies) };
        let response = request.send().await.unwrap_or_else(|e| panic!("{what}: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        self.keep_cookies(&headers);
        let body = response.text().await.unwrap_or_else(|e| panic!("{what}: the body: {e}"));
        Page { status, headers, body }
    }

    /// `GET {origin}{path}`.
    pub async fn get(&self, path: &str) -> Page {
        self.finish(self.http.get(format!("{}{path}", self.origin)), &format!("GET {path}")).await
    }

    /// A POST of `body` as a form, with exactly the `headers` given (no `Origin` unless given).
    pub async fn post_raw(&self, path: &str, body: String, headers: &[(&str, &str)]) -> Page {
        let mut request = self
            .http
            .post(format!("{}{path}", self.origin))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.finish(request, &format!("POST {path}")).await
    }

    /// A POST of exactly `fields` (no CSRF token added) from the dashboard's own origin.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let origin = self.origin.clone();
        self.post_raw(path, form_body(fields), &[("origin", &origin)]).await
    }

    /// The CSRF token of this browser's forms, read from a page every visitor and user gets (the forgot-password
    /// form: its language switch, and a signed-in user's sign-out, carry the same token as every other form).
    pub async fn csrf(&self) -> String {
        let page = self.get("/dashboard/forgot").await;
        page.csrf().unwrap_or_else(|| panic!("no CSRF token on /dashboard/forgot: {}", page.summary()))
    }

    /// Sends a form as the dashboard's page would: the CSRF token fetched from a page first, our `Origin`.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf().await;
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(path, &all).await
    }

    /// `POST /dashboard/login`.
    pub async fn sign_in(&self, email: &str, password: &str) -> Page {
        self.post_form("/dashboard/login", &[("email", email), ("password", password)]).await
    }
}

/// A client made by the operator tooling, with a verified owner who signs in with `password`.
pub struct Account {
    pub client_id: String,
    pub email: String,
    pub password: String,
}

impl Account {
    /// A new client named `name`, and its owner's sign-in.
    pub async fn new(ctx: &crate::helpers::Ctx, name: &str) -> Self {
        let email = format!("dash-client-{}@example.com", uuid::Uuid::new_v4().simple());
        let password = format!("Pw-{}", uuid::Uuid::new_v4().simple());
        let client = ctx.admin.create_client(name, &email, "en", None).await.expect("client");
        ctx.admin
            .create_client_user(&client.client_id, &email, &password, time::OffsetDateTime::now_utc())
            .await
            .expect("client user");
        Self { client_id: client.client_id, email, password }
    }

    /// A browser signed in as the owner.
    pub async fn browser(&self, site: &Site) -> Browserless {
        Browserless::signed_in(site, &self.email, &self.password).await
    }
}
