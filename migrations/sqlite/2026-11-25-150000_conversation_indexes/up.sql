-- The conversation listing reads an account's sends newest first, optionally for one recipient
-- (MessageStore::conversation), like messages_history and messages_participant do for events.
CREATE INDEX outbound_history ON outbound_messages (account_id, created_at, id);
CREATE INDEX outbound_participant ON outbound_messages (account_id, recipient_id, created_at, id);
