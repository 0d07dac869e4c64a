//! Configuration: an optional TOML file, every key overridable by the environment names
//! of the contract. Every problem is found before the start is refused, each reported on
//! one line that names the key; a secret's value is never printed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::appeal::Channel;

/// Used when `GATEWAY_SUBJECT_KEY_SECRET` is unset, with a loud warning at start: subject
/// keys made with it are not pseudonymous to anyone who reads this file.
pub(crate) const DEVELOPMENT_SUBJECT_SECRET: &str = "development-only-subject-key-secret";

/// The file and environment, as read.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct RawConfig {
    /// Listen address (`GATEWAY_BIND`).
    pub(crate) bind: String,
    /// Redis URL (`REDIS_URL`).
    pub(crate) redis_url: String,
    /// Directory of the outbox (`GATEWAY_DATA_DIR`).
    pub(crate) data_dir: PathBuf,
    /// Prefix of every stream name (`GATEWAY_STREAM_PREFIX`).
    pub(crate) stream_prefix: String,
    /// Secret of the pseudonymous subject keys (`GATEWAY_SUBJECT_KEY_SECRET`).
    pub(crate) subject_key_secret: Option<String>,
    /// Integrator tokens `name:token,name:token` (`GATEWAY_API_TOKENS`).
    pub(crate) api_tokens: String,
    /// Log filter (`GATEWAY_LOG`), EnvFilter syntax.
    pub(crate) log: String,
    /// `text` or `json` (`GATEWAY_LOG_FORMAT`).
    pub(crate) log_format: String,
    /// Largest request body in bytes (`GATEWAY_MAX_BODY_BYTES`).
    #[serde(deserialize_with = "number")]
    pub(crate) max_body_bytes: u64,
    /// Seconds Redis remembers a forwarded message id (`GATEWAY_DEDUPE_TTL_SECS`).
    #[serde(deserialize_with = "number")]
    pub(crate) dedupe_ttl_secs: u64,
    /// Seconds an idempotent answer is kept (`GATEWAY_IDEMPOTENCY_TTL_SECS`).
    #[serde(deserialize_with = "number")]
    pub(crate) idempotency_ttl_secs: u64,
    /// Public base URL of the status pages, for links in messages (`GATEWAY_PUBLIC_URL`).
    pub(crate) public_url: String,
    /// This instance's name in the notifier's consumer group (`GATEWAY_INSTANCE`);
    /// keep it stable across restarts.
    pub(crate) instance: Option<String>,
    /// No longer read (`GATEWAY_INSTANCE_NUMBER`): tracking numbers are unique by
    /// construction now, whatever the configuration (see `crate::tracking::issuer`). A
    /// value still set is accepted and named in a warning at start.
    #[serde(default, deserialize_with = "optional_number")]
    pub(crate) instance_number: Option<u64>,
    /// Tries per route (`GATEWAY_NOTIFY_MAX_ATTEMPTS`).
    #[serde(deserialize_with = "number")]
    pub(crate) notify_max_attempts: u64,
    /// First retry delay in ms, doubled each time (`GATEWAY_NOTIFY_RETRY_BASE_MS`).
    #[serde(deserialize_with = "number")]
    pub(crate) notify_retry_base_ms: u64,
    /// Idle seconds before another instance takes a pending reply (`GATEWAY_NOTIFY_CLAIM_TIMEOUT_SECS`).
    #[serde(deserialize_with = "number")]
    pub(crate) notify_claim_timeout_secs: u64,
    /// Seconds from SIGTERM to exit (`GATEWAY_SHUTDOWN_SECS`, default 10, 1–300): the
    /// HTTP server finishes its requests and every background task what it holds within
    /// them; what is not finished then is redone at the next start. Keep it below the
    /// orchestrator's grace period (Kubernetes: 30 s).
    #[serde(deserialize_with = "number")]
    pub(crate) shutdown_secs: u64,
    /// What the shipped working calendar (`calendar/kazakhstan.toml`) does not know yet
    /// (`GATEWAY_HOLIDAYS`): `YYYY-MM-DD` days off that carry nothing (a Kurban Ait) and
    /// `YYYY-MM-DD>YYYY-MM-DD` transfers of a day of rest, comma-separated.
    pub(crate) holidays: String,
    /// Replicas that must confirm a record (`WAIT`) before the forwarder removes it from
    /// the outbox (`GATEWAY_REDIS_MIN_REPLICAS`), default 0: the primary's word is enough.
    /// With Sentinel, 1 or more: replication is asynchronous (see [`crate::queue`]).
    #[serde(deserialize_with = "number")]
    pub(crate) redis_min_replicas: u64,
    /// Proxies whose `X-Forwarded-For` names the client (`GATEWAY_TRUSTED_PROXIES`):
    /// addresses or CIDR ranges, comma-separated. Empty (the default): the peer is the
    /// client and no forwarded header is believed. Behind HAProxy, its address(es), so
    /// that the per-address limits count clients, not the proxy.
    pub(crate) trusted_proxies: String,
    /// How many leading bits of a client's IPv6 address make one client for the
    /// per-address limits (status lookups, logins, forms): `GATEWAY_CLIENT_IPV6_PREFIX`,
    /// 32–128, default 64. A home or a phone gets a whole /64 from its provider and may
    /// use any address in it: counted one by one, 1,600 of 1,600 guesses got through
    /// (issue 34).
    #[serde(deserialize_with = "number")]
    pub(crate) client_ipv6_prefix: u64,
    /// Where `/metrics` is served (`GATEWAY_METRICS_BIND`), default `127.0.0.1:9464`:
    /// loopback, apart from the service's port, so that the public never reads it (it
    /// showed the upload budget in use, which helps time an attack: issue 34). In a
    /// container, an address of the internal network Prometheus scrapes.
    pub(crate) metrics_bind: String,
    /// The k of `analytics.v2` (`GATEWAY_ANALYTICS_K`, 2–1000): no published count is
    /// below it (see [`crate::aggregates`]).
    #[serde(deserialize_with = "number")]
    pub(crate) analytics_k: u64,
    /// Days a stream entry is kept once every consumer group acknowledged it
    /// (`GATEWAY_STREAM_RETENTION_DAYS`), every stream but `consent.v1`.
    #[serde(deserialize_with = "number")]
    pub(crate) stream_retention_days: u64,
    /// Days a `consent.v1` entry is kept (`GATEWAY_CONSENT_RETENTION_DAYS`): the legal
    /// term of the consent evidence.
    #[serde(deserialize_with = "number")]
    pub(crate) consent_retention_days: u64,
    /// Days the photos of an accepted appeal are kept after it
    /// (`GATEWAY_ATTACHMENT_RETENTION_DAYS`).
    #[serde(deserialize_with = "number")]
    pub(crate) attachment_retention_days: u64,
    /// Hours a kept photo stays after the case system first fetched it
    /// (`GATEWAY_ATTACHMENT_FETCHED_RETENTION_HOURS`).
    #[serde(deserialize_with = "number")]
    pub(crate) attachment_fetched_retention_hours: u64,
    /// No longer read (`GATEWAY_STORE_CACHE_BYTES`): the outbox is a log whose memory is
    /// bounded by itself, and the Open311 index lives in Redis. A value still set is
    /// accepted and named in a warning at start.
    #[serde(default, deserialize_with = "optional_number")]
    pub(crate) store_cache_bytes: Option<u64>,
}

