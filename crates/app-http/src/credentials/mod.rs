//! Credentials at rest: the AES-256-GCM cipher behind `CredentialCipher`, the start-up check that
//! the configured key opens what is stored, and `igrouter credentials rotate`.

mod check;
mod cipher;
mod rotate;

pub use check::{CheckKeyError, CredentialsKeyMismatch, check_key};
pub use cipher::{AesGcmCipher, FORMAT_VERSION};
pub use rotate::{RotateError, rotate_all};
