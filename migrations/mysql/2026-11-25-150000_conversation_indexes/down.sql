DROP INDEX outbound_participant ON outbound_messages;
DROP INDEX outbound_history ON outbound_messages;
