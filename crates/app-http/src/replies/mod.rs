//! Auto-replies: the rules an account answers inbound messages with, and what it takes to
//! answer fast and right.
//!
//! - `rules.rs`: the rule use cases behind `/api/v1/accounts/{id}/rules` (validation, then the
//!   write, then the local cache forgets the account);
//! - `matcher.rs`: one account's rules compiled into a hash map, an Aho-Corasick automaton (which
//!   also finds the regexes' literals) and a `RegexSet` of the regexes without literals, so
//!   matching a message against 1,000 rules is one pass of each plus the few regexes whose
//!   literals the message contains;
//! - `literals.rs`: the literals a regex's matches must contain, from its syntax tree;
//! - `fold.rs`: the case- and accent-insensitive form `exact`, `contains` and `keyword` compare;
//! - `cache.rs`: compiled rules per account, in memory, reloaded after a few seconds (why not
//!   a stamp per message is explained there);
//! - `username.rs`: `{username}`, filled in by the send worker from a cached Graph profile.
//!
//! The ingest use case (`ingest/`) picks the rule and queues the reply in the transaction that
//! stores the message; the database enforces the cooldown there (`MessageStore::ingest`).

mod cache;
mod fold;
mod literals;
mod matcher;
mod rules;
mod username;

pub use cache::{RULES_TTL, RuleCache};
pub use matcher::{
    CompiledRules, REGEX_DFA_SIZE_LIMIT, REGEX_NEST_LIMIT, REGEX_SIZE_LIMIT, compile_regex,
};
pub(crate) use rules::{
    Created, MAX_COOLDOWN_SECONDS, RULE_LIMIT_REACHED, RuleChanges, RuleInput, RuleWriteError,
    create_rule, delete_rule, update_rule,
};
pub use username::{
    FAILED_LOOKUP_TTL, PLACEHOLDER, PROFILE_LOOKUP_TIMEOUT, PROFILE_TTL, ProfileCache, fill,
};
