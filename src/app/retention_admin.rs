//! `appeal-gateway retention sweep`: one round of the retention sweep
//! ([`crate::retention`]) from the command line, as `serve` runs it every ten minutes;
//! `--at` sweeps as if it were a later time (what would be past its retention then).

use crate::config::Config;
use crate::retention::Retention;

/// Exit status when Redis cannot be reached or `--at` cannot be read.
const EXIT_FAILED: u8 = 1;

/// Sweeps once; prints `{"removed": {store: n}}` (the streams only when no other
/// instance is sweeping them); returns the exit status.
pub fn sweep(config: &Config, at: Option<&str>) -> u8 {
    let now = match at {
        None => time::OffsetDateTime::now_utc(),
        Some(text) => {
            match time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            {
                Ok(at) => at,
                Err(_) => {
                    eprintln!("appeal-gateway: retention sweep: --at is not an RFC 3339 time");
                    return EXIT_FAILED;
                }
            }
        }
    };
    let target = match crate::redis_target::RedisTarget::parse(&config.redis_url) {
        Ok(target) => target,
        Err(e) => {
            eprintln!("appeal-gateway: REDIS_URL: {e}");
            return EXIT_FAILED;
        }
    };
    let retention = Retention {
        target,
        prefix: config.stream_prefix.clone(),
        streams: config.stream_retention,
        consent: config.consent_retention,
        instance: format!("{}-cli", config.instance),
        data_dir: config.data_dir.clone(),
        attachments: config.attachment_retention,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("appeal-gateway: retention sweep: {e}");
            return EXIT_FAILED;
        }
    };
    match runtime.block_on(retention.sweep(now)) {
        Ok(removed) => {
            println!("{}", serde_json::json!({ "removed": removed }));
            0
        }
        Err(e) => {
            eprintln!(
                "appeal-gateway: retention sweep: redis: {}",
                crate::queue::describe(&e)
            );
            EXIT_FAILED
        }
    }
}
