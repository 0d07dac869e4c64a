//! The import of an `outbox.redb` left by a gateway from before the log (2026-12):
//! its waiting records are appended to the log, once, at the first start; then the old
//! file is overwritten with zeros and deleted (it held forwarded records in its free
//! pages too). Its idempotent answers and tracking table are not carried over: the
//! tracking numbers forwarded are in Redis (`gateway:status:*`), and a repeat of a key
//! answered by the old gateway within its 24 hours is taken as a new request.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::Ordering;

use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::Deserialize;

use super::record::{self, Bundle, Envelope, Mark, MarkOp};
use super::segment;
use super::shared::{OutboxError, Shared, io};

const OUTBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("outbox");

/// A mark as the redb outbox stored it.
#[derive(Debug, Deserialize)]
struct OldMark {
    key: String,
    field: String,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    count: bool,
    #[serde(default)]
    ttl_secs: Option<u64>,
}

/// A record as the redb outbox stored it (postcard behind the byte 1, or JSON).
#[derive(Debug, Deserialize)]
struct OldBundle {
    id: String,
    messages: Vec<Envelope>,
    accepted_at_ms: u64,
    #[serde(default)]
    accepted_at_us: u64,
    #[serde(default)]
    marks: Vec<OldMark>,
}

fn decode(bytes: &[u8]) -> Result<OldBundle, String> {
    match bytes.split_first() {
        Some((1, rest)) => postcard::from_bytes(rest).map_err(|e| e.to_string()),
        _ => serde_json::from_slice(bytes).map_err(|e| e.to_string()),
    }
}

impl From<OldBundle> for Bundle {
    fn from(old: OldBundle) -> Bundle {
        let status_prefix = "gateway:status:";
        let tracking = old
            .marks
            .iter()
            .find_map(|m| m.key.strip_prefix(status_prefix).map(str::to_owned));
        let marks = old
            .marks
            .into_iter()
            .map(|m| Mark {
                op: if m.count {
                    MarkOp::Count
                } else if m.key.starts_with(status_prefix) && m.field == "appeal_id" {
                    MarkOp::First
                } else {
                    MarkOp::Set
                },
                value: m.value.unwrap_or_else(|| "1".to_owned()),
                key: m.key,
                field: m.field,
                ttl_secs: m.ttl_secs,
            })
            .collect();
        Bundle {
            id: old.id,
            messages: old.messages,
            accepted_at_us: match old.accepted_at_us {
                0 => old.accepted_at_ms.saturating_mul(1000),
                us => us,
            },
            marks,
            tracking,
            claim: None,
        }
    }
}

/// Imports `<data_dir>/outbox.redb` into the log's last segment, if there is one.
pub(super) fn import(
    data_dir: &Path,
    shared: &Shared,
    active: &mut File,
) -> Result<(), OutboxError> {
    let path = data_dir.join("outbox.redb");
    if !path.is_file() {
        return Ok(());
    }
    let db = match redb::Database::open(&path) {
        Ok(db) => db,
        Err(redb::DatabaseError::DatabaseAlreadyOpen) => return Err(OutboxError::Locked),
        Err(e) => return Err(OutboxError::Storage(format!("open outbox.redb: {e}"))),
    };
    let mut records = Vec::new();
    {
        let txn = db
            .begin_read()
            .map_err(|e| OutboxError::Storage(format!("read outbox.redb: {e}")))?;
        match txn.open_table(OUTBOX) {
            Ok(table) => {
                let iter = table
                    .iter()
                    .map_err(|e| OutboxError::Storage(format!("read outbox.redb: {e}")))?;
                for entry in iter {
                    let (_, bytes) = entry
                        .map_err(|e| OutboxError::Storage(format!("read outbox.redb: {e}")))?;
                    match decode(bytes.value()) {
                        Ok(old) => records.push(Bundle::from(old)),
                        Err(e) => {
                            return Err(OutboxError::Storage(format!(
                                "a record of outbox.redb is unreadable: {e}"
                            )));
                        }
                    }
                }
            }
            Err(redb::TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(OutboxError::Storage(format!("read outbox.redb: {e}"))),
        }
    }
    drop(db);
    let mut seq = shared.next_seq.load(Ordering::SeqCst);
    let mut batch = Vec::new();
    let mut one = Vec::new();
    for bundle in &records {
        one.clear();
        record::encode(seq, bundle, &mut one).map_err(|e| OutboxError::Storage(e.to_string()))?;
        segment::frame(&one, &mut batch);
        seq += 1;
    }
    active.write_all(&batch).map_err(io("import outbox.redb"))?;
    active.sync_data().map_err(io("import outbox.redb"))?;
    let end = active.metadata().map_err(io("import outbox.redb"))?.len();
    shared.next_seq.store(seq, Ordering::SeqCst);
    shared.durable.store(seq, Ordering::SeqCst);
    if let Some(last) = shared.state().segments.last_mut() {
        last.bytes = end;
    }
    shred(&path).map_err(io("erase outbox.redb"))?;
    segment::sync_dir(data_dir).map_err(io("sync the data directory"))?;
    tracing::info!(
        records = records.len(),
        "outbox.redb of an earlier gateway imported into the outbox log"
    );
    Ok(())
}

/// Overwrites a file with zeros, syncs it and deletes it: the erasure of a store left by
/// an earlier gateway (`outbox.redb`, `open311.redb`), whose free pages held removed
/// records.
pub(crate) fn shred(path: &Path) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
    let len = file.metadata()?.len();
    let zeros = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        file.write_all(&zeros[..n])?;
        left -= n as u64;
    }
    file.sync_all()?;
    drop(file);
    std::fs::remove_file(path)
}
