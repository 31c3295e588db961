//! `GET /docs`: Swagger UI over `/openapi.json`. Its files are compiled into the binary
//! (`utoipa-swagger-ui`'s `vendored` feature), so the page works without internet access and
//! nothing is downloaded at build time either.
//!
//! The page holds an API key once "Authorize" is used, so it is served like the console: a
//! Content-Security-Policy that lets it run only its own files and call only its own origin, no
//! framing, no sniffing, no referrer, and the key kept in the page's memory only (never in
//! `localStorage`, where any later script of the origin could read it).

use std::sync::{Arc, LazyLock};

use actix_web::http::header::{self, CacheControl, CacheDirective, ContentType};
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpResponse, web};
use utoipa_swagger_ui::Config;

use crate::http_error::ApiError;

/// Where the page reads the document.
const DOCUMENT_PATH: &str = "/openapi.json";

/// The policy of every `/docs` answer. Swagger UI's page loads its scripts as files (its
/// initializer too: `swagger-initializer.js`), so no inline script is allowed; its React
/// components set `style` attributes, hence `'unsafe-inline'` for styles only; its stylesheet
/// draws icons from `data:` URIs; "Try it out" calls igrouter's own origin. The page's links
/// are absolute (`/docs/…`), so it needs no `<base>`.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
    frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Swagger UI's settings: "try it out" on for every operation, the key entered under
/// "Authorize" kept in memory only (`persistAuthorization` stays off), and no validator badge
/// (it would call an outside service).
static CONFIG: LazyLock<Arc<Config<'static>>> = LazyLock::new(|| {
    Arc::new(
        Config::new([DOCUMENT_PATH])
            .try_it_out_enabled(true)
            .persist_authorization(false)
            .validator_url("none"),
    )
});

/// The headers of every `/docs` answer, errors included.
pub(crate) fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"))
}

/// `/docs` and `/docs/`: the page.
pub(crate) async fn index() -> Result<HttpResponse, ApiError> {
    let page = file("index.html")?.ok_or(ApiError::NotFound)?;
    let html = absolute_links(&String::from_utf8_lossy(&page.bytes));
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

/// The page's own `index.html` names its files relative to itself (`./swagger-ui.css`,
/// `index.css`), which would resolve outside `/docs/` when the page is opened as `/docs`. They
/// are made absolute here rather than with a `<base>`, which the policy forbids (`base-uri
/// 'none'`).
fn absolute_links(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + 64);
    let mut rest = html;
    while let Some(at) = rest.find(['"', '\'']) {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let quote = &from[..1];
        out.push_str(quote);
        let value = &from[1..];
        let attribute = before.trim_end().ends_with("src=") || before.trim_end().ends_with("href=");
        if attribute && is_relative(value) {
            out.push_str("/docs/");
            rest = value.strip_prefix("./").unwrap_or(value);
        } else {
            rest = value;
        }
    }
    out.push_str(rest);
    out
}

/// Whether a link starting `value` names a file next to the page (no scheme, host or root).
fn is_relative(value: &str) -> bool {
    let first = value.split(['"', '\'']).next().unwrap_or_default();
    !first.is_empty() && !first.starts_with('/') && !first.starts_with('#') && !first.contains(':')
}

fn file(name: &str) -> Result<Option<utoipa_swagger_ui::SwaggerFile<'static>>, ApiError> {
    utoipa_swagger_ui::serve(name, Arc::clone(&CONFIG)).map_err(|error| {
        ApiError::Internal(format!("swagger ui file {name} could not be served: {error}").into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_links_become_absolute_and_others_stay() {
        let html = r##"<link href="./swagger-ui.css" /><link href="index.css" />
<script src="./swagger-ui-bundle.js" charset="UTF-8"></script>
<a href="https://example.com/x">x</a><a href="/health">h</a><a href="#top">t</a>
<div id="swagger-ui"></div>"##;

        let out = absolute_links(html);

        assert_eq!(
            out,
            r##"<link href="/docs/swagger-ui.css" /><link href="/docs/index.css" />
<script src="/docs/swagger-ui-bundle.js" charset="UTF-8"></script>
<a href="https://example.com/x">x</a><a href="/health">h</a><a href="#top">t</a>
<div id="swagger-ui"></div>"##
        );
    }

    #[test]
    fn the_initializer_is_a_file_and_does_not_persist_the_key() {
        let page = file("index.html").unwrap().unwrap();
        let html = String::from_utf8_lossy(&page.bytes);
        let inline_scripts = html
            .split("<script")
            .skip(1)
            .filter(|tag| !tag.split('>').next().unwrap_or_default().contains("src="))
            .count();
        assert_eq!(inline_scripts, 0, "{html}");
        let initializer = file("swagger-initializer.js").unwrap().unwrap();
        let initializer = String::from_utf8_lossy(&initializer.bytes);
        assert!(
            initializer.contains("\"persistAuthorization\": false"),
            "{initializer}"
        );
    }
}
