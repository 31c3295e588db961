//! `CredentialCipher` with AES-256-GCM (`ring::aead`) under `CREDENTIALS_KEY`, falling back to
//! `CREDENTIALS_KEY_PREVIOUS` when opening.
//!
//! A sealed value is `version (1 byte) || nonce (12 bytes) || ciphertext || tag (16 bytes)`. The
//! nonce is fresh from the system's CSPRNG for every value: with random 96-bit nonces a key may
//! seal about 2^32 values before a collision becomes a concern, far more than any deployment
//! stores. The account id is the associated data, so a value copied into another account's row
//! fails authentication instead of decrypting.

use std::fmt;

use domain::ports::{CipherError, CredentialCipher};
use domain::{AccountId, SealedSecret};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretString};

use crate::config::{CredentialsConfig, CredentialsKey};

/// The first byte of every value this cipher seals; a future format gets another number.
pub const FORMAT_VERSION: u8 = 1;

/// Seals with the current key; opens with the current key, then the previous one.
pub struct AesGcmCipher {
    current: LessSafeKey,
    previous: Option<LessSafeKey>,
    random: SystemRandom,
}

/// Which configured key opened a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenedWith {
    /// `CREDENTIALS_KEY`.
    Current,
    /// `CREDENTIALS_KEY_PREVIOUS`.
    Previous,
}

impl AesGcmCipher {
    /// A cipher over the configured keys.
    ///
    /// # Errors
    /// `CipherError::Failed` when a key is not an AES-256 key (cannot happen for a
    /// [`CredentialsKey`], which is always 32 bytes).
    pub fn new(config: &CredentialsConfig) -> Result<Self, CipherError> {
        Ok(Self {
            current: aead_key(&config.key)?,
            previous: config.previous.as_ref().map(aead_key).transpose()?,
            random: SystemRandom::new(),
        })
    }

    /// Opens `sealed` and says which key did it (rotation re-seals what the previous key opened).
    pub(crate) fn open_reporting(
        &self,
        account: &AccountId,
        sealed: &SealedSecret,
    ) -> Result<(SecretString, OpenedWith), CipherError> {
        let keys = std::iter::once((&self.current, OpenedWith::Current))
            .chain(self.previous.iter().map(|key| (key, OpenedWith::Previous)));
        for (key, which) in keys {
            if let Some(secret) = open_with(key, account, sealed.as_bytes()) {
                return Ok((secret, which));
            }
        }
        Err(CipherError::WrongKey)
    }
}

impl CredentialCipher for AesGcmCipher {
    fn seal(
        &self,
        account: &AccountId,
        secret: &SecretString,
    ) -> Result<SealedSecret, CipherError> {
        let mut nonce = [0_u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .map_err(|_| CipherError::Failed)?;
        let plaintext = secret.expose_secret().as_bytes();
        let mut in_out = Vec::with_capacity(plaintext.len() + AES_256_GCM.tag_len());
        in_out.extend_from_slice(plaintext);
        self.current
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(account.as_str().as_bytes()),
                &mut in_out,
            )
            .map_err(|_| CipherError::Failed)?;
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + in_out.len());
        sealed.push(FORMAT_VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&in_out);
        Ok(SealedSecret::from_bytes(sealed))
    }

    fn open(
        &self,
        account: &AccountId,
        sealed: &SealedSecret,
    ) -> Result<SecretString, CipherError> {
        self.open_reporting(account, sealed)
            .map(|(secret, _)| secret)
    }
}

impl fmt::Debug for AesGcmCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AesGcmCipher")
            .field("algorithm", &"AES-256-GCM")
            .field("has_previous_key", &self.previous.is_some())
            .finish_non_exhaustive()
    }
}

fn aead_key(key: &CredentialsKey) -> Result<LessSafeKey, CipherError> {
    UnboundKey::new(&AES_256_GCM, key.expose())
        .map(LessSafeKey::new)
        .map_err(|_| CipherError::Failed)
}

