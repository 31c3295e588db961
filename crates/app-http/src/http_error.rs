//! The one mapping from errors to HTTP answers, in the shape of contract §3:
//! `{"error":{"code":"...","message":"...","details":...}}`.
//!
//! Handlers return [`ApiError`]. Actix's own failures (a body that is not JSON, a query or path
//! that does not parse, an unknown route, a wrong method) are turned into it here too, so a client
//! never sees another error shape. The full `source()` chain is logged once, here; the body only
//! carries a fixed message and details about the client's own input.
//!
//! Statuses: a missing or bad API key → 401 with `WWW-Authenticate: Bearer`; a webhook post
//! without a valid `X-Hub-Signature-256` → 401; a refused webhook handshake → 403; malformed JSON,
//! query or path (and a webhook body that is not a JSON object) → 400; JSON that parses but does not fit the expected shape (missing field,
//! wrong type) and rule violations → 422; wrong `Content-Type` → 415; an account that exists
//! already → 409 `account_exists`; an account-scoped API key creating an account → 403; a
//! CRM webhook URL this deployment refuses → 422 naming `crm_webhook_url`; a retry of a delivery
//! that is not failed → 409 `delivery_not_failed`; a send for an account the key cannot see →
//! 422 naming `account_id`, like an unknown one; an idempotency key reused with another request →
//! 422 `idempotency_key_mismatch`, and while its first request is still being processed → 409
//! `idempotency_key_in_use`; an API key over `API_RATE_LIMIT` → 429 `rate_limited` with
//! `Retry-After`; `/metrics` without its `METRICS_TOKEN` → 401; the database down → 503.

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{HttpResponse, ResponseError, web};
use adapters_instagram::{ParseError, SignatureError};
use domain::ValidationError;
use domain::ports::{
    AccountStoreError, BoxError, DeliveryQueueError, OutboundQueueError, RuleStoreError, StoreError,
};
use serde::Serialize;
use serde_json::{Value, json};

use crate::accounts::AccountWriteError;
use crate::ingest::IngestError;
use crate::replies::RuleWriteError;
use crate::sending::SendError;
use crate::telemetry::error_chain;
use crate::webhook_url::DestinationError;

/// Everything a request can fail with, as the client sees it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// No API key, or one that is malformed, unknown or revoked.
    #[error("a valid api key is required: Authorization: Bearer <key>")]
    Unauthorized,
    /// `/metrics` without the bearer token `METRICS_TOKEN` names.
    #[error("the metrics token is required: Authorization: Bearer <METRICS_TOKEN>")]
    MetricsUnauthorized,
    /// The API key made more requests than `API_RATE_LIMIT` allows.
    #[error("too many requests for this api key; retry later")]
    RateLimited {
        /// Seconds until a request is let through again (`Retry-After`).
        retry_after_secs: u64,
    },
    /// A webhook post without a valid signature (missing, malformed or matching no secret).
    #[error("invalid webhook signature")]
    InvalidSignature(#[source] SignatureError),
    /// Authenticated, but not allowed: the webhook handshake's mode or verify token is wrong, or
    /// an API key bound to accounts tries to create one.
    #[error("forbidden")]
    Forbidden,
    /// No route or no resource with that id.
    #[error("not found")]
    NotFound,
    /// The route exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The body, query or path could not be parsed.
    #[error("malformed request")]
    Malformed {
        /// What the parser said about the client's input.
        reason: String,
    },
    /// The body is not `application/json`.
    #[error("content type must be application/json")]
    UnsupportedMediaType,
    /// The body is over the route's limit.
    #[error("request body too large")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The resource's state does not allow the request: it exists already, or it is not in the
    /// state the operation needs. The message is the fixed `reason`, since one generic message
    /// cannot describe both.
    #[error("{reason}")]
    Conflict {
        /// The machine-readable code, e.g. `account_exists`.
        code: &'static str,
        /// What conflicts, for people.
        reason: &'static str,
    },
    /// Well-formed input refused for a reason that has a code of its own (`422`).
    #[error("{reason}")]
    Unprocessable {
        /// The machine-readable code, e.g. `idempotency_key_mismatch`.
        code: &'static str,
        /// The field at fault.
        field: &'static str,
        /// Why it was refused, for people.
        reason: &'static str,
    },
    /// Well-formed input that breaks a rule.
    #[error("validation failed")]
    Invalid {
        /// The field at fault, when known.
        field: Option<&'static str>,
        /// Why it was refused.
        reason: String,
    },
    /// The database cannot be reached; the client should retry later.
    #[error("service temporarily unavailable")]
    Unavailable(#[source] StoreError),
    /// This instance already runs as many expensive queries of the kind as it allows (stats);
    /// the client should retry after `Retry-After`.
    #[error("too many such requests at once on this instance; retry later")]
    Busy {
        /// Seconds after which a retry is likely to be let in (`Retry-After`).
        retry_after_secs: u64,
    },
    /// A bug or an unexpected backend failure.
    #[error("internal error")]
    Internal(#[source] BoxError),
}

/// The JSON body of every error answer.
#[derive(Debug, Serialize)]
struct ErrorBody<'a> {
    error: ErrorObject<'a>,
}

#[derive(Debug, Serialize)]
struct ErrorObject<'a> {
    code: &'static str,
    message: &'a str,
    details: Value,
}

