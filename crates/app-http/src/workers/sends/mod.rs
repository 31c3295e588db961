//! The send worker: claims pending DMs from the outbound queue and sends them through the Graph
//! API, each account at its own pace, at most once toward Meta.
//!
//! It runs on the shared [`Pump`], like the delivery worker: woken when this instance queues a
//! send, polling every second for retries coming due and other instances' work. The account's
//! pace (`SendPacing`, default 100 sends/s, per account) is kept in the database, so it holds
//! across instances; Meta's throttling holds that account back and no other.

mod attempt;
mod classify;
mod metrics;

use std::sync::Arc;
use std::time::Duration;

use domain::ports::{
    AccountStore, Clock, CredentialCipher, InstagramClient, OutboundQueue, SendPacing,
};
use domain::{AccountId, OutboundMessage, RequestId, RetrySchedule};
use tokio::sync::watch;
use tracing::Instrument;

pub use metrics::{SendMetrics, SendMetricsSnapshot};

use self::attempt::{MAX_PACE_WAIT, SendContext};
use super::accounts::{AccountLookup, read_accounts};
use super::pump::{Job, Pump, PumpSettings, Task};
use super::{SendOutcomes, Wake};
use crate::replies::{PROFILE_LOOKUP_TIMEOUT, ProfileCache};

/// Most sends one instance has claimed and not finished.
const SEND_CONCURRENCY: usize = 64;
/// Most Graph API calls at once for one account (its pace spaces them anyway).
const SEND_CONCURRENCY_PER_ACCOUNT: usize = 16;
/// How often the worker looks for sends nobody rang for (retries coming due).
const SEND_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Part of a lease left for writing a send's outcome after the call's own timeout, with the
/// tries `attempt.rs` makes when the database fails.
const RECORD_MARGIN: Duration = Duration::from_secs(10);

/// The ports the worker drives.
pub(crate) struct SendPorts {
    pub(crate) queue: Arc<dyn OutboundQueue>,
    pub(crate) accounts: Arc<dyn AccountStore>,
    pub(crate) cipher: Arc<dyn CredentialCipher>,
    pub(crate) instagram: Arc<dyn InstagramClient>,
    pub(crate) pacing: Arc<dyn SendPacing>,
    pub(crate) clock: Arc<dyn Clock>,
}

/// Where the worker reports: metrics, `Prefer: wait` requests and the delivery worker.
pub(crate) struct SendReporting {
    pub(crate) metrics: Arc<SendMetrics>,
    pub(crate) outcomes: SendOutcomes,
    pub(crate) delivery_wake: Wake,
}

/// The send worker of one instance.
pub(crate) struct SendWorker {
    pump: Pump<SendJob>,
    outcomes: SendOutcomes,
}

impl SendWorker {
    /// A worker over `ports`, woken by `wake`, retrying on `schedule`, each Graph call bounded
    /// by `http_timeout`.
    pub(crate) fn new(
        ports: SendPorts,
        reporting: SendReporting,
        schedule: RetrySchedule,
        http_timeout: Duration,
        wake: Wake,
    ) -> Self {
        let settings = PumpSettings::new(
            SEND_CONCURRENCY,
            SEND_CONCURRENCY_PER_ACCOUNT,
            SEND_POLL_INTERVAL,
        );
        let job = SendJob {
            context: Arc::new(SendContext {
                queue: ports.queue,
                accounts: Arc::clone(&ports.accounts),
                cipher: ports.cipher,
                instagram: ports.instagram,
                pacing: ports.pacing,
                clock: ports.clock,
                schedule,
                metrics: reporting.metrics,
                outcomes: reporting.outcomes.clone(),
                delivery_wake: reporting.delivery_wake,
                profiles: ProfileCache::new(),
            }),
            accounts: ports.accounts,
            lease: lease(http_timeout, &settings),
        };
        Self {
            pump: Pump::new(job, wake, settings),
            outcomes: reporting.outcomes,
        }
    }

    /// Sends until `stop` turns true, then lets the calls under way finish, for at most `drain`.
    /// When `stop` turns true, requests waiting on `Prefer: wait` for a message this worker has
    /// not claimed answer at once (nothing will start it before the shutdown); once the calls
    /// have finished no outcome will be published any more, and the rest answer too. So no wait
    /// holds the shutdown up until its deadline.
    pub(crate) async fn run(self, stop: watch::Receiver<bool>, drain: Duration) {
        let mut stopped = stop.clone();
        let outcomes = self.outcomes.clone();
        let announce = async move {
            // An error means the sender is gone, which also means stop.
            let _ = stopped.wait_for(|stop| *stop).await;
            outcomes.stopping();
        };
        tokio::join!(self.pump.run(stop, drain), announce);
        self.outcomes.close();
    }
}

/// How long a send claim holds: the wait for the account's turn ([`PumpSettings::turns_ahead`]
/// calls), for its pace ([`MAX_PACE_WAIT`]), an auto-reply's profile lookup
/// ([`PROFILE_LOOKUP_TIMEOUT`]), its own call and [`RECORD_MARGIN`]. While it holds, no other
/// worker can start the same send: the claim is what keeps sends at most once.
fn lease(http_timeout: Duration, settings: &PumpSettings) -> Duration {
    http_timeout
        .saturating_mul(settings.turns_ahead().saturating_add(1))
        .saturating_add(MAX_PACE_WAIT)
        .saturating_add(PROFILE_LOOKUP_TIMEOUT)
        .saturating_add(RECORD_MARGIN)
}

/// Claims sends and makes their Graph API calls.
struct SendJob {
    context: Arc<SendContext>,
    accounts: Arc<dyn AccountStore>,
    lease: Duration,
}

impl Job for SendJob {
    type Item = OutboundMessage;

    const NAME: &'static str = "send";

    async fn claim(
        &self,
        limit: u32,
        skip_accounts: Vec<AccountId>,
    ) -> Result<Vec<OutboundMessage>, String> {
        self.context
            .queue
            .claim_due_outbound(self.context.clock.now(), limit, self.lease, &skip_accounts)
            .await
            .map_err(|error| error.to_string())
    }

    fn account(item: &OutboundMessage) -> &AccountId {
        &item.account_id
    }

    async fn tasks(&self, claimed: Vec<OutboundMessage>) -> Vec<(AccountId, Task)> {
        let senders = read_accounts(
            self.accounts.as_ref(),
            claimed.iter().map(|m| &m.account_id),
            Self::NAME,
        )
        .await;
        claimed
            .into_iter()
            .map(|message| {
                let sender = senders
                    .get(&message.account_id)
                    .cloned()
                    .unwrap_or(AccountLookup::Unreadable);
                let context = Arc::clone(&self.context);
                let account = message.account_id.clone();
                // From the claim on: a request waiting on this send keeps waiting at shutdown.
                let in_flight = context.outcomes.started(&message.id);
                // Every log line of the send carries the id of the request that queued it.
                let span = tracing::error_span!(
                    "send",
                    request_id = message.request_id.as_ref().map(RequestId::as_str)
                );
                let task: Task = Box::pin(
                    async move {
                        attempt::send(&context, message, sender).await;
                        drop(in_flight);
                    }
                    .instrument(span),
                );
                (account, task)
            })
            .collect()
    }
}
