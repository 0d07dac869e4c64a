//! Requests the API refuses before looking at the appeal: no or wrong token, wrong media
//! type, too large, not JSON. Each is a problem document and leaves nothing in Redis.

use crate::support::*;

const APPEALS: &str = "/api/v1/appeals";
const SUBJECT: &str = "/api/v1/subject-requests";

fn body() -> Vec<u8> {
    serde_json::to_vec(&valid_appeal()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_valid_token_nothing_is_accepted() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    for path in [APPEALS, SUBJECT] {
        let none = api
            .try_post(path, None, Some(JSON), body(), &[])
            .await
            .unwrap();
        none.expect_problem(401, None, "unauthorized");
        let wrong = api
            .try_post(path, Some("crm-secret-token-0003"), Some(JSON), body(), &[])
            .await
            .unwrap();
        wrong.expect_problem(401, None, "unauthorized");
        let prefix = api
            .try_post(path, Some("crm-secret-token-000"), Some(JSON), body(), &[])
            .await
            .unwrap();
        prefix.expect_problem(401, None, "unauthorized");
        let basic = api
            .try_post(
                path,
                None,
                Some(JSON),
                body(),
                &[(
                    "Authorization",
                    "Basic Y3JtOmNybS1zZWNyZXQtdG9rZW4tMDAwMQ==",
                )],
            )
            .await
            .unwrap();
        basic.expect_problem(401, None, "unauthorized");
        assert!(!none.text.contains(CRM_TOKEN) && !wrong.text.contains("crm-secret-token-0003"));
    }

    api.wait_drained().await;
    assert_eq!(try_stream_len(&redis.url(), "appeals.v1").await.unwrap(), 0);
    assert_eq!(try_stream_len(&redis.url(), "subject.v1").await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn only_json_is_taken() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    let reply = api
        .try_post(APPEALS, Some(CRM_TOKEN), Some("text/plain"), body(), &[])
        .await
        .unwrap();
    reply.expect_problem(415, None, "unsupported_media_type");
    let reply = api
        .try_post(APPEALS, Some(CRM_TOKEN), None, body(), &[])
        .await
        .unwrap();
    reply.expect_problem(415, None, "unsupported_media_type");
    // A charset parameter is still JSON.
    api.try_post(
        APPEALS,
        Some(CRM_TOKEN),
        Some("application/json; charset=utf-8"),
        body(),
        &[],
    )
    .await
    .unwrap()
    .expect_status(202);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_over_the_limit_is_413() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    let mut big = valid_appeal();
    big["text"] = serde_json::Value::String("я".repeat(1024 * 1024)); // 2 MiB of UTF-8
    let bytes = serde_json::to_vec(&big).unwrap();
    assert!(bytes.len() > 2 * 1024 * 1024);
    let reply = api
        .try_post(APPEALS, Some(CRM_TOKEN), Some(JSON), bytes, &[])
        .await
        .unwrap_or_else(|e| {
            panic!("a too-large body must get a 413 answer, not a broken connection: {e}")
        });
    reply.expect_problem(413, None, "payload_too_large");

    // A body just under the default limit (1 MiB) is read (and judged on its content).
    let mut near = tagged_appeal("near-limit");
    near["text"] = serde_json::Value::String("a".repeat(900 * 1024));
    let reply = api.post_appeal(CRM_TOKEN, &near, None).await;
    assert_ne!(
        reply.status, 413,
        "900 KiB is under the 1 MiB limit: {}",
        reply.text
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_limit_is_configurable() {
    let redis = RedisServer::new();
    let gw = Gateway::start_with(
        GatewayOptions::new(&redis.url()).env("GATEWAY_MAX_BODY_BYTES", "2048"),
    )
    .await;
    let api = gw.api();
    let mut body = tagged_appeal("limit");
    body["text"] = serde_json::Value::String("a".repeat(4096));
    api.post_appeal(CRM_TOKEN, &body, None)
        .await
        .expect_problem(413, None, "payload_too_large");
    api.post_appeal(CRM_TOKEN, &tagged_appeal("small"), None)
        .await
        .expect_status(202);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_json_is_400() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    for bad in [
        &b"{\"subject\": \"\xd0\xaf\xd0\xbc\xd0\xb0\", "[..],
        &b"not json at all"[..],
        &b"[1, 2, 3"[..],
        &b""[..],
    ] {
        let reply = api
            .try_post(APPEALS, Some(CRM_TOKEN), Some(JSON), bad.to_vec(), &[])
            .await
            .unwrap();
        reply.expect_problem(400, None, "malformed_json");
    }
    let reply = api
        .try_post(
            SUBJECT,
            Some(CRM_TOKEN),
            Some(JSON),
            b"{\"kind\":".to_vec(),
            &[],
        )
        .await
        .unwrap();
    reply.expect_problem(400, None, "malformed_json");

    api.wait_drained().await;
    assert_eq!(try_stream_len(&redis.url(), "appeals.v1").await.unwrap(), 0);
}
