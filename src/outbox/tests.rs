use super::*;
use crate::consent::{GENESIS_HASH, chain_hash};
use record::ChainLink;
use std::io::Write;
use std::path::PathBuf;

fn envelope(stream: &str, data: &str) -> Envelope {
    Envelope {
        stream: stream.into(),
        id: ulid::Ulid::new().to_string(),
        kind: "appeal".into(),
        data: data.into(),
        link: None,
    }
}

fn bundle(text: &str, tracking: Option<&str>, key: Option<&str>) -> Bundle {
    let id = ulid::Ulid::new().to_string();
    Bundle {
        id: id.clone(),
        messages: vec![
            envelope("appeals.v1", &format!("{{\"text\":\"{text}\"}}")),
            envelope("consent.v1", "{\"a\":1}"),
        ],
        accepted_at_us: crate::clock::now_us(),
        marks: Vec::new(),
        tracking: tracking.map(str::to_owned),
        claim: key.map(|k| ClaimRecord {
            key: format!("gateway:idempotency:{k}"),
            fingerprint: "fp".into(),
            answer: format!("{{\"id\":\"{id}\"}}"),
        }),
    }
}

fn reopen(dir: &Path) -> Outbox {
    let mut reopened = Outbox::open(dir);
    for _ in 0..100 {
        if reopened.is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
        reopened = Outbox::open(dir);
    }
    reopened.expect("reopen")
}

fn read_all(outbox: &Outbox) -> Vec<(u64, Arc<Bundle>)> {
    let mut cursor = Cursor::default();
    let mut out = Vec::new();
    let mut from = outbox.forwarded_through();
    loop {
        let batch = outbox.read(from, 100, &mut cursor).expect("read");
        let Some(&(last, _)) = batch.last() else {
            return out;
        };
        from = last + 1;
        out.extend(batch);
    }
}

/// Every file under `dir`, with its bytes.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("list").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).expect("read")));
        }
    }
    out
}

fn texts(records: &[(u64, Arc<Bundle>)]) -> Vec<String> {
    records
        .iter()
        .map(|(_, b)| b.messages[0].data.clone())
        .collect()
}

fn stored(appended: Result<Appended, OutboxError>) -> u64 {
    match appended.expect("append") {
        Appended::Stored(seq) => seq,
        other => panic!("expected a stored record, got {other:?}"),
    }
}

#[tokio::test]
async fn records_survive_reopening_in_order_and_leave_once_forwarded() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let outbox = Outbox::open(dir.path()).expect("open");
        for i in 0..3 {
            stored(outbox.append(bundle(&format!("r{i}"), None, None)).await);
        }
        assert_eq!(outbox.depth(), 3);
        outbox.close();
    }
    let outbox = reopen(dir.path());
    assert_eq!(outbox.depth(), 3);
    let records = read_all(&outbox);
    assert_eq!(
        texts(&records),
        [
            "{\"text\":\"r0\"}",
            "{\"text\":\"r1\"}",
            "{\"text\":\"r2\"}"
        ]
    );
    outbox.ack(&records[..2]).expect("ack");
    assert_eq!(outbox.depth(), 1);
    outbox.close();
    drop(outbox);
    let outbox = reopen(dir.path());
    assert_eq!(outbox.depth(), 1, "the ledger is kept across a stop");
    assert_eq!(texts(&read_all(&outbox)), ["{\"text\":\"r2\"}"]);
}

#[tokio::test]
async fn a_start_after_a_crash_cuts_a_torn_record_and_keeps_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let outbox = Outbox::open(dir.path()).expect("open");
        for i in 0..5 {
            stored(outbox.append(bundle(&format!("r{i}"), None, None)).await);
        }
        // No close: as after `kill -9`. Then half a frame, as a write cut by a crash.
        drop(outbox);
    }
    let last = segment::list(&dir.path().join("outbox"))
        .expect("list")
        .pop()
        .expect("a segment");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&last.path)
        .expect("open");
    file.write_all(&[200, 0, 0, 0, 1, 2, 3, 4, 5])
        .expect("write");
    drop(file);
    let outbox = reopen(dir.path());
    assert_eq!(outbox.depth(), 5);
    stored(outbox.append(bundle("after", None, None)).await);
    assert_eq!(
        read_all(&outbox).len(),
        6,
        "the new record follows the whole ones"
    );
}

