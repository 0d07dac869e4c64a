//! Agents' accounts and API tokens, in Redis, shared by every gateway instance and by
//! `appeal-gateway agents add|disable|lock|unlock|list` run from any machine.
//!
//! **What is stored where** ([`crate::keyspace`]; no TTL: an account lives until it is
//! disabled, and a disabled one stays so that its id is not given to someone else):
//!
//! | key | type | content |
//! | --- | --- | --- |
//! | `gateway:agent:<id>` | hash | `role`, `password` (Argon2id PHC string, OWASP's first choice), `token` (SHA-256 hex of the API token, absent without one), `disabled` and `locked` (`0`/`1`), `name` (the display name printed on receipts, absent until set) |
//! | `gateway:agent-token:<SHA-256 hex of the token>` | string | the agent's id: a token finds its account in one read |
//! | `gateway:agents` | set | every id (`agents list`) |
//!
//! An account is created by one script with its token and its index entry, so the three
//! keys share one slot on a cluster through the prefix's hash tag, as every key does. A
//! token itself is never stored; the digest found is compared again in constant time.
//!
//! **Redis away.** A login needs Redis: the password hash is read there, and the login
//! page says so (503, "log in again in a few minutes"). An agent already logged in stays
//! logged in: the session cookie is signed ([`super::sessions`]), and the account check
//! of each request answers from the last-known copy this instance holds of it (or trusts
//! the signed cookie when the instance never read it). An API token keeps working from
//! the same last-known copy: each successful read refreshes it, an answer that the token
//! is unknown or its account disabled drops it. A token this instance never saw is
//! refused with 503 while Redis is away, so the client tries again. The copy holds the
//! role, the token's digest and whether the account may be used; never a password hash.
//! A disable or a lock reaches an instance with Redis: while Redis is away, an instance
//! knows only what it read last.
//!
//! **The display name.** The Administrative Procedural Code (art. 64 p. 2) has the
//! receipt name the person who accepted the appeal; the agent id is a login, kept off
//! every page a citizen sees. `agents add --name` and `agents update --name` set the
//! name a receipt prints ("Сейткали А."), see [`valid_name`].
//!
//! **Before Redis** accounts were kept in `agents.redb` in `GATEWAY_DATA_DIR`; they are
//! imported once (see [`super::legacy`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::keyspace::name;
use crate::redis_handle::Redis;

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

/// An account as stored in Redis.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub(crate) id: String,
    pub(crate) role: Role,
    /// Argon2id PHC string.
    pub(crate) password_hash: String,
    /// SHA-256 (hex) of the agent's API token, if one was issued.
    pub(crate) token_sha256: Option<String>,
    pub(crate) disabled: bool,
    /// Set by `agents lock`: no login and no token until `agents unlock`.
    pub(crate) locked: bool,
    /// The display name receipts print; `None` until set.
    pub(crate) name: Option<String>,
}

impl Account {
    fn usable(&self) -> bool {
        !self.disabled && !self.locked
    }

