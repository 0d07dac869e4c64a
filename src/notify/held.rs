//! Answers held for a WhatsApp citizen outside the 24-hour window.
//!
//! Outside the window the Cloud API only lets an approved template through. When the
//! answer does not fit the template's body parameter, the template says an answer is
//! waiting (with a quick-reply button), and the answer itself is held here until the
//! citizen taps the button or writes anything: the WhatsApp webhook then sends it as
//! session messages before anything else (sent before the answers are forgotten: a crash
//! in between repeats them at the next message, never loses them), and writes the
//! `accepted` receipt; the messages' `statuses[]` then say `delivered`, `read` or
//! `failed` (`receipts`), as for any answer.
//!
//! Stored in Redis so that it survives a restart and any instance can deliver it:
//! `<prefix>gateway:held-answers:<subject key of the phone>`, a list of JSON
//! [`HeldAnswer`]s (the answer's text, its heading and ids; no address), kept
//! [`HELD_FOR`] after the last one was added — the time the bots remember a citizen's
//! appeals — and deleted once delivered.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::keyspace::{Keyspace, name};
use crate::redis_target::RedisConn;
use crate::reply::{Delivery, DeliveryStatus};

/// How long an answer waits for the citizen.
pub(crate) const HELD_FOR: Duration = Duration::from_secs(90 * 24 * 3600);

/// One answer waiting for its citizen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct HeldAnswer {
    pub(crate) reply_id: String,
    pub(crate) appeal_id: String,
    pub(crate) tracking_number: String,
    /// The localized status name ("Answer", "Resolved").
    pub(crate) status_name: String,
    pub(crate) text: String,
    pub(crate) status_link: String,
}

impl HeldAnswer {
    /// The session messages that deliver it: split within a WhatsApp text's limit,
    /// each headed, the status link closing the last.
    pub(crate) fn messages(&self, limit: usize) -> Vec<String> {
        let parts = super::split::split(&self.text, limit);
        let n = parts.len();
        parts
            .into_iter()
            .enumerate()
            .map(|(i, part)| {
                let heading = if n == 1 {
                    format!("{} — {}", self.tracking_number, self.status_name)
                } else {
                    format!(
                        "{} — {} ({}/{n})",
                        self.tracking_number,
                        self.status_name,
                        i + 1
                    )
                };
                if i + 1 == n {
                    format!("{heading}\n\n{part}\n\n{}", self.status_link)
                } else {
                    format!("{heading}\n\n{part}")
                }
            })
            .collect()
    }
}

/// Holds `answer` for the subject `subject`.
pub(crate) async fn hold(
    conn: &mut RedisConn,
    keys: &Keyspace,
    subject: &str,
    answer: &HeldAnswer,
) -> redis::RedisResult<()> {
    let key = keys.key(&name::held_answers(subject));
    let data = serde_json::to_string(answer).unwrap_or_default();
    redis::pipe()
        .atomic()
        .cmd("RPUSH")
        .arg(&key)
        .arg(data)
        .ignore()
        .cmd("EXPIRE")
        .arg(&key)
        .arg(HELD_FOR.as_secs())
        .ignore()
        .query_async(conn)
        .await
}

/// The answers held for `subject`, oldest first.
pub(crate) async fn held(
    conn: &mut RedisConn,
    keys: &Keyspace,
    subject: &str,
) -> redis::RedisResult<Vec<HeldAnswer>> {
    let raw: Vec<String> = redis::cmd("LRANGE")
        .arg(keys.key(&name::held_answers(subject)))
        .arg(0)
        .arg(-1)
        .query_async(conn)
        .await?;
    Ok(raw
        .iter()
        .filter_map(|r| serde_json::from_str(r).ok())
        .collect())
}

/// Forgets the oldest `answers` of `subject` (sent as session messages, `wamids[i]` the
/// ids of `answers[i]`'s parts) and tells the case system, one `accepted` receipt each;
/// WhatsApp's `statuses[]` on those ids then move it (`receipts`), like any answer's.
pub(crate) async fn sent(
    conn: &mut RedisConn,
    keys: &Keyspace,
    subject: &str,
    answers: &[HeldAnswer],
    wamids: &[Vec<String>],
) -> redis::RedisResult<()> {
    for (answer, ids) in answers.iter().zip(wamids) {
        let taken = super::receipts::Taken {
            reply_id: &answer.reply_id,
            appeal_id: &answer.appeal_id,
            route: "whatsapp",
            attempts: 1,
            provider_ids: ids,
            retry: None,
        };
        super::receipts::track(conn, keys, &taken).await?;
    }
    let mut pipe = redis::pipe();
    pipe.atomic()
        .cmd("LTRIM")
        .arg(keys.key(&name::held_answers(subject)))
        .arg(answers.len())
        .arg(-1)
        .ignore();
    for answer in answers {
        let receipt = Delivery {
            schema_version: crate::appeal::SCHEMA_VERSION,
            id: ulid::Ulid::new().to_string(),
            reply_id: answer.reply_id.clone(),
            appeal_id: answer.appeal_id.clone(),
            status: DeliveryStatus::Accepted,
            channel: Some("whatsapp".to_owned()),
            attempts: 1,
            reason: None,
            at: crate::appeal::now_rfc3339(),
        };
        pipe.cmd("XADD")
            .arg(keys.key(crate::keyspace::DELIVERIES))
            .arg("*")
            .arg("id")
            .arg(&receipt.id)
            .arg("type")
            .arg("delivery")
            .arg("data")
            .arg(serde_json::to_string(&receipt).unwrap_or_default())
            .ignore();
    }
    pipe.query_async(conn).await
}
