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

/// Used when `GATEWAY_SUBJECT_KEY_SECRET` is unset, with a loud warning at start: subject
/// keys made with it are not pseudonymous to anyone who reads this file.
pub const DEVELOPMENT_SUBJECT_SECRET: &str = "development-only-subject-key-secret";

/// The file and environment, as read.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RawConfig {
    /// Listen address (`GATEWAY_BIND`).
    pub bind: String,
    /// Redis URL (`REDIS_URL`).
    pub redis_url: String,
    /// Directory of the outbox (`GATEWAY_DATA_DIR`).
    pub data_dir: PathBuf,
    /// Prefix of every stream name (`GATEWAY_STREAM_PREFIX`).
    pub stream_prefix: String,
    /// Secret of the pseudonymous subject keys (`GATEWAY_SUBJECT_KEY_SECRET`).
    pub subject_key_secret: Option<String>,
    /// Integrator tokens `name:token,name:token` (`GATEWAY_API_TOKENS`).
    pub api_tokens: String,
    /// Log filter (`GATEWAY_LOG`), EnvFilter syntax.
    pub log: String,
    /// `text` or `json` (`GATEWAY_LOG_FORMAT`).
    pub log_format: String,
    /// Largest request body in bytes (`GATEWAY_MAX_BODY_BYTES`).
    pub max_body_bytes: u64,
    /// Seconds Redis remembers a forwarded message id (`GATEWAY_DEDUPE_TTL_SECS`).
    pub dedupe_ttl_secs: u64,
    /// Seconds an idempotent answer is kept (`GATEWAY_IDEMPOTENCY_TTL_SECS`).
    pub idempotency_ttl_secs: u64,
    /// Public base URL of the status pages, for links in messages (`GATEWAY_PUBLIC_URL`).
    pub public_url: String,
    /// This instance's name in the notifier's consumer group (`GATEWAY_INSTANCE`);
    /// keep it stable across restarts.
    pub instance: Option<String>,
    /// SMS provider endpoint (`GATEWAY_SMS_API_URL`).
    pub sms_api_url: Option<String>,
    /// SMS provider key (`GATEWAY_SMS_API_KEY`).
    pub sms_api_key: Option<String>,
    /// SMS sender name (`GATEWAY_SMS_SENDER`).
    pub sms_sender: Option<String>,
    /// No SMS between these hours, Almaty time: `22-8`, or `off` (`GATEWAY_SMS_QUIET_HOURS`).
    pub sms_quiet_hours: String,
    /// Most SMS parts per message before it is cut with a status link (`GATEWAY_SMS_MAX_PARTS`).
    pub sms_max_parts: u64,
    /// Tries per route (`GATEWAY_NOTIFY_MAX_ATTEMPTS`).
    pub notify_max_attempts: u64,
    /// First retry delay in ms, doubled each time (`GATEWAY_NOTIFY_RETRY_BASE_MS`).
    pub notify_retry_base_ms: u64,
    /// Idle seconds before another instance takes a pending reply (`GATEWAY_NOTIFY_CLAIM_TIMEOUT_SECS`).
    pub notify_claim_timeout_secs: u64,
    /// Extra non-working days `YYYY-MM-DD,...` such as Kurban Ait (`GATEWAY_HOLIDAYS`).
    pub holidays: String,
    /// The approved WhatsApp template for replies outside the 24-hour window, with two
    /// body parameters: tracking number and status (`GATEWAY_WHATSAPP_REPLY_TEMPLATE`).
    pub whatsapp_reply_template: String,
    /// Citizen form submissions (POSTs of `/`, `/budget/`) allowed per client address and
    /// minute, beyond which the answer is 429 (`GATEWAY_FORM_RATE_PER_MINUTE`).
    pub form_rate_per_minute: u64,
    /// Telegram bot token (`GATEWAY_TELEGRAM_BOT_TOKEN`); without it Telegram is off.
    pub telegram_bot_token: Option<String>,
    /// Secret Telegram sends in `X-Telegram-Bot-Api-Secret-Token`
    /// (`GATEWAY_TELEGRAM_WEBHOOK_SECRET`); required in webhook mode.
    pub telegram_webhook_secret: Option<String>,
    /// Bot API base URL (`GATEWAY_TELEGRAM_API_URL`), default the public Bot API.
    pub telegram_api_url: Option<String>,
    /// `webhook` (default) or `polling` (`GATEWAY_TELEGRAM_MODE`).
    pub telegram_mode: Option<String>,
    /// Meta app secret that signs webhooks (`GATEWAY_WHATSAPP_APP_SECRET`).
    pub whatsapp_app_secret: Option<String>,
    /// Token of the GET verification handshake (`GATEWAY_WHATSAPP_VERIFY_TOKEN`).
    pub whatsapp_verify_token: Option<String>,
    /// Graph API access token (`GATEWAY_WHATSAPP_ACCESS_TOKEN`).
    pub whatsapp_access_token: Option<String>,
    /// The business phone number id (`GATEWAY_WHATSAPP_PHONE_NUMBER_ID`).
    pub whatsapp_phone_number_id: Option<String>,
    /// Graph API base URL with its version (`GATEWAY_WHATSAPP_API_URL`).
    pub whatsapp_api_url: Option<String>,
    /// Mailbox the IMAP poller reads (`GATEWAY_IMAP_URL`), `imaps://user:pass@host:port/INBOX`
    /// or `imap://…` (STARTTLS unless the host is loopback). Unset: IMAP intake is off.
    pub imap_url: Option<String>,
    /// Folder mail is moved to once its appeal is durable (`GATEWAY_IMAP_PROCESSED_FOLDER`).
    pub imap_processed_folder: String,
    /// SMTP server of the acknowledgements (`GATEWAY_SMTP_URL`), `smtp://user:pass@host:port`
    /// (STARTTLS when offered) or `smtps://…`. Unset: no acknowledgements by email.
    pub smtp_url: Option<String>,
    /// Sender of the acknowledgements (`GATEWAY_MAIL_FROM`), e.g. `open-almaty@almatydc.kz`.
    pub mail_from: Option<String>,
    /// `true` (default) or `false` (`GATEWAY_COOKIE_SECURE`): whether the agent session
    /// cookie is `Secure` (sent over HTTPS only). `false` only for local runs over HTTP.
    pub cookie_secure: String,
    /// Idle seconds after which an agent's console session ends
    /// (`GATEWAY_AGENT_SESSION_IDLE_SECS`), default 900.
    pub agent_session_idle_secs: u64,
    /// Replicas that must confirm a record (`WAIT`) before the forwarder removes it from
    /// the outbox (`GATEWAY_REDIS_MIN_REPLICAS`), default 0: the primary's word is enough.
    /// With Sentinel, 1 or more: replication is asynchronous (see [`crate::queue`]).
    pub redis_min_replicas: u64,
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
            sms_api_url: None,
            sms_api_key: None,
            sms_sender: None,
            sms_quiet_hours: "22-8".into(),
            sms_max_parts: 3,
            notify_max_attempts: 5,
            notify_retry_base_ms: 500,
            notify_claim_timeout_secs: 60,
            holidays: String::new(),
            whatsapp_reply_template: "appeal_status_update".into(),
            form_rate_per_minute: 10,
            telegram_bot_token: None,
            telegram_webhook_secret: None,
            telegram_api_url: None,
            telegram_mode: None,
            whatsapp_app_secret: None,
            whatsapp_verify_token: None,
            whatsapp_access_token: None,
            whatsapp_phone_number_id: None,
            whatsapp_api_url: None,
            imap_url: None,
            imap_processed_folder: "Processed".into(),
            smtp_url: None,
            mail_from: None,
            cookie_secure: "true".into(),
            agent_session_idle_secs: 15 * 60,
            redis_min_replicas: 0,
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
    pub redis_url: String,
    pub data_dir: PathBuf,
    pub stream_prefix: String,
    pub subject_key_secret: String,
    /// True when the development secret is in use.
    pub subject_key_is_default: bool,
    /// Integrator tokens by name.
    pub api_tokens: BTreeMap<String, String>,
    pub log: String,
    pub log_format: LogFormat,
    pub max_body_bytes: usize,
    pub dedupe_ttl: Duration,
    pub idempotency_ttl: Duration,
    pub public_url: String,
    pub instance: String,
    /// `(url, key, sender)` when SMS is configured.
    pub sms: Option<(String, String, String)>,
    pub sms_quiet_hours: Option<(u8, u8)>,
    pub sms_max_parts: usize,
    pub notify_max_attempts: u32,
    pub notify_retry_base: Duration,
    pub notify_claim_timeout: Duration,
    pub calendar: crate::notify::deadline::Calendar,
    pub whatsapp_reply_template: String,
    pub form_rate_per_minute: u32,
    /// The Telegram bot, when configured.
    pub telegram: Option<crate::channels::telegram::TelegramConfig>,
    /// The WhatsApp line, when configured.
    pub whatsapp: Option<crate::channels::whatsapp::WhatsappConfig>,
    /// The email channel's settings (see [`crate::channels::email`]).
    pub mail: MailConfig,
    /// Whether the agent session cookie is `Secure`.
    pub cookie_secure: bool,
    /// Inactivity after which an agent session ends.
    pub agent_session_idle: Duration,
    /// Replicas that must confirm a record before it leaves the outbox.
    pub redis_min_replicas: u32,
}

