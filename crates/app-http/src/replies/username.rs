//! `{username}` in auto-replies: filled in by the send worker just before the Graph API call
//! (never in the webhook path), from the customer's Graph profile, cached per customer.
//!
//! When the profile cannot be read (Meta refuses, times out, or shares no username), the reply
//! still goes out with the neutral fallback of [`fill`]: the placeholder is left out with the
//! spacing that went with it, so `Hi {username}, thanks!` becomes `Hi, thanks!`. A failed
//! lookup is logged once and remembered for [`FAILED_LOOKUP_TTL`], so a customer whose profile
//! Meta will not show does not cost a Graph call, or a log line, per reply.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use domain::ports::InstagramClient;
use domain::{AccountId, InstagramId, RequestId, Username};
use secrecy::SecretString;

/// The placeholder a rule's reply may contain.
pub const PLACEHOLDER: &str = "{username}";
/// How long a customer's username is reused before the profile is read again.
pub const PROFILE_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// How long a failed lookup is remembered: replies use the fallback without asking again.
pub const FAILED_LOOKUP_TTL: Duration = Duration::from_secs(10 * 60);
/// Longest wait for a profile; the send lease counts it in.
pub const PROFILE_LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);
/// Most customers remembered; past it, the expired ones are dropped, then everything.
const CAPACITY: usize = 50_000;

/// Longest text Meta takes in one message, in bytes.
const MAX_TEXT_BYTES: usize = domain::message::MAX_TEXT_BYTES;

/// Punctuation that ends a clause: a comma before the placeholder goes when one of these follows.
const ENDS: [char; 6] = ['!', '?', '.', ',', ';', ':'];

/// `template` with every `{username}` replaced by `username`; with `None` (no profile), or when
/// the name would make the text longer than Meta takes, each placeholder is left out together
/// with the spaces before it (and a comma before it, when punctuation or the end follows), and
/// at the very start with the `,`, `:`, `;` and spaces after it.
pub fn fill(template: &str, username: Option<&str>) -> String {
    if let Some(name) = username {
        let filled = template.replace(PLACEHOLDER, name);
        if filled.len() <= MAX_TEXT_BYTES {
            return filled;
        }
    }
    let mut text = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(at) = rest.find(PLACEHOLDER) {
        text.push_str(rest[..at].trim_end());
        rest = &rest[at + PLACEHOLDER.len()..];
        if text.is_empty() {
            rest = rest.trim_start_matches([',', ':', ';']).trim_start();
        } else if text.ends_with(',') && (rest.trim().is_empty() || rest.starts_with(ENDS)) {
            // "Hello, {username}!" reads "Hello!", not "Hello,!".
            text.pop();
        }
    }
    text.push_str(rest);
    text.trim().to_owned()
}

/// Usernames by (account, customer): a customer's id is scoped to the business account that
/// sees it, and the lookup uses that account's token.
#[derive(Default)]
pub struct ProfileCache {
    entries: Mutex<HashMap<(AccountId, InstagramId), Remembered>>,
}

struct Remembered {
    username: Option<String>,
    until: Instant,
}

impl ProfileCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The customer's username, from memory or from the Graph profile (at most
    /// [`PROFILE_LOOKUP_TIMEOUT`]), read with `request_id`, the id of the request that queued
    /// the reply being filled, as `X-Request-Id`; `None` when Meta shares none or the lookup
    /// failed.
    pub async fn username(
        &self,
        instagram: &dyn InstagramClient,
        token: &SecretString,
        account: &AccountId,
        customer: &InstagramId,
        request_id: Option<&RequestId>,
    ) -> Option<String> {
        let key = (account.clone(), customer.clone());
        if let Some(known) = self
            .entries()
            .get(&key)
            .filter(|r| r.until > Instant::now())
        {
            return known.username.clone();
        }
        let looked_up = tokio::time::timeout(
            PROFILE_LOOKUP_TIMEOUT,
            instagram.profile(token, customer, request_id),
        )
        .await;
        let (username, ttl) = match looked_up {
            Ok(Ok(profile)) => {
                // Only a name that is a valid Instagram username goes into a reply.
                let username = profile
                    .username
                    .filter(|name| Username::parse(name).is_ok());
                (username, PROFILE_TTL)
            }
            Ok(Err(error)) => {
                tracing::warn!(account.id = %account, instagram.user_id = %customer, error = %error, "could not read the customer's profile: auto-replies to them leave {{username}} out");
                (None, FAILED_LOOKUP_TTL)
            }
            Err(_) => {
                tracing::warn!(account.id = %account, instagram.user_id = %customer, timeout_ms = PROFILE_LOOKUP_TIMEOUT.as_millis(), "the customer's profile did not come in time: auto-replies to them leave {{username}} out");
                (None, FAILED_LOOKUP_TTL)
            }
        };
        self.remember(key, username.clone(), ttl);
        username
    }

    fn remember(&self, key: (AccountId, InstagramId), username: Option<String>, ttl: Duration) {
        let now = Instant::now();
        let mut entries = self.entries();
        if entries.len() >= CAPACITY {
            entries.retain(|_, remembered| remembered.until > now);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(
            key,
            Remembered {
                username,
                until: now + ttl,
            },
        );
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<(AccountId, InstagramId), Remembered>> {
        // Entries are inserted whole; a panic elsewhere cannot leave one half-made.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_fills_every_placeholder() {
        assert_eq!(
            fill("Hi {username}! {username}, ça va?", Some("anna.k")),
            "Hi anna.k! anna.k, ça va?"
        );
        assert_eq!(fill("Без имени", Some("x")), "Без имени");
    }

    #[test]
    fn the_fallback_leaves_the_placeholder_out_with_its_spacing() {
        assert_eq!(fill("Hi {username}, thanks!", None), "Hi, thanks!");
        assert_eq!(fill("Привет, {username}!", None), "Привет!");
        assert_eq!(fill("Hello, {username}", None), "Hello");
        assert_eq!(
            fill("{username}, your order ships today", None),
            "your order ships today"
        );
        assert_eq!(fill("Hello {username}", None), "Hello");
        assert_eq!(fill("{username}", None), "");
    }

    #[test]
    fn a_name_that_would_overflow_the_message_falls_back() {
        let template = format!("{} {{username}}", "a".repeat(990));
        assert_eq!(fill(&template, Some("a_rather_long_name")), "a".repeat(990));
    }
}
