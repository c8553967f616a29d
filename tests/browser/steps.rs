//! Steps several scenarios take, written against the texts of docs/dashboard.md, "Pages".

use crate::page::Browser;

/// Signs in from the sign-in page `/dashboard` shows a visitor; signed in, the page offers `Log out`.
pub async fn sign_in(b: &Browser, email: &str, password: &str) {
    b.goto("/dashboard").await;
    b.fill("Email", email).await;
    b.fill("Password", password).await;
    b.click_button("Log in").await;
    b.expect_button("Log out").await;
}

/// Logs out; `/dashboard` then shows the sign-in page.
pub async fn log_out(b: &Browser) {
    b.click_button("Log out").await;
    b.goto("/dashboard").await;
    b.expect_button("Log in").await;
}

/// Creates an API key named `name` on `API Keys`; returns the key, shown this once.
pub async fn create_key(b: &Browser, name: &str) -> String {
    b.click_link("API Keys").await;
    b.click_button("Add API key").await;
    b.fill("Key name", name).await;
    b.click_button("Create key").await;
    let key = b.value_of("Your new API key").await;
    b.ensure(key.starts_with("lotp_"), "read the new key", &format!("{key:?} is not an API key")).await;
    key
}

/// Rotates the key `key` (named `name`) with the overlap `overlap` (`None`, `1 hour`, …); returns the new key.
pub async fn rotate(b: &Browser, name: &str, key: &str, overlap: &str) -> String {
    b.click_link("API Keys").await;
    b.row_with(&[name, &key_prefix(key)]).await.click_button("Rotate").await;
    b.fill("Overlap", overlap).await;
    b.click_button("Rotate key").await;
    let new_key = b.value_of("Your new API key").await;
    let fresh = new_key.starts_with("lotp_") && new_key != key;
    b.ensure(fresh, "read the rotated key", &format!("{new_key:?} is not a new API key")).await;
    new_key
}

/// Revokes the key `key` (named `name`); its row then says it is revoked.
pub async fn revoke(b: &Browser, name: &str, key: &str) {
    let prefix = key_prefix(key);
    b.click_link("API Keys").await;
    b.row_with(&[name, &prefix]).await.click_button("Revoke").await;
    b.click_link("API Keys").await;
    let row = b.row_with(&[name, &prefix]).await.text().await;
    b.ensure(row.to_lowercase().contains("revoked"), "see the key revoked", &format!("its row reads {row:?}")).await;
}

/// The public prefix the keys list shows of a key: `lotp_<keyId>_`.
pub fn key_prefix(key: &str) -> String {
    let key_id = key.strip_prefix("lotp_").and_then(|rest| rest.split_once('_')).map(|(id, _)| id);
    match key_id {
        Some(id) if !id.is_empty() => format!("lotp_{id}_"),
        _ => panic!("{key:?} is not an API key of the form lotp_<keyId>_<secret>"),
    }
}

/// The number of credits a text states: the number before (or after) a word starting with `credit`, as written
/// (`1,000 credits` gives `1,000`).
pub fn credits_in(text: &str) -> Option<String> {
    let words: Vec<&str> =
        text.split_whitespace().map(|word| word.trim_matches(|c: char| ":(),.".contains(c))).collect();
    let at = words.iter().position(|word| word.to_lowercase().starts_with("credit"))?;
    let before = at.checked_sub(1).and_then(|i| words.get(i)).filter(|word| is_number(word));
    before.or_else(|| words.get(at + 1).filter(|word| is_number(word))).map(|word| (*word).to_owned())
}

/// Digits, perhaps grouped with commas.
fn is_number(word: &str) -> bool {
    word.chars().any(|c| c.is_ascii_digit()) && word.chars().all(|c| c.is_ascii_digit() || c == ',')
}

/// The word that follows `label` in `text` (e.g. the id after `Client ID`), without a leading `:`.
pub fn word_after(text: &str, label: &str) -> Option<String> {
    let (_, rest) = text.split_once(label)?;
    rest.trim_start_matches([':', ' ', '\n', '\t']).split_whitespace().next().map(str::to_owned)
}
