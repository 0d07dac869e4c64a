//! The tests' own `redis-server` ([`RedisServer`]), connections to it, and the streams
//! as a consumer reads them ([`read_stream`], [`wait_for_stream_len`], [`redis_dump`]).

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use super::*;

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
pub fn ping(port: u16) -> bool {
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
