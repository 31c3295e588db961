//! Every Graph API failure becomes one `InstagramError` variant here, and nowhere else
//! (contract §2; the table is in docs/graph-api.md).
//!
//! Three inputs: a transport error (no HTTP answer), an HTTP answer that is an error, and the
//! headers carrying Meta's back-off. Whether a call may be repeated decides what a lost answer
//! means: a send whose request may have left is [`InstagramError::OutcomeUnknown`] (resending
//! could deliver the DM twice), a profile read is simply retried.

use std::time::Duration;

use domain::ports::InstagramError;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::wire::GraphError;

/// Longest error message kept, in characters: Meta's messages can run to several paragraphs and
/// end up in our database, the CRM's `error_message` and logs.
pub const MAX_ERROR_MESSAGE_CHARS: usize = 500;

/// Longest back-off passed on from Meta's headers; a larger value is clamped to it, so a
/// garbled header cannot park a send for months.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// Meta's header with per-business rate-limit usage, including `estimated_time_to_regain_access`
/// in minutes when a business use case is throttled.
const BUSINESS_USE_CASE_USAGE: &str = "x-business-use-case-usage";

/// Graph error codes that are worth retrying later (Meta's "wait and retry" codes):
/// 1 API unknown, 2 API service (temporary, downtime), 4 app-level throttling, 17 user-level
/// throttling, 32 page-level throttling, 341 application limit reached, 368 temporarily blocked
/// for policy violations, 613 custom-level throttling, 80000–80014 business use case rate limits
/// (80002 Instagram, 80006 Messenger among them).
pub fn is_retryable_code(code: i64) -> bool {
    matches!(
        code,
        1 | 2 | 4 | 17 | 32 | 341 | 368 | 613 | 80_000..=80_014
    )
}

/// Graph error code of an invalid, expired or revoked access token.
pub const TOKEN_INVALID_CODE: i64 = 190;

/// Which call failed: it decides what a lost answer means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// `POST me/messages`: not idempotent, at most once toward Meta.
    Send,
    /// `GET {user_id}`: a read, safe to repeat.
    Profile,
}

impl Call {
    /// Name for logs.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Self::Send => "send",
            Self::Profile => "profile",
        }
    }
}

/// The error for a call that got no HTTP answer (or lost it while reading the body).
///
/// A failure to connect (refused, DNS, TLS handshake, connect timeout) happened before any byte
/// of the request was written, so it is always retryable. Anything later (total timeout,
/// connection reset, truncated answer) may have reached Meta.
pub(crate) fn transport_error(
    call: Call,
    error: &reqwest::Error,
    timeout: Duration,
    token: &str,
) -> InstagramError {
    let detail = error_chain(error);
    if error.is_connect() {
        return InstagramError::Retryable {
            code: None,
            message: capped(
                &format!("could not connect to the graph api: {detail}"),
                token,
            ),
            retry_after: None,
        };
    }
    let what = if error.is_timeout() {
        format!(
            "no answer from the graph api within {} ms",
            timeout.as_millis()
        )
    } else {
        format!("the graph api connection failed after the request was sent: {detail}")
    };
    match call {
        Call::Send => InstagramError::OutcomeUnknown {
            message: capped(&format!("{what}; meta may have sent the message"), token),
        },
        Call::Profile => InstagramError::Retryable {
            code: None,
            message: capped(&what, token),
            retry_after: None,
        },
    }
}

/// The error for an HTTP answer that reports one: a non-2xx status, or a 2xx whose body is a
/// Graph error envelope with a code.
///
/// An envelope with a code decides, except that a 5xx stays retryable (Meta's own outages come
/// with varied codes) unless the code is 190. Without a usable envelope the status decides:
/// 5xx and 429 are retryable, anything else is permanent with the HTTP status as its code.
pub(crate) fn response_error(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    token: &str,
) -> InstagramError {
    let graph = GraphError::from_body(body).unwrap_or_default();
    let message = capped(&describe(status, &graph), token);
    let status_retryable = status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS;
    match graph.code {
        Some(TOKEN_INVALID_CODE) => InstagramError::TokenInvalid { message },
        Some(code) if is_retryable_code(code) || status_retryable => InstagramError::Retryable {
            code: Some(code),
            message,
            retry_after: retry_after(headers),
        },
        Some(code) => InstagramError::Permanent {
            code,
            subcode: graph.error_subcode,
            message,
        },
        None if status_retryable => InstagramError::Retryable {
            code: None,
            message,
            retry_after: retry_after(headers),
        },
        None => InstagramError::Permanent {
            code: i64::from(status.as_u16()),
            subcode: None,
            message,
        },
    }
}

