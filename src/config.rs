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
            imap_url: None,
            imap_processed_folder: "Processed".into(),
            smtp_url: None,
            mail_from: None,
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
    /// The email channel's settings (see [`crate::channels::email`]).
    pub mail: MailConfig,
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
const ENV_NAMES: [(&str, &str); 15] = [
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
    ("imap_url", "GATEWAY_IMAP_URL"),
    ("imap_processed_folder", "GATEWAY_IMAP_PROCESSED_FOLDER"),
    ("smtp_url", "GATEWAY_SMTP_URL"),
    ("mail_from", "GATEWAY_MAIL_FROM"),
];

/// Keys whose environment value is a number.
const NUMERIC_KEYS: [&str; 3] = ["max_body_bytes", "dedupe_ttl_secs", "idempotency_ttl_secs"];

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
        let bind = raw.bind.parse::<SocketAddr>().unwrap_or_else(|_| {
            problems.push(format!(
                "GATEWAY_BIND: `{}` is not an address such as 127.0.0.1:8080",
                raw.bind
            ));
            SocketAddr::from(([127, 0, 0, 1], 8080))
        });
        if redis::Client::open(raw.redis_url.as_str()).is_err() {
            problems.push("REDIS_URL: not a Redis URL such as redis://127.0.0.1:6379".to_owned());
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
            mail,
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
