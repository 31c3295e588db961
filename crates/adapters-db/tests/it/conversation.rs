//! `MessageStore::conversation` conformance: events and sends in one newest-first listing, the
//! participant filter, a cursor that stays put under concurrent inserts, and linked echoes left
//! out.

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use domain::ports::{MessageStore, OutboundQueue};
use domain::{
    Direction, EventKind, HistoryEntry, InstagramId, Message, MessageId, OutboundMessage,
    PageRequest,
};

use crate::events::{inbound, outbound, record, stored_account};

backend_tests!(
    events_and_sends_are_listed_newest_first,
    the_participant_filter_applies_to_both_kinds,
    pages_continue_after_the_cursor_under_concurrent_inserts,
    an_event_linked_to_a_send_is_listed_once,
);

/// Every entry of the account's conversation (for `participant`), page by page of `limit`.
async fn walk(
    test: &TestDb,
    account: &domain::AccountId,
    participant: Option<&InstagramId>,
    limit: u32,
) -> Vec<HistoryEntry> {
    let mut seen = Vec::new();
    let mut page = PageRequest::new(Some(limit), None).unwrap();
    loop {
        let result = test
            .db
            .conversation(account, participant, &page)
            .await
            .unwrap();
        assert!(result.items.len() <= usize::try_from(limit).unwrap());
        seen.extend(result.items);
        match result.next {
            Some(cursor) => page = PageRequest::new(Some(limit), Some(cursor)).unwrap(),
            None => return seen,
        }
    }
}

fn ids(entries: &[HistoryEntry]) -> Vec<MessageId> {
    entries.iter().map(|entry| entry.id().clone()).collect()
}

/// Newest first by (time, id), as the port promises.
fn sorted(mut entries: Vec<HistoryEntry>) -> Vec<HistoryEntry> {
    entries.sort_by(|a, b| (b.at(), b.id().as_str()).cmp(&(a.at(), a.id().as_str())));
    entries
}

async fn enqueue(test: &TestDb, message: &OutboundMessage) {
    test.db.enqueue_outbound(message).await.unwrap();
}

async fn events_and_sends_are_listed_newest_first(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let first = inbound(&account, "5", "m-10", 10);
    let third = inbound(&account, "5", "m-30", 30);
    let mut auto_reply = record(&account, third.clone());
    auto_reply.auto_reply = Some(outbound(&account, "5", 31));
    let reply = auto_reply.auto_reply.clone().unwrap();
    test.db
        .ingest(vec![record(&account, first.clone()), auto_reply])
        .await
        .unwrap();
    let second = outbound(&account, "5", 20);
    let fourth = outbound(&account, "5", 40);
    enqueue(&test, &second).await;
    enqueue(&test, &fourth).await;

    let listed = test
        .db
        .conversation(&account.id, None, &PageRequest::first())
        .await
        .unwrap();

    assert_eq!(
        listed.items,
        vec![
            HistoryEntry::Sent(fourth),
            HistoryEntry::Sent(reply),
            HistoryEntry::Event(third),
            HistoryEntry::Sent(second),
            HistoryEntry::Event(first),
        ]
    );
    assert_eq!(listed.next, None);
    let other = stored_account(&test.db, "2").await;
    let empty = test
        .db
        .conversation(&other.id, None, &PageRequest::first())
        .await
        .unwrap();
    assert!(empty.items.is_empty());
}

async fn the_participant_filter_applies_to_both_kinds(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let other_account = stored_account(&test.db, "2").await;
    let mut expected = Vec::new();
    let mut records = Vec::new();
    for n in 0..6_i64 {
        let customer = if n % 2 == 0 { "alice" } else { "bob" };
        let event = inbound(&account, customer, &format!("m{n}"), 100 + n);
        let send = outbound(&account, customer, 100 + n);
        enqueue(&test, &send).await;
        if customer == "alice" {
            expected.push(HistoryEntry::Event(event.clone()));
            expected.push(HistoryEntry::Sent(send));
        }
        records.push(record(&account, event));
    }
    // The same customer writing to another account is another conversation.
    records.push(record(
        &other_account,
        inbound(&other_account, "alice", "x", 103),
    ));
    enqueue(&test, &outbound(&other_account, "alice", 104)).await;
    test.db.ingest(records).await.unwrap();

    let alice = InstagramId::parse("participant_id", "alice").unwrap();
    let listed = walk(&test, &account.id, Some(&alice), 2).await;

    assert_eq!(listed, sorted(expected));
    assert_eq!(listed.len(), 6);
    assert!(listed.iter().all(|entry| *entry.participant_id() == alice));
}

async fn pages_continue_after_the_cursor_under_concurrent_inserts(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let mut all = Vec::new();
    let mut records = Vec::new();
    // Events and sends share timestamps, so the id breaks ties across the two tables.
    for n in 0..7_i64 {
        let event = inbound(&account, "5", &format!("m{n}"), 1_000 + n / 2);
        let send = outbound(&account, "5", 1_000 + n / 2);
        enqueue(&test, &send).await;
        all.push(HistoryEntry::Event(event.clone()));
        all.push(HistoryEntry::Sent(send));
        records.push(record(&account, event));
    }
    test.db.ingest(records).await.unwrap();
    let expected = sorted(all);
    assert_eq!(walk(&test, &account.id, None, 14).await, expected);

    let mut seen = Vec::new();
    let mut page = PageRequest::new(Some(3), None).unwrap();
    let mut inserted = 0_i64;
    loop {
        let result = test
            .db
            .conversation(&account.id, None, &page)
            .await
            .unwrap();
        seen.extend(result.items);
        // Newer entries of both kinds arrive between every two pages.
        inserted += 1;
        enqueue(&test, &outbound(&account, "5", 5_000 + inserted)).await;
        test.db
            .ingest(vec![record(
                &account,
                inbound(&account, "5", &format!("new-{inserted}"), 5_000 + inserted),
            )])
            .await
            .unwrap();
        match result.next {
            Some(cursor) => page = PageRequest::new(Some(3), Some(cursor)).unwrap(),
            None => break,
        }
    }

    assert_eq!(ids(&seen), ids(&expected), "no entry repeated or skipped");
    assert_eq!(inserted, 5);
}

async fn an_event_linked_to_a_send_is_listed_once(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let send = outbound(&account, "5", 50);
    enqueue(&test, &send).await;
    // The echo of our own send, as echo linking stores it.
    let mut echo: Message = inbound(&account, "5", "mid-of-our-send", 51);
    echo.kind = EventKind::Echo;
    echo.direction = Direction::Outbound;
    echo.sender_id = account.instagram_account_id.clone();
    echo.recipient_id = InstagramId::parse("recipient_id", "5").unwrap();
    echo.outbound_message_id = Some(send.id.clone());
    let unrelated_echo = {
        let mut other = inbound(&account, "5", "sent-from-the-app", 52);
        other.kind = EventKind::Echo;
        other.direction = Direction::Outbound;
        other
    };
    test.db
        .ingest(vec![
            record(&account, echo.clone()),
            record(&account, unrelated_echo.clone()),
        ])
        .await
        .unwrap();

    let listed = walk(&test, &account.id, None, 50).await;

    assert_eq!(
        listed,
        vec![
            HistoryEntry::Event(unrelated_echo),
            HistoryEntry::Sent(send)
        ]
    );
    let events = test
        .db
        .history(&account.id, None, &PageRequest::first())
        .await
        .unwrap();
    assert_eq!(
        events.items.len(),
        2,
        "history still holds every stored event"
    );
}