impl Default for RawConfig {
    fn default() -> Self {
        RawConfig {
            bind: "127.0.0.1:8080".into(),
            redis_url: "redis://127.0.0.1:6379".into(),
            data_dir: PathBuf::from("./data"),
            stream_prefix: String::new(),
            subject_key_secret: None,
            api_tokens: String::new(),
            log: "info".into(),
            log_format: "text".into(),
            max_body_bytes: 1024 * 1024,
            dedupe_ttl_secs: 7 * 24 * 3600,
            idempotency_ttl_secs: 24 * 3600,
            public_url: "https://open-almaty.kz".into(),
            instance: None,
            instance_number: None,
            notify_max_attempts: 5,
            notify_retry_base_ms: 500,
            notify_claim_timeout_secs: 60,
            shutdown_secs: 10,
            holidays: String::new(),
            redis_min_replicas: 0,
            trusted_proxies: String::new(),
            client_ipv6_prefix: 64,
            metrics_bind: "127.0.0.1:9464".into(),
            analytics_k: u64::from(crate::aggregates::DEFAULT_K),
            stream_retention_days: 30,
            consent_retention_days: 5 * 365,
            attachment_retention_days: 90,
            attachment_fetched_retention_hours: 72,
            store_cache_bytes: None,
        }
    }
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The configuration, checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub(crate) redis_url: String,
    pub data_dir: PathBuf,
    pub(crate) stream_prefix: String,
    pub(crate) subject_key_secret: String,
    /// True when the development secret is in use.
    pub(crate) subject_key_is_default: bool,
    /// Integrator tokens by name, with their scopes.
    pub(crate) api_tokens: BTreeMap<String, ApiToken>,
    pub log: String,
    pub log_format: LogFormat,
    pub(crate) max_body_bytes: usize,
    pub(crate) dedupe_ttl: Duration,
    pub(crate) idempotency_ttl: Duration,
    pub(crate) public_url: String,
    pub(crate) instance: String,
    /// This instance's slot of the tracking-number space.
    /// Settings still given that this release no longer reads (a warning at start).
    pub(crate) ignored: Vec<&'static str>,
    pub(crate) notify_max_attempts: u32,
    pub(crate) notify_retry_base: Duration,
    pub(crate) notify_claim_timeout: Duration,
    /// From SIGTERM to exit, at most.
    pub(crate) shutdown: Duration,
    pub(crate) calendar: crate::deadline::Calendar,
    /// Replicas that must confirm a record before it leaves the outbox.
    pub(crate) redis_min_replicas: u32,
    /// Proxies whose forwarded client address is believed.
    pub(crate) trusted_proxies: crate::trusted_proxies::TrustedProxies,
    /// Leading bits of an IPv6 address that make one client for the limits.
    pub(crate) client_ipv6_prefix: u8,
    /// The listen address of `/metrics`.
    pub(crate) metrics_bind: SocketAddr,
    /// The k of `analytics.v2`.
    pub(crate) analytics_k: u32,
    /// Retention of stream entries acknowledged by every group (`consent.v1` aside).
    pub(crate) stream_retention: Duration,
    /// Retention of `consent.v1` entries.
    pub(crate) consent_retention: Duration,
    /// Retention of the photos of accepted appeals.
    pub(crate) attachment_retention: Duration,
    /// How long a kept photo stays after its first fetch by the case system.
    pub(crate) attachment_fetched_retention: Duration,
    /// Every source merged (defaults, the file, the environment): each channel reads
    /// its own settings from it ([`Config::section`]).
    pub(crate) source: Figment,
}

