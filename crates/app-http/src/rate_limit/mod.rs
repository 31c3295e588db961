//! The `/api/v1` rate limit (`API_RATE_LIMIT`): one GCRA bucket per API key, kept by `governor`
//! in this instance's memory.
//!
//! [`ApiCaller`](crate::auth::ApiCaller)'s extractor charges the caller's bucket once the key is
//! known, and records the outcome in the request; `headers.rs` turns it into the `RateLimit` and
//! `RateLimit-Policy` headers of every `/api/v1` answer. Webhooks, `/health` and `/metrics` never
//! pass through it: Meta must never be refused.
//!
//! The limit is per instance. With N instances behind a balancer a key may get up to N times the
//! configured rate; the configuration is the per-instance share.

mod headers;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use domain::{ApiKeyHash, ApiKeyId};
use governor::clock::{Clock as _, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

pub(crate) use headers::add_headers;

use crate::config::RateLimit;

/// The policy's name in the headers: there is only one.
pub(crate) const POLICY_NAME: &str = "default";

/// Forgetting full buckets walks the whole map, so it runs once per this many checks.
const RETAIN_EVERY: u64 = 4096;

/// Whose bucket a request is charged to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Partition {
    /// A real API key.
    Key(ApiKeyId),
    /// Development's any-token mode (no key exists yet): the token's SHA-256, so two clients
    /// with different tokens get different buckets, as two keys would.
    Token(ApiKeyHash),
}

/// The per-key limiter; one per process, shared by every worker.
pub(crate) struct ApiRateLimiter {
    limiter: RateLimiter<
        Partition,
        DefaultKeyedStateStore<Partition>,
        DefaultClock,
        StateInformationMiddleware,
    >,
    policy: Policy,
    /// How long one request's worth of allowance takes to come back.
    replenish: Duration,
    checks: AtomicU64,
    refused: AtomicU64,
}

/// What `RateLimit-Policy` announces: `q` requests at once, refilled over `w` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    /// The bucket's size: requests allowed at once after a quiet spell (the burst).
    pub(crate) quota: u32,
    /// Seconds an empty bucket takes to fill again, rounded up (the draft's `w` is whole
    /// seconds, at least 1).
    pub(crate) window_secs: u64,
}

/// How a request fared; the extractor stores it in the request for `headers.rs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Let through.
    Allowed {
        /// Requests the key may still make at once.
        remaining: u32,
        /// Seconds, rounded up, until the whole quota is available again (0: it is now).
        reset_secs: u64,
    },
    /// Refused with `429`.
    Limited {
        /// Seconds, rounded up, until a request is let through again (at least 1).
        retry_after_secs: u64,
    },
}

impl ApiRateLimiter {
    /// A limiter enforcing `limit` per partition.
    pub(crate) fn new(limit: &RateLimit) -> Self {
        let replenish = limit.per / limit.requests.get();
        // `per / requests` is zero only for more than a billion requests per second; one
        // nanosecond is as good as no limit then.
        let quota = Quota::with_period(replenish)
            .unwrap_or_else(|| Quota::per_second(limit.requests))
            .allow_burst(limit.burst);
        Self {
            limiter: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
            policy: Policy {
                quota: limit.burst.get(),
                window_secs: ceil_secs(replenish.saturating_mul(limit.burst.get())).max(1),
            },
            replenish,
            checks: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }
    }

