//! Who may talk to `/webhooks/instagram`: the verify token of Meta's subscription handshake and
//! the app secrets that sign Meta's posts, both compared in constant time.

use adapters_instagram::{SignatureError, verify_signature};
use ring::hmac;
use secrecy::{ExposeSecret, SecretString};

use crate::config::{Environment, InstagramConfig};

/// The webhook endpoint's secrets, taken from the configuration once.
pub(crate) struct WebhookAuth {
    verify_token: Option<SecretString>,
    app_secrets: Vec<SecretString>,
    allow_unsigned: bool,
}

/// How a post's signature was judged, when it is acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signed {
    /// Signed with one of the configured app secrets.
    Verified,
    /// Not checked: development with no app secret configured.
    Unchecked,
}

impl WebhookAuth {
    /// The settings of `instagram`; unsigned posts are accepted only in development with no app
    /// secret configured (production refuses to start without one).
    pub(crate) fn new(instagram: &InstagramConfig, environment: Environment) -> Self {
        let app_secrets: Vec<SecretString> = instagram.app_secrets().cloned().collect();
        let allow_unsigned = app_secrets.is_empty() && environment == Environment::Development;
        Self {
            verify_token: instagram.verify_token.clone(),
            app_secrets,
            allow_unsigned,
        }
    }

    /// Whether `presented` is the configured verify token. Always `false` when none is
    /// configured. The comparison takes the same time wherever the two differ, whatever their
    /// lengths: both are MACed under one key and the tags compared by `ring`.
    pub(crate) fn verify_token_matches(&self, presented: &str) -> bool {
        let Some(expected) = &self.verify_token else {
            return false;
        };
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"igrouter webhook verify token");
        let tag = hmac::sign(&key, expected.expose_secret().as_bytes());
        hmac::verify(&key, presented.as_bytes(), tag.as_ref()).is_ok()
    }

    /// Checks a post's `X-Hub-Signature-256` over its raw bytes against every app secret.
    ///
    /// # Errors
    /// [`SignatureError`] when the header is missing, malformed or matches no secret (also when
    /// no secret is configured outside development).
    pub(crate) fn check_signature(
        &self,
        raw_body: &[u8],
        header: Option<&str>,
    ) -> Result<Signed, SignatureError> {
        if self.allow_unsigned {
            return Ok(Signed::Unchecked);
        }
        let secrets: Vec<&[u8]> = self
            .app_secrets
            .iter()
            .map(|secret| secret.expose_secret().as_bytes())
            .collect();
        verify_signature(raw_body, header, &secrets).map(|()| Signed::Verified)
    }
}

#[cfg(test)]
mod tests {
    use adapters_instagram::signature_header_value;

    use super::*;

    fn auth(token: Option<&str>, secrets: &[&str], environment: Environment) -> WebhookAuth {
        WebhookAuth {
            verify_token: token.map(|t| SecretString::from(t.to_owned())),
            app_secrets: secrets
                .iter()
                .map(|s| SecretString::from((*s).to_owned()))
                .collect(),
            allow_unsigned: secrets.is_empty() && environment == Environment::Development,
        }
    }

    #[test]
    fn the_verify_token_must_match_exactly() {
        let auth = auth(Some("tok"), &["s"], Environment::Production);
        assert!(auth.verify_token_matches("tok"));
        for wrong in ["", "to", "tok ", "TOK", "tokk"] {
            assert!(!auth.verify_token_matches(wrong), "{wrong:?}");
        }
        let unset = self::auth(None, &["s"], Environment::Development);
        assert!(!unset.verify_token_matches(""));
    }

    #[test]
    fn either_secret_signs_and_unsigned_is_for_development_without_secrets() {
        let body = b"{}";
        let auth = auth(None, &["one", "two"], Environment::Development);
        for secret in ["one", "two"] {
            let header = signature_header_value(secret.as_bytes(), body);
            assert_eq!(
                auth.check_signature(body, Some(&header)),
                Ok(Signed::Verified)
            );
        }
        assert_eq!(
            auth.check_signature(body, None),
            Err(SignatureError::Missing)
        );
        let unsigned = self::auth(None, &[], Environment::Development);
        assert_eq!(unsigned.check_signature(body, None), Ok(Signed::Unchecked));
        let production = self::auth(None, &[], Environment::Production);
        assert_eq!(
            production.check_signature(body, None),
            Err(SignatureError::Missing)
        );
    }
}
