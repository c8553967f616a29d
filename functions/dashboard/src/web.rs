//! The dashboard's HTTP edge: reading a request (path, query, form, cookies, language) and writing a response
//! (an HTML page with the security headers, a redirect, cookies). Nothing here knows a page or a use case.

use std::collections::HashMap;

use lambda_http::http::header::{self, HeaderValue};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use lightotp::domain::language::HumanLanguage;
use subtle::ConstantTimeEq;

/// The most a form may send (a note is at most 500 characters; this leaves room for every field, escaped).
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// The session cookie's name over plain HTTP (the local stack).
pub const SESSION_COOKIE: &str = "lotp_session";
/// The session cookie's name over HTTPS: the `__Host-` prefix pins it to this host, `Secure` and `Path=/`.
pub const SECURE_SESSION_COOKIE: &str = "__Host-lotp_session";
/// The visitor cookie that the CSRF token of signed-out forms is tied to.
pub const VISITOR_COOKIE: &str = "lotp_visitor";
/// A visitor's chosen page language.
pub const LANGUAGE_COOKIE: &str = "lotp_lang";

/// `Content-Security-Policy` of every page: nothing inline, nothing from elsewhere, no framing.
pub const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What a handler knows of a request.
#[derive(Debug)]
pub struct Visit {
    /// GET, POST, …
    pub method: Method,
    /// The path's segments after `/dashboard` (`["keys", "new"]`; empty for `/dashboard`).
    pub segments: Vec<String>,
    /// The query string's fields (first value of each).
    pub query: HashMap<String, String>,
    /// A POST's form fields (first value of each); `None` when the body is too large or not a form.
    pub form: Option<HashMap<String, String>>,
    /// Cookies by name.
    pub cookies: HashMap<String, String>,
    /// From the `lotp_lang` cookie, else `Accept-Language` (q-values honoured).
    pub language: HumanLanguage,
    /// `Origin`, else `Referer`.
    pub origin: Option<String>,
    /// API Gateway's source IP.
    pub source_ip: Option<String>,
}

impl Visit {
    /// Reads everything a handler may need; never fails (a malformed part is simply absent).
    pub fn read(request: &Request) -> Self {
        let path = request.uri().path();
        let rest = path.strip_prefix("/dashboard").unwrap_or(path);
        let segments = rest.split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect();
        let query = request.uri().query().map(parse_pairs).unwrap_or_default();
        let cookies: HashMap<String, String> = request
            .headers()
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|line| line.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let accept = request.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
        let language = match cookies.get(LANGUAGE_COOKIE).map(String::as_str) {
            Some("ar") => HumanLanguage::Ar,
            Some("en") => HumanLanguage::En,
            _ => HumanLanguage::from_accept_language(accept),
        };
        let form = (request.method() == Method::POST).then(|| read_form(request)).flatten();
        let header_text = |name: header::HeaderName| request.headers().get(name).and_then(|v| v.to_str().ok());
        let origin = header_text(header::ORIGIN).or_else(|| header_text(header::REFERER)).map(str::to_owned);
        Self {
            method: request.method().clone(),
            segments,
            query,
            form,
            cookies,
            language,
            origin,
            source_ip: lightotp::http::source_ip(request).map(str::to_owned),
        }
    }

    /// The path's segments as `&str`s, for matching.
    pub fn route(&self) -> Vec<&str> {
        self.segments.iter().map(String::as_str).collect()
    }

    /// A form field (empty when absent).
    pub fn field(&self, name: &str) -> &str {
        self.form.as_ref().and_then(|form| form.get(name)).map_or("", String::as_str)
    }

    /// A query field (empty when absent).
    pub fn param(&self, name: &str) -> &str {
        self.query.get(name).map_or("", String::as_str)
    }

    /// Whether the request came from the dashboard's own pages: its `Origin` (or, lacking one, its `Referer`) is
    /// the dashboard's origin.
    pub fn same_origin(&self, origin: &str) -> bool {
        self.origin.as_deref().is_some_and(|seen| seen == origin || seen.starts_with(&format!("{origin}/")))
    }

    /// Whether the form's `csrf` field is `expected` (compared in constant time).
    pub fn csrf_matches(&self, expected: &str) -> bool {
        let given = self.field("csrf");
        !given.is_empty() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
    }
}

fn parse_pairs(raw: &str) -> HashMap<String, String> {
    let mut pairs = HashMap::new();
    for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
        pairs.entry(name.into_owned()).or_insert_with(|| value.into_owned());
    }
    pairs
}

fn read_form(request: &Request) -> Option<HashMap<String, String>> {
    let bytes = lightotp::http::raw_body(request);
    if bytes.len() > MAX_FORM_BYTES {
        return None;
    }
    Some(form_urlencoded::parse(bytes).fold(HashMap::new(), |mut pairs, (name, value)| {
        pairs.entry(name.into_owned()).or_insert_with(|| value.into_owned());
        pairs
    }))
}

