//! The durable outbox: an accepted request is on disk before anyone is told so, and
//! stays there until the forwarder ([`crate::queue`]) has put it on Redis.
//!
//! **Shaped like what it is: an append-only queue.** Records are appended to segment
//! files and read back in the same order (the model is Vector's disk buffer v2, or a
//! Kafka log: [`segment`] has the file format). One writer thread owns the end of the
//! log: it takes every append that is waiting (up to [`MAX_BATCH`]), writes them with
//! one `write` and makes them durable with one `fdatasync` (group commit); only then
//! does each submitter get its answer. A small ledger (`forwarded`) says how far the
//! forwarder got; a segment is deleted as a whole once every record in it is forwarded.
//! Nothing in the log is ever changed in place, so a crash (even `kill -9` or a power
//! cut) leaves whole records followed at most by one torn frame, which the next start
//! cuts off: a start reads only the last segment, whatever the backlog (issue 27).
//!
//! **What it does not hold.** Idempotency answers, the tracking numbers' appeals and
//! the Open311 index live in Redis, shared by every instance (issue 26); the outbox
//! keeps, in memory, only what its own waiting records claim — their `Idempotency-Key`
//! and tracking number — so that a repeat or a lookup during a Redis outage is still
//! answered by the instance that holds the record. Those maps are rebuilt after a
//! start by a scan in the background ([`Outbox::recovered`]).
//!
//! **The consent ledger's chain.** Consent entries are hash-chained in the order they
//! are written (see [`crate::consent`]); each run of the process starts a chain of its
//! own (a new ULID, from the genesis hash), so two processes never continue one chain,
//! even from a copied data directory.
//!
//! **Memory.** The records last written stay in memory (at most [`RING_BYTES`]) so that
//! the forwarder, which is normally right behind the writer, sends them without reading
//! the disk; a backlog is read from the segments. Memory stays flat through an outage.
//!
//! **Freed data.** Forwarded records leave the disk with their segment. [`Outbox::compact`]
//! (each retention round and each erasure) seals the segment being written and
//! rewrites the first one with its waiting records only, so that no forwarded record
//! stays in any file of the data directory.

mod legacy;
pub(crate) mod record;
mod segment;

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, mpsc};
use std::time::{Duration, Instant};

pub(crate) use record::{Bundle, ChainLink, ClaimRecord, Envelope, Mark, MarkOp};
use segment::{Ledger, Next, Reader};

use crate::consent::{GENESIS_HASH, chain_hash};

/// Most appends written with one `fdatasync`.
pub(crate) const MAX_BATCH: usize = 512;
/// A segment is sealed, and a new one started, once it holds this many bytes.
const SEGMENT_BYTES: u64 = 8 << 20;
/// The records last written kept in memory for the forwarder.
const RING_BYTES: usize = 16 << 20;
/// One offset in the sparse index of a segment every this many records.
const SPARSE_EVERY: u64 = 64;

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

