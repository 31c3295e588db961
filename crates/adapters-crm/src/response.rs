//! What igrouter keeps of a CRM's answer: a short excerpt of the body for the attempt log, and
//! `Retry-After` as a delay.

use std::time::{Duration, UNIX_EPOCH};

use domain::Timestamp;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Most bytes of an answer body read. The excerpt needs half of it; the rest is left unread so a
/// CRM that answers with megabytes (or an endless stream) costs neither memory nor time.
pub(crate) const MAX_BODY_READ: usize = 1024;

/// Longest excerpt kept, in bytes of UTF-8.
pub(crate) const MAX_EXCERPT_BYTES: usize = 512;

/// The first at most [`MAX_EXCERPT_BYTES`] bytes of `body` as text: invalid UTF-8 becomes U+FFFD
/// and the cut falls on a character boundary, so the excerpt never ends in half a character.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let mut text = String::from_utf8_lossy(body).into_owned();
    let mut end = text.len().min(MAX_EXCERPT_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text
}

/// `Retry-After` as a delay: delta-seconds as given, an HTTP-date as the time from `sent_at` (the
/// attempt's start) to that date.
///
/// Measuring from the attempt's start rather than from when the answer came makes the delay, if
/// anything, longer than the CRM asked for, never shorter, and keeps it a function of the
/// service's clock. A date before `sent_at`, a negative or malformed value, or none at all is
/// `None`.
pub(crate) fn retry_after(headers: &HeaderMap, sent_at: Timestamp) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if value.bytes().all(|byte| byte.is_ascii_digit()) {
        // Too many digits for a u64 is not a delay anyone means: treated as malformed.
        return value.parse().ok().map(Duration::from_secs);
    }
    let date = httpdate::parse_http_date(value).ok()?;
    let sent_millis = u64::try_from(sent_at.as_millis()).ok()?;
    let sent = UNIX_EPOCH.checked_add(Duration::from_millis(sent_millis))?;
    date.duration_since(sent).ok()
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use reqwest::header::HeaderValue;

    use super::*;

    fn system_time(at: Timestamp) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(u64::try_from(at.as_millis()).unwrap())
    }

    const SENT_AT: Timestamp = Timestamp::from_millis(1_763_202_600_000);

    fn with_retry_after(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn delta_seconds_are_taken_as_given() {
        assert_eq!(
            retry_after(&with_retry_after("7"), SENT_AT),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(&with_retry_after(" 120 "), SENT_AT),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            retry_after(&with_retry_after("0"), SENT_AT),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn an_http_date_counts_from_the_attempt_start() {
        let in_two_minutes =
            httpdate::fmt_http_date(system_time(SENT_AT) + Duration::from_secs(120));
        assert_eq!(
            retry_after(&with_retry_after(&in_two_minutes), SENT_AT),
            Some(Duration::from_secs(120))
        );
        // 2025-11-15T10:30:00Z is SENT_AT; the obsolete RFC 850 and asctime forms are accepted
        // as RFC 9110 asks of recipients.
        for same in [
            "Sat, 15 Nov 2025 10:30:00 GMT",
            "Saturday, 15-Nov-25 10:30:00 GMT",
            "Sat Nov 15 10:30:00 2025",
        ] {
            assert_eq!(
                retry_after(&with_retry_after(same), SENT_AT),
                Some(Duration::ZERO),
                "{same}"
            );
        }
    }

    #[test]
    fn past_negative_and_malformed_values_are_none() {
        assert_eq!(retry_after(&HeaderMap::new(), SENT_AT), None);
        for value in [
            "-5",
            "+5",
            "5.5",
            "",
            "soon",
            "99999999999999999999999",
            "Sat, 15 Nov 2025 10:29:59 GMT",
            "Sat, 15 Nov 2025 25:00:00 GMT",
        ] {
            assert_eq!(
                retry_after(&with_retry_after(value), SENT_AT),
                None,
                "{value:?}"
            );
        }
    }

    #[test]
    fn the_excerpt_is_short_and_cut_on_a_char_boundary() {
        assert_eq!(excerpt(b""), "");
        assert_eq!(excerpt(b"{\"ok\":false}"), "{\"ok\":false}");

        // 'é' is two bytes: 511 bytes of ASCII then 'é' would end at 513, so it is left out.
        let body = format!("{}é and more", "a".repeat(511));
        assert_eq!(excerpt(body.as_bytes()), "a".repeat(511));

        let body = "👋".repeat(300);
        let cut = excerpt(body.as_bytes());
        assert_eq!(cut, "👋".repeat(128));
        assert_eq!(cut.len(), MAX_EXCERPT_BYTES);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_refused() {
        assert_eq!(excerpt(b"bad \xff\xfe body"), "bad \u{fffd}\u{fffd} body");
        // A body read up to the limit may end in half a character; that part is never kept.
        let mut body = "x".repeat(MAX_BODY_READ - 1).into_bytes();
        body.push(0xf0);
        assert_eq!(excerpt(&body), "x".repeat(MAX_EXCERPT_BYTES));
    }
}
