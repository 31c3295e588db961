//! The OpenAPI 3.1 document of the whole service (`GET /openapi.json`) and the page that shows it
//! (`GET /docs`, `docs_page.rs`).
//!
//! The document is generated from the code: each handler's `#[utoipa::path]` annotation (listed
//! in `routes::RouteDocs`, next to the routes themselves) and each DTO's `ToSchema` derive.
//! What many operations share is added in one place (`conventions.rs`: the bearer key, the error
//! answers and rate-limit headers of every `/api/v1` operation), a rule the derives cannot state
//! is added to its schema (`send_request.rs`), and the CRM delivery igrouter sends is the
//! document's `webhooks` (`webhooks.rs`). A snapshot test (`tests/it/openapi.rs`)
//! shows every change to it in review, and another checks that every route is in it.

mod conventions;
mod crm_events;
mod docs_page;
mod errors;
mod headers;
mod meta_webhook;
pub(crate) mod schemas;
mod send_request;
mod webhooks;

use std::sync::LazyLock;

use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{HttpResponse, web};
use utoipa::OpenApi;

pub(crate) use crm_events::CrmEventSchema;
pub(crate) use errors::ErrorSchema;
pub(crate) use meta_webhook::MetaWebhookSchema;

/// What the document says besides its paths.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "igrouter",
        description = "Connects Instagram DMs to a CRM: Meta's webhooks in, signed CRM deliveries \
                       out, and a REST API (`/api/v1`) for the CRM to send messages, read the \
                       history, manage accounts, auto-reply rules and deliveries. Every \
                       `/api/v1` call needs `Authorization: Bearer <api key>` and is rate \
                       limited per key; errors are `{\"error\":{\"code\",\"message\",\"details\"}}`.",
        license(name = "MIT", identifier = "MIT"),
    ),
    components(schemas(ErrorSchema, CrmEventSchema, meta_webhook::MetaEntrySchema)),
    tags(
        (name = "accounts", description = "Instagram business accounts and their CRM"),
        (name = "messages", description = "Sending DMs and the conversation history"),
        (name = "rules", description = "Auto-reply rules"),
        (name = "deliveries", description = "Events forwarded to the CRM, and their replay"),
        (name = "instagram", description = "Meta's webhooks (called by Meta)"),
        (name = "crm", description = "What igrouter posts to the CRM"),
        (name = "operations", description = "Health and metrics"),
    ),
)]
struct ApiDoc;

/// The whole document.
pub(crate) fn document() -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    document.merge(crate::routes::RouteDocs::openapi());
    send_request::exactly_one_content(&mut document);
    conventions::apply(&mut document);
    webhooks::add(&mut document);
    document
}

/// Built once: it depends on nothing but the code.
static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(document);

/// Registers `/openapi.json` and `/docs`. Neither needs an API key nor is rate limited (both are
/// outside `/api/v1`).
pub(crate) fn configure(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/openapi.json").get(openapi_json))
        .service(
            web::resource("/docs")
                .wrap(docs_page::security_headers())
                .get(docs_page::index),
        )
        .service(
            web::resource("/docs/{file:.*}")
                .wrap(docs_page::security_headers())
                .get(docs_page::asset),
        );
}

/// `GET /openapi.json`.
async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(CacheControl(vec![CacheDirective::NoCache]))
        .json(&*DOCUMENT)
}
