//! The operator console, `GET /console` (and `HEAD`): a small page over the public `/api/v1` API,
//! compiled into the binary (`crates/app-http/console/`), so it needs no build step, no CDN and no
//! network beyond this service. The page itself holds no data: it signs in with an API key and
//! calls `/api/v1` like any client (docs/console.md).
//!
//! Every answer carries a Content-Security-Policy that lets the page load only its own files and
//! talk only to this origin (no inline script, no `eval`, no other host), so a message text that
//! slipped into the page as markup could still run nothing. Assets are answered with an `ETag`
//! and `Cache-Control: no-cache`: a browser revalidates each file (a `304` without a body) and
//! picks up a new version the moment the binary changes, without names that carry a hash.

mod assets;

use actix_web::http::header::{self, HeaderValue};
use actix_web::web::{self, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse};

use self::assets::Asset;
use crate::http_error::ApiError;

/// The policy of every console answer: the page's own scripts, styles and images, calls to its
/// own origin only, no frames, no plugins, no forms posted elsewhere.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'none'; \
    base-uri 'none'; frame-ancestors 'none'";

/// Registers `/console`, `/console/` (the page) and `/console/{path}` (its files), each for `GET`
/// and `HEAD` (the same headers, without the body: actix leaves it out of a `HEAD` answer).
pub(crate) fn configure(config: &mut ServiceConfig) {
    config
        .service(
            web::resource("/console")
                .get(page)
                .route(web::head().to(page)),
        )
        .service(
            web::resource("/console/")
                .get(page)
                .route(web::head().to(page)),
        )
        .service(
            web::resource("/console/{path:.+}")
                .get(file)
                .route(web::head().to(file)),
        );
}

/// The page: the HTML shell that loads the console's modules.
async fn page(request: HttpRequest) -> HttpResponse {
    answer(&request, assets::shell())
}

/// One of the page's files, by its path under `console/`; `404` for anything else.
async fn file(request: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let asset = assets::find(&path).ok_or(ApiError::NotFound)?;
    Ok(answer(&request, asset))
}

/// `200` with the asset, or `304` when the browser holds this version already.
fn answer(request: &HttpRequest, asset: &Asset) -> HttpResponse {
    let fresh = request
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| tag.trim() == asset.etag || tag.trim() == "*");
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .insert_header((header::ETAG, asset.etag.as_str()))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .insert_header((
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .insert_header((header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")));
    if fresh {
        return response.finish();
    }
    response
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        ))
        .body(asset.bytes)
}
