//! The consoles' settings, their check, and how the channel is built from them.

use super::accounts::AgentStore;
use super::calls::Calls;
use super::recent::Recent;
use super::sessions::Sessions;
use super::throttle;
use crate::attachments::AttachmentStore;
use crate::http::csrf::CsrfKey;
use crate::http::ratelimit::{Limit, SharedCounters};
use actix_web::web;
use std::sync::Arc;
use std::time::Duration;

use crate::redis_handle::STATUS_WAIT;

use super::state::AgentConsole;
use crate::channels::component::{BuildError, Built, Component, Wiring, section};
use crate::config::Config;
use crate::supervisor::Supervisor;

/// The consoles' settings.
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct Settings {
    /// Idle seconds before an agent's session ends (`GATEWAY_AGENT_SESSION_IDLE_SECS`).
    #[serde(
        default = "default_session_idle",
        deserialize_with = "crate::config::number"
    )]
    pub(crate) agent_session_idle_secs: u64,
}

fn default_session_idle() -> u64 {
    15 * 60
}

/// Login attempts per client address and minute (failures of one id also slow that id
/// from that address: [`throttle`]).
const LOGIN_RATE_PER_MINUTE: u32 = 10;

impl AgentConsole {
    /// Redis and `GATEWAY_STREAM_PREFIX` hold what every instance shares.
    pub(crate) fn new(settings: &Settings, wiring: &Wiring<'_>) -> AgentConsole {
        let gateway = Arc::clone(wiring.gateway);
        let redis = wiring.redis;
        // The login limit and throttle, counted in Redis by every instance.
        let shared = SharedCounters::new(redis, gateway.deployment_secret());
        AgentConsole {
            csrf: CsrfKey::derive(gateway.deployment_secret(), wiring.cookie_secure),
            accounts: AgentStore::new(redis, STATUS_WAIT),
            recent: Recent::new(redis),
            sessions: Sessions::new(
                gateway.deployment_secret(),
                Duration::from_secs(settings.agent_session_idle_secs),
                redis,
            ),
            calls: Calls::new(redis),
            login_limiter: Limit::per_minute(
                "login-address",
                LOGIN_RATE_PER_MINUTE,
                Some(Arc::clone(&shared)),
            ),
            login_throttle: throttle::SharedThrottle::new(Some(shared)),
            cookie_secure: wiring.cookie_secure,
            store: AttachmentStore::new(&wiring.config.data_dir),
            gateway,
            tokens: Arc::clone(wiring.tokens),
            max_body: wiring.config.max_body_bytes,
        }
    }
}

impl Component for Settings {
    fn load(config: &Config, problems: &mut Vec<String>) -> Option<Settings> {
        let settings: Settings = section(config, problems)?;
        if settings.agent_session_idle_secs == 0 || settings.agent_session_idle_secs > 24 * 3600 {
            problems.push("GATEWAY_AGENT_SESSION_IDLE_SECS: between 1 and 86400".to_owned());
        }
        Some(settings)
    }

    /// The consoles' routes; the accounts of an `agents.redb` from before Redis held
    /// them are imported once, in the background.
    fn build(
        self: Box<Self>,
        wiring: &Wiring<'_>,
        tasks: &mut Supervisor,
    ) -> Result<Built, BuildError> {
        let agents = web::Data::new(AgentConsole::new(&self, wiring));
        let importing = agents.clone();
        let data_dir = wiring.config.data_dir.clone();
        tasks.spawn("agents-import", async move {
            super::legacy::import_at_start(&importing.accounts, &data_dir).await;
        });
        Ok(Built::routes(move |cfg| {
            super::configure(cfg, agents.clone())
        }))
    }
}
