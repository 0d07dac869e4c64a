//! Redis Cluster: three primaries made with `redis-cli --cluster create`. The gateway is
//! given the cluster form of `REDIS_URL` and a prefix with a hash tag, so that the
//! forwarder's script (dedupe key, streams, subject marks) and the notifier's lease and
//! receipt each find their keys in one slot. Intake, forwarder and notifier work, with
//! exact counts, and a consumer finds the streams under the documented names.

use std::collections::HashSet;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::case_system::add_reply_to;
use crate::support::fake_http::FakeServer;
use crate::support::redis_ha::{Cluster, query};
use crate::support::*;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

/// The gateway's prefix: the tests' own, with the hash tag `{oa}`.
const CLUSTER_PREFIX: &str = "t:{oa}";
const PHONE: &str = "+77015550123";

/// An SMS provider stand-in that counts what it accepts.
fn sms_counter() -> (FakeServer, Arc<Mutex<Vec<Value>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let shared = web::Data::from(Arc::clone(&received));
    let server = FakeServer::start(move |cfg| {
        cfg.app_data(shared.clone()).route(
            "/send",
            web::post().to(
                |got: web::Data<Mutex<Vec<Value>>>, body: web::Json<Value>| async move {
                    got.lock().expect("sms").push(body.into_inner());
                    HttpResponse::Ok().json(json!({"status": "queued"}))
                },
            ),
        );
    });
    (server, received)
}

#[tokio::test(flavor = "multi_thread")]
async fn intake_forwarder_and_notifier_work_on_a_cluster_with_exact_counts() {
    const TASKS: usize = 3;
    const PER_TASK: usize = 20;
    const REPLIES: usize = 5;
    let cluster = Cluster::start(3).await;
    let (sms, received) = sms_counter();
    let gw = Gateway::start_with(
        GatewayOptions::new(&cluster.url())
            .env("GATEWAY_STREAM_PREFIX", CLUSTER_PREFIX)
            .env("GATEWAY_SMS_API_URL", &format!("{}/send", sms.base()))
            .env("GATEWAY_SMS_API_KEY", "sms-key-for-tests")
            .env("GATEWAY_SMS_SENDER", "OpenAlmaty")
            .env("GATEWAY_SMS_QUIET_HOURS", "off")
            .env("GATEWAY_INSTANCE", "gateway-a"),
    )
    .await;
    let api = gw.api();

    // Intake and forwarder.
    let done = Arc::new(AtomicUsize::new(0));
    let outcomes = load(&api, "cluster", TASKS, PER_TASK, false, done).await;
    let accepted: HashSet<String> = outcomes.iter().filter_map(Outcome::accepted_id).collect();
    assert_eq!(accepted.len(), TASKS * PER_TASK, "every appeal accepted");
    api.wait_drained_within(Duration::from_secs(60)).await;

    // A consumer reads `{oa}appeals.v1` (behind the tests' `t:`) on the node of `{oa}`.
    let owner = cluster
        .owner_of(&format!("{CLUSTER_PREFIX}appeals.v1"))
        .await;
    let appeals = read_stream(&owner, "{oa}appeals.v1").await;
    assert!(duplicate_ids(&appeals).is_empty());
    let on_redis: HashSet<String> = appeals.iter().map(|e| e.id.clone()).collect();
    assert_eq!(on_redis, accepted, "exactly the accepted appeals");
    assert_eq!(
        read_stream(&owner, "{oa}consent.v1").await.len(),
        accepted.len()
    );

    // Notifier: the case system answers REPLIES appeals.
    let first: Value = appeals[0].data.clone();
    let tracking = first["tracking_number"].as_str().expect("tracking number");
    let mut conn = redis_conn(&owner).await.expect("owner node");
    for (i, appeal) in appeals.iter().enumerate().take(REPLIES) {
        add_reply(&mut conn, &appeal.id, &appeal.data["tracking_number"], i).await;
    }
    let receipts = wait_for_stream_len(&owner, "{oa}deliveries.v1", REPLIES).await;
    assert_eq!(receipts.len(), REPLIES);
    assert!(receipts.iter().all(|r| r.data["status"] == "accepted"));
    wait_until("the SMS stand-in got every reply", WAIT, || async {
        let n = received.lock().expect("sms").len();
        if n >= REPLIES {
            Ok(())
        } else {
            Err(format!("{n} so far"))
        }
    })
    .await;
    assert_eq!(
        received.lock().expect("sms").len(),
        REPLIES,
        "one SMS per reply"
    );
    // The status the citizen's page shows is on the cluster too.
    let mut hget = redis::cmd("HGET");
    hget.arg(format!("{CLUSTER_PREFIX}gateway:status:{tracking}"))
        .arg("status");
    let status = query(
        owner
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port"),
        &hget,
    )
    .await
    .expect("status hash");
    assert_eq!(status, redis::Value::BulkString(b"resolved".to_vec()));
    let page = api.get(&format!("/status/{tracking}")).await;
    assert_eq!(page.status, 200);
    // The lookup was counted on the cluster (the shared limit's script ran there, it
    // did not fall back to the instance's own count).
    let mut keys = redis::cmd("KEYS");
    keys.arg(format!("{CLUSTER_PREFIX}gateway:rate:status-address:*"));
    let counted = query(
        owner
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port"),
        &keys,
    )
    .await
    .expect("rate keys");
    assert!(
        matches!(&counted, redis::Value::Array(found) if found.len() == 1),
        "{counted:?}"
    );

    // The citizen withdraws consent: the mark is set in the forwarder's script (same
    // slot as its streams), and the notifier of the cluster reads it.
    api.post_subject_request(&json!({
        "kind": "withdraw_consent",
        "channel": "api",
        "subject": {"phone": PHONE}
    }))
    .await
    .expect_status(202);
    api.wait_drained().await;
    let requests = read_stream(&owner, "{oa}subject.v1").await;
    assert_eq!(
        requests
            .iter()
            .filter(|e| e.kind == "subject_request")
            .count(),
        1
    );
    add_reply(
        &mut conn,
        &appeals[0].id,
        &first["tracking_number"],
        REPLIES,
    )
    .await;
    let receipts = wait_for_stream_len(&owner, "{oa}deliveries.v1", REPLIES + 1).await;
    assert_eq!(receipts[REPLIES].data["status"], "suppressed");
    assert_eq!(
        received.lock().expect("sms").len(),
        REPLIES,
        "no SMS after the withdrawal"
    );
}

