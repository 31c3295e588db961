//! The request headers of the send API: `Idempotency-Key` (IETF Idempotency-Key draft) and
//! `Prefer: wait=N` (RFC 7240).

use std::time::Duration;

use actix_web::http::header::HeaderMap;
use domain::{IdempotencyKey, ValidationError};

use crate::sending::MAX_WAIT;

/// The header's name, also the field a `422` about it names.
pub(super) const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// The `Idempotency-Key` header's key, when there is one.
///
/// The draft makes the value a Structured Field string (`"…"`, RFC 8941); many clients send the
/// bare key instead, so both are accepted: a value in double quotes is read as an sf-string
/// (with its `\"` and `\\` escapes), any other value is the key as it stands. Either way the key
/// then follows `idempotency_key`'s rule.
///
/// # Errors
/// A [`ValidationError`] for `Idempotency-Key` when the header is repeated, is not a valid
/// sf-string, or its key breaks the rule.
pub(super) fn idempotency_key(
    headers: &HeaderMap,
) -> Result<Option<IdempotencyKey>, ValidationError> {
    let mut values = headers.get_all(IDEMPOTENCY_KEY);
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ValidationError::new(IDEMPOTENCY_KEY, "must be sent once"));
    }
    let text = value
        .to_str()
        .map_err(|_| ValidationError::new(IDEMPOTENCY_KEY, "must be printable ASCII"))?;
    let key = match text.strip_prefix('"') {
        Some(quoted) => sf_string(quoted)
            .ok_or_else(|| ValidationError::new(IDEMPOTENCY_KEY, "is not a valid quoted string"))?,
        None => text.to_owned(),
    };
    IdempotencyKey::parse(&key)
        .map(Some)
        .map_err(|error| ValidationError::new(IDEMPOTENCY_KEY, error.reason))
}

/// The rest of an RFC 8941 string after its opening quote: characters up to the closing quote,
/// which must end the value.
fn sf_string(rest: &str) -> Option<String> {
    let mut key = String::with_capacity(rest.len());
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                escaped @ ('"' | '\\') => key.push(escaped),
                _ => return None,
            },
            '"' => return chars.next().is_none().then_some(key),
            ' '..='~' => key.push(c),
            _ => return None,
        }
    }
    None
}

/// How long the client prefers to wait (`Prefer: wait=N`), at most [`MAX_WAIT`]; `None` without
/// the preference, with `wait=0`, or with a value that is not a number of seconds.
///
/// RFC 7240 lets a server ignore a preference, so a malformed one is ignored rather than refused,
/// and a longer wait is shortened to [`MAX_WAIT`] (`Preference-Applied` says what was applied).
/// Preferences may share one header or come in several (`Prefer: respond-async, wait=10`); the
/// first `wait` counts.
pub(super) fn preferred_wait(headers: &HeaderMap) -> Option<Duration> {
    let seconds = headers
        .get_all("prefer")
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|preference| {
            // `name[=value]` before any `;parameters`; the value may be quoted.
            let preference = preference.split(';').next()?.trim();
            let (name, value) = preference.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("wait")
                .then(|| value.trim().trim_matches('"').to_owned())
        })?;
    if seconds.is_empty() || !seconds.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // All digits, so only too big to parse can fail: that is longer than the longest wait too.
    let seconds = seconds.parse::<u64>().unwrap_or(u64::MAX);
    (seconds > 0).then(|| Duration::from_secs(seconds).min(MAX_WAIT))
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_static(name),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn key(value: &str) -> Result<Option<String>, ValidationError> {
        idempotency_key(&headers(&[("idempotency-key", value)]))
            .map(|key| key.map(|key| key.as_str().to_owned()))
    }

    #[test]
    fn keys_may_be_sf_strings_or_bare() {
        assert_eq!(idempotency_key(&HeaderMap::new()), Ok(None));
        assert_eq!(key("order-42").unwrap().as_deref(), Some("order-42"));
        assert_eq!(
            key("\"8e03978e-40d5 x\"").unwrap().as_deref(),
            Some("8e03978e-40d5 x")
        );
        assert_eq!(key(r#""a\"b\\c""#).unwrap().as_deref(), Some(r#"a"b\c"#));
        for bad in ["\"open", "\"a\"b", r#""a\x""#, "\"\"", &"k".repeat(256)] {
            assert_eq!(key(bad).unwrap_err().field, IDEMPOTENCY_KEY, "{bad}");
        }
        let twice = headers(&[("idempotency-key", "a"), ("idempotency-key", "a")]);
        assert_eq!(idempotency_key(&twice).unwrap_err().field, IDEMPOTENCY_KEY);
    }

    #[test]
    fn waits_are_read_leniently_and_capped() {
        let wait = |values: &[&str]| {
            let pairs: Vec<_> = values.iter().map(|value| ("prefer", *value)).collect();
            preferred_wait(&headers(&pairs))
        };
        assert_eq!(wait(&[]), None);
        assert_eq!(wait(&["wait=5"]), Some(Duration::from_secs(5)));
        assert_eq!(
            wait(&["respond-async, Wait=7"]),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            wait(&["handling=lenient", "wait=\"3\""]),
            Some(Duration::from_secs(3))
        );
        assert_eq!(wait(&["wait=2;foo=bar"]), Some(Duration::from_secs(2)));
        assert_eq!(wait(&["wait=31"]), Some(MAX_WAIT));
        assert_eq!(wait(&["wait=99999999999999999999999"]), Some(MAX_WAIT));
        for ignored in [
            "wait=0",
            "wait=",
            "wait=-1",
            "wait=1.5",
            "wait",
            "waiting=5",
        ] {
            assert_eq!(wait(&[ignored]), None, "{ignored}");
        }
    }
}
