ALTER TABLE accounts DROP COLUMN next_send_at_us;
