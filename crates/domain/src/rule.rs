//! Auto-reply rules: per-account keyword answers.

use crate::{AccountId, RuleId, Timestamp, ValidationError};

/// How a rule's pattern is matched against an inbound text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchKind {
    /// The whole text equals the pattern.
    Exact,
    /// The text contains the pattern.
    Contains,
    /// The pattern occurs as a whole word (case- and accent-insensitive).
    Keyword,
    /// The pattern is a regular expression.
    Regex,
}

impl MatchKind {
    /// Every kind.
    pub const ALL: [Self; 4] = [Self::Exact, Self::Contains, Self::Keyword, Self::Regex];

    /// The API and stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::Contains => "contains",
            Self::Keyword => "keyword",
            Self::Regex => "regex",
        }
    }

    /// Parses the API name.
    ///
    /// # Errors
    /// A [`ValidationError`] for `match` naming the accepted values.
    pub fn parse(name: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| {
                ValidationError::new("match", "must be one of exact, contains, keyword, regex")
            })
    }
}

/// One auto-reply rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyRule {
    /// Our id.
    pub id: RuleId,
    /// The account whose inbound messages it answers.
    pub account_id: AccountId,
    /// How `pattern` matches.
    pub match_kind: MatchKind,
    /// What to look for.
    pub pattern: String,
    /// The answer; may contain `{username}`.
    pub reply: String,
    /// Higher wins when several rules match.
    pub priority: i32,
    /// Disabled rules never match.
    pub enabled: bool,
    /// At most one reply per (rule, sender) in this many seconds.
    pub cooldown_seconds: u32,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_kinds_parse() {
        for kind in MatchKind::ALL {
            assert_eq!(MatchKind::parse(kind.as_str()), Ok(kind));
        }
        assert_eq!(MatchKind::parse("glob").unwrap_err().field, "match");
    }
}
