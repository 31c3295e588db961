//! `POST /api/v1/deliveries/{id}/retry` and `POST /api/v1/deliveries/recover`: failed deliveries
//! made pending again, due now. Both ring this instance's delivery worker after the commit, so
//! the replay starts at once instead of at the worker's next poll.

use actix_web::{HttpResponse, web};

use super::dto::{DeliveryDto, RecoverBody, RecoveredDto};
use super::{corrupt_payload, visible_delivery};
use crate::auth::ApiCaller;
use crate::http_error::ApiError;
use crate::routes::api_json::ApiJson;
use crate::routes::json_fields::JsonObject;
use crate::state::AppState;

/// Replays one failed delivery now: `202` with the delivery, `pending`. `409
/// delivery_not_failed` for any other status; `404` as for `GET`.
#[utoipa::path(
    post,
    path = "/api/v1/deliveries/{id}/retry",
    tag = "deliveries",
    operation_id = "retryDelivery",
    params(("id" = String, Path, description = "The delivery's `evt_` id.")),
    responses(
        (status = 202, description = "The failed delivery is pending again, due now.", body = DeliveryDto),
        (status = 404, description = "No such delivery, or outside the key's scope (`not_found`).", body = crate::openapi::ErrorSchema),
        (status = 409, description = "The delivery is not `failed` (`delivery_not_failed`).", body = crate::openapi::ErrorSchema),
    ),
)]
#[tracing::instrument(name = "retry delivery", skip_all, fields(crm.delivery_id = %id))]
pub(crate) async fn retry(
    caller: ApiCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let found = visible_delivery(&caller, &state, &id).await?;
    let delivery = state
        .deliveries
        .retry_delivery(&found.delivery.id, state.clock.now())
        .await?;
    state.delivery_wake.ring_for([&delivery.account_id]);
    tracing::info!(
        crm.delivery_id = %delivery.id,
        account.id = %delivery.account_id,
        "failed delivery queued again"
    );
    let body = DeliveryDto::try_from(&delivery).map_err(corrupt_payload)?;
    Ok(HttpResponse::Accepted().json(body))
}

/// Replays every failed delivery of one account created in `[since, until)`: `202`
/// `{"count": N}`. `404` for an account that does not exist or is outside the caller's scope.
#[utoipa::path(
    post,
    path = "/api/v1/deliveries/recover",
    tag = "deliveries",
    operation_id = "recoverDeliveries",
    request_body = RecoverBody,
    responses(
        (status = 202, description = "How many failed deliveries of the window are pending again.", body = RecoveredDto),
        (status = 404, description = "No such account, or outside the key's scope (`not_found`).", body = crate::openapi::ErrorSchema),
    ),
)]
#[tracing::instrument(name = "recover deliveries", skip_all, fields(account.id))]
pub(crate) async fn recover(
    caller: ApiCaller,
    state: web::Data<AppState>,
    body: ApiJson<JsonObject<RecoverBody>>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let window = body.into_inner()?.0.parse(now)?;
    let account = &window.account;
    tracing::Span::current().record("account.id", tracing::field::display(account));
    caller.require_account(account)?;
    // Without this check an unknown account would answer `{"count": 0}`, while a scoped key
    // naming it gets `404`; checking makes both say the same, and catches a mistyped id.
    state
        .accounts
        .account(account)
        .await?
        .ok_or(ApiError::NotFound)?;
    let count = state
        .deliveries
        .recover_deliveries(account, window.since, window.until, now)
        .await?;
    if count > 0 {
        state.delivery_wake.ring_for([account]);
    }
    tracing::info!(
        account.id = %account,
        since = %window.since.to_rfc3339(),
        until = %window.until.to_rfc3339(),
        count,
        "failed deliveries queued again"
    );
    Ok(HttpResponse::Accepted().json(RecoveredDto { count }))
}
