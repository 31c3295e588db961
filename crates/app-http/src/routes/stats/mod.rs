//! `GET /api/v1/accounts/{id}/stats?from=&to=`: an account's messages, auto-replies and CRM
//! deliveries per UTC day and its first-response times, computed by the database
//! (`StatsStore`). Scoped like the account itself: another account's stats are `404`.
//!
//! A stats query reads up to 366 days of an account's rows, so an instance runs at most
//! [`MAX_CONCURRENT_STATS`] at once: a further request waits up to [`STATS_QUEUE_WAIT`] for its
//! turn, then is answered `503` (`busy`) with `Retry-After`, so a burst of dashboards cannot
//! take every database connection from the webhooks.

mod dto;

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use domain::stats::{parse_day, utc_day};
use domain::{AccountId, StatsRange};
use serde::Deserialize;
use tokio::sync::{Semaphore, SemaphorePermit};
use utoipa::IntoParams;

use self::dto::StatsDto;
use crate::auth::ApiCaller;
use crate::http_error::ApiError;
use crate::state::AppState;

/// How many stats queries one instance runs at once.
pub(crate) const MAX_CONCURRENT_STATS: usize = 2;

/// How long a stats request waits for a turn before it is answered `503`.
pub(crate) const STATS_QUEUE_WAIT: Duration = Duration::from_secs(2);

/// The `Retry-After` of a stats request refused for want of a turn, in seconds.
const BUSY_RETRY_AFTER_SECS: u64 = 2;

/// `?from=&to=`, both `YYYY-MM-DD`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct StatsQuery {
    /// The first UTC day, `YYYY-MM-DD` (default: 29 days before `to`).
    #[param(format = Date)]
    from: Option<String>,
    /// The last UTC day, included, `YYYY-MM-DD` (default: today); the range covers at most 366
    /// days, both ends counted.
    #[param(format = Date)]
    to: Option<String>,
}

/// The account's stats over `from`..=`to` (UTC days; by default the 30 days up to today);
/// `422` naming `from` or `to` for a day that is not `YYYY-MM-DD`, `from` after `to` or a range
/// over 366 days; `404` when the account does not exist or is outside the caller's scope
/// (checked first); `503` (`busy`) with `Retry-After` when this instance is computing as many
/// stats as it allows.
///
/// At most [`MAX_CONCURRENT_STATS`] at once; a request waits up to [`STATS_QUEUE_WAIT`] for a
/// turn.
///
/// The query is parsed here rather than by a `web::Query` extractor, so authentication answers
/// first (see `ApiJson`).
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{id}/stats",
    tag = "accounts",
    operation_id = "accountStats",
    description = "Days are UTC and every day of the range is listed, days without activity included; `to` defaults to today and `from` to 29 days before `to`. An instance computes at most 2 stats at once; a request that finds no turn within 2 s is answered `503` (`busy`) with `Retry-After`.",
    params(("id" = String, Path, description = "The account's `acc_` id."), StatsQuery),
    responses(
        (status = 200, description = "Per UTC day: messages in and out, auto-replies, CRM deliveries ok and failed; the totals; first-response times.", body = StatsDto),
        (status = 404, description = "No such account, or outside the key's scope (`not_found`).", body = crate::openapi::ErrorSchema),
        (status = 422, description = "`from` or `to` is not `YYYY-MM-DD`, `from` is after `to`, or the range is over 366 days.", body = crate::openapi::ErrorSchema),
        (status = 503, description = "The database does not answer (`service_unavailable`), or this instance already computes as many stats as it allows (`busy`); retry after `Retry-After` seconds when it is given.", body = crate::openapi::ErrorSchema,
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying (with `busy`)."))),
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
    state
        .accounts
        .account(&id)
        .await?
        .ok_or(ApiError::NotFound)?;
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
    let _turn = turn(&state.stats_turns, STATS_QUEUE_WAIT).await?;
    let stats = state.stats.account_stats(&id, &range).await?;
    Ok(HttpResponse::Ok().json(StatsDto::from(&stats)))
}

/// A turn among the [`MAX_CONCURRENT_STATS`] stats queries of the instance, waiting at most
/// `wait` for one; held until the query is done.
async fn turn(turns: &Semaphore, wait: Duration) -> Result<SemaphorePermit<'_>, ApiError> {
    match tokio::time::timeout(wait, turns.acquire()).await {
        Ok(Ok(permit)) => Ok(permit),
        // The semaphore is never closed; should it be, refusing is the safe answer.
        Ok(Err(_)) | Err(_) => Err(ApiError::Busy {
            retry_after_secs: BUSY_RETRY_AFTER_SECS,
        }),
    }
}

#[cfg(test)]
mod tests {
    use actix_web::ResponseError;
    use actix_web::http::StatusCode;

    use super::*;

    #[tokio::test]
    async fn a_request_beyond_the_limit_waits_then_is_refused_with_retry_after() {
        let turns = Semaphore::new(MAX_CONCURRENT_STATS);
        let wait = Duration::from_millis(50);
        let first = turn(&turns, wait).await.unwrap();
        let _second = turn(&turns, wait).await.unwrap();

        let refused = turn(&turns, wait).await.unwrap_err();

        assert!(matches!(refused, ApiError::Busy { .. }));
        let response = refused.error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.headers().get("retry-after").unwrap(),
            &BUSY_RETRY_AFTER_SECS.to_string()
        );
        drop(first);
        assert!(
            turn(&turns, wait).await.is_ok(),
            "a finished query frees its turn"
        );
    }

    #[tokio::test]
    async fn a_waiting_request_gets_the_turn_a_query_frees() {
        let turns = std::sync::Arc::new(Semaphore::new(1));
        let held = std::sync::Arc::clone(&turns).acquire_owned().await.unwrap();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(30)).await;
            drop(held);
        });

        assert!(turn(&turns, Duration::from_secs(5)).await.is_ok());
    }
}
