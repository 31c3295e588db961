-- The per-account send pace (SendPacing): when, in microseconds since the epoch, the account's
-- next Graph API send may start. Every instance reserves slots here, so the rate limit holds
-- across instances.
ALTER TABLE accounts ADD COLUMN next_send_at_us BIGINT NOT NULL DEFAULT 0;
