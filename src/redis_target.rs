//! Where Redis is: `REDIS_URL` turned into connections, for a single server, a server
//! watched by Sentinel, or a Redis Cluster.
//!
//! Every part of the gateway that talks to Redis (the forwarder in [`crate::queue`], the
//! notifier in [`crate::notify`], the status board in [`crate::status`] and the webhooks'
//! dedupe in [`crate::dialogue::dedupe`]) gets its connections here, so the three
//! deployments behave the same to them:
//!
//! | `REDIS_URL` | deployment |
//! | --- | --- |
//! | `redis://[user:pass@]host:6379[/db]`, `rediss://…` (TLS) | one server (or a proxy) |
//! | `redis+sentinel://[user:pass@]s1:26379,s2:26379,s3:26379/mymaster[/db]`, `rediss+sentinel://…` | the primary that the sentinels name for `mymaster` |
//! | `redis+cluster://[user:pass@]h1:7000,h2:7001,h3:7002`, `rediss+cluster://…` | a Redis Cluster, from any of its nodes |
//!
//! **Following a failover.** Sentinel: every new connection asks the sentinels which
//! server is the primary *now* (the `redis` crate's [`SentinelClient`], which also checks
//! with `ROLE` that the server it names is a primary). A connection to a primary that
//! died or was demoted fails, its user drops it and connects again, and so reaches the
//! promoted replica. Cluster: the crate's [`ClusterClient`] follows `MOVED`/`ASK` and
//! refreshes the slot map by itself.
//!
//! **Blocking reads** (`XREADGROUP BLOCK`) need a connection of their own: a multiplexed
//! connection queues every other command behind them. Ask [`RedisTarget::connect`] twice.
//!
//! **One slot.** On a cluster, a command touching several keys must find them in one hash
//! slot; the gateway keeps every key behind `GATEWAY_STREAM_PREFIX`, so a prefix with a
//! hash tag such as `{oa}` puts them all in one slot (see [`crate::keyspace`]), and
//! [`crate::config`] refuses a cluster URL with a prefix without one.
//!
//! The multi-host URL forms are parsed by hand: the `redis` crate reads single-server
//! URLs only, and a URL parser cannot read `h1:1,h2:2` as a host.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use redis::{IntoConnectionInfo, RedisFuture};

/// Why a `REDIS_URL` cannot be used. It never repeats the URL: it may hold a password.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("not a Redis URL such as redis://127.0.0.1:6379")]
    NotRedis,
    #[error("{0}: list at least one host:port")]
    NoHosts(&'static str),
    #[error(
        "redis+sentinel: name the primary after the hosts, e.g. redis+sentinel://s1:26379,s2:26379/mymaster"
    )]
    NoServiceName,
    #[error("{0}: `{1}` is not a host:port")]
    BadHost(&'static str, String),
    #[error("redis+cluster: a cluster has no databases; drop the path")]
    ClusterDb,
}

/// The kind of deployment a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    Standalone,
    Sentinel,
    Cluster,
}

/// How long to wait for a connection and for an answer.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    /// Longer than any blocking command sent on the connection (`XREADGROUP BLOCK`,
    /// `WAIT`): the crate's default of 500 ms would fail them.
    pub response: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(2),
            response: Duration::from_secs(10),
        }
    }
}

/// A parsed `REDIS_URL`: cheap to clone, shared by every part that talks to Redis.
#[derive(Clone)]
pub struct RedisTarget {
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    /// Clients are large and the enum is cloned around: boxed.
    Standalone(Box<redis::Client>),
    /// `SentinelClient` asks with `&mut self` (it caches its sentinel connections).
    Sentinel(Arc<tokio::sync::Mutex<SentinelClient>>),
    Cluster(Box<ClusterClient>),
}

impl std::fmt::Debug for RedisTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No addresses, no credentials: only the kind.
        write!(f, "RedisTarget({:?})", self.topology())
    }
}

/// The parts of a multi-host URL: TLS, the raw `user:pass@` (still percent-encoded),
/// the `host:port` list and the path segments.
struct MultiHost<'a> {
    tls: bool,
    userinfo: Option<&'a str>,
    hosts: Vec<&'a str>,
    path: Vec<&'a str>,
}

fn split_multi_host<'a>(
    rest: &'a str,
    tls: bool,
    form: &'static str,
) -> Result<MultiHost<'a>, TargetError> {
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => (Some(userinfo), hosts),
        None => (None, authority),
    };
    let hosts: Vec<&str> = hosts.split(',').filter(|h| !h.is_empty()).collect();
    if hosts.is_empty() {
        return Err(TargetError::NoHosts(form));
    }
    for host in &hosts {
        let port = host.rsplit_once(':').map(|(_, p)| p);
        if port.and_then(|p| p.parse::<u16>().ok()).is_none() {
            return Err(TargetError::BadHost(form, (*host).to_owned()));
        }
    }
    let path = path.split('/').filter(|s| !s.is_empty()).collect();
    Ok(MultiHost {
        tls,
        userinfo,
        hosts,
        path,
    })
}

