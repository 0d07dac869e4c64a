//! The gateway carries out a data subject's requests on what it holds itself (issue 16,
//! points 2 and 3): an erasure clears the subject's bot conversation and reports what
//! went on `subject.v1` (`erasure_done`, counts only); an access request gets an
//! `access_report` listing that subject's appeals and consent entries, and nobody
//! else's.

mod support;

use serde_json::{Value, json};
use support::*;

/// Waits for the report of type `kind` answering `request_id` on `subject.v1`.
async fn report(redis: &RedisServer, kind: &str, request_id: &str) -> Entry {
    wait_until(&format!("{kind} for {request_id}"), WAIT, || async {
        read_stream(&redis.url(), "subject.v1")
            .await
            .into_iter()
            .find(|e| e.kind == kind && e.data["request_id"] == request_id)
            .ok_or_else(|| "not yet".to_owned())
    })
    .await
}

async fn post_appeal_from(gw: &Gateway, phone: &str, tag: &str) -> String {
    let mut appeal = tagged_appeal(tag);
    appeal["applicant"]["phones"] = json!([phone]);
    let reply = gw.api().post_appeal(CRM_TOKEN, &appeal, None).await;
    reply.expect_status(202);
    reply.json()["tracking_number"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_access_request_lists_that_subjects_appeals_and_consents_only() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let mine = [
        post_appeal_from(&gw, "+7 701 111 11 11", "a1").await,
        post_appeal_from(&gw, "+7 701 111 11 11", "a2").await,
    ];
    let theirs = post_appeal_from(&gw, "+7 701 222 22 22", "b1").await;
    wait_for_stream_len(&redis.url(), "appeals.v1", 3).await;

    let reply = gw
        .api()
        .post_subject_request(&json!({
            "kind": "access", "channel": "api", "subject": {"phone": "+7 701 111 11 11"}
        }))
        .await;
    reply.expect_status(202);
    let request_id = reply.json()["id"].as_str().unwrap_or_default().to_owned();
    let entry = report(&redis, "access_report", &request_id).await;
    let r = &entry.data;
    assert_eq!(r["request_kind"], "access", "{r}");
    let mut listed: Vec<&str> = r["appeals"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["tracking_number"].as_str())
        .collect();
    listed.sort_unstable();
    let mut expected = mine.iter().map(String::as_str).collect::<Vec<_>>();
    expected.sort_unstable();
    assert_eq!(listed, expected, "{r}");
    let consents = r["consents"].as_array().cloned().unwrap_or_default();
    assert_eq!(consents.len(), 2, "{r}");
    for c in &consents {
        assert_eq!(c["type"], "consent_given");
        assert_eq!(c["policy_version"], POLICY_VERSION);
        assert!(c["at"].is_string());
    }
    assert!(
        r["stores"].as_array().is_some_and(
            |s| s.contains(&json!({"store": "appeals.v1", "items": 2, "erased": false}))
        ),
        "{r}"
    );
    assert_none_in(
        &entry.raw,
        &[theirs.as_str(), "7012222222", "+77011111111", "Иванов"],
        "the access report",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_erasure_clears_the_bot_conversation_and_reports_counts_only() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    // A Telegram draft the citizen abandoned, and what the bot remembers of them.
    let user = subject_key("messenger_id", "telegram:555001");
    let draft = "Черновик: сосед Аскаров Серик шумит";
    let mut conn = redis_conn(&redis.url()).await.expect("redis");
    for (key, value) in [
        (
            format!("{PREFIX}gateway:conversation:{user}"),
            json!({"draft": draft}).to_string(),
        ),
        (
            format!("{PREFIX}gateway:conversation-memory:{user}"),
            json!({"language": "ru"}).to_string(),
        ),
    ] {
        redis::cmd("SET")
            .arg(key)
            .arg(value)
            .arg("EX")
            .arg(3600)
            .query_async::<()>(&mut conn)
            .await
            .expect("SET");
    }
    // An answer of the case system held for them (WhatsApp, outside the window).
    let held = "Ответ: проверка по жалобе на Аскарова назначена";
    redis::cmd("RPUSH")
        .arg(format!("{PREFIX}gateway:held-answers:{user}"))
        .arg(json!({"text": held}).to_string())
        .query_async::<()>(&mut conn)
        .await
        .expect("RPUSH");
    // Someone else's conversation stays.
    let other = subject_key("messenger_id", "telegram:555002");
    redis::cmd("SET")
        .arg(format!("{PREFIX}gateway:conversation:{other}"))
        .arg("{}")
        .query_async::<()>(&mut conn)
        .await
        .expect("SET");

    let reply = gw
        .api()
        .post_subject_request(&json!({
            "kind": "erasure", "channel": "api", "subject": {"messenger_id": "telegram:555001"}
        }))
        .await;
    reply.expect_status(202);
    let request_id = reply.json()["id"].as_str().unwrap_or_default().to_owned();
    let entry = report(&redis, "erasure_done", &request_id).await;
    let r: &Value = &entry.data;
    let stores = r["stores"].as_array().cloned().unwrap_or_default();
    assert!(
        stores.contains(&json!({"store": "bot_conversation", "items": 1, "erased": true})),
        "{r}"
    );
    assert!(
        stores.contains(&json!({"store": "bot_memory", "items": 1, "erased": true})),
        "{r}"
    );
    assert!(
        stores.contains(&json!({"store": "appeals.v1", "items": 0, "erased": false})),
        "{r}"
    );
    assert!(
        stores.contains(&json!({"store": "held_answers", "items": 1, "erased": true})),
        "{r}"
    );

    let dump = redis_dump(&redis.url()).await;
    assert_none_in(&dump, &[draft, held, "Аскаров"], "Redis after the erasure");
    assert_none_in_files(gw.data_dir(), &[draft, "Аскаров"]);
    assert!(
        dump.contains(&other),
        "another subject's conversation is kept"
    );
    assert_none_in(&entry.raw, &["555001", "Аскаров"], "the erasure report");
}