/// The email channel's settings, checked. Each way is off when its settings are absent.
#[derive(Debug, Clone, Default)]
pub struct MailConfig {
    pub imap_url: Option<String>,
    pub imap_processed_folder: String,
    pub smtp_url: Option<String>,
    pub mail_from: Option<String>,
}

/// The keys the environment may set, with their environment names.
const ENV_NAMES: [(&str, &str); 40] = [
    ("bind", "GATEWAY_BIND"),
    ("redis_url", "REDIS_URL"),
    ("data_dir", "GATEWAY_DATA_DIR"),
    ("stream_prefix", "GATEWAY_STREAM_PREFIX"),
    ("subject_key_secret", "GATEWAY_SUBJECT_KEY_SECRET"),
    ("api_tokens", "GATEWAY_API_TOKENS"),
    ("log", "GATEWAY_LOG"),
    ("log_format", "GATEWAY_LOG_FORMAT"),
    ("max_body_bytes", "GATEWAY_MAX_BODY_BYTES"),
    ("dedupe_ttl_secs", "GATEWAY_DEDUPE_TTL_SECS"),
    ("idempotency_ttl_secs", "GATEWAY_IDEMPOTENCY_TTL_SECS"),
    ("form_rate_per_minute", "GATEWAY_FORM_RATE_PER_MINUTE"),
    ("public_url", "GATEWAY_PUBLIC_URL"),
    ("instance", "GATEWAY_INSTANCE"),
    ("sms_api_url", "GATEWAY_SMS_API_URL"),
    ("sms_api_key", "GATEWAY_SMS_API_KEY"),
    ("sms_sender", "GATEWAY_SMS_SENDER"),
    ("sms_quiet_hours", "GATEWAY_SMS_QUIET_HOURS"),
    ("sms_max_parts", "GATEWAY_SMS_MAX_PARTS"),
    ("notify_max_attempts", "GATEWAY_NOTIFY_MAX_ATTEMPTS"),
    ("notify_retry_base_ms", "GATEWAY_NOTIFY_RETRY_BASE_MS"),
    (
        "notify_claim_timeout_secs",
        "GATEWAY_NOTIFY_CLAIM_TIMEOUT_SECS",
    ),
    ("holidays", "GATEWAY_HOLIDAYS"),
    ("whatsapp_reply_template", "GATEWAY_WHATSAPP_REPLY_TEMPLATE"),
    ("telegram_bot_token", "GATEWAY_TELEGRAM_BOT_TOKEN"),
    ("telegram_webhook_secret", "GATEWAY_TELEGRAM_WEBHOOK_SECRET"),
    ("telegram_api_url", "GATEWAY_TELEGRAM_API_URL"),
    ("telegram_mode", "GATEWAY_TELEGRAM_MODE"),
    ("whatsapp_app_secret", "GATEWAY_WHATSAPP_APP_SECRET"),
    ("whatsapp_verify_token", "GATEWAY_WHATSAPP_VERIFY_TOKEN"),
    ("whatsapp_access_token", "GATEWAY_WHATSAPP_ACCESS_TOKEN"),
    (
        "whatsapp_phone_number_id",
        "GATEWAY_WHATSAPP_PHONE_NUMBER_ID",
    ),
    ("whatsapp_api_url", "GATEWAY_WHATSAPP_API_URL"),
    ("imap_url", "GATEWAY_IMAP_URL"),
    ("imap_processed_folder", "GATEWAY_IMAP_PROCESSED_FOLDER"),
    ("smtp_url", "GATEWAY_SMTP_URL"),
    ("mail_from", "GATEWAY_MAIL_FROM"),
    ("cookie_secure", "GATEWAY_COOKIE_SECURE"),
    ("agent_session_idle_secs", "GATEWAY_AGENT_SESSION_IDLE_SECS"),
    ("redis_min_replicas", "GATEWAY_REDIS_MIN_REPLICAS"),
];

