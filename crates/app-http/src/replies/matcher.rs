//! [`CompiledRules`]: one account's enabled rules compiled into automata, so that choosing the
//! rule that answers a message costs about the same for 1,000 rules as for one.
//!
//! - `exact` patterns, folded (`fold.rs`), are keys of a hash map: one lookup of the folded text.
//! - `contains` and `keyword` patterns, folded, are one Aho-Corasick automaton: one pass over
//!   the folded text reports every occurrence of every pattern; a `keyword` occurrence counts
//!   only with no letter or digit right before or after it.
//! - `regex` patterns are one `RegexSet` run over the text as received: one pass reports every
//!   pattern that matches. The `regex` crate matches in linear time (no backtracking), and every
//!   pattern was compiled within [`REGEX_SIZE_LIMIT`] when it was written.
//!
//! Rules are ranked by priority (highest first), then age (oldest first), then id: the best
//! rank among all matches wins.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind as AcMatchKind};
use domain::{MatchKind, ReplyRule, ValidationError};
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use super::fold::{fold, is_word};

/// Most memory one rule's compiled regex may take. Enough for any reasonable pattern (a few
/// hundred alternatives, Unicode classes); a pattern that blows up when compiled, like
/// `(\w{100}){100}`, is refused when the rule is written.
pub const REGEX_SIZE_LIMIT: usize = 256 * 1024;
/// Most memory the lazy DFA of one rule's regex may use while matching.
pub const REGEX_DFA_SIZE_LIMIT: usize = 1024 * 1024;
/// Deepest nesting of groups and repetitions a regex may have.
pub const REGEX_NEST_LIMIT: u32 = 64;
/// Most memory the regexes of one account take together, compiled as one set.
const SET_SIZE_LIMIT: usize = 64 * 1024 * 1024;
/// Most memory the lazy DFA of one account's set may use while matching.
const SET_DFA_SIZE_LIMIT: usize = 16 * 1024 * 1024;

/// Compiles a rule's regex within the per-rule limits.
///
/// # Errors
/// A [`ValidationError`] for `pattern` with the compiler's reason: a syntax error, or a pattern
/// over [`REGEX_SIZE_LIMIT`] or [`REGEX_NEST_LIMIT`].
pub fn compile_regex(pattern: &str) -> Result<Regex, ValidationError> {
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_SIZE_LIMIT)
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .map_err(|error| {
            let reason = match error {
                regex::Error::CompiledTooBig(_) => {
                    "is too large once compiled (nested or long repetitions); simplify it"
                        .to_owned()
                }
                other => format!("is not a valid regular expression: {other}"),
            };
            ValidationError::new("pattern", reason)
        })
}

/// One account's enabled rules, ready to match.
#[derive(Debug, Default)]
pub struct CompiledRules {
    /// The enabled rules, best rank first.
    ranked: Vec<ReplyRule>,
    /// Folded `exact` pattern → the best rank with it.
    exact: HashMap<String, usize>,
    /// Folded `contains` and `keyword` patterns.
    substrings: Option<AhoCorasick>,
    /// Per pattern of `substrings`, the rules with it: (rank, whole word only), best first.
    substring_rules: Vec<Vec<(usize, bool)>>,
    /// The `regex` rules.
    regexes: Regexes,
}

/// The `regex` rules of an account.
#[derive(Debug, Default)]
enum Regexes {
    /// None.
    #[default]
    None,
    /// All in one set; the rank of each set member.
    Set(RegexSet, Vec<usize>),
    /// One by one, best rank first, when the set would be over its limits.
    Each(Vec<(Regex, usize)>),
}

impl CompiledRules {
    /// Compiles `rules` (any order; disabled ones and patterns that do not compile any more are
    /// left out).
    pub fn compile(rules: &[ReplyRule]) -> Self {
        let mut ranked: Vec<ReplyRule> = rules.iter().filter(|r| r.enabled).cloned().collect();
        ranked.sort_by(|a, b| {
            b.priority
                .cmp(&a.priority)
                .then(a.created_at.cmp(&b.created_at))
                .then_with(|| a.id.as_str().cmp(b.id.as_str()))
        });
        let mut exact = HashMap::new();
        let mut patterns: Vec<String> = Vec::new();
        let mut substring_rules: Vec<Vec<(usize, bool)>> = Vec::new();
        let mut by_pattern: HashMap<String, usize> = HashMap::new();
        let mut regexes = Vec::new();
        for (rank, rule) in ranked.iter().enumerate() {
            match rule.match_kind {
                MatchKind::Exact => {
                    exact.entry(fold(&rule.pattern)).or_insert(rank);
                }
                MatchKind::Contains | MatchKind::Keyword => {
                    let folded = fold(&rule.pattern);
                    if folded.is_empty() {
                        continue;
                    }
                    let index = *by_pattern.entry(folded.clone()).or_insert_with(|| {
                        patterns.push(folded);
                        substring_rules.push(Vec::new());
                        patterns.len() - 1
                    });
                    substring_rules[index].push((rank, rule.match_kind == MatchKind::Keyword));
                }
                MatchKind::Regex => regexes.push((rule, rank)),
            }
        }
        Self {
            substrings: substring_automaton(&patterns),
            substring_rules,
            exact,
            regexes: compile_regexes(&regexes),
            ranked,
        }
    }

