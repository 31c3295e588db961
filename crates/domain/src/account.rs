//! A business's Instagram professional account and where its events go.

use std::fmt;

use crate::{AccountId, InstagramId, Timestamp, ValidationError};

/// Default per-account send rate (messages per second) toward the Graph API.
pub const DEFAULT_SEND_RATE_PER_SECOND: u32 = 100;

/// An Instagram professional account connected to igrouter.
///
/// Credentials are held sealed (encrypted by the `CredentialCipher` port); the plain token only
/// exists in memory, for the moment a Graph API call needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Our id for the account.
    pub id: AccountId,
    /// Meta's id for the business account (`entry[].id` in webhooks). Unique.
    pub instagram_account_id: InstagramId,
    /// The account's Instagram username, for people reading the API and the console.
    pub username: Username,
    /// The Graph API access token, sealed.
    pub access_token: SealedSecret,
    /// The secret that signs CRM deliveries, sealed.
    pub webhook_secret: SealedSecret,
    /// Where events for this account are delivered; `None` stores them without forwarding.
    pub crm_webhook_url: Option<WebhookUrl>,
    /// Set when the Graph API rejected the token (code 190); cleared when a new token is set.
    pub token_invalid_since: Option<Timestamp>,
    /// Sends per second allowed toward the Graph API for this account.
    pub send_rate_per_second: u32,
    /// When the account was created.
    pub created_at: Timestamp,
    /// When the account last changed.
    pub updated_at: Timestamp,
}

/// A partial update of an account: each `Some` replaces that field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountChanges {
    /// New username.
    pub username: Option<Username>,
    /// New sealed access token (clears `token_invalid_since` too).
    pub access_token: Option<SealedSecret>,
    /// New sealed webhook secret.
    pub webhook_secret: Option<SealedSecret>,
    /// New CRM URL; `Some(None)` stops forwarding.
    pub crm_webhook_url: Option<Option<WebhookUrl>>,
    /// Mark or clear the token as rejected by Meta.
    pub token_invalid_since: Option<Option<Timestamp>>,
    /// New send rate.
    pub send_rate_per_second: Option<u32>,
}

impl AccountChanges {
    /// Applies these changes to `account` as of `now`.
    pub fn apply_to(self, account: &mut Account, now: Timestamp) {
        if let Some(username) = self.username {
            account.username = username;
        }
        if let Some(token) = self.access_token {
            account.access_token = token;
            account.token_invalid_since = None;
        }
        if let Some(secret) = self.webhook_secret {
            account.webhook_secret = secret;
        }
        if let Some(url) = self.crm_webhook_url {
            account.crm_webhook_url = url;
        }
        if let Some(invalid) = self.token_invalid_since {
            account.token_invalid_since = invalid;
        }
        if let Some(rate) = self.send_rate_per_second {
            account.send_rate_per_second = rate;
        }
        account.updated_at = now;
    }
}

/// An Instagram username: 1 to 30 characters of letters, digits, `.` and `_` (Instagram's rule).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    /// Longest username Instagram allows.
    pub const MAX_LEN: usize = 30;

    /// Checks Instagram's username rule.
    ///
    /// # Errors
    /// A [`ValidationError`] for `username` when empty, longer than 30, or with other characters.
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let count = value.chars().count();
        if count == 0 {
            return Err(ValidationError::new("username", "must not be empty"));
        }
        if count > Self::MAX_LEN {
            return Err(ValidationError::new(
                "username",
                "must be at most 30 characters",
            ));
        }
        if !value
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '_')
        {
            return Err(ValidationError::new(
                "username",
                "may only contain letters, digits, '.' and '_'",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// The username as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An absolute `http` or `https` URL with a host, at most 2048 bytes.
///
/// Whether the host may be private is a deployment decision checked where DNS is resolved, not
/// here.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// Longest URL accepted.
    pub const MAX_LEN: usize = 2048;

    /// Checks the URL's shape.
    ///
    /// # Errors
    /// A [`ValidationError`] naming `field` when the value is not an absolute http(s) URL.
    pub fn parse(field: &'static str, value: &str) -> Result<Self, ValidationError> {
        if value.len() > Self::MAX_LEN {
            return Err(ValidationError::new(field, "must be at most 2048 bytes"));
        }
        let url = url::Url::parse(value).map_err(|error| {
            ValidationError::new(field, format!("is not a valid URL ({error})"))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ValidationError::new(field, "must be an http or https URL"));
        }
        if url.host().is_none() {
            return Err(ValidationError::new(field, "must have a host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ValidationError::new(field, "must not contain credentials"));
        }
        Ok(Self(value.to_owned()))
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A secret encrypted at rest: nonce and ciphertext, opaque outside the cipher that made it.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret(Vec<u8>);

impl SealedSecret {
    /// Wraps bytes produced by a `CredentialCipher` (or read back from storage).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The sealed bytes, for storage.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedSecret({} bytes)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_instagrams_rule() {
        assert!(Username::parse("shop.official_1").is_ok());
        assert!(Username::parse("café").is_ok());
        assert_eq!(Username::parse("").unwrap_err().field, "username");
        assert!(Username::parse(&"a".repeat(31)).is_err());
        assert!(Username::parse("has space").is_err());
    }

    #[test]
    fn webhook_urls_must_be_absolute_http() {
        assert!(WebhookUrl::parse("crm_webhook_url", "https://crm.example.com/hooks/ig").is_ok());
        assert!(WebhookUrl::parse("crm_webhook_url", "http://127.0.0.1:9000/x").is_ok());
        for bad in [
            "ftp://x.example",
            "not a url",
            "/relative",
            "https://user:pw@x.example/",
        ] {
            let error = WebhookUrl::parse("crm_webhook_url", bad).expect_err(bad);
            assert_eq!(error.field, "crm_webhook_url");
        }
    }

    #[test]
    fn sealed_secrets_do_not_print_their_bytes() {
        let sealed = SealedSecret::from_bytes(vec![1, 2, 3]);
        assert_eq!(format!("{sealed:?}"), "SealedSecret(3 bytes)");
    }
}
