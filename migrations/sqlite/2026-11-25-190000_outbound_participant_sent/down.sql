DROP INDEX outbound_participant_sent;
