//! Times as keygate stores and shows them: RFC 3339 UTC with millisecond precision, which sort
//! as text, and the clock in epoch seconds.

use crate::error::{Error, Result};

/// A time as RFC 3339 UTC with millisecond precision (these strings sort as times).
pub fn format_time(t: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".into())
}

/// Current time as RFC 3339 UTC with millisecond precision (sorts as text).
pub fn now() -> String {
    format_time(time::OffsetDateTime::now_utc())
}

/// Seconds since the Unix epoch, now.
pub fn epoch_seconds() -> Result<u64> {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(Error::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_and_sort_as_text() {
        assert!(now().ends_with('Z'));
        let earlier = format_time(time::macros::datetime!(2026-12-07 09:05:00 UTC));
        let later = format_time(time::macros::datetime!(2026-12-07 10:00:00.5 UTC));
        assert_eq!(earlier, "2026-12-07T09:05:00.000Z");
        assert!(earlier < later);
    }
}