/// A response being built: status, body and cookies.
#[derive(Debug)]
pub struct Reply {
    status: StatusCode,
    body: Option<String>,
    location: Option<String>,
    cookies: Vec<String>,
    no_store: bool,
    retry_after: Option<u64>,
}

impl Reply {
    /// An HTML page.
    pub fn page(status: StatusCode, html: String) -> Self {
        Self { status, body: Some(html), location: None, cookies: Vec::new(), no_store: false, retry_after: None }
    }

    /// `303 See Other` to `location` (after a POST, or to the sign-in page).
    pub fn redirect(location: impl Into<String>) -> Self {
        Self {
            status: StatusCode::SEE_OTHER,
            body: None,
            location: Some(location.into()),
            cookies: Vec::new(),
            no_store: false,
            retry_after: None,
        }
    }

    /// A static asset, cached for a day.
    pub fn asset(content_type: &'static str, text: &'static str) -> Response<Body> {
        let mut response = Response::new(Body::Text(text.to_owned()));
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        response
    }

    /// Adds a `Set-Cookie`.
    pub fn cookie(mut self, cookie: String) -> Self {
        self.cookies.push(cookie);
        self
    }

    /// Marks a page that shows a secret: `Cache-Control: no-store`.
    pub fn no_store(mut self) -> Self {
        self.no_store = true;
        self
    }

    /// Adds `Retry-After`.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The response, with the security headers every page carries.
    pub fn into_response(self) -> Response<Body> {
        let mut response = Response::new(self.body.map_or(Body::Empty, Body::Text));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        let cache = if self.no_store { "no-store" } else { "private, no-cache" };
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        if let Some(location) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            headers.insert(header::LOCATION, location);
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        for cookie in self.cookies {
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                headers.append(header::SET_COOKIE, value);
            }
        }
        response
    }
}

/// How cookies are written: over HTTPS `Secure`, and the session under the `__Host-` name at `Path=/` (the prefix
/// requires it); over plain HTTP (the local stack) at `Path=/dashboard`.
#[derive(Debug, Clone, Copy)]
pub struct CookiePolicy {
    /// Served over HTTPS.
    pub secure: bool,
}

impl CookiePolicy {
    /// The session cookie's name.
    pub fn session_name(self) -> &'static str {
        if self.secure { SECURE_SESSION_COOKIE } else { SESSION_COOKIE }
    }

    fn attributes(self, max_age: Option<i64>) -> String {
        let path = if self.secure { "/" } else { "/dashboard" };
        let secure = if self.secure { "; Secure" } else { "" };
        let age = max_age.map(|s| format!("; Max-Age={s}")).unwrap_or_default();
        format!("Path={path}; HttpOnly; SameSite=Lax{secure}{age}")
    }

    /// A cookie that lasts the browser session (the server decides when a session ends).
    pub fn set(self, name: &str, value: &str) -> String {
        format!("{name}={value}; {}", self.attributes(None))
    }

    /// A cookie kept for a year (the language choice).
    pub fn keep(self, name: &str, value: &str) -> String {
        format!("{name}={value}; {}", self.attributes(Some(365 * 24 * 3600)))
    }

    /// Deletes a cookie.
    pub fn clear(self, name: &str) -> String {
        format!("{name}=; {}", self.attributes(Some(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_http_only_lax_and_host_bound_over_https() {
        let https = CookiePolicy { secure: true };
        assert_eq!(
            https.set(https.session_name(), "t"),
            "__Host-lotp_session=t; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
        let http = CookiePolicy { secure: false };
        assert_eq!(http.set(http.session_name(), "t"), "lotp_session=t; Path=/dashboard; HttpOnly; SameSite=Lax");
        assert!(http.clear("lotp_session").ends_with("Max-Age=0"));
    }

    #[test]
    fn every_page_carries_the_security_headers() {
        let response = Reply::page(StatusCode::OK, "<p>x</p>".to_owned()).no_store().into_response();
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(header("content-security-policy").contains("frame-ancestors 'none'"));
        assert!(!header("content-security-policy").contains("unsafe-inline"));
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("referrer-policy"), "same-origin");
        assert_eq!(header("cache-control"), "no-store");
    }

    #[test]
    fn a_request_from_another_origin_is_not_ours() {
        let visit = |origin: &str| Visit {
            method: Method::POST,
            segments: Vec::new(),
            query: HashMap::new(),
            form: Some(HashMap::from([("csrf".to_owned(), "abc".to_owned())])),
            cookies: HashMap::new(),
            language: HumanLanguage::En,
            origin: Some(origin.to_owned()),
            source_ip: None,
        };
        assert!(visit("http://127.0.0.1:3000").same_origin("http://127.0.0.1:3000"));
        assert!(visit("http://127.0.0.1:3000/dashboard/keys").same_origin("http://127.0.0.1:3000"));
        assert!(!visit("http://127.0.0.1:30001").same_origin("http://127.0.0.1:3000"));
        assert!(!visit("https://evil.example").same_origin("http://127.0.0.1:3000"));
        assert!(visit("x").csrf_matches("abc"));
        assert!(!visit("x").csrf_matches("abd"));
    }
}