impl ApiError {
    /// The stable, machine-readable `code` of the answer.
    pub(crate) const fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized | Self::MetricsUnauthorized => "unauthorized",
            Self::RateLimited { .. } => "rate_limited",
            Self::InvalidSignature(_) => "invalid_signature",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Malformed { .. } => "bad_request",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::Conflict { code, .. } | Self::Unprocessable { code, .. } => code,
            Self::Invalid { .. } => "validation_failed",
            Self::Unavailable(_) => "service_unavailable",
            Self::Busy { .. } => "busy",
            Self::Internal(_) => "internal_error",
        }
    }

    fn details(&self) -> Value {
        match self {
            Self::Malformed { reason } => json!({ "reason": reason }),
            Self::Conflict { reason, .. } => json!({ "reason": reason }),
            Self::Unprocessable { field, reason, .. } => {
                json!({ "field": field, "reason": reason })
            }
            Self::PayloadTooLarge { limit } => json!({ "limit_bytes": limit }),
            Self::RateLimited { retry_after_secs } | Self::Busy { retry_after_secs } => {
                json!({ "retry_after_seconds": retry_after_secs })
            }
            Self::Invalid {
                field: Some(field),
                reason,
            } => json!({ "field": field, "reason": reason }),
            Self::Invalid {
                field: None,
                reason,
            } => json!({ "reason": reason }),
            Self::Unauthorized
            | Self::MetricsUnauthorized
            | Self::InvalidSignature(_)
            | Self::Forbidden
            | Self::NotFound
            | Self::MethodNotAllowed
            | Self::UnsupportedMediaType
            | Self::Unavailable(_)
            | Self::Internal(_) => Value::Null,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthorized | Self::MetricsUnauthorized | Self::InvalidSignature(_) => {
                StatusCode::UNAUTHORIZED
            }
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Malformed { .. } => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Invalid { .. } | Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable(_) | Self::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if let Self::Busy { .. } = self {
            // Not a failure of the service: it is shedding load as designed.
            tracing::warn!(http.status = status.as_u16(), "request refused: {self}");
        } else if status.is_server_error() {
            tracing::error!(error = %error_chain(self), http.status = status.as_u16(), "request failed");
        } else {
            tracing::debug!(error = %error_chain(self), http.status = status.as_u16(), "request refused");
        }
        let message = self.to_string();
        let mut response = HttpResponse::build(status);
        match self {
            // RFC 6750 §3: a 401 names the scheme the client should use.
            Self::Unauthorized | Self::MetricsUnauthorized => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            Self::RateLimited { retry_after_secs } | Self::Busy { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, *retry_after_secs));
            }
            _ => {}
        }
        response.json(ErrorBody {
            error: ErrorObject {
                code: self.code(),
                message: &message,
                details: self.details(),
            },
        })
    }
}

impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> Self {
        Self::Invalid {
            field: Some(error.field),
            reason: error.reason,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => Self::Unavailable(error),
            StoreError::Corrupt(_) | StoreError::Backend(_) => Self::Internal(Box::new(error)),
        }
    }
}

impl From<AccountStoreError> for ApiError {
    fn from(error: AccountStoreError) -> Self {
        match error {
            AccountStoreError::InstagramAccountTaken => Self::Conflict {
                code: "account_exists",
                reason: "an account for this instagram_account_id already exists",
            },
            AccountStoreError::Store(error) => error.into(),
        }
    }
}

impl From<SignatureError> for ApiError {
    fn from(error: SignatureError) -> Self {
        Self::InvalidSignature(error)
    }
}

impl From<ParseError> for ApiError {
    fn from(error: ParseError) -> Self {
        Self::Malformed {
            reason: error.to_string(),
        }
    }
}

/// Replaying a delivery that is not failed is the client's conflict (`409`). A lost claim only
/// happens to a worker recording an attempt; reaching a handler, it is a bug.
impl From<DeliveryQueueError> for ApiError {
    fn from(error: DeliveryQueueError) -> Self {
        match error {
            DeliveryQueueError::NotFound => Self::NotFound,
            DeliveryQueueError::NotFailed => Self::Conflict {
                code: "delivery_not_failed",
                reason: "only a failed delivery can be retried",
            },
            DeliveryQueueError::ClaimLost => Self::Internal(Box::new(error)),
            DeliveryQueueError::Store(error) => error.into(),
        }
    }
}

/// A send refused for its account or its idempotency key is the client's (`422`, `409`); the
/// rest follows the stores' mappings. An account the caller may not see gets the unknown
/// account's answer (the handler maps it to `UnknownAccount`).
impl From<SendError> for ApiError {
    fn from(error: SendError) -> Self {
        match error {
            SendError::UnknownAccount => unknown_account(),
            SendError::KeyMismatch => Self::Unprocessable {
                code: "idempotency_key_mismatch",
                field: "idempotency_key",
                reason: "this idempotency key was used with a different request",
            },
            SendError::KeyInFlight => Self::Conflict {
                code: "idempotency_key_in_use",
                reason: "a request with this idempotency key is still being processed; retry later",
            },
            SendError::Random(_) => Self::Internal(Box::new(error)),
            SendError::Accounts(error) => error.into(),
            SendError::Store(error) => error.into(),
            SendError::Queue(error) => error.into(),
        }
    }
}

/// A message that does not exist is `404`; a lost claim only happens to the send worker, so
/// reaching a handler it is a bug.
impl From<OutboundQueueError> for ApiError {
    fn from(error: OutboundQueueError) -> Self {
        match error {
            OutboundQueueError::NotFound => Self::NotFound,
            OutboundQueueError::UnknownAccount => unknown_account(),
            OutboundQueueError::ClaimLost => Self::Internal(Box::new(error)),
            OutboundQueueError::Store(error) => error.into(),
        }
    }
}

/// A rule's account is the resource of the path: gone is `404`.
impl From<RuleStoreError> for ApiError {
    fn from(error: RuleStoreError) -> Self {
        match error {
            RuleStoreError::UnknownAccount => Self::NotFound,
            RuleStoreError::Store(error) => error.into(),
        }
    }
}

/// A rule that breaks a field's rule is `422` naming the field (a regex that does not compile
/// within its size limits is `pattern`'s); no randomness is ours.
impl From<RuleWriteError> for ApiError {
    fn from(error: RuleWriteError) -> Self {
        match error {
            RuleWriteError::Invalid(invalid) => invalid.into(),
            RuleWriteError::Store(error) => error.into(),
            RuleWriteError::Random(_) => Self::Internal(Box::new(error)),
        }
    }
}

