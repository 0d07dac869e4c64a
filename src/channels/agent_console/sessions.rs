//! Agents' console sessions, shared by every gateway instance behind the balancer.
//!
//! **The cookie carries the session, signed.** `oa_agent` holds
//! `v1:<session id>:<agent id>:<role>:<expiry, unix s>:<HMAC-SHA256>`, the HMAC under a
//! key derived from `GATEWAY_SUBJECT_KEY_SECRET` (label `open-almaty agent session v1`),
//! so any instance can check it without asking anyone, and nobody can forge or extend
//! one. A session lives at most [`SESSION_MAX`] (a working shift) whatever happens.
//!
//! **Redis holds what changes: idleness and ends.** `gateway:agent-session:<session id>`
//! ([`crate::keyspace`]) is a hash `agent`, `seen` (ms) and, once the session is over,
//! `ended` (`logout`, `idle`, `disabled`); its TTL runs to the cookie's expiry, after
//! which the signature refuses the cookie anyway. Each request runs one script that
//! refuses an ended session, ends an idle one (`GATEWAY_AGENT_SESSION_IDLE_SECS` since
//! `seen`, a sliding window) and otherwise moves `seen`. A logout on one instance writes
//! `ended`, so every instance refuses the cookie from then on.
//!
//! **Redis away.** An agent already logged in stays logged in: the signature and the
//! expiry are checked locally, and so is idleness against what this instance saw. A
//! logout while Redis is away is remembered by this instance (and sent to Redis when
//! possible); another instance refuses that cookie only once Redis is back. A session
//! Redis does not know (opened while it was away, or lost in a failover) is written to
//! it on its next request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::mac::hmac;
use rand::RngCore;

use super::accounts::Role;
use crate::keyspace::name;
use crate::redis_handle::{PAGE_WAIT, Redis, Unavailable};

/// The longest a session lives, active or not: a working shift.
pub(crate) const SESSION_MAX: Duration = Duration::from_secs(12 * 3600);
/// The cookie format's version tag.
const VERSION: &str = "v1";

/// Checks and touches a session in one step (see the module doc). `KEYS[1]` the session;
/// ARGV: now (ms), idle (ms), agent id, expiry (unix s). Returns `ok` or why it ended.
const TOUCH: &str = r"
local h = redis.call('HMGET', KEYS[1], 'ended', 'seen')
if h[1] then return h[1] end
local now = tonumber(ARGV[1])
if h[2] and now - tonumber(h[2]) > tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'ended', 'idle')
  return 'idle'
end
if ARGV[5] == '1' then
  redis.call('HSET', KEYS[1], 'agent', ARGV[3], 'seen', ARGV[1])
  redis.call('EXPIREAT', KEYS[1], ARGV[4])
end
return 'ok'
";

/// A logged-in agent's session, as its cookie says.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) agent_id: String,
    pub(crate) role: Role,
    /// The random 256-bit id (hex) the CSRF tokens of the console are bound to.
    pub(crate) sid: String,
    /// Unix seconds after which the cookie is refused.
    expires: u64,
}

/// What a session cookie leads to.
#[derive(Debug, Clone)]
pub(crate) enum SessionState {
    Active(Session),
    /// It existed and was idle (or lived) too long: the login page says so.
    Expired,
    /// Forged, malformed, logged out or ended by a disable.
    None,
}

/// The sessions of every instance: signed cookies, with their state in Redis.
pub(crate) struct Sessions {
    key: [u8; 32],
    idle: Duration,
    redis: Redis,
    /// What this instance saw, for when Redis is away: the last request (ms) of each
    /// session, and the sessions ended here (with their expiry, unix s).
    local: Mutex<Local>,
}

#[derive(Default)]
struct Local {
    seen: HashMap<String, u64>,
    ended: HashMap<String, u64>,
}

