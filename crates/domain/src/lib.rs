//! igrouter's domain: the entities it stores, the value types that keep them valid, and the
//! port traits that adapters (storage, Instagram, CRM) implement.
//!
//! Nothing here does I/O. Other services may depend on this crate to read and write igrouter's
//! data model without pulling in a database driver or an HTTP stack.

#![warn(missing_docs)]

pub mod account;
pub mod api_key;
pub mod delivery;
pub mod history;
pub mod id;
pub mod idempotency;
pub mod ingest;
pub mod message;
pub mod outbound;
pub mod page;
pub mod ports;
pub mod request_id;
pub mod retry;
pub mod rule;
pub mod stats;
pub mod time;
pub mod validation;

pub use account::{Account, AccountChanges, SealedSecret, Username, WebhookUrl};
pub use api_key::{ApiKey, ApiKeyHash, ApiKeyScope};
pub use delivery::{
    CrmDelivery, CrmEventType, DeliveryAttempt, DeliveryFilter, DeliveryNext, DeliveryStatus,
};
pub use history::HistoryEntry;
pub use id::{AccountId, ApiKeyId, EventId, InstagramId, InstagramMessageId, MessageId, RuleId};
pub use idempotency::{IdempotencyBegin, IdempotencyKey, IdempotencyRecord, IdempotencyState};
pub use ingest::{InboundRecord, IngestResult};
pub use message::{Attachment, Direction, EventDetails, EventKind, Message};
pub use outbound::{AttachmentType, OutboundContent, OutboundMessage, OutboundStatus, SendResult};
pub use page::{Cursor, Page, PageRequest};
pub use request_id::RequestId;
pub use retry::RetrySchedule;
pub use rule::{MatchKind, ReplyRule};
pub use stats::{AccountStats, DailyCounts, FirstResponse, StatsRange};
pub use time::Timestamp;
pub use validation::ValidationError;