/// The `422` for an `account_id` that names no account the caller may see.
fn unknown_account() -> ApiError {
    ApiError::Invalid {
        field: Some("account_id"),
        reason: "no account with this id".to_owned(),
    }
}

/// Any storage failure of a webhook is `503`, so Meta delivers the body again later; only a bug
/// on our side (no randomness, an unbuildable delivery body) is `500`.
impl From<IngestError> for ApiError {
    fn from(error: IngestError) -> Self {
        match error {
            IngestError::Accounts(store)
            | IngestError::Store(store)
            | IngestError::Rules(store) => Self::Unavailable(store),
            IngestError::Random(_) | IngestError::DeliveryBody(_) => {
                Self::Internal(Box::new(error))
            }
        }
    }
}

/// A refused CRM URL is the client's input at fault (`422`); the other failures are ours.
impl From<AccountWriteError> for ApiError {
    fn from(error: AccountWriteError) -> Self {
        match error {
            AccountWriteError::Destination(refused) => {
                if let DestinationError::Forbidden { address } = &refused {
                    tracing::debug!(crm.address = %address, "crm_webhook_url refused: non-public destination");
                }
                Self::Invalid {
                    field: Some("crm_webhook_url"),
                    reason: refused.to_string(),
                }
            }
            AccountWriteError::Store(error) => error.into(),
            AccountWriteError::Random(_) | AccountWriteError::Seal(_) => {
                Self::Internal(Box::new(error))
            }
        }
    }
}

impl From<JsonPayloadError> for ApiError {
    fn from(error: JsonPayloadError) -> Self {
        match error {
            JsonPayloadError::OverflowKnownLength { limit, .. }
            | JsonPayloadError::Overflow { limit } => Self::PayloadTooLarge { limit },
            JsonPayloadError::ContentType => Self::UnsupportedMediaType,
            // The JSON is well-formed but does not fit the DTO: a validation problem.
            JsonPayloadError::Deserialize(error)
                if error.classify() == serde_json::error::Category::Data =>
            {
                Self::Invalid {
                    field: None,
                    reason: error.to_string(),
                }
            }
            JsonPayloadError::Deserialize(error) => Self::Malformed {
                reason: error.to_string(),
            },
            JsonPayloadError::Serialize(error) => Self::Internal(Box::new(error)),
            JsonPayloadError::Payload(error) => Self::Malformed {
                reason: error.to_string(),
            },
            other => Self::Malformed {
                reason: other.to_string(),
            },
        }
    }
}

impl From<QueryPayloadError> for ApiError {
    fn from(error: QueryPayloadError) -> Self {
        Self::Malformed {
            reason: error.to_string(),
        }
    }
}

impl From<PathError> for ApiError {
    fn from(error: PathError) -> Self {
        Self::Malformed {
            reason: error.to_string(),
        }
    }
}

/// The JSON extractor's settings: its errors in our shape.
pub(crate) fn json_config() -> web::JsonConfig {
    web::JsonConfig::default().error_handler(|error, _request| ApiError::from(error).into())
}

/// The query extractor's settings: its errors in our shape.
pub(crate) fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error, _request| ApiError::from(error).into())
}

/// The path extractor's settings: its errors in our shape.
pub(crate) fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|error, _request| ApiError::from(error).into())
}

/// The answer for a path no route matches.
pub(crate) async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// Rewrites actix's empty `405` answers (a known path, another method) into our shape, keeping
/// their `Allow` header.
pub(crate) fn method_not_allowed_handler<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().handler(StatusCode::METHOD_NOT_ALLOWED, |response| {
        let (request, response) = response.into_parts();
        let mut rewritten = ApiError::MethodNotAllowed.error_response();
        if let Some(allow) = response.headers().get(header::ALLOW) {
            rewritten.headers_mut().insert(header::ALLOW, allow.clone());
        }
        Ok(ErrorHandlerResponse::Response(
            ServiceResponse::new(request, rewritten).map_into_right_body(),
        ))
    })
}

