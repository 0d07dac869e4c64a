//! Carrying out a data subject's `erasure`, `withdraw_consent` and `access` requests on
//! what the gateway itself holds (issue 16, points 2 and 3; regulation 4.1, 3.2).
//!
//! The gateway reads its own `subject.v1` through the consumer group `gateway-subject`
//! (one consumer per instance; an entry read by a crashed instance is read again by
//! that instance's next start, so a report may, rarely, come twice). For each
//! `subject_request` it looks up the request's subject keys — pseudonymous, the raw
//! identifiers are not needed — and writes a report on `subject.v1`, then acknowledges:
//!
//! - `erasure`, `withdraw_consent` → `erasure_done`: the bot conversation
//!   (`gateway:conversation:<key>`), what the bot remembers (`…conversation-memory…`), its
//!   lease, the WhatsApp session window (`gateway:whatsapp-window:<key>`), the case
//!   system's answers held for the citizen (`gateway:held-answers:<key>`), the chat's
//!   messages waiting to be taken (`gateway:inbound-pending:<key>`) and the public
//!   status of the subject's appeals (`gateway:status:<tracking number>`; the case
//!   system's next answer writes it again) are deleted; the report lists each store and
//!   how many items went, never a value.
//!   Appeals already accepted (`appeals.v1`) keep their legal course: the case system
//!   decides on them (regulation 3.1; the Law on personal data, art. 18, lets the
//!   operator keep what the law requires), so they are counted as kept, not erased. The
//!   withdrawal mark `gateway:subject:<key>` stays: it is what stops notifications.
//! - `access` → `access_report`: which stores hold something under the keys, the
//!   appeals (`id`, `tracking_number`, `received_at`, `channel`) and the consent ledger
//!   entries (`id`, `type`, `at`, `policy_version`) whose subject keys are among the
//!   request's — never another subject's data: only entries carrying one of the
//!   request's keys are listed.
//!
//! **Files.** What an instance holds in its own data directory only it can erase, so
//! every instance also reads `subject.v1` through a consumer group of its own,
//! `gateway-files:<instance>` ([`FILES_GROUP`]). For `erasure` and `withdraw_consent`
//! it erases the photos of the subject's appeals and additions on `appeals.v1` that it
//! holds (kept or pending; a later fetch gets 410 `attachment_erased`) — except a photo
//! another message on `appeals.v1` still holds: photos are stored once by content, and
//! another citizen who sent the same photo keeps it (issue 34) — forgets the idempotent
//! answers its waiting records hold for the subject's appeals, and compacts its outbox
//! once every record accepted before the request has been forwarded (no forwarded
//! appeal of the subject stays in a file); then it writes its own `erasure_done` with
//! `instance` set, listing `attachments` (photos erased), `idempotency_answers` and
//! `outbox` (1: compacted; `outbox.redb` before 2026-12). The shared report lists the
//! `idempotency_answers` in Redis that name the subject's appeals (`gateway:idempotency:*`,
//! erased). The bots keep
//! no photo bytes (a photo sent in a chat is described — size, SHA-256 — in the
//! conversation in Redis, which the shared group erases). An instance retired for good
//! leaves its group behind, which holds `subject.v1`'s trimming: remove it with
//! `XGROUP DESTROY <prefix>subject.v1 gateway-files:<instance>`.

use std::collections::BTreeSet;
use std::time::Duration;

use redis::streams::StreamReadReply;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::keyspace::{Keyspace, name};
use crate::redis_target::{RedisConn, StreamPager, Timeouts};
use crate::stream::Stream;
use crate::subject::{SubjectRequest, SubjectRequestKind};
use crate::supervisor::{Shutdown, every};

/// The gateway's consumer group on `subject.v1`.
pub(crate) const GROUP: &str = "gateway-subject";
/// Each instance's own consumer group on `subject.v1` (followed by `:<instance>`), for
/// what it holds in its data directory.
pub(crate) const FILES_GROUP: &str = "gateway-files";
/// Longest wait for the outbox to forward what it held when an erasure arrived.
const FORWARDED_WITHIN: Duration = Duration::from_secs(10);
/// Entries read per page when a stream is searched for a subject's entries.
const PAGE: usize = 500;
/// How long a reader waits after Redis failed before it connects again.
const RETRY_AFTER: Duration = Duration::from_secs(2);

