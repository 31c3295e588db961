//! `ReplyRuleStore` conformance.

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use domain::ports::{AccountStore, ReplyRuleStore, RuleStoreError, StoreError};
use domain::{AccountId, MatchKind, ReplyRule, RuleId};

use crate::fixtures::{self, at};

backend_tests!(
    rules_round_trip_every_field,
    create_for_unknown_account_is_refused,
    duplicate_rule_id_is_a_store_error,
    missing_rules_are_none_or_false,
    rules_for_account_are_by_priority_then_age_then_id,
    update_replaces_only_editable_fields,
    delete_removes_the_rule,
    deleting_an_account_deletes_its_rules,
    unreachable_backend_is_unavailable,
);

async fn account(test: &TestDb, instagram_id: &str) -> AccountId {
    let account = fixtures::account(instagram_id);
    test.db.create_account(&account).await.unwrap();
    account.id
}

/// Exactly 1000 bytes of Cyrillic, accents, emoji and ASCII.
fn thousand_byte_reply() -> String {
    let mut reply = String::from("Здравствуйте, {username}! ");
    for ch in ['é', 'Ж', '🎉', 'ç', ' ', 'ü', '👋', 'я']
        .into_iter()
        .cycle()
    {
        if reply.len() + ch.len_utf8() > 1000 {
            break;
        }
        reply.push(ch);
    }
    while reply.len() < 1000 {
        reply.push('.');
    }
    assert_eq!(reply.len(), 1000);
    assert!(reply.chars().count() < 1000, "multi-byte text, not ASCII");
    reply
}

async fn rules_round_trip_every_field(test: TestDb) {
    let account = account(&test, "1").await;
    let patterns = [
        "Привет 👋",
        "café crème",
        "ÑANDÚ 🦤 ünïcödé",
        r"^(цена|price)\s*\?$",
    ];
    let mut created = Vec::new();
    for (index, (kind, pattern)) in MatchKind::ALL.into_iter().zip(patterns).enumerate() {
        let index = i64::try_from(index).unwrap();
        let rule = ReplyRule {
            match_kind: kind,
            pattern: pattern.to_owned(),
            reply: thousand_byte_reply(),
            priority: i32::MIN + i32::try_from(index).unwrap(),
            enabled: index % 2 == 0,
            cooldown_seconds: u32::MAX - u32::try_from(index).unwrap(),
            created_at: at(1_000 + index),
            updated_at: at(5_000 + index),
            ..fixtures::rule(&account)
        };
        test.db.create_rule(&rule).await.unwrap();
        created.push(rule);
    }
    for rule in &created {
        assert_eq!(test.db.rule(&rule.id).await.unwrap().as_ref(), Some(rule));
    }
    // Same priority order as creation, since priorities rise with the index: reverse it.
    created.reverse();
    assert_eq!(test.db.rules_for_account(&account).await.unwrap(), created);
}

async fn create_for_unknown_account_is_refused(test: TestDb) {
    let ghost = fixtures::account("2").id;
    let rule = fixtures::rule(&ghost);
    let error = test.db.create_rule(&rule).await.unwrap_err();
    assert!(matches!(error, RuleStoreError::UnknownAccount), "{error:?}");
    assert_eq!(test.db.rule(&rule.id).await.unwrap(), None);

    // The account existing is all it takes: the same rule then goes in.
    let real = account(&test, "3").await;
    let rule = ReplyRule {
        account_id: real,
        ..rule
    };
    test.db.create_rule(&rule).await.unwrap();
    assert_eq!(test.db.rule(&rule.id).await.unwrap(), Some(rule));
}

async fn duplicate_rule_id_is_a_store_error(test: TestDb) {
    let account = account(&test, "4").await;
    let rule = fixtures::rule(&account);
    test.db.create_rule(&rule).await.unwrap();
    let error = test.db.create_rule(&rule).await.unwrap_err();
    assert!(
        matches!(error, RuleStoreError::Store(StoreError::Backend(_))),
        "an existing id is not an unknown account: {error:?}"
    );
}

async fn missing_rules_are_none_or_false(test: TestDb) {
    let account = account(&test, "5").await;
    let ghost = fixtures::rule(&account);
    assert_eq!(test.db.rule(&ghost.id).await.unwrap(), None);
    assert!(!test.db.update_rule(&ghost).await.unwrap());
    assert!(!test.db.delete_rule(&ghost.id).await.unwrap());
    assert_eq!(
        test.db.rule(&ghost.id).await.unwrap(),
        None,
        "update must not insert"
    );
    assert_eq!(test.db.rules_for_account(&account).await.unwrap(), vec![]);
    let unknown_account = fixtures::account("6").id;
    assert_eq!(
        test.db.rules_for_account(&unknown_account).await.unwrap(),
        vec![]
    );
}

