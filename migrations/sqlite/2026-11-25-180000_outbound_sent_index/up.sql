-- The stats endpoint (StatsStore) counts an account's sent messages by the time they were sent:
-- the `updated_at` of a row in status `sent`, which no later write changes. This index reads
-- one account's sends of a range of days without touching its older history.
CREATE INDEX outbound_sent ON outbound_messages (account_id, status, updated_at);
