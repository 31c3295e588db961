//! API keys the CRM uses on `/api/v1`. Only a hash of the key is ever stored.

use std::fmt;

use crate::{AccountId, ApiKeyId, Timestamp};

/// Which accounts a key may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiKeyScope {
    /// Every account.
    All,
    /// Only these accounts; others are reported as not found.
    Accounts(Vec<AccountId>),
}

impl ApiKeyScope {
    /// True when the key may see `account`.
    pub fn allows(&self, account: &AccountId) -> bool {
        match self {
            Self::All => true,
            Self::Accounts(accounts) => accounts.contains(account),
        }
    }
}

/// A SHA-256 digest of an API key (computed by the caller; the domain does no crypto).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ApiKeyHash(pub [u8; 32]);

impl ApiKeyHash {
    /// Lowercase hex, as stored.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// Parses 64 hex digits.
    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut bytes = [0_u8; 32];
        for (index, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(index * 2..index * 2 + 2)?, 16).ok()?;
        }
        Some(Self(bytes))
    }
}

impl fmt::Debug for ApiKeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKeyHash(..)")
    }
}

/// A stored API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Public id.
    pub id: ApiKeyId,
    /// What the operator called it.
    pub name: String,
    /// The first characters of the key (`igr_ab12…`), to recognise it in lists.
    pub prefix: String,
    /// Hash of the whole key.
    pub hash: ApiKeyHash,
    /// Which accounts it sees.
    pub scope: ApiKeyScope,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last authenticated a request (updated at most about once a minute).
    pub last_used_at: Option<Timestamp>,
    /// When it was revoked; a revoked key never authenticates again.
    pub revoked_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_hex_round_trips() {
        let hash = ApiKeyHash([0xab; 32]);
        assert_eq!(ApiKeyHash::from_hex(&hash.to_hex()), Some(hash));
        assert_eq!(ApiKeyHash::from_hex("zz"), None);
        assert_eq!(format!("{hash:?}"), "ApiKeyHash(..)");
    }

    #[test]
    fn scope_limits_accounts() {
        let mine = AccountId::parse("acc_aaaaaaaaaaaa").unwrap();
        let other = AccountId::parse("acc_bbbbbbbbbbbb").unwrap();
        let scope = ApiKeyScope::Accounts(vec![mine.clone()]);
        assert!(scope.allows(&mine) && !scope.allows(&other));
        assert!(ApiKeyScope::All.allows(&other));
    }
}
