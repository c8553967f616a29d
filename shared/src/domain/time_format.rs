//! Timestamps on the wire: RFC 3339, UTC, milliseconds, `Z` (docs/api.md, POST /CheckMessageStatus).

use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::macros::format_description;

const RFC3339_MILLIS: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// `2026-05-14T09:13:42.812Z`: always UTC, always three fractional digits (truncated, never rounded up).
pub fn rfc3339_millis(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC).format(RFC3339_MILLIS).unwrap_or_else(|_| at.unix_timestamp().to_string())
}

/// Reads back what [`rfc3339_millis`] wrote (and any RFC 3339 timestamp).
pub fn parse_rfc3339(raw: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn formats_utc_with_three_fractional_digits_and_z() {
        assert_eq!(rfc3339_millis(datetime!(2026-05-14 09:13:42.812_999 UTC)), "2026-05-14T09:13:42.812Z");
        assert_eq!(rfc3339_millis(datetime!(2026-05-14 12:13:42 +03:00)), "2026-05-14T09:13:42.000Z");
    }

    #[test]
    fn what_is_written_reads_back() {
        let at = datetime!(2026-01-02 03:04:05.678 UTC);
        assert_eq!(parse_rfc3339(&rfc3339_millis(at)), Some(at));
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
