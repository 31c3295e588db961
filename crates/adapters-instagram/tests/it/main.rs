//! Integration tests of adapters-instagram: signatures, every fixture body, hand-written shapes
//! and property tests of the parser, and the Graph API client against a fake Graph server.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns may panic: a panic is a test failure"
)]

mod fixtures;
mod graph;
mod helpers;
mod robustness;
mod shapes;
mod signature;
