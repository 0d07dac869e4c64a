//! `appeal-gateway agents add|update|disable|lock|unlock|list`: the agents' accounts, in Redis
//! (`REDIS_URL`, see [`crate::channels::agent_console::accounts`]), so a change made
//! from any machine holds on every instance at the agent's next request.
//!
//! Before anything else the command imports `GATEWAY_DATA_DIR/agents.redb` if one is
//! left from before accounts were shared (as a starting gateway does), so that `agents
//! list` right after an upgrade shows them. Redis must answer: the command fails (exit
//! 1) with a line saying so, and changes nothing.

use std::time::Duration;

use crate::channels::agent_console::accounts::{AgentError, AgentStore, Role};
use crate::channels::agent_console::legacy;
use crate::config::Config;
use crate::redis_handle::Redis;
use crate::redis_target::RedisTarget;

/// How long the command waits for Redis.
const WAIT: Duration = Duration::from_secs(5);

/// What the operator asked for (the password already read, never from the command line).
pub enum AgentsAction {
    Add {
        id: String,
        role: String,
        password: String,
        token: bool,
        /// The display name receipts print.
        name: Option<String>,
    },
    /// Changes what can change without a new account: the display name.
    Update {
        id: String,
        name: String,
    },
    Disable {
        id: String,
    },
    Lock {
        id: String,
        locked: bool,
    },
    List,
}

/// Runs the action; returns the exit status (0, 1 on failure, 2 on a bad argument).
pub fn run(config: &Config, action: AgentsAction) -> u8 {
    let Some(runtime) = super::command::runtime("agents") else {
        return 1;
    };
    match runtime.block_on(run_async(config, action)) {
        Ok(()) => 0,
        Err(Failure::Usage(line)) => {
            eprintln!("appeal-gateway: {line}");
            2
        }
        Err(Failure::Agents(e)) => {
            eprintln!("appeal-gateway: agents: {e}");
            1
        }
    }
}

enum Failure {
    Usage(&'static str),
    Agents(AgentError),
}

impl From<AgentError> for Failure {
    fn from(e: AgentError) -> Failure {
        Failure::Agents(e)
    }
}

async fn run_async(config: &Config, action: AgentsAction) -> Result<(), Failure> {
    let target = RedisTarget::parse(&config.redis_url).ok();
    let store = AgentStore::new(&Redis::new(target, &config.stream_prefix), WAIT);
    let imported = legacy::import(&store, &config.data_dir).await?;
    if imported > 0 {
        println!("{imported} agent(s) imported from agents.redb (renamed agents.redb.imported)");
    }
    match action {
        AgentsAction::Add {
            id,
            role,
            password,
            token,
            name,
        } => {
            let role = Role::parse(&role).ok_or(Failure::Usage(
                "--role: call_center_agent, front_office_operator or supervisor",
            ))?;
            let issued = store
                .add(&id, role, &password, token, name.as_deref())
                .await?;
            println!("agent {id} added ({})", role.as_str());
            if let Some(t) = issued {
                println!("api token (shown once): {t}");
            }
        }
        AgentsAction::Update { id, name } => {
            store.rename(&id, &name).await?;
            println!("agent {id} updated");
        }
        AgentsAction::Disable { id } => {
            store.disable(&id).await?;
            println!("agent {id} disabled");
        }
        AgentsAction::Lock { id, locked } => {
            store.lock(&id, locked).await?;
            println!("agent {id} {}", if locked { "locked" } else { "unlocked" });
        }
        AgentsAction::List => {
            for a in store.list().await? {
                println!(
                    "{}\t{}\t{}{}{}{}",
                    a.id,
                    a.role.as_str(),
                    if a.disabled { "disabled" } else { "active" },
                    if a.locked { ",locked" } else { "" },
                    if a.has_token { ",token" } else { "" },
                    a.name.map(|n| format!("\t{n}")).unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}
