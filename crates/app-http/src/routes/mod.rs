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
mod webhooks;

use actix_web::web::{self, ServiceConfig};

/// Registers every route. Each path is one `web::resource`, so a known path with another method
/// answers `405` with an `Allow` header instead of falling through to the `404` default.
pub(crate) fn configure(config: &mut ServiceConfig) {
    config
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