/// The back-off Meta asks for: the longer of `Retry-After` (seconds) and the largest
/// `estimated_time_to_regain_access` (minutes) in `X-Business-Use-Case-Usage`, clamped to
/// [`MAX_RETRY_AFTER`]. `None` when neither header gives a positive delay.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let header = headers
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let business = headers
        .get(BUSINESS_USE_CASE_USAGE)
        .and_then(|value| value.to_str().ok())
        .and_then(regain_access_after);
    header
        .into_iter()
        .chain(business)
        .max()
        .filter(|delay| !delay.is_zero())
        .map(|delay| delay.min(MAX_RETRY_AFTER))
}

/// The largest `estimated_time_to_regain_access` (minutes) in an `X-Business-Use-Case-Usage`
/// value: `{"<business id>":[{"type":"instagram","call_count":100,...,
/// "estimated_time_to_regain_access":5}]}`.
fn regain_access_after(header: &str) -> Option<Duration> {
    let usage: serde_json::Value = serde_json::from_str(header).ok()?;
    let minutes = usage
        .as_object()?
        .values()
        .filter_map(serde_json::Value::as_array)
        .flatten()
        .filter_map(|entry| entry.get("estimated_time_to_regain_access"))
        .filter_map(serde_json::Value::as_f64)
        .filter(|minutes| minutes.is_finite() && *minutes > 0.0)
        .fold(0.0_f64, f64::max);
    let cap_minutes = MAX_RETRY_AFTER.as_secs_f64() / 60.0;
    (minutes > 0.0).then(|| Duration::from_secs_f64(minutes.min(cap_minutes) * 60.0))
}

/// What Meta said, with the trace id support asks for; the HTTP status when Meta said nothing.
fn describe(status: StatusCode, graph: &GraphError) -> String {
    let text = graph
        .message
        .as_deref()
        .map(str::trim)
        .filter(|message| !message.is_empty());
    let mut message = match text {
        Some(text) => text.to_owned(),
        None => format!("graph api answered http {}", status.as_u16()),
    };
    if let Some(trace) = graph.fbtrace_id.as_deref().filter(|id| !id.is_empty()) {
        message.push_str(" (fbtrace_id ");
        message.push_str(trace);
        message.push(')');
    }
    message
}

/// `error` and its sources, joined by `": "`, skipping a source that repeats its parent.
fn error_chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut last = text.clone();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let line = cause.to_string();
        if line != last && !last.ends_with(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        last = line;
        source = cause.source();
    }
    text
}

