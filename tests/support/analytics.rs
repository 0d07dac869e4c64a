//! The analytics stream (`analytics.v2`): publishing a period ([`publish_at`]) and
//! reading its aggregates ([`aggregates`]).

use std::fs;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::*;

/// Runs `appeal-gateway analytics publish --at <at>` against `redis`; returns how many
/// periods it published.
pub fn publish_at(redis: &RedisServer, at: time::OffsetDateTime) -> u64 {
    let at = at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let opts = GatewayOptions::new(&redis.url()).args(&["analytics", "publish", "--at", &at]);
    let (status, stdout, stderr) = run_to_exit(&opts, Duration::from_secs(60));
    assert!(status.success(), "analytics publish failed: {stderr}");
    let report: Value = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    report["published"]
        .as_u64()
        .unwrap_or_else(|| panic!("{stdout}"))
}

/// Every message on `analytics.v2` (`appeal_aggregate` with `kind: appeal`,
/// `consultation_aggregate` with `kind: consultation`), each checked against its schema
/// and against k.
pub async fn aggregates(redis: &RedisServer, k: u64) -> Vec<Value> {
    let validator = |kind: &str| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("schemas")
            .join(format!("{kind}.schema.json"));
        let schema: Value =
            serde_json::from_str(&fs::read_to_string(path).unwrap_or_default()).unwrap_or_default();
        jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{kind} schema: {e}"))
    };
    let entries = read_stream(&redis.url(), "analytics.v2").await;
    entries
        .into_iter()
        .map(|e| {
            let kind = match e.kind.as_str() {
                "appeal_aggregate" => "appeal",
                "consultation_aggregate" => "consultation",
                other => panic!("{other} on analytics.v2"),
            };
            let a = e.data;
            let errors: Vec<String> = validator(&e.kind)
                .iter_errors(&a)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{errors:?}: {a}");
            assert_eq!(a["kind"], kind, "{a}");
            assert_eq!(a["id"], e.id.as_str());
            assert_eq!(a["schema_version"], 2, "{a}");
            assert_eq!(a["k"], k, "{a}");
            for cell in a["cells"].as_array().into_iter().flatten() {
                let count = cell["count"].as_u64().unwrap_or(0);
                assert!(count >= k, "a published cell counts {count} < k={k}: {a}");
            }
            if let Some(total) = a["total"].as_u64() {
                assert!(total >= k, "{a}");
            }
            a
        })
        .collect()
}
