//! A downstream team validates what it reads against the published JSON Schemas:
//! every message on every stream conforms to `schemas/<type>.schema.json`.

use std::path::PathBuf;

use crate::support::*;
use serde_json::{Value, json};

/// The schema file of each message type (contract, "Streams: entries and message types").
fn schema_file(kind: &str) -> &'static str {
    match kind {
        "appeal" => "appeal",
        "consent_given" | "consent_withdrawn" => "consent_event",
        "subject_request" => "subject_request",
        "appeal_stats" => "appeal_stats",
        "erasure_done" | "access_report" => "subject_report",
        "appeal_aggregate" => "appeal_aggregate",
        "consultation_aggregate" => "consultation_aggregate",
        other => panic!("unexpected message type {other:?} on a stream"),
    }
}

fn load_schema(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(format!("{name}.schema.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

#[test]
fn every_schema_is_a_2020_12_json_schema() {
    for name in [
        "appeal",
        "consent_event",
        "subject_request",
        "appeal_stats",
        "subject_report",
        "appeal_aggregate",
        "consultation_aggregate",
    ] {
        let schema = load_schema(name);
        assert!(
            schema["$schema"]
                .as_str()
                .is_some_and(|s| s.contains("2020-12")),
            "{name}.schema.json declares JSON Schema 2020-12: {}",
            schema["$schema"]
        );
        jsonschema::validator_for(&schema)
            .unwrap_or_else(|e| panic!("{name}.schema.json is not a valid schema: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_message_on_every_stream_matches_its_schema() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    // A full appeal, a minimal one, and one of every subject request.
    let mut full = valid_appeal();
    full["applicant"]["birth_date"] = json!("1990-05-17");
    full["applicant"]["birth_place"] = json!("Алматы");
    full["applicant"]["nationality"] = json!("казах");
    full["applicant"]["id_document_number"] = json!("045678912");
    full["applicant"]["education"] = json!("высшее");
    full["applicant"]["speciality"] = json!("инженер");
    full["applicant"]["position"] = json!("мастер");
    full["applicant"]["employer"] = json!("ТОО «Алматы Су»");
    full["applicant"]["qualification"] = json!("1 категория");
    full["language"] = json!("ru");
    api.post_appeal(CRM_TOKEN, &full, None)
        .await
        .expect_status(202);
    let minimal = json!({
        "subject": "Street light",
        "text": "The street light near the school has not worked for a week.",
        "applicant": {"first_name": "John", "phones": ["+7 701 000 00 01"]},
        "consent": {"method": "api", "purposes": ["appeal"]}
    });
    api.post_appeal(CRM_TOKEN, &minimal, None)
        .await
        .expect_status(202);
    let kinds = [
        "withdraw_consent",
        "opt_out_notifications",
        "update_data",
        "access",
        "erasure",
    ];
    for kind in kinds {
        api.post_subject_request(&json!({
            "kind": kind,
            "channel": "api",
            "subject": {"phone": "8 777 314 15 92", "email": "Dpo.Check@Example.org", "iin": "061211600012"},
            "text": "Прошу"
        }))
        .await
        .expect_status(202);
    }
    api.post_subject_request(&json!({
        "kind": "access",
        "channel": "api",
        "subject": {"email": "only.email@example.org"}
    }))
    .await
    .expect_status(202);

    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 2).await;
    wait_for_stream_len(&redis.url(), "subject.v1", kinds.len() + 1).await;
    api.wait_drained().await;

    let mut seen = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    for stream in ["appeals.v1", "consent.v1", "subject.v1", "analytics.v1"] {
        let entries = read_stream(&redis.url(), stream).await;
        assert!(!entries.is_empty(), "{stream} is empty");
        for e in entries {
            seen.insert(e.kind.clone());
            assert_eq!(
                e.data["id"],
                e.id.as_str(),
                "the entry's `id` is the message's id: {}",
                e.raw
            );
            let schema = load_schema(schema_file(&e.kind));
            let validator = jsonschema::validator_for(&schema).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&e.data)
                .map(|err| format!("{} at {}", err, err.instance_path))
                .collect();
            if !errors.is_empty() {
                failures.push(format!(
                    "{stream} {} ({}): {errors:?}\n  {}",
                    e.entry_id, e.kind, e.raw
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "messages that do not match their schema:\n{}",
        failures.join("\n")
    );
    for kind in [
        "appeal",
        "consent_given",
        "consent_withdrawn",
        "subject_request",
        "appeal_stats",
    ] {
        assert!(seen.contains(kind), "no {kind} message was seen: {seen:?}");
    }
    assert_eq!(appeals.len(), 2);
}
