//! The document's `webhooks`: the requests igrouter makes to a CRM (contract §3,
//! docs/crm-events.md), so a CRM developer reads the body and the signature headers where they
//! read the API. Meta's direction, `POST /webhooks/instagram`, is an ordinary path.

use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItemBuilder,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, OpenApi, PathsBuilder, Ref, Required};

/// The name of the CRM delivery in `webhooks`.
pub(crate) const CRM_DELIVERY: &str = "crmDelivery";

/// The headers of every delivery, with what each holds.
const DELIVERY_HEADERS: [(&str, &str); 4] = [
    (
        "X-Hub-Signature-256",
        "`sha256=` and the lowercase hex HMAC-SHA256 of the raw body, keyed with the account's webhook secret. The same on every retry.",
    ),
    (
        "webhook-id",
        "Standard Webhooks: the `event_id`, the same on every retry. Deduplicate on it: delivery is at least once.",
    ),
    (
        "webhook-timestamp",
        "Standard Webhooks: Unix seconds of this attempt.",
    ),
    (
        "webhook-signature",
        "Standard Webhooks: `v1,` and the base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` keyed with the webhook secret's bytes (`whsec_` + base64(secret) for a Standard Webhooks library).",
    ),
];

/// Adds `webhooks` to `document`.
pub(crate) fn add(document: &mut OpenApi) {
    let mut operation = OperationBuilder::new()
        .operation_id(Some(CRM_DELIVERY))
        .tags(Some(["crm"]))
        .summary(Some(
            "An event igrouter posts to the account's crm_webhook_url",
        ))
        .description(Some(
            "One `POST` per attempt, signed twice. Any `2xx` accepts the event; anything else, a \
             timeout or a connection error is retried on `CRM_RETRY_SCHEDULE` (honouring \
             `Retry-After`), then the delivery is `failed` and listed under \
             `/api/v1/deliveries` for replay. Verify the signatures over the raw bytes before \
             parsing. docs/crm-events.md has every event and its extras.",
        ))
        .request_body(Some(
            RequestBodyBuilder::new()
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("CrmEvent")))
                        .build(),
                )
                .required(Some(Required::True))
                .build(),
        ))
        .response(
            "2XX",
            ResponseBuilder::new()
                .description("The CRM accepted the event; it is not sent again.")
                .build(),
        )
        .response(
            "default",
            ResponseBuilder::new()
                .description(
                    "Any other answer is a failed attempt, retried later (`Retry-After` is \
                     honoured, clamped between the scheduled delay and twice it).",
                )
                .build(),
        );
    operation = operation.parameter(
        ParameterBuilder::new()
            .name("X-Request-Id")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "The id of the request that caused the event (the webhook post, or the send), the \
                 same on every attempt; not signed.",
            ))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String).build())),
    );
    for (name, description) in DELIVERY_HEADERS {
        operation = operation.parameter(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Header)
                .required(Required::True)
                .description(Some(description))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String).build())),
        );
    }
    let webhooks = PathsBuilder::new()
        .path(
            CRM_DELIVERY,
            PathItemBuilder::new()
                .operation(HttpMethod::Post, operation.build())
                .build(),
        )
        .build();
    document.webhooks = Some(webhooks);
}
