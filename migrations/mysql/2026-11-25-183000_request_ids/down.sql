ALTER TABLE outbound_messages DROP COLUMN request_id;
ALTER TABLE crm_deliveries DROP COLUMN request_id;
