//! The API key format: `igr_` + 43 characters of unpadded base64url of 32 random bytes (256 bits).
//!
//! Only the SHA-256 of the whole key is stored, plus its first 12 characters for people to
//! recognise it in `igrouter api-keys list`. A fast hash is enough: the key is uniformly random
//! with 256 bits, so there is nothing for a slow password hash to protect against guessing.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::{ApiKey, ApiKeyHash, ApiKeyScope, Timestamp};
use ring::digest::{SHA256, digest};
use secrecy::SecretString;

use crate::random::{self, RandomUnavailable};

/// What every key starts with, so a leaked key is recognisable (and secret scanners can find it).
pub const KEY_PREFIX: &str = "igr_";
/// How many leading characters of a key are stored to show in listings.
pub const DISPLAY_PREFIX_LEN: usize = 12;
/// Random bytes in a key.
const KEY_ENTROPY_BYTES: usize = 32;

/// A key just generated: the secret to show once, and the record to store.
pub struct NewApiKey {
    /// The whole key, shown to the operator once and never stored.
    pub secret: SecretString,
    /// What is stored: hash, display prefix, scope.
    pub record: ApiKey,
}

impl NewApiKey {
    /// Generates a key named `name` with `scope`, created at `now`.
    ///
    /// # Errors
    /// [`RandomUnavailable`] when the system generator fails.
    pub fn generate(
        name: String,
        scope: ApiKeyScope,
        now: Timestamp,
    ) -> Result<Self, RandomUnavailable> {
        let entropy = random::bytes::<KEY_ENTROPY_BYTES>()?;
        let key = format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(entropy));
        let record = ApiKey {
            id: random::api_key_id()?,
            name,
            prefix: key.chars().take(DISPLAY_PREFIX_LEN).collect(),
            hash: hash_key(&key),
            scope,
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        };
        Ok(Self {
            secret: SecretString::from(key),
            record,
        })
    }
}

/// The SHA-256 of a presented key, as stored.
pub fn hash_key(key: &str) -> ApiKeyHash {
    let mut bytes = [0_u8; 32];
    bytes.copy_from_slice(digest(&SHA256, key.as_bytes()).as_ref());
    ApiKeyHash(bytes)
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn keys_have_the_documented_shape() {
        let key =
            NewApiKey::generate("crm".into(), ApiKeyScope::All, Timestamp::from_millis(1)).unwrap();
        let text = key.secret.expose_secret();

        assert!(text.starts_with("igr_"), "{text}");
        assert_eq!(text.len(), 4 + 43);
        assert!(
            text[4..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(key.record.prefix, text[..12]);
        assert_eq!(key.record.hash, hash_key(text));
        assert!(key.record.id.as_str().starts_with("key_"));
    }

    #[test]
    fn keys_differ_and_hash_differently() {
        let one =
            NewApiKey::generate("a".into(), ApiKeyScope::All, Timestamp::from_millis(1)).unwrap();
        let two =
            NewApiKey::generate("a".into(), ApiKeyScope::All, Timestamp::from_millis(1)).unwrap();
        assert_ne!(one.secret.expose_secret(), two.secret.expose_secret());
        assert_ne!(one.record.hash, two.record.hash);
        assert_eq!(
            hash_key("abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
