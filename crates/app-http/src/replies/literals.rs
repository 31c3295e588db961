//! The literals a regex rule's matches must contain, in folded form (`fold.rs`): the regex
//! prefilter of [`CompiledRules`](super::CompiledRules).
//!
//! [`required_literals`] reads the pattern's syntax tree (`regex-syntax`, the parser of `regex`
//! itself, with the same defaults and nest limit) and answers sets of strings such that, for
//! each set, the folded text of **every** match of the regex contains one of its strings. Since
//! a match is part of the message, the folded message then contains it too (folding works char
//! by char, see [`fold_char`]). So a regex can only match a message whose folded text contains
//! a string of each of its sets: one Aho-Corasick pass over the folded message, the one that
//! finds `contains` and `keyword` patterns, tells which regexes are worth running at all.
//!
//! Folding makes the literals case- and accent-insensitive on the prefilter's side only: `(?i)`
//! classes like `[Pp]`, `[Σσς]` or `[Kk\u{212a}]` fold to one string, and a case-sensitive
//! `Price` also admits `PRICE`, which its regex then refuses. The prefilter only ever admits
//! too much, never too little; the regex decides.
//!
//! What gives literals: literal text, small classes (up to [`MAX_CLASS_CHARS`] chars, which
//! covers case-insensitive letters), concatenations (adjacent literal parts are joined, across
//! `\b`, `^` and other zero-width assertions), alternations whose every branch gives some,
//! repetitions of at least one. Whitespace ends a literal (folding collapses its runs), and so
//! does anything else: `.`, `\w`, `\d`, large classes, optional parts. A pattern with no
//! literal, like `^\d{6}$`, gets no set and is run on every message.

use std::collections::BTreeSet;

use regex_syntax::ParserBuilder;
use regex_syntax::hir::{Class, Hir, HirKind};

use super::fold::fold_char;
use super::matcher::REGEX_NEST_LIMIT;

/// Largest class whose chars are taken as alternatives of a literal.
pub(crate) const MAX_CLASS_CHARS: usize = 16;
/// Most strings in one set: alternatives beyond it are not worth an automaton pattern each.
const MAX_SET: usize = 16;
/// Longest string kept: a longer one rules out no more messages.
const MAX_LITERAL_BYTES: usize = 24;
/// Most sets per regex (the bits of a `u8`).
pub(crate) const MAX_SETS: usize = 8;

/// A set of folded strings, one of which every match contains.
pub(crate) type LiteralSet = BTreeSet<String>;

/// The sets of folded strings the folded text of every match of `pattern` contains one of (each
/// set non-empty, no string empty), most selective first; empty when none is known.
pub(crate) fn required_literals(pattern: &str) -> Vec<LiteralSet> {
    let Ok(hir) = ParserBuilder::new()
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .parse(pattern)
    else {
        return Vec::new();
    };
    let mut sets: Vec<LiteralSet> = walk(&hir)
        .into_required()
        .into_iter()
        .map(|set| set.iter().map(|s| truncate(s)).collect::<LiteralSet>())
        .filter(usable)
        .collect();
    sets.sort_by_key(|set| std::cmp::Reverse(score(set)));
    sets.dedup();
    sets.truncate(MAX_SETS);
    sets
}

/// What a node tells about the folded text of its matches.
#[derive(Debug, Default)]
struct Info {
    /// Every match, folded char by char, is one of these (it has no whitespace); `None` when
    /// unknown or too many.
    exact: Option<LiteralSet>,
    /// Every match contains a string of each of these sets.
    required: Vec<LiteralSet>,
}

impl Info {
    fn exact(set: LiteralSet) -> Self {
        Self {
            exact: Some(set),
            required: Vec::new(),
        }
    }

    fn empty() -> Self {
        Self::exact(LiteralSet::from([String::new()]))
    }

    fn unknown() -> Self {
        Self::default()
    }

    /// Everything known as required sets (the exact set is one when it has no empty string).
    fn into_required(self) -> Vec<LiteralSet> {
        let mut required = self.required;
        required.extend(self.exact.filter(usable));
        required
    }
}

fn walk(hir: &Hir) -> Info {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Info::empty(),
        HirKind::Literal(literal) => match std::str::from_utf8(&literal.0) {
            Ok(text) => literal_info(text),
            Err(_) => Info::unknown(),
        },
        HirKind::Class(class) => class_set(class).map_or_else(Info::unknown, Info::exact),
        HirKind::Capture(capture) => walk(&capture.sub),
        HirKind::Repetition(repetition) => {
            if repetition.min == 0 {
                return Info::unknown();
            }
            let sub = walk(&repetition.sub);
            if repetition.max == Some(1) {
                return sub;
            }
            // At least one copy: whatever one copy requires, the whole does.
            Info {
                exact: None,
                required: sub.into_required(),
            }
        }
        HirKind::Concat(children) => concat(children),
        HirKind::Alternation(children) => alternation(children),
    }
}

/// Literal text: exact when it has no whitespace, else its runs between whitespace are required.
fn literal_info(text: &str) -> Info {
    let mut runs: Vec<String> = vec![String::new()];
    for c in text.chars() {
        match fold_char(c) {
            Some(folded) => runs.last_mut().map_or((), |run| run.push_str(&folded)),
            None => runs.push(String::new()),
        }
    }
    if runs.len() == 1 {
        return Info::exact(runs.into_iter().collect());
    }
    Info {
        exact: None,
        required: runs
            .into_iter()
            .map(|run| LiteralSet::from([run]))
            .filter(usable)
            .collect(),
    }
}

