//! What the outbox handle and its writer thread share: the segments as known, the
//! in-memory ring and claims, the ledger, the work sent to the writer, the error, and
//! the limits of each ([`super`] tells the design).

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, mpsc};
use std::time::{Duration, Instant};

use super::record::Bundle;
use super::segment::{self, Ledger};

/// Most appends written with one `fdatasync`.
pub(crate) const MAX_BATCH: usize = 512;
/// A segment is sealed, and a new one started, once it holds this many bytes.
pub(super) const SEGMENT_BYTES: u64 = 8 << 20;
/// The records last written kept in memory for the forwarder.
pub(super) const RING_BYTES: usize = 16 << 20;
/// One offset in the sparse index of a segment every this many records.
pub(super) const SPARSE_EVERY: u64 = 64;

/// A storage failure. It names the operation, never a record's content.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OutboxError {
    #[error("outbox storage: {0}")]
    Storage(String),
    #[error("outbox writer has stopped")]
    Stopped,
    /// Another process holds the outbox (a running gateway, or `outbox drain`).
    #[error("outbox is open in another process")]
    Locked,
}

pub(super) fn io(what: &'static str) -> impl Fn(std::io::Error) -> OutboxError {
    move |e| OutboxError::Storage(format!("{what}: {e}"))
}

/// What became of an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Appended {
    /// Durable on disk under this sequence number.
    Stored(u64),
    /// Nothing written: the record's `Idempotency-Key` is held by a record of this
    /// instance not yet forwarded (`seq`). `settled` is false while that record's own
    /// claim in Redis is still under way.
    Held { seq: u64, settled: bool },
}

/// How a record's claim of its `Idempotency-Key` ended (see [`crate::idempotency`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settled {
    /// The record holds the key: in Redis, or only here while Redis is away.
    Holds,
    /// Another record holds it; this one is never added (Redis knows it too).
    Superseded,
    /// Nobody knows (Redis went away in the middle of the claim): the forwarder settles
    /// it in Redis; until then a repeat here is told to come again.
    Unknown,
}

/// Where a waiting record's claim stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ClaimState {
    /// Being claimed in Redis: the forwarder waits for it (at most [`CLAIM_PATIENCE`]),
    /// so that a record whose claim will lose is never sent before it lost.
    InFlight,
    Holds,
    Unknown,
}

/// How long the forwarder waits for a record's claim to settle before it sends the
/// record anyway (its own script settles the key then): a claim whose request was
/// dropped halfway must not hold the whole outbox back.
pub(super) const CLAIM_PATIENCE: Duration = Duration::from_secs(10);

/// What one compaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Compacted {
    /// Bytes of every segment before and after.
    pub(crate) bytes_before: u64,
    pub(crate) bytes_after: u64,
    /// How long appends waited.
    pub(crate) pause: Duration,
}

/// A waiting record's claim of an `Idempotency-Key`, in memory.
#[derive(Debug, Clone, Copy)]
pub(super) struct LocalClaim {
    pub(super) seq: u64,
    /// The slot of the record's tracking number (0: none), for an erasure.
    pub(super) tracking: u64,
    pub(super) state: ClaimState,
    pub(super) since: Instant,
}

/// A segment as the outbox knows it.
#[derive(Debug)]
pub(super) struct Segment {
    pub(super) first_seq: u64,
    pub(super) path: PathBuf,
    pub(super) bytes: u64,
    /// (sequence number, offset) of one record in [`SPARSE_EVERY`]: where a read of a
    /// given record starts looking.
    pub(super) sparse: Vec<(u64, u64)>,
}

impl Segment {
    /// Where to start reading for `seq`: the last indexed record at or before it.
    pub(super) fn offset_for(&self, seq: u64) -> u64 {
        match self.sparse.partition_point(|&(s, _)| s <= seq) {
            0 => segment::HEADER_LEN,
            i => self.sparse[i - 1].1,
        }
    }
}

#[derive(Default)]
pub(super) struct State {
    /// Oldest first; the last one is being written.
    pub(super) segments: Vec<Segment>,
    pub(super) ring: VecDeque<(u64, Arc<Bundle>)>,
    pub(super) ring_bytes: usize,
    /// Claims of waiting records, by the slot of their key ([`claim_slot`]).
    pub(super) claims: HashMap<u64, LocalClaim>,
    /// The waiting appeals' tracking numbers with the day each was received, packed
    /// ([`waiting_entry`]), in the order they were written: eight bytes an appeal,
    /// 8 MiB for a million waiting (a map was some 50). Read only when Redis cannot
    /// tell a number (a scan: milliseconds for a million); each leaves from the front
    /// when forwarded.
    pub(super) tracking: VecDeque<u64>,
}

pub(super) struct Shared {
    pub(super) dir: PathBuf,
    /// The next sequence number the writer gives.
    pub(super) next_seq: AtomicU64,
    /// Every record below this one is synced to disk (readers never go past it).
    pub(super) durable: AtomicU64,
    /// Every record below this one is on Redis.
    pub(super) forwarded: AtomicU64,
    pub(super) state: Mutex<State>,
    pub(super) notify: tokio::sync::Notify,
    pub(super) stopped: AtomicBool,
    pub(super) recovered: AtomicBool,
    pub(super) ledger: Ledger,
    /// Held (locked) while the outbox is open: one process at a time.
    pub(super) _lock: File,
}

impl Shared {
    pub(super) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub(super) struct AppendJob {
    pub(super) bundle: Bundle,
    pub(super) reply: tokio::sync::oneshot::Sender<Result<Appended, OutboxError>>,
}

/// What the writer thread is asked to do.
pub(super) enum Work {
    Append(AppendJob),
    Compact(tokio::sync::oneshot::Sender<Result<Compacted, OutboxError>>),
    Close(mpsc::Sender<()>),
}

/// The slot of an idempotency key's Redis name in the in-memory map: its hash's last
/// 16 hex digits (the name ends in a SHA-256), or FNV-1a of the whole name.
pub(super) fn claim_slot(key: &str) -> u64 {
    key.get(key.len().saturating_sub(16)..)
        .and_then(|tail| u64::from_str_radix(tail, 16).ok())
        .unwrap_or_else(|| fnv(key))
}

/// The slot of a tracking number among the claims (0: none), for an erasure.
pub(super) fn tracking_slot(number: &str) -> u64 {
    fnv(number).max(1)
}

/// A waiting appeal's tracking number (its 40-bit value) and the day it was received
/// (days since 1970, Almaty time) in one `u64`.
pub(super) fn waiting_entry(number: &str, accepted_at_us: u64) -> Option<u64> {
    let value = crate::tracking::TrackingNumber::parse(number)?.value();
    let day = crate::clock::almaty_day(accepted_at_us / 1_000_000);
    Some((value << 24) | (day & 0xFF_FFFF))
}

/// The tracking value of a [`waiting_entry`].
pub(super) fn entry_value(entry: u64) -> u64 {
    entry >> 24
}

/// FNV-1a, 64 bits: a map slot, not a secret.
pub(super) fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// An estimate of a record's memory, for the ring's bound.
pub(super) fn weight(bundle: &Bundle) -> usize {
    256 + bundle
        .messages
        .iter()
        .map(|m| m.data.len() + m.id.len() + 96)
        .sum::<usize>()
        + bundle.marks.len() * 96
}
