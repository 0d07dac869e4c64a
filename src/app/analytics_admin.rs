//! `appeal-gateway analytics publish`: one round of the `analytics.v2` publisher
//! ([`crate::aggregates`]) from the command line, as `serve` runs it every minute. For an
//! operator after an outage of every instance, and with `--at` to publish as if it were
//! a later time (the periods that would have ended by then; a period is still published
//! only once).

use crate::aggregates::Publisher;
use crate::config::Config;

/// Exit status when Redis cannot be reached or `--at` cannot be read.
const EXIT_FAILED: u8 = 1;

/// Publishes the ended periods; prints `{"published": N}`; returns the exit status.
pub fn publish(config: &Config, at: Option<&str>) -> u8 {
    let now = match at {
        None => time::OffsetDateTime::now_utc(),
        Some(text) => {
            match time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            {
                Ok(at) => at,
                Err(_) => {
                    eprintln!("appeal-gateway: analytics publish: --at is not an RFC 3339 time");
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
    let publisher = Publisher {
        target,
        prefix: config.stream_prefix.clone(),
        k: config.analytics_k,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("appeal-gateway: analytics publish: {e}");
            return EXIT_FAILED;
        }
    };
    match runtime.block_on(publisher.run_once(now)) {
        Ok(published) => {
            println!("{}", serde_json::json!({ "published": published }));
            0
        }
        Err(e) => {
            eprintln!(
                "appeal-gateway: analytics publish: redis: {}",
                crate::queue::describe(&e)
            );
            EXIT_FAILED
        }
    }
}
