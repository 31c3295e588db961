//! Request ids (`X-Request-Id`): every answer carries one, every log line of the request has it
//! as `request_id`, and the work the request queues keeps it.
//!
//! The caller's id is kept when it is sane (`RequestId::parse`: 1 to 128 visible ASCII
//! characters); otherwise, or when none came, a new one is drawn. The middleware runs the rest
//! of the request inside a `request` span carrying the id and inside a task-local, so the ingest
//! and send use cases read it with [`current`] without every handler passing it down. Tasks
//! spawned by a handler do not inherit the task-local; nothing that stores work does that.

use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use domain::RequestId;
use domain::request_id::{REQUEST_ID_ENTROPY_LEN, REQUEST_ID_HEADER};
use tracing::Instrument;

use crate::random;

tokio::task_local! {
    static CURRENT: RequestId;
}

/// The id of the request being handled, when called from within one.
pub(crate) fn current() -> Option<RequestId> {
    CURRENT.try_with(Clone::clone).ok()
}

/// A new request id.
pub(crate) fn generate() -> RequestId {
    match random::bytes::<REQUEST_ID_ENTROPY_LEN>() {
        Ok(entropy) => RequestId::from_entropy(entropy),
        // Ids need only be unique, not secret: a counter over the process start will do when the
        // system generator fails (it does not, in practice).
        Err(_) => {
            static NEXT: AtomicU64 = AtomicU64::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let mut entropy = [0_u8; REQUEST_ID_ENTROPY_LEN];
            for (index, byte) in entropy.iter_mut().enumerate() {
                *byte = u8::try_from((n >> (5 * index.min(12))) & 31).unwrap_or(0);
            }
            RequestId::from_entropy(entropy)
        }
    }
}

/// The caller's id when it is sane, otherwise a new one.
pub(crate) fn from_header(value: Option<&HeaderValue>) -> RequestId {
    value
        .and_then(|value| value.to_str().ok())
        .and_then(|text| RequestId::parse(text).ok())
        .unwrap_or_else(generate)
}

/// Gives the request its id: in a `request` span and the task-local around the rest of the
/// request, and in `X-Request-Id` on the answer.
pub(crate) async fn propagate(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let id = from_header(request.headers().get(REQUEST_ID_HEADER));
    let value = HeaderValue::from_str(id.as_str()).ok();
    // `error_span`: the span is on whenever any log line is, so `LOG_LEVEL=warn` keeps the id.
    let span = tracing::error_span!("request", request_id = %id);
    let answered = CURRENT.scope(id, next.call(request).instrument(span)).await;
    match answered {
        Ok(mut response) => {
            if let Some(value) = value {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
            }
            Ok(response)
        }
        // Only a failing middleware gets here; the answer its error becomes carries the id too.
        Err(error) => {
            let mut answer = error.error_response();
            if let Some(value) = value {
                answer
                    .headers_mut()
                    .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
            }
            Err(InternalError::from_response(error, answer).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sane_id_is_kept_and_anything_else_replaced() {
        let kept = from_header(Some(&HeaderValue::from_static("abc-123")));
        assert_eq!(kept.as_str(), "abc-123");
        for insane in [
            HeaderValue::from_static(""),
            HeaderValue::from_static("has space"),
            HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
            HeaderValue::from_str(&"x".repeat(129)).unwrap(),
        ] {
            let replaced = from_header(Some(&insane));
            assert!(
                replaced.as_str().starts_with(RequestId::PREFIX),
                "{insane:?}"
            );
        }
        assert!(from_header(None).as_str().starts_with(RequestId::PREFIX));
        assert_ne!(generate(), generate());
    }

    #[tokio::test]
    async fn current_is_the_scoped_id() {
        assert_eq!(current(), None);
        let id = generate();
        let seen = CURRENT.scope(id.clone(), async { current() }).await;
        assert_eq!(seen, Some(id));
    }
}
