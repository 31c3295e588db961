//! The key that encrypts Instagram access tokens and CRM webhook secrets at rest (AES-256-GCM),
//! and the previous key, which still decrypts during a rotation.
//!
//! Reads `CREDENTIALS_KEY` and `CREDENTIALS_KEY_PREVIOUS`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use secrecy::{ExposeSecret, SecretSlice};

use super::{Environment, Vars};

/// Length of a credentials key in bytes (AES-256).
pub const CREDENTIALS_KEY_LEN: usize = 32;

/// The key used in development when `CREDENTIALS_KEY` is unset. It is in the source code, so it
/// protects nothing; production refuses to start without a real key.
const DEVELOPMENT_KEY: &[u8; CREDENTIALS_KEY_LEN] = b"igrouter-development-only-key-32";

/// The credentials keys.
#[derive(Debug, Clone)]
pub struct CredentialsConfig {
    /// Encrypts new values and decrypts current ones.
    pub key: CredentialsKey,
    /// Still decrypts values sealed before a rotation.
    pub previous: Option<CredentialsKey>,
    /// Whether `key` was configured or is the development fallback.
    pub source: KeySource,
}

/// Where the current key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// `CREDENTIALS_KEY`.
    Configured,
    /// The fixed development key (development only, with a warning at startup).
    DevelopmentDefault,
}

/// 32 secret bytes. `Debug` never shows them.
#[derive(Clone)]
pub struct CredentialsKey(SecretSlice<u8>);

pub(super) fn load(vars: &Vars<'_>, environment: Environment) -> Option<CredentialsConfig> {
    let key = vars.parse_optional("CREDENTIALS_KEY", CredentialsKey::from_base64);
    let previous = vars.parse_optional("CREDENTIALS_KEY_PREVIOUS", CredentialsKey::from_base64);
    if environment == Environment::Production && !vars.is_set("CREDENTIALS_KEY") {
        vars.problem("CREDENTIALS_KEY", "required in production");
    }
    let (key, source) = match key? {
        Some(key) => (key, KeySource::Configured),
        None => (
            CredentialsKey::from_bytes(DEVELOPMENT_KEY),
            KeySource::DevelopmentDefault,
        ),
    };
    Some(CredentialsConfig {
        key,
        previous: previous?,
        source,
    })
}

impl CredentialsKey {
    /// Decodes a key written as base64 (standard or URL-safe alphabet) of exactly 32 bytes, as
    /// `openssl rand -base64 32` prints.
    ///
    /// # Errors
    /// A reason (lowercase, never quoting the text) when it is not base64 or not 32 bytes long.
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE.decode(text))
            .map_err(|_| {
                "must be base64 of 32 random bytes (openssl rand -base64 32)".to_owned()
            })?;
        if bytes.len() != CREDENTIALS_KEY_LEN {
            return Err(format!(
                "must decode to {CREDENTIALS_KEY_LEN} bytes, not {}",
                bytes.len()
            ));
        }
        Ok(Self(SecretSlice::from(bytes)))
    }

    fn from_bytes(bytes: &[u8; CREDENTIALS_KEY_LEN]) -> Self {
        Self(SecretSlice::from(bytes.to_vec()))
    }

    /// The key's bytes, always [`CREDENTIALS_KEY_LEN`] of them.
    pub fn expose(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

impl fmt::Debug for CredentialsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CredentialsKey([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_32_bytes_of_base64() {
        let key = CredentialsKey::from_base64(&STANDARD.encode([7_u8; 32])).unwrap();
        assert_eq!(key.expose(), &[7_u8; 32]);
        assert!(CredentialsKey::from_base64(&URL_SAFE.encode([0xff_u8; 32])).is_ok());
        assert!(CredentialsKey::from_base64(&STANDARD.encode([7_u8; 16])).is_err());
        assert!(CredentialsKey::from_base64("not base64!").is_err());
        assert_eq!(format!("{key:?}"), "CredentialsKey([REDACTED])");
        assert_eq!(DEVELOPMENT_KEY.len(), CREDENTIALS_KEY_LEN);
    }
}