#[cfg(test)]
mod tests {
    use actix_web::test as actix_test;
    use actix_web::{App, body};
    use serde::Deserialize;

    use super::*;

    #[derive(Deserialize)]
    struct Item {
        #[expect(dead_code, reason = "only deserialized")]
        name: String,
    }

    #[derive(Deserialize)]
    struct Paging {
        #[expect(dead_code, reason = "only deserialized")]
        limit: Option<u32>,
    }

    async fn accept(_: web::Path<u32>, _: web::Query<Paging>, _: web::Json<Item>) -> HttpResponse {
        HttpResponse::NoContent().finish()
    }

    #[actix_web::test]
    async fn extractor_errors_come_in_the_error_shape() {
        let app = actix_test::init_service(
            App::new()
                .app_data(json_config().limit(64))
                .app_data(query_config())
                .app_data(path_config())
                .route("/items/{id}", web::post().to(accept)),
        )
        .await;
        let json = ("content-type", "application/json");
        for (uri, content_type, body, status, code) in [
            ("/items/1", json, r#"{"name":"x"}"#, 204, ""),
            ("/items/1", json, r#"{"name":"#, 400, "bad_request"),
            ("/items/1", json, r#"{"name":5}"#, 422, "validation_failed"),
            ("/items/1", json, r#"{}"#, 422, "validation_failed"),
            (
                "/items/1",
                ("content-type", "text/plain"),
                r#"{"name":"x"}"#,
                415,
                "unsupported_media_type",
            ),
            ("/items/x", json, r#"{"name":"x"}"#, 400, "bad_request"),
            (
                "/items/1?limit=many",
                json,
                r#"{"name":"x"}"#,
                400,
                "bad_request",
            ),
            (
                "/items/1",
                json,
                &format!(r#"{{"name":"{}"}}"#, "x".repeat(100)),
                413,
                "payload_too_large",
            ),
        ] {
            let request = actix_test::TestRequest::post()
                .uri(uri)
                .insert_header(content_type)
                .set_payload(body.to_owned())
                .to_request();
            let response = actix_test::call_service(&app, request).await;
            assert_eq!(response.status().as_u16(), status, "{uri} {body}");
            if status < 400 {
                continue;
            }
            let bytes = body::to_bytes(response.into_body()).await.unwrap();
            let answer: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(answer["error"]["code"], code, "{uri} {body}: {answer}");
            assert!(answer["error"]["message"].is_string(), "{answer}");
        }
    }

    #[test]
    fn store_errors_map_to_503_or_500_and_hide_their_source() {
        let down: ApiError =
            StoreError::Unavailable("connection refused to 10.0.0.7".into()).into();
        assert_eq!(down.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(down.to_string(), "service temporarily unavailable");
        assert!(error_chain(&down).contains("10.0.0.7"));

        let broken: ApiError = StoreError::Corrupt("bad row".into()).into();
        assert_eq!(broken.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(broken.details(), Value::Null);
    }

    #[test]
    fn delivery_queue_errors_map_to_404_409_or_500() {
        let not_failed: ApiError = DeliveryQueueError::NotFailed.into();
        assert_eq!(not_failed.status_code(), StatusCode::CONFLICT);
        assert_eq!(not_failed.code(), "delivery_not_failed");
        assert_eq!(
            not_failed.to_string(),
            "only a failed delivery can be retried"
        );
        let missing: ApiError = DeliveryQueueError::NotFound.into();
        assert_eq!(missing.status_code(), StatusCode::NOT_FOUND);
        let lost: ApiError = DeliveryQueueError::ClaimLost.into();
        assert_eq!(lost.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        let down: ApiError = DeliveryQueueError::Store(StoreError::Unavailable("x".into())).into();
        assert_eq!(down.status_code(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn validation_errors_name_the_field() {
        let error: ApiError = ValidationError::new("recipient_id", "must not be empty").into();
        assert_eq!(error.status_code(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            error.details(),
            json!({ "field": "recipient_id", "reason": "must not be empty" })
        );
    }
}