    /// How many enabled rules there are.
    pub fn len(&self) -> usize {
        self.ranked.len()
    }

    /// True without enabled rules.
    pub fn is_empty(&self) -> bool {
        self.ranked.is_empty()
    }

    /// The rule that answers `text`: the best-ranked enabled rule that matches it.
    pub fn best_match(&self, text: &str) -> Option<&ReplyRule> {
        if self.ranked.is_empty() {
            return None;
        }
        let folded = fold(text);
        let mut best = self.exact.get(&folded).copied().unwrap_or(usize::MAX);
        if let Some(automaton) = &self.substrings {
            for found in automaton.find_overlapping_iter(&folded) {
                let rules = &self.substring_rules[found.pattern().as_usize()];
                // Best rank first: the first rule that matches here is this pattern's best.
                for &(rank, whole_word) in rules.iter().take_while(|(rank, _)| *rank < best) {
                    if !whole_word || is_whole_word(&folded, found.start(), found.end()) {
                        best = rank;
                        break;
                    }
                }
            }
        }
        best = best.min(self.regex_match(text, best));
        self.ranked.get(best)
    }

    /// The best rank among the regex rules that match `text`, if better than `best`.
    fn regex_match(&self, text: &str, best: usize) -> usize {
        match &self.regexes {
            Regexes::None => best,
            Regexes::Set(set, ranks) => {
                // Every member's rank is at least the first one's: nothing better can come.
                if ranks.first().is_none_or(|first| *first >= best) {
                    return best;
                }
                set.matches(text)
                    .iter()
                    .map(|member| ranks[member])
                    .min()
                    .map_or(best, |rank| rank.min(best))
            }
            Regexes::Each(each) => each
                .iter()
                .take_while(|(_, rank)| *rank < best)
                .find(|(regex, _)| regex.is_match(text))
                .map_or(best, |(_, rank)| *rank),
        }
    }
}

/// Whether `folded[start..end]` stands as whole words: no word character right before or after
/// it, where its own first or last character is one (a pattern that starts or ends with a symbol,
/// like `c++`, needs no boundary on that side).
fn is_whole_word(folded: &str, start: usize, end: usize) -> bool {
    let found = &folded[start..end];
    let before_ok = !found.chars().next().is_some_and(is_word)
        || !folded[..start].chars().next_back().is_some_and(is_word);
    let after_ok = !found.chars().next_back().is_some_and(is_word)
        || !folded[end..].chars().next().is_some_and(is_word);
    before_ok && after_ok
}

/// The automaton over `patterns`, `None` without any. A DFA: built once per change of the rules,
/// searched on every message.
fn substring_automaton(patterns: &[String]) -> Option<AhoCorasick> {
    if patterns.is_empty() {
        return None;
    }
    let built = AhoCorasick::builder()
        .match_kind(AcMatchKind::Standard)
        .kind(Some(AhoCorasickKind::DFA))
        .build(patterns)
        .or_else(|_| {
            // A DFA over very many long patterns can be over the crate's own limits: the
            // automaton it picks itself is slower but has none.
            AhoCorasick::builder()
                .match_kind(AcMatchKind::Standard)
                .build(patterns)
        });
    match built {
        Ok(automaton) => Some(automaton),
        Err(error) => {
            tracing::error!(error = %error, "could not build the keyword automaton: contains and keyword rules are off");
            None
        }
    }
}

/// The regex rules as one set, or one by one when the set is over its limits. A pattern that
/// does not compile within the per-rule limits (written by an older version) is left out.
fn compile_regexes(rules: &[(&ReplyRule, usize)]) -> Regexes {
    let valid: Vec<(Regex, usize)> = rules
        .iter()
        .filter_map(|(rule, rank)| match compile_regex(&rule.pattern) {
            Ok(regex) => Some((regex, *rank)),
            Err(error) => {
                tracing::warn!(rule.id = %rule.id, reason = %error.reason, "a regex rule does not compile: skipped");
                None
            }
        })
        .collect();
    if valid.is_empty() {
        return Regexes::None;
    }
    let set = RegexSetBuilder::new(valid.iter().map(|(regex, _)| regex.as_str()))
        .size_limit(SET_SIZE_LIMIT)
        .dfa_size_limit(SET_DFA_SIZE_LIMIT)
        .nest_limit(REGEX_NEST_LIMIT)
        .build();
    match set {
        Ok(set) => Regexes::Set(set, valid.iter().map(|(_, rank)| *rank).collect()),
        Err(error) => {
            tracing::warn!(error = %error, rules = valid.len(), "an account's regex rules are too large as one set: matched one by one");
            Regexes::Each(valid)
        }
    }
}

