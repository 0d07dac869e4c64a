//! The one-time import of `agents.redb`, where each instance kept its agents' accounts
//! before they moved to Redis ([`super::accounts`]), so that nothing an operator set up
//! is lost in the upgrade.
//!
//! At start (and before any `appeal-gateway agents …` command) every account of
//! `GATEWAY_DATA_DIR/agents.redb` is written to Redis unless Redis already has that id
//! (an account changed since, or imported from another instance's file, is not
//! overwritten): id, role, password hash, token digest, disabled, and an operator's
//! lock. The file is then renamed `agents.redb.imported` and never read again; keep it
//! as a backup or delete it. While Redis is away the server tries again every few
//! seconds. The file's duplicates-hint table (`recent`) is not imported: the hint looks
//! three days back and Redis has held the shared index since it existed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::Deserialize;

use super::accounts::{Account, AgentError, AgentStore, Role};

const AGENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("agents");
/// What `agents lock` wrote in `locked_until_ms`; other values were the failed-login
/// locks of before issue 17, long expired.
const LOCKED_FOR_GOOD: u64 = u64::MAX;
/// The file, and its name once imported.
const FILE: &str = "agents.redb";
const IMPORTED: &str = "agents.redb.imported";
/// Page cache while the file is read.
const LEGACY_CACHE_BYTES: usize = 1024 * 1024;

/// An account as `agents.redb` stored it (JSON).
#[derive(Deserialize)]
struct Stored {
    id: String,
    role: Role,
    password_hash: String,
    token_sha256: Option<String>,
    disabled: bool,
    #[serde(default)]
    locked_until_ms: u64,
}

/// The accounts of `data_dir/agents.redb`; `None` when there is no such file.
fn read(data_dir: &Path) -> Result<Option<Vec<Account>>, AgentError> {
    let path = data_dir.join(FILE);
    if !path.is_file() {
        return Ok(None);
    }
    let store =
        |what: &'static str| move |e: String| AgentError::Store(format!("{FILE}: {what}: {e}"));
    // Another process (an admin command importing too) may hold it for a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    let db = loop {
        // Read once from start to end: no page is read twice, so a small cache does
        // (redb's default would be 1 GiB).
        match redb::Builder::new()
            .set_cache_size(LEGACY_CACHE_BYTES)
            .open(&path)
        {
            Ok(db) => break db,
            Err(redb::DatabaseError::DatabaseAlreadyOpen) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(store("open")(e.to_string())),
        }
    };
    let txn = db.begin_read().map_err(|e| store("read")(e.to_string()))?;
    let table = match txn.open_table(AGENTS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Some(Vec::new())),
        Err(e) => return Err(store("open table")(e.to_string())),
    };
    let mut accounts = Vec::new();
    for item in table.iter().map_err(|e| store("iterate")(e.to_string()))? {
        let (_, value) = item.map_err(|e| store("read")(e.to_string()))?;
        // A record that does not decode was unusable before too.
        let Ok(stored) = serde_json::from_slice::<Stored>(value.value()) else {
            continue;
        };
        accounts.push(Account {
            id: stored.id,
            role: stored.role,
            password_hash: stored.password_hash,
            token_sha256: stored.token_sha256,
            disabled: stored.disabled,
            locked: stored.locked_until_ms == LOCKED_FOR_GOOD,
            // Names came with Redis-held accounts (issue 33): set with `agents update`.
            name: None,
        });
    }
    Ok(Some(accounts))
}

/// Imports `data_dir/agents.redb` into Redis once (see the module doc); returns how many
/// accounts were added (0 when there is no file). The file is renamed only once every
/// account is in Redis.
pub(crate) async fn import(store: &AgentStore, data_dir: &Path) -> Result<usize, AgentError> {
    let dir: PathBuf = data_dir.to_owned();
    let accounts = tokio::task::spawn_blocking(move || read(&dir))
        .await
        .map_err(|e| AgentError::Store(e.to_string()))??;
    let Some(accounts) = accounts else {
        return Ok(0);
    };
    let mut added = 0;
    for account in &accounts {
        if store.insert(account).await? {
            added += 1;
        }
    }
    std::fs::rename(data_dir.join(FILE), data_dir.join(IMPORTED))
        .map_err(|e| AgentError::Store(format!("{FILE}: rename: {e}")))?;
    Ok(added)
}

/// [`import`] at start: tries again every few seconds while Redis is away.
pub(crate) async fn import_at_start(store: &AgentStore, data_dir: &Path) {
    loop {
        match import(store, data_dir).await {
            Ok(0) => return,
            Ok(added) => {
                tracing::info!(
                    added,
                    "agents.redb imported into Redis (renamed agents.redb.imported)"
                );
                return;
            }
            Err(AgentError::Unavailable) => tokio::time::sleep(Duration::from_secs(2)).await,
            Err(e) => {
                tracing::error!(error = %e, "agents.redb not imported: fix it and restart");
                return;
            }
        }
    }
}
