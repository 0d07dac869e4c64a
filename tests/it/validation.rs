//! An invalid appeal is refused with a localized problem document that names the field,
//! never repeats the submitted value, and leaves nothing in Redis.

use crate::support::*;
use serde_json::{Value, json};

/// Sends a valid marker appeal and waits until it and everything before it is in Redis;
/// returns the marker's id. Since one instance forwards in order, anything a refused
/// request had left behind would be there by now.
async fn barrier(api: &Api, redis: &RedisServer) -> String {
    let reply = api
        .post_appeal(CRM_TOKEN, &tagged_appeal("marker"), None)
        .await;
    reply.expect_status(202);
    let id = reply.json()["id"].as_str().unwrap().to_string();
    wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    api.wait_drained().await;
    id
}

fn without_consent() -> Value {
    let mut body = valid_appeal();
    body.as_object_mut().unwrap().remove("consent");
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn no_consent_no_record() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    let reply = api.post_appeal(CRM_TOKEN, &without_consent(), None).await;
    let error = reply.expect_problem(422, Some("consent"), "consent_required");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{error}"
    );
    let body = reply.json();
    assert_eq!(
        body["type"], "https://open-almaty.kz/problems/consent_required",
        "problem type: {body}"
    );
    assert!(body["title"].is_string(), "{body}");

    // Consent without the purpose `appeal` is no consent to an appeal.
    let mut body = valid_appeal();
    body["consent"]["purposes"] = json!(["notifications"]);
    let reply = api.post_appeal(CRM_TOKEN, &body, None).await;
    assert_eq!(
        reply.status, 422,
        "consent without purpose `appeal`: {}",
        reply.text
    );

    let marker = barrier(&api, &redis).await;
    let appeals = read_stream(&redis.url(), "appeals.v1").await;
    assert_eq!(appeals.len(), 1, "only the marker appeal: {appeals:?}");
    assert_eq!(appeals[0].id, marker);
    let consents = read_stream(&redis.url(), "consent.v1").await;
    assert_eq!(consents.len(), 1, "only the marker's consent: {consents:?}");
    assert_none_in(
        &redis_dump(&redis.url()).await,
        &["7011234567", "Ivan.Petrov", "900101300017", "Иванович"],
        "Redis after a refused appeal",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_follow_accept_language() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    let mut messages = std::collections::BTreeMap::new();
    for lang in [Some("kk"), Some("ru"), Some("en"), None] {
        let reply = api.post_appeal_lang(&without_consent(), lang).await;
        let error = reply.expect_problem(422, Some("consent"), "consent_required");
        messages.insert(
            lang.unwrap_or("default"),
            error["message"].as_str().unwrap().to_string(),
        );
    }
    let (kk, ru, en) = (&messages["kk"], &messages["ru"], &messages["en"]);
    assert_ne!(kk, en, "kk and en messages must differ: {messages:?}");
    assert_ne!(ru, en, "ru and en messages must differ: {messages:?}");
    assert_ne!(kk, ru, "kk and ru messages must differ: {messages:?}");
    assert_eq!(
        &messages["default"], ru,
        "the default language is ru: {messages:?}"
    );
    assert!(
        kk.chars().any(|c| "әғқңөұүһіӘҒҚҢӨҰҮҺІ".contains(c)),
        "the kk message should be Kazakh: {kk:?}"
    );
    assert!(en.is_ascii(), "the en message should be English: {en:?}");
    assert!(
        ru.chars().any(|c| ('а'..='я').contains(&c)),
        "the ru message should be Russian: {ru:?}"
    );

    // A regional tag and a quality list pick the same language.
    let reply = api
        .post_appeal_lang(&without_consent(), Some("en-US,en;q=0.9,ru;q=0.5"))
        .await;
    let error = reply.expect_problem(422, Some("consent"), "consent_required");
    assert_eq!(error["message"].as_str().unwrap(), en.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_values_are_named_and_never_echoed() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    // (field in the request, bad value, field in the problem, code)
    let cases = [
        ("iin", json!("821214240092"), "applicant.iin", "invalid_iin"),
        (
            "email",
            json!("ivan.petrov-at-mail.kz"),
            "applicant.email",
            "invalid_email",
        ),
        (
            "phones",
            json!(["12345"]),
            "applicant.phones[0]",
            "invalid_phone",
        ),
    ];
    for (key, value, field, code) in &cases {
        let mut body = valid_appeal();
        body["applicant"][*key] = value.clone();
        for lang in ["ru", "kk", "en"] {
            let reply = api.post_appeal_lang(&body, Some(lang)).await;
            reply.expect_problem(422, Some(field), code);
            let raw = match value {
                Value::String(s) => s.clone(),
                Value::Array(a) => a[0].as_str().unwrap().to_string(),
                _ => unreachable!(),
            };
            assert!(
                !reply.text.contains(&raw),
                "the problem repeats the submitted value {raw:?}: {}",
                reply.text
            );
        }
    }

    let mut body = valid_appeal();
    body["category"] = json!("no-such-category-xyz");
    api.post_appeal(CRM_TOKEN, &body, None)
        .await
        .expect_problem(422, Some("category"), "unknown_category");

    // Several problems are listed at once.
    let mut body = valid_appeal();
    body["applicant"]["iin"] = json!("821214240092");
    body["applicant"]["email"] = json!("ivan.petrov-at-mail.kz");
    let reply = api.post_appeal(CRM_TOKEN, &body, None).await;
    reply.expect_problem(422, Some("applicant.iin"), "invalid_iin");
    reply.expect_problem(422, Some("applicant.email"), "invalid_email");

    barrier(&api, &redis).await;
    assert_eq!(
        read_stream(&redis.url(), "appeals.v1").await.len(),
        1,
        "only the marker"
    );
    assert_none_in(
        &redis_dump(&redis.url()).await,
        &["821214240092", "ivan.petrov-at-mail.kz"],
        "Redis",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_checksum_valid_iin_is_accepted_whatever_its_date_looks_like() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    // DOMAIN.md vectors: both valid, the first two need the second weights.
    for iin in ["061211600012", "850501300011", "900101300017"] {
        let mut body = tagged_appeal(iin);
        body["applicant"]["iin"] = json!(iin);
        api.post_appeal(CRM_TOKEN, &body, None)
            .await
            .expect_status(202);
    }
}
