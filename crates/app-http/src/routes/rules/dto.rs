//! The rules resource's public JSON: a rule as the API shows it, and the create and update
//! bodies, read member by member so every `422` names its field.

use domain::{MatchKind, ReplyRule, ValidationError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::openapi::schemas;
use crate::replies::{MAX_COOLDOWN_SECONDS, RuleChanges, RuleInput};
use crate::routes::json_fields::{optional_string, present, required_string};

/// A rule in API answers.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Rule)]
pub(super) struct RuleDto {
    #[schema(schema_with = schemas::rule_id)]
    id: String,
    #[schema(schema_with = schemas::account_id)]
    account_id: String,
    #[serde(rename = "match")]
    #[schema(schema_with = schemas::match_kind)]
    match_kind: &'static str,
    pattern: String,
    reply: String,
    priority: i32,
    enabled: bool,
    cooldown_seconds: u32,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
}

/// An account's rules, in the order they are tried.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct RuleList {
    pub(super) data: Vec<RuleDto>,
}

/// The body of `POST /api/v1/accounts/{id}/rules` ([`RuleBody::parse_create`]) and of
/// `PATCH /api/v1/accounts/{id}/rules/{rule_id}` ([`RuleBody::parse_update`]): the same members,
/// required and defaulted on create, optional and never `null` on update.
///
/// Its schema is the update's (every member optional, none `null`); the create's is
/// [`NewRuleSchema`].
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RuleChanges)]
pub(crate) struct RuleBody {
    #[serde(default, rename = "match", deserialize_with = "present")]
    #[schema(schema_with = schemas::match_kind)]
    match_kind: Option<Value>,
    /// 1–1000 bytes of UTF-8 without NUL; a `regex` must compile within the limits.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, min_length = 1, max_length = 1000)]
    pattern: Option<Value>,
    /// 1–1000 bytes of UTF-8 without NUL; may use `{username}`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, min_length = 1, max_length = 1000)]
    reply: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = i32)]
    priority: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool)]
    enabled: Option<Value>,
    /// 0 to 31536000 (a year).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = u32, maximum = 31_536_000)]
    cooldown_seconds: Option<Value>,
}

/// The body of a create: `match`, `pattern` and `reply` required; `null` for an optional member
/// is the same as leaving it out. Schema only: [`RuleBody`] reads it.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewRule)]
#[expect(
    dead_code,
    reason = "never built: it only describes RuleBody::parse_create's input"
)]
pub(crate) struct NewRuleSchema {
    #[serde(rename = "match")]
    #[schema(schema_with = schemas::match_kind)]
    match_kind: String,
    /// 1–1000 bytes of UTF-8 without NUL; a `regex` must compile within the limits.
    #[schema(min_length = 1, max_length = 1000)]
    pattern: String,
    /// 1–1000 bytes of UTF-8 without NUL; may use `{username}`.
    #[schema(min_length = 1, max_length = 1000)]
    reply: String,
    /// Default 0; the highest matching rule wins.
    priority: Option<i32>,
    /// Default `true`.
    enabled: Option<bool>,
    /// Default 0: 0 to 31536000 (a year).
    #[schema(maximum = 31_536_000)]
    cooldown_seconds: Option<u32>,
}

impl From<&ReplyRule> for RuleDto {
    fn from(rule: &ReplyRule) -> Self {
        Self {
            id: rule.id.to_string(),
            account_id: rule.account_id.to_string(),
            match_kind: rule.match_kind.as_str(),
            pattern: rule.pattern.clone(),
            reply: rule.reply.clone(),
            priority: rule.priority,
            enabled: rule.enabled,
            cooldown_seconds: rule.cooldown_seconds,
            created_at: rule.created_at.to_rfc3339(),
            updated_at: rule.updated_at.to_rfc3339(),
        }
    }
}

impl RuleBody {
    /// A new rule's fields, typed, with the defaults of the members left out (or `null`):
    /// priority 0, enabled, no cooldown. The rule as a whole is validated by the use case.
    pub(super) fn parse_create(self) -> Result<RuleInput, ValidationError> {
        let non_null = |value: Option<Value>| value.filter(|value| !value.is_null());
        Ok(RuleInput {
            match_kind: MatchKind::parse(&required_string("match", self.match_kind)?)?,
            pattern: required_string("pattern", self.pattern)?,
            reply: required_string("reply", self.reply)?,
            priority: priority(non_null(self.priority))?.unwrap_or(0),
            enabled: enabled(non_null(self.enabled))?.unwrap_or(true),
            cooldown_seconds: cooldown(non_null(self.cooldown_seconds))?.unwrap_or(0),
        })
    }

