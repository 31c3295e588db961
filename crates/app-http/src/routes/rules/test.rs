//! `POST /api/v1/accounts/{id}/rules/test`: which of the account's rules would answer a message,
//! and with what text, without storing or sending anything. It runs the matcher ingest runs
//! (`replies::CompiledRules`) over the rules as stored now, so an operator can try a rule the
//! moment it is written, on any instance. The rules are read once per request and compiled only
//! when they differ from the ones the ingest's `RuleCache` holds (off the async workers), which
//! they then replace: testing an unchanged set costs one read, never a compile.

use actix_web::{HttpResponse, web};
use domain::{Username, ValidationError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::account_of;
use super::dto::RuleDto;
use crate::auth::ApiCaller;
use crate::http_error::ApiError;
use crate::replies::fill;
use crate::routes::api_json::ApiJson;
use crate::routes::json_fields::{JsonObject, optional_string, present, required_string};
use crate::state::AppState;

/// The body: the message `text`, and optionally a sample `username` for `{username}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RuleTest)]
pub(crate) struct TestBody {
    /// The message: 1–1000 characters without NUL (what Instagram delivers), at most 4096 bytes
    /// of UTF-8.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 1000, examples("What's the price?"))]
    text: Option<Value>,
    /// A sample customer username for `{username}` (1–30 letters of any script, digits, `.` and
    /// `_`).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = r"^[\p{Alpha}\p{N}._]{1,30}$")]
    username: Option<Value>,
}

/// The answer: the rule that would answer, and its reply as it would be sent.
#[derive(Serialize, ToSchema)]
#[schema(as = RuleTestResult)]
struct TestResult {
    /// The best-ranked enabled rule that matches; `null` when none does.
    #[schema(required = true)]
    matched: Option<RuleDto>,
    /// Its reply as it would be sent; `null` when no rule matches.
    #[schema(required = true)]
    reply: Option<String>,
}

/// Matches `text` against the account's enabled rules: `200` with the best-ranked rule that
/// matches and its reply (`{username}` filled with the sample username when one is given, left
/// as the placeholder otherwise), both `null` when no rule matches. Cooldowns are not consulted:
/// they depend on a customer, and the question is which rule answers the text.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{id}/rules/test",
    tag = "rules",
    operation_id = "testRules",
    params(("id" = String, Path, description = "The account's `acc_` id.")),
    request_body = TestBody,
    responses(
        (status = 200, description = "The rule that would answer the text, and its reply; nothing is stored or sent.", body = TestResult),
        (status = 404, description = "No such account, or outside the key's scope (`not_found`).", body = crate::openapi::ErrorSchema),
    ),
)]
#[tracing::instrument(name = "test rules", skip_all, fields(account.id = %path))]
pub(crate) async fn test(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<JsonObject<TestBody>>,
) -> Result<HttpResponse, ApiError> {
    let account = account_of(&caller, &state, &path).await?;
    let body = body.into_inner()?.0;
    let text = message_text(required_string("text", body.text)?)?;
    let username = optional_string("username", body.username.filter(|v| !v.is_null()))?
        .map(|name| Username::parse(&name))
        .transpose()?;
    let rules = state.rule_cache.current(&account).await?;
    let result = match rules.best_match(&text) {
        Some(rule) => TestResult {
            reply: Some(match &username {
                Some(name) => fill(&rule.reply, Some(name.as_str())),
                None => rule.reply.clone(),
            }),
            matched: Some(RuleDto::from(rule)),
        },
        None => TestResult {
            matched: None,
            reply: None,
        },
    };
    tracing::debug!(account.id = %account, matched = result.matched.is_some(), "rules tested");
    Ok(HttpResponse::Ok().json(result))
}

/// Most characters of a text Instagram delivers.
const MAX_TEXT_CHARS: usize = 1000;

/// Most bytes of a tested text: more than [`MAX_TEXT_CHARS`] characters of up to 4 bytes each
/// can take, checked before the characters are counted.
const MAX_TEXT_BYTES: usize = 4096;

/// The text as a message could carry it: 1 to 1000 characters (at most 4096 bytes), no NUL
/// (what ingest would match).
fn message_text(text: String) -> Result<String, ValidationError> {
    if text.is_empty() || text.len() > MAX_TEXT_BYTES || text.chars().count() > MAX_TEXT_CHARS {
        return Err(ValidationError::new("text", "must be 1 to 1000 characters"));
    }
    if text.contains('\0') {
        return Err(ValidationError::new("text", "must not contain NUL"));
    }
    Ok(text)
}
