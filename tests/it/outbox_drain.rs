//! A lost instance: a gateway is killed (SIGKILL) under load while its outbox holds
//! appeals Redis has not confirmed. Another process — `appeal-gateway outbox drain` on
//! the dead instance's data directory — forwards them: in the end the stream holds every
//! accepted appeal exactly once (records the dead instance had already sent are
//! recognised by their dedupe keys). `outbox inspect` shows depth and age, no content.

use std::collections::HashSet;
use std::time::Duration;

use crate::support::*;
use serde_json::Value;

/// Runs `appeal-gateway outbox <action> --data-dir <dir>` against `redis` to its end.
fn outbox(redis: &RedisServer, action: &str, dir: &std::path::Path) -> (bool, Value, String) {
    let dir = dir.to_string_lossy().into_owned();
    let opts = GatewayOptions::new(&redis.url()).args(&["outbox", action, "--data-dir", &dir]);
    let (status, stdout, stderr) = run_to_exit(&opts, Duration::from_secs(120));
    let json = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    (status.success(), json, stderr)
}

async fn client_pause(redis: &RedisServer, on: bool) {
    let mut conn = redis_conn(&redis.url()).await.expect("redis");
    let mut cmd = redis::cmd("CLIENT");
    if on {
        // Writes wait (the forwarder's scripts hang); reads and PING still answer.
        cmd.arg("PAUSE").arg(120_000).arg("WRITE");
    } else {
        cmd.arg("UNPAUSE");
    }
    cmd.query_async::<()>(&mut conn)
        .await
        .expect("CLIENT PAUSE");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_gateways_outbox_is_drained_by_another_process_exactly_once() {
    const TASKS: usize = 4;
    const PER_TASK: usize = 100;
    let redis = RedisServer::new();
    let mut gw = Gateway::start(&redis).await;
    let api = gw.api();

    let (load, done) = spawn_load(&api, "lost", TASKS, PER_TASK, false);
    wait_count(&done, 100, "100 answers with Redis taking them").await;
    // From here Redis takes nothing more from this instance: its outbox fills up.
    client_pause(&redis, true).await;
    wait_count(&done, 200, "100 more answers spooled in the outbox").await;
    gw.kill9();
    let outcomes = load.await.expect("load");
    let accepted: HashSet<String> = outcomes.iter().filter_map(Outcome::accepted_id).collect();
    assert!(
        accepted.len() >= 200,
        "accepted before the kill: {}",
        accepted.len()
    );

    // What waits, without a word of content.
    let (ok, found, stderr) = outbox(&redis, "inspect", gw.data_dir());
    assert!(ok, "inspect: {stderr}");
    let depth = found["depth"].as_u64().expect("depth");
    // Most of the 100 answered after the pause (a batch in flight may have slipped in).
    assert!(
        depth >= 50,
        "the appeals spooled after the pause wait: {found}"
    );
    assert!(depth <= accepted.len() as u64, "{found}");
    assert!(found["oldest_age_secs"].is_u64(), "{found}");
    let text = found.to_string();
    assert!(
        !text.contains("Иванов") && !text.contains("Яма"),
        "no content: {text}"
    );

    client_pause(&redis, false).await;
    let (ok, report, stderr) = outbox(&redis, "drain", gw.data_dir());
    assert!(ok, "drain: {stderr}");
    assert_eq!(report["depth"], 0, "{report}");
    assert!(report["forwarded"].as_u64() >= Some(depth), "{report}");

    let appeals = read_stream(&redis.url(), "appeals.v1").await;
    let dups = duplicate_ids(&appeals);
    assert!(dups.is_empty(), "appeals added twice: {dups:?}");
    let on_redis: HashSet<String> = appeals.iter().map(|e| e.id.clone()).collect();
    let missing = accepted.difference(&on_redis).count();
    assert_eq!(missing, 0, "accepted appeals missing from the stream");
    // Beyond the 202s: appeals made durable whose answer the kill cut off (at most one
    // in flight per client task), each from a request that got no 202.
    let unanswered: HashSet<String> = outcomes
        .iter()
        .filter(|o| o.accepted_id().is_none())
        .map(|o| o.tag.clone())
        .collect();
    let extra: Vec<&Entry> = appeals
        .iter()
        .filter(|e| !accepted.contains(&e.id))
        .collect();
    assert!(extra.len() <= TASKS, "{} appeals nobody sent", extra.len());
    for e in &extra {
        let subject = e.data["subject"].as_str().unwrap_or_default();
        let tag = subject.rsplit(' ').next().unwrap_or_default();
        assert!(unanswered.contains(tag), "{tag} was answered yet is extra");
    }
    eprintln!(
        "{} accepted, {} durable but unanswered at the kill, {depth} drained from the outbox",
        accepted.len(),
        extra.len()
    );

    // Drained means drained: nothing left, and a second drain adds nothing.
    let (ok, found, _) = outbox(&redis, "inspect", gw.data_dir());
    assert!(ok);
    assert_eq!(found["depth"], 0, "{found}");
    assert_eq!(found["oldest_age_secs"], Value::Null);
    let (ok, again, _) = outbox(&redis, "drain", gw.data_dir());
    assert!(ok);
    assert_eq!(again["forwarded"], 0, "{again}");
    assert_eq!(
        read_stream(&redis.url(), "appeals.v1").await.len(),
        appeals.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_outbox_of_a_running_gateway_is_left_to_it() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let (ok, _, stderr) = outbox(&redis, "drain", gw.data_dir());
    assert!(!ok);
    assert!(stderr.contains("running gateway"), "{stderr}");
    let empty = tempfile::tempdir().expect("dir");
    let (ok, _, stderr) = outbox(&redis, "inspect", empty.path());
    assert!(!ok);
    assert!(stderr.contains("no outbox"), "{stderr}");
}
