//! Shared test helpers: fixture files from `../shared/fixtures/instagram/` and parsing shortcuts.

use std::path::PathBuf;

use adapters_instagram::{
    InboundEvent, ItemList, ItemPosition, ItemRef, ParsedWebhook, SkipReason, parse_webhook,
};

/// The fixtures folder: `shared/` sits beside the repository (`X/main` next to `X/shared`).
pub(crate) fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/instagram")
}

/// A fixture's exact bytes.
pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
}

/// Parses a body that must be a JSON object.
pub(crate) fn parse(body: &[u8]) -> ParsedWebhook {
    parse_webhook(body).expect("the body is a JSON object")
}

/// Parses a body that must give exactly one event and skip nothing.
pub(crate) fn single_event(body: &[u8]) -> InboundEvent {
    let parsed = parse(body);
    assert!(parsed.skipped.is_empty(), "skipped: {:?}", parsed.skipped);
    assert_eq!(parsed.events.len(), 1, "events: {:?}", parsed.events);
    parsed.events.into_iter().next().unwrap()
}

/// Parses a body that must give no event and exactly one skipped item.
pub(crate) fn single_skip(body: &[u8]) -> SkipReason {
    let parsed = parse(body);
    assert!(parsed.events.is_empty(), "events: {:?}", parsed.events);
    assert_eq!(parsed.skipped.len(), 1, "skipped: {:?}", parsed.skipped);
    parsed.skipped.into_iter().next().unwrap().reason
}

/// A body with one `instagram` entry for business `biz`, entry time 1000000000000 and the given
/// messaging items (JSON text).
pub(crate) fn body_with_items(items: &[&str]) -> Vec<u8> {
    format!(
        r#"{{"object":"instagram","entry":[{{"id":"biz","time":1000000000000,"messaging":[{}]}}]}}"#,
        items.join(",")
    )
    .into_bytes()
}

/// A messaging item from `cust` to `biz` at 1700000000000 with `event` (e.g. `"message":{…}`).
pub(crate) fn item(event: &str) -> String {
    format!(
        r#"{{"sender":{{"id":"cust"}},"recipient":{{"id":"biz"}},"timestamp":1700000000000,{event}}}"#
    )
}

/// The position of `messaging[index]` in `entry[entry]`.
pub(crate) fn messaging(entry: usize, index: usize) -> ItemPosition {
    ItemPosition {
        entry,
        item: Some(ItemRef {
            list: ItemList::Messaging,
            index,
        }),
    }
}
