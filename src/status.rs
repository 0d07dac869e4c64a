//! The public status of an appeal, for the citizen's status page and the bots' `/status`:
//! what the case system last said (the notifier keeps it in Redis, see [`crate::notify`])
//! and the deadline the law gives for the answer (see [`crate::deadline`]).
//! Nothing personal: a status, a date.

use std::time::Duration;

use redis::AsyncCommands;

use crate::deadline::Calendar;
use crate::redis_handle::{Redis, STATUS_WAIT, Unavailable};
use crate::reply::CaseStatus;

/// How long a status hash lives after its last change (issue 16: every store has an
/// end): past the answer's legal term, its extension and an appeal against it, the
/// status page says "unknown number".
pub(crate) const STATUS_TTL: Duration = Duration::from_secs(400 * 24 * 3600);

/// The status hash of a tracking number (without the deployment prefix).
pub(crate) fn key(tracking_number: &str) -> String {
    crate::keyspace::name::status(tracking_number)
}

/// What a citizen may see of an appeal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PublicStatus {
    /// The case system's last status; `None` until it said anything.
    pub(crate) status: Option<CaseStatus>,
    /// The date by which the answer is due (Almaty date).
    pub(crate) deadline: Option<time::Date>,
    /// Whether anything is known of this number (here or in Redis).
    pub(crate) known: bool,
    /// When the case system last wrote the status (RFC 3339), if it did.
    pub(crate) updated_at: Option<String>,
    /// The appeal the number stands for, when known.
    pub(crate) appeal_id: Option<String>,
}

/// Reads statuses from Redis; computes deadlines with the working calendar.
pub(crate) struct StatusBoard {
    calendar: Calendar,
    redis: Redis,
}

/// The date an appeal was received, Almaty time, from its ULID.
fn received_on(appeal_id: &str) -> Option<time::Date> {
    let id = ulid::Ulid::from_string(appeal_id).ok()?;
    let at = time::OffsetDateTime::from(id.datetime());
    Some(at.to_offset(crate::clock::ALMATY).date())
}

impl StatusBoard {
    /// Reads through `redis`, waiting [`STATUS_WAIT`] before showing what it knows
    /// without it.
    pub(crate) fn new(redis: &Redis, calendar: Calendar) -> StatusBoard {
        StatusBoard {
            calendar,
            redis: redis.waiting(STATUS_WAIT),
        }
    }

    /// The working calendar the deadlines are counted in.
    pub(crate) fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    /// The status of `tracking_number`. `waiting` tells, when asked, the day an appeal of
    /// this instance not yet forwarded was received under that number: asked only when
    /// Redis does not know the number or cannot be asked. A number that a repeated
    /// `Idempotency-Key` made an alias (`alias_of`) shows its first appeal's status.
    /// `Err` when Redis cannot be asked and this instance does not hold the number (the
    /// status cannot be shown now, issue 26 point 3): a
    /// well-formed number is then "registered, status not shown now", never "unknown".
    pub(crate) async fn lookup(
        &self,
        tracking_number: &str,
        waiting: impl FnOnce() -> Option<time::Date>,
    ) -> Result<PublicStatus, Unavailable> {
        let found = match self.read(tracking_number).await {
            Ok(mut record) => {
                if let Some(first) = record.remove("alias_of") {
                    record = self.read(&first).await.unwrap_or_default();
                }
                Ok(record)
            }
            Err(e) => Err(e),
        };
        let known_here = |found: &Result<
            std::collections::HashMap<String, String>,
            Unavailable,
        >| { !found.as_ref().is_ok_and(|r| r.contains_key("appeal_id")) };
        let received_here = if known_here(&found) { waiting() } else { None };
        let record = match (found, received_here) {
            (Ok(record), _) => record,
            // What this instance holds is known without Redis: received, and its deadline.
            (Err(_), Some(_)) => std::collections::HashMap::new(),
            (Err(e), None) => return Err(e),
        };
        let status = record.get("status").and_then(|s| {
            serde_json::from_value::<CaseStatus>(serde_json::Value::String(s.clone())).ok()
        });
        let appeal_id = record.get("appeal_id").cloned();
        let extended = record.contains_key("extended");
        let received = appeal_id.as_deref().and_then(received_on).or(received_here);
        let deadline = received.map(|received| self.calendar.deadline(received, extended));
        Ok(PublicStatus {
            status,
            deadline,
            known: received.is_some(),
            updated_at: record.get("at").cloned(),
            appeal_id,
        })
    }

    /// The status hash of a number, or `Err` when Redis does not answer in time.
    async fn read(
        &self,
        tracking_number: &str,
    ) -> Result<std::collections::HashMap<String, String>, Unavailable> {
        let key = self.redis.keys().status(tracking_number);
        self.redis
            .run(|mut conn| async move { conn.hgetall(key).await })
            .await
    }

    /// The legal deadline of an appeal just received (not extended), without asking
    /// Redis: what an acknowledgement promises.
    pub(crate) fn first_deadline(&self, appeal_id: &str) -> Option<time::Date> {
        received_on(appeal_id).map(|received| self.calendar.deadline(received, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_received_date_comes_from_the_ulid_in_almaty_time() {
        // 2026-11-25T20:00:00Z is already the 26th in Almaty.
        let at = time::macros::datetime!(2026-11-25 20:00 UTC);
        let id = ulid::Ulid::from_datetime(at.into()).to_string();
        assert_eq!(received_on(&id), Some(time::macros::date!(2026 - 11 - 26)));
        assert_eq!(received_on("not-a-ulid"), None);
    }
}
