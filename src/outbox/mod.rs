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
mod shared;
mod writer;

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

pub(crate) use record::{Bundle, ClaimRecord, Envelope, Mark, MarkOp};
use segment::{Ledger, Next, Reader};

pub(crate) use legacy::shred;
use shared::*;
pub(crate) use shared::{Appended, Compacted, OutboxError, Settled};
use writer::{Writer, scan_waiting};

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

#[cfg(test)]
mod tests;
