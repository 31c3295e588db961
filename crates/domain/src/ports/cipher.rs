//! Encryption of credentials at rest.

use secrecy::SecretString;

use crate::{AccountId, SealedSecret};

/// Why a sealed secret could not be opened or a secret sealed.
#[derive(Debug, thiserror::Error)]
pub enum CipherError {
    /// No configured key opens this value (wrong key, or the value was tampered with or moved to
    /// another account's row).
    #[error("no configured key decrypts this value")]
    WrongKey,
    /// Encryption itself failed (no randomness available).
    #[error("encryption failed")]
    Failed,
}

/// Seals and opens account credentials; the account id is bound to each value so a sealed value
/// copied to another account's row does not open.
pub trait CredentialCipher: Send + Sync {
    /// Encrypts `secret` for `account` under the current key.
    ///
    /// # Errors
    /// MUST return `CipherError::Failed` only when no randomness is available.
    fn seal(&self, account: &AccountId, secret: &SecretString)
    -> Result<SealedSecret, CipherError>;

    /// Decrypts a value sealed for `account` by the current or the previous key.
    ///
    /// # Errors
    /// MUST return `CipherError::WrongKey` when no configured key authenticates the value; never
    /// garbage plaintext.
    fn open(&self, account: &AccountId, sealed: &SealedSecret)
    -> Result<SecretString, CipherError>;
}
