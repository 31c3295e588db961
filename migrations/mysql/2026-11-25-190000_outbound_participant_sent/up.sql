-- The stats endpoint's first-response query looks up, for each conversation not answered within
-- its window, the business's first send to that customer after it (StatsStore). With only
-- `outbound_participant` (ordered by `created_at`) that probe read every send to the customer,
-- or all of the account's sent rows after the moment (tens of milliseconds per probe for one
-- busy customer on PostgreSQL); with this index it is one seek, answered from the index alone.
CREATE INDEX outbound_participant_sent ON outbound_messages (account_id, recipient_id, status, updated_at);
