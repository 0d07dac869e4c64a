//! An integrator retries with the same `Idempotency-Key`: the repeat gets the first
//! answer and adds nothing; a reused key with another body is refused.

use crate::support::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn a_repeat_returns_the_first_answer_and_adds_nothing() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    let body = valid_appeal();
    let first = api.post_appeal(CRM_TOKEN, &body, Some("order-4711")).await;
    first.expect_status(202);
    let second = api.post_appeal(CRM_TOKEN, &body, Some("order-4711")).await;
    second.expect_status(202);
    assert_eq!(
        second.json(),
        first.json(),
        "the repeat returns the first body"
    );
    assert_eq!(
        second.header("idempotent-replayed").as_deref(),
        Some("true"),
        "the repeat says it is a replay"
    );
    assert_ne!(first.header("idempotent-replayed").as_deref(), Some("true"));

    api.wait_drained().await;
    let appeals = read_stream(&redis.url(), "appeals.v1").await;
    assert_eq!(appeals.len(), 1, "one appeal for one key: {appeals:?}");
    assert_eq!(appeals[0].id, first.json()["id"].as_str().unwrap());
    assert_eq!(
        read_stream(&redis.url(), "consent.v1").await.len(),
        1,
        "one consent"
    );
    assert_eq!(
        read_stream(&redis.url(), "analytics.v1").await.len(),
        1,
        "one stats record"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_key_with_another_body_is_refused() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    let body = valid_appeal();
    api.post_appeal(CRM_TOKEN, &body, Some("order-4712"))
        .await
        .expect_status(202);
    let mut other = body.clone();
    other["text"] = json!("Совсем другой текст обращения про освещение во дворе.");
    let reply = api.post_appeal(CRM_TOKEN, &other, Some("order-4712")).await;
    reply.expect_problem(422, None, "idempotency_key_reused");

    api.wait_drained().await;
    assert_eq!(read_stream(&redis.url(), "appeals.v1").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_belong_to_the_integrator() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    let body = tagged_appeal("scoped");
    let crm = api
        .post_appeal(CRM_TOKEN, &body, Some("shared-key-1"))
        .await;
    crm.expect_status(202);
    let portal = api
        .post_appeal(PORTAL_TOKEN, &body, Some("shared-key-1"))
        .await;
    portal.expect_status(202);
    assert_ne!(
        crm.json()["id"],
        portal.json()["id"],
        "two integrators using the same key make two appeals"
    );
    wait_for_stream_len(&redis.url(), "appeals.v1", 2).await;
    api.wait_drained().await;
    assert_eq!(read_stream(&redis.url(), "appeals.v1").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_repeats_make_one_appeal() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    let body = tagged_appeal("concurrent");
    let mut handles = Vec::new();
    for _ in 0..8 {
        let api = api.clone();
        let body = body.clone();
        handles.push(tokio::spawn(async move {
            api.post_appeal(CRM_TOKEN, &body, Some("same-key-concurrent"))
                .await
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for h in handles {
        let reply = h.await.unwrap();
        match reply.status {
            202 => {
                ids.insert(reply.json()["id"].as_str().unwrap().to_string());
            }
            409 | 429 => {}
            other => panic!("unexpected {other} for a concurrent repeat: {}", reply.text),
        }
    }
    assert_eq!(ids.len(), 1, "every 202 names the same appeal: {ids:?}");
    api.wait_drained().await;
    let appeals = read_stream(&redis.url(), "appeals.v1").await;
    assert_eq!(appeals.len(), 1, "{appeals:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_key_is_refused() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    let too_long = "k".repeat(201);
    let reply = api
        .post_appeal(CRM_TOKEN, &tagged_appeal("k"), Some(&too_long))
        .await;
    assert!(
        matches!(reply.status, 400 | 422),
        "a 201-character key is refused, got {}: {}",
        reply.status,
        reply.text
    );
    reply.expect_problem(reply.status, None, "invalid_idempotency_key");
    let exactly_200 = "k".repeat(200);
    api.post_appeal(CRM_TOKEN, &tagged_appeal("k"), Some(&exactly_200))
        .await
        .expect_status(202);
}
