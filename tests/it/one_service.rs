//! Several instances, one service (issue 26): the promises an integrator and a citizen
//! rely on hold whichever instance answers — behind a real HAProxy (round robin), on
//! one Redis, with real processes.
//!
//! - an `Idempotency-Key` repeated through any instance, in turn or at once, gives the
//!   first answer and one appeal; a repeat spooled while Redis was away becomes an
//!   alias of the first appeal, never a second one;
//! - tracking numbers never repeat, whatever the configuration: three instances with the
//!   very same settings (no `GATEWAY_INSTANCE`), with Redis away at first, and one more
//!   started from a copy of another's data directory;
//! - a number taken during an outage is "registered, status not shown now" elsewhere,
//!   never "unknown";
//! - Open311 lists every instance's requests on every instance.

use std::collections::HashSet;
use std::time::Duration;

use crate::support::haproxy::{self, Haproxy};
use crate::support::*;
use serde_json::Value;

/// An API client for the balancer.
fn balanced(lb: &Haproxy) -> Api {
    Api {
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client"),
        base: lb.url(""),
        // `/metrics` is per instance, on its own listener: not through the balancer.
        metrics_url: String::new(),
    }
}

/// `n` gateways with identical settings (no `GATEWAY_INSTANCE`, nothing per instance).
async fn identical(redis: &RedisServer, n: usize, extra: &[(&str, &str)]) -> Vec<Gateway> {
    let mut opts = GatewayOptions::new(&redis.url()).without("GATEWAY_INSTANCE");
    for (k, v) in extra {
        opts = opts.env(k, v);
    }
    let mut gateways = Vec::new();
    for _ in 0..n {
        gateways.push(Gateway::start_with(opts.clone()).await);
    }
    gateways
}

fn ports(gateways: &[Gateway]) -> Vec<u16> {
    gateways.iter().map(Gateway::port).collect()
}

async fn drained(gateways: &[Gateway]) {
    for gw in gateways {
        gw.api().wait_drained_within(Duration::from_secs(60)).await;
    }
}