/// `message` with the access token blanked out (should Meta or a proxy ever echo it) and cut to
/// [`MAX_ERROR_MESSAGE_CHARS`] characters, marked with `…` when cut.
pub(crate) fn capped(message: &str, token: &str) -> String {
    let cleaned = if token.is_empty() {
        message.to_owned()
    } else {
        message.replace(token, "[redacted]")
    };
    if cleaned.chars().nth(MAX_ERROR_MESSAGE_CHARS).is_none() {
        return cleaned;
    }
    let mut short: String = cleaned.chars().take(MAX_ERROR_MESSAGE_CHARS - 1).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn classify(status: u16, body: &str) -> InstagramError {
        response_error(
            StatusCode::from_u16(status).unwrap(),
            &HeaderMap::new(),
            body.as_bytes(),
            "tok",
        )
    }

    fn graph(code: i64, subcode: Option<i64>) -> String {
        let subcode = subcode.map_or(String::new(), |s| format!(r#","error_subcode":{s}"#));
        format!(r#"{{"error":{{"message":"m","type":"OAuthException","code":{code}{subcode}}}}}"#)
    }

    #[test]
    fn retryable_codes_are_retryable() {
        for code in [
            1, 2, 4, 17, 32, 341, 368, 613, 80_000, 80_002, 80_006, 80_014,
        ] {
            assert!(
                matches!(classify(400, &graph(code, None)), InstagramError::Retryable { code: Some(c), .. } if c == code),
                "code {code}"
            );
        }
    }

    #[test]
    fn token_and_permanent_codes() {
        assert!(matches!(
            classify(400, &graph(190, Some(463))),
            InstagramError::TokenInvalid { .. }
        ));
        // 190 wins even on a 5xx: retrying with a dead token cannot succeed.
        assert!(matches!(
            classify(500, &graph(190, None)),
            InstagramError::TokenInvalid { .. }
        ));
        for (code, subcode) in [(10, Some(2_018_278)), (100, None), (200, None), (551, None)] {
            match classify(400, &graph(code, subcode)) {
                InstagramError::Permanent {
                    code: c,
                    subcode: s,
                    ..
                } => assert_eq!((c, s), (code, subcode)),
                other => panic!("code {code}: {other:?}"),
            }
        }
        assert!(matches!(
            classify(400, &graph(80_015, None)),
            InstagramError::Permanent { code: 80_015, .. }
        ));
    }

    #[test]
    fn a_5xx_is_retryable_whatever_its_code() {
        assert!(matches!(
            classify(500, &graph(100, None)),
            InstagramError::Retryable {
                code: Some(100),
                ..
            }
        ));
        assert!(matches!(
            classify(503, "oops"),
            InstagramError::Retryable { code: None, .. }
        ));
    }

    #[test]
    fn without_an_envelope_the_status_decides() {
        assert!(matches!(
            classify(429, ""),
            InstagramError::Retryable { code: None, .. }
        ));
        assert!(matches!(
            classify(404, "<html>not found</html>"),
            InstagramError::Permanent {
                code: 404,
                subcode: None,
                ..
            }
        ));
        assert!(matches!(
            classify(400, r#"{"error":{"message":"no code"}}"#),
            InstagramError::Permanent { code: 400, .. }
        ));
    }

    #[test]
    fn messages_carry_the_trace_id_and_fall_back_to_the_status() {
        let error = classify(
            400,
            r#"{"error":{"message":" Bad ","code":100,"fbtrace_id":"AbC"}}"#,
        );
        assert_eq!(
            error.to_string(),
            "graph api error 100: Bad (fbtrace_id AbC)"
        );
        let error = classify(502, "");
        assert_eq!(
            error.to_string(),
            "retryable graph api error: graph api answered http 502"
        );
    }

    #[test]
    fn retry_after_takes_the_longer_of_both_headers() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("30"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(30)));
        headers.insert(
            BUSINESS_USE_CASE_USAGE,
            HeaderValue::from_static(
                r#"{"1784":[{"type":"instagram","call_count":100,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":2},{"type":"messenger","estimated_time_to_regain_access":0}]}"#,
            ),
        );
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(120)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("999999999"));
        assert_eq!(retry_after(&headers), Some(MAX_RETRY_AFTER));
        headers.remove(RETRY_AFTER);
        headers.insert(BUSINESS_USE_CASE_USAGE, HeaderValue::from_static("garbage"));
        assert_eq!(retry_after(&headers), None);
        headers.insert(
            BUSINESS_USE_CASE_USAGE,
            HeaderValue::from_static(r#"{"1":[{"estimated_time_to_regain_access":0}]}"#),
        );
        assert_eq!(retry_after(&headers), None);
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn capped_cuts_on_a_char_boundary_and_redacts_the_token() {
        let long = "é".repeat(MAX_ERROR_MESSAGE_CHARS + 10);
        let short = capped(&long, "tok");
        assert_eq!(short.chars().count(), MAX_ERROR_MESSAGE_CHARS);
        assert!(short.ends_with('…'));
        let exact = "a".repeat(MAX_ERROR_MESSAGE_CHARS);
        assert_eq!(capped(&exact, "tok"), exact);
        assert_eq!(
            capped("bad token sekret123 given", "sekret123"),
            "bad token [redacted] given"
        );
    }
}
