//! Analytics reads `analytics.v2` (issue 16, point 5): counts of appeals per hour and
//! day and per channel, category, language and district, never one record per appeal,
//! and no published count below `GATEWAY_ANALYTICS_K`.

use std::time::Duration;

use crate::support::*;
use serde_json::{Value, json};

/// Posts an appeal in `category` and `language`; returns its tracking number.
async fn post(gw: &Gateway, category: &str, language: &str) -> String {
    post_at(gw, category, language, json!({"address": "пр. Абая, 10"})).await
}

/// [`post`] with this `location`.
async fn post_at(gw: &Gateway, category: &str, language: &str, location: Value) -> String {
    let mut appeal = tagged_appeal(&format!("{category}-{language}"));
    appeal["category"] = json!(category);
    appeal["language"] = json!(language);
    appeal["location"] = location;
    let reply = gw.api().post_appeal(CRM_TOKEN, &appeal, None).await;
    reply.expect_status(202);
    reply.json()["tracking_number"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_day_and_the_hour_are_published_once_with_no_cell_below_k() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let mut tracking = Vec::new();
    // Districts: given by the integrator (6), named by the address (3), unknown (2).
    for _ in 0..6 {
        let at = json!({"address": "Толе би, 100", "district": "almaly"});
        tracking.push(post_at(&gw, "roads", "ru", at).await);
    }
    for _ in 0..3 {
        let at = json!({"address": "Медеу ауданы, Достық даңғылы 5"});
        tracking.push(post_at(&gw, "lighting", "kk", at).await);
    }
    for _ in 0..2 {
        tracking.push(post(&gw, "animals", "kk").await);
    }
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 11).await;
    let districts: Vec<&Value> = appeals
        .iter()
        .map(|a| &a.data["location"]["district"])
        .collect();
    assert_eq!(districts.iter().filter(|d| **d == "almaly").count(), 6);
    assert_eq!(districts.iter().filter(|d| **d == "medeu").count(), 3);
    assert_eq!(districts.iter().filter(|d| d.is_null()).count(), 2);

    // Nothing has ended yet: nothing is published.
    let now = time::OffsetDateTime::now_utc();
    assert_eq!(publish_at(&redis, now), 0);
    // A day and two hours later both the hour and the day have ended.
    let later = now + time::Duration::hours(26);
    let published = publish_at(&redis, later);
    assert!(published >= 2, "the hour and the day: {published}");
    assert_eq!(publish_at(&redis, later), 0, "a period is published once");

    let all = aggregates(&redis, 5).await;
    assert_eq!(all.len() as u64, published);
    let days: Vec<&Value> = all.iter().filter(|a| a["period"] == "day").collect();
    if days.len() == 1 {
        // (Two days only if the test ran across midnight UTC.)
        let day = days[0];
        assert_eq!(day["total"], 11, "{day}");
        assert_eq!(day["withheld"], false);
        let cells: Vec<Value> = day["cells"].as_array().cloned().unwrap_or_default();
        assert!(cells.contains(&json!({"dimension": "channel", "value": "api", "count": 11})));
        assert!(cells.contains(&json!({"dimension": "category", "value": "roads", "count": 6})));
        // lighting (3) and animals (2) are each below k: merged into one cell of 5.
        assert!(
            cells.contains(&json!({"dimension": "category", "count": 5, "merged": 2})),
            "{day}"
        );
        assert!(cells.contains(&json!({"dimension": "language", "value": "ru", "count": 6})));
        assert!(cells.contains(&json!({"dimension": "language", "value": "kk", "count": 5})));
        assert!(cells.contains(&json!({"dimension": "district", "value": "almaly", "count": 6})));
        // medeu (3) and the unknown district (2): merged as well.
        assert!(
            cells.contains(&json!({"dimension": "district", "count": 5, "merged": 2})),
            "{day}"
        );
        assert_eq!(
            day["suppressed"],
            json!([
                {"dimension": "category", "values": 2},
                {"dimension": "district", "values": 2}
            ]),
            "the suppression is reported: {day}"
        );
        assert!(
            !cells.iter().any(|c| c["value"] == "lighting"
                || c["value"] == "animals"
                || c["value"] == "medeu"),
            "{day}"
        );
    }
    // Counts only: no appeal's id, tracking number or text.
    let raw = serde_json::to_string(&all).unwrap_or_default();
    let numbers: Vec<&str> = tracking.iter().map(String::as_str).collect();
    assert_none_in(&raw, &numbers, "analytics.v2");
    assert_none_in(&raw, &["Иванов", "Яма на дороге"], "analytics.v2");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_period_with_fewer_than_k_appeals_is_withheld_and_says_so() {
    let redis = RedisServer::new();
    let gw = Gateway::start_with(GatewayOptions::new(&redis.url()).env("GATEWAY_ANALYTICS_K", "4"))
        .await;
    for _ in 0..3 {
        post(&gw, "roads", "ru").await;
    }
    wait_for_stream_len(&redis.url(), "appeals.v1", 3).await;
    let opts = GatewayOptions::new(&redis.url())
        .env("GATEWAY_ANALYTICS_K", "4")
        .args(&[
            "analytics",
            "publish",
            "--at",
            &(time::OffsetDateTime::now_utc() + time::Duration::hours(26))
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        ]);
    let (status, _, stderr) = run_to_exit(&opts, Duration::from_secs(60));
    assert!(status.success(), "{stderr}");
    let all = aggregates(&redis, 4).await;
    assert!(all.len() >= 2, "{all:?}");
    for a in &all {
        assert_eq!(a["withheld"], true, "{a}");
        assert!(a.get("total").is_none(), "{a}");
        assert_eq!(a["cells"], json!([]), "{a}");
        assert_eq!(
            a["suppressed"],
            json!([
                {"dimension": "channel", "values": 1},
                {"dimension": "category", "values": 1},
                {"dimension": "language", "values": 1},
                {"dimension": "district", "values": 1}
            ]),
            "{a}"
        );
    }
}
