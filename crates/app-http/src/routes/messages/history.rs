//! `GET /api/v1/accounts/{id}/messages`: the conversation history, both directions, newest
//! first, cursor-paginated.

use actix_web::{HttpRequest, HttpResponse, web};
use domain::{AccountId, Cursor, InstagramId, PageRequest};
use serde::Deserialize;

use super::dto::{HistoryItem, HistoryPage};
use crate::auth::ApiCaller;
use crate::http_error::ApiError;
use crate::state::AppState;

/// `?participant_id=&limit=&cursor=`.
#[derive(Debug, Deserialize)]
struct HistoryQuery {
    participant_id: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// The account's events and sends, newest first, optionally with one customer; `404` when the
/// account does not exist or is outside the caller's scope.
///
/// The query is parsed here rather than by a `web::Query` extractor, so authentication answers
/// first (see `ApiJson`).
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