#[tokio::test]
async fn the_consent_ledger_is_chained_and_each_run_starts_a_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = Outbox::open(dir.path()).expect("open");
    stored(outbox.append(bundle("a", None, None)).await);
    stored(outbox.append(bundle("b", None, None)).await);
    outbox.close();
    drop(outbox);
    let outbox = reopen(dir.path());
    stored(outbox.append(bundle("c", None, None)).await);
    let links: Vec<ChainLink> = read_all(&outbox)
        .into_iter()
        .flat_map(|(_, b)| b.messages.clone())
        .filter_map(|e| e.link)
        .collect();
    assert_eq!(links.len(), 3);
    assert_eq!(links[0].prev_hash, GENESIS_HASH);
    assert_eq!(links[0].hash, chain_hash(GENESIS_HASH, b"{\"a\":1}"));
    assert_eq!(links[1].prev_hash, links[0].hash);
    assert_eq!(links[0].chain, links[1].chain);
    assert_ne!(links[2].chain, links[0].chain, "a new run, a new chain");
    assert_eq!(links[2].prev_hash, GENESIS_HASH);
}

#[tokio::test]
async fn a_key_held_by_a_waiting_record_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = Outbox::open(dir.path()).expect("open");
    let first = stored(outbox.append(bundle("a", Some("OA-1"), Some("k1"))).await);
    let again = outbox
        .append(bundle("a", Some("OA-2"), Some("k1")))
        .await
        .expect("append");
    assert_eq!(
        again,
        Appended::Held {
            seq: first,
            settled: false
        }
    );
    outbox.settle("gateway:idempotency:k1", first, Settled::Holds);
    let again = outbox
        .append(bundle("a", Some("OA-3"), Some("k1")))
        .await
        .expect("append");
    assert_eq!(
        again,
        Appended::Held {
            seq: first,
            settled: true
        }
    );
    assert_eq!(outbox.depth(), 1);
    // Another record won the key in Redis: this one no longer holds it here either.
    outbox.settle("gateway:idempotency:k1", first, Settled::Superseded);
    stored(outbox.append(bundle("a", Some("OA-4"), Some("k1"))).await);
    assert_eq!(outbox.depth(), 2);
}

#[tokio::test]
async fn two_appends_of_one_key_in_one_batch_see_each_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = Outbox::open(dir.path()).expect("open");
    let appends: Vec<_> = (0..8)
        .map(|i| {
            let outbox = outbox.clone();
            tokio::spawn(async move {
                outbox
                    .append(bundle(&format!("{i}"), None, Some("same")))
                    .await
            })
        })
        .collect();
    let mut stored_count = 0;
    for append in appends {
        if let Appended::Stored(_) = append.await.expect("join").expect("append") {
            stored_count += 1;
        }
    }
    assert_eq!(stored_count, 1);
    assert_eq!(outbox.depth(), 1);
}

#[tokio::test]
async fn waiting_records_are_known_again_after_a_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let id = {
        let outbox = Outbox::open(dir.path()).expect("open");
        let b = bundle("a", Some("OA-7K3M-9QX2"), Some("k9"));
        let id = b.id.clone();
        stored(outbox.append(b).await);
        id
    };
    let outbox = reopen(dir.path());
    for _ in 0..500 {
        if outbox.recovered() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(outbox.recovered());
    let number = crate::tracking::TrackingNumber::parse("OA-7K3M-9QX2").expect("a number");
    let today = time::OffsetDateTime::now_utc()
        .to_offset(crate::clock::ALMATY)
        .date();
    assert_eq!(outbox.waiting_since(&number), Some(today));
    let _ = id;
    let again = outbox
        .append(bundle("a", None, Some("k9")))
        .await
        .expect("append");
    assert!(
        matches!(again, Appended::Held { settled: true, .. }),
        "{again:?}"
    );
    let records = read_all(&outbox);
    outbox.ack(&records).expect("ack");
    assert_eq!(
        outbox.waiting_since(&number),
        None,
        "forwarded: Redis knows it"
    );
}