/// One store the gateway looked at for the subject, and how many items it found there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StoreItems {
    /// `bot_conversation`, `bot_memory`, `bot_lease`, `whatsapp_window`, `held_answers`,
    /// `bot_pending_messages`, `status_entries` (the public status of the subject's
    /// appeals), `appeals.v1`, `consent.v1`; on an instance's own report, `attachments`
    /// (photos erased), `idempotency_answers` (answers naming the subject's appeals; in
    /// Redis on the shared report) and `outbox` (1: compacted, no forwarded record left
    /// in a file; `outbox.redb` before 2026-12).
    pub(crate) store: String,
    pub(crate) items: u64,
    /// True when the items were erased by this request; false when they are kept
    /// (accepted appeals, the consent evidence) or only reported (`access`).
    pub(crate) erased: bool,
}

/// An appeal of the subject, as listed in an access report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AppealRef {
    pub(crate) id: String,
    pub(crate) tracking_number: String,
    pub(crate) received_at: String,
    pub(crate) channel: String,
}

/// A consent ledger entry of the subject, as listed in an access report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsentRef {
    pub(crate) id: String,
    /// `consent_given` or `consent_withdrawn`.
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) at: String,
    pub(crate) policy_version: String,
}

/// What the gateway did for a subject request (`type: erasure_done` or `access_report`
/// on `subject.v1`). Counts and references, never a personal value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubjectReport {
    pub(crate) schema_version: u32,
    /// ULID of this report.
    pub(crate) id: String,
    /// The `subject_request` answered.
    pub(crate) request_id: String,
    pub(crate) request_kind: SubjectRequestKind,
    /// RFC 3339, UTC.
    #[schemars(extend("format" = "date-time"))]
    pub(crate) completed_at: String,
    /// Set on the report of one instance's data directory (its photos and its
    /// `outbox.redb`); absent on the report of what is in Redis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) instance: Option<String>,
    pub(crate) stores: Vec<StoreItems>,
    /// `access` only: the subject's appeals still on `appeals.v1`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) appeals: Vec<AppealRef>,
    /// `access` only: the subject's entries still on `consent.v1`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) consents: Vec<ConsentRef>,
}

impl SubjectReport {
    /// A report, made now, of what was done for `request` (by `instance`, for one
    /// data directory; `None` for Redis); `appeals` and `consents` empty.
    fn new(request: &SubjectRequest, instance: Option<String>, stores: Vec<StoreItems>) -> Self {
        SubjectReport {
            schema_version: crate::appeal::SCHEMA_VERSION,
            id: ulid::Ulid::new().to_string(),
            request_id: request.id.clone(),
            request_kind: request.kind,
            completed_at: crate::appeal::now_rfc3339(),
            instance,
            stores,
            appeals: Vec::new(),
            consents: Vec::new(),
        }
    }
}

/// Reads `subject.v1` and carries out what it finds.
#[derive(Clone)]
pub(crate) struct SubjectWorker {
    /// The keys, and where this worker's own connections go ([`crate::redis_handle`]).
    pub(crate) redis: crate::redis_handle::Redis,
    /// This instance's consumer name.
    pub(crate) consumer: String,
    /// This instance's data directory (its photos) and outbox.
    pub(crate) data_dir: std::path::PathBuf,
    pub(crate) outbox: crate::outbox::Outbox,
    pub(crate) metrics: crate::metrics::Metrics,
}

/// Which part of a request a reader of `subject.v1` carries out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// What Redis holds (one instance does it, [`GROUP`]).
    Redis,
    /// What this instance's data directory holds ([`FILES_GROUP`]).
    Files,
}

impl SubjectWorker {
    /// Runs until the shutdown; on a Redis error waits [`RETRY_AFTER`] and connects
    /// again (the supervisor's [`every`]).
    pub(crate) async fn run(self, shutdown: Shutdown) {
        tokio::join!(
            self.run_part(Part::Redis, shutdown.clone()),
            self.run_part(Part::Files, shutdown)
        );
    }

    async fn run_part(&self, part: Part, shutdown: Shutdown) {
        let this = self;
        let stop = shutdown.receiver();
        every(RETRY_AFTER, shutdown, move || {
            let mut stop = stop.clone();
            async move {
                if let Err(e) = this.serve(part, &mut stop).await {
                    tracing::warn!(
                        error = %crate::redis_target::describe(&e),
                        "subject requests: redis unavailable; will try again"
                    );
                }
            }
        })
        .await;
    }

