//! The writer thread: the one owner of the log's end. It takes every append waiting
//! (up to [`MAX_BATCH`]), writes them with one `write` and one `fdatasync` (group
//! commit), seals and compacts segments; and the scan of the records waiting at a start.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use std::time::Instant;

use super::record::{self, ChainLink};
use super::segment::{self, Next, Reader};
use super::shared::*;
use crate::consent::{GENESIS_HASH, chain_hash};

/// The writer thread's own state: the end of the log.
pub(super) struct Writer {
    pub(super) shared: Arc<Shared>,
    pub(super) active: File,
    /// This run's consent chain and its head.
    pub(super) chain: String,
    pub(super) head: String,
    pub(super) batch: Vec<u8>,
    pub(super) record: Vec<u8>,
}

impl Writer {
    pub(super) fn new(shared: Arc<Shared>, active: File) -> Writer {
        Writer {
            shared,
            active,
            chain: ulid::Ulid::new().to_string(),
            head: GENESIS_HASH.to_owned(),
            batch: Vec::with_capacity(1 << 20),
            record: Vec::with_capacity(16 << 10),
        }
    }

    pub(super) fn run(mut self, rx: &mpsc::Receiver<Work>) {
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
    pub(super) fn write(&mut self, jobs: Vec<AppendJob>) {
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

    pub(super) fn active_len(&self) -> u64 {
        self.shared
            .state()
            .segments
            .last()
            .map_or(segment::HEADER_LEN, |s| s.bytes)
    }

    /// Starts a new segment once the one being written is full.
    pub(super) fn rotate_if_full(&mut self) -> Result<(), OutboxError> {
        if self.active_len() < SEGMENT_BYTES {
            return Ok(());
        }
        self.rotate()
    }

    /// Seals the segment being written and starts a new one at the next record.
    pub(super) fn rotate(&mut self) -> Result<(), OutboxError> {
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

    /// See `Outbox::compact`.
    pub(super) fn compact(&mut self) -> Result<Compacted, OutboxError> {
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
    pub(super) fn rewrite_from(&mut self, old: &Path, from: u64) -> Result<Segment, OutboxError> {
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
pub(super) fn scan_waiting(shared: &Shared, until: u64) -> Result<(), OutboxError> {
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
