//! Agents of the 1308 call-center and the front office: their accounts, sessions, the
//! calls the telephony system announces, and the small index behind the duplicates hint.
//!
//! Accounts live in their own redb file, `agents.redb` in `GATEWAY_DATA_DIR`, apart from
//! the outbox and the dialogue store. The file is opened for each operation and closed
//! after it (redb locks a file for one process), so that `appeal-gateway agents add|
//! disable|list` can run beside a serving gateway: disabling an agent takes effect on the
//! agent's next request. Passwords are Argon2id hashes (PHC strings, OWASP's first
//! choice); API tokens are kept as SHA-256 digests and compared in constant time.
//!
//! Sessions and announced calls live in Redis, shared by every instance (see
//! [`super::sessions`] and [`super::calls`]; a caller's number is kept for at most
//! [`super::calls::CALL_TTL`]).
//!
//! The duplicates index holds no personal data: a SHA-256 of the normalized address and
//! the category, the time and the tracking number of appeals agents entered. This file
//! keeps this instance's entries; the index every instance shares is in Redis
//! ([`super::recent`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const AGENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("agents");
const RECENT: TableDefinition<&str, &[u8]> = TableDefinition::new("recent");

/// `locked_until_ms` of an account an operator locked (`agents lock`), until unlocked.
const LOCKED_FOR_GOOD: u64 = u64::MAX;
/// How far back the duplicates hint looks: an appeal is decided within 15 working days,
/// but a repeated report of one problem comes within days of the first.
pub(crate) const DUPLICATE_WINDOW: Duration = Duration::from_secs(3 * 24 * 3600);
/// How long the duplicates index keeps an entry.
pub(crate) const RECENT_KEEP: Duration = Duration::from_secs(30 * 24 * 3600);

/// What an agent may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 1308: verbal consent read from a script.
    CallCenterAgent,
    /// The desk: written consent on the signed form, ID document number allowed.
    FrontOfficeOperator,
    /// Either desk.
    Supervisor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::CallCenterAgent => "call_center_agent",
            Role::FrontOfficeOperator => "front_office_operator",
            Role::Supervisor => "supervisor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "call_center_agent" => Some(Role::CallCenterAgent),
            "front_office_operator" => Some(Role::FrontOfficeOperator),
            "supervisor" => Some(Role::Supervisor),
            _ => None,
        }
    }
}

/// An account as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Agent {
    pub(crate) id: String,
    pub(crate) role: Role,
    /// Argon2id PHC string.
    password_hash: String,
    /// SHA-256 (hex) of the agent's API token, if one was issued.
    token_sha256: Option<String>,
    pub(crate) disabled: bool,
    /// Kept for records written before issue 17: failed logins no longer lock an account
    /// (they slow the address that fails, see [`super::throttle`]).
    #[serde(default)]
    failures: u32,
    /// Set by `agents lock`; no login and no token until it passes or `agents unlock`.
    #[serde(default)]
    locked_until_ms: u64,
}

impl Agent {
    fn usable(&self, now: u64) -> bool {
        !self.disabled && self.locked_until_ms <= now
    }
}

/// One line of `agents list`.
#[derive(Debug, Clone, Serialize)]
pub struct AgentSummary {
    pub id: String,
    pub role: Role,
    pub disabled: bool,
    pub has_token: bool,
    pub locked: bool,
}

/// A storage or input failure; it never holds a password or a token.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("agent id: 1 to 64 characters a-z, 0-9, '.', '_', '-'")]
    BadId,
    #[error("password: at least 12 characters")]
    WeakPassword,
    #[error("agent {0} exists already")]
    Exists(String),
    #[error("no agent {0}")]
    Unknown(String),
    #[error("agents store: {0}")]
    Store(String),
}

fn store_err<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> AgentError {
    move |e| AgentError::Store(format!("{what}: {e}"))
}

/// The result of a login attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Login {
    Ok(Role),
    /// Unknown id, wrong password, disabled or locked account: one answer for all (the
    /// audit log tells them apart, the citizen-facing answer does not).
    Refused,
    /// The right password of a locked account (for the audit log only).
    Locked,
}

/// Whether the id has the shape of an agent id.
pub(crate) fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

