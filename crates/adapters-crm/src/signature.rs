//! The two signatures on every CRM delivery: `X-Hub-Signature-256` and Standard Webhooks.
//!
//! Both are HMAC-SHA256 under the account's webhook secret (its raw bytes). The first signs the
//! body alone, as Meta signs its webhooks, so a CRM written for the first version of this service
//! keeps working. The second follows the Standard Webhooks spec: it signs
//! `"{webhook-id}.{webhook-timestamp}.{body}"`, which binds the signature to the event and to the
//! attempt's time, so a captured request cannot be replayed later under a fresh timestamp. A CRM
//! verifies it with any Standard Webhooks library given `whsec_` + base64(secret).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use domain::EventId;
use ring::hmac;

/// Header carrying `sha256=<lowercase hex HMAC-SHA256(secret, body)>`.
pub const X_HUB_SIGNATURE_256: &str = "X-Hub-Signature-256";
/// Standard Webhooks header carrying the event id (the same on every attempt).
pub const WEBHOOK_ID: &str = "webhook-id";
/// Standard Webhooks header carrying the attempt's time in Unix seconds.
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
/// Standard Webhooks header carrying `v1,<base64 HMAC-SHA256>`.
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";

/// The signature headers of one delivery attempt, ready to send.
///
/// `Debug` leaves the two signatures out: a signature in a log line is an oracle for anyone
/// trying to forge one, and the style guide says never to log them.
#[derive(Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    /// `X-Hub-Signature-256`: `sha256=` and 64 lowercase hex digits.
    pub x_hub_signature_256: String,
    /// `webhook-id`: the event id.
    pub webhook_id: String,
    /// `webhook-timestamp`: the attempt's Unix time in seconds, in decimal.
    pub webhook_timestamp: String,
    /// `webhook-signature`: `v1,` and the standard base64 (with padding) of the MAC.
    pub webhook_signature: String,
}

impl SignatureHeaders {
    /// The four headers as `(name, value)` pairs, in a stable order, for the HTTP client.
    pub fn pairs(&self) -> [(&'static str, &str); 4] {
        [
            (X_HUB_SIGNATURE_256, &self.x_hub_signature_256),
            (WEBHOOK_ID, &self.webhook_id),
            (WEBHOOK_TIMESTAMP, &self.webhook_timestamp),
            (WEBHOOK_SIGNATURE, &self.webhook_signature),
        ]
    }
}

impl fmt::Debug for SignatureHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignatureHeaders")
            .field("x_hub_signature_256", &"<redacted>")
            .field("webhook_id", &self.webhook_id)
            .field("webhook_timestamp", &self.webhook_timestamp)
            .field("webhook_signature", &"<redacted>")
            .finish()
    }
}

/// Signs `body` for one attempt of the delivery `event_id` made at `timestamp_secs`.
///
/// `body` must be the exact bytes sent (the stored payload, never re-serialized). The timestamp is
/// this attempt's, so each retry gets a fresh `webhook-timestamp` and `webhook-signature` while
/// `webhook-id` and `X-Hub-Signature-256` stay the same. Any secret is accepted, the empty one
/// too: whether a secret is acceptable is decided where accounts are created.
pub fn sign(
    secret: &[u8],
    event_id: &EventId,
    timestamp_secs: i64,
    body: &[u8],
) -> SignatureHeaders {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let webhook_id = event_id.as_str().to_owned();
    let webhook_timestamp = timestamp_secs.to_string();

    let body_tag = hmac::sign(&key, body);
    let mut x_hub_signature_256 = String::with_capacity(HEX_PREFIX.len() + 2 * MAC_LEN);
    x_hub_signature_256.push_str(HEX_PREFIX);
    push_lower_hex(&mut x_hub_signature_256, body_tag.as_ref());

    // Fed in pieces so a large body is not copied just to be signed.
    let mut context = hmac::Context::with_key(&key);
    context.update(webhook_id.as_bytes());
    context.update(b".");
    context.update(webhook_timestamp.as_bytes());
    context.update(b".");
    context.update(body);
    let standard_tag = context.sign();
    let mut webhook_signature = String::with_capacity(V1_PREFIX.len() + 44);
    webhook_signature.push_str(V1_PREFIX);
    STANDARD.encode_string(standard_tag.as_ref(), &mut webhook_signature);

    SignatureHeaders {
        x_hub_signature_256,
        webhook_id,
        webhook_timestamp,
        webhook_signature,
    }
}

const HEX_PREFIX: &str = "sha256=";
const V1_PREFIX: &str = "v1,";
const MAC_LEN: usize = 32;
const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

fn push_lower_hex(out: &mut String, bytes: &[u8]) {
    for byte in bytes {
        out.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_both_signatures() {
        let event_id = EventId::parse("evt_9f2c4e1a7b3d").unwrap();
        let headers = sign(b"secret", &event_id, 1, b"body");
        let debug = format!("{headers:?}");
        assert!(debug.contains("evt_9f2c4e1a7b3d"), "{debug}");
        assert!(
            !debug.contains(&headers.x_hub_signature_256[7..]),
            "{debug}"
        );
        assert!(!debug.contains(&headers.webhook_signature[3..]), "{debug}");
    }
}
