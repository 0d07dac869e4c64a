//! Calls the telephony system announced (`POST /api/v1/calls/incoming`), waiting for an
//! agent of the 1308 call-center: the console picks the caller's number up on its next
//! load, so the agent does not type it.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an announced call waits for an agent.
pub(crate) const CALL_TTL: Duration = Duration::from_secs(10 * 60);

/// A call announced by the telephony system.
struct Call {
    caller: String,
    agent_id: Option<String>,
    at: Instant,
}

/// Calls waiting for an agent, in memory.
#[derive(Default)]
pub(crate) struct Calls {
    queue: Mutex<VecDeque<Call>>,
}

impl Calls {
    /// Queues a call (the caller's number, normalized) for an agent or for anyone.
    pub(crate) fn announce(&self, caller: String, agent_id: Option<String>) {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        q.retain(|c| c.at.elapsed() < CALL_TTL);
        if q.len() >= 1000 {
            q.pop_front();
        }
        q.push_back(Call {
            caller,
            agent_id,
            at: Instant::now(),
        });
    }

    /// The oldest waiting call for this agent (their own first, then anyone's).
    pub(crate) fn take(&self, agent_id: &str) -> Option<String> {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        q.retain(|c| c.at.elapsed() < CALL_TTL);
        let pos = q
            .iter()
            .position(|c| c.agent_id.as_deref() == Some(agent_id))
            .or_else(|| q.iter().position(|c| c.agent_id.is_none()))?;
        q.remove(pos).map(|c| c.caller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_go_to_their_agent_first() {
        let calls = Calls::default();
        calls.announce("+77010000001".into(), None);
        calls.announce("+77010000002".into(), Some("b".into()));
        assert_eq!(calls.take("b").as_deref(), Some("+77010000002"));
        assert_eq!(calls.take("a").as_deref(), Some("+77010000001"));
        assert_eq!(calls.take("a"), None);
    }
}
