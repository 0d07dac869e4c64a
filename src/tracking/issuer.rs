//! Where the values of new tracking numbers come from: blocks that no two processes
//! share, whatever their configuration (issue 26).
//!
//! The new value space is two regions of 2^38 values, each cut into blocks of
//! [`BLOCK`]:
//!
//! - **leased**: block `b` is the `b`-th answer of `INCR <prefix>gateway:tracking-blocks`
//!   (an atomic counter in Redis, never reset): no two processes ever get the same one,
//!   even with the same settings or a copied data directory;
//! - **offline**: while Redis cannot be reached (at the first start of a new deployment,
//!   during an outage), a process draws a block at random from 2^26. Two processes
//!   meet only if they draw the same block, about one chance in 2^26 per pair of draws;
//!   a number that still collides is caught by the forwarder (the tracking number's
//!   status key already names another appeal: logged, counted in
//!   `gateway_tracking_collisions_total`, a `tracking_collision` record on
//!   `deadletter.v1`).
//!
//! Nothing is persisted: a restart leases a new block (the unused rest of the old one is
//! never issued), so a copied data directory cannot repeat numbers. A process keeps a
//! spare block leased ahead, so that a request never waits for Redis; an offline block
//! is left for a leased one as soon as Redis answers.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use super::{PermutationKey, TrackingNumber};
use crate::redis_handle::Redis;
use crate::redis_target::Timeouts;

/// Values in a block.
pub(crate) const BLOCK: u64 = 1 << 12;
/// Blocks in a region: 2^38 values.
const BLOCKS: u64 = 1 << 26;
/// The counter bits of a value (see [`super`]): 35.
const SEQ_BITS: u32 = 35;
/// Set in every new value's counter: no earlier instance counted that far.
const NEW: u64 = 1 << 34;
/// Set in the counter of an offline value.
const OFFLINE: u64 = 1 << 33;

/// Where a block comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Region {
    Leased,
    Offline,
}

#[derive(Debug, Clone, Copy)]
struct Block {
    region: Region,
    /// The next index in the region to give, and the end of the block.
    next: u64,
    end: u64,
}

impl Block {
    fn new(region: Region, index: u64) -> Block {
        Block {
            region,
            next: index * BLOCK,
            end: (index + 1) * BLOCK,
        }
    }

    fn random_offline() -> Block {
        Block::new(Region::Offline, rand::random::<u64>() % BLOCKS)
    }

    fn left(&self) -> u64 {
        self.end - self.next
    }
}

struct Blocks {
    current: Block,
    spare: Option<Block>,
}

/// Issues tracking numbers; shared by every request of a process.
pub(crate) struct Issuer {
    key: PermutationKey,
    blocks: Mutex<Blocks>,
    /// Woken when the spare block is taken or running low.
    low: tokio::sync::Notify,
}

/// The (slot, counter) pair of index `n` of a region, as [`TrackingNumber::issue`]
/// reads it.
fn slot_and_seq(region: Region, n: u64) -> (u8, u64) {
    let slot = ((n >> 33) & 31) as u8;
    let mut seq = NEW | (n & (OFFLINE - 1));
    if region == Region::Offline {
        seq |= OFFLINE;
    }
    debug_assert!(seq < 1 << SEQ_BITS);
    (slot, seq)
}

impl Issuer {
    /// An issuer with an offline block, until [`Issuer::lease`] finds Redis.
    pub(crate) fn new(key: PermutationKey) -> Issuer {
        Issuer {
            key,
            blocks: Mutex::new(Blocks {
                current: Block::random_offline(),
                spare: None,
            }),
            low: tokio::sync::Notify::new(),
        }
    }

    /// The next number.
    pub(crate) fn issue(&self) -> TrackingNumber {
        loop {
            let (region, n) = {
                let mut blocks = self.blocks.lock().unwrap_or_else(PoisonError::into_inner);
                let switch = blocks.current.left() == 0
                    || (blocks.current.region == Region::Offline
                        && blocks.spare.is_some_and(|s| s.region == Region::Leased));
                if switch {
                    blocks.current = blocks.spare.take().unwrap_or_else(|| {
                        tracing::warn!(
                            "tracking numbers: no block leased from Redis; drawing one at random"
                        );
                        Block::random_offline()
                    });
                }
                let n = blocks.current.next;
                blocks.current.next += 1;
                if blocks.spare.is_none()
                    && (blocks.current.left() < BLOCK / 2
                        || blocks.current.region == Region::Offline)
                {
                    self.low.notify_one();
                }
                (blocks.current.region, n)
            };
            let (slot, seq) = slot_and_seq(region, n);
            if let Some(number) = TrackingNumber::issue(&self.key, slot, seq) {
                return number;
            }
        }
    }