/// The email channel's settings, checked. Each way is off when its settings are absent.
/// The environment names that are not `GATEWAY_` + the key in upper case.
const ENV_EXCEPTIONS: [(&str, &str); 1] = [("redis_url", "REDIS_URL")];

/// The name a user knows a key by: its environment name (`stream_prefix` is
/// `GATEWAY_STREAM_PREFIX`).
pub(crate) fn env_name(key: &str) -> String {
    ENV_EXCEPTIONS.iter().find(|(k, _)| *k == key).map_or_else(
        || format!("GATEWAY_{}", key.to_ascii_uppercase()),
        |(_, env)| (*env).to_owned(),
    )
}

/// One line per problem of a figment extraction, each naming the key by its environment
/// name and never quoting the value.
fn problems_of(errors: figment::Error) -> Vec<String> {
    errors
        .into_iter()
        .map(|e| {
            let key = e
                .path
                .first()
                .map_or("configuration".to_owned(), |k| env_name(k));
            format!("{key}: {}", e.kind)
        })
        .collect()
}

/// A number given as a number (TOML) or as text (the environment, where every value is
/// text: a secret of digits must stay text, so nothing is guessed before the type is
/// known).
pub(crate) fn number<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr + TryFrom<u64>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        Number(u64),
        Text(String),
    }
    let invalid = || serde::de::Error::custom("not a whole number");
    match Given::deserialize(deserializer)? {
        Given::Number(n) => T::try_from(n).map_err(|_| invalid()),
        Given::Text(t) => t.trim().parse::<T>().map_err(|_| invalid()),
    }
}

