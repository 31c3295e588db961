-- The request (X-Request-Id) that queued each CRM delivery and each send: sent again with every
-- attempt, so the CRM's and Meta's logs can be matched with ours. Empty for rows written before.
ALTER TABLE crm_deliveries ADD COLUMN request_id VARCHAR(128);
ALTER TABLE outbound_messages ADD COLUMN request_id VARCHAR(128);
