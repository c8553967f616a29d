//! Screenshots: every page a scenario visits, as `<target>/browser-screenshots/<scenario>/<nn>-<what>.png`, so that
//! a person can see what the test saw. The target folder is `$CARGO_TARGET_DIR`, else `target/` in the checkout.

use std::path::PathBuf;
use std::sync::Mutex;

use crate::stack::repo_root;

/// Where every scenario's screenshots go.
pub fn screenshots_root() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo_root().join("target"));
    target.join("browser-screenshots")
}

/// One scenario's screenshots, numbered in the order taken (across all its browser sessions).
#[derive(Debug)]
pub struct Shots {
    dir: PathBuf,
    taken: Mutex<Taken>,
}

#[derive(Debug, Default)]
struct Taken {
    count: usize,
    last: Option<PathBuf>,
}

impl Shots {
    /// A scenario's folder, emptied of an earlier run's screenshots.
    pub fn for_scenario(scenario: &str) -> Result<Shots, String> {
        let dir = screenshots_root().join(scenario);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Shots { dir, taken: Mutex::new(Taken::default()) })
    }

    /// Saves a PNG as the next screenshot, named after `what`; returns its path.
    pub fn save(&self, what: &str, png: &[u8]) -> Result<PathBuf, String> {
        let mut taken = self.taken.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        taken.count += 1;
        let path = self.dir.join(format!("{:02}-{}.png", taken.count, slug(what)));
        std::fs::write(&path, png).map_err(|e| format!("{}: {e}", path.display()))?;
        taken.last = Some(path.clone());
        Ok(path)
    }

    /// The last screenshot saved, for failure messages.
    pub fn last(&self) -> String {
        let taken = self.taken.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match &taken.last {
            Some(path) => path.display().to_string(),
            None => format!("none yet (folder {})", self.dir.display()),
        }
    }
}

/// A file-name-safe form of `what`: lowercase ASCII letters and digits, other runs of characters as one `-`, at most
/// 60 characters.
pub fn slug(what: &str) -> String {
    let mut slug = String::new();
    for c in what.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug: String = slug.trim_end_matches('-').chars().take(60).collect();
    if slug.is_empty() { "page".to_owned() } else { slug }
}
