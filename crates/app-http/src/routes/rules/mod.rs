//! The rules resource, `/api/v1/accounts/{id}/rules[/{rule_id}]`: an account's auto-reply rules.
//! Scoped like the account itself: another account's rules, or a rule of another account named
//! under this one, are `404`.

mod dto;
pub(super) mod test;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use domain::{AccountId, ReplyRule, RuleId};

use self::dto::{NewRuleSchema, RuleBody, RuleDto, RuleList};
use crate::auth::ApiCaller;
use crate::http_error::ApiError;
use crate::replies;
use crate::routes::api_json::ApiJson;
use crate::routes::json_fields::JsonObject;
use crate::state::AppState;

/// The account of the path, when the caller may see it and it exists.
async fn account_of(caller: &ApiCaller, state: &AppState, id: &str) -> Result<AccountId, ApiError> {
    let id = AccountId::parse(id).map_err(|_| ApiError::NotFound)?;
    caller.require_account(&id)?;
    state
        .accounts
        .account(&id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(id)
}

/// The rule of the path, when it belongs to the account of the path.
async fn rule_of(state: &AppState, account: &AccountId, id: &str) -> Result<ReplyRule, ApiError> {
    let id = RuleId::parse(id).map_err(|_| ApiError::NotFound)?;
    state
        .rules
        .rule(&id)
        .await?
        .filter(|rule| &rule.account_id == account)
        .ok_or(ApiError::NotFound)
}

/// The account's rules, in the order they are tried: highest priority first, then oldest.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{id}/rules",
    tag = "rules",
    operation_id = "listRules",
    params(("id" = String, Path, description = "The account's `acc_` id.")),
    responses(
        (status = 200, description = "Every rule of the account, in the order they are tried.", body = RuleList),
        (status = 404, description = "No such account, or outside the key's scope (`not_found`).", body = crate::openapi::ErrorSchema),
    ),
)]
#[tracing::instrument(name = "list rules", skip_all, fields(account.id = %path))]
pub(crate) async fn list(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let account = account_of(&caller, &state, &path).await?;
    let rules = state.rules.rules_for_account(&account).await?;
    Ok(HttpResponse::Ok().json(RuleList {
        data: rules.iter().map(RuleDto::from).collect(),
    }))
}

/// Creates a rule: `201` with `Location`; `409 rule_limit_reached` when the account has
/// 1,000 rules (`MAX_RULES_PER_ACCOUNT`).
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{id}/rules",
    tag = "rules",
    operation_id = "createRule",
    params(("id" = String, Path, description = "The account's `acc_` id.")),
    request_body = NewRuleSchema,
    responses(
        (status = 201, description = "Created.", body = RuleDto,
         headers(("Location" = String, description = "The rule's path."))),
        (status = 404, description = "No such account, or outside the key's scope (`not_found`).", body = crate::openapi::ErrorSchema),
        (status = 409, description = "The account has 1000 rules already (`rule_limit_reached`).", body = crate::openapi::ErrorSchema),
    ),
)]
#[tracing::instrument(name = "create rule", skip_all, fields(account.id = %path, rule.id))]
pub(crate) async fn create(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<JsonObject<RuleBody>>,
) -> Result<HttpResponse, ApiError> {
    let account = account_of(&caller, &state, &path).await?;
    let input = body.into_inner()?.0.parse_create()?;
    let created = replies::create_rule(
        state.rules.as_ref(),
        &state.rule_cache,
        state.clock.as_ref(),
        &account,
        input,
    )
    .await?;
    let replies::Created::Rule(rule) = created else {
        return Err(ApiError::Conflict {
            code: "rule_limit_reached",
            reason: replies::RULE_LIMIT_REACHED,
        });
    };
    tracing::Span::current().record("rule.id", tracing::field::display(&rule.id));
    tracing::info!(account.id = %account, rule.id = %rule.id, rule.match_kind = rule.match_kind.as_str(), "rule created");
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/accounts/{account}/rules/{}", rule.id),
        ))
        .json(RuleDto::from(&rule)))
}

/// One rule.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{id}/rules/{rule_id}",
    tag = "rules",
    operation_id = "getRule",
    params(("id" = String, Path, description = "The account's `acc_` id."), ("rule_id" = String, Path, description = "The rule's `rul_` id.")),
    responses(
        (status = 200, description = "The rule.", body = RuleDto),
        (status = 404, description = "No such account or rule, or outside the key's scope (`not_found`).", body = crate::openapi::ErrorSchema),
    ),
)]
#[tracing::instrument(name = "get rule", skip_all, fields(account.id = %path.0, rule.id = %path.1))]
pub(crate) async fn get(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let account = account_of(&caller, &state, &path.0).await?;
    let rule = rule_of(&state, &account, &path.1).await?;
    Ok(HttpResponse::Ok().json(RuleDto::from(&rule)))
}

/// Changes a rule and answers it as stored.
#[utoipa::path(
    patch,
    path = "/api/v1/accounts/{id}/rules/{rule_id}",
    tag = "rules",
    operation_id = "updateRule",
    params(("id" = String, Path, description = "The account's `acc_` id."), ("rule_id" = String, Path, description = "The rule's `rul_` id.")),
    request_body = RuleBody,
    responses(
        (status = 200, description = "The rule as stored.", body = RuleDto),
        (status = 404, description = "No such account or rule, or outside the key's scope (`not_found`).", body = crate::openapi::ErrorSchema),
    ),
)]
#[tracing::instrument(name = "update rule", skip_all, fields(account.id = %path.0, rule.id = %path.1))]
pub(crate) async fn update(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: ApiJson<JsonObject<RuleBody>>,
) -> Result<HttpResponse, ApiError> {
    let account = account_of(&caller, &state, &path.0).await?;
    let id = rule_of(&state, &account, &path.1).await?.id;
    let changes = body.into_inner()?.0.parse_update()?;
    let rule = replies::update_rule(
        state.rules.as_ref(),
        &state.rule_cache,
        state.clock.as_ref(),
        &account,
        &id,
        changes,
    )
    .await?
    .ok_or(ApiError::NotFound)?;
    tracing::info!(account.id = %account, rule.id = %id, "rule updated");
    Ok(HttpResponse::Ok().json(RuleDto::from(&rule)))
}

/// Deletes a rule: `204`, then `404`.
#[utoipa::path(
    delete,
    path = "/api/v1/accounts/{id}/rules/{rule_id}",
    tag = "rules",
    operation_id = "deleteRule",
    params(("id" = String, Path, description = "The account's `acc_` id."), ("rule_id" = String, Path, description = "The rule's `rul_` id.")),
    responses(
        (status = 204, description = "Deleted, with its cooldowns."),
        (status = 404, description = "No such account or rule, or outside the key's scope (`not_found`).", body = crate::openapi::ErrorSchema),
    ),
)]
#[tracing::instrument(name = "delete rule", skip_all, fields(account.id = %path.0, rule.id = %path.1))]
pub(crate) async fn delete(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let account = account_of(&caller, &state, &path.0).await?;
    let id = RuleId::parse(&path.1).map_err(|_| ApiError::NotFound)?;
    if !replies::delete_rule(state.rules.as_ref(), &state.rule_cache, &account, &id).await? {
        return Err(ApiError::NotFound);
    }
    tracing::info!(account.id = %account, rule.id = %id, "rule deleted");
    Ok(HttpResponse::NoContent().finish())
}
