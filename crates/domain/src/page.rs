//! Keyset pagination: stable under concurrent inserts, unlike offsets.

use crate::{Timestamp, ValidationError};

/// Default page size.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Largest page size.
pub const MAX_PAGE_SIZE: u32 = 200;

/// A position in a listing ordered by (time, id), newest first.
///
/// The listing continues strictly after this position, so rows inserted meanwhile neither repeat
/// nor shift the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// Sort time of the last row seen.
    pub at: Timestamp,
    /// Id of the last row seen (breaks ties).
    pub id: String,
}

impl Cursor {
    /// The opaque text handed to clients: `<millis>.<id>`.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.at.as_millis(), self.id)
    }

    /// Parses [`Cursor::encode`]'s output.
    ///
    /// # Errors
    /// A [`ValidationError`] for `cursor` when the text was not produced by `encode`.
    pub fn decode(text: &str) -> Result<Self, ValidationError> {
        let invalid = || ValidationError::new("cursor", "is not a cursor returned by this API");
        let (millis, id) = text.split_once('.').ok_or_else(invalid)?;
        let millis = millis.parse::<i64>().map_err(|_| invalid())?;
        if id.is_empty()
            || id.len() > 64
            || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(invalid());
        }
        Ok(Self {
            at: Timestamp::from_millis(millis),
            id: id.to_owned(),
        })
    }
}

/// Which page to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// At most this many rows (1 to [`MAX_PAGE_SIZE`]).
    pub limit: u32,
    /// Continue after this position; `None` starts with the newest.
    pub after: Option<Cursor>,
}

impl PageRequest {
    /// A page request with `limit` checked.
    ///
    /// # Errors
    /// A [`ValidationError`] for `limit` outside 1 to [`MAX_PAGE_SIZE`].
    pub fn new(limit: Option<u32>, after: Option<Cursor>) -> Result<Self, ValidationError> {
        let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE);
        if limit == 0 || limit > MAX_PAGE_SIZE {
            return Err(ValidationError::new(
                "limit",
                format!("must be between 1 and {MAX_PAGE_SIZE}"),
            ));
        }
        Ok(Self { limit, after })
    }

    /// The first page of the default size.
    pub fn first() -> Self {
        Self {
            limit: DEFAULT_PAGE_SIZE,
            after: None,
        }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The rows, in listing order.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = Cursor {
            at: Timestamp::from_millis(1_700_000_000_123),
            id: "msg_3k9x2m7q1z8w".to_owned(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
        for bad in ["", "123", "x.msg_a", "1.", "1.a'b"] {
            assert_eq!(Cursor::decode(bad).unwrap_err().field, "cursor", "{bad}");
        }
    }

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(
            PageRequest::new(None, None).unwrap().limit,
            DEFAULT_PAGE_SIZE
        );
        assert!(PageRequest::new(Some(0), None).is_err());
        assert!(PageRequest::new(Some(MAX_PAGE_SIZE + 1), None).is_err());
    }
}