/// An optional [`number`].
pub(crate) fn optional_number<'de, D>(deserializer: D) -> Result<Option<u64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        Number(u64),
        Text(String),
    }
    match Option::<Given>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Given::Number(n)) => Ok(Some(n)),
        Some(Given::Text(t)) if t.trim().is_empty() => Ok(None),
        Some(Given::Text(t)) => t
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom("not a whole number")),
    }
}

/// The file in `GATEWAY_DATA_DIR` holding the instance's name when none is configured.
pub(crate) const INSTANCE_NAME_FILE: &str = "instance-name";

/// A yes/no setting: `true`/`false`, `1`/`0`, `yes`/`no`, as a boolean or as text.
pub(crate) fn flag<'de, D>(deserializer: D) -> Result<bool, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        Bool(bool),
        Text(String),
    }
    match Given::deserialize(deserializer)? {
        Given::Bool(b) => Ok(b),
        Given::Text(t) => match t.trim() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err(serde::de::Error::custom("true or false")),
        },
    }
}

impl Config {
    /// Reads the file (if any) and the environment. `Err` holds one line per problem.
    /// Every `GATEWAY_*` variable (and `REDIS_URL`) becomes the key of its name in lower
    /// case, as text; the settings' types read numbers and flags from text.
    pub fn load(file: Option<&Path>) -> Result<Config, Vec<String>> {
        let mut figment = Figment::from(Serialized::defaults(RawConfig::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(vec![format!(
                    "GATEWAY_CONFIG: file {} does not exist",
                    path.display()
                )]);
            }
            figment = figment.merge(Toml::file(path));
        }
        for (name, value) in std::env::vars() {
            let key = match name.strip_prefix("GATEWAY_") {
                Some("CONFIG") => continue,
                Some(rest) => rest.to_ascii_lowercase(),
                None if name == "REDIS_URL" => "redis_url".to_owned(),
                None => continue,
            };
            figment = figment.merge(Serialized::default(&key, value));
        }
        let raw: RawConfig = figment.extract().map_err(problems_of)?;
        Config::check(raw, figment)
    }

    /// A channel's settings, read from the same sources as the core's; `Err` names every
    /// key at fault.
    pub(crate) fn section<T: serde::de::DeserializeOwned>(&self) -> Result<T, Vec<String>> {
        self.source.extract().map_err(problems_of)
    }

