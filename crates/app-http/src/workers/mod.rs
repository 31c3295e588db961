//! Background workers running inside `igrouter serve`: the CRM delivery worker (and, later, the
//! send worker). Each claims due work from its queue in the database, so several instances on
//! one database share the work safely.

pub mod deliveries;
mod outcomes;
mod pump;
mod wake;

pub use outcomes::{OutcomeWaiter, SendOutcomes};
pub use wake::Wake;
