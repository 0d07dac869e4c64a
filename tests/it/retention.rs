//! Retention of the Redis streams (issue 16, point 1): an entry goes once it is past its
//! retention and every consumer group has acknowledged it; never one a group has not
//! read or not acknowledged; the consent ledger stays verifiable after trimming.

use std::time::Duration;

use crate::support::*;
use serde_json::Value;

/// Runs `appeal-gateway retention sweep --at <now + days>`; returns what it removed.
fn sweep_after_days(redis: &RedisServer, days: i64) -> Value {
    sweep_at(redis, None, time::Duration::days(days))
}

/// Runs `appeal-gateway retention sweep --at <now + later>` on `data_dir` (or a
/// directory of its own); returns what it removed.
fn sweep_at(redis: &RedisServer, data_dir: Option<&str>, later: time::Duration) -> Value {
    let at = (time::OffsetDateTime::now_utc() + later)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut opts = GatewayOptions::new(&redis.url()).args(&["retention", "sweep", "--at", &at]);
    if let Some(dir) = data_dir {
        opts = opts.env("GATEWAY_DATA_DIR", dir);
    }
    let (status, stdout, stderr) = run_to_exit(&opts, Duration::from_secs(60));
    assert!(status.success(), "retention sweep failed: {stderr}");
    let report: Value = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    assert!(report["removed"].is_object(), "{stdout}");
    report["removed"].clone()
}

/// Sets a file's last change `days` back.
fn backdate(path: &std::path::Path, days: u64) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| {
            f.set_modified(std::time::SystemTime::now() - Duration::from_secs(days * 86_400))
        })
        .expect("mtime");
}

async fn group(conn: &mut redis::aio::MultiplexedConnection, stream: &str, name: &str) {
    redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(stream_key(stream))
        .arg(name)
        .arg("0")
        .query_async::<()>(conn)
        .await
        .expect("XGROUP CREATE");
}

/// A consumer of `name` reads `count` new entries; returns their ids.
async fn read(
    conn: &mut redis::aio::MultiplexedConnection,
    stream: &str,
    name: &str,
    count: usize,
) -> Vec<String> {
    let reply: redis::streams::StreamReadReply = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(name)
        .arg("worker-1")
        .arg("COUNT")
        .arg(count)
        .arg("STREAMS")
        .arg(stream_key(stream))
        .arg(">")
        .query_async(conn)
        .await
        .expect("XREADGROUP");
    reply
        .keys
        .into_iter()
        .flat_map(|k| k.ids.into_iter().map(|e| e.id))
        .collect()
}

async fn ack(
    conn: &mut redis::aio::MultiplexedConnection,
    stream: &str,
    name: &str,
    ids: &[String],
) {
    redis::cmd("XACK")
        .arg(stream_key(stream))
        .arg(name)
        .arg(ids)
        .query_async::<i64>(conn)
        .await
        .expect("XACK");
}

