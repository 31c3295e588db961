//! The JSON of `GET /api/v1/accounts/{id}/stats` (docs/api.md, "Stats"). The console reads
//! exactly these names: members may be added, never renamed.

use domain::{AccountStats, DailyCounts};
use serde::Serialize;
use utoipa::ToSchema;

/// An account's activity over a range of UTC days.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AccountStats)]
pub(crate) struct StatsDto {
    /// The account's `acc_` id.
    #[schema(schema_with = crate::openapi::schemas::account_id)]
    pub(crate) account_id: String,
    /// The first day, `YYYY-MM-DD` (UTC).
    #[schema(format = Date)]
    pub(crate) from: String,
    /// The last day, included, `YYYY-MM-DD` (UTC).
    #[schema(format = Date)]
    pub(crate) to: String,
    /// Every day of the range, oldest first, days without activity included (all zeros).
    pub(crate) days: Vec<DayDto>,
    /// The days added up, and the delivery success rate.
    pub(crate) totals: TotalsDto,
    /// How fast the business answered the conversations customers started in the range.
    pub(crate) first_response: FirstResponseDto,
}

/// One UTC day's counts.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = StatsDay)]
pub(crate) struct DayDto {
    /// The day, `YYYY-MM-DD` (UTC).
    #[schema(format = Date)]
    pub(crate) date: String,
    /// What happened that day.
    #[serde(flatten)]
    pub(crate) counts: CountsDto,
}

/// The days of the range added up.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = StatsTotals)]
pub(crate) struct TotalsDto {
    /// The counts of every day of the range together.
    #[serde(flatten)]
    pub(crate) counts: CountsDto,
    /// `deliveries_ok / (deliveries_ok + deliveries_failed)`, from 0 to 1; `null` when no
    /// delivery of the range has finished.
    #[schema(required = true)]
    pub(crate) delivery_success_rate: Option<f64>,
}

/// The counts of a day, or of the whole range.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = StatsCounts)]
pub(crate) struct CountsDto {
    /// Messages customers sent (not reactions, reads, edits, deletions, postbacks or
    /// referrals), by Meta's time.
    pub(crate) messages_in: u64,
    /// Messages the business sent: igrouter's sends that reached `sent` (API and auto-replies)
    /// by the time they were sent, and messages sent from elsewhere (the Instagram app, another
    /// tool) by Meta's time. An echo of igrouter's own send is not counted again.
    pub(crate) messages_out: u64,
    /// Of igrouter's sends counted in `messages_out`, those an auto-reply rule queued.
    pub(crate) auto_replies: u64,
    /// CRM deliveries queued then that the CRM has accepted.
    pub(crate) deliveries_ok: u64,
    /// CRM deliveries queued then that are `failed` (every scheduled attempt failed).
    pub(crate) deliveries_failed: u64,
}

/// First-response times of the conversations customers started in the range.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = FirstResponse)]
pub(crate) struct FirstResponseDto {
    /// Conversations customers started in the range: a customer's message after 24 hours
    /// without a message either way between them and the business.
    pub(crate) conversations: u64,
    /// Of those, the ones the business has answered (at any time, also after the range).
    pub(crate) answered: u64,
    /// The median time from a conversation's first message to the business's answer, in
    /// seconds (interpolated, like `PERCENTILE_CONT`); `null` when none was answered.
    #[schema(required = true)]
    pub(crate) p50_seconds: Option<f64>,
    /// The 90th percentile of that time, in seconds; `null` when none was answered.
    #[schema(required = true)]
    pub(crate) p90_seconds: Option<f64>,
}

impl From<&AccountStats> for StatsDto {
    fn from(stats: &AccountStats) -> Self {
        let totals = stats.totals();
        let first = &stats.first_response;
        Self {
            account_id: stats.account_id.as_str().to_owned(),
            from: stats.range.from().to_string(),
            to: stats.range.to().to_string(),
            days: stats
                .days
                .iter()
                .map(|(date, counts)| DayDto {
                    date: date.to_string(),
                    counts: counts.into(),
                })
                .collect(),
            totals: TotalsDto {
                counts: (&totals).into(),
                delivery_success_rate: totals.delivery_success_rate(),
            },
            first_response: FirstResponseDto {
                conversations: first.conversations,
                answered: first.answered,
                p50_seconds: first.p50_seconds(),
                p90_seconds: first.p90_seconds(),
            },
        }
    }
}

impl From<&DailyCounts> for CountsDto {
    fn from(counts: &DailyCounts) -> Self {
        Self {
            messages_in: counts.messages_in,
            messages_out: counts.messages_out,
            auto_replies: counts.auto_replies,
            deliveries_ok: counts.deliveries_ok,
            deliveries_failed: counts.deliveries_failed,
        }
    }
}
