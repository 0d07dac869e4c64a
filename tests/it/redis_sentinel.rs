//! Redis behind Sentinel: the primary is killed (SIGKILL) while appeals pour in, a
//! replica is promoted, and the gateway — which only knows the sentinels — follows it.
//! Because the forwarder forgets a record only once a replica has it (`WAIT`,
//! `GATEWAY_REDIS_MIN_REPLICAS=1`), the promoted replica ends up with every accepted
//! appeal, exactly once.

use std::collections::HashSet;
use std::time::Duration;

use crate::support::redis_ha::SentinelSet;
use crate::support::*;

/// The shipped topology (`docker-compose.yml`): how many replicas it runs and the
/// `GATEWAY_REDIS_MIN_REPLICAS` its gateways wait for.
fn shipped_topology() -> (usize, u32) {
    let compose = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docker-compose.yml"),
    )
    .expect("docker-compose.yml");
    let replicas = compose
        .lines()
        .filter_map(|l| l.strip_prefix("  redis-replica-")?.split(':').next())
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        .count();
    let min: u32 = compose
        .lines()
        .find_map(|l| l.trim().strip_prefix("- GATEWAY_REDIS_MIN_REPLICAS="))
        .and_then(|v| v.trim().parse().ok())
        .expect("GATEWAY_REDIS_MIN_REPLICAS in docker-compose.yml");
    (replicas, min)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_primary_killed_under_load_loses_no_appeal_and_duplicates_none() {
    const TASKS: usize = 4;
    const PER_TASK: usize = 150;
    // The shipped settings: more replicas than the gateways wait for, so that after the
    // failover the new primary still has replicas to confirm `WAIT`.
    let (replicas, min_replicas) = shipped_topology();
    assert!(
        replicas > min_replicas as usize,
        "docker-compose.yml runs {replicas} replicas for GATEWAY_REDIS_MIN_REPLICAS={min_replicas}"
    );
    let mut set = SentinelSet::start(replicas).await;
    let gw = Gateway::start_with(
        GatewayOptions::new(&set.url())
            .env("GATEWAY_REDIS_MIN_REPLICAS", &min_replicas.to_string()),
    )
    .await;
    let api = gw.api();
    api.wait_drained().await;

    let (load, done) = spawn_load(&api, "sentinel", TASKS, PER_TASK, false);
    wait_count(&done, 150, "150 answers before the kill").await;
    let old = set.primary.port();
    set.primary.kill9();
    let new = set.wait_promotion(old).await;
    // Forwarding resumes within 15 s of the promotion (the load goes on meanwhile).
    wait_until("forwarding resumed", Duration::from_secs(15), || async {
        let url = format!("redis://127.0.0.1:{new}");
        let before = try_stream_len(&url, "appeals.v1").await.unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let after = try_stream_len(&url, "appeals.v1").await.unwrap_or(0);
        let (_, ready) = api.readyz().await;
        (after > before || ready["outbox_depth"] == 0)
            .then_some(())
            .ok_or(format!(
                "{before} → {after} appeals on the new primary; {ready}"
            ))
    })
    .await;
    let outcomes = load.await.expect("load");

    let accepted: Vec<String> = outcomes.iter().filter_map(Outcome::accepted_id).collect();
    // Intake never depends on Redis: every request was accepted, failover or not.
    assert_eq!(
        accepted.len(),
        TASKS * PER_TASK,
        "every appeal accepted; refused: {:?}",
        outcomes
            .iter()
            .filter(|o| o.accepted_id().is_none())
            .map(|o| o.result.as_ref().map(|r| r.status).map_err(Clone::clone))
            .take(5)
            .collect::<Vec<_>>()
    );
    api.wait_drained_within(Duration::from_secs(60)).await;

    let url = format!("redis://127.0.0.1:{new}");
    let appeals = read_stream(&url, "appeals.v1").await;
    let dups = duplicate_ids(&appeals);
    assert!(dups.is_empty(), "appeals added twice: {dups:?}");
    let on_redis: HashSet<&str> = appeals.iter().map(|e| e.id.as_str()).collect();
    let missing: Vec<&String> = accepted
        .iter()
        .filter(|id| !on_redis.contains(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} accepted appeals are not on the promoted primary, e.g. {:?}",
        missing.len(),
        missing.iter().take(3).collect::<Vec<_>>()
    );
    assert_eq!(
        appeals.len(),
        accepted.len(),
        "exactly the accepted appeals"
    );
    // The consent ledger went the same way: one entry per appeal.
    let consent = read_stream(&url, "consent.v1").await;
    assert_eq!(consent.len(), accepted.len());
    assert!(duplicate_ids(&consent).is_empty());

    // The gateway writes to the new primary from now on.
    let after = api
        .post_appeal(CRM_TOKEN, &tagged_appeal("after"), None)
        .await;
    after.expect_status(202);
    let all = wait_for_stream_len(&url, "appeals.v1", accepted.len() + 1).await;
    assert_eq!(all.len(), accepted.len() + 1);
}

/// `GATEWAY_REDIS_MIN_REPLICAS` without a replica: Redis has the appeals, but the outbox
/// keeps them (and says why) until a replica confirms; the re-sends add nothing.
#[tokio::test(flavor = "multi_thread")]
async fn records_stay_in_the_outbox_until_a_replica_confirms_them() {
    use crate::support::redis_ha::RedisProcess;
    let primary = RedisProcess::server("lonely-primary", &[]);
    let gw = Gateway::start_with(
        GatewayOptions::new(&primary.url()).env("GATEWAY_REDIS_MIN_REPLICAS", "1"),
    )
    .await;
    let api = gw.api();
    for i in 0..3 {
        let r = api
            .post_appeal(CRM_TOKEN, &tagged_appeal(&format!("wait-{i}")), None)
            .await;
        r.expect_status(202);
    }
    let (_, body) = wait_until("/readyz: too few replicas", WAIT, || async {
        let (status, body) = api.readyz().await;
        if status == 503 && body["redis_replicas"] == "too_few" && body["outbox_depth"] == 3 {
            Ok((status, body))
        } else {
            Err(format!("{status} {body}"))
        }
    })
    .await;
    assert_eq!(body["redis"], "up", "{body}");
    // On the primary, not yet forgotten: sent (and re-sent) once.
    let sent = wait_for_stream_len(&primary.url(), "appeals.v1", 3).await;
    assert_eq!(sent.len(), 3);

    let of = primary.port().to_string();
    let _replica = RedisProcess::server("late-replica", &["--replicaof", "127.0.0.1", &of]);
    api.wait_drained_within(Duration::from_secs(60)).await;
    let appeals = read_stream(&primary.url(), "appeals.v1").await;
    assert_eq!(appeals.len(), 3, "the re-sends added nothing");
    assert!(duplicate_ids(&appeals).is_empty());
}