    async fn serve(
        &self,
        part: Part,
        stop: &mut tokio::sync::watch::Receiver<bool>,
    ) -> redis::RedisResult<()> {
        let group = match part {
            Part::Redis => GROUP.to_owned(),
            Part::Files => format!("{FILES_GROUP}:{}", self.consumer),
        };
        let group = group.as_str();
        let keys = self.redis.keys();
        let stream = keys.key(Stream::Subject.name());
        let mut conn = self
            .redis
            .connect_own(Timeouts {
                connect: Duration::from_secs(2),
                response: Duration::from_secs(5),
            })
            .await?;
        crate::redis_target::ensure_group(&mut conn, &stream, group).await?;
        // First what this consumer read before and did not finish, then new entries.
        let mut from = "0".to_owned();
        while !*stop.borrow() {
            let reply: StreamReadReply = redis::cmd("XREADGROUP")
                .arg("GROUP")
                .arg(group)
                .arg(&self.consumer)
                .arg("COUNT")
                .arg(16)
                .arg("BLOCK")
                .arg(1000)
                .arg("STREAMS")
                .arg(&stream)
                .arg(&from)
                .query_async(&mut conn)
                .await?;
            let entries: Vec<_> = reply.keys.into_iter().flat_map(|k| k.ids).collect();
            if entries.is_empty() && from == "0" {
                from = ">".to_owned();
                continue;
            }
            for entry in entries {
                let kind: Option<String> = entry.get("type");
                let data: Option<String> = entry.get("data");
                if let (Some("subject_request"), Some(data)) = (kind.as_deref(), data)
                    && let Ok(request) = serde_json::from_str::<SubjectRequest>(&data)
                    && let Some(report) = match part {
                        Part::Redis => self.carry_out(&mut conn, keys, &request).await?,
                        Part::Files => self.carry_out_files(&mut conn, keys, &request).await?,
                    }
                {
                    let kind = match request.kind {
                        SubjectRequestKind::Access => "access_report",
                        _ => "erasure_done",
                    };
                    redis::cmd("XADD")
                        .arg(&stream)
                        .arg("*")
                        .arg("id")
                        .arg(&report.id)
                        .arg("type")
                        .arg(kind)
                        .arg("data")
                        .arg(serde_json::to_string(&report).unwrap_or_default())
                        .query_async::<()>(&mut conn)
                        .await?;
                }
                redis::cmd("XACK")
                    .arg(&stream)
                    .arg(group)
                    .arg(&entry.id)
                    .query_async::<()>(&mut conn)
                    .await?;
            }
        }
        Ok(())
    }

    /// Carries out one request; `None` for kinds the gateway has nothing to do for.
    async fn carry_out(
        &self,
        conn: &mut RedisConn,
        keys: &Keyspace,
        request: &SubjectRequest,
    ) -> redis::RedisResult<Option<SubjectReport>> {
        let erase = match request.kind {
            SubjectRequestKind::Erasure | SubjectRequestKind::WithdrawConsent => true,
            SubjectRequestKind::Access => false,
            SubjectRequestKind::OptOutNotifications | SubjectRequestKind::UpdateData => {
                return Ok(None);
            }
        };
        let subject: BTreeSet<&str> = request.subject_keys.values().map(String::as_str).collect();
        let mut stores = Vec::new();
        for (store, key_of) in [
            ("bot_conversation", name::conversation as fn(&str) -> String),
            ("bot_memory", name::conversation_memory),
            ("bot_lease", name::conversation_lock),
            ("whatsapp_window", |k: &str| {
                name::session_window("whatsapp", k)
            }),
            ("held_answers", name::held_answers),
            ("bot_pending_messages", name::inbound_pending),
        ] {
            let names: Vec<String> = subject.iter().map(|k| keys.key(&key_of(k))).collect();
            let items: u64 = if erase {
                redis::cmd("DEL").arg(&names).query_async(conn).await?
            } else {
                redis::cmd("EXISTS").arg(&names).query_async(conn).await?
            };
            stores.push(StoreItems {
                store: store.to_owned(),
                items,
                erased: erase,
            });
        }
        let appeals = find(conn, &keys.key(Stream::Appeals.name()), &subject, |data| {
            keys_of(&data["consent"]["subject_keys"])
        })
        .await?;
        let consents = find(conn, &keys.key(Stream::Consent.name()), &subject, |data| {
            keys_of(&data["subject_keys"])
        })
        .await?;
        // The public status of the subject's appeals: erased with the rest (the
        // case system's next answer writes it again, the appeal being its to decide).
        let statuses: Vec<String> = appeals
            .iter()
            .filter_map(|a| a["tracking_number"].as_str())
            .map(|t| keys.status(t))
            .collect();
        // The `Idempotency-Key` answers naming those appeals: the status hash names them.
        let mut answers = 0;
        for status in &statuses {
            let named: Option<String> = redis::cmd("HGET")
                .arg(status)
                .arg("idempotency")
                .query_async(conn)
                .await?;
            if let Some(name) = named {
                answers += if erase {
                    redis::cmd("DEL")
                        .arg(keys.key(&name))
                        .query_async::<u64>(conn)
                        .await?
                } else {
                    redis::cmd("EXISTS")
                        .arg(keys.key(&name))
                        .query_async::<u64>(conn)
                        .await?
                };
            }
        }
        stores.push(StoreItems {
            store: "idempotency_answers".to_owned(),
            items: answers,
            erased: erase,
        });
        let items: u64 = match (statuses.is_empty(), erase) {
            (true, _) => 0,
            (false, true) => redis::cmd("DEL").arg(&statuses).query_async(conn).await?,
            (false, false) => {
                redis::cmd("EXISTS")
                    .arg(&statuses)
                    .query_async(conn)
                    .await?
            }
        };
        stores.push(StoreItems {
            store: "status_entries".to_owned(),
            items,
            erased: erase,
        });
        stores.push(StoreItems {
            store: Stream::Appeals.name().to_owned(),
            items: appeals.len() as u64,
            erased: false,
        });
        stores.push(StoreItems {
            store: Stream::Consent.name().to_owned(),
            items: consents.len() as u64,
            erased: false,
        });
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let (appeals, consents) = if erase {
            (Vec::new(), Vec::new())
        } else {
            (
                appeals
                    .iter()
                    .filter(|a| a["tracking_number"].is_string())
                    .map(|a| AppealRef {
                        id: text(&a["id"]),
                        tracking_number: text(&a["tracking_number"]),
                        received_at: text(&a["received_at"]),
                        channel: text(&a["channel"]),
                    })
                    .collect(),
                consents
                    .iter()
                    .map(|c| ConsentRef {
                        id: text(&c["id"]),
                        kind: text(&c["type"]),
                        at: text(&c["at"]),
                        policy_version: text(&c["policy_version"]),
                    })
                    .collect(),
            )
        };
        Ok(Some(SubjectReport {
            appeals,
            consents,
            ..SubjectReport::new(request, None, stores)
        }))
    }

