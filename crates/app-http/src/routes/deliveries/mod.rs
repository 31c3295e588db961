//! The deliveries resource (the CRM delivery outbox): `GET /api/v1/deliveries` and
//! `GET /api/v1/deliveries/{id}` here, the replays (`retry`, `recover`) in `replay.rs`, the JSON in
//! `dto.rs`. A key bound to accounts sees only those accounts' deliveries; any other delivery is
//! `404`, exactly like an account outside its scope.

mod dto;
pub(super) mod replay;

use actix_web::{HttpRequest, HttpResponse, web};
use domain::ports::DeliveryWithAttempts;
use domain::{AccountId, Cursor, DeliveryFilter, EventId, PageRequest};
use serde::Deserialize;
use utoipa::IntoParams;

use self::dto::{DeliveryDetailDto, DeliveryDto, DeliveryPage, parse_status};
use crate::auth::ApiCaller;
use crate::http_error::ApiError;
use crate::state::AppState;

pub(crate) use replay::{recover, retry};

/// `?status=&account_id=&limit=&cursor=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only deliveries in this status.
    #[param(schema_with = crate::openapi::schemas::delivery_status)]
    status: Option<String>,
    /// Only this account's deliveries (none when it is outside the key's scope).
    #[param(schema_with = crate::openapi::schemas::account_id)]
    account_id: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// The `next_cursor` of the page before, with the same filters.
    cursor: Option<String>,
}

/// The deliveries the caller may see, newest first, optionally of one status and one account.
///
/// The query is parsed here rather than by a `web::Query` extractor, for the reason `ApiJson`
/// exists: a failing extractor would answer before authentication and cancel the key lookup.
#[utoipa::path(
    get,
    path = "/api/v1/deliveries",
    tag = "deliveries",
    operation_id = "listDeliveries",
    description = "Without attempts; paginated like accounts. An `account_id` outside the key's scope lists nothing rather than `404`, as an account without deliveries does.",
    params(ListQuery),
    responses(
        (status = 200, description = "The deliveries the key may see, newest first, without attempts.", body = DeliveryPage),
        (status = 422, description = "A bad `status`, `account_id`, `limit` or `cursor`.", body = crate::openapi::ErrorSchema),
    ),
)]
#[tracing::instrument(name = "list deliveries", skip_all)]
pub(crate) async fn list(
    caller: ApiCaller,
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ListQuery {
        status,
        account_id,
        limit,
        cursor,
    } = web::Query::<ListQuery>::from_query(request.query_string())?.into_inner();
    let status = status.as_deref().map(parse_status).transpose()?;
    let account = account_id.as_deref().map(AccountId::parse).transpose()?;
    let after = cursor.as_deref().map(Cursor::decode).transpose()?;
    let page = PageRequest::new(limit, after)?;
    let filter = DeliveryFilter {
        status,
        account_ids: listed_accounts(&caller, account),
    };
    let listing = state.deliveries.list_deliveries(&filter, &page).await?;
    Ok(HttpResponse::Ok().json(DeliveryPage {
        data: listing
            .items
            .iter()
            .map(DeliveryDto::try_from)
            .collect::<Result<_, _>>()
            .map_err(corrupt_payload)?,
        next_cursor: listing.next.as_ref().map(Cursor::encode),
    }))
}

/// One delivery with its attempts; `404` when it does not exist, belongs to an account outside
/// the caller's scope, or the id is not an `evt_` id at all.
#[utoipa::path(
    get,
    path = "/api/v1/deliveries/{id}",
    tag = "deliveries",
    operation_id = "getDelivery",
    params(("id" = String, Path, description = "The delivery's `evt_` id.")),
    responses(
        (status = 200, description = "The delivery and its attempts.", body = DeliveryDetailDto),
        (status = 404, description = "No such delivery, or outside the key's scope (`not_found`).", body = crate::openapi::ErrorSchema),
    ),
)]
#[tracing::instrument(name = "get delivery", skip_all, fields(crm.delivery_id = %id))]
pub(crate) async fn get(
    caller: ApiCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let found = visible_delivery(&caller, &state, &id).await?;
    let body = DeliveryDetailDto::try_from(&found).map_err(corrupt_payload)?;
    Ok(HttpResponse::Ok().json(body))
}

/// The accounts a listing covers. An `account_id` filter narrows the caller's scope and never
/// widens it: one outside the scope lists nothing, as an account without deliveries would, so a
/// scoped key learns nothing about other tenants and a filter never turns into an error.
fn listed_accounts(caller: &ApiCaller, wanted: Option<AccountId>) -> Option<Vec<AccountId>> {
    match wanted {
        None => caller.account_filter(),
        Some(account) if caller.scope().allows(&account) => Some(vec![account]),
        Some(_) => Some(Vec::new()),
    }
}

/// The delivery `id` names, when the caller may see it.
///
/// # Errors
/// [`ApiError::NotFound`] when `id` is not an `evt_` id, names no delivery, or names one of an
/// account outside the caller's scope (one answer for all three).
async fn visible_delivery(
    caller: &ApiCaller,
    state: &AppState,
    id: &str,
) -> Result<DeliveryWithAttempts, ApiError> {
    let id = EventId::parse(id).map_err(|_| ApiError::NotFound)?;
    let found = state
        .deliveries
        .delivery(&id)
        .await?
        .ok_or(ApiError::NotFound)?;
    caller.require_account(&found.delivery.account_id)?;
    Ok(found)
}

/// A stored payload that is not JSON: igrouter only ever stores bodies it serialized itself, so
/// the row is damaged.
fn corrupt_payload(error: serde_json::Error) -> ApiError {
    ApiError::Internal(Box::new(error))
}