fn io(what: &'static str) -> impl Fn(std::io::Error) -> OutboxError {
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
enum ClaimState {
    /// Being claimed in Redis: the forwarder waits for it (at most [`CLAIM_PATIENCE`]),
    /// so that a record whose claim will lose is never sent before it lost.
    InFlight,
    Holds,
    Unknown,
}

/// How long the forwarder waits for a record's claim to settle before it sends the
/// record anyway (its own script settles the key then): a claim whose request was
/// dropped halfway must not hold the whole outbox back.
const CLAIM_PATIENCE: Duration = Duration::from_secs(10);

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
struct LocalClaim {
    seq: u64,
    /// The slot of the record's tracking number (0: none), for an erasure.
    tracking: u64,
    state: ClaimState,
    since: Instant,
}

/// A segment as the outbox knows it.
#[derive(Debug)]
struct Segment {
    first_seq: u64,
    path: PathBuf,
    bytes: u64,
    /// (sequence number, offset) of one record in [`SPARSE_EVERY`]: where a read of a
    /// given record starts looking.
    sparse: Vec<(u64, u64)>,
}

impl Segment {
    /// Where to start reading for `seq`: the last indexed record at or before it.
    fn offset_for(&self, seq: u64) -> u64 {
        match self.sparse.partition_point(|&(s, _)| s <= seq) {
            0 => segment::HEADER_LEN,
            i => self.sparse[i - 1].1,
        }
    }
}

#[derive(Default)]
struct State {
    /// Oldest first; the last one is being written.
    segments: Vec<Segment>,
    ring: VecDeque<(u64, Arc<Bundle>)>,
    ring_bytes: usize,
    /// Claims of waiting records, by the slot of their key ([`claim_slot`]).
    claims: HashMap<u64, LocalClaim>,
    /// The waiting appeals' tracking numbers with the day each was received, packed
    /// ([`waiting_entry`]), in the order they were written: eight bytes an appeal,
    /// 8 MiB for a million waiting (a map was some 50). Read only when Redis cannot
    /// tell a number (a scan: milliseconds for a million); each leaves from the front
    /// when forwarded.
    tracking: VecDeque<u64>,
}

struct Shared {
    dir: PathBuf,
    /// The next sequence number the writer gives.
    next_seq: AtomicU64,
    /// Every record below this one is synced to disk (readers never go past it).
    durable: AtomicU64,
    /// Every record below this one is on Redis.
    forwarded: AtomicU64,
    state: Mutex<State>,
    notify: tokio::sync::Notify,
    stopped: AtomicBool,
    recovered: AtomicBool,
    ledger: Ledger,
    /// Held (locked) while the outbox is open: one process at a time.
    _lock: File,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct AppendJob {
    bundle: Bundle,
    reply: tokio::sync::oneshot::Sender<Result<Appended, OutboxError>>,
}

/// What the writer thread is asked to do.
enum Work {
    Append(AppendJob),
    Compact(tokio::sync::oneshot::Sender<Result<Compacted, OutboxError>>),
    Close(mpsc::Sender<()>),
}

/// The outbox handle: cheap to clone, shared by the pipeline and the forwarder.
#[derive(Clone)]
pub(crate) struct Outbox {
    shared: Arc<Shared>,
    jobs: mpsc::Sender<Work>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Outbox(..)")
    }
}

/// Where a reader of the log is, so that a sequential reader (the forwarder) does not
/// look its place up again for every batch.
#[derive(Default)]
pub(crate) struct Cursor {
    at: Option<(u64, u64, Reader)>,
}

/// The slot of an idempotency key's Redis name in the in-memory map: its hash's last
/// 16 hex digits (the name ends in a SHA-256), or FNV-1a of the whole name.
fn claim_slot(key: &str) -> u64 {
    key.get(key.len().saturating_sub(16)..)
        .and_then(|tail| u64::from_str_radix(tail, 16).ok())
        .unwrap_or_else(|| fnv(key))
}

/// The slot of a tracking number among the claims (0: none), for an erasure.
fn tracking_slot(number: &str) -> u64 {
    fnv(number).max(1)
}

/// A waiting appeal's tracking number (its 40-bit value) and the day it was received
/// (days since 1970, Almaty time) in one `u64`.
fn waiting_entry(number: &str, accepted_at_us: u64) -> Option<u64> {
    let value = crate::tracking::TrackingNumber::parse(number)?.value();
    let day = crate::clock::almaty_day(accepted_at_us / 1_000_000);
    Some((value << 24) | (day & 0xFF_FFFF))
}

/// The tracking value of a [`waiting_entry`].
fn entry_value(entry: u64) -> u64 {
    entry >> 24
}

/// FNV-1a, 64 bits: a map slot, not a secret.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// An estimate of a record's memory, for the ring's bound.
fn weight(bundle: &Bundle) -> usize {
    256 + bundle
        .messages
        .iter()
        .map(|m| m.data.len() + m.id.len() + 96)
        .sum::<usize>()
        + bundle.marks.len() * 96
}

impl Outbox {
    /// Opens (or creates) the outbox in `<data_dir>/outbox/` and starts its writer
    /// thread. Reads only the last segment (to cut a torn end); the maps of what the
    /// waiting records claim are rebuilt in the background. An `outbox.redb` of an
    /// earlier gateway is imported first, once.
    pub(crate) fn open(data_dir: &Path) -> Result<Outbox, OutboxError> {
        let dir = data_dir.join("outbox");
        std::fs::create_dir_all(&dir).map_err(io("create the outbox directory"))?;
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("LOCK"))
            .map_err(io("open the lock"))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(OutboxError::Locked),
            Err(std::fs::TryLockError::Error(e)) => return Err(io("lock")(e)),
        }
        // A rewrite a crash interrupted left a copy: the original is still whole.
        for entry in std::fs::read_dir(&dir).map_err(io("list"))?.flatten() {
            if entry.file_name().to_string_lossy().ends_with(".tmp") {
                std::fs::remove_file(entry.path()).map_err(io("remove a copy"))?;
            }
        }
        let (ledger, mut forwarded) = Ledger::open(&dir).map_err(io("open the ledger"))?;
        let mut files = segment::list(&dir).map_err(io("list"))?;
        let (mut active, next_seq) = match files.last() {
            None => {
                let first = forwarded.max(1);
                let file = segment::create(&dir, first).map_err(io("create a segment"))?;
                files.push(segment::SegmentFile {
                    first_seq: first,
                    path: segment::path_of(&dir, first),
                });
                (file, first)
            }
            Some(last) => {
                let tail = segment::recover(&last.path).map_err(io("read the last segment"))?;
                if tail.cut > 0 {
                    tracing::warn!(
                        bytes = tail.cut,
                        "the outbox's last segment ended in a torn record (a crash while it was written, never answered): cut off"
                    );
                }
                let next = tail.last_seq.map_or(last.first_seq, |s| s + 1);
                let file =
                    segment::open_for_append(&last.path).map_err(io("open the last segment"))?;
                (file, next)
            }
        };
        // Records below the first segment were forwarded (their segments deleted): a
        // torn ledger reads as 0.
        forwarded = forwarded.max(files.first().map_or(0, |f| f.first_seq));
        if forwarded > next_seq {
            // A ledger ahead of the log: the log lost its end (a disk that lied about a
            // sync). Send everything there is.
            tracing::error!(
                "the outbox's ledger is ahead of its log; forwarding every record kept"
            );
            forwarded = files.first().map_or(next_seq, |f| f.first_seq);
        }
        let mut segments: Vec<Segment> = Vec::with_capacity(files.len());
        for file in files {
            let bytes = std::fs::metadata(&file.path).map(|m| m.len()).unwrap_or(0);
            segments.push(Segment {
                first_seq: file.first_seq,
                path: file.path,
                bytes,
                sparse: Vec::new(),
            });
        }
        // Sealed segments whose every record is forwarded.
        while segments.len() > 1 && segments[1].first_seq <= forwarded {
            let gone = segments.remove(0);
            std::fs::remove_file(&gone.path).map_err(io("delete a forwarded segment"))?;
        }
        let shared = Arc::new(Shared {
            dir: dir.clone(),
            next_seq: AtomicU64::new(next_seq),
            durable: AtomicU64::new(next_seq),
            forwarded: AtomicU64::new(forwarded),
            state: Mutex::new(State {
                segments,
                ..State::default()
            }),
            notify: tokio::sync::Notify::new(),
            stopped: AtomicBool::new(false),
            recovered: AtomicBool::new(false),
            ledger,
            _lock: lock,
        });
        legacy::import(data_dir, &shared, &mut active)?;
        let (jobs, rx) = mpsc::channel();
        let writer = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("outbox-writer".into())
            .spawn(move || Writer::new(writer, active).run(&rx))
            .map_err(io("start the writer"))?;
        let scanning = Arc::clone(&shared);
        let until = shared.next_seq.load(Ordering::SeqCst);
        std::thread::Builder::new()
            .name("outbox-scan".into())
            .spawn(move || {
                if let Err(e) = scan_waiting(&scanning, until) {
                    tracing::error!(error = %e, "outbox: reading the waiting records failed");
                }
                scanning.recovered.store(true, Ordering::SeqCst);
            })
            .map_err(io("start the scan"))?;
        Ok(Outbox { shared, jobs })
    }

    /// Writes a record durably, unless its `Idempotency-Key` is held by a waiting record
    /// of this instance. Returns once the batch holding it is synced to disk.
    pub(crate) async fn append(&self, bundle: Bundle) -> Result<Appended, OutboxError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Work::Append(AppendJob { bundle, reply }))
            .map_err(|_| OutboxError::Stopped)?;
        answer.await.map_err(|_| OutboxError::Stopped)?
    }

    /// How the claim of the record `seq` on `key` ended (see [`Settled`]).
    pub(crate) fn settle(&self, key: &str, seq: u64, settled: Settled) {
        let mut state = self.shared.state();
        let slot = claim_slot(key);
        match state.claims.get_mut(&slot) {
            Some(claim) if claim.seq == seq => match settled {
                Settled::Holds => claim.state = ClaimState::Holds,
                Settled::Unknown => claim.state = ClaimState::Unknown,
                Settled::Superseded => {
                    state.claims.remove(&slot);
                }
            },
            _ => {}
        }
        drop(state);
        // The forwarder may be waiting for this claim.
        self.shared.notify.notify_one();
    }

    /// How many records from the start of `batch` may be sent now: up to the first whose
    /// `Idempotency-Key` is still being claimed (for at most [`CLAIM_PATIENCE`]).
    pub(crate) fn sendable(&self, batch: &[(u64, Arc<Bundle>)]) -> usize {
        let state = self.shared.state();
        batch
            .iter()
            .position(|(seq, bundle)| {
                bundle.claim.as_ref().is_some_and(|claim| {
                    state.claims.get(&claim_slot(&claim.key)).is_some_and(|c| {
                        c.seq == *seq
                            && c.state == ClaimState::InFlight
                            && c.since.elapsed() < CLAIM_PATIENCE
                    })
                })
            })
            .unwrap_or(batch.len())
    }

    /// Records waiting to be forwarded.
    pub(crate) fn depth(&self) -> u64 {
        self.shared
            .durable
            .load(Ordering::SeqCst)
            .saturating_sub(self.shared.forwarded.load(Ordering::SeqCst))
    }

    /// The first record not yet forwarded.
    pub(crate) fn forwarded_through(&self) -> u64 {
        self.shared.forwarded.load(Ordering::SeqCst)
    }

    /// Whether the maps of the waiting records' claims and tracking numbers are whole
    /// (false for a while after a start with a backlog).
    #[cfg(test)]
    pub(crate) fn recovered(&self) -> bool {
        self.shared.recovered.load(Ordering::SeqCst)
    }

    /// Waits until a record has been stored (or returns at once if one was stored since
    /// the last wait).
    pub(crate) async fn stored(&self) {
        self.shared.notify.notified().await;
    }

    /// Up to `limit` durable records from `from` on, in order: from memory when they
    /// are recent, else from disk (blocking: call it off the async executor). Empty
    /// only when no record from `from` on is durable yet.
    pub(crate) fn read(
        &self,
        from: u64,
        limit: usize,
        cursor: &mut Cursor,
    ) -> Result<Vec<(u64, Arc<Bundle>)>, OutboxError> {
        let durable = self.shared.durable.load(Ordering::SeqCst);
        let mut out = Vec::new();
        let mut from = from;
        while from < durable && out.len() < limit {
            let (path, first_seq, offset) = {
                let state = self.shared.state();
                if let Some(&(front, _)) = state.ring.front()
                    && front <= from
                {
                    let skip = (from - front) as usize;
                    out.extend(
                        state
                            .ring
                            .iter()
                            .skip(skip)
                            .take(limit - out.len())
                            .map(|(s, b)| (*s, Arc::clone(b))),
                    );
                    return Ok(out);
                }
                let i = state
                    .segments
                    .partition_point(|s| s.first_seq <= from)
                    .saturating_sub(1);
                let Some(segment) = state.segments.get(i) else {
                    return Ok(out);
                };
                (
                    segment.path.clone(),
                    segment.first_seq,
                    segment.offset_for(from),
                )
            };
            let reuse =
                matches!(&cursor.at, Some((next, seg, _)) if *next == from && *seg == first_seq);
            if !reuse {
                let reader = Reader::open(&path, offset).map_err(io("open a segment"))?;
                cursor.at = Some((from, first_seq, reader));
            }
            let Some((next, _, reader)) = cursor.at.as_mut() else {
                return Ok(out);
            };
            let before = out.len();
            let mut ended = false;
            while out.len() < limit {
                match reader.next_record().map_err(io("read a segment"))? {
                    Next::Record(_, bytes) => {
                        let (seq, bundle) = record::decode(bytes)
                            .map_err(|e| OutboxError::Storage(e.to_string()))?;
                        if seq >= durable {
                            ended = true;
                            break;
                        }
                        *next = seq + 1;
                        if seq >= from {
                            out.push((seq, Arc::new(bundle)));
                        }
                    }
                    Next::End => {
                        ended = true;
                        break;
                    }
                }
            }
            from = out.last().map_or(from, |(s, _)| s + 1);
            if ended {
                // The end of this segment, or of what is synced: the next read starts
                // afresh (at the next segment, or here once more is synced).
                cursor.at = None;
                if out.len() == before {
                    // Nothing more here: go on only if a later segment starts at `from`.
                    let later = self
                        .shared
                        .state()
                        .segments
                        .iter()
                        .any(|s| s.first_seq > first_seq && s.first_seq <= from);
                    if !later {
                        return Ok(out);
                    }
                }
            }
        }
        Ok(out)
    }

    /// The records from `from` on if they are all still in memory (the forwarder right
    /// behind the writer): `Some` of them (empty when none is durable yet), `None` when
    /// they must be read from disk ([`Outbox::read`]).
    pub(crate) fn read_recent(&self, from: u64, limit: usize) -> Option<Vec<(u64, Arc<Bundle>)>> {
        let durable = self.shared.durable.load(Ordering::SeqCst);
        if from >= durable {
            return Some(Vec::new());
        }
        let state = self.shared.state();
        let &(front, _) = state.ring.front()?;
        if front > from {
            return None;
        }
        Some(
            state
                .ring
                .iter()
                .skip((from - front) as usize)
                .take(limit)
                .map(|(s, b)| (*s, Arc::clone(b)))
                .collect(),
        )
    }

    /// One record, if it is still in the log (blocking).
    pub(crate) fn record(&self, seq: u64) -> Result<Option<Arc<Bundle>>, OutboxError> {
        let found = self.read(seq, 1, &mut Cursor::default())?;
        Ok(found.into_iter().find(|(s, _)| *s == seq).map(|(_, b)| b))
    }

    /// When the oldest waiting record was accepted (Unix milliseconds), for the
    /// `gateway_outbox_oldest_age_seconds` gauge; `None` when nothing waits.
    pub(crate) fn oldest_accepted_at_ms(&self) -> Result<Option<u64>, OutboxError> {
        let from = self.forwarded_through();
        Ok(self
            .read(from, 1, &mut Cursor::default())?
            .first()
            .map(|(_, b)| b.accepted_at_ms()))
    }

    /// Marks `batch` (the records from the first unforwarded one on, in order) as
    /// forwarded: forgets what they claimed, moves the ledger, deletes the segments
    /// whose records are all forwarded now.
    pub(crate) fn ack(&self, batch: &[(u64, Arc<Bundle>)]) -> Result<(), OutboxError> {
        let Some(&(last, _)) = batch.last() else {
            return Ok(());
        };
        let through = last + 1;
        let mut gone = Vec::new();
        {
            let mut state = self.shared.state();
            for (seq, bundle) in batch {
                if let Some(claim) = &bundle.claim {
                    let slot = claim_slot(&claim.key);
                    if state.claims.get(&slot).is_some_and(|c| c.seq == *seq) {
                        state.claims.remove(&slot);
                    }
                }
                if let Some(entry) = bundle
                    .tracking
                    .as_deref()
                    .and_then(|n| waiting_entry(n, bundle.accepted_at_us))
                {
                    // In order, so at the front; but for a start's scan that raced.
                    if state.tracking.front() == Some(&entry) {
                        state.tracking.pop_front();
                    } else if let Some(at) = state.tracking.iter().position(|e| *e == entry) {
                        state.tracking.remove(at);
                    }
                }
            }
            while let Some(&(seq, _)) = state.ring.front()
                && seq < through
            {
                if let Some((_, b)) = state.ring.pop_front() {
                    state.ring_bytes = state.ring_bytes.saturating_sub(weight(&b));
                }
            }
            if self.shared.forwarded.fetch_max(through, Ordering::SeqCst) >= through {
                return Ok(());
            }
            while state.segments.len() > 1 && state.segments[1].first_seq <= through {
                gone.push(state.segments.remove(0).path);
            }
        }
        self.shared
            .ledger
            .write(through)
            .map_err(io("write the ledger"))?;
        for path in gone {
            std::fs::remove_file(&path).map_err(io("delete a forwarded segment"))?;
        }
        Ok(())
    }

    /// Makes the ledger durable: `outbox drain` ends with it, and so does a clean stop.
    pub(crate) fn sync(&self) -> Result<(), OutboxError> {
        self.shared.ledger.sync().map_err(io("sync the ledger"))
    }

    /// Leaves no forwarded record in any file: seals the segment being written if it
    /// holds forwarded records, deletes the segments all forwarded, and rewrites the
    /// first one with its waiting records only (a copy synced, renamed over, the
    /// directory synced). Appends wait meanwhile ([`Compacted::pause`]); a crash at any
    /// point loses nothing (until the rename the old segment is whole; after it, the
    /// copy is; the next start deletes what is left over).
    pub(crate) async fn compact(&self) -> Result<Compacted, OutboxError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Work::Compact(reply))
            .map_err(|_| OutboxError::Stopped)?;
        answer.await.map_err(|_| OutboxError::Stopped)?
    }

    /// Forgets the claims of waiting records that carry one of `tracking_numbers` (a
    /// data subject's erasure: a repeat of such a key is then taken as a new request);
    /// returns how many. Redis's own answers are forgotten by the erasure there.
    pub(crate) fn forget_answers(&self, tracking_numbers: &[String]) -> u64 {
        let slots: std::collections::HashSet<u64> =
            tracking_numbers.iter().map(|t| tracking_slot(t)).collect();
        let mut state = self.shared.state();
        let before = state.claims.len();
        state.claims.retain(|_, c| !slots.contains(&c.tracking));
        (before - state.claims.len()) as u64
    }

    /// The day (Almaty) an appeal of this instance still waiting to be forwarded was
    /// received, if `number` is one's: what a lookup shows while Redis cannot tell.
    pub(crate) fn waiting_since(
        &self,
        number: &crate::tracking::TrackingNumber,
    ) -> Option<time::Date> {
        let value = number.value();
        let state = self.shared.state();
        let entry = state
            .tracking
            .iter()
            .rev()
            .find(|e| entry_value(**e) == value)?;
        let day = i64::try_from(entry & 0xFF_FFFF).ok()?;
        time::Date::from_julian_day(
            time::Date::from_calendar_date(1970, time::Month::January, 1)
                .ok()?
                .to_julian_day()
                + i32::try_from(day).ok()?,
        )
        .ok()
    }

    /// Stops the writer after what it holds, and syncs the ledger. Every later append
    /// answers [`OutboxError::Stopped`].
    pub(crate) fn close(&self) {
        let (done, wait) = mpsc::channel();
        if self.jobs.send(Work::Close(done)).is_ok() {
            let _ = wait.recv_timeout(Duration::from_secs(10));
        }
        let _ = self.shared.ledger.sync();
    }
}

