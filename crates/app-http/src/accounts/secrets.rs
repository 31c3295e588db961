//! The rules for credentials sent through the API. They have no domain type (the domain only
//! holds them sealed), so their `parse` functions live here and return the domain's
//! `ValidationError` naming the JSON field. Reasons never contain the value.

use domain::ValidationError;
use secrecy::SecretString;

/// Longest access token accepted, in bytes. Meta's tokens are a few hundred bytes; the bound only
/// keeps absurd input out of the database.
pub const ACCESS_TOKEN_MAX_LEN: usize = 4096;
/// Shortest webhook secret accepted, in bytes (128 bits when random).
pub const WEBHOOK_SECRET_MIN_LEN: usize = 16;
/// Longest webhook secret accepted, in bytes.
pub const WEBHOOK_SECRET_MAX_LEN: usize = 256;

/// An Instagram access token: 1 to [`ACCESS_TOKEN_MAX_LEN`] bytes of printable ASCII without
/// spaces, since it travels in an `Authorization` header.
///
/// # Errors
/// A [`ValidationError`] for `access_token`.
pub fn parse_access_token(value: String) -> Result<SecretString, ValidationError> {
    const FIELD: &str = "access_token";
    if value.is_empty() {
        return Err(ValidationError::new(FIELD, "must not be empty"));
    }
    if value.len() > ACCESS_TOKEN_MAX_LEN {
        return Err(ValidationError::new(
            FIELD,
            format!("must be at most {ACCESS_TOKEN_MAX_LEN} bytes"),
        ));
    }
    if !value.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err(ValidationError::new(
            FIELD,
            "must be printable ASCII without spaces",
        ));
    }
    Ok(SecretString::from(value))
}

/// A CRM webhook secret chosen by the client: [`WEBHOOK_SECRET_MIN_LEN`] to
/// [`WEBHOOK_SECRET_MAX_LEN`] bytes of UTF-8; its bytes are the HMAC key.
///
/// # Errors
/// A [`ValidationError`] for `webhook_secret`.
pub fn parse_webhook_secret(value: String) -> Result<SecretString, ValidationError> {
    if !(WEBHOOK_SECRET_MIN_LEN..=WEBHOOK_SECRET_MAX_LEN).contains(&value.len()) {
        return Err(ValidationError::new(
            "webhook_secret",
            format!("must be {WEBHOOK_SECRET_MIN_LEN} to {WEBHOOK_SECRET_MAX_LEN} bytes"),
        ));
    }
    Ok(SecretString::from(value))
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn access_tokens_are_printable_and_bounded() {
        let token = parse_access_token("IGQVJ.abc-123_x".into()).unwrap();
        assert_eq!(token.expose_secret(), "IGQVJ.abc-123_x");
        assert!(parse_access_token("a".repeat(ACCESS_TOKEN_MAX_LEN)).is_ok());
        for bad in [
            String::new(),
            "a".repeat(ACCESS_TOKEN_MAX_LEN + 1),
            "has space".into(),
            "line\nbreak".into(),
            "tökén".into(),
        ] {
            let error = parse_access_token(bad.clone()).unwrap_err();
            assert_eq!(error.field, "access_token");
            assert!(bad.is_empty() || !error.reason.contains(&bad), "{error}");
        }
    }

    #[test]
    fn webhook_secrets_are_16_to_256_bytes() {
        assert!(parse_webhook_secret("s".repeat(16)).is_ok());
        assert!(parse_webhook_secret("s".repeat(256)).is_ok());
        for bad in [String::new(), "s".repeat(15), "s".repeat(257)] {
            assert_eq!(
                parse_webhook_secret(bad).unwrap_err().field,
                "webhook_secret"
            );
        }
    }
}
