//! `appeal-gateway outbox inspect` and `appeal-gateway outbox drain`: the outbox of an
//! instance that is gone.
//!
//! Every instance spools accepted appeals into its own outbox before it answers, and
//! forwards them to Redis afterwards. When its machine dies for good, what it accepted
//! but did not forward yet sits in its data directory. An operator mounts or copies that
//! directory to another machine and runs:
//!
//! - `outbox inspect --data-dir PATH`: how many records wait and how old the oldest is
//!   (one JSON line, no content: the records hold personal data);
//! - `outbox drain --data-dir PATH`: forwards them all to `REDIS_URL` with the same
//!   forwarder as a running gateway, and exits once the outbox is empty. Exactly once:
//!   a record the dead instance had already sent (its removal lost with the machine) is
//!   recognised by its dedupe key in Redis and not added again — as long as the drain
//!   runs within `GATEWAY_DEDUPE_TTL_SECS` (7 days by default) of the loss.
//!
//! The outbox is locked by whoever has it open: both commands refuse to run on the
//! data directory of a gateway that is still running (that gateway forwards it itself).
//! An `outbox.redb` of a gateway from before the log is imported first, as a start does.

use crate::config::Config;
use crate::metrics::Metrics;
use crate::outbox::{Outbox, OutboxError};
use crate::queue::{Forwarder, QueueStatus};

/// Exit status when the outbox cannot be opened or Redis cannot take it.
pub(crate) const EXIT_FAILED: u8 = 1;
/// Failed tries in a row (about a minute with the forwarder's backoff) before `drain`
/// gives up.
const DRAIN_TRIES: u32 = 15;

/// Why an outbox cannot be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AdminError {
    #[error("no outbox in {0}")]
    Missing(String),
    #[error("the outbox in {0} is open in a running gateway; it forwards it itself")]
    InUse(String),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
}

/// What `outbox inspect` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Inspection {
    /// Records waiting to be forwarded.
    pub(crate) depth: u64,
    /// Seconds since the oldest waiting record was accepted; `None` when empty.
    pub(crate) oldest_age_secs: Option<u64>,
}

/// Opens the outbox of `config.data_dir` if there is one (never creates it).
pub(crate) fn open(config: &Config) -> Result<Outbox, AdminError> {
    let dir = config.data_dir.display().to_string();
    if !config.data_dir.join("outbox").is_dir() && !config.data_dir.join("outbox.redb").is_file() {
        return Err(AdminError::Missing(dir));
    }
    Outbox::open(&config.data_dir).map_err(|e| match e {
        OutboxError::Locked => AdminError::InUse(dir),
        e => AdminError::Outbox(e),
    })
}

/// Depth and age of the oldest record.
pub(crate) fn look(outbox: &Outbox) -> Result<Inspection, AdminError> {
    let oldest = outbox.oldest_accepted_at_ms()?;
    let now = crate::clock::now_ms();
    Ok(Inspection {
        depth: outbox.depth(),
        oldest_age_secs: oldest.map(|at| now.saturating_sub(at) / 1000),
    })
}

/// `outbox inspect`: prints one JSON line; returns the exit status.
pub fn inspect(config: &Config) -> u8 {
    let looked = open(config).and_then(|outbox| {
        let found = look(&outbox);
        outbox.close();
        found
    });
    match looked {
        Ok(found) => {
            println!("{}", serde_json::json!(found));
            0
        }
        Err(e) => {
            eprintln!("appeal-gateway: outbox inspect: {e}");
            EXIT_FAILED
        }
    }
}

/// `outbox drain`: forwards everything, prints what it did; returns the exit status.
pub fn drain(config: &Config) -> u8 {
    let outbox = match open(config) {
        Ok(outbox) => outbox,
        Err(e) => {
            eprintln!("appeal-gateway: outbox drain: {e}");
            return EXIT_FAILED;
        }
    };
    let Some(redis) = super::command::redis(config) else {
        return EXIT_FAILED;
    };
    let forwarder = Forwarder {
        outbox: outbox.clone(),
        redis,
        dedupe_ttl: config.dedupe_ttl,
        idempotency_ttl: config.idempotency_ttl,
        min_replicas: config.redis_min_replicas,
        status: std::sync::Arc::new(QueueStatus::default()),
        metrics: Metrics::new(),
    };
    let Some(runtime) = super::command::runtime("outbox drain") else {
        return EXIT_FAILED;
    };
    let before = outbox.depth();
    let result = runtime.block_on(forwarder.drain(DRAIN_TRIES));
    // The ledger is written without a sync (see `crate::outbox`): make it durable, or
    // the next look at this directory would find the records again.
    if let Err(e) = outbox.sync() {
        eprintln!("appeal-gateway: outbox drain: {e}");
    }
    let depth = outbox.depth();
    outbox.close();
    match result {
        Ok(report) => {
            println!(
                "{}",
                serde_json::json!({"forwarded": report.records, "depth": depth})
            );
            0
        }
        Err(e) => {
            eprintln!(
                "appeal-gateway: outbox drain: stopped with {depth} of {before} records left: {e}"
            );
            EXIT_FAILED
        }
    }
}