    /// Checks every value; all problems at once.
    pub(crate) fn check(raw: RawConfig, source: Figment) -> Result<Config, Vec<String>> {
        let mut problems = Vec::new();
        let bind = raw.bind.parse::<SocketAddr>().unwrap_or_else(|_| {
            problems.push(format!(
                "GATEWAY_BIND: `{}` is not an address such as 127.0.0.1:8080",
                raw.bind
            ));
            SocketAddr::from(([127, 0, 0, 1], 8080))
        });
        match crate::redis_target::RedisTarget::parse(&raw.redis_url) {
            Err(e) => problems.push(format!("REDIS_URL: {e}")),
            Ok(target)
                if target.topology() == crate::redis_target::Topology::Cluster
                    && !crate::redis_target::has_hash_tag(&raw.stream_prefix) =>
            {
                problems.push(
                    "GATEWAY_STREAM_PREFIX: a Redis Cluster needs a hash tag in the prefix, such as {oa}, so that each command's keys share one slot".to_owned(),
                );
            }
            Ok(_) => {}
        }
        if !(1..=36_500).contains(&raw.stream_retention_days) {
            problems.push("GATEWAY_STREAM_RETENTION_DAYS: between 1 and 36500".to_owned());
        }
        if !(1..=36_500).contains(&raw.attachment_retention_days) {
            problems.push("GATEWAY_ATTACHMENT_RETENTION_DAYS: between 1 and 36500".to_owned());
        }
        if !(1..=876_000).contains(&raw.attachment_fetched_retention_hours) {
            problems.push(
                "GATEWAY_ATTACHMENT_FETCHED_RETENTION_HOURS: between 1 and 876000".to_owned(),
            );
        }
        if !(1..=36_500).contains(&raw.consent_retention_days) {
            problems.push("GATEWAY_CONSENT_RETENTION_DAYS: between 1 and 36500".to_owned());
        }
        if !(32..=128).contains(&raw.client_ipv6_prefix) {
            problems.push("GATEWAY_CLIENT_IPV6_PREFIX: between 32 and 128".to_owned());
        }
        let metrics_bind = raw.metrics_bind.trim().parse::<SocketAddr>();
        if metrics_bind.is_err() {
            problems.push(
                "GATEWAY_METRICS_BIND: not an address and port such as 127.0.0.1:9464".to_owned(),
            );
        }
        if !(2..=1000).contains(&raw.analytics_k) {
            problems.push("GATEWAY_ANALYTICS_K: between 2 and 1000".to_owned());
        }
        if raw.redis_min_replicas > 16 {
            problems.push("GATEWAY_REDIS_MIN_REPLICAS: between 0 and 16".to_owned());
        }
        if raw.data_dir.as_os_str().is_empty() {
            problems.push("GATEWAY_DATA_DIR: must not be empty".to_owned());
        }
        if !raw
            .stream_prefix
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '*')
        {
            problems.push(
                "GATEWAY_STREAM_PREFIX: only printable ASCII without spaces or `*`".to_owned(),
            );
        }
        let (subject_key_secret, subject_key_is_default) = match raw.subject_key_secret {
            None => (DEVELOPMENT_SUBJECT_SECRET.to_owned(), true),
            Some(s) if s.len() < 16 => {
                problems
                    .push("GATEWAY_SUBJECT_KEY_SECRET: must be at least 16 characters".to_owned());
                (s, false)
            }
            Some(s) => (s, false),
        };
        let api_tokens = parse_tokens(&raw.api_tokens).unwrap_or_else(|problem| {
            problems.push(format!("GATEWAY_API_TOKENS: {problem}"));
            BTreeMap::new()
        });
        if tracing_subscriber::EnvFilter::try_new(&raw.log).is_err() {
            problems.push(format!(
                "GATEWAY_LOG: `{}` is not a log filter such as info or debug",
                raw.log
            ));
        }
        let log_format = match raw.log_format.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                problems.push(format!(
                    "GATEWAY_LOG_FORMAT: `{other}` is neither text nor json"
                ));
                LogFormat::Text
            }
        };
        if raw.max_body_bytes < 1024 || raw.max_body_bytes > 64 * 1024 * 1024 {
            problems.push("GATEWAY_MAX_BODY_BYTES: between 1024 and 67108864".to_owned());
        }
        if raw.dedupe_ttl_secs < 60 {
            problems.push("GATEWAY_DEDUPE_TTL_SECS: at least 60".to_owned());
        }
        if raw.idempotency_ttl_secs < 60 {
            problems.push("GATEWAY_IDEMPOTENCY_TTL_SECS: at least 60".to_owned());
        }
        if raw.notify_max_attempts == 0 || raw.notify_max_attempts > 20 {
            problems.push("GATEWAY_NOTIFY_MAX_ATTEMPTS: between 1 and 20".to_owned());
        }
        if raw.notify_claim_timeout_secs == 0 {
            problems.push("GATEWAY_NOTIFY_CLAIM_TIMEOUT_SECS: at least 1".to_owned());
        }
        if !(1..=300).contains(&raw.shutdown_secs) {
            problems.push("GATEWAY_SHUTDOWN_SECS: between 1 and 300".to_owned());
        }
        let calendar = crate::deadline::Calendar::parse(&raw.holidays).unwrap_or_else(|e| {
            problems.push(format!("GATEWAY_HOLIDAYS: {e}"));
            crate::deadline::Calendar::default()
        });
        let trusted_proxies = crate::trusted_proxies::TrustedProxies::parse(&raw.trusted_proxies)
            .unwrap_or_else(|e| {
                problems.push(format!("GATEWAY_TRUSTED_PROXIES: {e}"));
                Default::default()
            });
        // Unset and no HOSTNAME: the name this data directory was given at its first
        // `serve` (`instance-name` in it), so that instances started with the very same
        // settings still have names of their own (their consumer groups); `serve` gives
        // one when there is none yet (`app::instance_name`).
        let instance = raw
            .instance
            .filter(|i| !i.trim().is_empty())
            .or_else(|| {
                std::env::var("HOSTNAME")
                    .ok()
                    .filter(|h| !h.trim().is_empty())
            })
            .or_else(|| {
                std::fs::read_to_string(raw.data_dir.join(INSTANCE_NAME_FILE))
                    .ok()
                    .map(|n| n.trim().to_owned())
                    .filter(|n| !n.is_empty())
            })
            .unwrap_or_default();
        if !problems.is_empty() {
            return Err(problems);
        }
        let ignored = [
            ("GATEWAY_INSTANCE_NUMBER", raw.instance_number.is_some()),
            ("GATEWAY_STORE_CACHE_BYTES", raw.store_cache_bytes.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, set)| set.then_some(key))
        .collect();
        Ok(Config {
            bind,
            redis_url: raw.redis_url,
            data_dir: raw.data_dir,
            stream_prefix: raw.stream_prefix,
            subject_key_secret,
            subject_key_is_default,
            api_tokens,
            log: raw.log,
            log_format,
            max_body_bytes: usize::try_from(raw.max_body_bytes).unwrap_or(usize::MAX),
            dedupe_ttl: Duration::from_secs(raw.dedupe_ttl_secs),
            idempotency_ttl: Duration::from_secs(raw.idempotency_ttl_secs),
            public_url: raw.public_url,
            instance,
            ignored,
            notify_max_attempts: u32::try_from(raw.notify_max_attempts).unwrap_or(5),
            notify_retry_base: Duration::from_millis(raw.notify_retry_base_ms),
            notify_claim_timeout: Duration::from_secs(raw.notify_claim_timeout_secs),
            shutdown: Duration::from_secs(raw.shutdown_secs),
            calendar,
            redis_min_replicas: u32::try_from(raw.redis_min_replicas).unwrap_or(0),
            trusted_proxies,
            client_ipv6_prefix: u8::try_from(raw.client_ipv6_prefix).unwrap_or(64),
            metrics_bind: metrics_bind.unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 9464))),
            analytics_k: u32::try_from(raw.analytics_k).unwrap_or(crate::aggregates::DEFAULT_K),
            stream_retention: Duration::from_secs(raw.stream_retention_days * 86_400),
            consent_retention: Duration::from_secs(raw.consent_retention_days * 86_400),
            attachment_retention: Duration::from_secs(raw.attachment_retention_days * 86_400),
            attachment_fetched_retention: Duration::from_secs(
                raw.attachment_fetched_retention_hours * 3600,
            ),
            source,
        })
    }
}