/// Keys whose environment value is a number.
const NUMERIC_KEYS: [&str; 10] = [
    "max_body_bytes",
    "dedupe_ttl_secs",
    "idempotency_ttl_secs",
    "form_rate_per_minute",
    "sms_max_parts",
    "notify_max_attempts",
    "notify_retry_base_ms",
    "notify_claim_timeout_secs",
    "agent_session_idle_secs",
    "redis_min_replicas",
];

/// The name a user knows a key by: its environment name.
fn env_name(key: &str) -> &str {
    ENV_NAMES
        .iter()
        .find(|(k, _)| *k == key)
        .map_or(key, |(_, env)| env)
}

impl Config {
    /// Reads the file (if any) and the environment. `Err` holds one line per problem.
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
        // Only the contract's names are read (other GATEWAY_* names belong to channels),
        // and text keys stay text: a secret of digits must not become a number.
        for (key, env) in ENV_NAMES {
            if let Ok(value) = std::env::var(env) {
                figment = if NUMERIC_KEYS.contains(&key) {
                    let parsed = value.parse::<figment::value::Value>();
                    match parsed {
                        Ok(v) => figment.merge(Serialized::default(key, v)),
                        Err(_) => figment.merge(Serialized::default(key, value)),
                    }
                } else {
                    figment.merge(Serialized::default(key, value))
                };
            }
        }
        let raw: RawConfig = figment.extract().map_err(|errors| {
            errors
                .into_iter()
                .map(|e| {
                    let key = e
                        .path
                        .first()
                        .map(String::as_str)
                        .unwrap_or("configuration");
                    format!("{}: {}", env_name(key), e.kind)
                })
                .collect::<Vec<_>>()
        })?;
        Config::check(raw)
    }

    /// Checks every value; all problems at once.
    pub fn check(raw: RawConfig) -> Result<Config, Vec<String>> {
        let mut problems = Vec::new();
        let telegram = crate::channels::telegram::TelegramConfig::check(&raw, &mut problems);
        let whatsapp = crate::channels::whatsapp::WhatsappConfig::check(&raw, &mut problems);
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
        let mail = check_mail(&raw, &mut problems);
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
        let sms = match (raw.sms_api_url, raw.sms_api_key, raw.sms_sender) {
            (Some(url), Some(key), Some(sender)) => {
                if reqwest::Url::parse(&url).is_err() {
                    problems.push("GATEWAY_SMS_API_URL: not a URL".to_owned());
                }
                Some((url, key, sender))
            }
            (None, None, None) => None,
            _ => {
                problems.push(
                    "GATEWAY_SMS_API_URL: SMS needs GATEWAY_SMS_API_URL, GATEWAY_SMS_API_KEY and GATEWAY_SMS_SENDER together".to_owned(),
                );
                None
            }
        };
        let sms_quiet_hours = match raw.sms_quiet_hours.as_str() {
            "off" | "" => None,
            spec => {
                let hours = spec
                    .split_once('-')
                    .and_then(|(a, b)| {
                        Some((a.trim().parse::<u8>().ok()?, b.trim().parse::<u8>().ok()?))
                    })
                    .filter(|(a, b)| *a < 24 && *b < 24 && a != b);
                if hours.is_none() {
                    problems.push("GATEWAY_SMS_QUIET_HOURS: hours such as 22-8, or off".to_owned());
                }
                hours
            }
        };
        if raw.sms_max_parts == 0 || raw.sms_max_parts > 10 {
            problems.push("GATEWAY_SMS_MAX_PARTS: between 1 and 10".to_owned());
        }
        if raw.notify_max_attempts == 0 || raw.notify_max_attempts > 20 {
            problems.push("GATEWAY_NOTIFY_MAX_ATTEMPTS: between 1 and 20".to_owned());
        }
        if raw.notify_claim_timeout_secs == 0 {
            problems.push("GATEWAY_NOTIFY_CLAIM_TIMEOUT_SECS: at least 1".to_owned());
        }
        let calendar =
            crate::notify::deadline::Calendar::parse(&raw.holidays).unwrap_or_else(|e| {
                problems.push(format!("GATEWAY_HOLIDAYS: {e}"));
                crate::notify::deadline::Calendar::default()
            });
        let instance = raw
            .instance
            .filter(|i| !i.trim().is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "gateway-1".to_owned());
        if raw.form_rate_per_minute == 0 || raw.form_rate_per_minute > 100_000 {
            problems.push("GATEWAY_FORM_RATE_PER_MINUTE: between 1 and 100000".to_owned());
        }
        let cookie_secure = match raw.cookie_secure.trim() {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" => false,
            _ => {
                problems.push("GATEWAY_COOKIE_SECURE: true or false".to_owned());
                true
            }
        };
        if raw.agent_session_idle_secs == 0 || raw.agent_session_idle_secs > 24 * 3600 {
            problems.push("GATEWAY_AGENT_SESSION_IDLE_SECS: between 1 and 86400".to_owned());
        }
        if !problems.is_empty() {
            return Err(problems);
        }
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
            sms,
            sms_quiet_hours,
            sms_max_parts: usize::try_from(raw.sms_max_parts).unwrap_or(3),
            notify_max_attempts: u32::try_from(raw.notify_max_attempts).unwrap_or(5),
            notify_retry_base: Duration::from_millis(raw.notify_retry_base_ms),
            notify_claim_timeout: Duration::from_secs(raw.notify_claim_timeout_secs),
            calendar,
            whatsapp_reply_template: raw.whatsapp_reply_template.clone(),
            form_rate_per_minute: u32::try_from(raw.form_rate_per_minute).unwrap_or(u32::MAX),
            telegram,
            whatsapp,
            mail,
            cookie_secure,
            agent_session_idle: Duration::from_secs(raw.agent_session_idle_secs),
            redis_min_replicas: u32::try_from(raw.redis_min_replicas).unwrap_or(0),
        })
    }
}