#[cfg(test)]
mod tests {
    use domain::{AccountId, RuleId, Timestamp};

    use super::*;

    fn rule(n: u8, kind: MatchKind, pattern: &str, priority: i32) -> ReplyRule {
        ReplyRule {
            id: RuleId::from_entropy([n; 12]),
            account_id: AccountId::from_entropy([0; 12]),
            match_kind: kind,
            pattern: pattern.to_owned(),
            reply: format!("reply {n}"),
            priority,
            enabled: true,
            cooldown_seconds: 0,
            created_at: Timestamp::from_millis(i64::from(n)),
            updated_at: Timestamp::from_millis(i64::from(n)),
        }
    }

    fn answer<'a>(rules: &'a CompiledRules, text: &str) -> Option<&'a str> {
        rules.best_match(text).map(|rule| rule.reply.as_str())
    }

    #[test]
    fn each_kind_matches_non_ascii_text() {
        let rules = CompiledRules::compile(&[
            rule(1, MatchKind::Exact, "Привет", 0),
            rule(2, MatchKind::Contains, "размер", 0),
            rule(3, MatchKind::Keyword, "café", 0),
            rule(4, MatchKind::Regex, r"^заказ\s*№?\d+$", 0),
        ]);
        assert_eq!(answer(&rules, " ПРИВЕТ\n"), Some("reply 1"));
        assert_eq!(answer(&rules, "Привет!"), None, "exact is the whole text");
        assert_eq!(answer(&rules, "Какие РАЗМЕРЫ есть?"), Some("reply 2"));
        assert_eq!(answer(&rules, "Un CAFE, por favor"), Some("reply 3"));
        assert_eq!(answer(&rules, "cafe\u{301}!"), Some("reply 3"));
        assert_eq!(answer(&rules, "cafeteria"), None, "keyword is a whole word");
        assert_eq!(answer(&rules, "заказ №42"), Some("reply 4"));
        assert_eq!(
            answer(&rules, "Заказ 42"),
            None,
            "regex is case-sensitive as written"
        );
    }

    #[test]
    fn the_best_ranked_match_wins() {
        let rules = CompiledRules::compile(&[
            rule(1, MatchKind::Contains, "price", 1),
            rule(2, MatchKind::Keyword, "price", 5),
            rule(3, MatchKind::Regex, "(?i)price", 5),
            rule(4, MatchKind::Contains, "pric", 9),
        ]);
        assert_eq!(answer(&rules, "PRICE?"), Some("reply 4"));
        let rules = CompiledRules::compile(&[
            rule(1, MatchKind::Contains, "price", 1),
            rule(3, MatchKind::Regex, "(?i)price", 5),
            rule(2, MatchKind::Keyword, "price", 5),
        ]);
        // Same priority: the older rule wins, whatever its kind.
        assert_eq!(answer(&rules, "price?"), Some("reply 2"));
        assert_eq!(answer(&rules, "prices"), Some("reply 3"));
    }

    #[test]
    fn disabled_rules_never_match() {
        let mut off = rule(1, MatchKind::Contains, "hi", 9);
        off.enabled = false;
        let rules = CompiledRules::compile(&[off, rule(2, MatchKind::Contains, "hi", 0)]);
        assert_eq!(rules.len(), 1);
        assert_eq!(answer(&rules, "hi"), Some("reply 2"));
        assert!(CompiledRules::compile(&[]).best_match("hi").is_none());
    }

    #[test]
    fn keyword_boundaries_follow_the_pattern_edges() {
        let rules = CompiledRules::compile(&[
            rule(1, MatchKind::Keyword, "c++", 0),
            rule(2, MatchKind::Keyword, "free shipping", 0),
        ]);
        assert_eq!(answer(&rules, "I like C++!"), Some("reply 1"));
        assert_eq!(answer(&rules, "xc++"), None);
        assert_eq!(answer(&rules, "Free\n  Shipping?"), Some("reply 2"));
        assert_eq!(answer(&rules, "free shippings"), None);
    }

    #[test]
    fn catastrophic_and_invalid_regexes_are_refused() {
        assert!(
            compile_regex(r"(a+)+$").is_ok(),
            "linear in the regex crate"
        );
        let big = compile_regex(r"(\w{100}){100}").unwrap_err();
        assert_eq!(big.field, "pattern");
        assert!(big.reason.contains("too large"), "{}", big.reason);
        let bad = compile_regex("(unclosed").unwrap_err();
        assert!(bad.reason.contains("not a valid"), "{}", bad.reason);
        assert!(compile_regex(&"(".repeat(100)).is_err());
    }
}
