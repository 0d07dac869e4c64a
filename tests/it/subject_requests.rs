//! A citizen exercises their rights (regulation 4.1, 9.2): withdraw consent, opt out of
//! notifications, update data, access, erasure. The data-protection officer reads the
//! requests from `subject.v1`, keyed by pseudonymous subject keys; raw identifiers travel
//! only where an answer to the person is needed.

use crate::support::*;
use serde_json::{Value, json};

const PHONE_TYPED: &str = "8 777 314 15 92";
const PHONE_E164: &str = "+77773141592";
const EMAIL: &str = "dpo.check@example.org";
const IIN: &str = "061211600012";

fn request(kind: &str, phone: &str) -> Value {
    json!({
        "kind": kind,
        "channel": "api",
        "subject": {"phone": phone, "email": EMAIL, "iin": IIN},
        "text": "Прошу рассмотреть мой запрос"
    })
}

/// The raw identifiers, in the forms they could travel in.
const RAW: &[&str] = &["7773141592", "314 15 92", "dpo.check", IIN];

#[tokio::test(flavor = "multi_thread")]
async fn every_kind_is_accepted_and_carries_subject_keys() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    let kinds = [
        "withdraw_consent",
        "opt_out_notifications",
        "update_data",
        "access",
        "erasure",
    ];
    let mut ids = Vec::new();
    for kind in kinds {
        let reply = api.post_subject_request(&request(kind, PHONE_TYPED)).await;
        reply.expect_status(202);
        let body = reply.json();
        assert_eq!(body["status"], "accepted", "{body}");
        let id = body["id"].as_str().expect("id").to_string();
        assert!(is_ulid(&id), "{id:?}");
        ids.push((kind, id));
    }

    let entries =
        wait_for_entries_of(&redis.url(), "subject.v1", "subject_request", kinds.len()).await;
    for (kind, id) in ids {
        let e = entries
            .iter()
            .find(|e| e.id == id)
            .unwrap_or_else(|| panic!("{kind} request {id} is not on subject.v1"));
        assert_eq!(e.kind, "subject_request");
        let d = &e.data;
        assert_eq!(d["kind"], kind, "{d}");
        assert_eq!(d["channel"], "api");
        assert!(d["received_at"].is_string(), "{d}");
        let keys = d["subject_keys"]
            .as_object()
            .unwrap_or_else(|| panic!("subject_keys: {d}"));
        for ident in ["phone", "email", "iin"] {
            assert!(
                keys.get(ident)
                    .and_then(Value::as_str)
                    .is_some_and(is_hex64),
                "{kind}: subject_keys.{ident} is 64 lower-case hex: {d}"
            );
        }
        assert_eq!(
            keys["phone"],
            subject_key("phone", PHONE_E164),
            "{kind}: key of the phone"
        );
        assert_eq!(
            keys["iin"],
            subject_key("iin", IIN),
            "{kind}: key of the IIN"
        );
        assert_eq!(
            keys["email"],
            subject_key("email", EMAIL),
            "{kind}: key of the email"
        );

        match kind {
            "access" | "update_data" => {
                let contact = d.get("contact").filter(|c| !c.is_null());
                let contact =
                    contact.unwrap_or_else(|| panic!("{kind} needs `contact` to answer: {d}"));
                let text = contact.to_string();
                assert!(
                    text.contains(PHONE_E164) || text.contains(EMAIL),
                    "{kind}: contact holds the normalized phone or email: {contact}"
                );
                assert!(
                    !e.raw.contains(IIN),
                    "{kind}: the IIN never travels raw: {}",
                    e.raw
                );
            }
            _ => {
                assert!(
                    d.get("contact").is_none_or(Value::is_null),
                    "{kind} has no contact: {d}"
                );
                assert_none_in(&e.raw, RAW, &format!("the {kind} request on subject.v1"));
                assert_none_in(
                    &e.raw,
                    &[PHONE_E164],
                    &format!("the {kind} request on subject.v1"),
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn withdrawing_consent_is_recorded_on_the_consent_ledger() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    // The citizen first gave consent with an appeal, then withdraws it.
    let mut appeal = tagged_appeal("consent-then-withdraw");
    appeal["applicant"]["phones"] = json!([PHONE_TYPED]);
    api.post_appeal(CRM_TOKEN, &appeal, None)
        .await
        .expect_status(202);
    let reply = api
        .post_subject_request(&request("withdraw_consent", "+7 (777) 314-15-92"))
        .await;
    reply.expect_status(202);

    let consents = wait_for_stream_len(&redis.url(), "consent.v1", 2).await;
    let given = consents
        .iter()
        .find(|e| e.kind == "consent_given")
        .expect("consent_given");
    let withdrawn: Vec<&Entry> = consents
        .iter()
        .filter(|e| e.kind == "consent_withdrawn")
        .collect();
    assert_eq!(withdrawn.len(), 1, "one consent_withdrawn: {consents:?}");
    let w = &withdrawn[0].data;
    assert_eq!(
        w["subject_keys"]["phone"], given.data["subject_keys"]["phone"],
        "the withdrawal matches the consent by the subject key of the phone"
    );
    assert_eq!(w["subject_keys"]["phone"], subject_key("phone", PHONE_E164));
    assert_eq!(w["policy_version"], POLICY_VERSION, "{w}");
    assert_none_in(&withdrawn[0].raw, RAW, "the consent_withdrawn event");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_phone_typed_two_ways_is_the_same_subject() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    for phone in ["8 777 314 15 92", "+7 (777) 314-15-92"] {
        api.post_subject_request(&json!({
            "kind": "opt_out_notifications",
            "channel": "api",
            "subject": {"phone": phone}
        }))
        .await
        .expect_status(202);
    }
    let entries = wait_for_stream_len(&redis.url(), "subject.v1", 2).await;
    let a = &entries[0].data["subject_keys"]["phone"];
    let b = &entries[1].data["subject_keys"]["phone"];
    assert!(a.as_str().is_some_and(is_hex64), "{}", entries[0].raw);
    assert_eq!(a, b, "one person, one key");
    assert_eq!(a, &json!(subject_key("phone", PHONE_E164)));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_kind_or_no_identifier_is_refused() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    let reply = api
        .post_subject_request(&request("delete_everything", PHONE_TYPED))
        .await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert!(
        reply.text.contains("\"kind\""),
        "the problem names `kind`: {}",
        reply.text
    );
    let reply = api
        .post_subject_request(&json!({"kind": "erasure", "channel": "api", "subject": {}}))
        .await;
    assert_eq!(
        reply.status, 422,
        "a request must say whose data it is: {}",
        reply.text
    );
    let reply = api
        .post_subject_request(
            &json!({"kind": "erasure", "channel": "api", "subject": {"iin": "821214240092"}}),
        )
        .await;
    reply.expect_problem(422, Some("subject.iin"), "invalid_iin");
    assert!(!reply.text.contains("821214240092"));
}
