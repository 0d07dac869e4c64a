//! An integrator posts an appeal over the API; the case system reads it from
//! `appeals.v1`, audit reads the consent from `consent.v1`, analytics reads the
//! statistics from `analytics.v1`.

use crate::support::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

#[tokio::test(flavor = "multi_thread")]
async fn an_accepted_appeal_arrives_normalized_with_its_consent_and_stats() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    let reply = api.post_appeal(CRM_TOKEN, &valid_appeal(), None).await;
    reply.expect_status(202);
    let answer = reply.json();
    assert_eq!(answer["status"], "accepted", "{answer}");
    let id = answer["id"]
        .as_str()
        .expect("`id` in the answer")
        .to_string();
    let tracking = answer["tracking_number"]
        .as_str()
        .expect("`tracking_number`")
        .to_string();
    assert!(is_ulid(&id), "id {id:?} is not a ULID");
    assert!(
        is_tracking_number(&tracking),
        "tracking number {tracking:?} is not OA-XXXX-XXXX"
    );

    // The case system's view.
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    let entry = &appeals[0];
    assert_eq!(entry.kind, "appeal");
    assert_eq!(entry.id, id, "the entry's `id` field is the appeal id");
    let a = &entry.data;
    assert_eq!(a["schema_version"], 1, "{a}");
    assert_eq!(a["id"], id.as_str());
    assert_eq!(a["tracking_number"], tracking.as_str());
    assert!(a["received_at"].is_string(), "received_at: {a}");
    // The dates the law sets, counted from the day of receipt in Almaty (the working
    // calendar itself is tested in `src/deadline.rs`).
    let received = time::OffsetDateTime::parse(
        a["received_at"].as_str().unwrap_or_default(),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("received_at is RFC 3339")
    .to_offset(time::macros::offset!(+5))
    .date();
    let calendar = appeal_gateway::deadline::Calendar::default();
    assert_eq!(
        a["answer_by"],
        calendar.answer_by(received).to_string(),
        "15 working days: {a}"
    );
    assert_eq!(
        a["forward_by"],
        calendar.forward_by(received).to_string(),
        "3 working days: {a}"
    );
    assert!(
        a["forward_by"].as_str() < a["answer_by"].as_str(),
        "forwarding comes before the answer: {a}"
    );
    assert_eq!(a["channel"], "api");
    assert_eq!(a["language"], "ru", "a Russian text is detected as ru");
    assert_eq!(a["category"], "roads");
    assert_eq!(a["subject"], "Яма на дороге");
    assert_eq!(a["location"]["address"], "пр. Абая, 10");
    assert_eq!(a["location"]["lat"], 43.238);
    assert_eq!(a["location"]["lon"], 76.945);
    let applicant = &a["applicant"];
    assert_eq!(applicant["last_name"], "Иванов");
    assert_eq!(applicant["first_name"], "Иван");
    assert_eq!(applicant["patronymic"], "Иванович");
    assert_eq!(applicant["phones"], json!(["+77011234567"]), "{applicant}");
    assert_eq!(
        applicant["email"], "Ivan.Petrov@mail.kz",
        "the email's domain is lower-cased"
    );
    assert_eq!(applicant["iin"], "900101300017");
    assert_eq!(a["reply_to"]["channel"], "email");

    let consent = &a["consent"];
    assert_eq!(consent["policy_version"], POLICY_VERSION, "{consent}");
    assert_eq!(consent["method"], "api");
    assert_eq!(consent["purposes"], json!(["appeal", "notifications"]));
    assert!(
        consent["id"].as_str().is_some_and(|s| !s.is_empty()),
        "consent.id: {consent}"
    );
    assert!(
        consent["given_at"].is_string(),
        "given_at defaults to receipt: {consent}"
    );

    // Audit's view: one consent_given for this appeal, pseudonymous.
    let consents = wait_for_stream_len(&redis.url(), "consent.v1", 1).await;
    let given: Vec<&Entry> = consents
        .iter()
        .filter(|e| e.kind == "consent_given")
        .collect();
    assert_eq!(given.len(), 1, "one consent_given: {consents:?}");
    let c = &given[0].data;
    assert_eq!(c["appeal_id"], id.as_str(), "{c}");
    assert_eq!(c["policy_version"], POLICY_VERSION);
    assert_eq!(c["channel"], "api");
    assert!(
        c["purposes"]
            .as_array()
            .is_some_and(|p| p.contains(&json!("appeal"))),
        "{c}"
    );
    assert_eq!(
        c["subject_keys"]["phone"],
        subject_key("phone", "+77011234567"),
        "subject key of the phone is HMAC-SHA256(secret, \"phone:+77011234567\"): {c}"
    );
    assert_eq!(
        c["subject_keys"]["iin"],
        subject_key("iin", "900101300017"),
        "{c}"
    );
    assert_none_in(
        &given[0].raw,
        &["7011234567", "Ivan.Petrov", "900101300017", "Иванов"],
        "the consent event (raw identifiers never travel)",
    );

    // Analytics' view: statistics without personal data.
    let stats = wait_for_stream_len(&redis.url(), "analytics.v1", 1).await;
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].kind, "appeal_stats");
    let s = &stats[0].data;
    assert_eq!(s["channel"], "api", "{s}");
    assert_eq!(s["category"], "roads");
    assert_eq!(s["language"], "ru");
    assert_eq!(s["has_location"], true);
    assert_eq!(s["consent_method"], "api");
    assert_eq!(
        s["dropped_field_count"], 4,
        "religion, home_address, bank_card, passport_scan"
    );
    assert_none_in(
        &stats[0].raw,
        &[
            "7011234567",
            "Ivan.Petrov",
            "900101300017",
            "Иванов",
            "Иван",
            "Абая",
        ],
        "the appeal_stats message",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn phones_as_people_type_them_become_e164() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    let forms = [
        "8 701 123 45 67",
        "+7 (701) 123-45-67",
        "701 123 45 67",
        "87011234567",
        "77011234567",
    ];
    let mut ids = Vec::new();
    for form in forms {
        let mut body = tagged_appeal(form);
        body["applicant"]["phones"] = json!([form]);
        let reply = api.post_appeal(CRM_TOKEN, &body, None).await;
        reply.expect_status(202);
        ids.push((form, reply.json()["id"].as_str().unwrap().to_string()));
    }

    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", forms.len()).await;
    for (form, id) in ids {
        let entry = appeals
            .iter()
            .find(|e| e.id == id)
            .unwrap_or_else(|| panic!("appeal {id} (phone {form:?}) is not on appeals.v1"));
        assert_eq!(
            entry.data["applicant"]["phones"],
            json!(["+77011234567"]),
            "phone typed as {form:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_appeal_gets_its_own_readable_tracking_number() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    let mut seen = std::collections::HashSet::new();
    for i in 0..20 {
        let reply = api
            .post_appeal(CRM_TOKEN, &tagged_appeal(&format!("tn-{i}")), None)
            .await;
        reply.expect_status(202);
        let body: Value = reply.json();
        let tn = body["tracking_number"].as_str().unwrap().to_string();
        assert!(is_tracking_number(&tn), "{tn:?}");
        assert!(seen.insert(tn.clone()), "tracking number {tn} given twice");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn defaults_fill_channel_category_and_language() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    // No channel, no category; a Kazakh text.
    let body = json!({
        "subject": "Көшедегі шұңқыр",
        "text": "Абай даңғылында үлкен шұңқыр бар, көліктер қарсы жолаққа шығып айналып өтеді.",
        "applicant": {"last_name": "Сейітов", "first_name": "Асқар", "phones": ["+7 777 000 11 22"]},
        "consent": {"method": "api", "purposes": ["appeal"]}
    });
    let reply = api.post_appeal(CRM_TOKEN, &body, None).await;
    reply.expect_status(202);
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    let a = &appeals[0].data;
    assert_eq!(a["channel"], "api", "{a}");
    assert_eq!(a["category"], "other", "{a}");
    assert_eq!(a["language"], "kk", "{a}");
    // Absent applicant keys are omitted, not null.
    let applicant = a["applicant"].as_object().unwrap();
    assert!(
        applicant.values().all(|v| !v.is_null()),
        "absent applicant keys must be omitted: {applicant:?}"
    );
    assert!(!applicant.contains_key("email"), "{applicant:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn consent_records_are_hash_chained() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    for i in 0..3 {
        api.post_appeal(CRM_TOKEN, &tagged_appeal(&format!("chain-{i}")), None)
            .await
            .expect_status(202);
    }
    // A withdrawal is a record of the same ledger.
    api.post_subject_request(&json!({
        "kind": "withdraw_consent",
        "channel": "api",
        "subject": {"phone": "+7 702 000 00 01"}
    }))
    .await
    .expect_status(202);
    let consents = wait_for_stream_len(&redis.url(), "consent.v1", 4).await;
    assert_eq!(consents[3].kind, "consent_withdrawn");
    // The chain travels beside `data` in each entry: `hash = sha256(prev_hash ‖ data)`,
    // so an auditor recomputes it from the bytes as stored.
    for c in &consents {
        let prev = c.fields.get("prev_hash").cloned().unwrap_or_default();
        let hash = c.fields.get("hash").cloned().unwrap_or_default();
        assert!(
            is_hex64(&prev) && is_hex64(&hash),
            "ledger fields on {:?}",
            c.fields
        );
        let mut hasher = Sha256::new();
        hasher.update(prev.as_bytes());
        hasher.update(c.raw.as_bytes());
        assert_eq!(hash, hex::encode(hasher.finalize()), "hash recomputes");
        assert!(c.fields.get("chain").is_some_and(|id| is_ulid(id)));
    }
    assert_eq!(
        consents[0].fields["prev_hash"],
        "0".repeat(64),
        "the chain starts at zero"
    );
    for pair in consents.windows(2) {
        assert_eq!(
            pair[1].fields["prev_hash"], pair[0].fields["hash"],
            "each record's prev_hash is the previous record's hash"
        );
    }
}

/// Issue 16, point 4: a citizen pastes a card number, an IBAN and a neighbour's IIN into
/// a complaint; the case system gets them masked and counted, the applicant's own IIN,
/// the phone, the amount and the cadastral number as written, and a flag for the words
/// about health. The raw values reach neither Redis, nor the data directory, nor a log.
#[tokio::test(flavor = "multi_thread")]
async fn card_numbers_ibans_and_other_peoples_iins_are_masked_in_the_text() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let mut appeal = valid_appeal();
    appeal["subject"] = json!("Двойное списание с карты 4400 4301 2345 6789");
    appeal["text"] = json!(
        "С карты 4400 4301 2345 6789 дважды списали 1 500 000 тенге за участок \
         20-311-012-345. Возврат прошу на счёт KZ86 125K ZT50 0410 0100. Мой ИИН \
         900101300017, сосед (ИИН 850501300011) тоже пострадал, он инвалид. \
         Телефон 8 701 123 45 67, обращение OA-7K3M-9QX2."
    );
    let reply = gw.api().post_appeal(CRM_TOKEN, &appeal, None).await;
    reply.expect_status(202);

    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    let a = &appeals[0].data;
    assert_eq!(a["subject"], "Двойное списание с карты [**** 6789]", "{a}");
    assert_eq!(
        a["text"],
        "С карты [**** 6789] дважды списали 1 500 000 тенге за участок 20-311-012-345. \
         Возврат прошу на счёт [KZ** **** 0100]. Мой ИИН 900101300017, сосед (ИИН \
         ************) тоже пострадал, он инвалид. Телефон 8 701 123 45 67, обращение \
         OA-7K3M-9QX2.",
        "{a}"
    );
    assert_eq!(
        a["redactions"],
        json!([
            {"kind": "card", "count": 2},
            {"kind": "iban", "count": 1},
            {"kind": "iin", "count": 1}
        ]),
        "counted by kind, subject and text together: {a}"
    );
    assert_eq!(a["flags"], json!(["special_category_health"]), "{a}");
    assert_eq!(a["applicant"]["iin"], "900101300017");

    let masked = [
        "4400 4301 2345 6789",
        "4400430123456789",
        "KZ86",
        "850501300011",
    ];
    assert_none_in(&redis_dump(&redis.url()).await, &masked, "Redis");
    assert_none_in_files(gw.data_dir(), &masked);
    assert_none_in(&gw.logs(), &masked, "the gateway's log");
}
