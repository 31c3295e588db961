//! [`CompiledRules`]: one account's enabled rules compiled into automata, so that choosing the
//! rule that answers a message costs about the same for 1,000 rules as for one.
//!
//! - `exact` patterns, folded (`fold.rs`), are keys of a hash map: one lookup of the folded text.
//! - `contains` and `keyword` patterns, folded, are one Aho-Corasick automaton: one pass over
//!   the folded text reports every occurrence of every pattern; a `keyword` occurrence counts
//!   only with no letter or digit right before or after it.
//! - `regex` patterns run over the text as received. Each regex with literals its matches must
//!   contain (`literals.rs`: `(?i)\bprice\s+\d+` must contain `price`, folded) has them in the
//!   same Aho-Corasick automaton, and runs alone, only when the folded text contains a literal of
//!   each of its sets and its rank could still beat the best match found so far: most messages
//!   run none or a few of an account's regexes. This matters beyond the count: a Unicode `\b`
//!   keeps the `regex` crate's DFAs off non-ASCII text, and a `RegexSet` of many such patterns
//!   falls back to an engine whose cost is patterns × text length (milliseconds per message for
//!   a few hundred). Regexes without a literal (`^\d{6}$`) are one `RegexSet`, run on every
//!   message unless a better-ranked rule already matched. The `regex` crate matches in linear
//!   time (no backtracking), and every pattern was compiled within [`REGEX_SIZE_LIMIT`] when it
//!   was written.
//!
//! Rules are ranked by priority (highest first), then age (oldest first), then id: the best
//! rank among all matches wins.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind as AcMatchKind};
use domain::{MatchKind, ReplyRule, ValidationError};
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use super::fold::{fold, is_word};
use super::literals::required_literals;

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
    /// Folded `contains` and `keyword` patterns, and the regexes' folded literals.
    substrings: Option<AhoCorasick>,
    /// Per pattern of `substrings`, the rules with it: (rank, whole word only), best first.
    substring_rules: Vec<Vec<(usize, bool)>>,
    /// Per pattern of `substrings`, the prefiltered regexes with it in a literal set: (index in
    /// `prefiltered`, the set's bit).
    literal_regexes: Vec<Vec<(usize, u8)>>,
    /// The `regex` rules with literals, best rank first.
    prefiltered: Vec<Prefiltered>,
    /// The `regex` rules without: run on every message.
    regexes: Regexes,
}

/// A regex rule run only when a literal of each of its sets is in the folded text.
#[derive(Debug)]
struct Prefiltered {
    regex: Regex,
    rank: usize,
    /// One bit per literal set.
    sets: u8,
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
        let mut patterns = Patterns::default();
        let mut regexes = Vec::new();
        let mut prefiltered = Vec::new();
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
                    let index = patterns.index(folded);
                    patterns.substring_rules[index]
                        .push((rank, rule.match_kind == MatchKind::Keyword));
                }
                MatchKind::Regex => {
                    let sets = required_literals(&rule.pattern);
                    if sets.is_empty() {
                        regexes.push((rule, rank));
                        continue;
                    }
                    let Some(regex) = compile_or_skip(rule) else {
                        continue;
                    };
                    let at = prefiltered.len();
                    let mut bits = 0;
                    for (set, bit) in sets.into_iter().zip((0..8).map(|n| 1_u8 << n)) {
                        bits |= bit;
                        for literal in set {
                            let index = patterns.index(literal);
                            patterns.literal_regexes[index].push((at, bit));
                        }
                    }
                    prefiltered.push(Prefiltered {
                        regex,
                        rank,
                        sets: bits,
                    });
                }
            }
        }
        Self {
            substrings: substring_automaton(&patterns.list),
            substring_rules: patterns.substring_rules,
            literal_regexes: patterns.literal_regexes,
            prefiltered,
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
        // Per prefiltered regex, the bits of the literal sets found.
        let mut seen = vec![0_u8; self.prefiltered.len()];
        if let Some(automaton) = &self.substrings {
            for found in automaton.find_overlapping_iter(&folded) {
                let pattern = found.pattern().as_usize();
                for &(regex, bit) in &self.literal_regexes[pattern] {
                    seen[regex] |= bit;
                }
                let rules = &self.substring_rules[pattern];
                // Best rank first: the first rule that matches here is this pattern's best.
                for &(rank, whole_word) in rules.iter().take_while(|(rank, _)| *rank < best) {
                    if !whole_word || is_whole_word(&folded, found.start(), found.end()) {
                        best = rank;
                        break;
                    }
                }
            }
        }
        // Best rank first: the first one that matches is the best regex.
        if let Some(found) = self
            .prefiltered
            .iter()
            .zip(&seen)
            .take_while(|(regex, _)| regex.rank < best)
            .find(|(regex, seen)| **seen == regex.sets && regex.regex.is_match(text))
        {
            best = found.0.rank;
        }
        best = best.min(self.regex_match(text, best));
        self.ranked.get(best)
    }

    /// The best rank among the regex rules without literals that match `text`, if better than
    /// `best`.
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