impl MultiHost<'_> {
    /// A single-server URL for `host`, with the credentials when `with_auth`.
    fn node_url(&self, host: &str, with_auth: bool) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        match self.userinfo.filter(|_| with_auth) {
            Some(userinfo) => format!("{scheme}://{userinfo}@{host}"),
            None => format!("{scheme}://{host}"),
        }
    }
}

impl RedisTarget {
    /// Reads a `REDIS_URL` (forms in the module doc). Connects to nothing yet.
    pub fn parse(url: &str) -> Result<RedisTarget, TargetError> {
        let url = url.trim();
        let (scheme, rest) = url.split_once("://").ok_or(TargetError::NotRedis)?;
        let kind = match scheme {
            "redis+sentinel" | "rediss+sentinel" => {
                let form = "redis+sentinel";
                let parts = split_multi_host(rest, scheme.starts_with("rediss"), form)?;
                let (service, db) = match parts.path.as_slice() {
                    [service] => (*service, None),
                    [service, db] => (*service, Some(*db)),
                    _ => return Err(TargetError::NoServiceName),
                };
                // The primary's credentials and database, decoded by the crate itself.
                let mut primary_url = parts.node_url(parts.hosts[0], true);
                if let Some(db) = db {
                    primary_url = format!("{primary_url}/{db}");
                }
                let primary = primary_url
                    .as_str()
                    .into_connection_info()
                    .map_err(|_| TargetError::NotRedis)?;
                let mut node = SentinelNodeConnectionInfo::default()
                    .set_redis_connection_info(primary.redis_settings().clone());
                if parts.tls {
                    node = node.set_tls_mode(redis::TlsMode::Secure);
                }
                let sentinels: Vec<String> = parts
                    .hosts
                    .iter()
                    .map(|h| parts.node_url(h, false))
                    .collect();
                let client = SentinelClient::build(
                    sentinels,
                    service,
                    Some(node),
                    SentinelServerType::Master,
                )
                .map_err(|_| TargetError::NotRedis)?;
                Kind::Sentinel(Arc::new(tokio::sync::Mutex::new(client)))
            }
            "redis+cluster" | "rediss+cluster" => {
                let form = "redis+cluster";
                let parts = split_multi_host(rest, scheme.starts_with("rediss"), form)?;
                if !parts.path.is_empty() {
                    return Err(TargetError::ClusterDb);
                }
                let nodes: Vec<String> = parts
                    .hosts
                    .iter()
                    .map(|h| parts.node_url(h, true))
                    .collect();
                let client = ClusterClient::builder(nodes)
                    .build()
                    .map_err(|_| TargetError::NotRedis)?;
                Kind::Cluster(Box::new(client))
            }
            _ => Kind::Standalone(Box::new(
                redis::Client::open(url).map_err(|_| TargetError::NotRedis)?,
            )),
        };
        Ok(RedisTarget { kind })
    }

    /// What the URL named.
    pub fn topology(&self) -> Topology {
        match self.kind {
            Kind::Standalone(_) => Topology::Standalone,
            Kind::Sentinel(_) => Topology::Sentinel,
            Kind::Cluster(_) => Topology::Cluster,
        }
    }

    /// A new connection to the primary (for Sentinel: the one the sentinels name now).
    pub async fn connect(&self, timeouts: Timeouts) -> redis::RedisResult<RedisConn> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeouts.connect))
            .set_response_timeout(Some(timeouts.response));
        match &self.kind {
            Kind::Standalone(client) => client
                .get_multiplexed_async_connection_with_config(&config)
                .await
                .map(RedisConn::Single),
            Kind::Sentinel(sentinel) => {
                // Asking the sentinels is bounded too: a dead sentinel must not hang it.
                let ask = async { sentinel.lock().await.async_get_client().await };
                let client = tokio::time::timeout(timeouts.connect, ask)
                    .await
                    .map_err(|_| timed_out("no sentinel answered"))??;
                client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
                    .map(RedisConn::Single)
            }
            Kind::Cluster(client) => {
                let config = redis::cluster::ClusterConfig::new()
                    .set_connection_timeout(timeouts.connect)
                    .set_response_timeout(timeouts.response);
                let connect = client.get_async_connection_with_config(config);
                tokio::time::timeout(timeouts.connect * 2, connect)
                    .await
                    .map_err(|_| timed_out("no cluster node answered"))?
                    .map(|c| RedisConn::Cluster(Box::new(c)))
            }
        }
    }
}

