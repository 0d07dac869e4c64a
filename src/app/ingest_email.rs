//! `appeal-gateway ingest-email`: one message on standard input, for an MTA's pipe
//! transport (Postfix `pipe`, Exim `pipe`, a `.forward` or `procmail`).
//!
//! The exit code is the MTA's contract (sysexits.h): `0` once the message is durable
//! (an appeal, a subject request, an addition, a quarantined message) or recognised as
//! automatic mail; `75` (`EX_TEMPFAIL`) whenever it is not, so the MTA keeps it and tries
//! again. A repeated delivery is recognised by its Message-ID and adds nothing.
//!
//! **Its own outbox.** The outbox is one process's (redb locks its file); `serve` holds
//! the one in its `GATEWAY_DATA_DIR`. Give the pipe its own `GATEWAY_DATA_DIR`: each run
//! opens it (waiting a moment while a concurrent delivery holds it), makes the message
//! durable, then forwards what the outbox holds to Redis before it exits. If Redis is
//! away, the records wait and the next delivery forwards them.

use std::io::Read;
use std::time::{Duration, Instant};

use crate::config::Config;

use super::Settings;
use crate::metrics::Metrics;
use crate::outbox::{Outbox, OutboxError};
use crate::queue::{Forwarder, QueueStatus};

use crate::channels::email::EmailChannel;
use crate::channels::email::parse::MAX_MESSAGE_BYTES;

/// `EX_OK`.
pub(crate) const EXIT_DURABLE: u8 = 0;
/// `EX_TEMPFAIL`: the MTA keeps the message and retries.
pub const EXIT_TEMPFAIL: u8 = 75;

/// How long a delivery waits for another one to let go of the outbox.
const OPEN_WAIT: Duration = Duration::from_secs(20);
/// How long a delivery tries to forward to Redis before it leaves the rest waiting.
const FORWARD_WAIT: Duration = Duration::from_secs(10);

/// Reads one message on stdin and takes it to a durable record. Returns the exit code.
pub fn run(settings: &Settings) -> u8 {
    let config = &settings.config;
    let mut raw = Vec::new();
    let limit = (MAX_MESSAGE_BYTES + 1) as u64;
    if let Err(e) = std::io::stdin().take(limit).read_to_end(&mut raw) {
        tracing::error!(error = %e, "cannot read the message on stdin");
        return EXIT_TEMPFAIL;
    }
    let acks = settings.mail.acks.clone();
    if acks.is_none() {
        tracing::info!(
            "acknowledgements by email are off: GATEWAY_SMTP_URL and GATEWAY_MAIL_FROM are not set"
        );
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the runtime");
            return EXIT_TEMPFAIL;
        }
    };
    runtime.block_on(async move {
        let Some(outbox) = open_outbox(config).await else {
            return EXIT_TEMPFAIL;
        };
        let metrics = Metrics::new();
        let gateway = match super::gateway(config, outbox.clone(), metrics.clone()) {
            Ok(gateway) => gateway,
            Err(e) => {
                tracing::error!(error = %e, "embedded policy unreadable");
                return EXIT_TEMPFAIL;
            }
        };
        let channel = EmailChannel {
            data_dir: config.data_dir.clone(),
            acks,
        };
        let disposition = match channel.receive(&gateway, &raw).await {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "message not stored; the MTA should retry");
                return EXIT_TEMPFAIL;
            }
        };
        tracing::info!(outcome = disposition.label(), "mail received");
        forward(config, outbox, metrics).await;
        EXIT_DURABLE
    })
}

async fn open_outbox(config: &Config) -> Option<Outbox> {
    let start = Instant::now();
    loop {
        match Outbox::open(&config.data_dir, config.idempotency_ttl) {
            Ok(outbox) => return Some(outbox),
            Err(OutboxError::Locked) if start.elapsed() < OPEN_WAIT => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => {
                tracing::error!(error = %e, "GATEWAY_DATA_DIR: the outbox cannot be opened");
                return None;
            }
        }
    }
}

/// Forwards the outbox to Redis for a bounded time (best effort: it is durable).
async fn forward(config: &Config, outbox: Outbox, metrics: Metrics) {
    let Ok(target) = crate::redis_target::RedisTarget::parse(&config.redis_url) else {
        return;
    };
    let forwarder = Forwarder {
        outbox: outbox.clone(),
        target,
        prefix: config.stream_prefix.clone(),
        dedupe_ttl: config.dedupe_ttl,
        min_replicas: config.redis_min_replicas,
        status: std::sync::Arc::new(QueueStatus::default()),
        metrics,
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(forwarder.run(stopped));
    let start = Instant::now();
    while outbox.depth() > 0 && start.elapsed() < FORWARD_WAIT {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if outbox.depth() > 0 {
        tracing::warn!(
            waiting = outbox.depth(),
            "redis not reached; records wait in the outbox for the next run"
        );
    }
    let _ = stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
}
