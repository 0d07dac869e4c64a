//! Calls the telephony system announced (`POST /api/v1/calls/incoming`), waiting for an
//! agent of the 1308 call-center: the console picks the caller's number up on its next
//! load, so the agent does not type it.
//!
//! The telephony system's request and the agent's console may reach different instances,
//! so the calls wait in Redis ([`crate::keyspace`]): a list per agent,
//! `gateway:calls:<agent id>`, and one for anyone, `gateway:calls:*`, each entry
//! `<announced at, ms>|<caller in E.164>`. A caller's number is personal data: a list
//! expires [`CALL_TTL`] after its last announce, an older entry is skipped and dropped
//! when met, and a list keeps the newest [`MAX_WAITING`] calls.
//!
//! Redis away: the call waits in this instance's memory (as before there were several
//! instances), and the console looks there after Redis.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::keyspace::name;
use crate::redis_handle::{PAGE_WAIT, Redis, Unavailable};

/// How long an announced call waits for an agent.
pub(crate) const CALL_TTL: Duration = Duration::from_secs(10 * 60);
/// The most calls waiting in one list.
const MAX_WAITING: isize = 1000;

/// A call announced by the telephony system, held here while Redis is away.
struct Call {
    caller: String,
    agent_id: Option<String>,
    at: Instant,
}

/// Calls waiting for an agent: in Redis, in memory when Redis is away.
pub(crate) struct Calls {
    redis: Redis,
    queue: Mutex<VecDeque<Call>>,
}

impl Calls {
    pub(crate) fn new(redis: &Redis) -> Calls {
        Calls {
            redis: redis.waiting(PAGE_WAIT),
            queue: Mutex::new(VecDeque::new()),
        }
    }

    /// Queues a call (the caller's number, normalized) for an agent or for anyone.
    pub(crate) async fn announce(&self, caller: String, agent_id: Option<String>) {
        if self.redis_push(&caller, agent_id.as_deref()).await.is_ok() {
            return;
        }
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        q.retain(|c| c.at.elapsed() < CALL_TTL);
        if q.len() >= MAX_WAITING as usize {
            q.pop_front();
        }
        q.push_back(Call {
            caller,
            agent_id,
            at: Instant::now(),
        });
    }

    /// The oldest waiting call for this agent (their own first, then anyone's).
    pub(crate) async fn take(&self, agent_id: &str) -> Option<String> {
        for list in [Some(agent_id), None] {
            if let Ok(Some(caller)) = self.redis_pop(list).await {
                return Some(caller);
            }
        }
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        q.retain(|c| c.at.elapsed() < CALL_TTL);
        let pos = q
            .iter()
            .position(|c| c.agent_id.as_deref() == Some(agent_id))
            .or_else(|| q.iter().position(|c| c.agent_id.is_none()))?;
        q.remove(pos).map(|c| c.caller)
    }

    /// `Ok` when Redis took the call.
    async fn redis_push(&self, caller: &str, agent_id: Option<&str>) -> Result<(), Unavailable> {
        let key = self.redis.keys().key(&name::calls(agent_id));
        let entry = format!("{}|{caller}", crate::clock::now_ms());
        let mut pipe = redis::pipe();
        pipe.atomic()
            .rpush(&key, entry)
            .ignore()
            .ltrim(&key, -MAX_WAITING, -1)
            .ignore()
            .pexpire(&key, CALL_TTL.as_millis() as i64)
            .ignore();
        self.redis
            .run(|mut conn| async move { pipe.query_async::<()>(&mut conn).await })
            .await
    }

    /// The oldest call of a list still waiting, taken; older ones are dropped.
    async fn redis_pop(&self, agent_id: Option<&str>) -> Result<Option<String>, Unavailable> {
        let key = self.redis.keys().key(&name::calls(agent_id));
        let oldest = crate::clock::now_ms().saturating_sub(CALL_TTL.as_millis() as u64);
        loop {
            let mut cmd = redis::cmd("LPOP");
            cmd.arg(&key);
            let popped = self
                .redis
                .run(|mut conn| async move { cmd.query_async::<Option<String>>(&mut conn).await })
                .await?;
            let Some(entry) = popped else {
                return Ok(None);
            };
            let Some((at, caller)) = entry.split_once('|') else {
                continue;
            };
            if at.parse::<u64>().is_ok_and(|at| at >= oldest) {
                return Ok(Some(caller.to_owned()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn without_redis_calls_go_to_their_agent_first() {
        let calls = Calls::new(&Redis::new(None, "t:"));
        calls.announce("+77010000001".into(), None).await;
        calls
            .announce("+77010000002".into(), Some("b".into()))
            .await;
        assert_eq!(calls.take("b").await.as_deref(), Some("+77010000002"));
        assert_eq!(calls.take("a").await.as_deref(), Some("+77010000001"));
        assert_eq!(calls.take("a").await, None);
    }
}
