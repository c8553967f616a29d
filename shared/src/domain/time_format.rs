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

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;
    use time::{Duration, UtcOffset};

    use super::*;

    use crate::domain::test_strategies::any_text;

    /// Any instant from year 1 to year 9998, to the nanosecond, seen from any offset.
    fn any_instant() -> impl Strategy<Value = OffsetDateTime> {
        (-62_135_596_800..253_370_764_800i64, 0..1_000_000_000i64, -86_399..=86_399i32).prop_map(
            |(seconds, nanos, offset)| {
                let utc = OffsetDateTime::UNIX_EPOCH + Duration::seconds(seconds) + Duration::nanoseconds(nanos);
                UtcOffset::from_whole_seconds(offset).map_or(utc, |offset| utc.to_offset(offset))
            },
        )
    }

    proptest! {
        #[test]
        fn any_text_is_read_without_panic(raw in prop_oneof![
            any_text(),
            "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,12})?(Z|[+-][0-9]{2}:[0-9]{2})",
        ]) {
            let _ = parse_rfc3339(&raw);
        }

        #[test]
        fn a_written_instant_reads_back_as_itself_truncated_to_the_millisecond(at in any_instant()) {
            let written = rfc3339_millis(at);
            let truncated = at - Duration::nanoseconds(i64::from(at.nanosecond() % 1_000_000));
            prop_assert_eq!(parse_rfc3339(&written), Some(truncated), "{}", written);
        }

        #[test]
        fn an_instant_is_written_in_utc_with_three_fractional_digits_and_z(at in any_instant()) {
            let written = rfc3339_millis(at);
            prop_assert_eq!(written.len(), 24, "{}", written);
            prop_assert!(written.ends_with('Z') && written.as_bytes()[19] == b'.', "{}", written);
        }
    }
}