async fn rules_for_account_are_by_priority_then_age_then_id(test: TestDb) {
    let mine = account(&test, "7").await;
    let theirs = account(&test, "8").await;
    let rule = |id: &str, priority: i32, created_at: i64| ReplyRule {
        id: RuleId::parse(id).unwrap(),
        priority,
        created_at: at(created_at),
        ..fixtures::rule(&mine)
    };
    let expected = vec![
        rule("rul_00000000000a", 10, 3_000),
        rule("rul_00000000000b", 5, 1_000),
        // Same priority and age: the smaller id first.
        rule("rul_00000000000c", 5, 2_000),
        rule("rul_00000000000d", 5, 2_000),
        rule("rul_00000000000e", -1, 500),
    ];
    // Stored in an order that matches none of the sort keys.
    for index in [3, 4, 2, 0, 1] {
        test.db.create_rule(&expected[index]).await.unwrap();
    }
    let other = ReplyRule {
        id: RuleId::parse("rul_000000000000").unwrap(),
        priority: 100,
        ..fixtures::rule(&theirs)
    };
    test.db.create_rule(&other).await.unwrap();

    assert_eq!(test.db.rules_for_account(&mine).await.unwrap(), expected);
    assert_eq!(
        test.db.rules_for_account(&theirs).await.unwrap(),
        vec![other]
    );
}

async fn update_replaces_only_editable_fields(test: TestDb) {
    let account = account(&test, "9").await;
    let original = fixtures::rule(&account);
    test.db.create_rule(&original).await.unwrap();

    let edited = ReplyRule {
        match_kind: MatchKind::Regex,
        pattern: "(?i)доставка|livraison 🚚".to_owned(),
        reply: thousand_byte_reply(),
        priority: -7,
        enabled: false,
        cooldown_seconds: 0,
        updated_at: at(9_999_000),
        ..original.clone()
    };
    assert!(test.db.update_rule(&edited).await.unwrap());
    assert_eq!(
        test.db.rule(&edited.id).await.unwrap(),
        Some(edited.clone())
    );

    // The same values again still name an existing rule (MySQL counts matched rows, not changed).
    assert!(test.db.update_rule(&edited).await.unwrap());

    // The account and creation time are not editable.
    let other_account = self::account(&test, "10").await;
    let moved = ReplyRule {
        account_id: other_account.clone(),
        created_at: at(1),
        ..edited.clone()
    };
    assert!(test.db.update_rule(&moved).await.unwrap());
    assert_eq!(test.db.rule(&edited.id).await.unwrap(), Some(edited));
    assert_eq!(
        test.db.rules_for_account(&other_account).await.unwrap(),
        vec![]
    );
}

async fn delete_removes_the_rule(test: TestDb) {
    let account = account(&test, "11").await;
    let doomed = fixtures::rule(&account);
    let kept = fixtures::rule(&account);
    test.db.create_rule(&doomed).await.unwrap();
    test.db.create_rule(&kept).await.unwrap();

    assert!(test.db.delete_rule(&doomed.id).await.unwrap());
    assert!(!test.db.delete_rule(&doomed.id).await.unwrap());
    assert_eq!(test.db.rule(&doomed.id).await.unwrap(), None);
    assert_eq!(
        test.db.rules_for_account(&account).await.unwrap(),
        vec![kept]
    );
}

async fn deleting_an_account_deletes_its_rules(test: TestDb) {
    let gone = account(&test, "12").await;
    let stays = account(&test, "13").await;
    let doomed = fixtures::rule(&gone);
    let kept = fixtures::rule(&stays);
    test.db.create_rule(&doomed).await.unwrap();
    test.db.create_rule(&kept).await.unwrap();

    assert!(test.db.delete_account(&gone).await.unwrap());
    assert_eq!(test.db.rule(&doomed.id).await.unwrap(), None);
    assert_eq!(test.db.rules_for_account(&gone).await.unwrap(), vec![]);
    assert_eq!(test.db.rule(&kept.id).await.unwrap(), Some(kept));
}

async fn unreachable_backend_is_unavailable(test: TestDb) {
    let down = fixtures::unreachable(&test);
    let rule = fixtures::rule(&fixtures::account("14").id);
    let errors = [
        down.create_rule(&rule).await.unwrap_err(),
        down.rule(&rule.id).await.unwrap_err(),
        down.rules_for_account(&rule.account_id).await.unwrap_err(),
        down.update_rule(&rule).await.unwrap_err(),
        down.delete_rule(&rule.id).await.unwrap_err(),
    ];
    for error in &errors {
        assert!(
            matches!(error, RuleStoreError::Store(store) if fixtures::is_unavailable(store)),
            "{error:?}"
        );
    }
}
