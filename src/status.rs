//! The public status of an appeal, for the citizen's status page and the bots' `/status`:
//! what the case system last said (the notifier keeps it in Redis, see [`crate::notify`])
//! and the deadline the law gives for the answer (see [`crate::deadline`]).
//! Nothing personal: a status, dates, the category's code.
//!
//! The status hash of a number (`status:{number}`) holds: `appeal_id` and `category`,
//! set with the appeal by the forwarder; `status` and `at`, the case system's last
//! word, and `at:{status}`, when it last said each status (the history the status page
//! lists), set by the notifier; `extended`; `alias_of` for a repeat's number.

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
    /// The date the appeal was received and registered (Almaty date).
    pub(crate) received: Option<time::Date>,
    /// The catalogue code of the appeal's category, when the status hash has it.
    pub(crate) category: Option<String>,
    /// Each status the case system gave, with when it last gave it (RFC 3339), oldest
    /// first.
    pub(crate) history: Vec<(CaseStatus, String)>,
}

/// The field of the status hash that holds when the case system last said `status`.
pub(crate) fn history_field(status: CaseStatus) -> String {
    format!("at:{}", status.as_str())
}

/// The history kept in a status hash: every `at:{status}` field whose status is known,
/// oldest first (RFC 3339 times in UTC sort as text).
fn history(record: &std::collections::HashMap<String, String>) -> Vec<(CaseStatus, String)> {
    let mut history: Vec<(CaseStatus, String)> = record
        .iter()
        .filter_map(|(field, at)| {
            let name = field.strip_prefix("at:")?;
            let status =
                serde_json::from_value::<CaseStatus>(serde_json::Value::String(name.to_owned()))
                    .ok()?;
            Some((status, at.clone()))
        })
        .collect();
    history.sort_by(|a, b| a.1.cmp(&b.1));
    history
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
            received,
            category: record.get("category").cloned(),
            history: history(&record),
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

    #[test]
    fn the_history_lists_each_status_said_oldest_first() {
        let record: std::collections::HashMap<String, String> = [
            ("status", "resolved"),
            ("at", "2026-12-04T10:00:00Z"),
            ("at:resolved", "2026-12-04T10:00:00Z"),
            ("at:registered", "2026-11-26T04:00:00Z"),
            ("at:in_progress", "2026-11-27T09:30:00Z"),
            ("at:no_such_status", "2026-11-28T09:30:00Z"),
            ("appeal_id", "01K"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let statuses: Vec<CaseStatus> = history(&record).into_iter().map(|(s, _)| s).collect();
        assert_eq!(
            statuses,
            [
                CaseStatus::Registered,
                CaseStatus::InProgress,
                CaseStatus::Resolved
            ]
        );
        assert_eq!(history_field(CaseStatus::InProgress), "at:in_progress");
    }
}