    /// Erases what this instance's data directory holds for an `erasure` or
    /// `withdraw_consent` (see the module doc); `None` for the other kinds.
    async fn carry_out_files(
        &self,
        conn: &mut RedisConn,
        keys: &Keyspace,
        request: &SubjectRequest,
    ) -> redis::RedisResult<Option<SubjectReport>> {
        if !matches!(
            request.kind,
            SubjectRequestKind::Erasure | SubjectRequestKind::WithdrawConsent
        ) {
            return Ok(None);
        }
        let subject: BTreeSet<&str> = request.subject_keys.values().map(String::as_str).collect();
        // What the outbox held when the request came is forwarded (and removed) first:
        // the subject's latest appeals are then on the stream to be found, and the
        // compaction below leaves none of it in a file.
        let arrived_ms = crate::clock::now_ms();
        let waited = tokio::time::Instant::now();
        while self
            .outbox
            .oldest_accepted_at_ms()
            .ok()
            .flatten()
            .is_some_and(|at| at <= arrived_ms)
            && waited.elapsed() < FORWARDED_WITHIN
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Issue 34, point 2: photos are stored once by content, so two citizens who sent
        // the same photo share one file; it goes only when no one else's appeal (or
        // addition) still holds it — no one whose own erasure or withdrawal did not
        // already let go of it (their appeals stay on `appeals.v1`, photo and all).
        let released = released_subjects(conn, &keys.key(Stream::Subject.name())).await?;
        let (appeals, others) =
            photo_holders(conn, &keys.key(Stream::Appeals.name()), &subject, &released).await?;
        let photos: Vec<String> = appeals
            .iter()
            .flat_map(|a| a["attachments"].as_array().cloned().unwrap_or_default())
            .filter_map(|p| p["sha256"].as_str().map(str::to_owned))
            .filter(|sha| !others.contains(sha))
            .collect();
        let store = crate::attachments::AttachmentStore::new(&self.data_dir);
        let erased = match tokio::task::spawn_blocking(move || store.erase(&photos)).await {
            Ok(Ok(n)) => n as u64,
            Ok(Err(e)) => {
                return Err(redis::RedisError::from(std::io::Error::new(
                    e.kind(),
                    "erasing a subject's photos",
                )));
            }
            Err(_) => {
                return Err(redis::RedisError::from(std::io::Error::other(
                    "erasing a subject's photos stopped",
                )));
            }
        };
        // Idempotent answers naming the subject's appeals (their tracking numbers).
        let tracking: Vec<String> = appeals
            .iter()
            .filter_map(|a| a["tracking_number"].as_str().map(str::to_owned))
            .collect();
        let answers = self.outbox.forget_answers(&tracking);
        let rewritten = match self.outbox.compact().await {
            Ok(_) => {
                self.metrics
                    .store_rewrites
                    .with_label_values(&["erasure"])
                    .inc();
                1
            }
            Err(e) => {
                // Not acknowledged: the request is read again and the rewrite retried.
                return Err(redis::RedisError::from(std::io::Error::other(format!(
                    "compacting the outbox for an erasure: {e}"
                ))));
            }
        };
        Ok(Some(SubjectReport::new(
            request,
            Some(self.consumer.clone()),
            vec![
                StoreItems {
                    store: "attachments".to_owned(),
                    items: erased,
                    erased: true,
                },
                StoreItems {
                    store: "idempotency_answers".to_owned(),
                    items: answers,
                    erased: true,
                },
                StoreItems {
                    store: "outbox".to_owned(),
                    items: rewritten,
                    erased: true,
                },
            ],
        )))
    }
}