    /// The account of a `gateway:agent:<id>` hash (`None` when empty or unreadable).
    fn from_hash(id: &str, mut fields: HashMap<String, String>) -> Option<Account> {
        let flag = |v: Option<String>| v.as_deref() == Some("1");
        Some(Account {
            id: id.to_owned(),
            role: Role::parse(fields.get("role")?)?,
            password_hash: fields.remove("password")?,
            token_sha256: fields.remove("token").filter(|t| !t.is_empty()),
            disabled: flag(fields.remove("disabled")),
            locked: flag(fields.remove("locked")),
            name: fields.remove("name").filter(|n| !n.is_empty()),
        })
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
    /// The display name, if set.
    pub name: Option<String>,
}

/// A storage or input failure; it never holds a password or a token.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("agent id: 1 to 64 characters a-z, 0-9, '.', '_', '-'")]
    BadId,
    #[error("password: at least 12 characters")]
    WeakPassword,
    #[error("--name: 2 to 80 characters, letters first (as a receipt prints it)")]
    BadName,
    #[error("agent {0} exists already")]
    Exists(String),
    #[error("no agent {0}")]
    Unknown(String),
    #[error("agents store: Redis (REDIS_URL) does not answer")]
    Unavailable,
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

/// The display name as it is kept: one line, NFC, no invisible characters; `None` when
/// it is not 2 to 80 characters starting with a letter (it is printed for citizens).
pub(crate) fn valid_name(name: &str) -> Option<String> {
    let name = crate::normalize::line(name);
    let length = name.chars().count();
    ((2..=80).contains(&length) && name.chars().next().is_some_and(char::is_alphabetic))
        .then_some(name)
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

/// SHA-256 (hex) of an API token: what is stored and looked up.
fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates an account with its token and its index entry, unless the id exists.
/// KEYS: the account, the index, the token key (the account again without a token).
/// ARGV: id, role, password hash, token digest (empty: none), disabled, locked, display
/// name (empty: none).
const ADD: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'role', ARGV[2], 'password', ARGV[3], 'disabled', ARGV[5], 'locked', ARGV[6])
if ARGV[7] ~= '' then
  redis.call('HSET', KEYS[1], 'name', ARGV[7])
end
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[1], 'token', ARGV[4])
  redis.call('SET', KEYS[3], ARGV[1])
end
redis.call('SADD', KEYS[2], ARGV[1])
return 1
";

/// Sets one field of an existing account. `KEYS[1]` the account; ARGV field, value.
const SET_FIELD: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
";

/// What this instance last read of an account (see the module doc): no password hash.
#[derive(Debug, Clone)]
struct Known {
    role: Role,
    token_sha256: Option<String>,
    usable: bool,
    name: Option<String>,
}

/// The accounts in Redis, with this instance's last-known copies.
pub struct AgentStore {
    redis: Redis,
    known: Mutex<HashMap<String, Known>>,
}

impl AgentStore {
    /// `wait`: how long one operation waits for Redis (short for a request, longer for
    /// the admin command).
    pub(crate) fn new(redis: &Redis, wait: Duration) -> AgentStore {
        AgentStore {
            redis: redis.waiting(wait),
            known: Mutex::new(HashMap::new()),
        }
    }

    fn account_key(&self, id: &str) -> String {
        self.redis.keys().key(&name::agent(id))
    }

    /// Runs one command or script on Redis; `Unavailable` when it does not answer in
    /// time (the connection is then dropped, the next call opens another).
    async fn run<T: redis::FromRedisValue>(&self, request: Request<'_>) -> Result<T, AgentError> {
        let mut conn = self
            .redis
            .conn()
            .await
            .ok()
            .ok_or(AgentError::Unavailable)?;
        let answer = match request {
            Request::Cmd(cmd) => {
                tokio::time::timeout(self.redis.wait(), cmd.query_async(&mut conn)).await
            }
            Request::Script(invocation) => {
                tokio::time::timeout(self.redis.wait(), invocation.invoke_async(&mut conn)).await
            }
        };
        match answer {
            Ok(Ok(value)) => Ok(value),
            _ => {
                self.redis.reset().await;
                Err(AgentError::Unavailable)
            }
        }
    }

    /// The account with this id, read from Redis; the last-known copy is refreshed.
    async fn read(&self, id: &str) -> Result<Option<Account>, AgentError> {
        let mut cmd = redis::cmd("HGETALL");
        cmd.arg(self.account_key(id));
        let fields: HashMap<String, String> = self.run(Request::Cmd(&cmd)).await?;
        let account = Account::from_hash(id, fields);
        let mut known = self.known();
        match &account {
            Some(a) => {
                known.insert(
                    a.id.clone(),
                    Known {
                        role: a.role,
                        token_sha256: a.token_sha256.clone(),
                        usable: a.usable(),
                        name: a.name.clone(),
                    },
                );
            }
            None => {
                known.remove(id);
            }
        }
        Ok(account)
    }