/// A metric's value summed over its series, as one instance exposes it.
async fn metric(gw: &Gateway, name_and_labels: &str) -> f64 {
    gw.api()
        .metrics()
        .await
        .lines()
        .filter(|l| l.starts_with(name_and_labels))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_key_through_three_instances_gives_the_first_answer_and_one_appeal() {
    if !haproxy::available() {
        eprintln!("haproxy is not installed: skipped (.ci/run installs it)");
        return;
    }
    let redis = RedisServer::new();
    let gateways = identical(&redis, 3, &[]).await;
    let lb = Haproxy::start(&ports(&gateways));
    let api = balanced(&lb);

    // In turn: each repeat lands on the next instance.
    let body = tagged_appeal("one-key-in-turn");
    let first = api.post_appeal(CRM_TOKEN, &body, Some("crm-order-1")).await;
    first.expect_status(202);
    for _ in 0..5 {
        let again = api.post_appeal(CRM_TOKEN, &body, Some("crm-order-1")).await;
        again.expect_status(202);
        assert_eq!(
            again.json(),
            first.json(),
            "the first answer, on every instance"
        );
        assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    }
    // The same key with another body is refused on every instance.
    let mut other = body.clone();
    other["text"] = Value::from("Совсем другая просьба: заменить лампу во дворе.");
    for _ in 0..3 {
        api.post_appeal(CRM_TOKEN, &other, Some("crm-order-1"))
            .await
            .expect_problem(422, None, "idempotency_key_reused");
    }

    // At once: twelve copies through the balancer, four to each instance.
    let body = tagged_appeal("one-key-at-once");
    let mut sending = Vec::new();
    for _ in 0..12 {
        let api = api.clone();
        let body = body.clone();
        sending.push(tokio::spawn(async move {
            api.post_appeal(CRM_TOKEN, &body, Some("crm-order-2")).await
        }));
    }
    let mut answers = HashSet::new();
    for sent in sending {
        let reply = sent.await.expect("join");
        match reply.status {
            202 => {
                answers.insert(reply.text.clone());
            }
            // "being taken right now, come again": the first one's answer follows.
            409 => {
                reply.expect_problem(409, Some("Idempotency-Key"), "idempotency_key_in_progress");
            }
            other => panic!("unexpected {other}: {}", reply.text),
        }
    }
    assert_eq!(
        answers.len(),
        1,
        "every 202 is the same answer: {answers:?}"
    );
    let retried = api.post_appeal(CRM_TOKEN, &body, Some("crm-order-2")).await;
    retried.expect_status(202);
    assert!(answers.contains(&retried.text));

    drained(&gateways).await;
    let appeals = read_stream(&redis.url(), "appeals.v1").await;
    assert_eq!(appeals.len(), 2, "one appeal per key: {appeals:?}");
    assert_eq!(read_stream(&redis.url(), "consent.v1").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repeat_spooled_while_redis_was_away_becomes_an_alias_of_the_first_appeal() {
    let mut redis = RedisServer::not_started();
    let mut a = Gateway::start(&redis).await;
    let b = Gateway::start(&redis).await;
    let body = tagged_appeal("alias");

    // Redis away: instance A takes the request; its answer is lost on the way (the
    // integrator never reads it), and A goes down before it could forward anything.
    let lost = a
        .api()
        .post_appeal(CRM_TOKEN, &body, Some("crm-order-9"))
        .await;
    lost.expect_status(202);
    let lost_number = lost.json()["tracking_number"].as_str().unwrap().to_owned();
    a.kill9();

    // Redis back: the integrator retries through B, which claims the key.
    redis.start();
    wait_until("B reaches Redis", WAIT, || async {
        let (status, body) = b.api().readyz().await;
        (status == 200)
            .then_some(())
            .ok_or(format!("{status} {body}"))
    })
    .await;
    let retry = b
        .api()
        .post_appeal(CRM_TOKEN, &body, Some("crm-order-9"))
        .await;
    retry.expect_status(202);
    let number = retry.json()["tracking_number"].as_str().unwrap().to_owned();
    b.api().wait_drained().await;

    // A comes back and forwards its record: it is not a second appeal.
    a.restart().await;
    a.api().wait_drained().await;
    let appeals = read_stream(&redis.url(), "appeals.v1").await;
    assert_eq!(appeals.len(), 1, "one appeal: {appeals:?}");
    assert_eq!(appeals[0].data["tracking_number"], number.as_str());
    let notes = wait_for_entries_of(&redis.url(), "deadletter.v1", "idempotent_duplicate", 1).await;
    assert_eq!(
        notes[0].data["tracking_number"],
        lost_number.as_str(),
        "{}",
        notes[0].raw
    );
    assert_eq!(
        notes[0].data["duplicate_of"],
        number.as_str(),
        "{}",
        notes[0].raw
    );
    // As the published schema says.
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("schemas/reconciliation.schema.json"),
        )
        .expect("schema"),
    )
    .expect("json");
    let validator = jsonschema::validator_for(&schema).expect("a schema");
    assert!(validator.is_valid(&notes[0].data), "{}", notes[0].raw);
    assert_eq!(
        metric(
            &a,
            "gateway_forward_reconciled_total{outcome=\"idempotent_duplicate\"}"
        )
        .await,
        1.0
    );
    // The number the integrator never saw still leads to the appeal, on any instance.
    for gw in [&a, &b] {
        let page = gw
            .api()
            .get(&format!("/status/{lost_number}?lang=en"))
            .await;
        assert_eq!(page.status, 200, "{}", page.text);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn instances_with_identical_settings_never_issue_the_same_number() {
    if !haproxy::available() {
        eprintln!("haproxy is not installed: skipped (.ci/run installs it)");
        return;
    }
    // Redis is away when they start: they draw offline blocks, then lease.
    let mut redis = RedisServer::not_started();
    let mut gateways = identical(&redis, 3, &[]).await;
    // A fourth instance from a copy of the first one's data directory (a cloned VM).
    let copy = tempfile::tempdir().expect("tempdir");
    gateways[0].stop();
    copy_dir(gateways[0].data_dir(), copy.path());
    gateways[0].restart().await;
    let clone_opts = GatewayOptions::new(&redis.url())
        .without("GATEWAY_INSTANCE")
        .env("GATEWAY_DATA_DIR", &copy.path().display().to_string());
    gateways.push(Gateway::start_with(clone_opts).await);
    let lb = Haproxy::start(&ports(&gateways));
    let api = balanced(&lb);

    let mut numbers = HashSet::new();
    let mut post = async |tag: String| {
        let reply = api.post_appeal(CRM_TOKEN, &tagged_appeal(&tag), None).await;
        reply.expect_status(202);
        let number = reply.json()["tracking_number"].as_str().unwrap().to_owned();
        assert!(is_tracking_number(&number), "{number}");
        assert!(numbers.insert(number.clone()), "{number} issued twice");
    };
    for i in 0..300 {
        post(format!("offline-{i}")).await;
    }
    redis.start();
    for gw in &gateways {
        wait_until("leased tracking numbers", WAIT, || async {
            let (_, body) = gw.api().readyz().await;
            (body["tracking_numbers"] == "leased")
                .then_some(())
                .ok_or(body.to_string())
        })
        .await;
    }
    for i in 0..700 {
        post(format!("leased-{i}")).await;
    }
    assert_eq!(numbers.len(), 1000);

    drained(&gateways).await;
    let appeals = read_stream(&redis.url(), "appeals.v1").await;
    assert_eq!(appeals.len(), 1000);
    let on_stream: HashSet<String> = appeals
        .iter()
        .map(|e| {
            e.data["tracking_number"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(on_stream, numbers, "each number once, on its own appeal");
    for gw in &gateways {
        assert_eq!(
            metric(
                gw,
                "gateway_forward_reconciled_total{outcome=\"tracking_collision\"}"
            )
            .await,
            0.0
        );
    }
    // Every number leads to its own appeal, whichever instance is asked.
    let mut conn = redis_conn(&redis.url()).await.expect("redis");
    for entry in appeals.iter().take(50) {
        let number = entry.data["tracking_number"].as_str().unwrap_or_default();
        let owner: Option<String> = redis::cmd("HGET")
            .arg(format!("{PREFIX}gateway:status:{number}"))
            .arg("appeal_id")
            .query_async(&mut conn)
            .await
            .expect("HGET");
        assert_eq!(owner.as_deref(), Some(entry.id.as_str()));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_number_taken_during_an_outage_is_registered_not_unknown_elsewhere() {
    let mut redis = RedisServer::not_started();
    let a = Gateway::start(&redis).await;
    let b = Gateway::start(&redis).await;
    let reply = a
        .api()
        .post_appeal(CRM_TOKEN, &tagged_appeal("outage"), None)
        .await;
    reply.expect_status(202);
    let number = reply.json()["tracking_number"].as_str().unwrap().to_owned();

    // The instance that holds it shows it; another one cannot look it up now.
    let here = a.api().get(&format!("/status/{number}?lang=en")).await;
    assert_eq!(here.status, 200, "{}", here.text);
    let there = b.api().get(&format!("/status/{number}?lang=en")).await;
    assert_eq!(there.status, 503, "{}", there.text);
    assert!(there.header("retry-after").is_some());
    assert!(there.text.contains("registered"), "{}", there.text);
    assert!(
        !there.text.contains("no appeal with this number"),
        "{}",
        there.text
    );
    let in_russian = b.api().get(&format!("/status/{number}?lang=ru")).await;
    assert!(
        in_russian.text.contains("зарегистрирован"),
        "{}",
        in_russian.text
    );
    // A number whose check symbol is wrong is refused at once, outage or not.
    let mut typo: Vec<char> = number.chars().collect();
    let last = typo.len() - 1;
    typo[last] = if typo[last] == '0' { '1' } else { '0' };
    let typo: String = typo.into_iter().collect();
    let refused = b.api().get(&format!("/status/{typo}?lang=en")).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(refused.text.contains("last character"), "{}", refused.text);

    redis.start();
    a.api().wait_drained().await;
    let there = b.api().get(&format!("/status/{number}?lang=en")).await;
    assert_eq!(there.status, 200, "{}", there.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn open311_lists_every_instances_requests_on_every_instance() {
    let redis = RedisServer::new();
    let gateways = identical(&redis, 2, &[("GATEWAY_OPEN311_INTEGRATORS", "crm")]).await;
    let mut ids = HashSet::new();
    for (n, gw) in gateways.iter().enumerate() {
        for i in 0..3 {
            let description = format!("Яма на дороге, instance {n}, request {i}");
            let form = [
                ("api_key", CRM_TOKEN),
                ("service_code", "roads"),
                ("lat", "43.238949"),
                ("long", "76.945465"),
                ("description", description.as_str()),
                ("attribute[consent]", "agree"),
            ];
            let reply = gw
                .api()
                .try_post(
                    "/open311/v2/requests.json",
                    None,
                    Some("application/x-www-form-urlencoded"),
                    serde_urlencoded::to_string(form)
                        .expect("form")
                        .into_bytes(),
                    &[],
                )
                .await
                .expect("POST");
            reply.expect_status(201);
            ids.insert(
                reply.json()[0]["service_request_id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
    }
    drained(&gateways).await;
    for gw in &gateways {
        let listed = gw
            .api()
            .get("/open311/v2/requests.json?service_code=roads")
            .await;
        listed.expect_status(200);
        let found: HashSet<String> = listed
            .json()
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|r| r["service_request_id"].as_str().map(str::to_owned))
            .collect();
        assert_eq!(found, ids, "every instance's requests");
        for id in &ids {
            let one = gw
                .api()
                .get(&format!("/open311/v2/requests/{id}.json"))
                .await;
            one.expect_status(200);
            assert_eq!(one.json()[0]["service_code"], "roads", "{}", one.text);
            // No personal data in a public read.
            assert!(
                one.json()[0].get("address").is_none_or(Value::is_null),
                "{}",
                one.text
            );
        }
    }
}

/// Copies a directory tree (a data directory, as an operator would clone a VM).
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("list") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_number_already_taken_keeps_its_first_appeal_and_the_collision_is_reported() {
    // Never expected (numbers come from blocks no two processes share); made here by
    // hand: a number spooled while Redis was away, then taken in Redis by another appeal.
    let mut redis = RedisServer::not_started();
    let mut gw = Gateway::start(&redis).await;
    let reply = gw
        .api()
        .post_appeal(CRM_TOKEN, &tagged_appeal("collision"), None)
        .await;
    reply.expect_status(202);
    let number = reply.json()["tracking_number"].as_str().unwrap().to_owned();
    let id = reply.json()["id"].as_str().unwrap().to_owned();
    gw.stop();
    redis.start();
    let mut conn = redis_conn(&redis.url()).await.expect("redis");
    let _: () = redis::cmd("HSET")
        .arg(format!("{PREFIX}gateway:status:{number}"))
        .arg("appeal_id")
        .arg("01JDQ3V8W6Y4Q0Q3J5A1Y9K7M2")
        .query_async(&mut conn)
        .await
        .expect("HSET");
    gw.restart().await;
    gw.api().wait_drained().await;

    // The appeal is not lost: it is added, and the number stays the first appeal's.
    let appeals = read_stream(&redis.url(), "appeals.v1").await;
    assert_eq!(appeals.len(), 1);
    assert_eq!(appeals[0].id, id);
    let owner: Option<String> = redis::cmd("HGET")
        .arg(format!("{PREFIX}gateway:status:{number}"))
        .arg("appeal_id")
        .query_async(&mut conn)
        .await
        .expect("HGET");
    assert_eq!(owner.as_deref(), Some("01JDQ3V8W6Y4Q0Q3J5A1Y9K7M2"));
    let notes = wait_for_entries_of(&redis.url(), "deadletter.v1", "tracking_collision", 1).await;
    assert_eq!(notes[0].data["appeal_id"], id.as_str(), "{}", notes[0].raw);
    assert_eq!(
        notes[0].data["number_held_by"],
        "01JDQ3V8W6Y4Q0Q3J5A1Y9K7M2"
    );
    assert_eq!(
        metric(
            &gw,
            "gateway_forward_reconciled_total{outcome=\"tracking_collision\"}"
        )
        .await,
        1.0
    );
    assert!(
        gw.logs()
            .contains("a tracking number already names another appeal"),
        "logged as an error"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_reused_with_another_body_during_an_outage_is_added_and_noted() {
    // Answered 202 on each instance (Redis away for one of them): both appeals exist,
    // and the conflict is on record for the integrator's and the operator's eyes.
    let mut redis = RedisServer::not_started();
    let mut a = Gateway::start(&redis).await;
    a.api()
        .post_appeal(
            CRM_TOKEN,
            &tagged_appeal("conflict-a"),
            Some("crm-order-77"),
        )
        .await
        .expect_status(202);
    a.stop();
    redis.start();
    let b = Gateway::start(&redis).await;
    let second = b
        .api()
        .post_appeal(
            CRM_TOKEN,
            &tagged_appeal("conflict-b"),
            Some("crm-order-77"),
        )
        .await;
    second.expect_status(202);
    b.api().wait_drained().await;
    a.restart().await;
    a.api().wait_drained().await;
    assert_eq!(read_stream(&redis.url(), "appeals.v1").await.len(), 2);
    let notes = wait_for_entries_of(&redis.url(), "deadletter.v1", "idempotency_conflict", 1).await;
    assert_eq!(
        notes[0].data["key_held_by"],
        second.json()["tracking_number"],
        "{}",
        notes[0].raw
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn instances_with_identical_settings_each_erase_their_own_files() {
    // No GATEWAY_INSTANCE and no HOSTNAME: each data directory names its instance, so
    // each instance reads the erasures for its own files (its own group on subject.v1).
    let redis = RedisServer::new();
    let gateways = identical(&redis, 2, &[]).await;
    let names: HashSet<String> = gateways
        .iter()
        .map(|g| {
            std::fs::read_to_string(g.data_dir().join("instance-name"))
                .expect("instance-name")
                .trim()
                .to_owned()
        })
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    let reply = gateways[0]
        .api()
        .post_subject_request(&serde_json::json!({
            "kind": "erasure", "channel": "api", "subject": {"phone": "+7 701 555 66 77"}
        }))
        .await;
    reply.expect_status(202);
    let request_id = reply.json()["id"].as_str().unwrap_or_default().to_owned();
    let reports = wait_until("a report of each instance", WAIT, || async {
        let found: HashSet<String> = read_stream(&redis.url(), "subject.v1")
            .await
            .into_iter()
            .filter(|e| e.data["request_id"] == request_id.as_str())
            .filter_map(|e| e.data["instance"].as_str().map(str::to_owned))
            .collect();
        (found.len() == 2)
            .then_some(found.clone())
            .ok_or(format!("{found:?}"))
    })
    .await;
    assert_eq!(reports, names);
}
