//! Who is calling `/api/v1`: the [`ApiCaller`] extractor every API handler takes, and the one
//! tenancy check ([`ApiCaller::require_account`]) every handler uses.
//!
//! A caller presents `Authorization: Bearer <key>`. The key's SHA-256 is looked up among the
//! unrevoked keys (so a revocation takes effect on the next request, in every instance) and the
//! stored hash is compared again in constant time. Missing, malformed, unknown and revoked keys
//! all get the same `401` with `WWW-Authenticate: Bearer`. In development, until the first key is
//! created, any non-empty token is accepted with access to every account; production never does
//! that. Keys are never logged, only their ids.
//!
//! Once the caller is known, the extractor charges its bucket of the `/api/v1` rate limit
//! (`rate_limit`): over the limit, the request is answered `429` before its handler runs.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::dev::Payload;
use actix_web::http::header::{AUTHORIZATION, HeaderValue};
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use domain::ports::{ApiKeyStore, Clock};
use domain::{AccountId, ApiKeyHash, ApiKeyId, ApiKeyScope};

use crate::api_keys::hash_key;
use crate::config::Environment;
use crate::http_error::ApiError;
use crate::rate_limit::{Outcome, Partition};
use crate::state::AppState;

/// `last_used_at` is written at most this often per key and instance, so a busy key does not
/// turn every API call into a database write.
pub(crate) const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// An authenticated `/api/v1` caller.
#[derive(Debug, Clone)]
pub(crate) struct ApiCaller {
    /// The rate-limit bucket it is charged to: its key, or in development's any-token mode
    /// its token.
    partition: Partition,
    scope: ApiKeyScope,
}

/// Checks bearer keys; one per process, shared by every worker.
pub(crate) struct Authenticator {
    keys: Arc<dyn ApiKeyStore>,
    clock: Arc<dyn Clock>,
    environment: Environment,
    /// Once a key exists, development stops accepting any token; keys are never deleted, so
    /// this only ever turns true and the question need not be asked again.
    keys_exist: AtomicBool,
    touched: Mutex<HashMap<ApiKeyId, Instant>>,
}

impl ApiCaller {
    /// Which accounts the caller may see.
    pub(crate) fn scope(&self) -> &ApiKeyScope {
        &self.scope
    }

    /// The rate-limit bucket the caller's requests are charged to.
    pub(crate) fn partition(&self) -> &Partition {
        &self.partition
    }

    /// `Ok` when the caller may see `account`; otherwise `404`, exactly as if it did not exist, so
    /// a scoped key learns nothing about other tenants.
    ///
    /// # Errors
    /// [`ApiError::NotFound`] for an account outside the caller's scope.
    pub(crate) fn require_account(&self, account: &AccountId) -> Result<(), ApiError> {
        if self.scope().allows(account) {
            Ok(())
        } else {
            Err(ApiError::NotFound)
        }
    }

    /// `Ok` when the caller sees every account (a key made without `--account`). Creating an
    /// account needs that: a key bound to accounts could never see the account it created.
    ///
    /// # Errors
    /// [`ApiError::Forbidden`] for a key bound to accounts.
    pub(crate) fn require_unscoped(&self) -> Result<(), ApiError> {
        match self.scope() {
            ApiKeyScope::All => Ok(()),
            ApiKeyScope::Accounts(_) => Err(ApiError::Forbidden),
        }
    }

    /// The accounts a listing is limited to; `None` for a key that sees every account.
    pub(crate) fn account_filter(&self) -> Option<Vec<AccountId>> {
        match self.scope() {
            ApiKeyScope::All => None,
            ApiKeyScope::Accounts(accounts) => Some(accounts.clone()),
        }
    }
}

impl FromRequest for ApiCaller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let state = request.app_data::<web::Data<AppState>>().cloned();
        let header = request.headers().get(AUTHORIZATION).cloned();
        let request = request.clone();
        Box::pin(async move {
            let state = state
                .ok_or_else(|| ApiError::Internal("the application state is missing".into()))?;
            let caller = state.auth.authenticate(header.as_ref()).await?;
            let outcome = state.rate_limits.check(caller.partition());
            // The answer's RateLimit headers are written from it, whatever the handler answers.
            request.extensions_mut().insert(outcome);
            match outcome {
                Outcome::Allowed { .. } => Ok(caller),
                Outcome::Limited { retry_after_secs } => {
                    tracing::debug!(retry_after_secs, "api request refused: rate limited");
                    Err(ApiError::RateLimited { retry_after_secs })
                }
            }
        })
    }
}

impl Authenticator {
    /// An authenticator over `keys`; `environment` decides whether development's any-token rule
    /// applies.
    pub(crate) fn new(
        keys: Arc<dyn ApiKeyStore>,
        clock: Arc<dyn Clock>,
        environment: Environment,
    ) -> Self {
        Self {
            keys,
            clock,
            environment,
            keys_exist: AtomicBool::new(false),
            touched: Mutex::new(HashMap::new()),
        }
    }

