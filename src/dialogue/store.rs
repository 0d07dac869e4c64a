//! The dialogue's embedded store: a redb file of its own (`dialogue.redb` in
//! `GATEWAY_DATA_DIR`), apart from the outbox so that a conversation's draft — which is
//! personal data the citizen has not yet sent — never mixes with accepted appeals.
//!
//! Two tables: `conversations` (one JSON record per messenger user, synced on every
//! change so that a restart resumes the conversation) and `seen` (provider message ids
//! already taken, the embedded half of the exactly-once dedupe; see
//! [`super::dedupe`]). A write transaction in redb is exclusive, so "insert if absent"
//! inside one transaction is atomic: no get-then-set race between two deliveries.

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::Conversation;

const CONVERSATIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("conversations");
const SEEN: TableDefinition<&str, u64> = TableDefinition::new("seen");

/// A storage failure; it names the operation, never a record's content.
#[derive(Debug, thiserror::Error)]
#[error("dialogue store: {0}")]
pub struct StoreError(String);

impl StoreError {
    pub(crate) fn new(what: &str) -> StoreError {
        StoreError(what.to_owned())
    }
}

fn err<E: Into<redb::Error>>(what: &'static str) -> impl Fn(E) -> StoreError {
    move |e| StoreError(format!("{what}: {}", e.into()))
}

/// The store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
}

impl Store {
    /// Opens (or creates) `dialogue.redb` in `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError(format!("create {}: {e}", dir.display())))?;
        let db = Database::create(dir.join("dialogue.redb")).map_err(err("open"))?;
        let txn = db.begin_write().map_err(err("begin"))?;
        txn.open_table(CONVERSATIONS).map_err(err("open table"))?;
        txn.open_table(SEEN).map_err(err("open table"))?;
        txn.commit().map_err(err("commit"))?;
        Ok(Store { db: Arc::new(db) })
    }

    /// The conversation of `user` (`channel:id`), if one is stored and readable.
    pub fn load(&self, user: &str) -> Result<Option<Conversation>, StoreError> {
        let txn = self.db.begin_read().map_err(err("begin read"))?;
        let table = txn.open_table(CONVERSATIONS).map_err(err("open table"))?;
        let Some(bytes) = table.get(user).map_err(err("read"))? else {
            return Ok(None);
        };
        // An unreadable record (an older format) starts the conversation afresh.
        Ok(serde_json::from_slice(bytes.value()).ok())
    }

    /// Stores (synced) or, with `None`, erases the conversation of `user`.
    pub(crate) fn save(
        &self,
        user: &str,
        conversation: Option<&Conversation>,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(err("begin"))?;
        {
            let mut table = txn.open_table(CONVERSATIONS).map_err(err("open table"))?;
            match conversation {
                Some(c) => {
                    let bytes =
                        serde_json::to_vec(c).map_err(|e| StoreError(format!("encode: {e}")))?;
                    table.insert(user, bytes.as_slice()).map_err(err("write"))?;
                }
                None => {
                    table.remove(user).map_err(err("remove"))?;
                }
            }
        }
        txn.commit().map_err(err("commit"))
    }

    /// Records `key` as seen at `now`; `true` if it was not seen before. Atomic: the
    /// read and the write are one exclusive write transaction.
    pub(crate) fn claim(&self, key: &str, now: u64) -> Result<bool, StoreError> {
        let txn = self.db.begin_write().map_err(err("begin"))?;
        let fresh = {
            let mut table = txn.open_table(SEEN).map_err(err("open table"))?;
            let fresh = table.get(key).map_err(err("read"))?.is_none();
            if fresh {
                table.insert(key, now).map_err(err("write"))?;
            }
            fresh
        };
        txn.commit().map_err(err("commit"))?;
        Ok(fresh)
    }

    /// Forgets `key` (its processing failed, so the provider's retry must be taken).
    pub(crate) fn release(&self, key: &str) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(err("begin"))?;
        {
            let mut table = txn.open_table(SEEN).map_err(err("open table"))?;
            table.remove(key).map_err(err("remove"))?;
        }
        txn.commit().map_err(err("commit"))
    }

    /// Erases every conversation whose draft was last touched before `abandoned_before`
    /// (keeping the user's language and tracking numbers, which are no draft), and every
    /// seen id older than `seen_before`. Returns how many drafts were erased.
    pub(crate) fn sweep(
        &self,
        abandoned_before: u64,
        seen_before: u64,
    ) -> Result<usize, StoreError> {
        let txn = self.db.begin_write().map_err(err("begin"))?;
        let mut erased = 0;
        {
            let mut table = txn.open_table(CONVERSATIONS).map_err(err("open table"))?;
            let mut stale = Vec::new();
            for entry in table.iter().map_err(err("scan"))? {
                let (key, value) = entry.map_err(err("scan"))?;
                let conversation: Option<Conversation> = serde_json::from_slice(value.value()).ok();
                match conversation {
                    Some(c) if c.updated_at >= abandoned_before || !c.has_draft() => {}
                    other => stale.push((key.value().to_owned(), other)),
                }
            }
            for (key, conversation) in stale {
                match conversation.and_then(Conversation::abandoned) {
                    Some(kept) => {
                        let bytes = serde_json::to_vec(&kept)
                            .map_err(|e| StoreError(format!("encode: {e}")))?;
                        table
                            .insert(key.as_str(), bytes.as_slice())
                            .map_err(err("write"))?;
                    }
                    None => {
                        table.remove(key.as_str()).map_err(err("remove"))?;
                    }
                }
                erased += 1;
            }
        }
        {
            let mut seen = txn.open_table(SEEN).map_err(err("open table"))?;
            seen.retain(|_, at| at >= seen_before)
                .map_err(err("sweep seen"))?;
        }
        txn.commit().map_err(err("commit"))?;
        Ok(erased)
    }
}
