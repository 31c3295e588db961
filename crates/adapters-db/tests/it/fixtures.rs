//! Builders for valid domain values, so each test states only what it is about.

use std::sync::atomic::{AtomicU64, Ordering};

use domain::{Account, AccountId, InstagramId, SealedSecret, Timestamp, Username, WebhookUrl};

/// Distinct entropy for every id a test run makes.
pub(crate) fn entropy() -> [u8; 12] {
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) ^ u64::from(std::process::id()).rotate_left(32);
    let mut bytes = [0_u8; 12];
    for (index, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::try_from((n >> ((index % 8) * 5)) & 31).unwrap() ^ u8::try_from(index).unwrap();
    }
    bytes
}

pub(crate) fn at(millis: i64) -> Timestamp {
    Timestamp::from_millis(millis)
}

pub(crate) fn account(instagram_id: &str) -> Account {
    let now = at(1_763_202_600_000);
    Account {
        id: AccountId::from_entropy(entropy()),
        instagram_account_id: InstagramId::parse("instagram_account_id", instagram_id).unwrap(),
        username: Username::parse("boutique.café").unwrap(),
        access_token: SealedSecret::from_bytes(vec![0, 1, 2, 255, 254]),
        webhook_secret: SealedSecret::from_bytes((0..=255).collect()),
        crm_webhook_url: Some(
            WebhookUrl::parse("crm_webhook_url", "https://crm.example.com/hooks/ig?x=ü").unwrap(),
        ),
        token_invalid_since: None,
        send_rate_per_second: 100,
        created_at: now,
        updated_at: now,
    }
}
