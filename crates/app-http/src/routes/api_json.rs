//! [`ApiJson`]: the JSON body of an `/api/v1` request, read so that authentication answers first.
//!
//! actix-web polls a handler's extractors together and, as soon as one fails, drops the others.
//! With `web::Json` beside `ApiCaller`, a bad body (wrong content type, malformed JSON) would
//! answer `400`/`415` to a caller that deserves `401`, and would drop the API key lookup in the
//! middle of its query, which the SQLite driver does not survive on actix's single-threaded
//! workers (it panics). `ApiJson` never fails as an extractor: it carries the outcome, and the
//! handler takes it with [`ApiJson::into_inner`] once the caller is known.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::web::JsonBody;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::http_error::ApiError;

/// Largest `/api/v1` JSON body, in bytes; the biggest legitimate one (an account with a 4 KiB
/// token and a 2 KiB URL) is far below it.
pub(crate) const BODY_LIMIT: usize = 64 * 1024;

/// A JSON body (`Content-Type: application/json` required), or why it could not be read.
pub(crate) struct ApiJson<T>(Result<T, ApiError>);

impl<T> ApiJson<T> {
    /// The body.
    ///
    /// # Errors
    /// `415` without a JSON content type, `413` over [`BODY_LIMIT`], `400` for malformed JSON,
    /// `422` for JSON that does not fit `T` (see `http_error`).
    pub(crate) fn into_inner(self) -> Result<T, ApiError> {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Infallible>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = JsonBody::<T>::new(request, payload, None, true).limit(BODY_LIMIT);
        Box::pin(async move { Ok(Self(body.await.map_err(ApiError::from))) })
    }
}