    /// The caller this `Authorization` header proves.
    ///
    /// # Errors
    /// [`ApiError::Unauthorized`] for a missing, malformed, unknown or revoked key;
    /// [`ApiError::Unavailable`] when the database does not answer.
    pub(crate) async fn authenticate(
        &self,
        header: Option<&HeaderValue>,
    ) -> Result<ApiCaller, ApiError> {
        let Some(header) = header else {
            return Err(refuse("no authorization header"));
        };
        let Some(token) = bearer_token(header) else {
            return Err(refuse("the authorization header is not 'Bearer <key>'"));
        };
        let presented = hash_key(token);
        if self.accepts_any_token().await? {
            return Ok(ApiCaller {
                partition: Partition::Token(presented),
                scope: ApiKeyScope::All,
            });
        }
        let Some(key) = self.keys.active_api_key_by_hash(&presented).await? else {
            return Err(refuse("unknown or revoked api key"));
        };
        // The lookup compared hashes in the database; compare again without a timing signal.
        if !hashes_equal(&key.hash, &presented) {
            return Err(refuse("unknown or revoked api key"));
        }
        self.touch(&key.id).await;
        Ok(ApiCaller {
            partition: Partition::Key(key.id),
            scope: key.scope,
        })
    }

    /// Development with no key ever created.
    async fn accepts_any_token(&self) -> Result<bool, ApiError> {
        if self.environment != Environment::Development || self.keys_exist.load(Ordering::Relaxed) {
            return Ok(false);
        }
        if self.keys.any_api_key_exists().await? {
            self.keys_exist.store(true, Ordering::Relaxed);
            return Ok(false);
        }
        Ok(true)
    }

    /// Records the use, unless this instance did within [`TOUCH_INTERVAL`]. A failure is logged
    /// and the request goes on: "last used" is for people, not for access decisions.
    async fn touch(&self, key: &ApiKeyId) {
        let now = Instant::now();
        {
            let mut touched = self.touched.lock().unwrap_or_else(PoisonError::into_inner);
            if touched
                .get(key)
                .is_some_and(|last| now.duration_since(*last) < TOUCH_INTERVAL)
            {
                return;
            }
            touched.insert(key.clone(), now);
        }
        if let Err(error) = self.keys.touch_api_key(key, self.clock.now()).await {
            tracing::warn!(api_key.id = %key, error = %crate::telemetry::error_chain(&error), "could not record the api key's last use");
        }
    }
}

/// The token of `Bearer <token>` (scheme case-insensitive, RFC 7235); `None` for anything else.
pub(crate) fn bearer_token(header: &HeaderValue) -> Option<&str> {
    let text = header.to_str().ok()?;
    let (scheme, token) = text.trim().split_once(' ')?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer")
        || token.is_empty()
        || token.contains(char::is_whitespace)
    {
        return None;
    }
    Some(token)
}

/// Compares two digests in time independent of where they differ.
///
/// `ring::constant_time::verify_slices_are_equal` would do, but ring 0.17.14 deprecated it as
/// internal "with no promises regarding side channels"; this XOR-fold over fixed-size arrays has
/// no data-dependent branch, and `black_box` keeps the optimiser from adding an early exit.
pub(crate) fn hashes_equal(stored: &ApiKeyHash, presented: &ApiKeyHash) -> bool {
    let difference = stored
        .0
        .iter()
        .zip(presented.0.iter())
        .fold(0_u8, |acc, (a, b)| acc | std::hint::black_box(a ^ b));
    std::hint::black_box(difference) == 0
}

fn refuse(reason: &'static str) -> ApiError {
    tracing::debug!(reason, "api request refused: not authenticated");
    ApiError::Unauthorized
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bearer_headers_carry_a_token() {
        let token =
            |text: &str| bearer_token(&HeaderValue::from_str(text).unwrap()).map(ToOwned::to_owned);
        assert_eq!(token("Bearer igr_abc").as_deref(), Some("igr_abc"));
        assert_eq!(token("bearer  igr_abc ").as_deref(), Some("igr_abc"));
        for bad in [
            "",
            "Bearer",
            "Bearer ",
            "Basic dXNlcjpwdw==",
            "igr_abc",
            "Bearer a b",
        ] {
            assert_eq!(token(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn hashes_compare_by_every_byte() {
        let hash = hash_key("igr_x");
        assert!(hashes_equal(&hash, &hash_key("igr_x")));
        for index in [0, 17, 31] {
            let mut other = hash;
            other.0[index] ^= 0x80;
            assert!(!hashes_equal(&hash, &other), "byte {index}");
        }
    }

    #[test]
    fn scoped_callers_see_only_their_accounts() {
        let mine = AccountId::parse("acc_aaaaaaaaaaaa").unwrap();
        let other = AccountId::parse("acc_bbbbbbbbbbbb").unwrap();
        let scoped = ApiCaller {
            partition: Partition::Token(hash_key("igr_x")),
            scope: ApiKeyScope::Accounts(vec![mine.clone()]),
        };
        assert!(scoped.require_account(&mine).is_ok());
        assert!(matches!(
            scoped.require_account(&other),
            Err(ApiError::NotFound)
        ));
        assert_eq!(scoped.account_filter(), Some(vec![mine]));
        assert!(matches!(
            scoped.require_unscoped(),
            Err(ApiError::Forbidden)
        ));

        let everything = ApiCaller {
            partition: Partition::Token(hash_key("igr_x")),
            scope: ApiKeyScope::All,
        };
        assert!(everything.require_account(&other).is_ok());
        assert!(everything.require_unscoped().is_ok());
        assert_eq!(everything.account_filter(), None);
    }
}
