//! What a scenario gets: the stack, its screenshots, browser sessions (closed by the runner after the scenario,
//! whether it passed or not), and an HTTP client for the API.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

use crate::driver::CHROMIUM;
use crate::page::Browser;
use crate::shots::Shots;
use crate::stack::{Dashboard, Stack};

/// One scenario's context.
pub struct Ctx {
    pub stack: Stack,
    driver_url: String,
    shots: Arc<Shots>,
    /// Every session opened, with its profile folder, to close and remove after the scenario.
    sessions: Mutex<Vec<(Client, Profile)>>,
    /// A client calling from a loopback address of its own (the API limits requests per source IP; the browser
    /// calls from 127.0.0.1).
    pub http: reqwest::Client,
}

impl Ctx {
    /// The context of the scenario `name`.
    pub fn new(name: &str, stack: &Stack, driver_url: &str) -> Result<Ctx, String> {
        let http = reqwest::Client::builder()
            .local_address(random_loopback())
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Ctx {
            stack: stack.clone(),
            driver_url: driver_url.to_owned(),
            shots: Arc::new(Shots::for_scenario(name)?),
            sessions: Mutex::new(Vec::new()),
            http,
        })
    }

    /// The stack file's `dashboard` section; a scenario fails here when the stack has no dashboard.
    pub fn dashboard(&self) -> &Dashboard {
        match &self.stack.dashboard {
            Some(dashboard) => dashboard,
            None => panic!(
                "the stack file {} has no `dashboard` section: this stack has no dashboard (is it built, and does \
                 `cargo xtask up` seed it?)",
                crate::stack::stack_file().display()
            ),
        }
    }

    /// A new browser session with the browser's default language (English).
    pub async fn browser(&self) -> Browser {
        self.open(None).await
    }

    /// A new browser session whose requests send `Accept-Language: <language>`.
    pub async fn browser_accepting(&self, language: &str) -> Browser {
        self.open(Some(language)).await
    }

    async fn open(&self, language: Option<&str>) -> Browser {
        let profile = Profile::new();
        let mut builder = match ClientBuilder::rustls() {
            Ok(builder) => builder,
            Err(err) => panic!("WebDriver client: {err}"),
        };
        let capabilities = capabilities(&profile.0, language);
        let client = match builder.capabilities(capabilities).connect(&self.driver_url).await {
            Ok(client) => client,
            Err(err) => panic!("starting Chromium through chromedriver at {}: {err}", self.driver_url),
        };
        if let Err(err) = client.set_window_size(1280, 1000).await {
            panic!("sizing the browser window: {err}");
        }
        self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push((client.clone(), profile));
        Browser::new(client, Arc::clone(&self.shots), origin(self.pages_url()))
    }

    /// The dashboard's URL, else (a stack without it) the API's: pages are served by the same gateway.
    fn pages_url(&self) -> &str {
        self.stack.dashboard.as_ref().map_or(&self.stack.api_url, |dashboard| &dashboard.url)
    }

    /// Ends every browser session of the scenario and removes their profiles.
    pub async fn close(self) {
        let sessions = std::mem::take(&mut *self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        for (client, profile) in sessions {
            // A session whose browser already went away cannot be closed: nothing is left to do then.
            let _ = client.close().await;
            drop(profile);
        }
    }
}

/// The session's capabilities: Debian's Chromium with the arguments `shared/guides/browser-tests.md` gives, a fresh
/// profile, and the language it asks pages for when `language` is given.
fn capabilities(profile: &std::path::Path, language: Option<&str>) -> serde_json::Map<String, Value> {
    let mut args: Vec<String> = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    .map(str::to_owned)
    .to_vec();
    args.push(format!("--user-data-dir={}", profile.display()));
    let mut options = json!({ "binary": CHROMIUM, "args": args });
    if let Some(language) = language {
        if let Some(args) = options["args"].as_array_mut() {
            args.push(json!(format!("--lang={language}")));
        }
        options["prefs"] = json!({ "intl": { "accept_languages": language } });
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("browserName".to_owned(), json!("chrome"));
    capabilities.insert("goog:chromeOptions".to_owned(), options);
    capabilities
}

/// `scheme://host:port` of a URL.
fn origin(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}", rest.split('/').next().unwrap_or(rest)),
        None => url.to_owned(),
    }
}

/// A random loopback address other than 127.0.0.1.
fn random_loopback() -> IpAddr {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    IpAddr::V4(Ipv4Addr::new(127, 1 + bytes[0] % 250, 1 + bytes[1] % 250, 1 + bytes[2] % 250))
}

/// A fresh Chromium profile folder, removed when dropped.
struct Profile(PathBuf);

impl Profile {
    fn new() -> Profile {
        Profile(std::env::temp_dir().join(format!("lightotp-browser-{}", uuid::Uuid::new_v4())))
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