fn timed_out(what: &'static str) -> redis::RedisError {
    redis::RedisError::from(std::io::Error::new(std::io::ErrorKind::TimedOut, what))
}

/// A connection to a single server or to a cluster; both take any command, pipeline or
/// script through [`redis::AsyncCommands`]. Cheap to clone (multiplexed).
#[derive(Clone)]
pub enum RedisConn {
    Single(MultiplexedConnection),
    Cluster(Box<ClusterConnection>),
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> RedisFuture<'a, redis::Value> {
        match self {
            RedisConn::Single(c) => c.req_packed_command(cmd),
            RedisConn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<redis::Value>> {
        match self {
            RedisConn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            RedisConn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConn::Single(c) => c.get_db(),
            RedisConn::Cluster(c) => c.get_db(),
        }
    }
}

/// Whether `prefix` carries a non-empty hash tag (`{…}`), which pins every key behind
/// it to one cluster slot (the rule Redis Cluster applies: the first `{`, the first `}`
/// after it, something between them).
pub fn has_hash_tag(prefix: &str) -> bool {
    prefix
        .find('{')
        .and_then(|open| prefix[open + 1..].find('}'))
        .is_some_and(|len| len > 0)
}

/// Creates the consumer group `group` on `stream` (and the stream), reading from its
/// start; a group that exists already is left as it is.
pub(crate) async fn ensure_group(
    conn: &mut RedisConn,
    stream: &str,
    group: &str,
) -> redis::RedisResult<()> {
    let created: redis::RedisResult<()> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(stream)
        .arg(group)
        .arg("0")
        .arg("MKSTREAM")
        .query_async(conn)
        .await;
    match created {
        Err(e) if e.code() != Some("BUSYGROUP") => Err(e),
        _ => Ok(()),
    }
}

/// The fields of a stream entry as Redis gave them.
pub(crate) type Fields = std::collections::HashMap<String, redis::Value>;

/// The entries of an `XREADGROUP` reply, in order.
fn entries_of_read(read: redis::streams::StreamReadReply) -> Vec<(String, Fields)> {
    read.keys
        .into_iter()
        .flat_map(|k| k.ids)
        .map(|id| (id.id, id.map))
        .collect()
}

/// One consumer of a consumer group on a stream.
pub(crate) struct Group<'a> {
    pub(crate) stream: &'a str,
    pub(crate) group: &'a str,
    pub(crate) consumer: &'a str,
}

impl Group<'_> {
    /// Up to `count` entries for this consumer: first those another consumer left
    /// unacknowledged for `min_idle` (`XAUTOCLAIM`: a dead instance's work is taken
    /// over), else new ones, waiting up to a second for them (`XREADGROUP … BLOCK`, on
    /// `reader`, so that a blocked read does not hold up other commands on `conn`).
    pub(crate) async fn claim_or_read(
        &self,
        conn: &mut RedisConn,
        reader: &mut RedisConn,
        min_idle: std::time::Duration,
        count: usize,
    ) -> redis::RedisResult<Vec<(String, Fields)>> {
        let claimed: redis::Value = redis::cmd("XAUTOCLAIM")
            .arg(self.stream)
            .arg(self.group)
            .arg(self.consumer)
            .arg(min_idle.as_millis() as u64)
            .arg("0-0")
            .arg("COUNT")
            .arg(count)
            .query_async(conn)
            .await?;
        let entries = entries_of_autoclaim(claimed);
        if !entries.is_empty() {
            return Ok(entries);
        }
        let read: redis::streams::StreamReadReply = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(self.group)
            .arg(self.consumer)
            .arg("COUNT")
            .arg(count)
            .arg("BLOCK")
            .arg(1000)
            .arg("STREAMS")
            .arg(self.stream)
            .arg(">")
            .query_async(reader)
            .await?;
        Ok(entries_of_read(read))
    }

    /// Up to `count` entries delivered to this consumer and not acknowledged: what it
    /// held when it last stopped, taken again at its start without waiting for them to
    /// be idle long enough to be claimed.
    pub(crate) async fn own_pending(
        &self,
        conn: &mut RedisConn,
        count: usize,
    ) -> redis::RedisResult<Vec<(String, Fields)>> {
        let read: redis::streams::StreamReadReply = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(self.group)
            .arg(self.consumer)
            .arg("COUNT")
            .arg(count)
            .arg("STREAMS")
            .arg(self.stream)
            .arg("0")
            .query_async(conn)
            .await?;
        Ok(entries_of_read(read))
    }
}

/// The entries an `XAUTOCLAIM` returned: `[next-id, [[id, [field, value, …]], …], …]`.
/// Pages through a stream with `XRANGE`, `count` entries a page, each page starting
/// after the last entry of the one before: the walk of the retention sweep's consent
/// checkpoints and of the subject requests' searches, without holding a whole stream.
pub(crate) struct StreamPager<'a> {
    stream: &'a str,
    from: String,
    end: String,
    count: usize,
    done: bool,
}