/// The writer thread's own state: the end of the log.
struct Writer {
    shared: Arc<Shared>,
    active: File,
    /// This run's consent chain and its head.
    chain: String,
    head: String,
    batch: Vec<u8>,
    record: Vec<u8>,
}

impl Writer {
    fn new(shared: Arc<Shared>, active: File) -> Writer {
        Writer {
            shared,
            active,
            chain: ulid::Ulid::new().to_string(),
            head: GENESIS_HASH.to_owned(),
            batch: Vec::with_capacity(1 << 20),
            record: Vec::with_capacity(16 << 10),
        }
    }

    fn run(mut self, rx: &mpsc::Receiver<Work>) {
        loop {
            let Ok(first) = rx.recv() else { return };
            let mut jobs = match first {
                Work::Append(job) => vec![job],
                Work::Compact(reply) => {
                    let _ = reply.send(self.compact());
                    continue;
                }
                Work::Close(done) => {
                    self.shared.stopped.store(true, Ordering::SeqCst);
                    let _ = done.send(());
                    return;
                }
            };
            let mut after = None;
            while jobs.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(Work::Append(job)) => jobs.push(job),
                    Ok(other) => {
                        after = Some(other);
                        break;
                    }
                    Err(_) => break,
                }
            }
            self.write(jobs);
            if let Err(e) = self.rotate_if_full() {
                tracing::error!(error = %e, "outbox: starting a new segment failed");
            }
            match after {
                Some(Work::Compact(reply)) => {
                    let _ = reply.send(self.compact());
                }
                Some(Work::Close(done)) => {
                    self.shared.stopped.store(true, Ordering::SeqCst);
                    let _ = done.send(());
                    return;
                }
                _ => {}
            }
        }
    }

    /// Writes one batch with one sync, and answers each job.
    fn write(&mut self, jobs: Vec<AppendJob>) {
        if self.shared.stopped.load(Ordering::SeqCst) {
            for job in jobs {
                let _ = job.reply.send(Err(OutboxError::Stopped));
            }
            return;
        }
        let head_before = self.head.clone();
        let mut answers: Vec<(AppendJob, Option<Appended>)> = Vec::with_capacity(jobs.len());
        let mut seq = self.shared.next_seq.load(Ordering::SeqCst);
        let first_seq = seq;
        // Claims are checked and taken in order, so two appends of one key in a batch
        // see each other.
        {
            let mut state = self.shared.state();
            for job in jobs {
                let held = job.bundle.claim.as_ref().and_then(|claim| {
                    let slot = claim_slot(&claim.key);
                    match state.claims.get(&slot) {
                        Some(c) => Some(Appended::Held {
                            seq: c.seq,
                            settled: c.state == ClaimState::Holds,
                        }),
                        None => {
                            let tracking = job.bundle.tracking.as_deref().map_or(0, tracking_slot);
                            state.claims.insert(
                                slot,
                                LocalClaim {
                                    seq,
                                    tracking,
                                    state: ClaimState::InFlight,
                                    since: Instant::now(),
                                },
                            );
                            None
                        }
                    }
                });
                if held.is_none() {
                    seq += 1;
                }
                answers.push((job, held));
            }
        }
        self.batch.clear();
        let start = self.active_len();
        let mut offsets = Vec::with_capacity(answers.len());
        let mut next = first_seq;
        let mut failed = None;
        for (job, held) in &mut answers {
            if held.is_some() {
                continue;
            }
            for envelope in &mut job.bundle.messages {
                if envelope.stream == crate::stream::Stream::Consent.name() {
                    let hash = chain_hash(&self.head, envelope.data.as_bytes());
                    envelope.link = Some(ChainLink {
                        chain: self.chain.clone(),
                        prev_hash: std::mem::replace(&mut self.head, hash.clone()),
                        hash,
                    });
                }
            }
            self.record.clear();
            if let Err(e) = record::encode(next, &job.bundle, &mut self.record) {
                failed = Some(OutboxError::Storage(e.to_string()));
                break;
            }
            offsets.push((next, start + self.batch.len() as u64));
            segment::frame(&self.record, &mut self.batch);
            next += 1;
        }
        let written = match failed {
            Some(e) => Err(e),
            None => self
                .active
                .write_all(&self.batch)
                .and_then(|()| self.active.sync_data())
                .map_err(io("write")),
        };
        if let Err(e) = written {
            tracing::error!(error = %e, batch = answers.len(), "outbox batch failed");
            // Nothing of the batch counts: cut the file back to where it was.
            if let Err(cut) = self.active.set_len(start) {
                tracing::error!(error = %cut, "outbox: cannot cut a failed batch off; stopping");
                self.shared.stopped.store(true, Ordering::SeqCst);
            }
            // Nor its consent entries: the chain goes on from the last one written.
            self.head = head_before;
            let mut state = self.shared.state();
            state.claims.retain(|_, c| c.seq < first_seq);
            drop(state);
            for (job, _) in answers {
                let _ = job.reply.send(Err(OutboxError::Storage(e.to_string())));
            }
            return;
        }
        let added = next - first_seq;
        // Each record moves into the memory the forwarder reads (no copy), and each job
        // gets its answer.
        let mut kept = Vec::with_capacity(added as usize);
        let mut replies = Vec::with_capacity(answers.len());
        let mut s = first_seq;
        for (job, held) in answers {
            let outcome = match held {
                Some(held) => held,
                None => {
                    kept.push((s, Arc::new(job.bundle)));
                    s += 1;
                    Appended::Stored(s - 1)
                }
            };
            replies.push((job.reply, outcome));
        }
        {
            let mut state = self.shared.state();
            let State {
                segments,
                ring,
                ring_bytes,
                tracking,
                ..
            } = &mut *state;
            if let Some(active) = segments.last_mut() {
                active.bytes = start + self.batch.len() as u64;
                for &(s, offset) in &offsets {
                    if (s - active.first_seq).is_multiple_of(SPARSE_EVERY) {
                        active.sparse.push((s, offset));
                    }
                }
            }
            for (s, bundle) in kept {
                if let Some(entry) = bundle
                    .tracking
                    .as_deref()
                    .and_then(|n| waiting_entry(n, bundle.accepted_at_us))
                {
                    tracking.push_back(entry);
                }
                *ring_bytes += weight(&bundle);
                ring.push_back((s, bundle));
            }
            while *ring_bytes > RING_BYTES
                && let Some((_, b)) = ring.pop_front()
            {
                *ring_bytes = ring_bytes.saturating_sub(weight(&b));
            }
        }
        self.shared.next_seq.store(next, Ordering::SeqCst);
        self.shared.durable.store(next, Ordering::SeqCst);
        if added > 0 {
            self.shared.notify.notify_one();
        }
        tracing::trace!(batch = replies.len(), added, "outbox batch synced");
        for (reply, outcome) in replies {
            let _ = reply.send(Ok(outcome));
        }
    }

    fn active_len(&self) -> u64 {
        self.shared
            .state()
            .segments
            .last()
            .map_or(segment::HEADER_LEN, |s| s.bytes)
    }

    /// Starts a new segment once the one being written is full.
    fn rotate_if_full(&mut self) -> Result<(), OutboxError> {
        if self.active_len() < SEGMENT_BYTES {
            return Ok(());
        }
        self.rotate()
    }

    /// Seals the segment being written and starts a new one at the next record.
    fn rotate(&mut self) -> Result<(), OutboxError> {
        let first_seq = self.shared.next_seq.load(Ordering::SeqCst);
        let mut state = self.shared.state();
        if state
            .segments
            .last()
            .is_some_and(|s| s.first_seq == first_seq)
        {
            return Ok(()); // Empty: nothing to seal.
        }
        let file = segment::create(&self.shared.dir, first_seq).map_err(io("create a segment"))?;
        self.active = file;
        state.segments.push(Segment {
            first_seq,
            path: segment::path_of(&self.shared.dir, first_seq),
            bytes: segment::HEADER_LEN,
            sparse: Vec::new(),
        });
        Ok(())
    }

    /// See [`Outbox::compact`].
    fn compact(&mut self) -> Result<Compacted, OutboxError> {
        let started = Instant::now();
        let bytes_before: u64 = self.shared.state().segments.iter().map(|s| s.bytes).sum();
        let forwarded = self.shared.forwarded.load(Ordering::SeqCst);
        let active_first = self.shared.state().segments.last().map(|s| s.first_seq);
        if active_first.is_some_and(|first| first < forwarded) {
            self.rotate()?;
        }
        let mut gone = Vec::new();
        let rewrite = {
            let mut state = self.shared.state();
            while state.segments.len() > 1 && state.segments[1].first_seq <= forwarded {
                gone.push(state.segments.remove(0).path);
            }
            match state.segments.first() {
                Some(first) if state.segments.len() > 1 && first.first_seq < forwarded => {
                    Some(first.path.clone())
                }
                _ => None,
            }
        };
        for path in gone {
            std::fs::remove_file(&path).map_err(io("delete a forwarded segment"))?;
        }
        if let Some(old) = rewrite {
            let copy = self.rewrite_from(&old, forwarded)?;
            let mut state = self.shared.state();
            match state.segments.first_mut() {
                // Still the first one (the forwarder may have finished it meanwhile).
                Some(first) if first.path == old => {
                    *first = copy;
                    drop(state);
                    std::fs::remove_file(&old).map_err(io("delete a rewritten segment"))?;
                }
                _ => {
                    drop(state);
                    std::fs::remove_file(&copy.path).map_err(io("delete a copy"))?;
                }
            }
            segment::sync_dir(&self.shared.dir).map_err(io("sync the directory"))?;
        }
        let bytes_after: u64 = self.shared.state().segments.iter().map(|s| s.bytes).sum();
        Ok(Compacted {
            bytes_before,
            bytes_after,
            pause: started.elapsed(),
        })
    }

    /// Copies the records of `old` from `from` on into a new segment named after
    /// `from`, and returns it.
    fn rewrite_from(&mut self, old: &Path, from: u64) -> Result<Segment, OutboxError> {
        let dir = &self.shared.dir;
        let tmp = dir.join(format!("{from:020}.seg.tmp"));
        let path = segment::path_of(dir, from);
        let mut reader = Reader::open(old, segment::HEADER_LEN).map_err(io("open a segment"))?;
        let mut copy = Vec::new();
        let mut sparse = Vec::new();
        let mut offset = segment::HEADER_LEN;
        while let Next::Record(_, bytes) = reader.next_record().map_err(io("read a segment"))? {
            let (seq, _) =
                record::decode(bytes).map_err(|e| OutboxError::Storage(e.to_string()))?;
            if seq < from {
                continue;
            }
            if (seq - from).is_multiple_of(SPARSE_EVERY) {
                sparse.push((seq, offset));
            }
            let before = copy.len();
            segment::frame(bytes, &mut copy);
            offset += (copy.len() - before) as u64;
        }
        {
            let mut file = File::create(&tmp).map_err(io("create a copy"))?;
            file.write_all(segment::MAGIC)
                .and_then(|()| file.write_all(&copy))
                .and_then(|()| file.sync_all())
                .map_err(io("write a copy"))?;
        }
        std::fs::rename(&tmp, &path).map_err(io("rename a copy"))?;
        segment::sync_dir(dir).map_err(io("sync the directory"))?;
        Ok(Segment {
            first_seq: from,
            path,
            bytes: offset,
            sparse,
        })
    }
}

