-- igrouter's initial schema (PostgreSQL). Times are epoch milliseconds (BIGINT) on every backend.
-- Keep in step with ../../mysql and ../../sqlite: the same tables, columns and constraints.

CREATE TABLE accounts (
    id                    VARCHAR(16)   PRIMARY KEY,
    instagram_account_id  VARCHAR(64)   NOT NULL UNIQUE,
    username              VARCHAR(64)   NOT NULL,
    access_token_sealed   BYTEA         NOT NULL,
    webhook_secret_sealed BYTEA         NOT NULL,
    crm_webhook_url       VARCHAR(2048),
    token_invalid_since   BIGINT,
    send_rate_per_second  INTEGER       NOT NULL,
    created_at            BIGINT        NOT NULL,
    updated_at            BIGINT        NOT NULL
);
CREATE INDEX accounts_created ON accounts (created_at, id);

CREATE TABLE messages (
    id                    VARCHAR(16)   PRIMARY KEY,
    account_id            VARCHAR(16)   REFERENCES accounts (id) ON DELETE CASCADE,
    instagram_account_id  VARCHAR(64)   NOT NULL,
    event_key             VARCHAR(400)  NOT NULL,
    direction             VARCHAR(16)   NOT NULL,
    kind                  VARCHAR(16)   NOT NULL,
    instagram_message_id  VARCHAR(255),
    participant_id        VARCHAR(64)   NOT NULL,
    sender_id             VARCHAR(64)   NOT NULL,
    recipient_id          VARCHAR(64)   NOT NULL,
    text                  TEXT,
    attachments           TEXT,
    details               TEXT,
    outbound_message_id   VARCHAR(16),
    occurred_at           BIGINT        NOT NULL,
    received_at           BIGINT        NOT NULL,
    CONSTRAINT messages_event_unique UNIQUE (instagram_account_id, event_key)
);
CREATE INDEX messages_history ON messages (account_id, occurred_at, id);
CREATE INDEX messages_participant ON messages (account_id, participant_id, occurred_at, id);

CREATE TABLE outbound_messages (
    id                    VARCHAR(16)   PRIMARY KEY,
    account_id            VARCHAR(16)   NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    recipient_id          VARCHAR(64)   NOT NULL,
    text                  TEXT,
    attachment_type       VARCHAR(16),
    attachment_url        VARCHAR(2048),
    status                VARCHAR(16)   NOT NULL,
    attempts              INTEGER       NOT NULL,
    instagram_message_id  VARCHAR(255),
    error_code            BIGINT,
    error_message         TEXT,
    rule_id               VARCHAR(16),
    due_at                BIGINT,
    created_at            BIGINT        NOT NULL,
    updated_at            BIGINT        NOT NULL,
    CONSTRAINT outbound_instagram_unique UNIQUE (account_id, instagram_message_id)
);
CREATE INDEX outbound_due ON outbound_messages (due_at);

CREATE TABLE crm_deliveries (
    id                    VARCHAR(16)   PRIMARY KEY,
    account_id            VARCHAR(16)   NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    event_type            VARCHAR(32)   NOT NULL,
    message_id            VARCHAR(16),
    dedupe_key            VARCHAR(400)  NOT NULL,
    payload               TEXT          NOT NULL,
    status                VARCHAR(16)   NOT NULL,
    attempts              INTEGER       NOT NULL,
    due_at                BIGINT,
    last_error            TEXT,
    created_at            BIGINT        NOT NULL,
    updated_at            BIGINT        NOT NULL,
    delivered_at          BIGINT,
    CONSTRAINT deliveries_dedupe_unique UNIQUE (account_id, dedupe_key)
);
CREATE INDEX deliveries_due ON crm_deliveries (due_at);
CREATE INDEX deliveries_listing ON crm_deliveries (created_at, id);
CREATE INDEX deliveries_account_status ON crm_deliveries (account_id, status, created_at);

CREATE TABLE delivery_attempts (
    delivery_id           VARCHAR(16)   NOT NULL REFERENCES crm_deliveries (id) ON DELETE CASCADE,
    attempt_number        INTEGER       NOT NULL,
    started_at            BIGINT        NOT NULL,
    http_status           INTEGER,
    latency_ms            BIGINT        NOT NULL,
    error                 TEXT,
    response_excerpt      TEXT,
    PRIMARY KEY (delivery_id, attempt_number)
);

CREATE TABLE api_keys (
    id                    VARCHAR(16)   PRIMARY KEY,
    name                  VARCHAR(128)  NOT NULL,
    prefix                VARCHAR(32)   NOT NULL,
    key_hash              VARCHAR(64)   NOT NULL UNIQUE,
    all_accounts          BOOLEAN       NOT NULL,
    created_at            BIGINT        NOT NULL,
    last_used_at          BIGINT,
    revoked_at            BIGINT
);

CREATE TABLE api_key_accounts (
    api_key_id            VARCHAR(16)   NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    account_id            VARCHAR(16)   NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (api_key_id, account_id)
);

CREATE TABLE reply_rules (
    id                    VARCHAR(16)   PRIMARY KEY,
    account_id            VARCHAR(16)   NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    match_kind            VARCHAR(16)   NOT NULL,
    pattern               TEXT          NOT NULL,
    reply                 TEXT          NOT NULL,
    priority              INTEGER       NOT NULL,
    enabled               BOOLEAN       NOT NULL,
    cooldown_seconds      BIGINT        NOT NULL,
    created_at            BIGINT        NOT NULL,
    updated_at            BIGINT        NOT NULL
);
CREATE INDEX reply_rules_account ON reply_rules (account_id, priority);

CREATE TABLE reply_cooldowns (
    rule_id               VARCHAR(16)   NOT NULL REFERENCES reply_rules (id) ON DELETE CASCADE,
    sender_id             VARCHAR(64)   NOT NULL,
    last_reply_at         BIGINT        NOT NULL,
    PRIMARY KEY (rule_id, sender_id)
);

CREATE TABLE idempotency_keys (
    account_id            VARCHAR(16)   NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    idempotency_key       VARCHAR(255)  NOT NULL,
    fingerprint           VARCHAR(128)  NOT NULL,
    message_id            VARCHAR(16),
    response_status       INTEGER,
    response_body         TEXT,
    created_at            BIGINT        NOT NULL,
    expires_at            BIGINT        NOT NULL,
    PRIMARY KEY (account_id, idempotency_key)
);
CREATE INDEX idempotency_expiry ON idempotency_keys (expires_at);
