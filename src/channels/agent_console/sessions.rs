//! Agents' console sessions: a random 256-bit id in the `oa_agent` cookie, ended after
//! `GATEWAY_AGENT_SESSION_IDLE_SECS` of inactivity, at logout, and when the account is
//! disabled.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::RngCore;

use super::accounts::Role;

/// A logged-in agent's session.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) agent_id: String,
    pub(crate) role: Role,
    last_seen: Instant,
}

/// What a session cookie leads to.
#[derive(Debug, Clone)]
pub(crate) enum SessionState {
    Active(Session),
    /// It existed and was idle too long: the login page says so.
    Expired,
    None,
}

/// Sessions in memory, keyed by a random 256-bit id.
pub(crate) struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    idle: Duration,
}

impl Sessions {
    pub(crate) fn new(idle: Duration) -> Sessions {
        Sessions {
            map: Mutex::new(HashMap::new()),
            idle,
        }
    }

    /// Opens a session; returns its id.
    pub(crate) fn open(&self, agent_id: &str, role: Role) -> String {
        let mut raw = [0u8; 32];
        rand::rng().fill_bytes(&mut raw);
        let sid = hex::encode(raw);
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let idle = self.idle;
        map.retain(|_, s| s.last_seen.elapsed() < idle);
        map.insert(
            sid.clone(),
            Session {
                agent_id: agent_id.to_owned(),
                role,
                last_seen: Instant::now(),
            },
        );
        sid
    }

    /// The session of `sid`, touched; an idle one ends here.
    pub(crate) fn get(&self, sid: &str) -> SessionState {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        match map.get_mut(sid) {
            Some(s) if s.last_seen.elapsed() < self.idle => {
                s.last_seen = Instant::now();
                SessionState::Active(s.clone())
            }
            Some(_) => {
                map.remove(sid);
                SessionState::Expired
            }
            None => SessionState::None,
        }
    }

    pub(crate) fn close(&self, sid: &str) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(sid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_when_idle() {
        let sessions = Sessions::new(Duration::from_millis(50));
        let sid = sessions.open("a", Role::Supervisor);
        assert!(matches!(sessions.get(&sid), SessionState::Active(_)));
        std::thread::sleep(Duration::from_millis(80));
        assert!(matches!(sessions.get(&sid), SessionState::Expired));
        assert!(matches!(sessions.get(&sid), SessionState::None));
    }
}
