DROP INDEX outbound_participant;
DROP INDEX outbound_history;