    fn known(&self) -> std::sync::MutexGuard<'_, HashMap<String, Known>> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes an account unless its id exists; false when it exists.
    pub(crate) async fn insert(&self, account: &Account) -> Result<bool, AgentError> {
        let token = account.token_sha256.clone().unwrap_or_default();
        let token_key = if token.is_empty() {
            self.account_key(&account.id)
        } else {
            self.redis.keys().key(&name::agent_token(&token))
        };
        let script = redis::Script::new(ADD);
        let mut invocation = script.key(self.account_key(&account.id));
        invocation
            .key(self.redis.keys().key(name::AGENTS))
            .key(token_key)
            .arg(&account.id)
            .arg(account.role.as_str())
            .arg(&account.password_hash)
            .arg(&token)
            .arg(u8::from(account.disabled))
            .arg(u8::from(account.locked))
            .arg(account.name.as_deref().unwrap_or_default());
        let added: i64 = self.run(Request::Script(&invocation)).await?;
        Ok(added == 1)
    }

    /// Creates an account, with its display name if given; with `with_token`, also an
    /// API token, returned once.
    pub async fn add(
        &self,
        id: &str,
        role: Role,
        password: &str,
        with_token: bool,
        name: Option<&str>,
    ) -> Result<Option<String>, AgentError> {
        if !valid_id(id) {
            return Err(AgentError::BadId);
        }
        let name = name
            .map(|n| valid_name(n).ok_or(AgentError::BadName))
            .transpose()?;
        if password.chars().count() < 12 {
            return Err(AgentError::WeakPassword);
        }
        let password = password.to_owned();
        let password_hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(store_err("hash"))??;
        let token = with_token.then(|| {
            let mut raw = [0u8; 32];
            rand::rng().fill_bytes(&mut raw);
            format!("oa_agent_{}", hex::encode(raw))
        });
        let account = Account {
            id: id.to_owned(),
            role,
            password_hash,
            token_sha256: token.as_deref().map(token_digest),
            disabled: false,
            locked: false,
            name,
        };
        if !self.insert(&account).await? {
            return Err(AgentError::Exists(id.to_owned()));
        }
        Ok(token)
    }

    async fn set(&self, id: &str, field: &str, value: &str) -> Result<(), AgentError> {
        let script = redis::Script::new(SET_FIELD);
        let mut invocation = script.key(self.account_key(id));
        invocation.arg(field).arg(value);
        let found: i64 = self.run(Request::Script(&invocation)).await?;
        if found == 1 {
            Ok(())
        } else {
            Err(AgentError::Unknown(id.to_owned()))
        }
    }

    /// Disables an account: no login, no token, its sessions end at their next request
    /// on every instance.
    pub async fn disable(&self, id: &str) -> Result<(), AgentError> {
        self.set(id, "disabled", "1").await
    }

    /// Locks an account (`agents lock`): no login and no API token until unlocked.
    pub async fn lock(&self, id: &str, locked: bool) -> Result<(), AgentError> {
        self.set(id, "locked", if locked { "1" } else { "0" }).await
    }

    /// Sets the display name receipts print (`agents update --name`).
    pub async fn rename(&self, id: &str, name: &str) -> Result<(), AgentError> {
        let name = valid_name(name).ok_or(AgentError::BadName)?;
        self.set(id, "name", &name).await
    }

    /// The display name of the agent with this id, for a receipt. Redis away: the
    /// last-known copy's; `None` when unknown or not set.
    pub(crate) async fn display_name(&self, id: &str) -> Option<String> {
        match self.read(id).await {
            Ok(account) => account.and_then(|a| a.name),
            Err(_) => self.known().get(id).and_then(|k| k.name.clone()),
        }
    }