/// The folded strings of a small class's chars, `None` for a large class or one with
/// whitespace (or non-ASCII bytes, in a byte class).
fn class_set(class: &Class) -> Option<LiteralSet> {
    // One more than the most, to tell a class that is too large.
    let most = MAX_CLASS_CHARS + 1;
    let chars: Vec<char> = match class {
        Class::Unicode(class) => class
            .iter()
            .flat_map(|r| r.start()..=r.end())
            .take(most)
            .collect(),
        Class::Bytes(class) => class
            .iter()
            .flat_map(|r| r.start()..=r.end())
            .take(most)
            .map(|byte| byte.is_ascii().then(|| char::from(byte)))
            .collect::<Option<_>>()?,
    };
    if chars.len() > MAX_CLASS_CHARS {
        return None;
    }
    let set = chars
        .into_iter()
        .map(fold_char)
        .collect::<Option<LiteralSet>>()?;
    (!set.is_empty() && set.len() <= MAX_SET).then_some(set)
}

/// A concatenation: runs of adjacent exact parts are joined; every run and every part's own
/// required sets are required.
fn concat(children: &[Hir]) -> Info {
    let mut required = Vec::new();
    let mut run = Some(LiteralSet::from([String::new()]));
    let mut whole = true;
    for child in children {
        let info = walk(child);
        required.extend(info.required);
        match (run.take(), info.exact) {
            (Some(before), Some(part)) => match product(&before, &part) {
                Some(joined) => run = Some(joined),
                None => {
                    whole = false;
                    required.extend(Some(before).filter(usable));
                    run = Some(part);
                }
            },
            (Some(before), None) => {
                whole = false;
                required.extend(Some(before).filter(usable));
            }
            (None, part) => run = part,
        }
    }
    if whole {
        return Info {
            exact: run,
            required,
        };
    }
    required.extend(run.filter(usable));
    Info {
        exact: None,
        required,
    }
}

/// An alternation: exact when every branch is and there are few strings; else each branch's
/// most selective set, together, is required when every branch has one.
fn alternation(children: &[Hir]) -> Info {
    let infos: Vec<Info> = children.iter().map(walk).collect();
    if infos.iter().all(|info| info.exact.is_some()) {
        let union: LiteralSet = infos
            .iter()
            .filter_map(|info| info.exact.as_ref())
            .flatten()
            .cloned()
            .collect();
        if union.len() <= MAX_SET {
            return Info::exact(union);
        }
    }
    let mut union = LiteralSet::new();
    for info in infos {
        let Some(best) = info.into_required().into_iter().max_by_key(score) else {
            return Info::unknown();
        };
        union.extend(best);
    }
    if union.len() > MAX_SET {
        return Info::unknown();
    }
    Info {
        exact: None,
        required: vec![union],
    }
}

/// Every string of `a` followed by every string of `b`, unless there would be too many.
fn product(a: &LiteralSet, b: &LiteralSet) -> Option<LiteralSet> {
    if a.len().saturating_mul(b.len()) > MAX_SET {
        return None;
    }
    Some(
        a.iter()
            .flat_map(|x| b.iter().map(move |y| format!("{x}{y}")))
            .collect(),
    )
}

/// A set that rules something out: not empty, and no empty string (which every text contains).
fn usable(set: &LiteralSet) -> bool {
    !set.is_empty() && set.iter().all(|s| !s.is_empty())
}

/// How selective a set is: its shortest string's length first, then fewer strings.
fn score(set: &LiteralSet) -> (usize, std::cmp::Reverse<usize>) {
    let shortest = set.iter().map(String::len).min().unwrap_or(0);
    (shortest, std::cmp::Reverse(set.len()))
}

/// `s` cut to at most [`MAX_LITERAL_BYTES`] at a char boundary (a prefix of a required string is
/// required too).
fn truncate(s: &str) -> String {
    let mut end = s.len().min(MAX_LITERAL_BYTES);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sets(pattern: &str) -> Vec<Vec<&'static str>> {
        required_literals(pattern)
            .into_iter()
            .map(|set| {
                set.into_iter()
                    .map(|s| &*Box::leak(s.into_boxed_str()))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn literals_are_folded_and_joined_across_assertions() {
        assert_eq!(sets(r"(?i)\bЦена\b"), [["цена"]]);
        assert_eq!(sets(r"^Café\s+(\d+)$"), [["cafe"]]);
        assert_eq!(sets(r"(?i)order\s*#?12\d{4}"), [vec!["order"], vec!["12"]]);
        assert_eq!(
            sets(r"(?i)(?:precio|code)-7[a-z]{2}$"),
            [["code-7", "precio-7"]]
        );
        assert_eq!(sets(r"(?i)straße|ΣΟΦΟΣ"), [["strasse", "σοφοσ"]]);
        assert_eq!(sets(r"free shipping"), [vec!["shipping"], vec!["free"]]);
        assert_eq!(sets(r"(ab)+c"), [vec!["ab"], vec!["c"]]);
    }

    #[test]
    fn patterns_without_literals_get_none() {
        for pattern in [
            r"^\d{6}$",
            r".*",
            r"\w+",
            r"a?",
            r"(?:price|\d)",
            r"[a-z]+",
            r"\s",
        ] {
            assert!(required_literals(pattern).is_empty(), "{pattern}");
        }
    }
}