    /// The changes, typed; `null` is refused for every member (a rule has no empty fields).
    pub(super) fn parse_update(self) -> Result<RuleChanges, ValidationError> {
        Ok(RuleChanges {
            match_kind: optional_string("match", self.match_kind)?
                .map(|name| MatchKind::parse(&name))
                .transpose()?,
            pattern: optional_string("pattern", self.pattern)?,
            reply: optional_string("reply", self.reply)?,
            priority: priority(self.priority)?,
            enabled: enabled(self.enabled)?,
            cooldown_seconds: cooldown(self.cooldown_seconds)?,
        })
    }
}

fn priority(value: Option<Value>) -> Result<Option<i32>, ValidationError> {
    integer("priority", value, i64::from(i32::MIN), i64::from(i32::MAX))?
        .map(|n| i32::try_from(n).map_err(|_| out_of_range("priority", i32::MIN, i32::MAX)))
        .transpose()
}

fn cooldown(value: Option<Value>) -> Result<Option<u32>, ValidationError> {
    integer(
        "cooldown_seconds",
        value,
        0,
        i64::from(MAX_COOLDOWN_SECONDS),
    )?
    .map(|n| {
        u32::try_from(n).map_err(|_| out_of_range("cooldown_seconds", 0, MAX_COOLDOWN_SECONDS))
    })
    .transpose()
}

/// A member that may be left out; when there, a whole number in `min..=max`.
fn integer(
    field: &'static str,
    value: Option<Value>,
    min: i64,
    max: i64,
) -> Result<Option<i64>, ValidationError> {
    let Some(value) = value else {
        return Ok(None);
    };
    // JSON does not tell `3` from `3.0` (JSON Schema calls both integers), so a float with no
    // fraction is that whole number. `min` and `max` are 32-bit, exact as `f64`.
    let whole_float = value
        .as_f64()
        .filter(|n| value.is_f64() && n.fract() == 0.0);
    match (value.as_i64(), whole_float) {
        (Some(n), _) if (min..=max).contains(&n) => Ok(Some(n)),
        (None, Some(n)) if (min as f64..=max as f64).contains(&n) => Ok(Some(n as i64)),
        (Some(_), _) | (None, Some(_)) => Err(out_of_range(field, min, max)),
        (None, None) if value.is_u64() => Err(out_of_range(field, min, max)),
        (None, None) if value.is_null() => Err(ValidationError::new(field, "must not be null")),
        (None, None) => Err(ValidationError::new(field, "must be a whole number")),
    }
}

fn out_of_range(
    field: &'static str,
    min: impl std::fmt::Display,
    max: impl std::fmt::Display,
) -> ValidationError {
    ValidationError::new(field, format!("must be between {min} and {max}"))
}

/// A member that may be left out; when there, `true` or `false`.
fn enabled(value: Option<Value>) -> Result<Option<bool>, ValidationError> {
    match value {
        None => Ok(None),
        Some(Value::Bool(on)) => Ok(Some(on)),
        Some(Value::Null) => Err(ValidationError::new("enabled", "must not be null")),
        Some(_) => Err(ValidationError::new("enabled", "must be true or false")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn whole_numbers_may_be_written_as_floats() {
        assert_eq!(priority(Some(json!(-3.0))).unwrap(), Some(-3));
        assert_eq!(
            priority(Some(json!(2_147_483_647.0))).unwrap(),
            Some(i32::MAX)
        );
        assert_eq!(cooldown(Some(json!(60.0))).unwrap(), Some(60));
        for bad in [json!(1.5), json!(3e10), json!(-1.0), json!("60")] {
            let error = cooldown(Some(bad.clone())).unwrap_err();
            assert_eq!(error.field, "cooldown_seconds", "{bad}");
        }
        assert!(priority(Some(json!(2_147_483_648.0))).is_err());
        assert!(priority(Some(json!(-0.5))).is_err());
    }
}