/// The values of a `subject_keys` object.
fn keys_of(value: &Value) -> Vec<String> {
    value
        .as_object()
        .map(|o| {
            o.values()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The subject keys of every erasure and withdrawal on `stream` (`subject.v1`): their
/// appeals no longer hold their photos.
async fn released_subjects(
    conn: &mut RedisConn,
    stream: &str,
) -> redis::RedisResult<BTreeSet<String>> {
    // Only requests carry `kind` (the reports carry `request_kind`).
    let requests = find_where(conn, stream, |data| {
        matches!(data["kind"].as_str(), Some("erasure" | "withdraw_consent"))
    })
    .await?;
    Ok(requests
        .iter()
        .flat_map(|r| keys_of(&r["subject_keys"]))
        .collect())
}

/// The messages of `stream` (`appeals.v1`) that hold the subject's photos — appeals
/// whose consent names one of `subject`'s keys, additions whose sender does — and the
/// photos (SHA-256) that any other message holds: another citizen's appeal, an
/// anonymous one, another's addition; not one of a subject in `released`.
async fn photo_holders(
    conn: &mut RedisConn,
    stream: &str,
    subject: &BTreeSet<&str>,
    released: &BTreeSet<String>,
) -> redis::RedisResult<(Vec<Value>, BTreeSet<String>)> {
    let holders = |data: &Value| {
        let mut keys = keys_of(&data["consent"]["subject_keys"]);
        keys.extend(keys_of(&data["sender_keys"]));
        keys
    };
    let mut others = BTreeSet::new();
    let mine = find_where(conn, stream, |data| {
        let keys = holders(data);
        if keys.iter().any(|k| subject.contains(k.as_str())) {
            return true;
        }
        if !keys.iter().any(|k| released.contains(k)) {
            others.extend(
                data["attachments"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["sha256"].as_str().map(str::to_owned)),
            );
        }
        false
    })
    .await?;
    Ok((mine, others))
}

/// The messages (`data`, parsed) of `stream` whose subject keys, as `subject_keys_of`
/// reads them from a message, include one of `subject`.
async fn find(
    conn: &mut RedisConn,
    stream: &str,
    subject: &BTreeSet<&str>,
    subject_keys_of: impl Fn(&Value) -> Vec<String>,
) -> redis::RedisResult<Vec<Value>> {
    find_where(conn, stream, |data| {
        subject_keys_of(data)
            .iter()
            .any(|k| subject.contains(k.as_str()))
    })
    .await
}

/// The messages (`data`, parsed) of `stream` that `wanted` takes.
async fn find_where(
    conn: &mut RedisConn,
    stream: &str,
    mut wanted: impl FnMut(&Value) -> bool,
) -> redis::RedisResult<Vec<Value>> {
    let mut out = Vec::new();
    let mut pages = StreamPager::new(stream, "+", PAGE);
    while let Some(page) = pages.next(conn).await? {
        for entry in &page {
            let data: Option<String> = entry.get("data");
            let Some(parsed) = data.and_then(|d| serde_json::from_str::<Value>(&d).ok()) else {
                continue;
            };
            if wanted(&parsed) {
                out.push(parsed);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_keys_are_read_from_an_object() {
        let v = serde_json::json!({"phone": "a", "email": "b", "bad": 1});
        let mut keys = keys_of(&v);
        keys.sort();
        assert_eq!(keys, ["a", "b"]);
        assert!(keys_of(&Value::Null).is_empty());
    }
}
