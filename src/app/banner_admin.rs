//! `appeal-gateway banner set|clear|show`: the city-wide banner ([`crate::banner`]) from
//! the command line, in Redis (`REDIS_URL`) for every instance.

use super::command;
use crate::banner::{self, Banner};
use crate::config::Config;

/// Exit status when the banner cannot be read from the arguments or Redis cannot be
/// reached.
const EXIT_FAILED: u8 = 1;

/// What the operator asked.
pub enum Action<'a> {
    /// Show `texts` (kk, ru, en) until `until` (RFC 3339).
    Set {
        until: &'a str,
        kk: &'a str,
        ru: &'a str,
        en: &'a str,
    },
    /// Take it down now.
    Clear,
    /// Print the banner shown now, as JSON (`null` when none).
    Show,
}

/// Carries out `action`; returns the exit status.
pub fn run(config: &Config, action: Action<'_>) -> u8 {
    let Some(redis) = command::redis(config) else {
        return EXIT_FAILED;
    };
    let Some(runtime) = command::runtime("banner") else {
        return EXIT_FAILED;
    };
    let outcome = match action {
        Action::Set { until, kk, ru, en } => {
            let banner = match Banner::new(until, kk, ru, en, time::OffsetDateTime::now_utc()) {
                Ok(banner) => banner,
                Err(problem) => {
                    eprintln!("appeal-gateway: banner set: {problem}");
                    return EXIT_FAILED;
                }
            };
            runtime
                .block_on(banner::set(&redis, &banner))
                .map(|()| serde_json::json!({ "banner": banner }))
        }
        Action::Clear => runtime
            .block_on(banner::clear(&redis))
            .map(|()| serde_json::json!({ "banner": null })),
        Action::Show => runtime
            .block_on(banner::show(&redis))
            .map(|banner| serde_json::json!({ "banner": banner })),
    };
    match outcome {
        Ok(json) => {
            println!("{json}");
            0
        }
        Err(problem) => {
            eprintln!("appeal-gateway: banner: {problem}");
            EXIT_FAILED
        }
    }
}
