//! The CPU time a handler spends outside its awaits: parsing, validation, hashing, serialization, and the SDK's own
//! work (building, signing and parsing requests), but not the time it waits on the network.
//!
//! A handler's future runs only while it is polled; between polls it waits. `HandlerCpu::measure` wraps the future
//! and adds up the thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`, user and kernel) over its polls, then logs it as
//! `handler_cpu_ns` when the future completes. `cargo xtask bench` turns it on (`LIGHTOTP_HANDLER_CPU=1`) and reads
//! the log lines. Off (the default, and on Lambda), the wrapper polls the future and does nothing else.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use cpu_time::ThreadTime;

/// Whether handlers' CPU time is measured and logged, read once per cold start.
#[derive(Debug, Clone, Copy, Default)]
pub struct HandlerCpu {
    enabled: bool,
}

impl HandlerCpu {
    /// The environment variable that turns measuring on (`1`).
    pub const ENV: &'static str = "LIGHTOTP_HANDLER_CPU";

    /// Measuring on or off.
    pub const fn new(enabled: bool) -> Self {
        Self { enabled }
    }

    /// On when `LIGHTOTP_HANDLER_CPU=1`.
    pub fn from_env() -> Self {
        Self::new(std::env::var(Self::ENV).is_ok_and(|value| value == "1"))
    }

    /// Wraps a handler's future.
    pub fn measure<F: Future>(self, handler: F) -> Measured<F> {
        Measured { handler, spent: self.enabled.then_some(Duration::ZERO) }
    }
}

pin_project_lite::pin_project! {
    /// A handler's future, adding up the CPU time of its polls when measuring is on.
    #[derive(Debug)]
    pub struct Measured<F> {
        #[pin]
        handler: F,
        spent: Option<Duration>,
    }
}

impl<F> Measured<F> {
    /// The CPU time spent in the polls so far; `None` when measuring is off.
    pub fn spent(&self) -> Option<Duration> {
        self.spent
    }
}

impl<F: Future> Future for Measured<F> {
    type Output = F::Output;

    // Never inlined, so that a profiler can count what runs inside a handler's polls by this one symbol
    // (callgrind's `--toggle-collect`, docs/performance.md). One call per poll.
    #[inline(never)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let Some(spent) = this.spent else { return this.handler.poll(cx) };
        let start = ThreadTime::try_now().ok();
        let poll = this.handler.poll(cx);
        if let Some(elapsed) = start.and_then(|start| start.try_elapsed().ok()) {
            *spent += elapsed;
        }
        if poll.is_ready() {
            let nanos = u64::try_from(spent.as_nanos()).unwrap_or(u64::MAX);
            tracing::info!(handler_cpu_ns = nanos, "handler cpu");
        }
        poll
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hint::black_box;

    /// Burns CPU for about `duration` of thread time.
    fn spin(duration: Duration) {
        let start = ThreadTime::now();
        let mut x = 0u64;
        while start.elapsed() < duration {
            x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }

    /// Polled three times: spins 2 ms, yields; sleeps 50 ms (a wait, not CPU); spins 2 ms and completes.
    async fn work_around_a_wait() {
        spin(Duration::from_millis(2));
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        spin(Duration::from_millis(2));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn counts_the_polls_and_not_the_waits() {
        let mut measured = std::pin::pin!(HandlerCpu::new(true).measure(work_around_a_wait()));
        (&mut measured).await;
        let spent = measured.spent().unwrap_or_default();
        assert!(spent >= Duration::from_millis(4), "{spent:?}");
        assert!(spent < Duration::from_millis(40), "the 50 ms sleep was counted: {spent:?}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn off_measures_nothing_and_returns_the_output() {
        let mut measured = std::pin::pin!(HandlerCpu::new(false).measure(async { 7 }));
        assert_eq!((&mut measured).await, 7);
        assert_eq!(measured.spent(), None);
    }
}
