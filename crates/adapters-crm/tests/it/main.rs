//! Integration tests of adapters-crm: the body of every CRM event and both signatures, the
//! Standard Webhooks one checked by a library we did not write.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fns may panic: a panic is a test failure"
)]

mod helpers;
mod outbound;
mod payload;
mod signature;
