//! What one outbox record holds — the messages of one accepted request and what the
//! forwarder sets in Redis with them — and its binary form in the log.
//!
//! **Form.** A record is `postcard` (compact, no field names: each message's JSON is
//! stored once, as bytes, not escaped inside another JSON) behind a version byte, so a
//! later gateway can still read what an earlier one spooled. Postcard has no field
//! names: a field is added only at the end, and never skipped when serializing.

use serde::{Deserialize, Serialize};

/// The version byte in front of every record of this form.
const FORM_V1: u8 = 1;

/// The link of a consent-ledger entry to the one before it (see [`crate::consent`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ChainLink {
    /// The chain: one per run of a gateway process, a ULID.
    pub(crate) chain: String,
    pub(crate) prev_hash: String,
    pub(crate) hash: String,
}

/// One stream entry waiting to be forwarded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Envelope {
    /// Stream name without the deployment's prefix, e.g. `appeals.v1`.
    pub(crate) stream: String,
    /// The message's ULID.
    pub(crate) id: String,
    /// The message type, e.g. `appeal`.
    #[serde(rename = "type")]
    pub(crate) kind: String,
    /// The message, UTF-8 JSON.
    pub(crate) data: String,
    /// Set by the outbox on ledger entries.
    #[serde(default)]
    pub(crate) link: Option<ChainLink>,
}

impl Envelope {
    /// A message for `stream`, serialized now (in the request's task, not the writer's).
    pub(crate) fn new<T: Serialize>(
        stream: crate::stream::Stream,
        id: &str,
        kind: &str,
        message: &T,
    ) -> Result<Envelope, serde_json::Error> {
        Ok(Envelope {
            stream: stream.name().to_owned(),
            id: id.to_owned(),
            kind: kind.to_owned(),
            data: serde_json::to_string(message)?,
            link: None,
        })
    }
}

/// What a mark does to its Redis key when the record is forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum MarkOp {
    /// `HSET key field value`: a flag or a fact another instance looks up.
    Set,
    /// `HINCRBY key field value`: a counter (the analytics counts, [`crate::aggregates`]).
    Count,
    /// `HSETNX key field value`, and a different value already there is reported: the
    /// tracking number's appeal, which must never be taken over by another appeal.
    First,
    /// `ZADD key value field`: `field` is the member, `value` its score (an index by
    /// time, such as the Open311 requests of every instance).
    Index,
}

/// Something set in Redis atomically with a record's messages. With `ttl_secs` the key
/// then lives that long (issue 16: every store has an end).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Mark {
    /// The key without the deployment prefix.
    pub(crate) key: String,
    pub(crate) op: MarkOp,
    pub(crate) field: String,
    pub(crate) value: String,
    /// `Some`: the key expires this many seconds after this write.
    pub(crate) ttl_secs: Option<u64>,
}

impl Mark {
    /// `field` of the hash `key` set to `value`.
    pub(crate) fn set(
        key: String,
        field: &str,
        value: &str,
        ttl: Option<std::time::Duration>,
    ) -> Mark {
        Mark {
            key,
            op: MarkOp::Set,
            field: field.to_owned(),
            value: value.to_owned(),
            ttl_secs: ttl.map(|t| t.as_secs().max(1)),
        }
    }

    /// A counter mark: `field` of `key` goes up by one, the hash lives `ttl` more.
    pub(crate) fn count(key: &str, field: &str, ttl: std::time::Duration) -> Mark {
        Mark {
            key: key.to_owned(),
            op: MarkOp::Count,
            field: field.to_owned(),
            value: "1".to_owned(),
            ttl_secs: Some(ttl.as_secs().max(1)),
        }
    }
}

/// The `Idempotency-Key` a record answers, as the forwarder needs it to settle the key
/// in Redis (see [`crate::idempotency`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ClaimRecord {
    /// The key's Redis name without the prefix (`gateway:idempotency:<hash>`): a hash of
    /// the integrator's scope and key, never the key itself.
    pub(crate) key: String,
    /// SHA-256 of the request: the same key with another request is refused.
    pub(crate) fingerprint: String,
    /// The answer given, JSON, replayed for a repeat.
    pub(crate) answer: String,
}