impl Sessions {
    pub(crate) fn new(secret: &[u8], idle: Duration, redis: &Redis) -> Sessions {
        Sessions {
            key: hmac(secret, b"open-almaty agent session v1"),
            idle,
            redis: redis.waiting(PAGE_WAIT),
            local: Mutex::new(Local::default()),
        }
    }

    /// Opens a session; returns the cookie's value.
    pub(crate) async fn open(&self, agent_id: &str, role: Role) -> String {
        let mut raw = [0u8; 32];
        rand::rng().fill_bytes(&mut raw);
        let now = crate::clock::now_ms();
        let session = Session {
            agent_id: agent_id.to_owned(),
            role,
            sid: hex::encode(raw),
            expires: now / 1000 + SESSION_MAX.as_secs(),
        };
        {
            let mut local = self.local();
            let idle_ms = self.idle_ms();
            local
                .seen
                .retain(|_, seen| now.saturating_sub(*seen) <= idle_ms);
            let now_s = now / 1000;
            local.ended.retain(|_, expires| *expires > now_s);
            local.seen.insert(session.sid.clone(), now);
        }
        // Best effort: a session Redis misses now is written on its next request.
        let _ = self.touch(&session, now, true).await;
        self.cookie(&session)
    }

    /// The session of a cookie, touched; an idle or ended one is refused here.
    pub(crate) async fn get(&self, cookie: &str) -> SessionState {
        self.read(cookie, true).await
    }

    /// [`Sessions::get`] for a request the agent did not make: the console's script
    /// asking for a call every second must not keep an idle session alive.
    pub(crate) async fn peek(&self, cookie: &str) -> SessionState {
        self.read(cookie, false).await
    }

    /// The state of a session; `active` marks it as used now (the idle clock restarts).
    async fn read(&self, cookie: &str, active: bool) -> SessionState {
        let Some(session) = self.verify(cookie) else {
            return SessionState::None;
        };
        let now = crate::clock::now_ms();
        if now / 1000 >= session.expires {
            return SessionState::Expired;
        }
        if self.local().ended.contains_key(&session.sid) {
            return SessionState::None;
        }
        let state = match self.touch(&session, now, active).await {
            Ok(Touch::Ok) => SessionState::Active(session.clone()),
            Ok(Touch::Idle) => SessionState::Expired,
            Ok(Touch::Ended) => SessionState::None,
            // Redis away: what this instance saw decides.
            Err(Unavailable) => {
                let seen = self.local().seen.get(&session.sid).copied();
                match seen {
                    Some(seen) if now.saturating_sub(seen) > self.idle_ms() => {
                        SessionState::Expired
                    }
                    _ => SessionState::Active(session.clone()),
                }
            }
        };
        if !active {
            // A look only: what this instance remembers is left for the agent's next
            // own request, which then says why the session ended.
            return state;
        }
        let mut local = self.local();
        match state {
            SessionState::Active(_) => {
                local.seen.insert(session.sid.clone(), now);
            }
            // Ended for good on this instance too, whoever ended it.
            _ => {
                local.seen.remove(&session.sid);
                local.ended.insert(session.sid.clone(), session.expires);
            }
        }
        state
    }

    /// Ends a session on every instance (`why`: `logout` or `disabled`).
    pub(crate) async fn close(&self, session: &Session, why: &str) {
        {
            let mut local = self.local();
            local.seen.remove(&session.sid);
            local.ended.insert(session.sid.clone(), session.expires);
        }
        let mut cmd = redis::pipe();
        cmd.atomic()
            .hset(self.redis_key(&session.sid), "ended", why)
            .ignore()
            .cmd("EXPIREAT")
            .arg(self.redis_key(&session.sid))
            .arg(session.expires)
            .ignore();
        let ended = self
            .redis
            .run(|mut conn| async move { cmd.query_async::<()>(&mut conn).await })
            .await;
        if ended.is_err() {
            tracing::warn!("agent session end not recorded in Redis: only this instance knows");
        }
    }

