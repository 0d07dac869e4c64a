//! `appeal-gateway analytics publish`: one round of the `analytics.v2` publisher
//! ([`crate::aggregates`]) from the command line, as `serve` runs it every minute. For an
//! operator after an outage of every instance, and with `--at` to publish as if it were
//! a later time (the periods that would have ended by then; a period is still published
//! only once).

use super::command;
use crate::aggregates::Publisher;
use crate::config::Config;

/// Exit status when Redis cannot be reached or `--at` cannot be read.
const EXIT_FAILED: u8 = 1;

/// Publishes the ended periods; prints `{"published": N}`; returns the exit status.
pub fn publish(config: &Config, at: Option<&str>) -> u8 {
    let Some(now) = command::at_time("analytics publish", at) else {
        return EXIT_FAILED;
    };
    let Some(redis) = command::redis(config) else {
        return EXIT_FAILED;
    };
    let publisher = Publisher {
        redis,
        k: config.analytics_k,
    };
    let Some(runtime) = command::runtime("analytics publish") else {
        return EXIT_FAILED;
    };
    match runtime.block_on(publisher.run_once(now)) {
        Ok(published) => {
            println!("{}", serde_json::json!({ "published": published }));
            0
        }
        Err(e) => {
            eprintln!(
                "appeal-gateway: analytics publish: redis: {}",
                crate::redis_target::describe(&e)
            );
            EXIT_FAILED
        }
    }
}