impl<'a> StreamPager<'a> {
    /// From the first entry of `stream` to `end` (an `XRANGE` bound: `+`, an id, or
    /// `(id` to stop before it).
    pub(crate) fn new(stream: &'a str, end: impl Into<String>, count: usize) -> StreamPager<'a> {
        StreamPager {
            stream,
            from: "-".to_owned(),
            end: end.into(),
            count,
            done: false,
        }
    }

    /// The next page; `None` once the stream (up to the end) is read.
    pub(crate) async fn next(
        &mut self,
        conn: &mut RedisConn,
    ) -> redis::RedisResult<Option<Vec<redis::streams::StreamId>>> {
        if self.done {
            return Ok(None);
        }
        let page: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
            .arg(self.stream)
            .arg(&self.from)
            .arg(&self.end)
            .arg("COUNT")
            .arg(self.count)
            .query_async(conn)
            .await?;
        let Some(tail) = page.ids.last() else {
            self.done = true;
            return Ok(None);
        };
        self.from = format!("({}", tail.id);
        self.done = page.ids.len() < self.count;
        Ok(Some(page.ids))
    }
}

fn entries_of_autoclaim(value: redis::Value) -> Vec<(String, Fields)> {
    let redis::Value::Array(parts) = value else {
        return Vec::new();
    };
    let Some(redis::Value::Array(items)) = parts.into_iter().nth(1) else {
        return Vec::new();
    };
    items
        .into_iter()
        .filter_map(|item| {
            let redis::Value::Array(pair) = item else {
                return None;
            };
            let mut pair = pair.into_iter();
            let id = match pair.next()? {
                redis::Value::BulkString(b) => String::from_utf8(b).ok()?,
                redis::Value::SimpleString(s) => s,
                _ => return None,
            };
            let mut fields = Fields::new();
            if let Some(redis::Value::Array(kv)) = pair.next() {
                let mut kv = kv.into_iter();
                while let (Some(k), Some(v)) = (kv.next(), kv.next()) {
                    if let redis::Value::BulkString(k) = k {
                        fields.insert(String::from_utf8_lossy(&k).into_owned(), v);
                    }
                }
            }
            Some((id, fields))
        })
        .collect()
}

/// What may be logged of a Redis error: its kind and code, and the text of connection
/// errors (which are about sockets). A server error's text is left out on principle.
pub(crate) fn describe(e: &redis::RedisError) -> String {
    if e.is_io_error() || e.is_connection_refusal() || e.is_timeout() || e.is_connection_dropped() {
        e.to_string()
    } else {
        format!("{:?} {}", e.kind(), e.code().unwrap_or(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_url_form_names_its_topology() {
        let cases = [
            ("redis://127.0.0.1:6379", Topology::Standalone),
            (
                "rediss://user:pw@redis.example:6380/2",
                Topology::Standalone,
            ),
            (
                "redis+sentinel://s1:26379,s2:26379,s3:26379/mymaster",
                Topology::Sentinel,
            ),
            (
                "redis+sentinel://:secret@s1:26379/mymaster/3",
                Topology::Sentinel,
            ),
            ("redis+cluster://h1:7000,h2:7001,h3:7002", Topology::Cluster),
            ("rediss+cluster://u:p%40w@h1:7000", Topology::Cluster),
        ];
        for (url, topology) in cases {
            let target = RedisTarget::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(target.topology(), topology, "{url}");
        }
    }

    #[test]
    fn malformed_urls_are_refused_without_repeating_a_password() {
        let cases = [
            ("localhost:6379", TargetError::NotRedis),
            ("redis+sentinel://s1:26379", TargetError::NoServiceName),
            (
                "redis+sentinel:///mymaster",
                TargetError::NoHosts("redis+sentinel"),
            ),
            (
                "redis+sentinel://pw@s1/mymaster",
                TargetError::BadHost("redis+sentinel", "s1".into()),
            ),
            ("redis+cluster://h1:7000/0", TargetError::ClusterDb),
        ];
        for (url, expected) in cases {
            let err = RedisTarget::parse(url).err();
            assert_eq!(err.as_ref(), Some(&expected), "{url}");
            assert!(
                !err.map(|e| e.to_string())
                    .unwrap_or_default()
                    .contains("pw@")
            );
        }
    }

    #[test]
    fn a_hash_tag_needs_something_between_the_braces() {
        assert!(has_hash_tag("{oa}"));
        assert!(has_hash_tag("city:{oa}:"));
        assert!(!has_hash_tag(""));
        assert!(!has_hash_tag("oa:"));
        assert!(!has_hash_tag("{}oa"));
        assert!(!has_hash_tag("{oa"));
    }
}