/// Reads the records waiting at the start (from the ledger to `until`) and rebuilds the
/// maps of what they claim, and each segment's sparse index.
fn scan_waiting(shared: &Shared, until: u64) -> Result<(), OutboxError> {
    let from = shared.forwarded.load(Ordering::SeqCst);
    let paths: Vec<(u64, PathBuf)> = shared
        .state()
        .segments
        .iter()
        .map(|s| (s.first_seq, s.path.clone()))
        .collect();
    let mut tracking = Vec::new();
    for (first_seq, path) in paths {
        if first_seq >= until {
            break;
        }
        let mut reader = match Reader::open(&path, segment::HEADER_LEN) {
            Ok(reader) => reader,
            // Forwarded and deleted meanwhile.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io("open a segment")(e)),
        };
        let mut sparse = Vec::new();
        let mut claims = Vec::new();
        while let Next::Record(offset, bytes) =
            reader.next_record().map_err(io("read a segment"))?
        {
            let Ok((seq, bundle)) = record::decode(bytes) else {
                continue;
            };
            if seq >= until {
                break;
            }
            if (seq - first_seq).is_multiple_of(SPARSE_EVERY) {
                sparse.push((seq, offset));
            }
            if seq < from {
                continue;
            }
            let tracking_slot_of = bundle.tracking.as_deref().map_or(0, tracking_slot);
            if let Some(claim) = &bundle.claim {
                claims.push((claim_slot(&claim.key), seq, tracking_slot_of));
            }
            if let Some(entry) = bundle
                .tracking
                .as_deref()
                .and_then(|n| waiting_entry(n, bundle.accepted_at_us))
            {
                tracking.push((seq, entry));
            }
        }
        let forwarded = shared.forwarded.load(Ordering::SeqCst);
        let mut state = shared.state();
        if let Some(segment) = state.segments.iter_mut().find(|s| s.first_seq == first_seq)
            && segment.sparse.is_empty()
        {
            segment.sparse = sparse;
        }
        for (slot, seq, tracking_of) in claims {
            if seq >= forwarded {
                state.claims.entry(slot).or_insert(LocalClaim {
                    seq,
                    tracking: tracking_of,
                    state: ClaimState::Holds,
                    since: Instant::now(),
                });
            }
        }
    }
    // Older than anything written since the start: in front, in order (those forwarded
    // meanwhile left out).
    let forwarded = shared.forwarded.load(Ordering::SeqCst);
    let mut state = shared.state();
    for (_, entry) in tracking
        .into_iter()
        .rev()
        .filter(|(seq, _)| *seq >= forwarded)
    {
        state.tracking.push_front(entry);
    }
    Ok(())
}

/// Overwrites a file with zeros, syncs it and deletes it: the erasure of a store left by
/// an earlier gateway (`outbox.redb`, `open311.redb`), whose free pages held removed
/// records.
pub(crate) fn shred(path: &Path) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
    let len = file.metadata()?.len();
    let zeros = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        file.write_all(&zeros[..n])?;
        left -= n as u64;
    }
    file.sync_all()?;
    drop(file);
    std::fs::remove_file(path)
}

#[cfg(test)]
mod tests;