/// The patterns of the automaton while they are collected, and what each one stands for.
#[derive(Default)]
struct Patterns {
    list: Vec<String>,
    by_pattern: HashMap<String, usize>,
    substring_rules: Vec<Vec<(usize, bool)>>,
    literal_regexes: Vec<Vec<(usize, u8)>>,
}

impl Patterns {
    /// The index of `folded`, added when new.
    fn index(&mut self, folded: String) -> usize {
        if let Some(index) = self.by_pattern.get(&folded) {
            return *index;
        }
        self.list.push(folded.clone());
        self.substring_rules.push(Vec::new());
        self.literal_regexes.push(Vec::new());
        self.by_pattern.insert(folded, self.list.len() - 1);
        self.list.len() - 1
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
        .filter_map(|(rule, rank)| Some((compile_or_skip(rule)?, *rank)))
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

/// The rule's regex, or `None`, logged, when it does not compile within the per-rule limits
/// (written by an older version).
fn compile_or_skip(rule: &ReplyRule) -> Option<Regex> {
    compile_regex(&rule.pattern)
        .inspect_err(|error| {
            tracing::warn!(rule.id = %rule.id, reason = %error.reason, "a regex rule does not compile: skipped");
        })
        .ok()
}

#[cfg(test)]
mod tests {
    use domain::{AccountId, RuleId, Timestamp};
    use proptest::prelude::*;

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
    fn regexes_match_whether_or_not_they_have_literals() {
        let rules = CompiledRules::compile(&[
            rule(1, MatchKind::Regex, r"(?i)\bцена\s+(\d+)", 0),
            rule(2, MatchKind::Regex, r"^\d{6}$", 0),
            rule(3, MatchKind::Regex, r"(?i)\bstraße\b", 0),
            rule(4, MatchKind::Regex, r"Price", 0),
        ]);
        assert_eq!(rules.prefiltered.len(), 3);
        assert_eq!(answer(&rules, "ЦЕНА 5?"), Some("reply 1"));
        assert_eq!(answer(&rules, "цена?"), None);
        assert_eq!(answer(&rules, "123456"), Some("reply 2"));
        assert_eq!(
            answer(&rules, "STRASSE"),
            None,
            "(?i) is simple case folding"
        );
        assert_eq!(answer(&rules, "Große STRAẞE"), Some("reply 3"));
        assert_eq!(
            answer(&rules, "PRICE"),
            None,
            "the prefilter admits, the regex decides"
        );
        assert_eq!(answer(&rules, "Price"), Some("reply 4"));
    }

    /// Regex pieces with texts they match: patterns are sequences of pieces, and texts mostly
    /// the pieces' texts in the same order, between other words.
    const PIECES: &[(&str, &[&str])] = &[
        ("цена", &["цена", "ЦЕНА", "Цена"]),
        ("café", &["café", "cafe\u{301}", "CAFÉ", "cafe"]),
        ("straße", &["straße", "STRASSE", "STRAẞE"]),
        ("σοφος", &["σοφος", "ΣΟΦΟΣ", "σοφοσ"]),
        ("ﬁne", &["ﬁne", "fine", "FINE"]),
        ("price", &["price", "PRICE", "Price", "pri\u{a0}ce"]),
        ("ok", &["ok", "OK", "o\u{212a}", "ſ"]),
        ("ſ", &["ſ", "s", "S"]),
        (r"\b", &["", " "]),
        (r"\B", &["", "x"]),
        (r"\s+", &[" ", "\n\t", "\u{a0}"]),
        (r"\s*", &["", "  "]),
        (r"\d+", &["7", "42", "٣"]),
        ("[a-c]", &["a", "b", "C"]),
        ("[é-ë]", &["é", "ë", "e"]),
        ("(?:цен|ok|7)", &["цен", "ok", "7"]),
        ("x?", &["", "x"]),
        ("(?:ab)+", &["ab", "abab", "AB"]),
        (".", &["a", " ", "ж"]),
        ("-", &["-"]),
        ("é", &["é", "e\u{301}", "É", "e"]),
    ];

    const NOISE: &[&str] = &[
        "",
        " ",
        "hi ",
        "Привет, ",
        "¿",
        "x",
        "! ",
        "\u{301}",
        "ж",
        "9",
    ];

    fn pattern_and_text() -> impl Strategy<Value = (String, String)> {
        let piece = (0..PIECES.len(), 0..4_usize);
        (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            proptest::collection::vec(piece, 1..5),
            0..NOISE.len(),
            0..NOISE.len(),
            any::<bool>(),
        )
            .prop_map(
                |(insensitive, start, end, pieces, before, after, alternate)| {
                    let mut pattern = String::new();
                    let mut text = NOISE[before].to_owned();
                    if insensitive {
                        pattern.push_str("(?i)");
                    }
                    if start {
                        pattern.push('^');
                    }
                    for (i, &(piece, variant)) in pieces.iter().enumerate() {
                        let (regex, texts) = PIECES[piece];
                        if alternate && i == 1 {
                            pattern.push_str("(?:\\d|");
                            pattern.push_str(regex);
                            pattern.push(')');
                        } else {
                            pattern.push_str(regex);
                        }
                        text.push_str(texts[variant % texts.len()]);
                    }
                    if end {
                        pattern.push('$');
                    }
                    text.push_str(NOISE[after]);
                    (pattern, text)
                },
            )
    }

    /// The rule of `rules` (best rank first) that matches `text` when each is tried alone, the
    /// regexes with `Regex::is_match`, no prefilter.
    fn one_by_one<'a>(rules: &'a [ReplyRule], text: &str) -> Option<&'a str> {
        rules
            .iter()
            .find(|rule| match rule.match_kind {
                MatchKind::Regex => compile_regex(&rule.pattern).unwrap().is_match(text),
                _ => CompiledRules::compile(std::slice::from_ref(*rule))
                    .best_match(text)
                    .is_some(),
            })
            .map(|rule| rule.reply.as_str())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn the_prefilter_never_drops_a_match((pattern, text) in pattern_and_text()) {
            let regex = compile_regex(&pattern).unwrap();
            let rules = CompiledRules::compile(&[rule(1, MatchKind::Regex, &pattern, 0)]);
            prop_assert_eq!(
                rules.best_match(&text).is_some(),
                regex.is_match(&text),
                "{:?} on {:?}",
                pattern,
                text
            );
        }

        #[test]
        fn many_rules_answer_as_one_by_one(
            regexes in proptest::collection::vec(pattern_and_text(), 1..8),
            words in proptest::collection::vec((0..PIECES.len(), 0..3_usize, 0..4_usize), 0..6),
            priorities in proptest::collection::vec(0..3_i32, 16),
            pick in 0..8_usize,
        ) {
            let mut rules = Vec::new();
            for (n, (pattern, _)) in regexes.iter().enumerate() {
                rules.push(rule(u8::try_from(n).unwrap(), MatchKind::Regex, pattern, priorities[n]));
            }
            for (n, &(piece, kind, variant)) in words.iter().enumerate() {
                let texts = PIECES[piece].1;
                let pattern = texts[variant % texts.len()];
                if fold(pattern).is_empty() {
                    continue;
                }
                let kind = [MatchKind::Keyword, MatchKind::Contains, MatchKind::Exact][kind];
                let n = n + 8;
                rules.push(rule(u8::try_from(n).unwrap(), kind, pattern, priorities[n]));
            }
            let text = &regexes[pick % regexes.len()].1;
            let compiled = CompiledRules::compile(&rules);
            rules.sort_by_key(|r| (std::cmp::Reverse(r.priority), r.created_at));
            prop_assert_eq!(
                compiled.best_match(text).map(|rule| rule.reply.as_str()),
                one_by_one(&rules, text),
                "{:?}",
                text
            );
        }
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
