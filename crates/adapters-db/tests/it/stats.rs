//! `StatsStore` conformance: what each daily count counts, the UTC day buckets, echoes of our
//! own sends counted once, first-response percentiles, and account isolation.

use std::time::Duration;

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use chrono::NaiveDate;
use domain::ports::{DeliveryQueue, MessageStore, OutboundQueue, StatsStore};
use domain::stats::{DAY_MILLIS, midnight};
use domain::{
    Account, DailyCounts, DeliveryAttempt, DeliveryNext, Direction, EventKind, InboundRecord,
    InstagramMessageId, Message, MessageId, OutboundContent, OutboundMessage, RuleId, SendResult,
    StatsRange, Timestamp,
};

use crate::events::{delivery, inbound, stored_account};
use crate::fixtures::entropy;

const LEASE: Duration = Duration::from_secs(60);
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

backend_tests!(
    daily_counts_follow_their_definitions_and_utc_days,
    first_response_percentiles_interpolate,
    an_account_without_activity_has_every_day_at_zero,
);

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// Midnight UTC starting 2026-11-01, the first day of every range here.
fn nov1() -> i64 {
    midnight(date("2026-11-01")).as_millis()
}

fn range(from: &str, to: &str) -> StatsRange {
    StatsRange::new(date(from), date(to)).unwrap()
}

async fn store(test: &TestDb, message: Message) {
    test.db
        .ingest(vec![InboundRecord {
            message,
            delivery: None,
            auto_reply: None,
        }])
        .await
        .unwrap();
}

/// A customer's message to `account` at `at`.
async fn customer_says(test: &TestDb, account: &Account, customer: &str, at: i64) {
    let mid = format!("m-in-{customer}-{at}-{}", entropy()[0]);
    store(test, inbound(account, customer, &mid, at)).await;
}

/// The echo, at `at`, of a message the business sent to `customer` with Meta id `mid`.
fn echo(account: &Account, customer: &str, mid: &str, at: i64) -> Message {
    let mut message = inbound(account, customer, mid, at);
    message.kind = EventKind::Echo;
    message.direction = Direction::Outbound;
    message.sender_id = account.instagram_account_id.clone();
    message.recipient_id = message.participant_id.clone();
    message.event_key = Message::event_key_for(
        EventKind::Echo,
        Some(mid),
        account.instagram_account_id.as_str(),
        message.occurred_at,
        "",
    );
    message
}

/// A message the business sent to `customer` from the Instagram app at `at` (its echo).
async fn business_app_says(test: &TestDb, account: &Account, customer: &str, at: i64) {
    let mid = format!("m-app-{customer}-{at}-{}", entropy()[0]);
    store(test, echo(account, customer, &mid, at)).await;
}

/// A send to `customer` queued at `queued_at` and recorded as sent at `sent_at` with Meta id
/// `mid`; `rule` marks an auto-reply.
async fn igrouter_sends(
    test: &TestDb,
    account: &Account,
    customer: &str,
    (queued_at, sent_at): (i64, i64),
    rule: Option<RuleId>,
    mid: &str,
) -> OutboundMessage {
    let message = queued(account, customer, queued_at, rule);
    test.db.enqueue_outbound(&message).await.unwrap();
    let claimed = test
        .db
        .claim_due_outbound(Timestamp::from_millis(sent_at), 10, LEASE, &[])
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    test.db
        .finish_outbound(
            &message.id,
            claimed[0].attempts,
            SendResult::Sent {
                instagram_message_id: InstagramMessageId::parse("mid", mid).unwrap(),
            },
            None,
            Timestamp::from_millis(sent_at),
        )
        .await
        .unwrap();
    message
}

fn queued(account: &Account, customer: &str, at: i64, rule: Option<RuleId>) -> OutboundMessage {
    OutboundMessage::new_pending(
        MessageId::from_entropy(entropy()),
        account.id.clone(),
        domain::InstagramId::parse("recipient_id", customer).unwrap(),
        OutboundContent::text("thanks!").unwrap(),
        rule,
        Timestamp::from_millis(at),
    )
}

