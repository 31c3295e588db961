//! `GET /docs`: Swagger UI over `/openapi.json`. Its files are compiled into the binary
//! (`utoipa-swagger-ui`'s `vendored` feature), so the page works without internet access and
//! nothing is downloaded at build time either.

use std::sync::{Arc, LazyLock};

use actix_web::http::header::{CacheControl, CacheDirective, ContentType};
use actix_web::{HttpResponse, web};
use utoipa_swagger_ui::Config;

use crate::http_error::ApiError;

/// Where the page reads the document.
const DOCUMENT_PATH: &str = "/openapi.json";

/// The page's own `index.html` names its files relative to itself (`./swagger-ui.css`); a base
/// makes them resolve under `/docs/` also when the page is opened as `/docs`.
const BASE: &str = r#"<head><base href="/docs/">"#;

/// Swagger UI's settings: "try it out" on for every operation, the key entered under
/// "Authorize" kept across reloads, and no validator badge (it would call an outside service).
static CONFIG: LazyLock<Arc<Config<'static>>> = LazyLock::new(|| {
    Arc::new(
        Config::new([DOCUMENT_PATH])
            .try_it_out_enabled(true)
            .persist_authorization(true)
            .validator_url("none"),
    )
});

/// `/docs` and `/docs/`: the page.
pub(crate) async fn index() -> Result<HttpResponse, ApiError> {
    let page = file("index.html")?.ok_or(ApiError::NotFound)?;
    let html = String::from_utf8_lossy(&page.bytes).replacen("<head>", BASE, 1);
    Ok(HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header(CacheControl(vec![CacheDirective::NoCache]))
        .body(html))
}

/// `/docs/{file}`: one of the page's scripts, stylesheets or icons.
pub(crate) async fn asset(name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    if name.is_empty() || name == "index.html" {
        return index().await;
    }
    let found = file(&name)?.ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type(found.content_type)
        .insert_header(CacheControl(vec![CacheDirective::NoCache]))
        .body(found.bytes.into_owned()))
}

fn file(name: &str) -> Result<Option<utoipa_swagger_ui::SwaggerFile<'static>>, ApiError> {
    utoipa_swagger_ui::serve(name, Arc::clone(&CONFIG)).map_err(|error| {
        ApiError::Internal(format!("swagger ui file {name} could not be served: {error}").into())
    })
}