/// `name:token,name:token`; names are `[A-Za-z0-9_-]`, tokens at least 16 characters.
/// The problem never quotes a token.
/// One integrator token of `GATEWAY_API_TOKENS` and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiToken {
    pub(crate) token: String,
    /// The channels the token may submit appeals and subject requests for (`channel`
    /// of the body); `api` unless the entry names others. Never an agent's desk.
    pub(crate) channels: Vec<Channel>,
    /// What else the token may do beyond submitting appeals (issue 34): none unless the
    /// entry names them.
    pub(crate) scopes: Vec<Scope>,
}

/// A right of an integrator token beyond submitting appeals, named in its entry of
/// `GATEWAY_API_TOKENS` (`:scopes=subject_requests+calls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// `POST /api/v1/subject-requests`: erasure, withdrawal, access and the others on a
    /// person's behalf — the data-protection officer's system, not every integrator.
    SubjectRequests,
    /// `POST /api/v1/calls/incoming`: announcing a caller to an agent (telephony).
    Calls,
    /// `reply_to.confirmed: true` on an appeal: the integrator's own system proved the
    /// citizen's email address or phone number (issue 30).
    ConfirmedContacts,
}

impl Scope {
    fn parse(s: &str) -> Option<Scope> {
        match s {
            "subject_requests" => Some(Scope::SubjectRequests),
            "calls" => Some(Scope::Calls),
            "confirmed_contacts" => Some(Scope::ConfirmedContacts),
            _ => None,
        }
    }
}

