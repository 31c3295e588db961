//! `POST /api/v1/accounts`, `PATCH` and `DELETE /api/v1/accounts/{id}`.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use domain::AccountId;

use super::dto::{AccountDto, CreateAccountBody, CreatedAccountDto, UpdateAccountBody};
use crate::accounts;
use crate::auth::ApiCaller;
use crate::http_error::ApiError;
use crate::routes::api_json::ApiJson;
use crate::routes::json_fields::JsonObject;
use crate::state::AppState;

/// Creates an account: `201` with `Location`, and the webhook secret when it was generated.
/// Only a key that sees every account may create one (`403` otherwise).
#[utoipa::path(
    post,
    path = "/api/v1/accounts",
    tag = "accounts",
    operation_id = "createAccount",
    request_body = CreateAccountBody,
    responses(
        (status = 201, description = "Created; `webhook_secret` only when generated.", body = CreatedAccountDto,
         headers(("Location" = String, description = "The account's path."))),
        (status = 403, description = "The key is bound to accounts and may not create one (`forbidden`).", body = crate::openapi::ErrorSchema),
        (status = 409, description = "An account has this `instagram_account_id` (`account_exists`).", body = crate::openapi::ErrorSchema),
    ),
)]
#[tracing::instrument(name = "create account", skip_all, fields(account.id))]
pub(crate) async fn create(
    caller: ApiCaller,
    state: web::Data<AppState>,
    body: ApiJson<JsonObject<CreateAccountBody>>,
) -> Result<HttpResponse, ApiError> {
    caller.require_unscoped()?;
    let new = body.into_inner()?.0.parse()?;
    let created = accounts::create(
        state.accounts.as_ref(),
        state.cipher.as_ref(),
        state.clock.as_ref(),
        state.webhook_destinations,
        new,
    )
    .await?;
    let id = &created.account.id;
    tracing::Span::current().record("account.id", tracing::field::display(id));
    tracing::info!(
        account.id = %id,
        instagram.account_id = %created.account.instagram_account_id,
        webhook_secret.generated = created.generated_webhook_secret.is_some(),
        "account created"
    );
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/accounts/{id}")))
        .json(CreatedAccountDto::from(&created)))
}

/// Changes an account and answers it as stored (never with a credential); `404` when it does not
/// exist or is outside the caller's scope.
#[utoipa::path(
    patch,
    path = "/api/v1/accounts/{id}",
    tag = "accounts",
    operation_id = "updateAccount",
    params(("id" = String, Path, description = "The account's `acc_` id.")),
    request_body = UpdateAccountBody,
    responses(
        (status = 200, description = "The account as stored.", body = AccountDto),
        (status = 404, description = "No such account, or outside the key's scope (`not_found`).", body = crate::openapi::ErrorSchema),
    ),
)]
#[tracing::instrument(name = "update account", skip_all, fields(account.id = %id))]
pub(crate) async fn update(
    caller: ApiCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ApiJson<JsonObject<UpdateAccountBody>>,
) -> Result<HttpResponse, ApiError> {
    let id = AccountId::parse(&id).map_err(|_| ApiError::NotFound)?;
    caller.require_account(&id)?;
    let update = body.into_inner()?.0.parse()?;
    let account = accounts::update(
        state.accounts.as_ref(),
        state.cipher.as_ref(),
        state.clock.as_ref(),
        state.webhook_destinations,
        &id,
        update,
    )
    .await?
    .ok_or(ApiError::NotFound)?;
    tracing::info!(account.id = %id, "account updated");
    Ok(HttpResponse::Ok().json(AccountDto::from(&account)))
}

/// Deletes an account and everything that belongs to it: `204`, then `404`.
#[utoipa::path(
    delete,
    path = "/api/v1/accounts/{id}",
    tag = "accounts",
    operation_id = "deleteAccount",
    params(("id" = String, Path, description = "The account's `acc_` id.")),
    responses(
        (status = 204, description = "Deleted, with its messages, deliveries, sends and rules."),
        (status = 404, description = "No such account, or outside the key's scope (`not_found`).", body = crate::openapi::ErrorSchema),
    ),
)]
#[tracing::instrument(name = "delete account", skip_all, fields(account.id = %id))]
pub(crate) async fn delete(
    caller: ApiCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = AccountId::parse(&id).map_err(|_| ApiError::NotFound)?;
    caller.require_account(&id)?;
    if !state.accounts.delete_account(&id).await? {
        return Err(ApiError::NotFound);
    }
    tracing::info!(account.id = %id, "account deleted");
    Ok(HttpResponse::NoContent().finish())
}
