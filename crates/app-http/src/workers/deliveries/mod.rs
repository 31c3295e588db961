//! The CRM delivery worker: claims due deliveries from the outbox and posts them, signed, to each
//! account's CRM, at least once.
//!
//! It runs on the shared [`Pump`]: woken when this instance commits deliveries, polling as a
//! fallback for work other instances wrote and for retries coming due. Claims go through the
//! database (`DeliveryQueue::claim_due_deliveries`), so several instances never attempt one
//! delivery at once; a claim is a lease, and the work of a worker that died comes back when it
//! expires. At most `CRM_DELIVERY_CONCURRENCY` deliveries are claimed per instance and
//! `CRM_DELIVERY_CONCURRENCY_PER_ACCOUNT` attempts run at once per account (its CRM endpoint).

mod attempt;
mod metrics;
mod recorder;

use std::sync::Arc;
use std::time::Duration;

use domain::ports::{AccountStore, Clock, CredentialCipher, CrmNotifier, DeliveryQueue};
use domain::{AccountId, CrmDelivery, RequestId};
use tokio::sync::watch;
use tracing::Instrument;

pub use metrics::{DeliveryMetrics, DeliveryMetricsSnapshot, LATENCY_BUCKETS_MS};

use self::attempt::AttemptContext;
use self::recorder::{Recorder, RecorderLoop};
use super::Wake;
use super::accounts::{AccountLookup, read_accounts};
use super::pump::{Job, Pump, PumpSettings, Task};
use crate::config::CrmConfig;

/// Part of a lease left for writing an attempt's result after the attempt's own timeout.
const RECORD_MARGIN: Duration = Duration::from_secs(5);

/// The ports the worker drives.
pub(crate) struct DeliveryPorts {
    pub(crate) queue: Arc<dyn DeliveryQueue>,
    pub(crate) accounts: Arc<dyn AccountStore>,
    pub(crate) cipher: Arc<dyn CredentialCipher>,
    pub(crate) notifier: Arc<dyn CrmNotifier>,
    pub(crate) clock: Arc<dyn Clock>,
}

/// The delivery worker of one instance.
pub(crate) struct DeliveryWorker {
    pump: Pump<DeliveryJob>,
    recorder: RecorderLoop,
}

impl DeliveryWorker {
    /// A worker over `ports`, woken by `wake`, paced and retrying as `crm` says, counting into
    /// `metrics`.
    pub(crate) fn new(
        ports: DeliveryPorts,
        crm: &CrmConfig,
        wake: Wake,
        metrics: Arc<DeliveryMetrics>,
    ) -> Self {
        let settings = PumpSettings::new(
            crm.delivery_concurrency,
            crm.delivery_concurrency_per_account,
            crm.delivery_poll_interval,
        );
        let (recorder, recorder_loop) =
            Recorder::new(Arc::clone(&ports.queue), Arc::clone(&ports.clock));
        let job = DeliveryJob {
            queue: ports.queue,
            context: Arc::new(AttemptContext {
                recorder,
                cipher: ports.cipher,
                notifier: ports.notifier,
                clock: ports.clock,
                schedule: crm.retry_schedule.clone(),
                metrics,
            }),
            accounts: ports.accounts,
            lease: lease(crm.http_timeout, &settings),
        };
        Self {
            pump: Pump::new(job, wake, settings),
            recorder: recorder_loop,
        }
    }

    /// Delivers until `stop` turns true, then lets the attempts under way finish, for at most
    /// `drain`. The results of finished attempts are written before this returns.
    pub(crate) async fn run(self, stop: watch::Receiver<bool>, drain: Duration) {
        // The recorder ends once the pump, which holds every `Recorder`, is done.
        tokio::join!(self.pump.run(stop, drain), self.recorder.run());
    }
}

/// How long a claim holds: past it, another worker may take the delivery over.
///
/// A claimed delivery may wait for its account's turn behind the rest of its claim
/// ([`PumpSettings::turns_ahead`] attempts, each at most `HTTP_TIMEOUT`); the lease covers that,
/// its own attempt and [`RECORD_MARGIN`]. A lease too short would let a second worker start the
/// same attempt while the first still runs.
fn lease(http_timeout: Duration, settings: &PumpSettings) -> Duration {
    http_timeout
        .saturating_mul(settings.turns_ahead().saturating_add(1))
        .saturating_add(RECORD_MARGIN)
}

/// Claims deliveries and makes their attempts.
struct DeliveryJob {
    queue: Arc<dyn DeliveryQueue>,
    context: Arc<AttemptContext>,
    accounts: Arc<dyn AccountStore>,
    lease: Duration,
}

impl Job for DeliveryJob {
    type Item = CrmDelivery;

    const NAME: &'static str = "delivery";

    async fn claim(
        &self,
        limit: u32,
        skip_accounts: Vec<AccountId>,
    ) -> Result<Vec<CrmDelivery>, String> {
        self.queue
            .claim_due_deliveries(self.context.clock.now(), limit, self.lease, &skip_accounts)
            .await
            .map_err(|error| error.to_string())
    }

    fn account(item: &CrmDelivery) -> &AccountId {
        &item.account_id
    }

    async fn tasks(&self, claimed: Vec<CrmDelivery>) -> Vec<(AccountId, Task)> {
        let recipients = read_accounts(
            self.accounts.as_ref(),
            claimed.iter().map(|d| &d.account_id),
            Self::NAME,
        )
        .await;
        claimed
            .into_iter()
            .map(|delivery| {
                let recipient = recipients
                    .get(&delivery.account_id)
                    .cloned()
                    .unwrap_or(AccountLookup::Unreadable);
                let context = Arc::clone(&self.context);
                let account = delivery.account_id.clone();
                // Every log line of the attempt carries the id of the request that caused it.
                let span = tracing::error_span!(
                    "crm_delivery",
                    request_id = delivery.request_id.as_ref().map(RequestId::as_str)
                );
                let task: Task = Box::pin(
                    async move {
                        context.metrics.started();
                        attempt::attempt(&context, delivery, recipient).await;
                        context.metrics.ended();
                    }
                    .instrument(span),
                );
                (account, task)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_covers_the_wait_for_a_turn_and_the_attempt() {
        let settings = PumpSettings::new(128, 16, Duration::from_secs(1));
        // 64 / 16 = 4 turns ahead at most, plus its own, plus the margin.
        assert_eq!(
            lease(Duration::from_secs(15), &settings),
            Duration::from_secs(5 * 15 + 5)
        );
    }
}