/// The email settings: URLs must parse (the problem never quotes them, they hold
/// passwords); acknowledgements need both the SMTP URL and the sender.
fn check_mail(raw: &RawConfig, problems: &mut Vec<String>) -> MailConfig {
    let set = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let (imap_url, smtp_url, mail_from) =
        (set(&raw.imap_url), set(&raw.smtp_url), set(&raw.mail_from));
    if let Some(url) = &imap_url
        && crate::channels::email::imap::ImapTarget::parse(url).is_err()
    {
        problems.push(
            "GATEWAY_IMAP_URL: not a URL such as imaps://user:pass@host:993/INBOX".to_owned(),
        );
    }
    if let Some(url) = &smtp_url
        && !(url.starts_with("smtp://") || url.starts_with("smtps://"))
    {
        problems.push("GATEWAY_SMTP_URL: not a URL such as smtp://user:pass@host:587".to_owned());
    }
    if let Some(from) = &mail_from
        && crate::normalize::email(from).is_err()
    {
        problems.push("GATEWAY_MAIL_FROM: not an email address".to_owned());
    }
    if smtp_url.is_some() != mail_from.is_some() {
        problems.push(
            "GATEWAY_MAIL_FROM: GATEWAY_SMTP_URL and GATEWAY_MAIL_FROM go together".to_owned(),
        );
    }
    if raw.imap_processed_folder.trim().is_empty() {
        problems.push("GATEWAY_IMAP_PROCESSED_FOLDER: must not be empty".to_owned());
    }
    MailConfig {
        imap_url,
        imap_processed_folder: raw.imap_processed_folder.trim().to_owned(),
        smtp_url,
        mail_from,
    }
}

