//! The accounts resource: `GET /api/v1/accounts` and `GET /api/v1/accounts/{id}` here, the
//! writes in `write.rs`, the JSON in `dto.rs`. Accounts are shown without their access token or
//! webhook secret; the only exception is a generated webhook secret, once, in the `201` of a
//! create.

mod dto;
pub(super) mod write;

use actix_web::{HttpRequest, HttpResponse, web};
use domain::{AccountId, Cursor, PageRequest};
use serde::Deserialize;
use utoipa::IntoParams;

use self::dto::{AccountDto, AccountPage};
use crate::auth::ApiCaller;
use crate::http_error::ApiError;
use crate::state::AppState;

pub(crate) use write::{create, delete, update};

/// `?limit=&cursor=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// The `next_cursor` of the page before.
    cursor: Option<String>,
}

/// The accounts the caller may see, newest first.
///
/// The query is parsed here rather than by a `web::Query` extractor, for the reason `ApiJson`
/// exists: a failing extractor would answer before authentication and cancel the key lookup.
#[utoipa::path(
    get,
    path = "/api/v1/accounts",
    tag = "accounts",
    operation_id = "listAccounts",
    description = "Paginated: pass `next_cursor` back as `cursor` for the next page.",
    params(ListQuery),
    responses(
        (status = 200, description = "The accounts the key may see, newest first.", body = AccountPage),
        (status = 422, description = "`limit` out of range or a bad `cursor`.", body = crate::openapi::ErrorSchema),
    ),
)]
#[tracing::instrument(name = "list accounts", skip_all)]
pub(crate) async fn list(
    caller: ApiCaller,
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ListQuery { limit, cursor } =
        web::Query::<ListQuery>::from_query(request.query_string())?.into_inner();
    let after = cursor.as_deref().map(Cursor::decode).transpose()?;
    let page = PageRequest::new(limit, after)?;
    let only = caller.account_filter();
    let listing = state.accounts.list_accounts(only.as_deref(), &page).await?;
    Ok(HttpResponse::Ok().json(AccountPage {
        data: listing.items.iter().map(AccountDto::from).collect(),
        next_cursor: listing.next.as_ref().map(Cursor::encode),
    }))
}

/// One account; `404` when it does not exist, is outside the caller's scope, or the id is not
/// an account id at all.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{id}",
    tag = "accounts",
    operation_id = "getAccount",
    params(("id" = String, Path, description = "The account's `acc_` id.")),
    responses(
        (status = 200, description = "The account.", body = AccountDto),
        (status = 404, description = "No such account, or outside the key's scope (`not_found`).", body = crate::openapi::ErrorSchema),
    ),
)]
#[tracing::instrument(name = "get account", skip_all, fields(account.id = %id))]
pub(crate) async fn get(
    caller: ApiCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = AccountId::parse(&id).map_err(|_| ApiError::NotFound)?;
    caller.require_account(&id)?;
    let account = state
        .accounts
        .account(&id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(AccountDto::from(&account)))
}
