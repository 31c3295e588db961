//! `X-Hub-Signature-256` checks: Meta signs every webhook body with the app secret.
//!
//! The signature is an HMAC-SHA256 over the raw request bytes, sent as `sha256=<hex>`. It must be
//! checked over exactly those bytes (Meta escapes `/` as `\/` and non-ASCII as `\uXXXX`, so a
//! re-serialized body never matches) and in constant time, against each configured secret: an
//! app may receive webhooks signed with its Instagram Login secret or its Facebook Login one.

use ring::hmac;
use thiserror::Error;

/// The header Meta puts the signature in.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

/// The scheme prefix of the header value.
const PREFIX: &str = "sha256=";

/// Length of a SHA-256 MAC in bytes.
const MAC_LEN: usize = 32;

/// Why a webhook's signature was refused. Every variant means `401` and nothing stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SignatureError {
    /// The request carried no `X-Hub-Signature-256` header.
    #[error("signature header is missing")]
    Missing,
    /// The header is not `sha256=` followed by 64 hex digits.
    #[error("signature header is not sha256=<64 hex digits>")]
    Malformed,
    /// The signature matches none of the configured secrets (or none is configured).
    #[error("signature matches no configured secret")]
    Mismatch,
}

/// Checks `header` (the `X-Hub-Signature-256` value) against an HMAC-SHA256 of `raw_body` under
/// each of `secrets`, in constant time.
///
/// The `sha256=` prefix is matched case-insensitively and the hex digits may be upper or lower
/// case; surrounding whitespace is ignored. An empty `secrets` list verifies nothing: the caller
/// decides whether unsigned posts are acceptable (development with no secret configured) before
/// calling this.
///
/// # Errors
/// [`SignatureError::Missing`] without a header, [`SignatureError::Malformed`] when it is not
/// `sha256=<64 hex digits>`, [`SignatureError::Mismatch`] when no secret produces it.
pub fn verify_signature(
    raw_body: &[u8],
    header: Option<&str>,
    secrets: &[&[u8]],
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let expected = parse_header(header).ok_or(SignatureError::Malformed)?;
    let matched = secrets.iter().any(|secret| {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
        hmac::verify(&key, raw_body, &expected).is_ok()
    });
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The header value Meta would send for `raw_body` signed with `secret`: `sha256=<lowercase hex>`.
///
/// For tests and tools that play Meta's part (and for the fakes of other crates' tests).
pub fn signature_header_value(secret: &[u8], raw_body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let tag = hmac::sign(&key, raw_body);
    let mut value = String::with_capacity(PREFIX.len() + 2 * MAC_LEN);
    value.push_str(PREFIX);
    for byte in tag.as_ref() {
        value.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
        value.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
    }
    value
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// The 32 MAC bytes of a `sha256=<hex>` header value, `None` for any other shape.
fn parse_header(header: &str) -> Option<[u8; MAC_LEN]> {
    let header = header.trim();
    let (scheme, hex) = header.split_at_checked(PREFIX.len())?;
    if !scheme.eq_ignore_ascii_case(PREFIX) || hex.len() != 2 * MAC_LEN {
        return None;
    }
    let mut mac = [0_u8; MAC_LEN];
    for (byte, pair) in mac.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        let [high, low] = pair else { return None };
        *byte = (hex_value(*high)? << 4) | hex_value(*low)?;
    }
    Some(mac)
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"object":"instagram","entry":[]}"#;

    #[test]
    fn parses_only_sha256_with_64_hex_digits() {
        let valid = format!("sha256={}", "ab".repeat(32));
        assert_eq!(parse_header(&valid), Some([0xab; 32]));
        assert_eq!(
            parse_header(&format!("SHA256={}", "AB".repeat(32))),
            Some([0xab; 32])
        );
        for bad in [
            String::new(),
            "sha256=".to_owned(),
            "sha1=abcd".to_owned(),
            format!("sha256={}", "ab".repeat(31)),
            format!("sha256={}", "ab".repeat(33)),
            format!("sha256={}g", "a".repeat(63)),
            format!("sha256= {}", "a".repeat(63)),
            format!("md5=xx{}", "a".repeat(62)),
            // Multi-byte characters must not make the split panic.
            format!("sha25é{}", "a".repeat(64)),
            format!("sha256={}é", "a".repeat(62)),
        ] {
            assert_eq!(parse_header(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn signs_like_meta() {
        let header = signature_header_value(b"secret", BODY);
        assert!(header.starts_with("sha256="));
        assert_eq!(header.len(), 7 + 64);
        assert_eq!(verify_signature(BODY, Some(&header), &[b"secret"]), Ok(()));
    }

    #[test]
    fn no_secret_verifies_nothing() {
        let header = signature_header_value(b"", BODY);
        assert_eq!(
            verify_signature(BODY, Some(&header), &[]),
            Err(SignatureError::Mismatch)
        );
    }
}
