//! `GET /api/v1/accounts/{id}/stats?from=&to=`: an account's messages, auto-replies and CRM
//! deliveries per UTC day and its first-response times, computed by the database
//! (`StatsStore`). Scoped like the account itself: another account's stats are `404`.

mod dto;

use actix_web::{HttpRequest, HttpResponse, web};
use domain::stats::{parse_day, utc_day};
use domain::{AccountId, StatsRange};
use serde::Deserialize;
use utoipa::IntoParams;

use self::dto::StatsDto;
use crate::auth::ApiCaller;
use crate::http_error::ApiError;
use crate::state::AppState;

/// `?from=&to=`, both `YYYY-MM-DD`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct StatsQuery {
    /// The first UTC day, `YYYY-MM-DD` (default: 29 days before `to`).
    #[param(format = Date)]
    from: Option<String>,
    /// The last UTC day, included, `YYYY-MM-DD` (default: today); at most 366 days after `from`.
    #[param(format = Date)]
    to: Option<String>,
}

/// The account's stats over `from`..=`to` (UTC days; by default the 30 days up to today);
/// `422` naming `from` or `to` for a day that is not `YYYY-MM-DD`, `from` after `to` or a range
/// over 366 days; `404` when the account does not exist or is outside the caller's scope.
///
/// The query is parsed here rather than by a `web::Query` extractor, so authentication answers
/// first (see `ApiJson`).
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{id}/stats",
    tag = "accounts",
    operation_id = "accountStats",
    description = "Days are UTC and every day of the range is listed, days without activity included; `to` defaults to today and `from` to 29 days before `to`.",
    params(("id" = String, Path, description = "The account's `acc_` id."), StatsQuery),
    responses(
        (status = 200, description = "Per UTC day: messages in and out, auto-replies, CRM deliveries ok and failed; the totals; first-response times.", body = StatsDto),
        (status = 404, description = "No such account, or outside the key's scope (`not_found`).", body = crate::openapi::ErrorSchema),
        (status = 422, description = "`from` or `to` is not `YYYY-MM-DD`, `from` is after `to`, or the range is over 366 days.", body = crate::openapi::ErrorSchema),
    ),
)]
#[tracing::instrument(name = "account stats", skip_all, fields(account.id = %id))]
pub(crate) async fn get(
    caller: ApiCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = AccountId::parse(&id).map_err(|_| ApiError::NotFound)?;
    caller.require_account(&id)?;
    let StatsQuery { from, to } =
        web::Query::<StatsQuery>::from_query(request.query_string())?.into_inner();
    let from = from
        .as_deref()
        .map(|day| parse_day("from", day))
        .transpose()?;
    let to = to.as_deref().map(|day| parse_day("to", day)).transpose()?;
    let today = utc_day(state.clock.now())
        .ok_or_else(|| ApiError::Internal("the clock is outside the calendar".into()))?;
    let range = StatsRange::with_defaults(from, to, today)?;
    state
        .accounts
        .account(&id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let stats = state.stats.account_stats(&id, &range).await?;
    Ok(HttpResponse::Ok().json(StatsDto::from(&stats)))
}