/// The channels only an agent's own token may name (issue 17, point 6).
pub(crate) const AGENT_CHANNELS: [Channel; 2] = [Channel::CallCenter, Channel::FrontOffice];

/// `GATEWAY_API_TOKENS`: entries `name:token`, optionally followed by
/// `:channels=a+b` and `:scopes=x+y` (either order), separated by commas. A name is
/// letters, digits, `_` and `-`; a token at least 16 characters (it may hold `:` unless
/// an option follows it).
fn parse_tokens(spec: &str) -> Result<BTreeMap<String, ApiToken>, String> {
    let mut tokens = BTreeMap::new();
    for (i, item) in spec
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .enumerate()
    {
        let Some((name, rest)) = item.split_once(':') else {
            return Err(format!("entry {} is not name:token", i + 1));
        };
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(format!(
                "entry {}: the name must be letters, digits, _ or -",
                i + 1
            ));
        }
        let mut token = rest;
        let mut channels = vec![Channel::Api];
        let mut scopes = Vec::new();
        // Options are peeled off the end, the last one first: a token may itself hold
        // `:`.
        loop {
            let channels_at = token.rfind(":channels=");
            let scopes_at = token.rfind(":scopes=");
            if let Some(at) = channels_at.filter(|c| scopes_at.is_none_or(|s| *c > s)) {
                let list = &token[at + ":channels=".len()..];
                channels = Vec::new();
                for channel in list.split('+').map(str::trim) {
                    let Some(channel) = Channel::parse(channel) else {
                        return Err(format!(
                            "token `{name}`: `{channel}` is not a channel (api, web_form, budget_portal, telegram, whatsapp, email, open311)"
                        ));
                    };
                    if AGENT_CHANNELS.contains(&channel) {
                        return Err(format!(
                            "token `{name}`: {channel} appeals are entered by agents, with their own tokens (`appeal-gateway agents add … --token`)"
                        ));
                    }
                    if !channels.contains(&channel) {
                        channels.push(channel);
                    }
                }
                token = &token[..at];
            } else if let Some(at) = scopes_at {
                let list = &token[at + ":scopes=".len()..];
                for scope in list.split('+').map(str::trim) {
                    let Some(scope) = Scope::parse(scope) else {
                        return Err(format!(
                            "token `{name}`: `{scope}` is not a scope (subject_requests, calls)"
                        ));
                    };
                    if !scopes.contains(&scope) {
                        scopes.push(scope);
                    }
                }
                token = &token[..at];
            } else {
                break;
            }
        }
        if token.len() < 16 {
            return Err(format!("token `{name}` is shorter than 16 characters"));
        }
        let entry = ApiToken {
            token: token.to_owned(),
            channels,
            scopes,
        };
        if tokens.insert(name.to_owned(), entry).is_some() {
            return Err(format!("the name `{name}` appears twice"));
        }
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests;