/// `name:token,name:token`; names are `[A-Za-z0-9_-]`, tokens at least 16 characters.
/// The problem never quotes a token.
fn parse_tokens(spec: &str) -> Result<BTreeMap<String, String>, String> {
    let mut tokens = BTreeMap::new();
    for (i, item) in spec
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .enumerate()
    {
        let Some((name, token)) = item.split_once(':') else {
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
        if token.len() < 16 {
            return Err(format!("token `{name}` is shorter than 16 characters"));
        }
        if tokens.insert(name.to_owned(), token.to_owned()).is_some() {
            return Err(format!("the name `{name}` appears twice"));
        }
    }
    Ok(tokens)
}

// figment::Jail's closures return figment's own (large) error type.
#[cfg(test)]
// `figment::Jail` closures return figment's own (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_contract() {
        figment::Jail::expect_with(|_jail| {
            let config = Config::load(None).map_err(|e| e.join("\n"))?;
            assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
            assert_eq!(config.redis_url, "redis://127.0.0.1:6379");
            assert_eq!(config.data_dir, PathBuf::from("./data"));
            assert!(config.subject_key_is_default);
            assert_eq!(config.max_body_bytes, 1024 * 1024);
            Ok(())
        });
    }

    #[test]
    fn the_environment_overrides_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "gateway.toml",
                "bind = \"127.0.0.1:9000\"\nstream_prefix = \"file:\"\nmax_body_bytes = 4096\n",
            )?;
            jail.set_env("GATEWAY_STREAM_PREFIX", "env:");
            jail.set_env("GATEWAY_SUBJECT_KEY_SECRET", "1234567890123456");
            jail.set_env(
                "GATEWAY_API_TOKENS",
                "crm:abcdefghijklmnop, portal:qrstuvwxyz012345",
            );
            let config = Config::load(Some(Path::new("gateway.toml"))).map_err(|e| e.join("\n"))?;
            assert_eq!(config.bind.port(), 9000);
            assert_eq!(config.stream_prefix, "env:");
            assert_eq!(config.max_body_bytes, 4096);
            assert_eq!(config.subject_key_secret, "1234567890123456");
            assert_eq!(config.api_tokens.len(), 2);
            assert_eq!(config.api_tokens["portal"], "qrstuvwxyz012345");
            Ok(())
        });
    }

    #[test]
    fn every_problem_names_its_key_and_no_secret() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("GATEWAY_BIND", "notanaddress");
            jail.set_env("GATEWAY_API_TOKENS", "crm-without-colon");
            jail.set_env("GATEWAY_LOG_FORMAT", "xml");
            let problems = Config::load(None).expect_err("refused");
            assert_eq!(problems.len(), 3, "{problems:?}");
            assert!(problems[0].starts_with("GATEWAY_BIND: "));
            assert!(problems[1].starts_with("GATEWAY_API_TOKENS: "));
            assert!(problems[2].starts_with("GATEWAY_LOG_FORMAT: "));
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            jail.set_env("GATEWAY_MAX_BODY_BYTES", "lots");
            let problems = Config::load(None).expect_err("refused");
            assert_eq!(problems.len(), 1);
            assert!(
                problems[0].starts_with("GATEWAY_MAX_BODY_BYTES: "),
                "{problems:?}"
            );
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            jail.set_env("GATEWAY_API_TOKENS", "crm:tooshort");
            let problems = Config::load(None).expect_err("refused");
            assert!(!problems[0].contains("tooshort"), "{problems:?}");
            Ok(())
        });
    }
}