    /// Every account, without secrets, by id.
    pub async fn list(&self) -> Result<Vec<AgentSummary>, AgentError> {
        let mut cmd = redis::cmd("SMEMBERS");
        cmd.arg(self.redis.keys().key(name::AGENTS));
        let ids: Vec<String> = self.run(Request::Cmd(&cmd)).await?;
        let mut out = BTreeMap::new();
        for id in ids {
            if let Some(a) = self.read(&id).await? {
                out.insert(
                    a.id.clone(),
                    AgentSummary {
                        id: a.id,
                        role: a.role,
                        disabled: a.disabled,
                        has_token: a.token_sha256.is_some(),
                        locked: a.locked,
                        name: a.name,
                    },
                );
            }
        }
        Ok(out.into_values().collect())
    }

    /// Checks a password (Argon2id, off the event loop). Needs Redis. Failures are not
    /// counted here: the caller slows the address that fails ([`super::throttle`]), so
    /// that nobody can lock an agent out.
    pub(crate) async fn login(&self, id: &str, password: &str) -> Result<Login, AgentError> {
        let account = self.read(id).await?;
        let password = password.to_owned();
        let (hash, state) = match account {
            Some(a) => (a.password_hash.clone(), Some(a)),
            None => (DUMMY_HASH.clone(), None),
        };
        // The hash is checked in every case, so the time does not tell the states.
        let good = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .unwrap_or(false);
        Ok(match state {
            None => Login::Refused,
            Some(a) => match (good, a.usable()) {
                (true, true) => Login::Ok(a.role),
                (true, false) if !a.disabled => Login::Locked,
                _ => Login::Refused,
            },
        })
    }

    /// The role of the active agent with this id (`None` when unknown, disabled or
    /// locked). Redis away: the last-known copy answers; `Unavailable` when there is none.
    pub(crate) async fn active(&self, id: &str) -> Result<Option<Role>, AgentError> {
        match self.read(id).await {
            Ok(account) => Ok(account.filter(Account::usable).map(|a| a.role)),
            Err(AgentError::Unavailable) => match self.known().get(id) {
                Some(k) => Ok(k.usable.then_some(k.role)),
                None => Err(AgentError::Unavailable),
            },
            Err(e) => Err(e),
        }
    }

    /// The active agent whose API token this is. Redis away: the last-known copy
    /// answers; `Unavailable` for a token this instance never saw.
    pub(crate) async fn by_token(&self, token: &str) -> Result<Option<(String, Role)>, AgentError> {
        let digest = token_digest(token);
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.redis.keys().key(&name::agent_token(&digest)));
        let owner = match self.run::<Option<String>>(Request::Cmd(&cmd)).await {
            Ok(owner) => owner,
            Err(AgentError::Unavailable) => return self.known_token(&digest),
            Err(e) => return Err(e),
        };
        let account = match owner {
            Some(id) => match self.read(&id).await {
                Ok(account) => account,
                Err(AgentError::Unavailable) => return self.known_token(&digest),
                Err(e) => return Err(e),
            },
            None => {
                // Unknown in Redis: no last-known copy may answer for it later.
                self.known()
                    .retain(|_, k| k.token_sha256.as_deref() != Some(digest.as_str()));
                None
            }
        };
        // The stored digest must be this one (compared in constant time): a token
        // replaced or an index entry left behind finds nothing.
        let found = account.filter(|a| {
            a.usable()
                && a.token_sha256
                    .as_deref()
                    .is_some_and(|d| bool::from(d.as_bytes().ct_eq(digest.as_bytes())))
        });
        Ok(found.map(|a| (a.id, a.role)))
    }

    /// A token's agent from the last-known copies (Redis away).
    fn known_token(&self, digest: &str) -> Result<Option<(String, Role)>, AgentError> {
        let known = self.known();
        let found = known.iter().find(|(_, k)| {
            k.token_sha256
                .as_deref()
                .is_some_and(|d| bool::from(d.as_bytes().ct_eq(digest.as_bytes())))
        });
        match found {
            Some((id, k)) if k.usable => Ok(Some((id.clone(), k.role))),
            Some(_) => Ok(None),
            None => Err(AgentError::Unavailable),
        }
    }
}

/// A command or a script for [`AgentStore::run`].
enum Request<'a> {
    Cmd(&'a redis::Cmd),
    Script(&'a redis::ScriptInvocation<'a>),
}
