//! A browser session, driven by what a person sees: labels, button and link texts, the page's text and language.
//! Never by CSS classes or ids of the page's own choosing (a `<label for>` is followed, as a screen reader would).
//!
//! Every page the session lands on is screenshotted. A step that fails panics with what it looked for, what the page
//! said, and the screenshot taken at that moment (else the last one).

use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::{Client, Locator};

use crate::shots::Shots;

/// How long a step waits for what it looks for to appear.
const WAIT: Duration = Duration::from_secs(5);
/// How often it looks again meanwhile.
const POLL: Duration = Duration::from_millis(100);

/// One browser session (one Chromium with its own profile).
pub struct Browser {
    client: Client,
    shots: Arc<Shots>,
    /// `scheme://host:port` that [`Browser::goto`]'s paths are resolved against: the dashboard's.
    origin: String,
}

/// Part of a page that a step looks in: the whole page, a table row, a form, an article.
pub struct Scope<'a> {
    browser: &'a Browser,
    /// `None`: the whole document.
    root: Option<Element>,
    /// What the part is, for failure messages.
    name: String,
}

impl Browser {
    /// Wraps a session; `origin` is what [`Browser::goto`] puts before a path.
    pub fn new(client: Client, shots: Arc<Shots>, origin: String) -> Browser {
        Browser { client, shots, origin }
    }

    /// Opens `path` (e.g. `/dashboard/keys`) on the dashboard's origin, and screenshots it.
    pub async fn goto(&self, path: &str) {
        let url = format!("{}{path}", self.origin);
        self.goto_url(&url).await;
    }

    /// Opens a whole URL (an emailed link, another part of the stack), and screenshots it.
    pub async fn goto_url(&self, url: &str) {
        let step = format!("open {url}");
        let opened = self.client.goto(url).await.map_err(wd);
        self.or_fail(&step, opened).await;
        self.shoot(&format!("goto {}", page_name(url))).await;
    }

