//! The gateway is killed with SIGKILL in the middle of a load. An integrator resends
//! every request that did not get a 202, with the same `Idempotency-Key`: in the end
//! there is exactly one appeal per key, and every id the integrator was given exists.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_mid_load_then_resend_gives_one_appeal_per_key() {
    const TASKS: usize = 6;
    const PER_TASK: usize = 100;
    let redis = RedisServer::new();
    let mut gw = Gateway::start(&redis).await;
    let api = gw.api();

    let (load, done) = spawn_load(&api, "crash", TASKS, PER_TASK, true);
    wait_count(&done, 150, "150 answers before the kill").await;
    gw.kill9();
    let outcomes = load.await.unwrap();

    // What the integrator knows: key → id for every 202.
    let mut given: HashMap<String, String> = outcomes
        .iter()
        .filter_map(|o| o.accepted_id().map(|id| (o.tag.clone(), id)))
        .collect();
    let before_kill = given.len();
    assert!(
        before_kill >= 100,
        "some appeals were accepted before the kill"
    );
    assert!(
        before_kill < TASKS * PER_TASK,
        "the kill came before the load ended"
    );

    gw.restart().await;
    let api = gw.api();

    // Resend every request without a 202, same key, same body, until it gets one.
    let mut replayed = 0;
    for o in outcomes.iter().filter(|o| o.accepted_id().is_none()) {
        let mut last = String::new();
        let mut id = None;
        for _ in 0..50 {
            match api.try_post_appeal(CRM_TOKEN, &o.body, Some(&o.tag)).await {
                Ok(r) if r.status == 202 => {
                    if r.header("idempotent-replayed").as_deref() == Some("true") {
                        // Durable before the kill, but its answer was lost.
                        replayed += 1;
                    }
                    id = Some(r.json()["id"].as_str().unwrap().to_string());
                    break;
                }
                Ok(r) => last = format!("{} {}", r.status, r.text),
                Err(e) => last = e,
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let id = id.unwrap_or_else(|| panic!("resending {} never got a 202; last: {last}", o.tag));
        given.insert(o.tag.clone(), id);
    }

    eprintln!(
        "{before_kill} acknowledged before the kill, {} resent, {replayed} of them replayed",
        TASKS * PER_TASK - before_kill
    );

    // A key answered before the kill is still remembered after it.
    for o in outcomes
        .iter()
        .filter(|o| o.accepted_id().is_some())
        .take(5)
    {
        let r = api.post_appeal(CRM_TOKEN, &o.body, Some(&o.tag)).await;
        r.expect_status(202);
        assert_eq!(
            r.json()["id"].as_str(),
            o.accepted_id().as_deref(),
            "replaying {} after the crash returns the first answer",
            o.tag
        );
    }

    api.wait_drained_within(Duration::from_secs(90)).await;
    let appeals = read_stream(&redis.url(), "appeals.v1").await;
    let dups = duplicate_ids(&appeals);
    assert!(dups.is_empty(), "appeals sent twice: {dups:?}");

    // One entry per key: the tag is in the subject.
    let mut per_tag: HashMap<String, Vec<&Entry>> = HashMap::new();
    for e in &appeals {
        let subject = e.data["subject"].as_str().unwrap_or_default();
        let tag = subject.rsplit(' ').next().unwrap_or_default().to_string();
        per_tag.entry(tag).or_default().push(e);
    }
    let twice: Vec<(&String, usize)> = per_tag
        .iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(k, v)| (k, v.len()))
        .collect();
    assert!(
        twice.is_empty(),
        "keys with more than one appeal: {twice:?}"
    );
    assert_eq!(
        appeals.len(),
        TASKS * PER_TASK,
        "one appeal per key ({before_kill} acknowledged before the kill)"
    );
    let on_stream: HashSet<&str> = appeals.iter().map(|e| e.id.as_str()).collect();
    for (tag, id) in &given {
        assert!(
            on_stream.contains(id.as_str()),
            "{tag} was given id {id}, which is not on the stream"
        );
        let entry = per_tag
            .get(tag)
            .unwrap_or_else(|| panic!("no appeal on the stream carries the subject of {tag}"))[0];
        assert_eq!(
            &entry.id, id,
            "the appeal of {tag} carries the id its integrator was given"
        );
    }
    let consents = read_stream(&redis.url(), "consent.v1").await;
    assert!(
        duplicate_ids(&consents).is_empty(),
        "consent events sent twice"
    );
    assert_eq!(
        consents.len(),
        TASKS * PER_TASK,
        "one consent_given per appeal"
    );
}