fn ids(entries: &[Entry]) -> Vec<String> {
    entries.iter().map(|e| e.entry_id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_is_trimmed_only_past_retention_and_after_every_group_acknowledged() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    for i in 0..4 {
        gw.api()
            .post_appeal(CRM_TOKEN, &tagged_appeal(&format!("r{i}")), None)
            .await
            .expect_status(202);
    }
    let all = ids(&wait_for_stream_len(&redis.url(), "appeals.v1", 4).await);
    let mut conn = redis_conn(&redis.url()).await.expect("redis");
    group(&mut conn, "appeals.v1", "case-system").await;
    group(&mut conn, "appeals.v1", "archive").await;

    // The case system reads all four and acknowledges three; the fourth stays pending.
    let read_cs = read(&mut conn, "appeals.v1", "case-system", 4).await;
    assert_eq!(read_cs, all);
    ack(&mut conn, "appeals.v1", "case-system", &read_cs[..3]).await;
    // The archive has read and acknowledged two; the last two it has not read.
    let read_ar = read(&mut conn, "appeals.v1", "archive", 2).await;
    ack(&mut conn, "appeals.v1", "archive", &read_ar).await;

    // Within the retention nothing goes, acknowledged or not.
    assert_eq!(sweep_after_days(&redis, 0), serde_json::json!({}));
    assert_eq!(ids(&read_stream(&redis.url(), "appeals.v1").await), all);

    // Past it, only what both groups acknowledged goes: the first two.
    let removed = sweep_after_days(&redis, 31);
    assert_eq!(removed["appeals.v1"], 2, "{removed}");
    assert_eq!(
        ids(&read_stream(&redis.url(), "appeals.v1").await),
        all[2..],
        "the entry the archive has not read and the one the case system has not acknowledged survive"
    );
    // Streams nobody reads with a group are never trimmed.
    assert_eq!(read_stream(&redis.url(), "consent.v1").await.len(), 4);
    assert_eq!(read_stream(&redis.url(), "analytics.v1").await.len(), 4);

    // The archive catches up; the case system's fourth is still pending: it stays.
    let rest = read(&mut conn, "appeals.v1", "archive", 10).await;
    ack(&mut conn, "appeals.v1", "archive", &rest).await;
    let removed = sweep_after_days(&redis, 31);
    assert_eq!(removed["appeals.v1"], 1, "{removed}");
    assert_eq!(
        ids(&read_stream(&redis.url(), "appeals.v1").await),
        all[3..]
    );

    // Acknowledged at last, it goes too.
    ack(&mut conn, "appeals.v1", "case-system", &read_cs[3..]).await;
    sweep_after_days(&redis, 31);
    assert!(read_stream(&redis.url(), "appeals.v1").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_consent_ledger_keeps_its_term_and_a_checkpoint_of_the_chain() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    for i in 0..4 {
        gw.api()
            .post_appeal(CRM_TOKEN, &tagged_appeal(&format!("c{i}")), None)
            .await
            .expect_status(202);
    }
    let ledger = wait_for_stream_len(&redis.url(), "consent.v1", 4).await;
    let mut conn = redis_conn(&redis.url()).await.expect("redis");
    group(&mut conn, "consent.v1", "audit").await;
    let read_au = read(&mut conn, "consent.v1", "audit", 4).await;
    ack(&mut conn, "consent.v1", "audit", &read_au[..3]).await;

    // The stream retention (30 days) does not apply to the consent evidence.
    assert_eq!(sweep_after_days(&redis, 400), serde_json::json!({}));
    assert_eq!(read_stream(&redis.url(), "consent.v1").await.len(), 4);

    // Past its own term (5 years by default) the acknowledged entries go...
    let removed = sweep_after_days(&redis, 5 * 365 + 1);
    assert_eq!(removed["consent.v1"], 3, "{removed}");
    let left = read_stream(&redis.url(), "consent.v1").await;
    assert_eq!(ids(&left), vec![ledger[3].entry_id.clone()]);
    // ...and the chain still verifies from the checkpoint of its head.
    let chain = &ledger[2].fields["chain"];
    let checkpoint: std::collections::BTreeMap<String, String> = redis::cmd("HGETALL")
        .arg(format!("{PREFIX}gateway:consent-checkpoint:{chain}"))
        .query_async(&mut conn)
        .await
        .expect("HGETALL");
    assert_eq!(checkpoint["entry_id"], ledger[2].entry_id);
    assert_eq!(checkpoint["hash"], ledger[2].fields["hash"]);
    assert_eq!(
        left[0].fields["prev_hash"], checkpoint["hash"],
        "the first remaining entry links to the checkpoint"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kept_photo_past_its_retention_is_erased_from_the_data_directory() {
    let redis = RedisServer::new();
    // A data directory of its own: a serving gateway would sweep it first (at its start),
    // and the command would then find nothing to report.
    let data = tempfile::tempdir().expect("data dir");
    let old = format!("ab{}", "0".repeat(62));
    let recent = format!("cd{}", "1".repeat(62));
    let path = |sha: &str| data.path().join("attachments").join(&sha[..2]).join(sha);
    for sha in [&old, &recent] {
        std::fs::create_dir_all(path(sha).parent().expect("parent")).expect("dir");
        std::fs::write(path(sha), b"\xFF\xD8 a kept photo").expect("write");
    }
    backdate(&path(&old), 91);

    let dir = data.path().to_string_lossy().into_owned();
    let removed = sweep_at(&redis, Some(&dir), time::Duration::ZERO);
    assert_eq!(removed["attachments"], 1, "{removed}");
    assert!(!path(&old).exists(), "kept 91 days, retention 90: erased");
    assert!(path(&recent).exists(), "within its retention: kept");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_status_entry_ends_400_days_after_its_last_change() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let reply = gw
        .api()
        .post_appeal(CRM_TOKEN, &tagged_appeal("ttl"), None)
        .await;
    reply.expect_status(202);
    let tracking = reply.json()["tracking_number"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    let mut conn = redis_conn(&redis.url()).await.expect("redis");
    let ttl: i64 = redis::cmd("TTL")
        .arg(format!("{PREFIX}gateway:status:{tracking}"))
        .query_async(&mut conn)
        .await
        .expect("TTL");
    assert!(
        (399 * 86_400..=400 * 86_400).contains(&ttl),
        "TTL {ttl} s: 400 days less the seconds since"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_photo_goes_its_set_hours_after_the_case_system_first_fetched_it() {
    let redis = RedisServer::new();
    let mut gw = Gateway::start(&redis).await;
    let fetched = format!("ab{}", "2".repeat(62));
    let unfetched = format!("cd{}", "3".repeat(62));
    let data = gw.data_dir().to_path_buf();
    let path = |sha: &str| data.join("attachments").join(&sha[..2]).join(sha);
    for sha in [&fetched, &unfetched] {
        std::fs::create_dir_all(path(sha).parent().expect("parent")).expect("dir");
        std::fs::write(path(sha), b"\xFF\xD8\xFF\xE0 a kept photo").expect("write");
    }
    let client = reqwest::Client::new();
    let get = |gw: &Gateway, sha: &str| {
        client
            .get(gw.url(&format!("/api/v1/attachments/{sha}")))
            .bearer_auth(CRM_TOKEN)
            .send()
    };
    assert_eq!(get(&gw, &fetched).await.expect("GET").status(), 200);
    let dir = data.to_string_lossy().into_owned();
    gw.stop();

    // 73 hours later (72 by default): the fetched photo goes, the other stays (90 days).
    let removed = sweep_at(&redis, Some(&dir), time::Duration::hours(73));
    assert_eq!(removed["attachments"], 1, "{removed}");
    assert!(!path(&fetched).exists() && path(&unfetched).exists());

    gw.restart().await;
    let gone = get(&gw, &fetched).await.expect("GET");
    assert_eq!(gone.status(), 410);
    let problem: Value = gone.json().await.expect("problem");
    assert_eq!(
        problem["errors"][0]["code"], "attachment_expired",
        "{problem}"
    );
    assert_eq!(get(&gw, &unfetched).await.expect("GET").status(), 200);
}

/// Mail kept whole because it could not be read as an appeal (`quarantine/`) or was sent
/// by a machine (`automatic/`) goes with its `deadletter.v1` record, at the streams'
/// retention (30 days by default); younger mail stays for the operator to look at.
#[tokio::test(flavor = "multi_thread")]
async fn mail_kept_whole_goes_at_the_streams_retention() {
    let redis = RedisServer::new();
    let data = tempfile::tempdir().expect("data dir");
    let file = |dir: &str, name: &str| data.path().join(dir).join(format!("{name}.eml"));
    for dir in ["quarantine", "automatic"] {
        std::fs::create_dir_all(data.path().join(dir)).expect("dir");
        for name in ["old", "recent"] {
            std::fs::write(file(dir, name), b"From: someone@example.kz\r\n\r\nkept")
                .expect("write");
        }
        backdate(&file(dir, "old"), 31);
    }

    let dir = data.path().to_string_lossy().into_owned();
    let removed = sweep_at(&redis, Some(&dir), time::Duration::ZERO);
    assert_eq!(removed["mail_quarantine"], 1, "{removed}");
    assert_eq!(removed["mail_automatic"], 1, "{removed}");
    for dir in ["quarantine", "automatic"] {
        assert!(
            !file(dir, "old").exists(),
            "{dir}: kept 31 days, retention 30: erased"
        );
        assert!(
            file(dir, "recent").exists(),
            "{dir}: within its retention: kept"
        );
    }
}
