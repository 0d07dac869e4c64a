//! Redis away: the gateway keeps accepting, the outbox grows and readiness says so;
//! when Redis is back everything arrives, exactly once.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_serves_without_redis_and_drains_when_it_comes() {
    let mut redis = RedisServer::not_started();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    api.get("/healthz").await.expect_status(200);
    let mut ids = Vec::new();
    for i in 0..5 {
        let reply = api
            .post_appeal(CRM_TOKEN, &tagged_appeal(&format!("offline-{i}")), None)
            .await;
        reply.expect_status(202);
        ids.push(reply.json()["id"].as_str().unwrap().to_string());
    }

    // Readiness reports Redis down and the outbox holding the 5 appeals (and their
    // consent and stats records).
    wait_until(
        "/readyz 503 degraded, redis down, outbox_depth >= 5",
        WAIT,
        || async {
            let (status, body) = api.readyz().await;
            let deep = body["outbox_depth"].as_u64().is_some_and(|d| d >= 5);
            if status == 503 && body["status"] == "degraded" && body["redis"] == "down" && deep {
                Ok(())
            } else {
                Err(format!("{status} {body}"))
            }
        },
    )
    .await;

    redis.start();
    api.wait_drained().await;
    let (status, body) = api.readyz().await;
    assert_eq!(
        (status, body["redis"].as_str()),
        (200, Some("up")),
        "{body}"
    );

    let appeals = read_stream(&redis.url(), "appeals.v1").await;
    assert_eq!(appeals.len(), 5, "every appeal once: {appeals:?}");
    let got: Vec<String> = appeals.iter().map(|e| e.id.clone()).collect();
    assert_eq!(got, ids, "in the order they were accepted");
    assert_eq!(read_stream(&redis.url(), "consent.v1").await.len(), 5);
    assert_eq!(read_stream(&redis.url(), "analytics.v1").await.len(), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redis_restart_under_load_loses_and_duplicates_nothing() {
    const TASKS: usize = 8;
    const PER_TASK: usize = 150;
    let mut redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    let (load, done) = spawn_load(&api, "restart", TASKS, PER_TASK, false);

    wait_count(&done, 300, "300 answers before stopping Redis").await;
    tokio::task::block_in_place(|| redis.stop());
    wait_count(&done, 600, "300 more answers while Redis is down").await;
    tokio::task::block_in_place(|| redis.start());
    let outcomes = load.await.unwrap();

    let mut statuses: HashMap<String, usize> = HashMap::new();
    for o in &outcomes {
        let s = match &o.result {
            Ok(r) => r.status.to_string(),
            Err(e) => format!("transport error {e}"),
        };
        *statuses.entry(s).or_default() += 1;
    }
    let accepted: HashMap<String, String> = outcomes
        .iter()
        .filter_map(|o| o.accepted_id().map(|id| (id, o.tag.clone())))
        .collect();
    assert!(
        statuses.keys().all(|s| s == "202" || s == "429"),
        "intake is never refused because Redis is away; answers: {statuses:?}"
    );
    assert!(
        accepted.len() >= TASKS * PER_TASK / 2,
        "answers: {statuses:?}"
    );

    api.wait_drained_within(Duration::from_secs(90)).await;
    let appeals = read_stream(&redis.url(), "appeals.v1").await;
    let dups = duplicate_ids(&appeals);
    assert!(dups.is_empty(), "appeals sent twice: {dups:?}");
    assert_eq!(
        appeals.len(),
        accepted.len(),
        "one entry per 202 (answers: {statuses:?})"
    );
    let on_stream: HashSet<&str> = appeals.iter().map(|e| e.id.as_str()).collect();
    let missing: Vec<&String> = accepted
        .keys()
        .filter(|id| !on_stream.contains(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "accepted but never delivered: {missing:?}"
    );
    for e in &appeals {
        let tag = &accepted[&e.id];
        assert!(
            e.data["subject"]
                .as_str()
                .unwrap_or_default()
                .ends_with(tag.as_str()),
            "entry {} carries another appeal's content: {}",
            e.id,
            e.raw
        );
    }
    let consents = read_stream(&redis.url(), "consent.v1").await;
    assert!(
        duplicate_ids(&consents).is_empty(),
        "consent events sent twice"
    );
    assert_eq!(
        consents.len(),
        accepted.len(),
        "one consent_given per appeal"
    );
    let (status, body) = api.readyz().await;
    assert_eq!(status, 200, "{body}");
}

/// The engineer restarting a gateway that holds a backlog: stopped with SIGTERM or
/// killed, the gateway starts again reading only the end of its outbox log (the backlog
/// is read by the forwarder as it goes), and every spooled appeal is still there, once,
/// in order.
#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_or_killed_gateway_keeps_every_spooled_appeal_in_order() {
    let mut redis = RedisServer::not_started();
    let mut gw = Gateway::start(&redis).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let reply = gw
            .api()
            .post_appeal(CRM_TOKEN, &tagged_appeal(&format!("restart-{i}")), None)
            .await;
        reply.expect_status(202);
        ids.push(reply.json()["id"].as_str().unwrap().to_string());
    }

    assert!(gw.stop().success(), "SIGTERM ends the gateway with 0");
    gw.restart().await;
    let reply = gw
        .api()
        .post_appeal(CRM_TOKEN, &tagged_appeal("restart-3"), None)
        .await;
    reply.expect_status(202);
    ids.push(reply.json()["id"].as_str().unwrap().to_string());

    gw.kill9();
    gw.restart().await;
    let (_, ready) = gw.api().readyz().await;
    assert_eq!(ready["outbox_depth"], 4, "{ready}");

    redis.start();
    gw.api().wait_drained().await;
    let appeals = read_stream(&redis.url(), "appeals.v1").await;
    let got: Vec<String> = appeals.iter().map(|e| e.id.clone()).collect();
    assert_eq!(
        got, ids,
        "every spooled appeal once, in order, after both restarts"
    );
}
