//! Redis in the shapes production runs it, started by the tests on loopback: a primary
//! with replicas watched by three `redis-server --sentinel`, and a Redis Cluster made
//! with `redis-cli --cluster create`. Every process is killed on drop; every wait is
//! bounded and panics with what it last saw (see [`super::wait_until`]).
#![allow(dead_code)]

use std::fs;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::{free_port, ping, signal, wait_exit, wait_until};

/// One `redis-server` process (server, replica, sentinel or cluster node).
pub struct RedisProcess {
    name: String,
    port: u16,
    dir: TempDir,
    child: Option<Child>,
}

fn redis_bin() -> String {
    std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into())
}

impl RedisProcess {
    /// A server with `args` after the common ones (port, loopback, its own directory
    /// and log, no persistence unless `args` ask for it); waits for PING.
    pub fn server(name: &str, args: &[&str]) -> RedisProcess {
        let mut p = RedisProcess::reserve(name);
        let mut cmd = Command::new(redis_bin());
        cmd.arg("--port")
            .arg(p.port.to_string())
            .args([
                "--bind",
                "127.0.0.1",
                "--daemonize",
                "no",
                "--protected-mode",
                "no",
            ])
            .arg("--dir")
            .arg(p.dir.path())
            .arg("--logfile")
            .arg(p.dir.path().join("redis.log"))
            .args(["--save", "", "--appendonly", "no"])
            .args(args);
        p.spawn(cmd);
        p
    }

