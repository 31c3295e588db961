DROP INDEX outbound_sent ON outbound_messages;
