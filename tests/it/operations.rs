//! An operator's probes: liveness, readiness and Prometheus metrics.

use crate::support::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn health_and_readiness() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    let health = api.get("/healthz").await;
    health.expect_status(200);
    assert_eq!(health.json(), json!({"status": "ok"}));

    api.wait_drained().await;
    let (status, body) = api.readyz().await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(body["redis"], "up", "{body}");
    assert_eq!(body["outbox_depth"], 0, "{body}");
}

/// The value of the first sample line that starts with `name{` and holds all `labels`.
fn sample(metrics: &str, name: &str, labels: &[&str]) -> Option<f64> {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| {
            (l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
                && labels.iter().all(|lab| l.contains(lab))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_accepted_and_refused_appeals() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    for i in 0..3 {
        api.post_appeal(CRM_TOKEN, &tagged_appeal(&format!("m-{i}")), None)
            .await
            .expect_status(202);
    }
    let mut no_consent = valid_appeal();
    no_consent.as_object_mut().unwrap().remove("consent");
    api.post_appeal(CRM_TOKEN, &no_consent, None)
        .await
        .expect_status(422);
    api.wait_drained().await;

    let reply = api.metrics_reply().await;
    reply.expect_status(200);
    let ct = reply.header("content-type").unwrap_or_default();
    assert!(
        ct.starts_with("text/plain"),
        "Prometheus text format, got {ct:?}"
    );
    let m = &reply.text;
    assert_eq!(
        sample(m, "gateway_appeals_accepted_total", &["channel=\"api\""]),
        Some(3.0),
        "accepted appeals by channel:\n{m}"
    );
    let refused = sample(
        m,
        "gateway_appeals_refused_total",
        &["channel=\"api\"", "reason=\""],
    );
    assert!(
        refused.is_some_and(|v| v >= 1.0),
        "refused appeals by channel and reason:\n{m}"
    );
    assert_eq!(
        sample(m, "gateway_outbox_depth", &[]),
        Some(0.0),
        "outbox depth:\n{m}"
    );
    assert!(
        sample(m, "gateway_forward_latency_seconds_count", &[]).is_some_and(|v| v >= 1.0),
        "forward latency histogram:\n{m}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outage_shows_in_the_outbox_age_and_readiness_and_clears_after_it() {
    let mut redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();
    api.wait_drained().await;
    let m = api.metrics().await;
    assert_eq!(sample(&m, "gateway_ready", &[]), Some(1.0), "{m}");
    assert_eq!(
        sample(&m, "gateway_outbox_oldest_age_seconds", &[]),
        Some(0.0),
        "{m}"
    );
    assert_eq!(
        sample(
            &m,
            "gateway_build_info",
            &[&format!("version=\"{}\"", env!("CARGO_PKG_VERSION"))]
        ),
        Some(1.0),
        "build info names the running version:\n{m}"
    );

    tokio::task::block_in_place(|| redis.stop());
    for i in 0..3 {
        api.post_appeal(CRM_TOKEN, &tagged_appeal(&format!("outage-{i}")), None)
            .await
            .expect_status(202);
    }
    // The oldest record ages while Redis is away, and readiness says so.
    wait_until(
        "the outbox's oldest record to age past a second",
        WAIT,
        || async {
            let m = api.metrics().await;
            match (
                sample(&m, "gateway_outbox_depth", &[]),
                sample(&m, "gateway_outbox_oldest_age_seconds", &[]),
                sample(&m, "gateway_ready", &[]),
                sample(&m, "gateway_redis_up", &[]),
            ) {
                (Some(3.0), Some(age), Some(0.0), Some(0.0)) if age >= 1.0 => Ok(()),
                other => Err(format!("(depth, age, ready, redis_up) = {other:?}")),
            }
        },
    )
    .await;

    tokio::task::block_in_place(|| redis.start());
    api.wait_drained().await;
    let m = api.metrics().await;
    assert_eq!(
        sample(&m, "gateway_outbox_oldest_age_seconds", &[]),
        Some(0.0),
        "{m}"
    );
    assert_eq!(sample(&m, "gateway_ready", &[]), Some(1.0), "{m}");
    assert_eq!(
        sample(&m, "gateway_forwarded_records_total", &[]),
        Some(3.0),
        "{m}"
    );
    // The records that waited out the outage are in the forward latency's upper
    // buckets; the histogram resolves sub-millisecond times too.
    assert!(
        sample(
            &m,
            "gateway_forward_latency_seconds_bucket",
            &["le=\"0.00025\""]
        )
        .is_some(),
        "a sub-millisecond bucket:\n{m}"
    );
    assert_eq!(
        sample(
            &m,
            "gateway_forward_latency_seconds_bucket",
            &["le=\"0.5\""]
        ),
        Some(0.0),
        "records that waited over a second are not in the 0.5 s bucket:\n{m}"
    );
    assert_eq!(
        sample(&m, "gateway_forward_latency_seconds_count", &[]),
        Some(3.0),
        "{m}"
    );
    // The intake API's own answer time, by route pattern.
    assert_eq!(
        sample(
            &m,
            "gateway_http_request_duration_seconds_count",
            &[
                "route=\"/api/v1/appeals\"",
                "status=\"202\"",
                "method=\"POST\""
            ]
        ),
        Some(3.0),
        "{m}"
    );
}