    /// Leases one block from Redis as the spare (taken at once if the current block is
    /// an offline one). `Err` when Redis does not answer.
    pub(crate) async fn lease(&self, redis: &Redis) -> redis::RedisResult<()> {
        let mut conn = redis
            .connect_own(Timeouts {
                connect: Duration::from_secs(1),
                response: Duration::from_secs(1),
            })
            .await?;
        let key = redis.keys().key(crate::keyspace::name::TRACKING_BLOCKS);
        let counter: u64 = redis::cmd("INCR").arg(&key).query_async(&mut conn).await?;
        let index = counter.saturating_sub(1);
        if index >= BLOCKS {
            return Err(redis::RedisError::from((
                redis::ErrorKind::Client,
                "every leased block of tracking numbers is used",
            )));
        }
        let mut blocks = self.blocks.lock().unwrap_or_else(PoisonError::into_inner);
        let leased = Block::new(Region::Leased, index);
        if blocks.current.region == Region::Offline {
            blocks.current = leased;
        } else {
            blocks.spare = Some(leased);
        }
        Ok(())
    }

    /// Keeps a spare block leased: wakes when the current one runs low or is offline,
    /// and every few seconds; until `shutdown`.
    pub(crate) async fn run(
        self: std::sync::Arc<Self>,
        redis: Redis,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        while !*shutdown.borrow() {
            let wanted = {
                let blocks = self.blocks.lock().unwrap_or_else(PoisonError::into_inner);
                blocks.spare.is_none()
                    && (blocks.current.left() < BLOCK / 2
                        || blocks.current.region == Region::Offline)
            };
            if wanted && let Err(e) = self.lease(&redis).await {
                tracing::debug!(error = %crate::redis_target::describe(&e), "tracking numbers: no block leased");
                // Not again at once: every number issued meanwhile asks for a lease.
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(2)) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            tokio::select! {
                () = self.low.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(5)) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Whether the numbers now come from an offline block (for the readiness answer).
    pub(crate) fn offline(&self) -> bool {
        self.blocks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .current
            .region
            == Region::Offline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leased_offline_and_earlier_values_never_meet() {
        // Earlier instances counted from 0 in their slot and never reached 2^34.
        for n in [0, 1, BLOCK, (1 << 33) - 1, (1 << 33), (1 << 38) - 1] {
            for region in [Region::Leased, Region::Offline] {
                let (slot, seq) = slot_and_seq(region, n);
                assert!(slot < 32);
                assert!((NEW..1 << SEQ_BITS).contains(&seq), "{seq:#x}");
                assert_eq!(seq & OFFLINE != 0, region == Region::Offline);
            }
        }
        let mut seen = std::collections::HashSet::new();
        for n in [0, 1, (1 << 33) - 1, 1 << 33, (1 << 38) - 1] {
            assert!(seen.insert(slot_and_seq(Region::Leased, n)));
            assert!(seen.insert(slot_and_seq(Region::Offline, n)));
        }
    }

    #[test]
    fn a_block_is_used_to_its_end_then_the_spare_follows() {
        let issuer = Issuer::new(PermutationKey::derive(b"secret"));
        {
            let mut blocks = issuer.blocks.lock().expect("lock");
            blocks.current = Block::new(Region::Leased, 0);
            blocks.spare = Some(Block::new(Region::Leased, 7));
        }
        let mut numbers = std::collections::HashSet::new();
        for _ in 0..BLOCK {
            assert!(numbers.insert(issuer.issue()));
        }
        // Some values are skipped (their check would not be a letter or digit), so the
        // first block ends before BLOCK numbers are given.
        let blocks = issuer.blocks.lock().expect("lock");
        assert!(blocks.current.next > 7 * BLOCK, "the spare block is in use");
        assert!(blocks.spare.is_none());
    }

    #[test]
    fn an_offline_block_gives_way_to_a_leased_one_at_once() {
        let issuer = Issuer::new(PermutationKey::derive(b"secret"));
        assert!(issuer.offline());
        issuer.issue();
        issuer.blocks.lock().expect("lock").spare = Some(Block::new(Region::Leased, 3));
        issuer.issue();
        assert!(!issuer.offline());
    }
}
