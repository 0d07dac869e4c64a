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
#![allow(dead_code)]

pub mod agent;
pub mod browser;
pub mod fake_http;
pub mod fake_telegram;
pub mod fake_whatsapp;
pub mod form_session;
pub mod haproxy;
pub mod photos;
pub mod prometheus;
pub mod redis_ha;

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

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

// ---------------------------------------------------------------------------------------
// Redis
// ---------------------------------------------------------------------------------------

/// A `redis-server` of its own, on a fixed free port, persisting to an append-only file
/// in a temporary directory, so that a stop (SIGTERM) and a start on the same port keep
/// the data. Killed on drop.
pub struct RedisServer {
    port: u16,
    dir: TempDir,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a fresh server.
    pub fn new() -> Self {
        let mut redis = Self::not_started();
        redis.start();
        redis
    }

    /// Reserves a port and a directory but does not start the server yet (for "Redis
    /// is down when the gateway starts").
    pub fn not_started() -> Self {
        RedisServer {
            port: free_port(),
            dir: tempfile::Builder::new()
                .prefix("redis-")
                .tempdir()
                .expect("temp dir for redis"),
            child: None,
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts the server (again) on its port and waits until it answers PING.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "redis is already running");
        let bin = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let log = self.dir.path().join("redis.log");
        let child = Command::new(&bin)
            .arg("--port")
            .arg(self.port.to_string())
            .args([
                "--bind",
                "127.0.0.1",
                "--daemonize",
                "no",
                "--protected-mode",
                "no",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--appendonly", "yes", "--save", ""])
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin} (is redis-server installed?): {e}"));
        self.child = Some(child);
        let start = Instant::now();
        loop {
            if ping(self.port) {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                panic!(
                    "redis-server exited with {status} at start; its log:\n{}",
                    fs::read_to_string(&log).unwrap_or_default()
                );
            }
            if start.elapsed() > Duration::from_secs(15) {
                panic!(
                    "redis-server on port {} did not answer PING within 15 s; its log:\n{}",
                    self.port,
                    fs::read_to_string(&log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server gracefully (SIGTERM: Redis flushes its append-only file) and
    /// waits until it has exited.
    pub fn stop(&mut self) {
        let mut child = self.child.take().expect("redis is not running");
        signal(&child, "TERM");
        wait_exit(
            &mut child,
            Duration::from_secs(15),
            "redis-server after SIGTERM",
        );
    }
}

impl Default for RedisServer {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// True when a server on `port` answers `+PONG` (not `-LOADING` and not a refusal).
fn ping(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(n) => buf[..n].starts_with(b"+PONG"),
        Err(_) => false,
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

/// An async connection to the Redis at `url`.
pub async fn redis_conn(url: &str) -> Result<redis::aio::MultiplexedConnection, String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| e.to_string())
}

/// One entry of a stream, as a consumer sees it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The stream entry id (`1700000000000-0`).
    pub entry_id: String,
    /// The `id` field: the message's ULID.
    pub id: String,
    /// The `type` field.
    pub kind: String,
    /// The `data` field, parsed.
    pub data: Value,
    /// The `data` field as sent.
    pub raw: String,
    /// Every field of the entry (`id`, `type`, `data` and any other, such as the consent
    /// ledger's `chain`, `prev_hash` and `hash`).
    pub fields: BTreeMap<String, String>,
}

/// The full name of a stream: `stream` behind [`PREFIX`].
pub fn stream_key(stream: &str) -> String {
    format!("{PREFIX}{stream}")
}

fn text(v: &redis::Value) -> String {
    match v {
        redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        redis::Value::SimpleString(s) => s.clone(),
        redis::Value::VerbatimString { text, .. } => text.clone(),
        redis::Value::Int(i) => i.to_string(),
        redis::Value::Double(d) => d.to_string(),
        redis::Value::Okay => "OK".into(),
        redis::Value::Nil => String::new(),
        other => format!("{other:?}"),
    }
}

/// Every entry of `stream` (name without the prefix), oldest first.
pub async fn try_read_stream(url: &str, stream: &str) -> Result<Vec<Entry>, String> {
    let mut conn = redis_conn(url).await?;
    let key = stream_key(stream);
    let reply: redis::Value = redis::cmd("XRANGE")
        .arg(&key)
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    let redis::Value::Array(items) = reply else {
        return Err(format!("XRANGE {key} returned {reply:?}"));
    };
    let mut entries = Vec::with_capacity(items.len());
    for item in items {
        let redis::Value::Array(parts) = item else {
            return Err(format!("unexpected XRANGE item {item:?}"));
        };
        let entry_id = text(&parts[0]);
        let mut fields = BTreeMap::new();
        match &parts[1] {
            redis::Value::Array(kv) => {
                for pair in kv.chunks(2) {
                    fields.insert(text(&pair[0]), text(&pair[1]));
                }
            }
            redis::Value::Map(kv) => {
                for (k, v) in kv {
                    fields.insert(text(k), text(v));
                }
            }
            other => return Err(format!("unexpected XRANGE fields {other:?}")),
        }
        let field = |name: &str| {
            fields.get(name).cloned().unwrap_or_else(|| {
                panic!("entry {entry_id} of {key} has no field `{name}`: {fields:?}")
            })
        };
        let raw = field("data");
        let data = serde_json::from_str(&raw).unwrap_or_else(|e| {
            panic!("entry {entry_id} of {key}: `data` is not JSON ({e}): {raw}")
        });
        entries.push(Entry {
            id: field("id"),
            kind: field("type"),
            entry_id,
            data,
            raw,
            fields,
        });
    }
    Ok(entries)
}

/// Every entry of `stream` (name without the prefix); panics if Redis cannot be read.
pub async fn read_stream(url: &str, stream: &str) -> Vec<Entry> {
    try_read_stream(url, stream)
        .await
        .unwrap_or_else(|e| panic!("cannot read stream {stream}: {e}"))
}

/// `XLEN` of `stream` (name without the prefix).
pub async fn try_stream_len(url: &str, stream: &str) -> Result<usize, String> {
    let mut conn = redis_conn(url).await?;
    redis::cmd("XLEN")
        .arg(stream_key(stream))
        .query_async::<usize>(&mut conn)
        .await
        .map_err(|e| e.to_string())
}

/// Waits (bounded by `timeout`) until `stream` holds at least `n` entries, and returns
/// them all.
pub async fn wait_for_stream_len_within(
    url: &str,
    stream: &str,
    n: usize,
    timeout: Duration,
) -> Vec<Entry> {
    wait_until(&format!("{n} entries on {stream}"), timeout, || async {
        match try_stream_len(url, stream).await {
            Ok(len) if len >= n => Ok(()),
            Ok(len) => Err(format!("{len} entries")),
            Err(e) => Err(e),
        }
    })
    .await;
    read_stream(url, stream).await
}

/// [`wait_for_stream_len_within`] with the default bound [`WAIT`].
pub async fn wait_for_stream_len(url: &str, stream: &str, n: usize) -> Vec<Entry> {
    wait_for_stream_len_within(url, stream, n, WAIT).await
}

/// Waits until `stream` holds at least `n` entries of type `kind`; returns those. For
/// streams that carry several types, such as `subject.v1` (requests and the gateway's
/// `erasure_done` / `access_report`).
pub async fn wait_for_entries_of(url: &str, stream: &str, kind: &str, n: usize) -> Vec<Entry> {
    wait_until(&format!("{n} {kind} entries on {stream}"), WAIT, || async {
        let entries: Vec<Entry> = read_stream(url, stream)
            .await
            .into_iter()
            .filter(|e| e.kind == kind)
            .collect();
        if entries.len() >= n {
            Ok(entries)
        } else {
            Err(format!("{} so far", entries.len()))
        }
    })
    .await
}

/// The appeal with `tracking` on `appeals.v1`, once it is there.
pub async fn appeal_with_tracking(redis: &RedisServer, tracking: &str) -> Value {
    wait_until("the appeal on appeals.v1", WAIT, || async {
        try_read_stream(&redis.url(), "appeals.v1")
            .await?
            .into_iter()
            .find(|e| e.data["tracking_number"] == tracking)
            .map(|e| e.data)
            .ok_or_else(|| format!("no appeal {tracking} yet"))
    })
    .await
}

/// The case system's side: one reply on `replies.v1`, as it would `XADD` it; its id.
pub async fn send_reply(redis: &RedisServer, reply: &Value) -> String {
    let mut conn = redis_conn(&redis.url()).await.expect("redis");
    let id = ulid::Ulid::new().to_string();
    redis::cmd("XADD")
        .arg(stream_key("replies.v1"))
        .arg("*")
        .arg("id")
        .arg(&id)
        .arg("type")
        .arg("reply")
        .arg("data")
        .arg(reply.to_string())
        .query_async::<String>(&mut conn)
        .await
        .expect("XADD reply");
    id
}

/// Everything Redis holds, rendered as text: every key (SCAN) with its value, whatever
/// its type. Used to prove a value never reached Redis.
pub async fn redis_dump(url: &str) -> String {
    let mut conn = redis_conn(url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to redis: {e}"));
    let mut out = String::new();
    let mut cursor: u64 = 0;
    let mut keys = Vec::new();
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await
            .expect("SCAN");
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    for key in keys {
        let kind: String = redis::cmd("TYPE")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .expect("TYPE");
        let mut cmd = match kind.as_str() {
            "string" => redis::cmd("GET"),
            "hash" => redis::cmd("HGETALL"),
            "list" => {
                let mut c = redis::cmd("LRANGE");
                c.arg(&key).arg(0).arg(-1);
                c
            }
            "set" => redis::cmd("SMEMBERS"),
            "zset" => {
                let mut c = redis::cmd("ZRANGE");
                c.arg(&key).arg(0).arg(-1).arg("WITHSCORES");
                c
            }
            "stream" => {
                let mut c = redis::cmd("XRANGE");
                c.arg(&key).arg("-").arg("+");
                c
            }
            _ => {
                out.push_str(&format!("{key} ({kind})\n"));
                continue;
            }
        };
        if matches!(kind.as_str(), "string" | "hash" | "set") {
            cmd.arg(&key);
        }
        let value: redis::Value = cmd.query_async(&mut conn).await.expect("read key");
        out.push_str(&key);
        out.push('\n');
        render(&value, &mut out);
        out.push('\n');
    }
    out
}

fn render(v: &redis::Value, out: &mut String) {
    match v {
        redis::Value::Array(items) | redis::Value::Set(items) => {
            for i in items {
                render(i, out);
            }
        }
        redis::Value::Map(kv) => {
            for (k, v) in kv {
                render(k, out);
                render(v, out);
            }
        }
        other => {
            out.push_str(&text(other));
            out.push('\n');
        }
    }
}

// ---------------------------------------------------------------------------------------
// The gateway process
// ---------------------------------------------------------------------------------------

/// How to start a [`Gateway`]: the environment and the command-line arguments.
/// `GATEWAY_BIND` and `GATEWAY_DATA_DIR` are set by the gateway helper itself unless the
/// options name them.
#[derive(Clone, Debug)]
pub struct GatewayOptions {
    pub env: BTreeMap<String, String>,
    pub args: Vec<String>,
}

impl GatewayOptions {
    /// The environment every test starts from.
    pub fn new(redis_url: &str) -> Self {
        let env = [
            ("REDIS_URL", redis_url),
            ("GATEWAY_STREAM_PREFIX", PREFIX),
            ("GATEWAY_SUBJECT_KEY_SECRET", SUBJECT_KEY_SECRET),
            // The CRM is the city's own system: it also files subject requests for the
            // data-protection officer and announces calls (issue 34's scopes).
            (
                "GATEWAY_API_TOKENS",
                &format!("crm:{CRM_TOKEN}:scopes=subject_requests+calls,portal:{PORTAL_TOKEN}"),
            ),
            // The test deployment's MTA, whose DMARC verdicts prove a mail's sender
            // (`tests/fixtures/email/marker_*.eml` carry one).
            ("GATEWAY_MAIL_TRUSTED_AUTHSERV", MTA_AUTHSERV),
            ("GATEWAY_LOG", "debug"),
            ("GATEWAY_LOG_FORMAT", "json"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        GatewayOptions {
            env,
            args: vec!["serve".into()],
        }
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    pub fn without(mut self, key: &str) -> Self {
        self.env.remove(key);
        self
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.args = args.iter().map(|a| a.to_string()).collect();
        self
    }
}

/// Path of the binary under test.
pub fn gateway_bin() -> &'static str {
    env!("CARGO_BIN_EXE_appeal-gateway")
}

/// Runs the binary to its end (for `--help` and refused configurations): returns the
/// exit status, stdout and stderr. Panics if it is still running after `timeout` (a
/// gateway that started serving despite a wrong configuration).
pub fn run_to_exit(opts: &GatewayOptions, timeout: Duration) -> (ExitStatus, String, String) {
    let work = tempfile::Builder::new()
        .prefix("gw-run-")
        .tempdir()
        .unwrap();
    let out_path = work.path().join("stdout");
    let err_path = work.path().join("stderr");
    let mut cmd = Command::new(gateway_bin());
    cmd.args(&opts.args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        // Any free port for `/metrics`: tests run side by side, and a run that serves
        // must not find the default port taken by another.
        .env("GATEWAY_METRICS_BIND", "127.0.0.1:0")
        .envs(&opts.env)
        .current_dir(work.path())
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap());
    let mut child = cmd.spawn().expect("spawn appeal-gateway");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "appeal-gateway {:?} with {:?} was still running after {timeout:?}; stderr:\n{}",
                opts.args,
                opts.env,
                fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status,
        fs::read_to_string(&out_path).unwrap_or_default(),
        fs::read_to_string(&err_path).unwrap_or_default(),
    )
}

/// A running `appeal-gateway serve`. Its stderr (the log) and stdout go to files that
/// survive restarts; its data directory survives [`Gateway::kill9`] and
/// [`Gateway::restart`]. Killed on drop.
pub struct Gateway {
    opts: GatewayOptions,
    work: TempDir,
    data_dir: PathBuf,
    child: Option<Child>,
    port: u16,
    /// `GATEWAY_METRICS_BIND`'s port: `/metrics` is not on the service's port.
    metrics_port: u16,
}

impl Gateway {
    /// Starts a gateway with the default options against `redis`, and waits for
    /// `/healthz`.
    pub async fn start(redis: &RedisServer) -> Gateway {
        Self::start_with(GatewayOptions::new(&redis.url())).await
    }

    /// Starts a gateway with `opts`, and waits for `/healthz`.
    pub async fn start_with(opts: GatewayOptions) -> Gateway {
        let work = tempfile::Builder::new().prefix("gw-").tempdir().unwrap();
        let data_dir = match opts.env.get("GATEWAY_DATA_DIR") {
            Some(d) => PathBuf::from(d),
            None => work.path().join("data"),
        };
        fs::create_dir_all(&data_dir).unwrap();
        let mut gw = Gateway {
            opts,
            work,
            data_dir,
            child: None,
            port: 0,
            metrics_port: 0,
        };
        gw.spawn();
        gw.wait_healthy().await;
        gw
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none(), "gateway already running");
        self.port = match self.opts.env.get("GATEWAY_BIND") {
            Some(bind) => bind.rsplit(':').next().unwrap().parse().unwrap(),
            None => free_port(),
        };
        self.metrics_port = match self.opts.env.get("GATEWAY_METRICS_BIND") {
            Some(bind) => bind.rsplit(':').next().unwrap().parse().unwrap(),
            None => free_port(),
        };
        let append = |name: &str| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.work.path().join(name))
                .unwrap()
        };
        let mut cmd = Command::new(gateway_bin());
        cmd.args(&self.opts.args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("GATEWAY_BIND", format!("127.0.0.1:{}", self.port))
            .env("GATEWAY_DATA_DIR", &self.data_dir)
            .env(
                "GATEWAY_METRICS_BIND",
                format!("127.0.0.1:{}", self.metrics_port),
            )
            .envs(&self.opts.env)
            .current_dir(self.work.path())
            .stdin(Stdio::null())
            .stdout(append("stdout.log"))
            .stderr(append("stderr.log"));
        self.child = Some(cmd.spawn().expect("spawn appeal-gateway"));
    }

    async fn wait_healthy(&mut self) {
        let client = reqwest::Client::new();
        let start = Instant::now();
        let in_use = "Address already in use";
        let clashes_before = self.logs().matches(in_use).count();
        let mut respawns = 0;
        loop {
            let url = self.url("/healthz");
            if let Ok(r) = client.get(&url).send().await
                && r.status() == 200
            {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                // A port picked by `free_port` can be taken by another test's process
                // between the pick and the gateway's bind; pick again, a few times, unless
                // the test pinned its ports.
                let pinned = self.opts.env.contains_key("GATEWAY_BIND")
                    || self.opts.env.contains_key("GATEWAY_METRICS_BIND");
                let clashes = self.logs().matches(in_use).count() - clashes_before;
                if !pinned && respawns < 3 && clashes > respawns {
                    respawns += 1;
                    self.spawn();
                    continue;
                }
                panic!(
                    "appeal-gateway exited with {status} before serving /healthz; stderr:\n{}",
                    self.logs()
                );
            }
            if start.elapsed() > WAIT {
                panic!(
                    "appeal-gateway did not answer 200 on {url} within {WAIT:?}; stderr:\n{}",
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills the process with SIGKILL (no chance to flush or say goodbye) and waits.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("gateway is not running");
        signal(&child, "KILL");
        wait_exit(
            &mut child,
            Duration::from_secs(10),
            "appeal-gateway after SIGKILL",
        );
    }

    /// Stops the process with SIGTERM and waits.
    pub fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("gateway is not running");
        signal(&child, "TERM");
        wait_exit(
            &mut child,
            Duration::from_secs(20),
            "appeal-gateway after SIGTERM",
        )
    }

    /// Starts the process again with the same options and data directory, on a new free
    /// port (unless `GATEWAY_BIND` was given), and waits for `/healthz`.
    pub async fn restart(&mut self) {
        self.spawn();
        self.wait_healthy().await;
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Everything the process (all its runs) wrote to stderr: the log.
    pub fn logs(&self) -> String {
        fs::read_to_string(self.work.path().join("stderr.log")).unwrap_or_default()
    }

    /// Everything the process (all its runs) wrote to stdout.
    pub fn stdout(&self) -> String {
        fs::read_to_string(self.work.path().join("stdout.log")).unwrap_or_default()
    }

    /// An HTTP client bound to this run of the gateway (take a new one after a restart).
    pub fn api(&self) -> Api {
        Api {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            base: format!("http://127.0.0.1:{}", self.port),
            metrics_url: self.metrics_url(),
        }
    }

    /// `/metrics`, on its own listen address (`GATEWAY_METRICS_BIND`).
    pub fn metrics_url(&self) -> String {
        format!("http://127.0.0.1:{}/metrics", self.metrics_port)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------

/// An answer of the gateway.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    /// The body as JSON; panics (showing the body) if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| {
            panic!(
                "body of a {} answer is not JSON ({e}): {}",
                self.status, self.text
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap_or_default().to_string())
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "expected HTTP {status}, got {}: {}",
            self.status, self.text
        );
        self
    }

    /// Asserts that this is a problem document (`application/problem+json`) with `status`
    /// and an error with `code` (and, when given, `field`); returns that error.
    #[track_caller]
    pub fn expect_problem(&self, status: u16, field: Option<&str>, code: &str) -> Value {
        self.expect_status(status);
        let ct = self.header("content-type").unwrap_or_default();
        assert!(
            ct.starts_with("application/problem+json"),
            "a {status} must be application/problem+json, got content-type {ct:?}: {}",
            self.text
        );
        let body = self.json();
        assert_eq!(body["status"], json!(status), "problem `status`: {body}");
        let title = body["title"].as_str().unwrap_or_default();
        assert!(
            !title.is_empty() && !title.contains(code),
            "the problem's title should be a human sentence, got {title:?}: {body}"
        );
        let errors = body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("problem without an `errors` array: {body}"));
        let found = errors
            .iter()
            .find(|e| e["code"] == code && field.is_none_or(|f| e["field"] == f))
            .cloned();
        let error = found.unwrap_or_else(|| {
            panic!("no error with code {code:?} and field {field:?} in the problem: {body}")
        });
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty() && !m.contains(code)),
            "every error carries a human message: {body}"
        );
        error
    }
}

/// A cheap, clonable HTTP client for one run of the gateway.
#[derive(Clone)]
pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
    /// Where this gateway serves `/metrics`.
    pub metrics_url: String,
}

/// The `Content-Type` of every API request unless a test says otherwise.
pub const JSON: &str = "application/json";

impl Api {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A POST with full control; transport errors are returned, not panicked on.
    pub async fn try_post(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, String> {
        let mut req = self.client.post(self.url(path)).body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.map_err(|e| format!("{e:?}"))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.map_err(|e| format!("{e:?}"))?;
        Ok(Reply {
            status,
            headers,
            text,
        })
    }

    /// POST `/api/v1/appeals`; transport errors are returned.
    pub async fn try_post_appeal(
        &self,
        token: &str,
        body: &Value,
        idempotency_key: Option<&str>,
    ) -> Result<Reply, String> {
        let mut headers = Vec::new();
        if let Some(k) = idempotency_key {
            headers.push(("Idempotency-Key", k));
        }
        self.try_post(
            "/api/v1/appeals",
            Some(token),
            Some(JSON),
            serde_json::to_vec(body).unwrap(),
            &headers,
        )
        .await
    }

    /// POST `/api/v1/appeals`; panics on a transport error.
    pub async fn post_appeal(
        &self,
        token: &str,
        body: &Value,
        idempotency_key: Option<&str>,
    ) -> Reply {
        self.try_post_appeal(token, body, idempotency_key)
            .await
            .unwrap_or_else(|e| panic!("POST /api/v1/appeals failed: {e}"))
    }

    /// POST `/api/v1/appeals` with the `crm` token and an `Accept-Language`.
    pub async fn post_appeal_lang(&self, body: &Value, lang: Option<&str>) -> Reply {
        let headers: Vec<(&str, &str)> = lang.map(|l| ("Accept-Language", l)).into_iter().collect();
        self.try_post(
            "/api/v1/appeals",
            Some(CRM_TOKEN),
            Some(JSON),
            serde_json::to_vec(body).unwrap(),
            &headers,
        )
        .await
        .unwrap_or_else(|e| panic!("POST /api/v1/appeals failed: {e}"))
    }

    /// POST `/api/v1/subject-requests` with the `crm` token; panics on a transport error.
    /// A body that does not say how the person was identified gets `verified_by: egov`,
    /// as the DPO's system sends it (the refusals without it are tested on their own).
    pub async fn post_subject_request(&self, body: &Value) -> Reply {
        let mut body = body.clone();
        if let Some(object) = body.as_object_mut() {
            object
                .entry("verified_by")
                .or_insert_with(|| Value::from("egov"));
        }
        self.try_post(
            "/api/v1/subject-requests",
            Some(CRM_TOKEN),
            Some(JSON),
            serde_json::to_vec(&body).unwrap(),
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("POST /api/v1/subject-requests failed: {e}"))
    }

    /// GET `path`; panics on a transport error.
    pub async fn get(&self, path: &str) -> Reply {
        let resp = self
            .client
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path} failed: {e}"));
        Reply {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            text: resp.text().await.unwrap(),
        }
    }

    /// `GET /readyz`, parsed: (HTTP status, body).
    pub async fn readyz(&self) -> (u16, Value) {
        let r = self.get("/readyz").await;
        let body = r.json();
        (r.status, body)
    }

    /// Waits until `/readyz` says ready with an empty outbox: everything accepted so far
    /// is in Redis.
    pub async fn wait_drained_within(&self, timeout: Duration) {
        wait_until("/readyz 200 with outbox_depth 0", timeout, || async {
            let r = self
                .client
                .get(self.url("/readyz"))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = r.status().as_u16();
            let body: Value = r.json().await.map_err(|e| e.to_string())?;
            if status == 200 && body["status"] == "ready" && body["outbox_depth"] == 0 {
                Ok(())
            } else {
                Err(format!("{status} {body}"))
            }
        })
        .await
    }

    pub async fn wait_drained(&self) {
        self.wait_drained_within(WAIT).await
    }

    /// The `/metrics` text, from the metrics listener (`GATEWAY_METRICS_BIND`).
    pub async fn metrics(&self) -> String {
        self.metrics_reply().await.expect_status(200).text.clone()
    }

    /// The answer of `GET /metrics` on the metrics listener.
    pub async fn metrics_reply(&self) -> Reply {
        let response = self
            .client
            .get(&self.metrics_url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {} failed: {e}", self.metrics_url));
        Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().await.unwrap_or_default(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Analytics (`analytics.v2`)
// ---------------------------------------------------------------------------------------

/// Runs `appeal-gateway analytics publish --at <at>` against `redis`; returns how many
/// periods it published.
pub fn publish_at(redis: &RedisServer, at: time::OffsetDateTime) -> u64 {
    let at = at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let opts = GatewayOptions::new(&redis.url()).args(&["analytics", "publish", "--at", &at]);
    let (status, stdout, stderr) = run_to_exit(&opts, Duration::from_secs(60));
    assert!(status.success(), "analytics publish failed: {stderr}");
    let report: Value = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    report["published"]
        .as_u64()
        .unwrap_or_else(|| panic!("{stdout}"))
}

/// Every message on `analytics.v2` (`appeal_aggregate` with `kind: appeal`,
/// `consultation_aggregate` with `kind: consultation`), each checked against its schema
/// and against k.
pub async fn aggregates(redis: &RedisServer, k: u64) -> Vec<Value> {
    let validator = |kind: &str| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("schemas")
            .join(format!("{kind}.schema.json"));
        let schema: Value =
            serde_json::from_str(&fs::read_to_string(path).unwrap_or_default()).unwrap_or_default();
        jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{kind} schema: {e}"))
    };
    let entries = read_stream(&redis.url(), "analytics.v2").await;
    entries
        .into_iter()
        .map(|e| {
            let kind = match e.kind.as_str() {
                "appeal_aggregate" => "appeal",
                "consultation_aggregate" => "consultation",
                other => panic!("{other} on analytics.v2"),
            };
            let a = e.data;
            let errors: Vec<String> = validator(&e.kind)
                .iter_errors(&a)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{errors:?}: {a}");
            assert_eq!(a["kind"], kind, "{a}");
            assert_eq!(a["id"], e.id.as_str());
            assert_eq!(a["schema_version"], 2, "{a}");
            assert_eq!(a["k"], k, "{a}");
            for cell in a["cells"].as_array().into_iter().flatten() {
                let count = cell["count"].as_u64().unwrap_or(0);
                assert!(count >= k, "a published cell counts {count} < k={k}: {a}");
            }
            if let Some(total) = a["total"].as_u64() {
                assert!(total >= k, "{a}");
            }
            a
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Test data and checks
// ---------------------------------------------------------------------------------------

/// The reference appeal of the integrators' documentation, including fields outside the
/// regulation's allowlist (religion, home address, card, passport scan).
pub fn valid_appeal() -> Value {
    json!({
        "channel": "api",
        "category": "roads",
        "subject": "Яма на дороге",
        "text": "На пр. Абая, 10 большая яма, машины объезжают по встречной.",
        "location": {"address": "пр. Абая, 10", "lat": 43.238, "lon": 76.945},
        "applicant": {
            "last_name": "Иванов",
            "first_name": "Иван",
            "patronymic": "Иванович",
            "email": "Ivan.Petrov@Mail.KZ",
            "phones": ["8 701 123 45 67"],
            "iin": "900101300017",
            "religion": "Пастафарианство-7731",
            "home_address": "ул. Толе би, 1, кв. 5",
            "bank_card": "4400 4301 2345 6789",
            "passport_scan": "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ"
        },
        "consent": {"method": "api", "purposes": ["appeal", "notifications"]},
        "reply_to": {"channel": "email", "address": "Ivan.Petrov@Mail.KZ"}
    })
}

/// A small valid appeal (only allowlisted fields) whose `subject` and `text` carry `tag`,
/// so that a stream entry can be matched to the request that made it.
pub fn tagged_appeal(tag: &str) -> Value {
    json!({
        "channel": "api",
        "category": "roads",
        "subject": format!("Яма на дороге {tag}"),
        "text": format!("Большая яма у дома, заявка {tag}, машины объезжают по встречной."),
        "location": {"address": "пр. Абая, 10", "lat": 43.238, "lon": 76.945},
        "applicant": {
            "last_name": "Иванов",
            "first_name": "Иван",
            "phones": ["+7 702 000 00 01"]
        },
        "consent": {"method": "api", "purposes": ["appeal"]}
    })
}

/// Does `dropped_fields` name `field` (as `field` or as a path ending in `.field`)?
pub fn names_dropped(dropped: &Value, field: &str) -> bool {
    dropped.as_array().is_some_and(|list| {
        list.iter()
            .filter_map(Value::as_str)
            .any(|name| name == field || name.ends_with(&format!(".{field}")))
    })
}

/// True for `OA-XXXX-XXXX` in Crockford base32 (no I, L, O, U).
pub fn is_tracking_number(s: &str) -> bool {
    let crockford = |c: char| c.is_ascii_digit() || (c.is_ascii_uppercase() && !"ILOU".contains(c));
    // `OA-XXXX-XXXX-C` (with Crockford's check symbol), or `OA-XXXX-XXXX` as issued
    // before it.
    let parts: Vec<&str> = s.split('-').collect();
    (parts.len() == 3 || (parts.len() == 4 && parts[3].chars().count() == 1))
        && parts[0] == "OA"
        && parts[1..]
            .iter()
            .enumerate()
            .all(|(i, p)| (i == 2 || p.chars().count() == 4) && p.chars().all(crockford))
}

/// True for a 26-character ULID in Crockford base32.
pub fn is_ulid(s: &str) -> bool {
    s.len() == 26
        && s.chars()
            .all(|c| c.is_ascii_digit() || (c.is_ascii_uppercase() && !"ILOU".contains(c)))
}

/// True for 64 lower-case hex digits.
pub fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

/// `HMAC-SHA256(GATEWAY_SUBJECT_KEY_SECRET, "<kind>:<normalized value>")` in lower-case
/// hex: the subject key the contract promises.
pub fn subject_key(kind: &str, normalized: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(SUBJECT_KEY_SECRET.as_bytes())
        .expect("hmac key");
    mac.update(format!("{kind}:{normalized}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The forms in which `value` could show up in text: as is, and JSON-escaped with
/// `\uXXXX` for every non-ASCII character (lower- and upper-case hex).
pub fn forms(value: &str) -> Vec<String> {
    let mut out = vec![value.to_string()];
    if !value.is_ascii() {
        for upper in [false, true] {
            let mut s = String::new();
            for c in value.chars() {
                if c.is_ascii() {
                    s.push(c);
                } else {
                    let mut buf = [0u16; 2];
                    for unit in c.encode_utf16(&mut buf) {
                        if upper {
                            s.push_str(&format!("\\u{unit:04X}"));
                        } else {
                            s.push_str(&format!("\\u{unit:04x}"));
                        }
                    }
                }
            }
            out.push(s);
        }
    }
    out
}

/// The values of `needles` found in `haystack` (in any of their [`forms`], ignoring
/// ASCII case).
pub fn found_in(haystack: &str, needles: &[&str]) -> Vec<String> {
    let hay = haystack.to_lowercase();
    needles
        .iter()
        .filter(|n| forms(n).iter().any(|f| hay.contains(&f.to_lowercase())))
        .map(|n| n.to_string())
        .collect()
}

/// Panics if any of `needles` occurs in `haystack`, naming the place and the values.
#[track_caller]
pub fn assert_none_in(haystack: &str, needles: &[&str], place: &str) {
    let found = found_in(haystack, needles);
    assert!(found.is_empty(), "{place} contains {found:?}");
}

/// Every file under `dir`, with its bytes.
pub fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = fs::read(&p) {
                out.push((p, bytes));
            }
        }
    }
    out
}

/// Panics if any of `needles` (in any of their [`forms`]) occurs in a file under `dir`.
#[track_caller]
pub fn assert_none_in_files(dir: &Path, needles: &[&str]) {
    let files = files_under(dir);
    let mut found = Vec::new();
    for (path, bytes) in &files {
        for n in needles {
            if forms(n)
                .iter()
                .any(|f| bytes.windows(f.len()).any(|w| w == f.as_bytes()))
            {
                found.push(format!("{} in {}", n, path.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the data directory holds dropped values: {found:?}"
    );
}

/// Ids of `entries` that occur more than once.
pub fn duplicate_ids(entries: &[Entry]) -> Vec<String> {
    let mut seen = HashSet::new();
    entries
        .iter()
        .filter(|e| !seen.insert(e.id.clone()))
        .map(|e| e.id.clone())
        .collect()
}

// ---------------------------------------------------------------------------------------
// Load
// ---------------------------------------------------------------------------------------

/// One request of a load run and what came of it.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Tag of the request: in its body and, when keyed, its `Idempotency-Key`.
    pub tag: String,
    pub body: Value,
    /// The answer, or the transport error.
    pub result: Result<Reply, String>,
}

impl Outcome {
    /// The appeal id when the answer was 202.
    pub fn accepted_id(&self) -> Option<String> {
        match &self.result {
            Ok(r) if r.status == 202 => r.json()["id"].as_str().map(str::to_string),
            _ => None,
        }
    }
}

/// Sends `tasks × per_task` appeals ([`tagged_appeal`], tags `{label}-{task}-{i}`)
/// concurrently, each task one after another; with `keyed`, each carries its tag as
/// `Idempotency-Key`. `done` counts finished requests, so a test can act mid-load.
pub async fn load(
    api: &Api,
    label: &str,
    tasks: usize,
    per_task: usize,
    keyed: bool,
    done: Arc<AtomicUsize>,
) -> Vec<Outcome> {
    let mut handles = Vec::new();
    for t in 0..tasks {
        let api = api.clone();
        let done = done.clone();
        let label = label.to_string();
        handles.push(tokio::spawn(async move {
            let mut out = Vec::with_capacity(per_task);
            for i in 0..per_task {
                let tag = format!("{label}-{t}-{i}");
                let body = tagged_appeal(&tag);
                let key = keyed.then_some(tag.as_str());
                let result = api.try_post_appeal(CRM_TOKEN, &body, key).await;
                done.fetch_add(1, Ordering::SeqCst);
                out.push(Outcome { tag, body, result });
            }
            out
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.expect("load task panicked"));
    }
    all
}

/// Waits until `counter` reaches `n`.
pub async fn wait_count(counter: &AtomicUsize, n: usize, what: &str) {
    wait_until(what, Duration::from_secs(120), || async {
        let c = counter.load(Ordering::SeqCst);
        if c >= n {
            Ok(())
        } else {
            Err(format!("{c} so far"))
        }
    })
    .await
}

/// Mail helpers of the email channel: an SMTP sink, `ingest-email`, IMAP.
pub mod mail;