/// The plaintext when `key` authenticates `bytes` for `account`; `None` otherwise (another key,
/// another account, another format, tampering, or text that is not UTF-8).
fn open_with(key: &LessSafeKey, account: &AccountId, bytes: &[u8]) -> Option<SecretString> {
    let (&version, rest) = bytes.split_first()?;
    if version != FORMAT_VERSION || rest.len() < NONCE_LEN + AES_256_GCM.tag_len() {
        return None;
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut in_out = ciphertext.to_vec();
    let plaintext = key
        .open_in_place(nonce, Aad::from(account.as_str().as_bytes()), &mut in_out)
        .ok()?;
    let text = String::from_utf8(plaintext.to_vec()).ok()?;
    Some(SecretString::from(text))
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::*;
    use crate::config::KeySource;

    fn key(byte: u8) -> CredentialsKey {
        CredentialsKey::from_base64(&STANDARD.encode([byte; 32])).unwrap()
    }

    fn cipher(current: u8, previous: Option<u8>) -> AesGcmCipher {
        AesGcmCipher::new(&CredentialsConfig {
            key: key(current),
            previous: previous.map(key),
            source: KeySource::Configured,
        })
        .unwrap()
    }

    fn account(suffix: &str) -> AccountId {
        AccountId::parse(&format!("acc_{suffix}")).unwrap()
    }

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    #[test]
    fn a_sealed_value_opens_to_the_same_text() {
        let cipher = cipher(1, None);
        let alice = account("aaaaaaaaaaaa");
        let token = "IGQVJ-tøkén-日本語-🔑";

        let sealed = cipher.seal(&alice, &secret(token)).unwrap();

        assert_eq!(sealed.as_bytes()[0], FORMAT_VERSION);
        assert_eq!(sealed.as_bytes().len(), 1 + 12 + token.len() + 16);
        assert!(!sealed.as_bytes().windows(5).any(|w| w == b"IGQVJ"));
        let opened = cipher.open(&alice, &sealed).unwrap();
        assert_eq!(opened.expose_secret(), token);
    }

    #[test]
    fn any_tampering_is_wrong_key() {
        let cipher = cipher(1, None);
        let alice = account("aaaaaaaaaaaa");
        let sealed = cipher.seal(&alice, &secret("token")).unwrap();
        for index in 0..sealed.as_bytes().len() {
            let mut bytes = sealed.as_bytes().to_vec();
            bytes[index] ^= 0x01;
            let tampered = SealedSecret::from_bytes(bytes);
            assert!(
                matches!(cipher.open(&alice, &tampered), Err(CipherError::WrongKey)),
                "byte {index}"
            );
        }
        for short in [0, 1, 13, 28] {
            let truncated = SealedSecret::from_bytes(sealed.as_bytes()[..short].to_vec());
            assert!(matches!(
                cipher.open(&alice, &truncated),
                Err(CipherError::WrongKey)
            ));
        }
    }

    #[test]
    fn a_value_moved_to_another_account_does_not_open() {
        let cipher = cipher(1, None);
        let sealed = cipher
            .seal(&account("aaaaaaaaaaaa"), &secret("token"))
            .unwrap();

        let moved = cipher.open(&account("bbbbbbbbbbbb"), &sealed);

        assert!(matches!(moved, Err(CipherError::WrongKey)));
    }

    #[test]
    fn the_previous_key_still_opens_and_says_so() {
        let alice = account("aaaaaaaaaaaa");
        let old = cipher(1, None).seal(&alice, &secret("old token")).unwrap();
        let new = cipher(2, Some(1))
            .seal(&alice, &secret("new token"))
            .unwrap();
        let rotating = cipher(2, Some(1));

        let (opened, which) = rotating.open_reporting(&alice, &old).unwrap();
        assert_eq!(opened.expose_secret(), "old token");
        assert_eq!(which, OpenedWith::Previous);
        let (opened, which) = rotating.open_reporting(&alice, &new).unwrap();
        assert_eq!(opened.expose_secret(), "new token");
        assert_eq!(which, OpenedWith::Current);
    }

    #[test]
    fn a_wrong_key_is_wrong_key_never_garbage() {
        let alice = account("aaaaaaaaaaaa");
        let sealed = cipher(1, None).seal(&alice, &secret("token")).unwrap();

        assert!(matches!(
            cipher(2, None).open(&alice, &sealed),
            Err(CipherError::WrongKey)
        ));
        assert!(matches!(
            cipher(2, Some(3)).open(&alice, &sealed),
            Err(CipherError::WrongKey)
        ));
    }

    #[test]
    fn every_seal_uses_a_fresh_nonce() {
        let cipher = cipher(1, None);
        let alice = account("aaaaaaaaaaaa");

        let first = cipher.seal(&alice, &secret("same")).unwrap();
        let second = cipher.seal(&alice, &secret("same")).unwrap();

        assert_ne!(first.as_bytes(), second.as_bytes());
        assert_ne!(first.as_bytes()[1..13], second.as_bytes()[1..13]);
    }

    #[test]
    fn debug_shows_no_key() {
        let shown = format!("{:?}", cipher(0x41, Some(0x42)));

        assert!(shown.starts_with("AesGcmCipher"), "{shown}");
        assert!(!shown.contains("AAAA") && !shown.contains("65"), "{shown}");
        assert!(!shown.contains("BBBB") && !shown.contains("66"), "{shown}");
    }
}