    /// Runs [`TOUCH`]; `Unavailable` when Redis does not answer in time.
    async fn touch(&self, session: &Session, now: u64, active: bool) -> Result<Touch, Unavailable> {
        let script = redis::Script::new(TOUCH);
        let mut invocation = script.key(self.redis_key(&session.sid));
        invocation
            .arg(now)
            .arg(self.idle_ms())
            .arg(&session.agent_id)
            .arg(session.expires)
            .arg(if active { "1" } else { "0" });
        let answer = self
            .redis
            .run(|mut conn| async move { invocation.invoke_async::<String>(&mut conn).await })
            .await?;
        Ok(match answer.as_str() {
            "ok" => Touch::Ok,
            "idle" => Touch::Idle,
            _ => Touch::Ended,
        })
    }

    fn redis_key(&self, sid: &str) -> String {
        self.redis.keys().key(&name::agent_session(sid))
    }

    fn idle_ms(&self) -> u64 {
        self.idle.as_millis() as u64
    }

    fn local(&self) -> std::sync::MutexGuard<'_, Local> {
        self.local.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The signed cookie value of a session.
    fn cookie(&self, s: &Session) -> String {
        let body = format!(
            "{VERSION}:{}:{}:{}:{}",
            s.sid,
            s.agent_id,
            s.role.as_str(),
            s.expires
        );
        let mac = hex::encode(hmac(&self.key, body.as_bytes()));
        format!("{body}:{mac}")
    }

    /// The session a cookie names, if its signature holds (compared in constant time).
    fn verify(&self, cookie: &str) -> Option<Session> {
        let (body, mac) = cookie.rsplit_once(':')?;
        if !crate::mac::verify(&self.key, body.as_bytes(), mac) {
            return None;
        }
        let mut parts = body.split(':');
        let (Some(VERSION), Some(sid), Some(agent_id), Some(role), Some(expires), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        Some(Session {
            agent_id: agent_id.to_owned(),
            role: Role::parse(role)?,
            sid: sid.to_owned(),
            expires: expires.parse().ok()?,
        })
    }
}

/// What Redis says of a session.
enum Touch {
    Ok,
    Idle,
    Ended,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions(idle: Duration) -> Sessions {
        Sessions::new(
            b"a-long-random-secret-for-subject-keys",
            idle,
            &Redis::new(None, "t:"),
        )
    }

    #[tokio::test]
    async fn a_cookie_is_refused_when_forged_or_from_another_secret() {
        let s = sessions(Duration::from_secs(60));
        let cookie = s.open("aigerim", Role::CallCenterAgent).await;
        assert!(matches!(s.get(&cookie).await, SessionState::Active(a) if a.agent_id == "aigerim"));
        let forged = cookie.replace("call_center_agent", "supervisor");
        assert!(matches!(s.get(&forged).await, SessionState::None));
        assert!(matches!(s.get("v1:garbage").await, SessionState::None));
        let other = Sessions::new(
            b"another-secret",
            Duration::from_secs(60),
            &Redis::new(None, "t:"),
        );
        assert!(matches!(other.get(&cookie).await, SessionState::None));
    }

    #[tokio::test]
    async fn without_redis_idle_and_logout_still_end_a_session_here() {
        let s = sessions(Duration::from_millis(50));
        let cookie = s.open("a", Role::Supervisor).await;
        let SessionState::Active(session) = s.get(&cookie).await else {
            panic!("active");
        };
        std::thread::sleep(Duration::from_millis(80));
        assert!(matches!(s.get(&cookie).await, SessionState::Expired));
        assert!(matches!(s.get(&cookie).await, SessionState::None));
        let cookie = s.open("a", Role::Supervisor).await;
        s.close(&session, "logout").await;
        assert!(matches!(s.get(&cookie).await, SessionState::Active(_)));
        let SessionState::Active(second) = s.get(&cookie).await else {
            panic!("active");
        };
        s.close(&second, "logout").await;
        assert!(matches!(s.get(&cookie).await, SessionState::None));
    }
}
