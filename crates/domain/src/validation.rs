//! The one error every value-type constructor returns, naming the field it rejected.

use thiserror::Error;

/// A value was rejected by a `parse` constructor.
///
/// `field` is the name the outside world uses for the value (the JSON field or env var), so the
/// HTTP layer can answer `422` naming it without knowing which constructor failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {reason}")]
pub struct ValidationError {
    /// The field (or variable) the value came from.
    pub field: &'static str,
    /// Why it was rejected, lowercase, no trailing period.
    pub reason: String,
}

impl ValidationError {
    /// A rejection of `field` for `reason`.
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}
