-- igrouter's initial schema (MySQL / MariaDB). Times are epoch milliseconds (BIGINT) on every backend.
-- Binary no-pad collation so keys compare as on PostgreSQL and SQLite ('abc', 'ABC' and
-- 'abc ' are three keys); InnoDB honours only table-level FOREIGN KEY clauses.
-- Keep in step with ../../postgres and ../../sqlite: the same tables, columns and constraints.

CREATE TABLE accounts (
    id                    VARCHAR(16)   PRIMARY KEY,
    instagram_account_id  VARCHAR(64)   NOT NULL UNIQUE,
    username              VARCHAR(64)   NOT NULL,
    access_token_sealed   BLOB          NOT NULL,
    webhook_secret_sealed BLOB          NOT NULL,
    crm_webhook_url       VARCHAR(2048),
    token_invalid_since   BIGINT,
    send_rate_per_second  INTEGER       NOT NULL,
    created_at            BIGINT        NOT NULL,
    updated_at            BIGINT        NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE INDEX accounts_created ON accounts (created_at, id);

CREATE TABLE messages (
    id                    VARCHAR(16)   PRIMARY KEY,
    account_id            VARCHAR(16),
    instagram_account_id  VARCHAR(64)   NOT NULL,
    event_key             VARCHAR(400)  NOT NULL,
    direction             VARCHAR(16)   NOT NULL,
    kind                  VARCHAR(16)   NOT NULL,
    instagram_message_id  VARCHAR(255),
    participant_id        VARCHAR(64)   NOT NULL,
    sender_id             VARCHAR(64)   NOT NULL,
    recipient_id          VARCHAR(64)   NOT NULL,
    text                  MEDIUMTEXT,
    attachments           MEDIUMTEXT,
    details               MEDIUMTEXT,
    outbound_message_id   VARCHAR(16),
    occurred_at           BIGINT        NOT NULL,
    received_at           BIGINT        NOT NULL,
    CONSTRAINT messages_event_unique UNIQUE (instagram_account_id, event_key),
    FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE INDEX messages_history ON messages (account_id, occurred_at, id);
CREATE INDEX messages_participant ON messages (account_id, participant_id, occurred_at, id);

CREATE TABLE outbound_messages (
    id                    VARCHAR(16)   PRIMARY KEY,
    account_id            VARCHAR(16)   NOT NULL,
    recipient_id          VARCHAR(64)   NOT NULL,
    text                  MEDIUMTEXT,
    attachment_type       VARCHAR(16),
    attachment_url        VARCHAR(2048),
    status                VARCHAR(16)   NOT NULL,
    attempts              INTEGER       NOT NULL,
    instagram_message_id  VARCHAR(255),
    error_code            BIGINT,
    error_message         MEDIUMTEXT,
    rule_id               VARCHAR(16),
    due_at                BIGINT,
    created_at            BIGINT        NOT NULL,
    updated_at            BIGINT        NOT NULL,
    CONSTRAINT outbound_instagram_unique UNIQUE (account_id, instagram_message_id),
    FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE INDEX outbound_due ON outbound_messages (due_at);

CREATE TABLE crm_deliveries (
    id                    VARCHAR(16)   PRIMARY KEY,
    account_id            VARCHAR(16)   NOT NULL,
    event_type            VARCHAR(32)   NOT NULL,
    message_id            VARCHAR(16),
    dedupe_key            VARCHAR(400)  NOT NULL,
    payload               MEDIUMTEXT          NOT NULL,
    status                VARCHAR(16)   NOT NULL,
    attempts              INTEGER       NOT NULL,
    due_at                BIGINT,
    last_error            MEDIUMTEXT,
    created_at            BIGINT        NOT NULL,
    updated_at            BIGINT        NOT NULL,
    delivered_at          BIGINT,
    CONSTRAINT deliveries_dedupe_unique UNIQUE (account_id, dedupe_key),
    FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE INDEX deliveries_due ON crm_deliveries (due_at);
CREATE INDEX deliveries_listing ON crm_deliveries (created_at, id);
CREATE INDEX deliveries_account_status ON crm_deliveries (account_id, status, created_at);

CREATE TABLE delivery_attempts (
    delivery_id           VARCHAR(16)   NOT NULL,
    attempt_number        INTEGER       NOT NULL,
    started_at            BIGINT        NOT NULL,
    http_status           INTEGER,
    latency_ms            BIGINT        NOT NULL,
    error                 MEDIUMTEXT,
    response_excerpt      MEDIUMTEXT,
    PRIMARY KEY (delivery_id, attempt_number),
    FOREIGN KEY (delivery_id) REFERENCES crm_deliveries (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE api_keys (
    id                    VARCHAR(16)   PRIMARY KEY,
    name                  VARCHAR(128)  NOT NULL,
    prefix                VARCHAR(32)   NOT NULL,
    key_hash              VARCHAR(64)   NOT NULL UNIQUE,
    all_accounts          BOOL               NOT NULL,
    created_at            BIGINT        NOT NULL,
    last_used_at          BIGINT,
    revoked_at            BIGINT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE api_key_accounts (
    api_key_id            VARCHAR(16)   NOT NULL,
    account_id            VARCHAR(16)   NOT NULL,
    PRIMARY KEY (api_key_id, account_id),
    FOREIGN KEY (api_key_id) REFERENCES api_keys (id) ON DELETE CASCADE,
    FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE reply_rules (
    id                    VARCHAR(16)   PRIMARY KEY,
    account_id            VARCHAR(16)   NOT NULL,
    match_kind            VARCHAR(16)   NOT NULL,
    pattern               MEDIUMTEXT          NOT NULL,
    reply                 MEDIUMTEXT          NOT NULL,
    priority              INTEGER       NOT NULL,
    enabled               BOOL               NOT NULL,
    cooldown_seconds      BIGINT        NOT NULL,
    created_at            BIGINT        NOT NULL,
    updated_at            BIGINT        NOT NULL,
    FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE INDEX reply_rules_account ON reply_rules (account_id, priority);

CREATE TABLE reply_cooldowns (
    rule_id               VARCHAR(16)   NOT NULL,
    sender_id             VARCHAR(64)   NOT NULL,
    last_reply_at         BIGINT        NOT NULL,
    PRIMARY KEY (rule_id, sender_id),
    FOREIGN KEY (rule_id) REFERENCES reply_rules (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE idempotency_keys (
    account_id            VARCHAR(16)   NOT NULL,
    idempotency_key       VARCHAR(255)  NOT NULL,
    fingerprint           VARCHAR(128)  NOT NULL,
    message_id            VARCHAR(16),
    response_status       INTEGER,
    response_body         MEDIUMTEXT,
    created_at            BIGINT        NOT NULL,
    expires_at            BIGINT        NOT NULL,
    PRIMARY KEY (account_id, idempotency_key),
    FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE INDEX idempotency_expiry ON idempotency_keys (expires_at);