    /// Charges one request to `partition`.
    pub(crate) fn check(&self, partition: &Partition) -> Outcome {
        if self.checks.fetch_add(1, Ordering::Relaxed) % RETAIN_EVERY == RETAIN_EVERY - 1 {
            // A full bucket is the same as no bucket: forget those, so development's per-token
            // buckets cannot pile up.
            self.limiter.retain_recent();
        }
        match self.limiter.check_key(partition) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let missing = self.policy.quota.saturating_sub(remaining);
                Outcome::Allowed {
                    remaining,
                    reset_secs: ceil_secs(self.replenish.saturating_mul(missing)),
                }
            }
            Err(not_until) => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                let wait = not_until.wait_time_from(self.limiter.clock().now());
                Outcome::Limited {
                    retry_after_secs: ceil_secs(wait).max(1),
                }
            }
        }
    }

    /// The policy every `/api/v1` answer announces.
    pub(crate) fn policy(&self) -> Policy {
        self.policy
    }

    /// Requests refused since the service started.
    pub(crate) fn refused_total(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

/// Whole seconds, rounded up.
fn ceil_secs(duration: Duration) -> u64 {
    let secs = duration.as_secs();
    if duration.subsec_nanos() > 0 {
        secs.saturating_add(1)
    } else {
        secs
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn limiter(text: &str) -> ApiRateLimiter {
        ApiRateLimiter::new(&RateLimit::parse(text).unwrap())
    }

    fn key(n: u8) -> Partition {
        Partition::Token(ApiKeyHash([n; 32]))
    }

    #[test]
    fn the_policy_is_the_burst_over_the_time_it_takes_to_refill() {
        assert_eq!(
            limiter("50/s,burst=200").policy(),
            Policy {
                quota: 200,
                window_secs: 4
            }
        );
        // 3 at 2/s refill in 1.5 s: rounded up, the draft's window is whole seconds.
        assert_eq!(limiter("2/s,burst=3").policy().window_secs, 2);
        assert_eq!(limiter("600/m,burst=10").policy().window_secs, 1);
        assert_eq!(limiter("1000/h").policy().window_secs, 3600);
        assert_eq!(limiter("100/s,burst=1").policy().window_secs, 1);
    }

    #[test]
    fn a_burst_is_let_through_then_refused_until_a_request_is_due() {
        let limiter = limiter("2/s,burst=3");
        let remaining: Vec<Outcome> = (0..3).map(|_| limiter.check(&key(1))).collect();
        assert_eq!(
            remaining,
            vec![
                Outcome::Allowed {
                    remaining: 2,
                    reset_secs: 1
                },
                Outcome::Allowed {
                    remaining: 1,
                    reset_secs: 1
                },
                Outcome::Allowed {
                    remaining: 0,
                    reset_secs: 2
                },
            ]
        );
        assert_eq!(
            limiter.check(&key(1)),
            Outcome::Limited {
                retry_after_secs: 1
            }
        );
        assert_eq!(limiter.refused_total(), 1);
        // Another key has its own bucket.
        assert!(matches!(
            limiter.check(&key(2)),
            Outcome::Allowed { remaining: 2, .. }
        ));
    }

    #[test]
    fn slow_rates_wait_whole_periods() {
        let limiter = limiter("1/m");
        assert!(matches!(
            limiter.check(&key(1)),
            Outcome::Allowed {
                remaining: 0,
                reset_secs: 60
            }
        ));
        let Outcome::Limited { retry_after_secs } = limiter.check(&key(1)) else {
            panic!("a second request within the minute is refused");
        };
        assert!((59..=60).contains(&retry_after_secs), "{retry_after_secs}");
    }

    #[test]
    fn full_buckets_are_forgotten() {
        let limiter = ApiRateLimiter::new(&RateLimit {
            requests: NonZeroU32::new(1_000_000_000).unwrap(),
            per: Duration::from_secs(1),
            burst: NonZeroU32::new(1).unwrap(),
        });
        for check in 0..RETAIN_EVERY {
            limiter.check(&key(u8::try_from(check % 256).unwrap()));
        }
        assert!(limiter.limiter.len() < 256, "{}", limiter.limiter.len());
    }

    #[test]
    fn seconds_round_up() {
        assert_eq!(ceil_secs(Duration::ZERO), 0);
        assert_eq!(ceil_secs(Duration::from_millis(1)), 1);
        assert_eq!(ceil_secs(Duration::from_secs(2)), 2);
        assert_eq!(ceil_secs(Duration::from_millis(2_001)), 3);
    }
}