/// A reaction (not a message) at `at`, carrying a CRM delivery queued at `at`.
async fn reaction_with_delivery(test: &TestDb, account: &Account, at: i64) -> domain::EventId {
    let mut message = inbound(account, "9", &format!("m-r-{at}-{}", entropy()[0]), at);
    message.kind = EventKind::Reaction;
    message.event_key = format!("reaction:{}", message.id);
    let delivery = delivery(account, Some(&message), at);
    let id = delivery.id.clone();
    test.db
        .ingest(vec![InboundRecord {
            message,
            delivery: Some(delivery),
            auto_reply: None,
        }])
        .await
        .unwrap();
    id
}

fn counts(
    messages_in: u64,
    messages_out: u64,
    auto_replies: u64,
    deliveries_ok: u64,
    deliveries_failed: u64,
) -> DailyCounts {
    DailyCounts {
        messages_in,
        messages_out,
        auto_replies,
        deliveries_ok,
        deliveries_failed,
    }
}

async fn daily_counts_follow_their_definitions_and_utc_days(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let other = stored_account(&test.db, "2").await;
    let day = nov1();

    // Customer messages, by Meta's time, on both sides of each UTC midnight.
    customer_says(&test, &account, "5", day - 1).await; // 31 Oct: before the range
    customer_says(&test, &account, "5", day).await; // 1 Nov, first millisecond
    customer_says(&test, &account, "6", day + DAY_MILLIS - 1).await; // 1 Nov, last millisecond
    customer_says(&test, &account, "5", day + DAY_MILLIS).await; // 2 Nov
    customer_says(&test, &account, "5", day + 3 * DAY_MILLIS).await; // 4 Nov: after the range
    customer_says(&test, &other, "5", day + DAY_MILLIS).await; // another account's

    // An API send queued on 1 Nov and sent on 2 Nov counts on 2 Nov.
    igrouter_sends(
        &test,
        &account,
        "5",
        (day + DAY_MILLIS - 1_000, day + DAY_MILLIS + 500),
        None,
        "m-api",
    )
    .await;
    // An auto-reply sent on 3 Nov, whose echo came first (linked when the send was recorded)...
    store(
        &test,
        echo(&account, "6", "m-auto", day + 2 * DAY_MILLIS + 100),
    )
    .await;
    igrouter_sends(
        &test,
        &account,
        "6",
        (day + 2 * DAY_MILLIS, day + 2 * DAY_MILLIS + 200),
        Some(RuleId::from_entropy(entropy())),
        "m-auto",
    )
    .await;
    // ...and the API send's echo, which came after it (linked by ingest in real life; stored
    // unlinked here, so only the send's Meta id ties them): neither echo counts again.
    store(&test, echo(&account, "5", "m-api", day + DAY_MILLIS + 600)).await;
    // A message sent from the Instagram app on 3 Nov counts as out.
    business_app_says(&test, &account, "7", day + 2 * DAY_MILLIS + 5 * HOUR).await;
    // Another account's send.
    igrouter_sends(&test, &other, "5", (day, day + 10), None, "m-other").await;

    // Deliveries queued on 1 Nov (one delivered, one dead) and 2 Nov (delivered), bucketed by
    // the day they were queued; one still pending and one of another account count nowhere.
    let ok_1 = reaction_with_delivery(&test, &account, day + HOUR).await;
    let dead_1 = reaction_with_delivery(&test, &account, day + 2 * HOUR).await;
    let ok_2 = reaction_with_delivery(&test, &account, day + DAY_MILLIS + HOUR).await;
    let theirs = reaction_with_delivery(&test, &other, day + HOUR).await;
    let finish_at = Timestamp::from_millis(day + 3 * DAY_MILLIS + HOUR);
    let claimed = test
        .db
        .claim_due_deliveries(finish_at, 100, LEASE, &[])
        .await
        .unwrap();
    assert_eq!(claimed.len(), 4);
    for (id, next) in [
        (&ok_1, DeliveryNext::Delivered),
        (&dead_1, DeliveryNext::Dead),
        (&ok_2, DeliveryNext::Delivered),
        (&theirs, DeliveryNext::Delivered),
    ] {
        let attempt = DeliveryAttempt {
            number: 1,
            started_at: finish_at,
            http_status: Some(200),
            latency_ms: 5,
            error: None,
            response_excerpt: None,
        };
        test.db
            .record_delivery_attempt(id, &attempt, next, finish_at)
            .await
            .unwrap();
    }
    reaction_with_delivery(&test, &account, day + 3 * HOUR).await;
    // Sends that were not sent count nowhere.
    test.db
        .enqueue_outbound(&queued(&account, "5", day + 4 * HOUR, None))
        .await
        .unwrap();

    let stats = test
        .db
        .account_stats(&account.id, &range("2026-11-01", "2026-11-03"))
        .await
        .unwrap();
    assert_eq!(stats.account_id, account.id);
    let days: Vec<_> = stats
        .days
        .iter()
        .map(|(date, counts)| (date.to_string(), *counts))
        .collect();
    assert_eq!(
        days,
        vec![
            ("2026-11-01".to_owned(), counts(2, 0, 0, 1, 1)),
            ("2026-11-02".to_owned(), counts(1, 1, 0, 1, 0)),
            ("2026-11-03".to_owned(), counts(0, 2, 1, 0, 0)),
        ]
    );
    assert_eq!(stats.totals(), counts(3, 3, 1, 2, 1));

    // A one-day range right after a midnight holds only that day.
    let single = test
        .db
        .account_stats(&account.id, &range("2026-11-02", "2026-11-02"))
        .await
        .unwrap();
    assert_eq!(
        single.days,
        vec![(date("2026-11-02"), counts(1, 1, 0, 1, 0))]
    );
    // The other account sees only its own.
    let theirs = test
        .db
        .account_stats(&other.id, &range("2026-11-01", "2026-11-03"))
        .await
        .unwrap();
    assert_eq!(theirs.totals(), counts(1, 1, 0, 1, 0));
}

