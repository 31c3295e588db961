//! `GET /api/v1/accounts/{id}/messages`: the conversation history, both directions, newest
//! first, cursor-paginated.

use actix_web::{HttpRequest, HttpResponse, web};
use domain::{AccountId, Cursor, InstagramId, PageRequest};
use serde::Deserialize;
use utoipa::IntoParams;

use super::dto::{HistoryItem, HistoryPage};
use crate::auth::ApiCaller;
use crate::http_error::ApiError;
use crate::state::AppState;

/// `?participant_id=&limit=&cursor=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct HistoryQuery {
    /// Only this customer's conversation (an Instagram id).
    #[param(pattern = "^[!-~]{1,64}$")]
    participant_id: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// The `next_cursor` of the page before, with the same `participant_id`.
    cursor: Option<String>,
}

/// The account's events and sends, newest first, optionally with one customer; `404` when the
/// account does not exist or is outside the caller's scope.
///
/// The query is parsed here rather than by a `web::Query` extractor, so authentication answers
/// first (see `ApiJson`).
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{id}/messages",
    tag = "messages",
    operation_id = "listMessages",
    description = "What Meta reported (messages, reactions, reads, edits, deletions, postbacks, referrals, echoes of messages sent elsewhere) and every send through igrouter, in whatever state; an echo of igrouter's own send is that send's entry. Paginated like accounts, with the same `participant_id`.",
    params(("id" = String, Path, description = "The account's `acc_` id."), HistoryQuery),
    responses(
        (status = 200, description = "The conversation history, both directions, newest first.", body = HistoryPage),
        (status = 404, description = "No such account, or outside the key's scope (`not_found`).", body = crate::openapi::ErrorSchema),
        (status = 422, description = "A bad `participant_id`, `limit` or `cursor`.", body = crate::openapi::ErrorSchema),
    ),
)]
#[tracing::instrument(name = "list messages", skip_all, fields(account.id = %id))]
pub(crate) async fn list(
    caller: ApiCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = AccountId::parse(&id).map_err(|_| ApiError::NotFound)?;
    caller.require_account(&id)?;
    let HistoryQuery {
        participant_id,
        limit,
        cursor,
    } = web::Query::<HistoryQuery>::from_query(request.query_string())?.into_inner();
    let participant = participant_id
        .as_deref()
        .map(|participant| InstagramId::parse("participant_id", participant))
        .transpose()?;
    let after = cursor.as_deref().map(Cursor::decode).transpose()?;
    let page = PageRequest::new(limit, after)?;
    let account = state
        .accounts
        .account(&id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let listing = state
        .messages
        .conversation(&id, participant.as_ref(), &page)
        .await?;
    Ok(HttpResponse::Ok().json(HistoryPage {
        data: listing
            .items
            .iter()
            .map(|entry| HistoryItem::new(entry, &account.instagram_account_id))
            .collect(),
        next_cursor: listing.next.as_ref().map(Cursor::encode),
    }))
}