fn hash_password(password: &str) -> Result<String, AgentError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(store_err("salt"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(store_err("hash"))
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against for unknown ids, so that the time of an answer does not tell
/// whether an id exists.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password("not-a-password-of-anyone").unwrap_or_default());

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    crate::clock::now_ms()
}

/// The accounts and the duplicates index in `agents.redb`.
#[derive(Clone)]
pub struct AgentStore {
    path: PathBuf,
    lock: Arc<Mutex<()>>,
}

impl AgentStore {
    pub fn new(data_dir: &Path) -> AgentStore {
        AgentStore {
            path: data_dir.join("agents.redb"),
            lock: Arc::new(Mutex::new(())),
        }
    }

    /// Runs `f` on the opened file; waits up to 5 s for another process (the admin
    /// command or the server) to close it.
    fn with_db<T>(
        &self,
        f: impl FnOnce(&Database) -> Result<T, AgentError>,
    ) -> Result<T, AgentError> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(store_err("create dir"))?;
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        let db = loop {
            match Database::create(&self.path) {
                Ok(db) => break db,
                Err(redb::DatabaseError::DatabaseAlreadyOpen) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(AgentError::Store(format!("open: {e}"))),
            }
        };
        f(&db)
    }

    fn read_agent(db: &Database, id: &str) -> Result<Option<Agent>, AgentError> {
        let txn = db.begin_read().map_err(store_err("begin read"))?;
        let table = match txn.open_table(AGENTS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(AgentError::Store(format!("open table: {e}"))),
        };
        let Some(bytes) = table.get(id).map_err(store_err("read"))? else {
            return Ok(None);
        };
        serde_json::from_slice(bytes.value())
            .map(Some)
            .map_err(store_err("decode"))
    }

    fn write_agent(db: &Database, agent: &Agent) -> Result<(), AgentError> {
        let bytes = serde_json::to_vec(agent).map_err(store_err("encode"))?;
        let txn = db.begin_write().map_err(store_err("begin"))?;
        {
            let mut table = txn.open_table(AGENTS).map_err(store_err("open table"))?;
            table
                .insert(agent.id.as_str(), bytes.as_slice())
                .map_err(store_err("write"))?;
        }
        txn.commit().map_err(store_err("commit"))
    }

    /// Creates an account; with `with_token`, also an API token, returned once.
    pub fn add(
        &self,
        id: &str,
        role: Role,
        password: &str,
        with_token: bool,
    ) -> Result<Option<String>, AgentError> {
        if !valid_id(id) {
            return Err(AgentError::BadId);
        }
        if password.chars().count() < 12 {
            return Err(AgentError::WeakPassword);
        }
        let password_hash = hash_password(password)?;
        let token = with_token.then(|| {
            let mut raw = [0u8; 32];
            rand::rng().fill_bytes(&mut raw);
            format!("oa_agent_{}", hex::encode(raw))
        });
        let agent = Agent {
            id: id.to_owned(),
            role,
            password_hash,
            token_sha256: token
                .as_ref()
                .map(|t| hex::encode(Sha256::digest(t.as_bytes()))),
            disabled: false,
            failures: 0,
            locked_until_ms: 0,
        };
        self.with_db(|db| {
            if Self::read_agent(db, id)?.is_some() {
                return Err(AgentError::Exists(id.to_owned()));
            }
            Self::write_agent(db, &agent)
        })?;
        Ok(token)
    }

    /// Disables an account: no login, no token, its sessions end at their next request.
    pub fn disable(&self, id: &str) -> Result<(), AgentError> {
        self.with_db(|db| {
            let mut agent =
                Self::read_agent(db, id)?.ok_or_else(|| AgentError::Unknown(id.to_owned()))?;
            agent.disabled = true;
            Self::write_agent(db, &agent)
        })
    }

    /// Locks an account (`agents lock`): no login and no API token until unlocked.
    pub fn lock(&self, id: &str, locked: bool) -> Result<(), AgentError> {
        self.with_db(|db| {
            let mut agent =
                Self::read_agent(db, id)?.ok_or_else(|| AgentError::Unknown(id.to_owned()))?;
            agent.locked_until_ms = if locked { LOCKED_FOR_GOOD } else { 0 };
            agent.failures = 0;
            Self::write_agent(db, &agent)
        })
    }

    /// Every account, without secrets.
    pub fn list(&self) -> Result<Vec<AgentSummary>, AgentError> {
        let now = now_ms();
        self.with_db(|db| {
            let txn = db.begin_read().map_err(store_err("begin read"))?;
            let table = match txn.open_table(AGENTS) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
                Err(e) => return Err(AgentError::Store(format!("open table: {e}"))),
            };
            let mut out = Vec::new();
            for item in table.iter().map_err(store_err("iterate"))? {
                let (_, v) = item.map_err(store_err("read"))?;
                if let Ok(a) = serde_json::from_slice::<Agent>(v.value()) {
                    out.push(AgentSummary {
                        id: a.id,
                        role: a.role,
                        disabled: a.disabled,
                        has_token: a.token_sha256.is_some(),
                        locked: a.locked_until_ms > now,
                    });
                }
            }
            Ok(out)
        })
    }

    /// Checks a password. Failures are not counted here: the caller slows the address
    /// that fails ([`super::throttle`]), so that nobody can lock an agent out.
    pub(crate) fn login(&self, id: &str, password: &str) -> Result<Login, AgentError> {
        let now = now_ms();
        self.with_db(|db| {
            let Some(agent) = Self::read_agent(db, id)? else {
                let _ = verify_password(password, &DUMMY_HASH);
                return Ok(Login::Refused);
            };
            // The hash is checked in every case, so the time does not tell the states.
            let good = verify_password(password, &agent.password_hash);
            Ok(match (good, agent.usable(now)) {
                (true, true) => Login::Ok(agent.role),
                (true, false) if !agent.disabled => Login::Locked,
                _ => Login::Refused,
            })
        })
    }

    /// The active agent with this id (`None` when unknown or disabled).
    pub(crate) fn active(&self, id: &str) -> Result<Option<Role>, AgentError> {
        let now = now_ms();
        self.with_db(|db| {
            Ok(Self::read_agent(db, id)?
                .filter(|a| a.usable(now))
                .map(|a| a.role))
        })
    }

    /// The active agent whose API token this is.
    pub(crate) fn by_token(&self, token: &str) -> Result<Option<(String, Role)>, AgentError> {
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = now_ms();
        self.with_db(|db| {
            let txn = db.begin_read().map_err(store_err("begin read"))?;
            let table = match txn.open_table(AGENTS) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
                Err(e) => return Err(AgentError::Store(format!("open table: {e}"))),
            };
            let mut found = None;
            for item in table.iter().map_err(store_err("iterate"))? {
                let (_, v) = item.map_err(store_err("read"))?;
                let Ok(agent) = serde_json::from_slice::<Agent>(v.value()) else {
                    continue;
                };
                let Some(digest) = agent
                    .token_sha256
                    .as_deref()
                    .and_then(|d| hex::decode(d).ok())
                else {
                    continue;
                };
                // A disabled or locked agent's token is refused (issue 17, point 5).
                if bool::from(digest.as_slice().ct_eq(&presented)) && agent.usable(now) {
                    found = Some((agent.id.clone(), agent.role));
                }
            }
            Ok(found)
        })
    }

    /// Remembers an appeal entered at `key` (see [`duplicate_key`]).
    pub(crate) fn remember(&self, key: &str, tracking: &str) -> Result<(), AgentError> {
        let now = now_ms();
        let record = serde_json::to_vec(&(tracking, now)).map_err(store_err("encode"))?;
        self.with_db(|db| {
            let txn = db.begin_write().map_err(store_err("begin"))?;
            {
                let mut table = txn.open_table(RECENT).map_err(store_err("open table"))?;
                let entry = format!("{key}|{now:020}|{tracking}");
                table
                    .insert(entry.as_str(), record.as_slice())
                    .map_err(store_err("write"))?;
                // Forget this key's entries past keeping.
                let cutoff = now.saturating_sub(RECENT_KEEP.as_millis() as u64);
                let old_end = format!("{key}|{cutoff:020}");
                let old: Vec<String> = table
                    .range(format!("{key}|").as_str()..old_end.as_str())
                    .map_err(store_err("range"))?
                    .filter_map(|i| i.ok().map(|(k, _)| k.value().to_owned()))
                    .collect();
                for k in old {
                    table.remove(k.as_str()).map_err(store_err("remove"))?;
                }
            }
            txn.commit().map_err(store_err("commit"))
        })
    }

    /// Tracking numbers of appeals entered at `key` within [`DUPLICATE_WINDOW`], newest
    /// first.
    pub(crate) fn recent(&self, key: &str) -> Result<Vec<String>, AgentError> {
        let since = now_ms().saturating_sub(DUPLICATE_WINDOW.as_millis() as u64);
        self.with_db(|db| {
            let txn = db.begin_read().map_err(store_err("begin read"))?;
            let table = match txn.open_table(RECENT) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
                Err(e) => return Err(AgentError::Store(format!("open table: {e}"))),
            };
            let start = format!("{key}|{since:020}");
            let end = format!("{key}}}");
            let mut out: Vec<String> = table
                .range(start.as_str()..end.as_str())
                .map_err(store_err("range"))?
                .filter_map(|i| i.ok())
                .filter_map(|(_, v)| serde_json::from_slice::<(String, u64)>(v.value()).ok())
                .map(|(tracking, _)| tracking)
                .collect();
            out.reverse();
            Ok(out)
        })
    }
}