/// The case system's side: one reply by SMS to [`PHONE`], as it would `XADD` it.
async fn add_reply(
    conn: &mut redis::aio::MultiplexedConnection,
    appeal_id: &str,
    tracking_number: &Value,
    n: usize,
) {
    let reply = json!({
        "schema_version": 1,
        "id": appeal_id,
        "tracking_number": tracking_number,
        "reply_to": {"channel": "sms", "address": PHONE},
        "status": "resolved",
        "language": "ru",
        "text": {"ru": format!("Ответ {n}")},
    });
    add_reply_to(
        conn,
        &format!("{CLUSTER_PREFIX}replies.v1"),
        &reply.to_string(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn agents_sessions_and_limits_work_on_a_cluster() {
    use crate::support::agent::{PASSWORD, agents_cmd_with, enter_appeal, http_login};
    let cluster = Cluster::start(3).await;
    let dir = tempfile::tempdir().expect("data dir of the command");
    let agents = |args: &[&str]| {
        let (ok, out, err) = agents_cmd_with(dir.path(), &cluster.url(), CLUSTER_PREFIX, args);
        assert!(ok, "agents {args:?}: {err}");
        out
    };
    // The account, its token and the index are written by one script: one slot.
    let out = agents(&["add", "aigerim", "--role", "supervisor", "--token"]);
    let token = out
        .lines()
        .find_map(|l| l.strip_prefix("api token (shown once): "))
        .expect("token")
        .to_owned();
    assert!(agents(&["list"]).contains("aigerim\tsupervisor\tactive,token"));
    let gw = Gateway::start_with(
        GatewayOptions::new(&cluster.url()).env("GATEWAY_STREAM_PREFIX", CLUSTER_PREFIX),
    )
    .await;
    // Login (limit, throttle, account, session: scripts on the cluster).
    let (status, cookie, page) = http_login(&gw, "aigerim", PASSWORD).await;
    assert_eq!(status, 303, "{page}");
    assert!(cookie.is_some());
    let entered = enter_appeal(
        &reqwest::Client::new(),
        gw.url("/api/v1/agent/appeals"),
        &token,
        "+7 701 555 44 33",
    )
    .await;
    assert_eq!(entered.status().as_u16(), 202);
    agents(&["disable", "aigerim"]);
    let refused = reqwest::Client::new()
        .post(gw.url("/api/v1/agent/appeals"))
        .bearer_auth(&token)
        .json(&json!({"consent": true}))
        .send()
        .await
        .expect("agent appeal");
    assert_eq!(refused.status().as_u16(), 401, "disabled on the cluster");
}

#[test]
fn a_cluster_url_without_a_hash_tag_in_the_prefix_stops_the_start() {
    let opts = GatewayOptions::new("redis+cluster://127.0.0.1:7000,127.0.0.1:7001")
        .env("GATEWAY_STREAM_PREFIX", "oa:");
    let (status, _, stderr) = run_to_exit(&opts, Duration::from_secs(20));
    assert!(!status.success());
    assert!(
        stderr.contains("GATEWAY_STREAM_PREFIX") && stderr.contains("{oa}"),
        "names the key and the fix: {stderr}"
    );
}