    /// The whole page, to look in.
    pub fn page(&self) -> Scope<'_> {
        Scope { browser: self, root: None, name: "on the page".to_owned() }
    }

    /// Types `value` into the input or textarea whose `<label>` reads `label` (or picks the option `value` of such a
    /// select).
    pub async fn fill(&self, label: &str, value: &str) {
        self.page().fill(label, value).await;
    }

    /// Ticks the checkbox whose `<label>` reads `label` (nothing when it is ticked already).
    pub async fn tick(&self, label: &str) {
        self.page().tick(label).await;
    }

    /// Whether the checkbox whose `<label>` reads `label` is ticked.
    pub async fn is_ticked(&self, label: &str) -> bool {
        self.page().is_ticked(label).await
    }

    /// Clicks the button (or submit input) that reads exactly `text`, and screenshots the page it leads to.
    pub async fn click_button(&self, text: &str) {
        self.page().click_button(text).await;
    }

    /// Clicks the link that reads exactly `text`, and screenshots the page it leads to.
    pub async fn click_link(&self, text: &str) {
        self.page().click_link(text).await;
    }

    /// The value of the input whose `<label>` reads `label` (e.g. the read-only `Your new API key`).
    pub async fn value_of(&self, label: &str) -> String {
        self.page().value_of(label).await
    }

    /// Whether a button reading exactly `text` is on the page now (no waiting).
    pub async fn has_button(&self, text: &str) -> bool {
        let buttons = self.client.find_all(Locator::XPath(&button_xpath(text))).await;
        buttons.is_ok_and(|found| !found.is_empty())
    }

    /// Waits until a button reading exactly `text` is on the page.
    pub async fn expect_button(&self, text: &str) {
        let found = self.page().find(&format!("button {text:?}"), &button_xpath(text)).await.map(|_| ());
        self.or_fail(&format!("expect the button {text:?}"), found).await;
    }

    /// Fails the step `what` unless `ok`, saying `detail`.
    pub async fn ensure(&self, ok: bool, what: &str, detail: &str) {
        if !ok {
            self.or_fail::<()>(what, Err(detail.to_owned())).await;
        }
    }

    /// The page's visible text.
    pub async fn text_of_page(&self) -> String {
        let text = self.try_text().await;
        self.or_fail("read the page's text", text).await
    }

    async fn try_text(&self) -> Result<String, String> {
        async { self.client.find(Locator::Css("body")).await?.text().await }.await.map_err(wd)
    }

    /// The `lang` and `dir` of `<html>` (empty when absent).
    pub async fn html_lang_dir(&self) -> (String, String) {
        let read = async {
            let html = self.client.find(Locator::XPath("/html")).await?;
            Ok::<_, CmdError>((
                html.attr("lang").await?.unwrap_or_default(),
                html.attr("dir").await?.unwrap_or_default(),
            ))
        };
        let lang_dir = read.await.map_err(wd);
        self.or_fail("read <html lang dir>", lang_dir).await
    }

    /// Waits until the page's text contains `text`; fails showing what the page says instead.
    pub async fn expect_text(&self, text: &str) {
        let started = Instant::now();
        loop {
            // A page being replaced cannot be read: look again.
            let page = self.try_text().await.unwrap_or_default();
            if page.contains(text) {
                return;
            }
            if started.elapsed() > WAIT {
                let shown: String = page.chars().take(600).collect();
                let step = format!("expect the text {text:?}");
                self.or_fail::<()>(&step, Err(format!("not on the page, which reads:\n{shown}"))).await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The current URL.
    pub async fn current_url(&self) -> String {
        let url = self.client.current_url().await.map(|url| url.to_string()).map_err(wd);
        self.or_fail("read the current URL", url).await
    }

    /// The first table row (`<tr>`) containing every one of `texts`.
    pub async fn row_with(&self, texts: &[&str]) -> Scope<'_> {
        let all = texts.iter().map(|text| format!("contains(., {})", literal(text))).collect::<Vec<_>>().join(" and ");
        self.page().part(&format!("row with {texts:?}"), &format!(".//tr[{all}]")).await
    }

    /// The form holding the button that reads `button` (for pages with several forms).
    pub async fn form_with_button(&self, button: &str) -> Scope<'_> {
        self.page().part(&format!("form with button {button:?}"), &format!(".//form[{}]", button_xpath(button))).await
    }

    /// The first `<article>` holding the button that reads `button` (e.g. the first plan on offer).
    pub async fn article_with_button(&self, button: &str) -> Scope<'_> {
        self.page()
            .part(&format!("article with button {button:?}"), &format!("(.//article[{}])[1]", button_xpath(button)))
            .await
    }

    /// Saves a screenshot of the page as it is now, once it has loaded.
    pub async fn shoot(&self, what: &str) {
        self.settle().await;
        let saved = match self.client.screenshot().await {
            Ok(png) => self.shots.save(what, &png),
            Err(err) => Err(wd(err)),
        };
        if let Err(err) = saved {
            panic!("screenshot {what:?}: {err} (last screenshot: {})", self.shots.last());
        }
    }

    /// Waits (briefly) until the document has loaded, after a click that navigates.
    async fn settle(&self) {
        let started = Instant::now();
        while started.elapsed() < WAIT {
            let state = self.client.execute("return document.readyState", vec![]).await;
            if state.is_ok_and(|state| state == "complete") {
                return;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The step's result, or a panic naming the step, the error and a screenshot of the page at that moment.
    pub async fn or_fail<T>(&self, step: &str, result: Result<T, String>) -> T {
        match result {
            Ok(value) => value,
            Err(err) => {
                let shot = match self.client.screenshot().await {
                    Ok(png) => self.shots.save(&format!("failed {step}"), &png).map(|path| path.display().to_string()),
                    Err(err) => Err(wd(err)),
                };
                let shot = shot.unwrap_or_else(|shot_err| {
                    format!("none at the failure ({shot_err}); the last one: {}", self.shots.last())
                });
                panic!("step failed: {step}: {err}\n  url: {}\n  screenshot: {shot}", self.url_or_unknown().await);
            }
        }
    }

    async fn url_or_unknown(&self) -> String {
        self.client.current_url().await.map_or_else(|_| "unknown".to_owned(), |url| url.to_string())
    }
}

impl<'a> Scope<'a> {
    /// Types `value` into the control labelled `label` in this part (see [`Browser::fill`]).
    pub async fn fill(&self, label: &str, value: &str) {
        let step = format!("fill {label:?} with {value:?} {}", self.name);
        let filled = self.try_fill(label, value).await;
        self.browser.or_fail(&step, filled).await;
    }

    async fn try_fill(&self, label: &str, value: &str) -> Result<(), String> {
        let control = self.control(label).await?;
        let tag = control.tag_name().await.map_err(wd)?;
        if tag.eq_ignore_ascii_case("select") {
            let option = format!(".//option[normalize-space(.)={0} or @value={0}]", literal(value));
            let option =
                control.find(Locator::XPath(&option)).await.map_err(|e| format!("no option {value:?}: {e}"))?;
            option.click().await.map_err(wd)
        } else {
            control.clear().await.map_err(wd)?;
            control.send_keys(value).await.map_err(wd)
        }
    }

    /// Ticks the checkbox labelled `label` in this part, unless it is ticked.
    pub async fn tick(&self, label: &str) {
        let step = format!("tick {label:?} {}", self.name);
        let ticked = async {
            let control = self.control(label).await?;
            if control.is_selected().await.map_err(wd)? { Ok(()) } else { control.click().await.map_err(wd) }
        }
        .await;
        self.browser.or_fail(&step, ticked).await;
    }

    /// Whether the checkbox labelled `label` in this part is ticked.
    pub async fn is_ticked(&self, label: &str) -> bool {
        let step = format!("see whether {label:?} is ticked {}", self.name);
        let ticked = async { self.control(label).await?.is_selected().await.map_err(wd) }.await;
        self.browser.or_fail(&step, ticked).await
    }

    /// Clicks the button reading exactly `text` in this part, and screenshots the page it leads to.
    pub async fn click_button(&self, text: &str) {
        let step = format!("click the button {text:?} {}", self.name);
        let clicked = self.click(&format!("button {text:?}"), &button_xpath(text)).await;
        self.browser.or_fail(&step, clicked).await;
        self.browser.shoot(&format!("after {text}")).await;
    }

    /// Clicks the link reading exactly `text` in this part, and screenshots the page it leads to.
    pub async fn click_link(&self, text: &str) {
        let step = format!("click the link {text:?} {}", self.name);
        let clicked =
            self.click(&format!("link {text:?}"), &format!(".//a[normalize-space(.)={}]", literal(text))).await;
        self.browser.or_fail(&step, clicked).await;
        self.browser.shoot(&format!("after {text}")).await;
    }

    async fn click(&self, what: &str, xpath: &str) -> Result<(), String> {
        self.find(what, xpath).await?.click().await.map_err(wd)
    }

    /// The value of the control labelled `label` in this part.
    pub async fn value_of(&self, label: &str) -> String {
        let step = format!("read the value of {label:?} {}", self.name);
        let value = async { self.control(label).await?.prop("value").await.map_err(wd) }.await;
        self.browser.or_fail(&step, value).await.unwrap_or_default()
    }

    /// This part's visible text.
    pub async fn text(&self) -> String {
        let text = match &self.root {
            Some(root) => root.text().await.map_err(wd),
            None => self.browser.try_text().await,
        };
        self.browser.or_fail(&format!("read the text {}", self.name), text).await
    }

    /// A part of this part, found by `xpath` (relative: `.//…`), waiting for it to appear.
    async fn part(&self, name: &str, xpath: &str) -> Scope<'a> {
        let step = format!("find the {name} {}", self.name);
        let found = self.find(name, xpath).await;
        let root = self.browser.or_fail(&step, found).await;
        Scope { browser: self.browser, root: Some(root), name: format!("in the {name}") }
    }

    /// The input, select or textarea of the `<label>` reading `label`: the one its `for` names, else the one inside
    /// it.
    async fn control(&self, label: &str) -> Result<Element, String> {
        let text = literal(label);
        let xpath = format!(".//label[normalize-space(.)={text} or text()[normalize-space(.)={text}]]");
        let label_element = self.find(&format!("label {label:?}"), &xpath).await?;
        match label_element.attr("for").await.map_err(wd)? {
            Some(id) if !id.is_empty() => self
                .browser
                .client
                .find(Locator::Id(&id))
                .await
                .map_err(|e| format!("the label {label:?} is for #{id}, which is missing: {e}")),
            _ => label_element
                .find(Locator::XPath(".//input | .//select | .//textarea"))
                .await
                .map_err(|e| format!("the label {label:?} has no `for` and no control inside: {e}")),
        }
    }

    /// The first element matching `xpath` in this part, preferring one that is displayed; waits up to [`WAIT`].
    async fn find(&self, what: &str, xpath: &str) -> Result<Element, String> {
        let started = Instant::now();
        loop {
            let found = match &self.root {
                Some(root) => root.find_all(Locator::XPath(xpath)).await,
                None => self.browser.client.find_all(Locator::XPath(xpath)).await,
            };
            // A page still being replaced answers with errors (stale elements): look again.
            let found = found.unwrap_or_default();
            for element in &found {
                if element.is_displayed().await.unwrap_or(false) {
                    return Ok(element.clone());
                }
            }
            if let Some(first) = found.into_iter().next() {
                return Ok(first);
            }
            if started.elapsed() > WAIT {
                return Err(format!("no {what} {} within {} s", self.name, WAIT.as_secs()));
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// What a screenshot of `url` is named after: its path without the query (`dashboard/verify`), or its scheme (`data`).
fn page_name(url: &str) -> &str {
    match url.split_once("://") {
        Some((_, rest)) => {
            let path = rest.split_once('/').map_or("", |(_, path)| path);
            path.split(['?', '#']).next().unwrap_or(path)
        }
        None => url.split(':').next().unwrap_or(url),
    }
}

/// A button reading exactly `text`: a `<button>`, or an `<input>` of type submit or button.
fn button_xpath(text: &str) -> String {
    let text = literal(text);
    format!(
        ".//button[normalize-space(.)={text}] | .//input[(@type='submit' or @type='button') and \
         normalize-space(@value)={text}]"
    )
}

/// `text` as an XPath string literal, whatever quotes it holds.
pub fn literal(text: &str) -> String {
    if !text.contains('\'') {
        format!("'{text}'")
    } else if !text.contains('"') {
        format!("\"{text}\"")
    } else {
        let parts: Vec<String> = text.split('\'').map(|part| format!("'{part}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

/// A WebDriver error as text.
fn wd(err: CmdError) -> String {
    err.to_string()
}
