//! Something a cold start need not build: made by its first user, then kept (docs/performance.md, "Init").

use std::fmt;
use std::sync::{Arc, OnceLock};

/// A value built the first time it is needed, then kept for the instance's life; clones share it. Most functions
/// never call SES, SNS or SQS, or WhatsApp, and building an SDK client costs about 0.6 M instructions of a cold start.
pub struct OnFirstUse<T>(Arc<Inner<T>>);

struct Inner<T> {
    value: OnceLock<T>,
    build: Box<dyn Fn() -> T + Send + Sync>,
}

impl<T> OnFirstUse<T> {
    /// A value `build` makes when it is first needed.
    pub fn new(build: impl Fn() -> T + Send + Sync + 'static) -> Self {
        Self(Arc::new(Inner { value: OnceLock::new(), build: Box::new(build) }))
    }

    /// The value, built now if nothing needed it before (once, however many callers race).
    pub fn get(&self) -> &T {
        self.0.value.get_or_init(|| (self.0.build)())
    }

    /// Whether it was built yet.
    pub fn is_built(&self) -> bool {
        self.0.value.get().is_some()
    }
}

impl<T: Clone + Send + Sync + 'static> From<T> for OnFirstUse<T> {
    /// A value made already (tests pass SDK clients that carry interceptors).
    fn from(value: T) -> Self {
        Self::new(move || value.clone())
    }
}

impl<T> Clone for OnFirstUse<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T> fmt::Debug for OnFirstUse<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnFirstUse").field("built", &self.is_built()).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn it_is_built_on_first_use_only_and_once_for_every_clone() {
        let builds = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&builds);
        let client = OnFirstUse::new(move || counted.fetch_add(1, Ordering::SeqCst) + 1);
        let shared = client.clone();
        assert!(!client.is_built());
        assert_eq!(builds.load(Ordering::SeqCst), 0, "nothing built before it is needed");
        assert_eq!(*shared.get(), 1);
        assert_eq!(*client.get(), 1, "the clone sees the value built through the other");
        assert!(client.is_built());
        assert_eq!(builds.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn racing_first_users_build_it_once() {
        let builds = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&builds);
        let client = OnFirstUse::new(move || counted.fetch_add(1, Ordering::SeqCst));
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| *client.get());
            }
        });
        assert_eq!(builds.load(Ordering::SeqCst), 1);
    }
}
