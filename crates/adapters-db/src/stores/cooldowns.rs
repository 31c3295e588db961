//! Auto-reply cooldowns: at most one reply per (rule, sender) per `cooldown_seconds`, decided in
//! the ingest transaction that would queue the reply, so it holds across instances, under Meta's
//! redeliveries (a duplicate event never reaches this point) and for concurrent webhooks from one
//! sender.
//!
//! For each auto-reply the transaction reads the rule (still there, still enabled, its current
//! cooldown) together with the (rule, sender) row of `reply_cooldowns`, then:
//! - no row yet: inserts one. Two transactions that both saw none collide on the primary key;
//!   the loser's unique violation sends the whole ingest round again (`ingest.rs` retries lost
//!   races), and the second round sees the winner's row;
//! - a row whose time has run out: moves it to now with an `UPDATE` guarded by the same cutoff.
//!   A concurrent transaction that moved it first holds the row lock; once it commits, the
//!   guard is checked again against its value (PostgreSQL re-evaluates the `WHERE` of a blocked
//!   update, InnoDB updates read the latest committed row), matches nothing and the reply is
//!   dropped;
//! - a row still within the cooldown, or a rule deleted or disabled since the caller's rules
//!   were read: the reply is dropped, the message is stored all the same.
//!
//! SQLite runs one writer at a time (`BEGIN IMMEDIATE`), so there the reads alone decide.

/// What the cooldown check needs of one auto-reply.
pub(super) struct ReplyKey<'a> {
    /// The rule that chose the reply.
    pub(super) rule_id: &'a str,
    /// The account the rule must still belong to.
    pub(super) account_id: &'a str,
    /// The customer the reply goes to (the sender of the message it answers).
    pub(super) sender_id: &'a str,
    /// When the reply was queued, epoch ms: the cooldown runs from here.
    pub(super) at: i64,
}

/// What the stored state lets one reply do.
pub(super) enum Verdict {
    /// The rule is gone or disabled, or the sender is within its cooldown: no reply.
    Hold,
    /// The first reply of this rule to this sender: insert the cooldown row.
    Start,
    /// The cooldown has run out: move the row on, if nobody did since it was read.
    Renew {
        /// The latest `last_reply_at` that still lets a reply go out now.
        cutoff: i64,
    },
}

/// The verdict for a reply at `at`, from the rule's cooldown (`None`: the rule is gone or
/// disabled) and the sender's last reply of that rule.
pub(super) fn verdict(found: Option<(i64, Option<i64>)>, at: i64) -> Verdict {
    let Some((cooldown_seconds, last_reply_at)) = found else {
        return Verdict::Hold;
    };
    let cutoff = at.saturating_sub(cooldown_seconds.saturating_mul(1_000));
    match last_reply_at {
        None => Verdict::Start,
        Some(last) if last <= cutoff => Verdict::Renew { cutoff },
        Some(_) => Verdict::Hold,
    }
}

/// Keeps the sends of `$sends` (`Vec<OutboundRow>`) whose cooldown lets them go out, recording
/// each kept reply in `reply_cooldowns`; sends without a rule (none today) are kept as they are.
/// `$conn` is the transaction's connection; the trailing tokens follow each query (`.await` on
/// the async connections, nothing on SQLite's synchronous one), whose `RunQueryDsl` must be in
/// scope. Evaluates to the kept sends; a failed query returns its error from the enclosing
/// function (`?`).
macro_rules! admit_replies {
    ($conn:expr, $sends:expr, $($await:tt)*) => {{
        use $crate::schema::{reply_cooldowns, reply_rules};
        use $crate::stores::cooldowns::{Verdict, verdict};

        let sends: Vec<$crate::stores::outbound::OutboundRow> = $sends;
        let mut admitted = Vec::with_capacity(sends.len());
        for send in sends {
            let allowed = match send.reply_key() {
                None => true,
                Some(key) => {
                    let found: Option<(i64, Option<i64>)> = reply_rules::table
                        .left_join(
                            reply_cooldowns::table.on(reply_cooldowns::rule_id
                                .eq(reply_rules::id)
                                .and(reply_cooldowns::sender_id.eq(key.sender_id))),
                        )
                        .filter(reply_rules::id.eq(key.rule_id))
                        .filter(reply_rules::account_id.eq(key.account_id))
                        .filter(reply_rules::enabled.eq(true))
                        .select((
                            reply_rules::cooldown_seconds,
                            reply_cooldowns::last_reply_at.nullable(),
                        ))
                        .first($conn)
                        $($await)*
                        .optional()?;
                    match verdict(found, key.at) {
                        Verdict::Hold => false,
                        Verdict::Start => {
                            diesel::insert_into(reply_cooldowns::table)
                                .values((
                                    reply_cooldowns::rule_id.eq(key.rule_id),
                                    reply_cooldowns::sender_id.eq(key.sender_id),
                                    reply_cooldowns::last_reply_at.eq(key.at),
                                ))
                                .execute($conn)
                                $($await)*?;
                            true
                        }
                        Verdict::Renew { cutoff } => {
                            let moved = diesel::update(
                                reply_cooldowns::table
                                    .find((key.rule_id, key.sender_id))
                                    .filter(reply_cooldowns::last_reply_at.le(cutoff)),
                            )
                            .set(reply_cooldowns::last_reply_at.eq(key.at))
                            .execute($conn)
                            $($await)*?;
                            moved == 1
                        }
                    }
                }
            };
            if allowed {
                admitted.push(send);
            }
        }
        admitted
    }};
}

pub(crate) use admit_replies;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        assert!(matches!(verdict(None, 10_000), Verdict::Hold));
        assert!(matches!(verdict(Some((5, None)), 10_000), Verdict::Start));
        assert!(matches!(
            verdict(Some((5, Some(5_000))), 10_000),
            Verdict::Renew { cutoff: 5_000 }
        ));
        assert!(matches!(
            verdict(Some((5, Some(5_001))), 10_000),
            Verdict::Hold
        ));
        // No cooldown: every reply goes out, even in the same millisecond.
        assert!(matches!(
            verdict(Some((0, Some(10_000))), 10_000),
            Verdict::Renew { cutoff: 10_000 }
        ));
    }
}
