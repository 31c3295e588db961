DROP INDEX outbound_sent;
