//! The one-shot commands, `igrouter api-keys …` and `igrouter credentials rotate`: each applies
//! pending migrations, does its work through the ports and prints its result on stdout (logs go
//! to stderr). [`exit_code`] tells `main` which failures are the operator's to fix.

use std::io::Write;

use anyhow::Context;
use secrecy::ExposeSecret;

use crate::api_keys::{self, ApiKeyCommandError};
use crate::cli::{ApiKeysCommand, EXIT_BAD_CONFIGURATION, EXIT_FAILURE};
use crate::clock::SystemClock;
use crate::config::Config;
use crate::credentials::{self, AesGcmCipher, CredentialsKeyMismatch, RotateError};
use crate::startup::connect_and_migrate;

/// Runs `igrouter api-keys <command>`, writing its output to `out`.
///
/// # Errors
/// An unknown `--account` ([`ApiKeyCommandError::UnknownAccount`]), a key `revoke` does not know
/// ([`ApiKeyCommandError::NotActive`]), or a database failure.
pub async fn api_keys(
    command: ApiKeysCommand,
    config: &Config,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let database = connect_and_migrate(&config.database).await?;
    let clock = SystemClock;
    match command {
        ApiKeysCommand::Create { name, accounts } => {
            let key = api_keys::create(&database, &database, &clock, name, accounts).await?;
            tracing::info!(api_key.id = %key.record.id, "api key created");
            writeln!(out, "{}", key.secret.expose_secret())?;
            eprintln!(
                "created api key {} ({}): store it now, it is not shown again",
                key.record.id, key.record.name
            );
        }
        ApiKeysCommand::List => {
            let keys = api_keys::list(&database).await?;
            out.write_all(api_keys::render_table(&keys).as_bytes())?;
        }
        ApiKeysCommand::Revoke { key_id } => {
            api_keys::revoke(&database, &clock, &key_id).await?;
            tracing::info!(api_key.id = %key_id, "api key revoked");
            writeln!(out, "revoked {key_id}")?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Runs `igrouter credentials rotate`, writing how many accounts were re-encrypted to `out`.
///
/// # Errors
/// [`CredentialsKeyMismatch`] when neither key opens an account's credentials; database
/// failures.
pub async fn rotate_credentials(config: &Config, out: &mut dyn Write) -> anyhow::Result<()> {
    let database = connect_and_migrate(&config.database).await?;
    let cipher = AesGcmCipher::new(&config.credentials)
        .context("could not set up the credentials cipher")?;
    let rotated = match credentials::rotate_all(&database, &cipher, &SystemClock).await {
        Ok(rotated) => rotated,
        Err(RotateError::Mismatch(mismatch)) => return Err(mismatch.into()),
        Err(error) => return Err(anyhow::Error::new(error)),
    };
    writeln!(
        out,
        "rotated {rotated} account(s): their credentials are encrypted with CREDENTIALS_KEY"
    )?;
    out.flush()?;
    Ok(())
}

/// The exit code for a failed command: [`EXIT_BAD_CONFIGURATION`] when the configuration or the
/// command line must change (a credentials key that opens nothing, an unknown account), else
/// [`EXIT_FAILURE`].
pub fn exit_code(error: &anyhow::Error) -> u8 {
    let bad_configuration = error.downcast_ref::<CredentialsKeyMismatch>().is_some()
        || matches!(
            error.downcast_ref::<ApiKeyCommandError>(),
            Some(ApiKeyCommandError::UnknownAccount(_))
        );
    if bad_configuration {
        EXIT_BAD_CONFIGURATION
    } else {
        EXIT_FAILURE
    }
}
