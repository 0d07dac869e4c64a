//! The Open311 channel's own index of the requests it took: GeoReport v2 lets a client
//! list requests by `service_code` and date, which the status board (keyed by tracking
//! number only) cannot answer. One redb file (`open311.redb` in `GATEWAY_DATA_DIR`), one
//! table, tracking number → [`Indexed`].
//!
//! Personal data: the index holds the problem's address and coordinates only when the
//! deployment names private readers (`GATEWAY_OPEN311_PRIVATE_READERS`); otherwise it
//! holds no more than a public read shows (regulation 6.7: no excess). The index belongs
//! to the instance that took the request, like the outbox's tracking table.

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

const REQUESTS: TableDefinition<&str, &[u8]> = TableDefinition::new("open311_requests");

/// A storage failure; it names the operation, never a record.
#[derive(Debug, thiserror::Error)]
#[error("open311 index: {0}")]
pub(crate) struct IndexError(String);

fn failed<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> IndexError {
    move |e| IndexError(format!("{what}: {e}"))
}

/// What the channel remembers of one request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Indexed {
    pub(crate) tracking_number: String,
    pub(crate) appeal_id: String,
    pub(crate) service_code: String,
    /// When it was received (RFC 3339, UTC).
    pub(crate) requested_datetime: String,
    /// Where the problem is; kept only for private readers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) long: Option<f64>,
}

/// The index handle; cheap to clone.
#[derive(Clone)]
pub(crate) struct Index {
    db: Arc<Database>,
}

impl Index {
    /// Opens (or creates) the index in `dir`, keeping at most `cache_bytes` of its pages
    /// in memory (`GATEWAY_STORE_CACHE_BYTES`).
    pub(crate) fn open(dir: &Path, cache_bytes: usize) -> Result<Index, IndexError> {
        std::fs::create_dir_all(dir).map_err(failed("create dir"))?;
        let db = redb::Builder::new()
            .set_cache_size(cache_bytes)
            .create(dir.join("open311.redb"))
            .map_err(failed("open"))?;
        let txn = db.begin_write().map_err(failed("begin"))?;
        txn.open_table(REQUESTS).map_err(failed("open table"))?;
        txn.commit().map_err(failed("commit"))?;
        Ok(Index { db: Arc::new(db) })
    }

    /// Remembers a request (blocking: call it off the async executor).
    pub(crate) fn put(&self, record: &Indexed) -> Result<(), IndexError> {
        let bytes = serde_json::to_vec(record).map_err(failed("encode"))?;
        let txn = self.db.begin_write().map_err(failed("begin"))?;
        {
            let mut table = txn.open_table(REQUESTS).map_err(failed("open table"))?;
            table
                .insert(record.tracking_number.as_str(), bytes.as_slice())
                .map_err(failed("insert"))?;
        }
        txn.commit().map_err(failed("commit"))
    }

    /// The request with this tracking number, if this instance took it.
    pub(crate) fn get(&self, tracking_number: &str) -> Result<Option<Indexed>, IndexError> {
        let txn = self.db.begin_read().map_err(failed("begin read"))?;
        let table = txn.open_table(REQUESTS).map_err(failed("open table"))?;
        let found = table.get(tracking_number).map_err(failed("read"))?;
        Ok(found.and_then(|v| serde_json::from_slice(v.value()).ok()))
    }

    /// Every request that `keep` accepts, newest first, at most `limit`.
    pub(crate) fn scan(
        &self,
        limit: usize,
        keep: impl Fn(&Indexed) -> bool,
    ) -> Result<Vec<Indexed>, IndexError> {
        let txn = self.db.begin_read().map_err(failed("begin read"))?;
        let table = txn.open_table(REQUESTS).map_err(failed("open table"))?;
        let mut found = Vec::new();
        for entry in table.iter().map_err(failed("scan"))? {
            let (_, value) = entry.map_err(failed("scan"))?;
            if let Ok(record) = serde_json::from_slice::<Indexed>(value.value())
                && keep(&record)
            {
                found.push(record);
            }
        }
        // ULIDs sort by time: the newest appeal has the greatest id.
        found.sort_by(|a, b| b.appeal_id.cmp(&a.appeal_id));
        found.truncate(limit);
        Ok(found)
    }
}
