//! `Idempotency-Key`: a repeat gets the first answer and adds nothing, on whichever
//! instance it lands (issue 26).
//!
//! **Where a key lives.** In Redis, shared by every instance:
//! `<prefix>gateway:idempotency:<SHA-256 of the integrator's scope and key>` (the key
//! itself may be anything an integrator chose, so only its hash is a name), a hash of
//! the outbox record that holds it, the request's fingerprint and the answer given, for
//! `GATEWAY_IDEMPOTENCY_TTL_SECS`.
//!
//! **When it is claimed.** After the record is durable in the outbox and before the
//! answer ([`Claims::claim`], one script call): the key can only ever point at a record
//! that exists. A gateway killed between the two leaves a durable record whose key
//! nobody claimed; the integrator's retry through another instance claims it for its own
//! record, and the first record, forwarded later, finds the key held by an appeal with
//! the same fingerprint: it is not added — its number resolves to the first appeal (an
//! alias, `gateway:status:<number>` field `alias_of`) and `deadletter.v1` records an
//! `idempotent_duplicate` (the forwarder's script, [`crate::queue`]). One appeal.
//!
//! A claim that loses (the key is another record's) marks the losing record as sent
//! (`gateway:sent:<record id>` = `superseded`) in the same script, so it is never added
//! either; the request gets the first answer (same fingerprint) or 422 (another one).
//!
//! **Redis away.** A key can only be claimed by the instance that takes the request:
//! the outbox remembers the keys of its waiting records, so a repeat on that instance
//! is answered as before; a repeat on another instance during the outage makes a second
//! record, which the forwarder reconciles as above (an alias, not a second appeal; a
//! repeat with another body is added and recorded as an `idempotency_conflict`).
//! A claim whose answer is lost (Redis went away in the middle) may or may not have
//! been made: the request gets 503 with `Retry-After`, and its retry finds out.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::keyspace::name;
use crate::outbox::ClaimRecord;
use crate::redis_handle::{CLAIM_WAIT, Redis};

/// An `Idempotency-Key` a submission claims.
#[derive(Debug, Clone)]
pub(crate) struct IdempotencyClaim {
    /// The key, scoped to whoever sent it (e.g. `api:crm:<key>`).
    pub(crate) key: String,
    /// SHA-256 of the request: the same key with another request is refused.
    pub(crate) fingerprint: String,
}

impl IdempotencyClaim {
    /// The key's name in Redis without the prefix: a hash, never the key itself.
    pub(crate) fn name(&self) -> String {
        name::idempotency(&hex::encode(Sha256::digest(self.key.as_bytes())))
    }

    /// What the outbox record carries of this claim, with the answer to replay.
    pub(crate) fn record(&self, answer: String) -> ClaimRecord {
        ClaimRecord {
            key: self.name(),
            fingerprint: self.fingerprint.clone(),
            answer,
        }
    }
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The key is this record's now.
    Holds,
    /// The key is another record's, made of the same request: its answer.
    Replay(String),
    /// The key is another record's, made of another request.
    Reused,
    /// Redis could not be asked; nothing was claimed.
    NotReached,
    /// The claim may or may not have been made (Redis went away in the middle).
    Unknown,
}

/// Claims a key for a record, or finds who holds it. KEYS: the key, the record's dedupe
/// key. ARGV: the record id, the fingerprint, the answer, the tracking number (may be
/// empty), the key's time to live, the dedupe time to live. Returns `{'holds'}` or
/// `{'held', fingerprint, answer}`.
const CLAIM_SCRIPT: &str = r"
local held = redis.call('HMGET', KEYS[1], 'record', 'fp', 'answer')
if not held[1] then
  redis.call('HSET', KEYS[1], 'record', ARGV[1], 'fp', ARGV[2], 'answer', ARGV[3], 'tracking', ARGV[4])
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  return {'holds'}
end
if held[1] == ARGV[1] then
  return {'holds'}
end
redis.call('SET', KEYS[2], 'superseded', 'EX', ARGV[6])
return {'held', held[2], held[3]}
";

/// Claims in Redis, for the pipeline.
pub(crate) struct Claims {
    redis: Redis,
    script: redis::Script,
    ttl: Duration,
    dedupe_ttl: Duration,
}

impl Claims {
    /// Claims through `redis`, waiting [`CLAIM_WAIT`] before the request gets 503.
    pub(crate) fn new(redis: &Redis, ttl: Duration, dedupe_ttl: Duration) -> Claims {
        Claims {
            redis: redis.waiting(CLAIM_WAIT),
            script: redis::Script::new(CLAIM_SCRIPT),
            ttl,
            dedupe_ttl,
        }
    }

    /// Who holds `claim`'s key in Redis, without claiming it: the fingerprint and the
    /// answer, `None` when nobody does or Redis cannot be asked.
    pub(crate) async fn lookup(&self, claim: &ClaimRecord) -> Option<(String, String)> {
        let key = self.redis.keys().key(&claim.key);
        let found = self
            .redis
            .run(|mut conn| async move {
                redis::cmd("HMGET")
                    .arg(key)
                    .arg("fp")
                    .arg("answer")
                    .query_async::<(Option<String>, Option<String>)>(&mut conn)
                    .await
            })
            .await;
        match found {
            Ok((Some(fingerprint), Some(answer))) => Some((fingerprint, answer)),
            _ => None,
        }
    }

    /// Claims `claim` for the record `record_id` (durable in the outbox already).
    pub(crate) async fn claim(
        &self,
        record_id: &str,
        claim: &ClaimRecord,
        tracking: Option<&str>,
    ) -> Verdict {
        let Ok(mut conn) = self.redis.conn().await else {
            return Verdict::NotReached;
        };
        let keys = self.redis.keys();
        let mut invocation = self.script.key(keys.key(&claim.key));
        invocation
            .key(keys.sent(record_id))
            .arg(record_id)
            .arg(&claim.fingerprint)
            .arg(&claim.answer)
            .arg(tracking.unwrap_or(""))
            .arg(self.ttl.as_secs().max(1))
            .arg(self.dedupe_ttl.as_secs().max(1));
        let answer = tokio::time::timeout(
            CLAIM_WAIT,
            invocation.invoke_async::<Vec<String>>(&mut conn),
        )
        .await;
        match answer {
            Ok(Ok(found)) => match found.as_slice() {
                [holds] if holds == "holds" => Verdict::Holds,
                [held, fingerprint, answer] if held == "held" => {
                    if *fingerprint == claim.fingerprint {
                        Verdict::Replay(answer.clone())
                    } else {
                        Verdict::Reused
                    }
                }
                _ => Verdict::Unknown,
            },
            Ok(Err(e)) => {
                tracing::warn!(error = %crate::redis_target::describe(&e), "idempotency claim failed");
                self.redis.reset().await;
                if e.is_connection_refusal() {
                    Verdict::NotReached
                } else {
                    Verdict::Unknown
                }
            }
            Err(_) => {
                tracing::warn!("idempotency claim timed out");
                self.redis.reset().await;
                Verdict::Unknown
            }
        }
    }
}
