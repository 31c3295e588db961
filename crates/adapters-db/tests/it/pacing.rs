//! `SendPacing`: one account's sends are spaced across concurrent reservations (as from several
//! instances), bursts are bounded, holds delay only their account.

use std::time::Duration;

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use domain::ports::SendPacing;
use domain::{AccountId, Timestamp};

use crate::events::stored_account;

backend_tests!(
    concurrent_reservations_get_distinct_spaced_slots,
    a_burst_starts_at_once_then_the_pace_holds,
    a_hold_delays_only_its_account,
    an_unknown_account_may_start_now,
);

const NOW: Timestamp = Timestamp::from_millis(1_700_000_000_000);
const SPACING: Duration = Duration::from_millis(10);

async fn concurrent_reservations_get_distinct_spaced_slots(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let db = test.db.clone();
        let id = account.id.clone();
        tasks.spawn(async move { db.reserve_send_slot(&id, NOW, SPACING, 1).await.unwrap() });
    }
    let mut slots: Vec<i64> = tasks
        .join_all()
        .await
        .into_iter()
        .map(Timestamp::as_millis)
        .collect();
    slots.sort_unstable();
    let offsets: Vec<i64> = slots.iter().map(|at| at - NOW.as_millis()).collect();
    let expected: Vec<i64> = (0..40).map(|n| n * 10).collect();
    assert_eq!(offsets, expected, "one slot every 10 ms, none shared");
}

async fn a_burst_starts_at_once_then_the_pace_holds(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let mut offsets = Vec::new();
    for _ in 0..6 {
        let at = test
            .db
            .reserve_send_slot(&account.id, NOW, SPACING, 3)
            .await
            .unwrap();
        offsets.push(at.as_millis() - NOW.as_millis());
    }
    assert_eq!(offsets, [0, 0, 0, 10, 20, 30]);
    // After a quiet second the burst is available again.
    let later = NOW.plus(Duration::from_secs(1));
    let at = test
        .db
        .reserve_send_slot(&account.id, later, SPACING, 3)
        .await
        .unwrap();
    assert_eq!(at, later);
}

async fn a_hold_delays_only_its_account(test: TestDb) {
    let throttled = stored_account(&test.db, "1").await;
    let other = stored_account(&test.db, "2").await;
    let until = NOW.plus(Duration::from_secs(60));
    test.db.hold_sends(&throttled.id, until).await.unwrap();
    let at = test
        .db
        .reserve_send_slot(&throttled.id, NOW, SPACING, 5)
        .await
        .unwrap();
    assert_eq!(at, until);
    let at = test
        .db
        .reserve_send_slot(&other.id, NOW, SPACING, 5)
        .await
        .unwrap();
    assert_eq!(at, NOW);
    // A shorter hold never pulls the pace back.
    test.db.hold_sends(&throttled.id, NOW).await.unwrap();
    let at = test
        .db
        .reserve_send_slot(&throttled.id, NOW, SPACING, 1)
        .await
        .unwrap();
    assert_eq!(at, until.plus(SPACING));
}

async fn an_unknown_account_may_start_now(test: TestDb) {
    let unknown = AccountId::from_entropy([7; domain::id::ID_SUFFIX_LEN]);
    let at = test
        .db
        .reserve_send_slot(&unknown, NOW, SPACING, 1)
        .await
        .unwrap();
    assert_eq!(at, NOW);
    test.db.hold_sends(&unknown, NOW).await.unwrap();
}
