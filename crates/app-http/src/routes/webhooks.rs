//! `GET` and `POST /webhooks/instagram` (contract §2): Meta's subscription handshake, and the
//! posts that carry Instagram messaging events.
//!
//! A post is read raw (at most [`MAX_BODY_BYTES`]), its signature checked over those exact bytes
//! before anything else, then parsed and handed to the ingest use case, which commits everything
//! in one transaction. Only then does Meta get `200` (`EVENT_RECEIVED`, `text/plain`); a database
//! failure answers `503`, so Meta delivers the body again.

use actix_web::http::header::{self, ContentType};
use actix_web::{HttpRequest, HttpResponse, web};
use adapters_instagram::{SIGNATURE_HEADER, parse_webhook};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::http_error::ApiError;
use crate::state::AppState;
use crate::webhook_auth::Signed;

/// Largest body accepted; Meta's batches of up to 1,000 items fit well within it.
pub(crate) const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The body of every `200` to a post, as Meta's own examples answer.
const RECEIVED: &str = "EVENT_RECEIVED";

/// The handshake's query: `hub.mode`, `hub.verify_token`, `hub.challenge`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Handshake {
    /// `subscribe`.
    #[serde(rename = "hub.mode")]
    #[param(required = true)]
    mode: Option<String>,
    /// `FACEBOOK_VERIFY_TOKEN`.
    #[serde(rename = "hub.verify_token")]
    #[param(required = true)]
    verify_token: Option<String>,
    /// Echoed back as the body.
    #[serde(rename = "hub.challenge")]
    #[param(required = true)]
    challenge: Option<String>,
}

/// `200` with the challenge when the mode is `subscribe` and the token is ours; `403` for a
/// wrong mode or token (or none configured); `400` when a parameter is missing.
#[utoipa::path(
    get,
    path = "/webhooks/instagram",
    tag = "instagram",
    operation_id = "verifyWebhook",
    params(Handshake),
    responses(
        (status = 200, description = "The challenge, as it was sent.", content_type = "text/plain", body = String),
        (status = 400, description = "A parameter is missing (`bad_request`).", body = crate::openapi::ErrorSchema),
        (status = 403, description = "Wrong mode or token, or no `FACEBOOK_VERIFY_TOKEN` set (`forbidden`).", body = crate::openapi::ErrorSchema),
    ),
)]
pub(crate) async fn verify(
    state: web::Data<AppState>,
    query: web::Query<Handshake>,
) -> Result<HttpResponse, ApiError> {
    let Handshake {
        mode,
        verify_token,
        challenge,
    } = query.into_inner();
    let (Some(mode), Some(token), Some(challenge)) = (mode, verify_token, challenge) else {
        return Err(ApiError::Malformed {
            reason: "hub.mode, hub.verify_token and hub.challenge are required".to_owned(),
        });
    };
    let refused = if mode != "subscribe" {
        Some("hub.mode is not subscribe")
    } else if !state.webhook_auth.verify_token_matches(&token) {
        Some("hub.verify_token is not FACEBOOK_VERIFY_TOKEN, or that is not set")
    } else {
        None
    };
    if let Some(reason) = refused {
        tracing::warn!(reason, "webhook verification handshake refused");
        return Err(ApiError::Forbidden);
    }
    tracing::info!("webhook verification handshake accepted");
    Ok(HttpResponse::Ok()
        .content_type(ContentType::plaintext())
        .body(challenge))
}

/// Checks, parses and stores one post from Meta.
#[utoipa::path(
    post,
    path = "/webhooks/instagram",
    tag = "instagram",
    operation_id = "receiveWebhook",
    description = "Meta's batched messaging events (docs/webhooks.md). Items igrouter does not understand are skipped and counted, never refused. Never rate limited.",
    params(("X-Hub-Signature-256" = Option<String>, Header, description = "`sha256=` and the hex HMAC-SHA256 of the raw body with either app secret. Required once an app secret is configured.")),
    request_body(content = crate::openapi::MetaWebhookSchema, description = "A JSON object, at most 1 MiB.", content_type = "application/json"),
    responses(
        (status = 200, description = "Everything in the body is committed, with the CRM deliveries and auto-replies it causes.", content_type = "text/plain", body = String, example = "EVENT_RECEIVED"),
        (status = 400, description = "The body is not a JSON object (`bad_request`); nothing is stored.", body = crate::openapi::ErrorSchema),
        (status = 401, description = "Signature missing or wrong (`invalid_signature`); nothing is stored.", body = crate::openapi::ErrorSchema),
        (status = 413, description = "The body is over 1 MiB (`payload_too_large`).", body = crate::openapi::ErrorSchema),
        (status = 503, description = "The database does not answer (`service_unavailable`); Meta delivers the body again.", body = crate::openapi::ErrorSchema),
    ),
)]
#[tracing::instrument(name = "instagram_webhook", skip_all, fields(http.body_bytes))]
pub(crate) async fn receive(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(&request, payload).await?;
    tracing::Span::current().record("http.body_bytes", body.len());
    let header = request
        .headers()
        .get(SIGNATURE_HEADER)
        .map(|value| value.to_str().unwrap_or(""));
    match state.webhook_auth.check_signature(&body, header) {
        Ok(Signed::Verified) => {}
        Ok(Signed::Unchecked) => {
            tracing::warn!("unsigned webhook accepted: no app secret is configured (development)");
        }
        Err(error) => {
            state.ingest.counters().add_signature_rejected();
            tracing::warn!(reason = %error, "webhook refused: bad signature");
            return Err(error.into());
        }
    }
    let parsed = parse_webhook(&body)?;
    let outcome = state.ingest.ingest(parsed).await?;
    tracing::debug!(
        webhook.stored = outcome.stored,
        webhook.duplicates = outcome.duplicates,
        webhook.deliveries = outcome.deliveries,
        webhook.unknown_account = outcome.unknown_account,
        webhook.skipped = outcome.skipped,
        "webhook stored"
    );
    Ok(HttpResponse::Ok()
        .content_type(ContentType::plaintext())
        .body(RECEIVED))
}

/// The raw body, refused with `413` past [`MAX_BODY_BYTES`] (at once when `Content-Length` says
/// so, otherwise as soon as the stream passes it).
async fn read_body(request: &HttpRequest, payload: web::Payload) -> Result<web::Bytes, ApiError> {
    let too_large = ApiError::PayloadTooLarge {
        limit: MAX_BODY_BYTES,
    };
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if announced.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return Err(too_large);
    }
    match payload.to_bytes_limited(MAX_BODY_BYTES).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(error)) => Err(ApiError::Malformed {
            reason: format!("could not read the body: {error}"),
        }),
        Err(_) => Err(too_large),
    }
}
