//! The request id (`X-Request-Id`) that follows a request into the work it causes: the CRM
//! deliveries a webhook queues and the Graph API calls of a send.

use std::fmt;

use crate::ValidationError;

/// The header that carries a request id: on igrouter's requests and answers, on every CRM
/// delivery attempt and on every Graph API call a send makes. Lowercase, as HTTP/2 writes it.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Longest request id accepted from a caller; longer ones are replaced by a generated id.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// Bytes of entropy in a generated request id (one character each).
pub const REQUEST_ID_ENTROPY_LEN: usize = 16;

/// Crockford's base-32 alphabet in lowercase, as igrouter's other ids use.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A request id: 1 to [`MAX_REQUEST_ID_LEN`] visible ASCII characters (`!` to `~`), so it is
/// safe in a header, a log line and a database column as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestId(String);

impl RequestId {
    /// The prefix of the ids igrouter generates.
    pub const PREFIX: &'static str = "req_";

    /// Checks `value` is 1 to [`MAX_REQUEST_ID_LEN`] visible ASCII characters.
    ///
    /// # Errors
    /// A [`ValidationError`] for `X-Request-Id` when it is empty, too long, or holds a space, a
    /// control character or a non-ASCII byte.
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        if value.is_empty() || value.len() > MAX_REQUEST_ID_LEN {
            return Err(ValidationError::new(
                "X-Request-Id",
                "must be 1 to 128 characters",
            ));
        }
        if !value.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(ValidationError::new(
                "X-Request-Id",
                "must be visible ASCII characters only",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// A new id, `req_` and 16 characters drawn from `entropy` (one byte per character; the
    /// caller supplies the randomness, the domain does no I/O).
    pub fn from_entropy(entropy: [u8; REQUEST_ID_ENTROPY_LEN]) -> Self {
        let mut id = String::with_capacity(Self::PREFIX.len() + REQUEST_ID_ENTROPY_LEN);
        id.push_str(Self::PREFIX);
        id.extend(
            entropy
                .iter()
                .map(|byte| char::from(ALPHABET[usize::from(byte & 31)])),
        );
        Self(id)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_ascii_up_to_128_characters_is_accepted() {
        for value in [
            "a",
            "req_123",
            "4bf92f35-77b3-4da6-a3ce-929d0e0e4736",
            "a/b+c=d~!",
        ] {
            assert_eq!(RequestId::parse(value).unwrap().as_str(), value);
        }
        assert!(RequestId::parse(&"x".repeat(MAX_REQUEST_ID_LEN)).is_ok());
    }

    #[test]
    fn empty_long_spaced_control_and_non_ascii_ids_are_refused() {
        for value in ["", "a b", "a\tb", "a\nb", "caf\u{e9}", "\u{7f}"] {
            assert!(RequestId::parse(value).is_err(), "{value:?}");
        }
        assert!(RequestId::parse(&"x".repeat(MAX_REQUEST_ID_LEN + 1)).is_err());
    }

    #[test]
    fn generated_ids_parse() {
        let id = RequestId::from_entropy([0xff; REQUEST_ID_ENTROPY_LEN]);
        assert_eq!(id.as_str(), "req_zzzzzzzzzzzzzzzz");
        assert_eq!(RequestId::parse(id.as_str()), Ok(id));
    }
}
