//! The error shape every `4xx` and `5xx` answer has (`http_error.rs` writes it), as a schema.
//! Schema-only types: `http_error`'s own body borrows its message, and the schema is the
//! contract's shape rather than that struct's.

use serde_json::Value;
use utoipa::ToSchema;

/// `{"error":{"code","message","details"}}`, the body of every error answer.
#[derive(ToSchema)]
#[schema(as = Error)]
#[expect(
    dead_code,
    reason = "never built: it only describes http_error's answers"
)]
pub(crate) struct ErrorSchema {
    error: ErrorObjectSchema,
}

/// What went wrong.
#[derive(ToSchema)]
#[schema(as = ErrorObject)]
#[expect(
    dead_code,
    reason = "never built: it only describes http_error's answers"
)]
struct ErrorObjectSchema {
    /// Stable and meant for programs: `validation_failed`, `not_found`, `rate_limited`, … (the
    /// table in docs/api.md).
    #[schema(examples("validation_failed"))]
    code: String,
    /// For people.
    #[schema(examples("validation_failed"))]
    message: String,
    /// More about it, or `null`: `field` and `reason` for a `422`, `reason` for a `400` or a
    /// `409`, `retry_after_seconds` for a `429`, `limit_bytes` for a `413`.
    #[schema(value_type = Value, examples(json!({"field": "username", "reason": "must be at most 30 characters"})))]
    details: Value,
}
