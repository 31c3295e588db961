//! Integration tests of adapters-crm: the body of every CRM event and both signatures, the
//! Standard Webhooks one checked by a library we did not write, and the HTTP client against a
//! fake CRM.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fns may panic: a panic is a test failure"
)]

mod delivery;
mod helpers;
mod outbound;
mod payload;
mod signature;
