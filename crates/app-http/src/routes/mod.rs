//! The HTTP routes, one module per resource. Handlers parse input into domain types, call one use
//! case, and map the result; errors go through `http_error::ApiError`. Every `/api/v1` handler
//! takes an `auth::ApiCaller`, which authenticates the request and scopes it to accounts.

mod accounts;
mod api_json;
mod deliveries;
mod health;
mod json_fields;
mod messages;
mod metrics;
mod rules;
mod stats;

pub(crate) use stats::MAX_CONCURRENT_STATS;
mod webhooks;

use actix_web::web::{self, ServiceConfig};
use utoipa::OpenApi;

/// Every operation `configure` registers, for the OpenAPI document (`crate::openapi`). A route
/// added without its `#[utoipa::path]` here fails `tests/it/openapi.rs`, which compares this list
/// with the routes below both ways.
#[derive(OpenApi)]
#[openapi(paths(
    health::health,
    metrics::metrics,
    webhooks::verify,
    webhooks::receive,
    accounts::list,
    accounts::write::create,
    accounts::get,
    accounts::write::update,
    accounts::write::delete,
    messages::history::list,
    stats::get,
    rules::list,
    rules::create,
    rules::get,
    rules::update,
    rules::delete,
    rules::test::test,
    messages::send,
    messages::status,
    deliveries::list,
    deliveries::replay::recover,
    deliveries::get,
    deliveries::replay::retry,
))]
pub(crate) struct RouteDocs;

/// Registers every route. Each path is one `web::resource`, so a known path with another method
/// answers `405` with an `Allow` header instead of falling through to the `404` default.
pub(crate) fn configure(config: &mut ServiceConfig) {
    config
        .configure(crate::openapi::configure)
        .configure(crate::console::configure)
        .service(web::resource("/health").get(health::health))
        .service(web::resource("/metrics").get(metrics::metrics))
        .service(
            web::resource("/webhooks/instagram")
                .get(webhooks::verify)
                .post(webhooks::receive),
        )
        .service(
            web::resource("/api/v1/accounts")
                .get(accounts::list)
                .post(accounts::create),
        )
        .service(
            web::resource("/api/v1/accounts/{id}")
                .get(accounts::get)
                .patch(accounts::update)
                .delete(accounts::delete),
        )
        .service(web::resource("/api/v1/accounts/{id}/messages").get(messages::list))
        .service(web::resource("/api/v1/accounts/{id}/stats").get(stats::get))
        .service(
            web::resource("/api/v1/accounts/{id}/rules")
                .get(rules::list)
                .post(rules::create),
        )
        // Before `{rule_id}`, which would otherwise take `test` for a rule id.
        .service(web::resource("/api/v1/accounts/{id}/rules/test").post(rules::test::test))
        .service(
            web::resource("/api/v1/accounts/{id}/rules/{rule_id}")
                .get(rules::get)
                .patch(rules::update)
                .delete(rules::delete),
        )
        .service(web::resource("/api/v1/messages/send").post(messages::send))
        .service(web::resource("/api/v1/messages/{message_id}/status").get(messages::status))
        .service(web::resource("/api/v1/deliveries").get(deliveries::list))
        // Registered before `{id}`: actix matches resources in order, and `recover` would
        // otherwise be taken for an id (and answer `405` to its `POST`).
        .service(web::resource("/api/v1/deliveries/recover").post(deliveries::recover))
        .service(web::resource("/api/v1/deliveries/{id}").get(deliveries::get))
        .service(web::resource("/api/v1/deliveries/{id}/retry").post(deliveries::retry));
}
