//! The response headers the document names, as reusable components: the rate-limit headers on
//! every `/api/v1` answer, `X-Request-Id` on every answer, `Retry-After` on a `429`,
//! `WWW-Authenticate` on a `401`, and the send endpoint's own.

use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{Components, Ref, RefOr};

/// `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers-11), on every `/api/v1` answer.
pub(crate) const RATE_LIMIT_POLICY: &str = "RateLimit-Policy";
/// `RateLimit`, on every `/api/v1` answer.
pub(crate) const RATE_LIMIT: &str = "RateLimit";
/// `Retry-After`, on a `429`.
pub(crate) const RETRY_AFTER: &str = "Retry-After";
/// `WWW-Authenticate: Bearer`, on a `401`.
pub(crate) const WWW_AUTHENTICATE: &str = "WWW-Authenticate";
/// `X-Request-Id`, on every answer of every route.
pub(crate) const REQUEST_ID: &str = "X-Request-Id";
/// `Location` of a created or queued resource.
pub(crate) const LOCATION: &str = "Location";
/// `Idempotent-Replayed: true` on a replayed send.
pub(crate) const IDEMPOTENT_REPLAYED: &str = "Idempotent-Replayed";
/// `Preference-Applied: wait=N` on a send that honoured `Prefer: wait`.
pub(crate) const PREFERENCE_APPLIED: &str = "Preference-Applied";

/// A reference to the header component `name`.
pub(crate) fn reference(name: &str) -> RefOr<Header> {
    RefOr::Ref(Ref::new(format!("#/components/headers/{name}")))
}

/// Adds every header component to `components`.
pub(crate) fn register(components: &mut Components) {
    let headers = [
        (
            RATE_LIMIT_POLICY,
            r#"The key's quota: `"default";q=<burst>;w=<seconds>` (an empty bucket is full again after `w` seconds). docs/api.md, Rate limits."#,
            None,
        ),
        (
            RATE_LIMIT,
            r#"What is left of it: `"default";r=<remaining>;t=<seconds until the whole quota is back>`."#,
            None,
        ),
        (
            RETRY_AFTER,
            "Seconds to wait before the next request is let through.",
            Some(Type::Integer),
        ),
        (
            WWW_AUTHENTICATE,
            "`Bearer`: the scheme to authenticate with (RFC 6750).",
            None,
        ),
        (
            REQUEST_ID,
            "The request's id: the caller's `X-Request-Id` when it was 1 to 128 visible ASCII characters, else a new `req_` id. In igrouter's log lines as `request_id`.",
            None,
        ),
        (LOCATION, "The path of the resource.", None),
        (
            IDEMPOTENT_REPLAYED,
            "`true` when the answer is the stored answer of an earlier request with the same idempotency key.",
            None,
        ),
        (
            PREFERENCE_APPLIED,
            "`wait=N`: the `Prefer: wait` applied (at most 30).",
            None,
        ),
    ];
    for (name, description, kind) in headers {
        components
            .headers
            .insert(name.to_owned(), RefOr::T(header(description, kind)));
    }
}

fn header(description: &str, kind: Option<Type>) -> Header {
    HeaderBuilder::new()
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(kind.unwrap_or(Type::String))
                .build(),
        ))
        .description(Some(description))
        .build()
}
