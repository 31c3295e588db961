//! Time, as a port, so tests can control it.

use crate::Timestamp;

/// The current time.
pub trait Clock: Send + Sync {
    /// Now, in UTC.
    fn now(&self) -> Timestamp;
}