/// The messages of one accepted request (an appeal with its consent and statistics, or
/// a subject request): one outbox record, forwarded to Redis all at once or not at all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Bundle {
    /// The id of the request's main message; the forwarder's dedupe key is made of it.
    pub(crate) id: String,
    pub(crate) messages: Vec<Envelope>,
    /// When the gateway accepted it (Unix microseconds), for the forward-latency metric
    /// and the oldest-record gauge.
    pub(crate) accepted_at_us: u64,
    pub(crate) marks: Vec<Mark>,
    /// The appeal's tracking number, if the record is an appeal: this instance knows it
    /// while the record waits (a lookup during a Redis outage).
    pub(crate) tracking: Option<String>,
    /// The `Idempotency-Key` the record answers, if any.
    pub(crate) claim: Option<ClaimRecord>,
}

impl Bundle {
    /// When the gateway accepted it, in Unix milliseconds.
    pub(crate) fn accepted_at_ms(&self) -> u64 {
        self.accepted_at_us / 1000
    }
}

/// A record that cannot be read back.
#[derive(Debug, thiserror::Error)]
#[error("unreadable record: {0}")]
pub(crate) struct Unreadable(pub(crate) String);

/// Appends the record's form to `out`.
pub(crate) fn encode(seq: u64, bundle: &Bundle, out: &mut Vec<u8>) -> Result<(), Unreadable> {
    out.push(FORM_V1);
    let taken = std::mem::take(out);
    *out = postcard::to_extend(&(seq, bundle), taken).map_err(|e| Unreadable(e.to_string()))?;
    Ok(())
}

/// The sequence number and bundle of a record's form.
pub(crate) fn decode(bytes: &[u8]) -> Result<(u64, Bundle), Unreadable> {
    match bytes.split_first() {
        Some((&FORM_V1, rest)) => postcard::from_bytes(rest).map_err(|e| Unreadable(e.to_string())),
        Some((other, _)) => Err(Unreadable(format!("form {other}"))),
        None => Err(Unreadable("empty".to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_as_written_with_every_kind_of_mark() {
        let bundle = Bundle {
            id: "01APPEAL".into(),
            messages: vec![Envelope {
                stream: "consent.v1".into(),
                id: "01CONSENT".into(),
                kind: "consent_given".into(),
                data: "{\"a\":\"Яма\"}".into(),
                link: Some(ChainLink {
                    chain: "01CHAIN".into(),
                    prev_hash: "0".repeat(64),
                    hash: "f".repeat(64),
                }),
            }],
            accepted_at_us: 1_795_000_000_000_000,
            marks: vec![
                Mark::set("gateway:subject:k".into(), "withdrawn", "1", None),
                Mark::count(
                    "gateway:analytics:day:2026-12-05",
                    "all",
                    std::time::Duration::from_secs(60),
                ),
                Mark {
                    key: "gateway:status:OA-1".into(),
                    op: MarkOp::First,
                    field: "appeal_id".into(),
                    value: "01APPEAL".into(),
                    ttl_secs: Some(400 * 86_400),
                },
                Mark {
                    key: "gateway:open311:requests".into(),
                    op: MarkOp::Index,
                    field: "OA-1".into(),
                    value: "1795000000000".into(),
                    ttl_secs: None,
                },
            ],
            tracking: Some("OA-1".into()),
            claim: Some(ClaimRecord {
                key: "gateway:idempotency:ab".into(),
                fingerprint: "cd".into(),
                answer: "{}".into(),
            }),
        };
        let mut bytes = Vec::new();
        encode(7, &bundle, &mut bytes).expect("encode");
        let (seq, back) = decode(&bytes).expect("decode");
        assert_eq!((seq, back), (7, bundle));
    }

    #[test]
    fn an_unknown_form_is_refused_not_misread() {
        assert!(decode(&[9, 1, 2, 3]).is_err());
        assert!(decode(&[]).is_err());
    }
}
