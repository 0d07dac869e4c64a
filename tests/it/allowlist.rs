//! Regulation 5.1: only the allowlisted personal fields are kept. Everything else is
//! dropped before it is stored anywhere; the record names what was dropped, never the
//! values.

use crate::support::*;
use serde_json::json;

/// What regulation 5.1 allows in `applicant` (contract: the appeal's `applicant`).
const ALLOWED: &[&str] = &[
    "last_name",
    "first_name",
    "patronymic",
    "email",
    "phones",
    "iin",
    "birth_date",
    "birth_place",
    "nationality",
    "id_document_number",
    "education",
    "speciality",
    "position",
    "employer",
    "qualification",
];

/// The forbidden fields of the test and the values that must never be stored.
const FORBIDDEN: &[(&str, &str)] = &[
    ("religion", "Пастафарианство-7731"),
    ("health", "Инвалидность второй группы, ВИЧ"),
    ("diagnosis", "Сахарный диабет 2 типа F-4471"),
    ("home_address", "ул. Толе би, 1, кв. 5"),
    ("bank_card", "4400 4301 2345 6789"),
    ("passport_scan", "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ"),
];

/// Fragments of the forbidden values, so that a reformatted value is caught too.
const FRAGMENTS: &[&str] = &[
    "Пастафарианство",
    "Инвалидность",
    "Сахарный диабет",
    "Толе би",
    "4400430123456789",
    "4400 4301",
    "/9j/4AAQ",
];

#[tokio::test(flavor = "multi_thread")]
async fn forbidden_fields_are_dropped_by_name_and_never_reach_redis_disk_or_logs() {
    let redis = RedisServer::new();
    let gw =
        Gateway::start_with(GatewayOptions::new(&redis.url()).env("GATEWAY_LOG", "trace")).await;
    let api = gw.api();

    let mut body = valid_appeal();
    for (field, value) in FORBIDDEN {
        body["applicant"][*field] = json!(value);
    }
    // Allowed fields beyond the basics are kept.
    body["applicant"]["birth_date"] = json!("1990-05-17");
    body["applicant"]["nationality"] = json!("казах");
    body["applicant"]["id_document_number"] = json!("045678912");
    body["applicant"]["employer"] = json!("ТОО «Алматы Су»");

    let reply = api.post_appeal(CRM_TOKEN, &body, None).await;
    reply.expect_status(202);
    let id = reply.json()["id"].as_str().unwrap().to_string();

    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    let a = &appeals[0].data;
    assert_eq!(appeals[0].id, id);

    let applicant = a["applicant"].as_object().expect("applicant object");
    for key in applicant.keys() {
        assert!(
            ALLOWED.contains(&key.as_str()),
            "applicant.{key} is outside regulation 5.1: {a}"
        );
    }
    assert_eq!(
        applicant["birth_date"], "1990-05-17",
        "allowed fields are kept: {a}"
    );
    assert_eq!(applicant["nationality"], "казах");
    assert_eq!(applicant["id_document_number"], "045678912");
    assert_eq!(applicant["employer"], "ТОО «Алматы Су»");

    let dropped = &a["dropped_fields"];
    for (field, _) in FORBIDDEN {
        assert!(
            names_dropped(dropped, field),
            "dropped_fields does not name {field}: {dropped}"
        );
    }
    for name in dropped.as_array().unwrap() {
        let name = name.as_str().expect("dropped_fields holds names");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.[]".contains(c)),
            "dropped_fields holds something else than a field name: {name:?}"
        );
    }

    // Wait until everything of this appeal is in Redis, then look everywhere.
    api.wait_drained().await;
    wait_for_stream_len(&redis.url(), "consent.v1", 1).await;
    wait_for_stream_len(&redis.url(), "analytics.v1", 1).await;
    let values: Vec<&str> = FORBIDDEN
        .iter()
        .map(|(_, v)| *v)
        .chain(FRAGMENTS.iter().copied())
        .collect();
    assert_none_in(&redis_dump(&redis.url()).await, &values, "Redis");
    assert_none_in_files(gw.data_dir(), &values);
    assert_none_in(&gw.logs(), &values, "the gateway's log");
    assert_none_in(&gw.stdout(), &values, "the gateway's stdout");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_top_level_personal_fields_are_dropped_not_refused() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    let mut body = tagged_appeal("top-level");
    body["religion"] = json!("Пастафарианство-7731");
    body["applicant"]["health"] = json!("Инвалидность второй группы, ВИЧ");
    let reply = api.post_appeal(CRM_TOKEN, &body, None).await;
    reply.expect_status(202);

    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    assert!(
        names_dropped(&appeals[0].data["dropped_fields"], "health"),
        "{}",
        appeals[0].raw
    );
    api.wait_drained().await;
    assert_none_in(
        &redis_dump(&redis.url()).await,
        &["Пастафарианство", "Инвалидность"],
        "Redis",
    );
}
