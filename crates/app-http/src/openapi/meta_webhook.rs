//! Meta's webhook body as `POST /webhooks/instagram` reads it (docs/webhooks.md), as a schema.
//! Schema-only and deliberately loose: `adapters-instagram` is the only crate that knows Meta's
//! JSON, and it skips what it does not understand rather than refuse the body: any JSON object
//! is taken (`200`), so every member's schema admits any value.

use serde_json::Value;
use utoipa::ToSchema;

/// `{"object": "instagram", "entry": [...]}`: one or more entries, each with `messaging` items
/// (or `changes`).
#[derive(ToSchema)]
#[schema(as = MetaWebhook)]
#[expect(dead_code, reason = "never built: it only describes Meta's body")]
pub(crate) struct MetaWebhookSchema {
    /// `instagram` or `page`.
    #[schema(value_type = Option<Value>, examples("instagram"))]
    object: Option<Value>,
    /// One per business account (`id`) and batch, `MetaEntry`; an entry of another shape is
    /// skipped, not refused.
    #[schema(value_type = Option<Value>)]
    entry: Option<Value>,
}

/// One entry of the batch, as igrouter reads it.
#[derive(ToSchema)]
#[schema(as = MetaEntry)]
#[expect(dead_code, reason = "never built: it only describes Meta's body")]
pub(crate) struct MetaEntrySchema {
    /// The business's Instagram id.
    #[schema(value_type = Option<Value>)]
    id: Option<Value>,
    /// Unix milliseconds.
    #[schema(value_type = Option<Value>)]
    time: Option<Value>,
    /// Messages, echoes, reactions, reads, edits, deletions, postbacks, referrals.
    #[schema(value_type = Option<Value>)]
    messaging: Option<Value>,
    /// The same events in the `changes` form (`field`, `value`).
    #[schema(value_type = Option<Value>)]
    changes: Option<Value>,
}
