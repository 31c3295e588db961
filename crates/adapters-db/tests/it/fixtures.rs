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

/// A distinct key hash per call, with hex digits above `9` so the stored form must be lowercase.
pub(crate) fn api_key_hash() -> domain::ApiKeyHash {
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let mut bytes = [0xab_u8; 32];
    bytes[..8].copy_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    bytes[8..20].copy_from_slice(&entropy());
    domain::ApiKeyHash(bytes)
}

pub(crate) fn api_key(name: &str, scope: domain::ApiKeyScope) -> domain::ApiKey {
    domain::ApiKey {
        id: domain::ApiKeyId::from_entropy(entropy()),
        name: name.to_owned(),
        prefix: "igr_ab12".to_owned(),
        hash: api_key_hash(),
        scope,
        created_at: at(1_763_202_600_000),
        last_used_at: None,
        revoked_at: None,
    }
}

pub(crate) fn rule(account: &AccountId) -> domain::ReplyRule {
    domain::ReplyRule {
        id: domain::RuleId::from_entropy(entropy()),
        account_id: account.clone(),
        match_kind: domain::MatchKind::Keyword,
        pattern: "price".to_owned(),
        reply: "Hi {username}, see our prices at example.com".to_owned(),
        priority: 0,
        enabled: true,
        cooldown_seconds: 3600,
        created_at: at(1_763_202_600_000),
        updated_at: at(1_763_202_600_000),
    }
}

/// An in-progress record of `key` for `account`, taken at `created_at`, kept for 24 hours.
pub(crate) fn idempotency_record(
    account: &AccountId,
    key: &str,
    created_at: i64,
) -> domain::IdempotencyRecord {
    domain::IdempotencyRecord {
        account_id: account.clone(),
        key: domain::IdempotencyKey::parse(key).unwrap(),
        fingerprint: format!("sha256:{key}"),
        message_id: None,
        state: domain::IdempotencyState::InProgress,
        created_at: at(created_at),
        expires_at: at(created_at + 86_400_000),
    }
}

/// A database of the same backend as `test` that cannot be reached.
pub(crate) fn unreachable(test: &adapters_db::testing::TestDb) -> adapters_db::Database {
    let url = match test.db.backend() {
        adapters_db::Backend::Sqlite => "sqlite:///nonexistent-directory/igrouter.db",
        adapters_db::Backend::Postgres => "postgres://postgres@127.0.0.1:1/test",
        adapters_db::Backend::Mysql => "mysql://root@127.0.0.1:1/test",
    };
    adapters_db::Database::connect(
        &adapters_db::DatabaseUrl::parse(url).unwrap(),
        adapters_db::PoolOptions::default(),
    )
    .unwrap()
}

/// Whether `error` says the backend could not be reached.
pub(crate) fn is_unavailable(error: &domain::ports::StoreError) -> bool {
    matches!(error, domain::ports::StoreError::Unavailable(_))
}
