//! The per-IP rate limit (docs/api.md, Rate limit): counted before authentication, across the four API endpoints
//! (not the webhook), from API Gateway's source IP only.

use crate::deps::Deps;
use crate::domain::rate_limit::{seconds_left, window_of};
use crate::store::StoreError;

/// Why a request was not admitted. Each API surface answers it in its own words (`api::lightotp`, `api::verify`).
#[derive(Debug, thiserror::Error)]
pub enum NotAdmitted {
    /// The source IP used up this minute's requests.
    #[error("rate limit reached; retry in {retry_after} s")]
    RateLimited {
        /// Seconds until the window ends.
        retry_after: u64,
    },
    /// The counter could not be written: the limit fails closed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Counts the request; refuses it once its IP has used up this minute.
pub async fn admit(deps: &Deps, source_ip: Option<&str>) -> Result<(), NotAdmitted> {
    // Outside API Gateway (never in production) every request shares one counter rather than going uncounted.
    let ip = source_ip.unwrap_or("unknown");
    let now = deps.clock.now().unix_timestamp();
    if deps.store.count_request(ip, window_of(now), deps.config.rate_limit_per_minute).await? {
        Ok(())
    } else {
        Err(NotAdmitted::RateLimited { retry_after: seconds_left(now) })
    }
}
