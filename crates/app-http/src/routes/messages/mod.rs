//! The messages resource: `POST /api/v1/messages/send` and
//! `GET /api/v1/messages/{message_id}/status` here, the conversation history
//! (`GET /api/v1/accounts/{id}/messages`) in `history.rs`, the JSON in `dto.rs` and the send
//! headers in `headers.rs`. Sending itself is the `sending` use case.

mod dto;
mod headers;
pub(super) mod history;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use domain::{IdempotencyKey, MessageId, ValidationError};

use self::dto::{AcceptedSchema, SendBody, StatusDto};
use crate::auth::ApiCaller;
use crate::http_error::ApiError;
use crate::routes::api_json::ApiJson;
use crate::routes::json_fields::JsonObject;
use crate::sending::{SendAnswer, SendError, SendRequest, Sender};
use crate::state::AppState;

pub(crate) use history::list;

/// Queues a message: `202` with its id; `200` with its status when it became final within
/// `Prefer: wait`; the original answer, with `Idempotent-Replayed: true`, for a repeated
/// idempotency key.
///
/// An `account_id` the caller may not see is refused exactly like an unknown one (`422`), so a
/// key bound to accounts learns nothing about other tenants.
#[utoipa::path(
    post,
    path = "/api/v1/messages/send",
    tag = "messages",
    operation_id = "sendMessage",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "A key making the request safe to repeat (IETF Idempotency-Key draft): a Structured Field string (`\"k\"`) or the bare key, 1–255 printable ASCII characters. The same as the `idempotency_key` member."),
        ("Prefer" = Option<String>, Header, description = "`wait=N` (RFC 7240): wait up to N seconds (at most 30) for `sent` or `failed`, then answer `200` with the status.", example = "wait=1"),
    ),
    request_body = SendBody,
    responses(
        (status = 202, description = "Queued (also the replay of an earlier request with the same key).", body = AcceptedSchema,
         headers(
            ("Location" = String, description = "The message's status path."),
            ("Idempotent-Replayed" = String, description = "`true` on a replay of an earlier request with the same key."),
            ("Preference-Applied" = String, description = "`wait=N`: the `Prefer: wait` applied."),
         )),
        (status = 200, description = "`Prefer: wait`: the message became `sent` or `failed` within the wait.", body = StatusDto,
         headers(
            ("Location" = String, description = "The message's status path."),
            ("Preference-Applied" = String, description = "`wait=N`: the `Prefer: wait` applied."),
         )),
        (status = 409, description = "The idempotency key's first request is still being processed (`idempotency_key_in_use`).", body = crate::openapi::ErrorSchema),
    ),
)]
#[tracing::instrument(name = "send message", skip_all, fields(account.id, message.id))]
pub(crate) async fn send(
    caller: ApiCaller,
    state: web::Data<AppState>,
    request: HttpRequest,
    body: ApiJson<JsonObject<SendBody>>,
) -> Result<HttpResponse, ApiError> {
    let fields = body.into_inner()?.0.parse()?;
    let idempotency_key = one_key(
        headers::idempotency_key(request.headers())?,
        fields.idempotency_key,
    )?;
    let wait = headers::preferred_wait(request.headers());
    tracing::Span::current().record("account.id", tracing::field::display(&fields.account_id));
    caller
        .require_account(&fields.account_id)
        .map_err(|_| SendError::UnknownAccount)?;
    let sender = Sender {
        accounts: state.accounts.as_ref(),
        outbound: state.outbound.as_ref(),
        idempotency: state.idempotency.as_ref(),
        clock: state.clock.as_ref(),
        wake: &state.send_wake,
        outcomes: &state.send_outcomes,
    };
    let answer = sender
        .send(SendRequest {
            account_id: fields.account_id,
            recipient_id: fields.recipient_id,
            content: fields.content,
            idempotency_key,
            wait,
        })
        .await?;
    let applied = |response: &mut HttpResponseBuilder| {
        if let Some(wait) = wait {
            response.insert_header(("Preference-Applied", format!("wait={}", wait.as_secs())));
        }
    };
    Ok(match answer {
        SendAnswer::Accepted { message_id, body } => {
            tracing::Span::current().record("message.id", tracing::field::display(&message_id));
            let mut response = HttpResponse::Accepted();
            applied(&mut response);
            response
                .insert_header((header::LOCATION, status_path(&message_id)))
                .content_type(ContentType::json())
                .body(body)
        }
        SendAnswer::Finished(message) => {
            tracing::Span::current().record("message.id", tracing::field::display(&message.id));
            let mut response = HttpResponse::Ok();
            applied(&mut response);
            response
                .insert_header((header::LOCATION, status_path(&message.id)))
                .json(StatusDto::from(&message))
        }
        SendAnswer::Replayed {
            status,
            body,
            message_id,
        } => {
            let status = StatusCode::from_u16(status)
                .map_err(|error| ApiError::Internal(Box::new(error)))?;
            let mut response = HttpResponse::build(status);
            if let Some(id) = &message_id {
                tracing::Span::current().record("message.id", tracing::field::display(id));
                response.insert_header((header::LOCATION, status_path(id)));
            }
            response
                .insert_header(("Idempotent-Replayed", "true"))
                .content_type(ContentType::json())
                .body(body)
        }
    })
}

/// One send's status; `404` when it does not exist, belongs to an account outside the caller's
/// scope, or the id is not a message id.
#[utoipa::path(
    get,
    path = "/api/v1/messages/{message_id}/status",
    tag = "messages",
    operation_id = "messageStatus",
    params(("message_id" = String, Path, description = "The `msg_` id the send answered.")),
    responses(
        (status = 200, description = "The send's status.", body = StatusDto),
        (status = 404, description = "No send with this id, or outside the key's scope (`not_found`).", body = crate::openapi::ErrorSchema),
    ),
)]
#[tracing::instrument(name = "message status", skip_all, fields(message.id = %id))]
pub(crate) async fn status(
    caller: ApiCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = MessageId::parse(&id).map_err(|_| ApiError::NotFound)?;
    let message = state
        .outbound
        .outbound(&id)
        .await?
        .ok_or(ApiError::NotFound)?;
    caller.require_account(&message.account_id)?;
    Ok(HttpResponse::Ok().json(StatusDto::from(&message)))
}

/// The key of the request: the header's or the body's. Both may be given when they agree; two
/// different keys are refused rather than one silently winning.
fn one_key(
    header: Option<IdempotencyKey>,
    body: Option<IdempotencyKey>,
) -> Result<Option<IdempotencyKey>, ValidationError> {
    match (header, body) {
        (Some(header), Some(body)) if header != body => Err(ValidationError::new(
            "idempotency_key",
            "differs from the Idempotency-Key header",
        )),
        (header, body) => Ok(header.or(body)),
    }
}

fn status_path(id: &MessageId) -> String {
    format!("/api/v1/messages/{id}/status")
}