    /// A sentinel watching `primary_port` as `service` with quorum 2, declaring the
    /// primary down after one second of silence.
    pub fn sentinel(name: &str, service: &str, primary_port: u16) -> RedisProcess {
        let mut p = RedisProcess::reserve(name);
        let conf = p.dir.path().join("sentinel.conf");
        fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\ndaemonize no\nprotected-mode no\n\
                 dir {dir}\nlogfile {dir}/redis.log\n\
                 sentinel monitor {service} 127.0.0.1 {primary_port} 2\n\
                 sentinel down-after-milliseconds {service} 1000\n\
                 sentinel failover-timeout {service} 10000\n\
                 sentinel parallel-syncs {service} 1\n",
                port = p.port,
                dir = p.dir.path().display(),
            ),
        )
        .expect("write sentinel.conf");
        let mut cmd = Command::new(redis_bin());
        cmd.arg(&conf).arg("--sentinel");
        p.spawn(cmd);
        p
    }

    fn reserve(name: &str) -> RedisProcess {
        RedisProcess {
            name: name.to_owned(),
            port: free_port(),
            dir: tempfile::Builder::new()
                .prefix("redis-ha-")
                .tempdir()
                .expect("temp dir for redis"),
            child: None,
        }
    }

    fn spawn(&mut self, mut cmd: Command) {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start redis-server for {}: {e}", self.name));
        self.child = Some(child);
        let start = Instant::now();
        while !ping(self.port) {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                panic!(
                    "{} exited with {status} at start; its log:\n{}",
                    self.name,
                    self.log()
                );
            }
            if start.elapsed() > Duration::from_secs(15) {
                panic!(
                    "{} did not answer PING within 15 s; its log:\n{}",
                    self.name,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
    }

    /// SIGKILL: the process dies with whatever it had not replicated.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("redis process is not running");
        signal(&child, "KILL");
        wait_exit(
            &mut child,
            Duration::from_secs(10),
            "redis-server after SIGKILL",
        );
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A command's answer from the server at `port`, as a Redis value.
pub async fn query(port: u16, cmd: &redis::Cmd) -> Result<redis::Value, String> {
    let mut conn = super::redis_conn(&format!("redis://127.0.0.1:{port}")).await?;
    cmd.query_async::<redis::Value>(&mut conn)
        .await
        .map_err(|e| e.to_string())
}

/// `INFO <section>` of the server at `port`, as text.
pub async fn info(port: u16, section: &str) -> Result<String, String> {
    let mut cmd = redis::cmd("INFO");
    cmd.arg(section);
    match query(port, &cmd).await? {
        redis::Value::BulkString(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
        redis::Value::VerbatimString { text, .. } => Ok(text),
        other => Err(format!("INFO answered {other:?}")),
    }
}

/// A primary, `replicas` replicas and three sentinels that all see each other.
pub struct SentinelSet {
    pub service: String,
    pub primary: RedisProcess,
    pub replicas: Vec<RedisProcess>,
    pub sentinels: Vec<RedisProcess>,
}

impl SentinelSet {
    /// Starts everything and waits until the replicas are in sync and the sentinels
    /// can authorize a failover (`SENTINEL CKQUORUM`).
    pub async fn start(replicas: usize) -> SentinelSet {
        let service = "oa-primary".to_owned();
        let primary = RedisProcess::server("primary", &[]);
        let of = primary.port().to_string();
        let replicas: Vec<RedisProcess> = (0..replicas)
            .map(|i| {
                RedisProcess::server(&format!("replica-{i}"), &["--replicaof", "127.0.0.1", &of])
            })
            .collect();
        let want = format!("connected_slaves:{}", replicas.len());
        wait_until("replicas connected to the primary", super::WAIT, || async {
            let text = info(primary.port(), "replication").await?;
            if text.contains(&want) {
                Ok(())
            } else {
                Err(text)
            }
        })
        .await;
        let sentinels: Vec<RedisProcess> = (0..3)
            .map(|i| RedisProcess::sentinel(&format!("sentinel-{i}"), &service, primary.port()))
            .collect();
        for s in &sentinels {
            wait_until("sentinels that know each other", super::WAIT, || async {
                let mut cmd = redis::cmd("SENTINEL");
                cmd.arg("CKQUORUM").arg(&service);
                let ok = query(s.port(), &cmd).await?;
                let mut cmd = redis::cmd("SENTINEL");
                cmd.arg("SENTINELS").arg(&service);
                match query(s.port(), &cmd).await? {
                    redis::Value::Array(peers) if peers.len() == 2 => Ok(ok),
                    other => Err(format!("peers {other:?}")),
                }
            })
            .await;
        }
        SentinelSet {
            service,
            primary,
            replicas,
            sentinels,
        }
    }

    /// `REDIS_URL` of the gateway: the sentinel form.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self.sentinels.iter().map(RedisProcess::addr).collect();
        format!("redis+sentinel://{}/{}", hosts.join(","), self.service)
    }

    /// The port of the primary the sentinels name now.
    pub async fn primary_port(&self) -> Result<u16, String> {
        let mut cmd = redis::cmd("SENTINEL");
        cmd.arg("GET-MASTER-ADDR-BY-NAME").arg(&self.service);
        for s in &self.sentinels {
            let mut conn = match super::redis_conn(&s.url()).await {
                Ok(conn) => conn,
                Err(_) => continue,
            };
            if let Ok((_, port)) = cmd.query_async::<(String, u16)>(&mut conn).await {
                return Ok(port);
            }
        }
        Err("no sentinel named a primary".into())
    }

    /// Waits until the sentinels name another primary than `old`, that primary answers
    /// as one, and (when `replicas` > 0) that many replicas follow it.
    /// Waits until the sentinels name another primary than `old` and it says it is one
    /// (the moment of the promotion, before the other replicas follow it).
    pub async fn wait_promotion(&self, old: u16) -> u16 {
        wait_until("a promoted primary", Duration::from_secs(60), || async {
            let port = self.primary_port().await?;
            if port == old {
                return Err(format!("sentinels still name {port}"));
            }
            let text = info(port, "replication").await?;
            if text.contains("role:master") {
                Ok(port)
            } else {
                Err(text)
            }
        })
        .await
    }

    pub async fn wait_failover(&self, old: u16, replicas: usize) -> u16 {
        wait_until("a promoted primary", Duration::from_secs(60), || async {
            let port = self.primary_port().await?;
            if port == old {
                return Err(format!("sentinels still name {port}"));
            }
            let text = info(port, "replication").await?;
            if text.contains("role:master")
                && text.contains(&format!("connected_slaves:{replicas}"))
            {
                Ok(port)
            } else {
                Err(text)
            }
        })
        .await
    }
}

/// A Redis Cluster of `n` primaries (no replicas), every slot assigned.
pub struct Cluster {
    pub nodes: Vec<RedisProcess>,
}

impl Cluster {
    /// Starts `n` cluster-enabled servers, joins them with `redis-cli --cluster create`
    /// and waits until each reports `cluster_state:ok`.
    pub async fn start(n: usize) -> Cluster {
        let nodes: Vec<RedisProcess> = (0..n)
            .map(|i| {
                // A relative nodes.conf lands in the node's own directory (`--dir`).
                RedisProcess::server(
                    &format!("cluster-node-{i}"),
                    &[
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-node-timeout",
                        "2000",
                    ],
                )
            })
            .collect();
        let cli = std::env::var("REDIS_CLI").unwrap_or_else(|_| "redis-cli".into());
        let out = Command::new(&cli)
            .arg("--cluster")
            .arg("create")
            .args(nodes.iter().map(RedisProcess::addr))
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {cli} (is redis-tools installed?): {e}"));
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for node in &nodes {
            wait_until("cluster_state:ok", super::WAIT, || async {
                let mut cmd = redis::cmd("CLUSTER");
                cmd.arg("INFO");
                let text = match query(node.port(), &cmd).await? {
                    redis::Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
                    redis::Value::VerbatimString { text, .. } => text,
                    other => format!("{other:?}"),
                };
                if text.contains("cluster_state:ok") {
                    Ok(())
                } else {
                    Err(text)
                }
            })
            .await;
        }
        Cluster { nodes }
    }

    /// `REDIS_URL` of the gateway: the cluster form, every node listed.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self.nodes.iter().map(RedisProcess::addr).collect();
        format!("redis+cluster://{}", hosts.join(","))
    }

    /// The URL of the node that serves `key` (the others answer MOVED), so that the
    /// single-server helpers of [`super`] can read it.
    pub async fn owner_of(&self, key: &str) -> String {
        for node in &self.nodes {
            let mut cmd = redis::cmd("EXISTS");
            cmd.arg(key);
            if query(node.port(), &cmd).await.is_ok() {
                return node.url();
            }
        }
        panic!("no node serves {key}");
    }
}
