//! API keys for `/api/v1`: their format and hashing (`token`), and the operator commands
//! `igrouter api-keys create|list|revoke` (`commands`).

mod commands;
mod token;

pub use commands::{ApiKeyCommandError, create, list, render_table, revoke};
pub use token::{DISPLAY_PREFIX_LEN, KEY_PREFIX, NewApiKey, hash_key};
