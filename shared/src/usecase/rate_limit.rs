//! The per-IP rate limit (docs/api.md, Rate limit): counted before authentication, across the four API endpoints
//! (not the webhook), from API Gateway's source IP only.

use crate::deps::Deps;
use crate::domain::rate_limit::{seconds_left, window_of};
use crate::http::ApiError;

/// Counts the request; refuses it with `429 TooManyRequests` once its IP has used up this minute.
pub async fn admit(deps: &Deps, source_ip: Option<&str>) -> Result<(), ApiError> {
    // Outside API Gateway (never in production) every request shares one counter rather than going uncounted.
    let ip = source_ip.unwrap_or("unknown");
    let now = deps.clock.now().unix_timestamp();
    if deps.store.count_request(ip, window_of(now), deps.config.rate_limit_per_minute).await? {
        Ok(())
    } else {
        Err(ApiError::TooManyRequests { retry_after: seconds_left(now) })
    }
}
