//! `appeal-gateway retention sweep`: one round of the retention sweep
//! ([`crate::retention`]) from the command line, as `serve` runs it every ten minutes;
//! `--at` sweeps as if it were a later time (what would be past its retention then).

use super::command;
use crate::config::Config;
use crate::retention::Retention;

/// Exit status when Redis cannot be reached or `--at` cannot be read.
const EXIT_FAILED: u8 = 1;

/// Sweeps once; prints `{"removed": {store: n}}` (the streams only when no other
/// instance is sweeping them); returns the exit status.
pub fn sweep(config: &Config, at: Option<&str>) -> u8 {
    let Some(now) = command::at_time("retention sweep", at) else {
        return EXIT_FAILED;
    };
    let Some(redis) = command::redis(config) else {
        return EXIT_FAILED;
    };
    let retention = Retention {
        redis,
        streams: config.stream_retention,
        consent: config.consent_retention,
        instance: format!("{}-cli", config.instance),
        data_dir: config.data_dir.clone(),
        attachments: config.attachment_retention,
        fetched_attachments: config.attachment_fetched_retention,
        outbox: None,
    };
    let Some(runtime) = command::runtime("retention sweep") else {
        return EXIT_FAILED;
    };
    match runtime.block_on(retention.sweep(now)) {
        Ok(removed) => {
            println!("{}", serde_json::json!({ "removed": removed }));
            0
        }
        Err(e) => {
            eprintln!(
                "appeal-gateway: retention sweep: redis: {}",
                crate::redis_target::describe(&e)
            );
            EXIT_FAILED
        }
    }
}