async fn first_response_percentiles_interpolate(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let other = stored_account(&test.db, "2").await;
    let day2 = nov1() + DAY_MILLIS;

    // Ten conversations started on 2 Nov, answered after 1..10 minutes: odd ones by igrouter
    // (an API send or an auto-reply), even ones from the Instagram app.
    for n in 1..=10_i64 {
        let customer = format!("{}", 100 + n);
        let start = day2 + n * HOUR;
        customer_says(&test, &account, &customer, start).await;
        let answer = start + n * MINUTE;
        if n % 2 == 1 {
            // The echo of our own send carries an earlier time than our record of the send:
            // it must not count as the answer (nor count twice).
            store(
                &test,
                echo(&account, &customer, &format!("m-own-{n}"), answer - 30_000),
            )
            .await;
            igrouter_sends(
                &test,
                &account,
                &customer,
                (start + 1_000, answer),
                (n == 3).then(|| RuleId::from_entropy(entropy())),
                &format!("m-own-{n}"),
            )
            .await;
        } else {
            business_app_says(&test, &account, &customer, answer).await;
        }
        // The customer goes on within the day: the same conversation.
        customer_says(&test, &account, &customer, answer + 2 * HOUR).await;
    }
    // An unanswered conversation.
    customer_says(&test, &account, "120", day2 + 12 * HOUR).await;
    // A conversation that began before the range (23 hours before its first day) and goes on
    // inside it is not one started in the range.
    customer_says(&test, &account, "130", nov1() - 23 * HOUR).await;
    customer_says(&test, &account, "130", nov1() + 20 * MINUTE).await;
    business_app_says(&test, &account, "130", nov1() + 21 * MINUTE).await;
    // A customer the business wrote to first, who answers within the day: not a new one.
    business_app_says(&test, &account, "140", day2 + 13 * HOUR).await;
    customer_says(&test, &account, "140", day2 + 14 * HOUR).await;
    // Back on 1 Nov after two days of silence: a new conversation, answered 2 hours later, on
    // 2 Nov (after a range of 1 Nov alone).
    customer_says(&test, &account, "150", nov1() - 2 * DAY_MILLIS).await;
    customer_says(&test, &account, "150", nov1() + 23 * HOUR).await;
    business_app_says(&test, &account, "150", nov1() + 25 * HOUR).await;
    // Two more on 1 Nov, answered long after the range (past the window the query reads
    // answers from): by igrouter after 19 days, from the app after 9 days.
    customer_says(&test, &account, "160", nov1() + 10 * HOUR).await;
    igrouter_sends(
        &test,
        &account,
        "160",
        (
            nov1() + 19 * DAY_MILLIS,
            nov1() + 19 * DAY_MILLIS + 10 * HOUR,
        ),
        None,
        "m-late",
    )
    .await;
    customer_says(&test, &account, "170", nov1() + 12 * HOUR).await;
    business_app_says(&test, &account, "170", nov1() + 9 * DAY_MILLIS + 12 * HOUR).await;
    // 5 Nov: one conversation, never answered.
    customer_says(&test, &account, "180", nov1() + 4 * DAY_MILLIS).await;
    // Another account's quick answer changes nothing here.
    customer_says(&test, &other, "101", day2 + HOUR).await;
    business_app_says(&test, &other, "101", day2 + HOUR + 1_000).await;

    // 2 Nov: the ten and the unanswered one. Waits 1..10 minutes: the median lies between the
    // 5th and the 6th (5.5 minutes), the 90th percentile at 0.9 × 9 = 8.1 (0-based): the 9th
    // plus a tenth of the way to the 10th (9.1 minutes), as PERCENTILE_CONT has them.
    let stats = test
        .db
        .account_stats(&account.id, &range("2026-11-02", "2026-11-02"))
        .await
        .unwrap();
    let first = stats.first_response;
    assert_eq!((first.conversations, first.answered), (11, 10));
    assert_eq!(first.p50_seconds(), Some(330.0));
    assert_eq!(first.p90_seconds(), Some(546.0));

    // 1 Nov: 150, 160 and 170 started conversations (130's began the day before), all
    // answered after the range. Waits 2 hours, 9 days, 19 days: the median is the middle one,
    // the 90th percentile 80% of the way from the 2nd to the 3rd.
    let first = test
        .db
        .account_stats(&account.id, &range("2026-11-01", "2026-11-01"))
        .await
        .unwrap()
        .first_response;
    assert_eq!((first.conversations, first.answered), (3, 3));
    assert_eq!(first.p50_seconds(), Some(777_600.0));
    assert_eq!(first.p90_seconds(), Some(1_468_800.0));

    // Both days: thirteen waits, 1..10 minutes, 2 hours, 9 and 19 days. The median is the
    // 7th (7 minutes); the 90th percentile sits at 0.9 × 12 = 10.8: 2 hours plus 80% of the
    // way to 9 days.
    let first = test
        .db
        .account_stats(&account.id, &range("2026-11-01", "2026-11-02"))
        .await
        .unwrap()
        .first_response;
    assert_eq!((first.conversations, first.answered), (14, 13));
    assert_eq!(first.p50_seconds(), Some(420.0));
    assert_eq!(first.p90_seconds(), Some(623_520.0));

    let first = test
        .db
        .account_stats(&account.id, &range("2026-11-05", "2026-11-05"))
        .await
        .unwrap()
        .first_response;
    assert_eq!((first.conversations, first.answered), (1, 0));
    assert_eq!((first.p50_seconds(), first.p90_seconds()), (None, None));

    let theirs = test
        .db
        .account_stats(&other.id, &range("2026-11-02", "2026-11-02"))
        .await
        .unwrap()
        .first_response;
    assert_eq!((theirs.conversations, theirs.answered), (1, 1));
    assert_eq!(theirs.p50_seconds(), Some(1.0));
    assert_eq!(theirs.p90_seconds(), Some(1.0));
}

async fn an_account_without_activity_has_every_day_at_zero(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let stats = test
        .db
        .account_stats(&account.id, &range("2024-01-01", "2024-12-31"))
        .await
        .unwrap();
    assert_eq!(stats.days.len(), 366);
    assert!(
        stats
            .days
            .iter()
            .all(|(_, counts)| *counts == DailyCounts::default())
    );
    assert_eq!(stats.days[59].0, date("2024-02-29"));
    assert_eq!(stats.first_response, domain::FirstResponse::default());
    assert_eq!(stats.totals().delivery_success_rate(), None);
}