#[tokio::test]
async fn records_span_segments_and_whole_segments_go_once_forwarded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = Outbox::open(dir.path()).expect("open");
    // About 100 KiB each: a segment holds some 80.
    let big = "x".repeat(100 << 10);
    for i in 0..200 {
        stored(
            outbox
                .append(bundle(&format!("{i}{big}"), None, None))
                .await,
        );
    }
    let segments = || {
        segment::list(&dir.path().join("outbox"))
            .expect("list")
            .len()
    };
    assert!(segments() >= 3, "{} segments", segments());
    outbox.close();
    drop(outbox);
    let outbox = reopen(dir.path());
    let records = read_all(&outbox);
    assert_eq!(records.len(), 200);
    assert!(
        records.windows(2).all(|w| w[1].0 == w[0].0 + 1),
        "in order, none missed"
    );
    outbox.ack(&records[..150]).expect("ack");
    assert!(segments() <= 2, "{} segments left", segments());
    assert_eq!(read_all(&outbox).len(), 50);
}

#[tokio::test]
async fn a_compaction_leaves_no_forwarded_record_in_any_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = Outbox::open(dir.path()).expect("open");
    for i in 0..10 {
        stored(
            outbox
                .append(bundle(&format!("forwarded-secret-{i}"), None, None))
                .await,
        );
    }
    for i in 0..3 {
        stored(
            outbox
                .append(bundle(&format!("waiting-{i}"), None, None))
                .await,
        );
    }
    let records = read_all(&outbox);
    outbox.ack(&records[..10]).expect("ack");
    let done = outbox.compact().await.expect("compact");
    assert!(done.bytes_after < done.bytes_before);
    for (path, bytes) in files_under(dir.path()) {
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("forwarded-secret"),
            "{} holds a forwarded record",
            path.display()
        );
    }
    stored(outbox.append(bundle("later", None, None)).await);
    outbox.close();
    drop(outbox);
    let outbox = reopen(dir.path());
    assert_eq!(
        texts(&read_all(&outbox)),
        [
            "{\"text\":\"waiting-0\"}",
            "{\"text\":\"waiting-1\"}",
            "{\"text\":\"waiting-2\"}",
            "{\"text\":\"later\"}"
        ]
    );
}

#[tokio::test]
async fn one_process_at_a_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = Outbox::open(dir.path()).expect("open");
    assert!(matches!(Outbox::open(dir.path()), Err(OutboxError::Locked)));
    outbox.close();
}

#[tokio::test]
async fn an_outbox_redb_of_an_earlier_gateway_is_imported_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let old = r#"{"id":"01OLD","messages":[{"stream":"appeals.v1","id":"01OLD","type":"appeal","data":"{\"text\":\"Яма\"}"}],"accepted_at_ms":5,"marks":[{"key":"gateway:status:OA-OLD1-0000","field":"appeal_id","value":"01OLD"}]}"#;
    {
        let db = redb::Database::create(dir.path().join("outbox.redb")).expect("create");
        let txn = db.begin_write().expect("begin");
        txn.open_table(redb::TableDefinition::<u64, &[u8]>::new("outbox"))
            .expect("table")
            .insert(3, old.as_bytes())
            .expect("insert");
        txn.commit().expect("commit");
    }
    let outbox = Outbox::open(dir.path()).expect("open");
    assert!(
        !dir.path().join("outbox.redb").exists(),
        "the old file is gone"
    );
    let records = read_all(&outbox);
    assert_eq!(records.len(), 1);
    let b = &records[0].1;
    assert_eq!(b.messages[0].data, r#"{"text":"Яма"}"#);
    assert_eq!(b.accepted_at_us, 5000);
    assert_eq!(b.tracking.as_deref(), Some("OA-OLD1-0000"));
    assert_eq!(b.marks[0].op, MarkOp::First);
    stored(outbox.append(bundle("new", None, None)).await);
    assert_eq!(outbox.depth(), 2);
}

#[tokio::test]
async fn a_record_still_on_disk_reads_back_after_it_was_forwarded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = Outbox::open(dir.path()).expect("open");
    let seq = stored(outbox.append(bundle("a", None, Some("k"))).await);
    stored(outbox.append(bundle("b", None, None)).await);
    let records = read_all(&outbox);
    outbox.ack(&records[..1]).expect("ack");
    let back = outbox
        .record(seq)
        .expect("read")
        .expect("still in the segment");
    assert_eq!(back.messages[0].data, "{\"text\":\"a\"}");
}
