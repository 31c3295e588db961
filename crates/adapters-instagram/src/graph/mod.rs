//! The Graph API client: [`GraphClient`] implements `domain::ports::InstagramClient` over
//! reqwest (rustls on the `ring` provider) and classifies every failure as contract §2 says.
//!
//! `client.rs` makes the calls, `wire.rs` holds Meta's JSON, `classify.rs` turns failures into
//! `InstagramError`s. docs/graph-api.md has the classification table and the at-most-once rule.

mod classify;
mod client;
mod error;
mod wire;

pub use classify::{
    MAX_ERROR_MESSAGE_CHARS, MAX_RETRY_AFTER, TOKEN_INVALID_CODE, is_retryable_code,
};
pub use client::GraphClient;
pub use error::GraphClientError;
