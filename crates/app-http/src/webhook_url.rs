//! Where a CRM webhook URL may point (contract §1, `ALLOW_PRIVATE_WEBHOOK_URLS`).
//!
//! The rule itself lives in `adapters_crm::destination`, because the delivery client applies it
//! too, to the very address it connects to; it is re-exported here so the API checks a URL when it
//! is set with the same code. This module adds the one piece that needs igrouter's configuration.

pub use adapters_crm::destination::*;

use crate::config::CrmConfig;

/// The policy `crm` configures (`ALLOW_PRIVATE_WEBHOOK_URLS`, defaulting by environment).
pub fn destination_policy(crm: &CrmConfig) -> DestinationPolicy {
    if crm.allow_private_webhook_urls {
        DestinationPolicy::AnyAddress
    } else {
        DestinationPolicy::PublicOnly
    }
}
