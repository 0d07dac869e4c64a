//! Shared helpers for the black-box integration tests.
//!
//! Every test starts its own `redis-server` ([`RedisServer`]) and its own
//! `appeal-gateway` process ([`Gateway`]) on free loopback ports, and then talks to them
//! the way an integrator, an operator or a downstream consumer would: over HTTP
//! ([`Api`]), by reading the Redis streams ([`read_stream`], [`wait_for_stream_len`]),
//! and by reading what the processes leave behind (logs, the data directory).
//!
//! Waits are bounded and panic with what they last saw; a sleep is only ever a pause
//! between two polls, never the assertion itself.
//!
//! A module of the one test binary (`tests/it/main.rs`): compiled and linked once.
#![allow(dead_code)]

pub mod agent;
pub mod browser;
pub mod case_system;
pub mod clients;
pub mod fake_http;
pub mod fake_sms;
pub mod fake_telegram;
pub mod fake_whatsapp;
pub mod form_session;
pub mod haproxy;
pub mod photos;
pub mod prometheus;
pub mod redis_ha;

mod analytics;
mod api;
mod checks;
mod gateway;
mod redis_server;
mod under_load;

// The helpers by concern, used as one module (`use crate::support::*`); a test binary
// of its own (a file beside `tests/it/`) uses some of them.
#[allow(unused_imports)]
pub use analytics::*;
#[allow(unused_imports)]
pub use api::*;
#[allow(unused_imports)]
pub use checks::*;
#[allow(unused_imports)]
pub use gateway::*;
#[allow(unused_imports)]
pub use redis_server::*;
#[allow(unused_imports)]
pub use under_load::*;

use std::net::TcpListener;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// Prefix of every stream name in the tests (`GATEWAY_STREAM_PREFIX`).
pub const PREFIX: &str = "t:";
/// Bearer token of the integrator `crm`.
pub const CRM_TOKEN: &str = "crm-secret-token-0001";
/// The `authserv-id` of the test deployment's MTA (`GATEWAY_MAIL_TRUSTED_AUTHSERV`).
pub const MTA_AUTHSERV: &str = "mx.test.open-almaty.kz";
/// Bearer token of the integrator `portal`.
pub const PORTAL_TOKEN: &str = "portal-secret-token-0002";
/// `GATEWAY_SUBJECT_KEY_SECRET` of the tests, so they can recompute subject keys.
pub const SUBJECT_KEY_SECRET: &str = "integration-test-subject-key-secret";
/// SHA-256 of `regulation-kk.md`: the policy version every consent must carry.
pub const POLICY_VERSION: &str = "73e3bd59d670ca758d91f21378b2b2847e6eb3d75046dd5bbabb64d4a67dfd0f";

/// The default bound of every wait.
pub const WAIT: Duration = Duration::from_secs(30);

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

/// Polls `probe` until it returns `Ok`, at most `timeout`; panics naming `what` and the
/// last `Err` it saw.
pub async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let start = Instant::now();
    loop {
        match probe().await {
            Ok(v) => return v,
            Err(last) => {
                if start.elapsed() > timeout {
                    panic!("timed out after {timeout:?} waiting for {what}; last seen: {last}");
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends a signal with the `kill` command (no libc in the tests).
fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{sig} {} failed", child.id());
}

fn wait_exit(child: &mut Child, timeout: Duration, what: &str) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Mail helpers of the email channel: an SMTP sink, `ingest-email`, IMAP.
pub mod mail;