/// The key of the duplicates index: SHA-256 of the category and the address reduced to
/// its words, without the words every address has ("улица", "көшесі", "д.").
pub(crate) fn duplicate_key(address: &str, category: &str) -> Option<String> {
    const NOISE: [&str; 16] = [
        "ул",
        "улица",
        "көше",
        "көшесі",
        "пр",
        "просп",
        "проспект",
        "даңғылы",
        "д",
        "дом",
        "үй",
        "г",
        "город",
        "алматы",
        "мкр",
        "кв",
    ];
    let cleaned = crate::normalize::line(address).to_lowercase();
    let words: Vec<&str> = cleaned
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !NOISE.contains(w))
        .collect();
    if words.is_empty() || category.is_empty() {
        return None;
    }
    let digest = Sha256::digest(format!("{category}\n{}", words.join(" ")).as_bytes());
    Some(hex::encode(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_log_in_lock_and_disable() {
        let dir = tempfile::tempdir().expect("dir");
        let store = AgentStore::new(dir.path());
        let token = store
            .add(
                "aigerim",
                Role::CallCenterAgent,
                "correct horse battery",
                true,
            )
            .expect("add")
            .expect("token");
        assert!(matches!(
            store.add("aigerim", Role::Supervisor, "another long password", false),
            Err(AgentError::Exists(_))
        ));
        assert!(matches!(
            store.add("Bad Id", Role::Supervisor, "another long password", false),
            Err(AgentError::BadId)
        ));
        assert_eq!(
            store
                .login("aigerim", "correct horse battery")
                .expect("login"),
            Login::Ok(Role::CallCenterAgent)
        );
        assert_eq!(
            store.by_token(&token).expect("token"),
            Some(("aigerim".into(), Role::CallCenterAgent))
        );
        assert_eq!(store.login("nobody", "x").expect("login"), Login::Refused);
        // Failures lock nothing: the right password still opens the account (five locked
        // it before issue 17).
        for _ in 0..6 {
            assert_eq!(
                store.login("aigerim", "wrong").expect("login"),
                Login::Refused
            );
        }
        assert_eq!(
            store
                .login("aigerim", "correct horse battery")
                .expect("login"),
            Login::Ok(Role::CallCenterAgent)
        );
        // An operator's lock stops the login and the token; unlocking restores both.
        store.lock("aigerim", true).expect("lock");
        assert_eq!(
            store
                .login("aigerim", "correct horse battery")
                .expect("login"),
            Login::Locked
        );
        assert_eq!(
            store.login("aigerim", "wrong").expect("login"),
            Login::Refused
        );
        assert_eq!(store.by_token(&token).expect("token"), None);
        assert!(store.list().expect("list")[0].locked);
        store.lock("aigerim", false).expect("unlock");
        assert!(store.by_token(&token).expect("token").is_some());
        store.disable("aigerim").expect("disable");
        assert_eq!(store.by_token(&token).expect("token"), None);
        assert_eq!(store.active("aigerim").expect("active"), None);
        let list = store.list().expect("list");
        assert!(list[0].disabled && !list[0].locked && list[0].has_token);
    }

    #[test]
    fn the_duplicates_index_matches_the_same_place_written_differently() {
        let a = duplicate_key("ул. Абая, д. 10", "roads");
        let b = duplicate_key("Абая 10", "roads");
        assert_eq!(a, b);
        assert_ne!(a, duplicate_key("Абая 10", "lighting"));
        assert_eq!(duplicate_key("ул.", "roads"), None);
        let dir = tempfile::tempdir().expect("dir");
        let store = AgentStore::new(dir.path());
        let key = a.expect("key");
        assert!(store.recent(&key).expect("recent").is_empty());
        store.remember(&key, "OA-AAAA-BBBB").expect("remember");
        assert_eq!(store.recent(&key).expect("recent"), vec!["OA-AAAA-BBBB"]);
    }
}
