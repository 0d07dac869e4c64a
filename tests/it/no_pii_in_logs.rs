//! An operator reads the logs (even at trace level) and the metrics: no personal data in
//! them, whatever happened — accepted and refused appeals, subject requests, malformed
//! bodies, Redis going away and coming back, replies that cannot be delivered. Every
//! label of every metric (the outbox's age, request durations, replies and dead letters
//! by route, build info, …) holds a code, never a value someone typed.

use crate::support::case_system::add_reply;
use crate::support::prometheus::Exposition;
use crate::support::*;
use serde_json::{Value, json};

/// Values seeded into requests, each of which must never be logged.
const SEEDS: &[&str] = &[
    // The applicant.
    "Тлеубердиева",
    "Айгерим",
    "Нурлановна",
    "aigerim.tleu",
    "+7 (705) 918-27-36",
    "7059182736", // the phone in E.164 and any other form
    "850501300011",
    // Outside the allowlist.
    "Пастафарианство",
    "Самал-2",
    "5169 4931 2756 0042",
    "5169493127560042",
    // A subject request.
    "7773141592",
    "314 15 92",
    "dpo.check",
    "061211600012",
    "tg-884213377",
    // A malformed body and an invalid value.
    "7475550199",
    "555-01-99",
    "821214240092",
];

fn seeded_appeal() -> Value {
    json!({
        "channel": "api",
        "category": "roads",
        "subject": "Не работает освещение",
        "text": "Во дворе дома не горят фонари уже неделю, вечером темно.",
        "applicant": {
            "last_name": "Тлеубердиева",
            "first_name": "Айгерим",
            "patronymic": "Нурлановна",
            "email": "aigerim.tleu@Example.KZ",
            "phones": ["+7 (705) 918-27-36"],
            "iin": "850501300011",
            "religion": "Пастафарианство",
            "home_address": "мкр. Самал-2, д. 58, кв. 17",
            "bank_card": "5169 4931 2756 0042"
        },
        "consent": {"method": "api", "purposes": ["appeal", "notifications"]},
        "reply_to": {"channel": "sms", "address": "+7 (705) 918-27-36"}
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_and_metrics_hold_no_personal_data() {
    let mut redis = RedisServer::new();
    let gw = Gateway::start_with(
        GatewayOptions::new(&redis.url())
            .env("GATEWAY_LOG", "trace")
            .env("GATEWAY_LOG_FORMAT", "json"),
    )
    .await;
    let api = gw.api();
    let mut accepted = Vec::new();

    let r = api
        .post_appeal(CRM_TOKEN, &seeded_appeal(), Some("pii-1"))
        .await;
    r.expect_status(202);
    accepted.push(r.json()["id"].as_str().unwrap().to_string());
    // The replay path too.
    api.post_appeal(CRM_TOKEN, &seeded_appeal(), Some("pii-1"))
        .await
        .expect_status(202);

    for kind in ["access", "withdraw_consent", "erasure"] {
        let r = api
            .post_subject_request(&json!({
                "kind": kind,
                "channel": "api",
                "subject": {
                    "phone": "+7 777 314 15 92",
                    "email": "dpo.check@example.org",
                    "iin": "061211600012",
                    "messenger_id": "tg-884213377"
                },
                "text": "Прошу предоставить сведения"
            }))
            .await;
        r.expect_status(202);
    }

    // Malformed JSON carrying a phone.
    let r = api
        .try_post(
            "/api/v1/appeals",
            Some(CRM_TOKEN),
            Some(JSON),
            br#"{"applicant": {"phones": ["+7 (747) 555-01-99"], "last_name": "#.to_vec(),
            &[],
        )
        .await
        .unwrap();
    r.expect_status(400);
    // An invalid IIN and a refused appeal.
    let mut bad = seeded_appeal();
    bad["applicant"]["iin"] = json!("821214240092");
    api.post_appeal(CRM_TOKEN, &bad, None)
        .await
        .expect_status(422);
    let mut no_consent = seeded_appeal();
    no_consent.as_object_mut().unwrap().remove("consent");
    api.post_appeal(CRM_TOKEN, &no_consent, None)
        .await
        .expect_status(422);
    api.wait_drained().await;

    // Redis goes away while appeals come in, and comes back.
    tokio::task::block_in_place(|| redis.stop());
    let r = api.post_appeal(CRM_TOKEN, &seeded_appeal(), None).await;
    r.expect_status(202);
    accepted.push(r.json()["id"].as_str().unwrap().to_string());
    wait_until("/readyz to notice that Redis is down", WAIT, || async {
        let (status, body) = api.readyz().await;
        if status == 503 {
            Ok(())
        } else {
            Err(format!("{status} {body}"))
        }
    })
    .await;
    tokio::task::block_in_place(|| redis.start());
    api.wait_drained().await;

    // Replies of the case system carrying the applicant's data: one to an SMS route that
    // is not configured, one malformed. Both are dead-lettered, and counted.
    add_reply(
        &redis,
        &json!({
            "schema_version": 1,
            "id": accepted[0],
            "tracking_number": "OA-7K3M-9QX2",
            "reply_to": {"channel": "sms", "address": "+7 (705) 918-27-36"},
            "status": "resolved",
            "language": "ru",
            "text": {"ru": "Тлеубердиева Айгерим Нурлановна, фонари починили."}
        })
        .to_string(),
    )
    .await;
    add_reply(
        &redis,
        r#"{"reply_to": {"address": "aigerim.tleu@example.kz"}, "text": "Нурлановна"#,
    )
    .await;
    wait_until("two dead-lettered replies in /metrics", WAIT, || async {
        let m = Exposition::parse(&api.metrics().await);
        let parked = m.label_values.iter().filter(|(_, line)| {
            line.starts_with("gateway_replies_dead_lettered_total{") && !line.ends_with(" 0")
        });
        match parked.count() {
            0 | 1 => Err("not yet".to_owned()),
            _ => Ok(()),
        }
    })
    .await;

    let metrics = api.metrics().await;
    for family in [
        "gateway_outbox_oldest_age_seconds",
        "gateway_build_info",
        "gateway_http_request_duration_seconds_bucket",
        "gateway_replies_total",
        "gateway_replies_dead_lettered_total",
        "gateway_notifier_lag",
        "gateway_email_messages_total",
        "gateway_webhook_duplicates_total",
    ] {
        assert!(
            Exposition::parse(&metrics).has(family),
            "{family} is not in /metrics, so this test does not cover it:\n{metrics}"
        );
    }
    for (value, line) in &Exposition::parse(&metrics).label_values {
        assert!(
            is_code(value) || line.contains(&format!("le=\"{value}\"")),
            "a label value that is not a code: {value:?} in {line}"
        );
    }
    let logs = gw.logs();
    let stdout = gw.stdout();
    assert_none_in(&metrics, SEEDS, "/metrics");
    assert_none_in(&logs, SEEDS, "the log (stderr)");
    assert_none_in(&stdout, SEEDS, "stdout");

    // The log is not silent, and it is JSON as asked.
    let lines: Vec<&str> = logs.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(
        lines.len() >= 3,
        "GATEWAY_LOG=trace logged almost nothing:\n{logs}"
    );
    for line in &lines {
        assert!(
            serde_json::from_str::<Value>(line).is_ok_and(|v| v.is_object()),
            "GATEWAY_LOG_FORMAT=json, but this line is not a JSON object: {line}"
        );
    }
    let names_an_appeal = lines
        .iter()
        .any(|l| accepted.iter().any(|id| l.contains(id.as_str())));
    let tells_of_redis = lines.iter().any(|l| l.to_lowercase().contains("redis"));
    assert!(
        names_an_appeal && tells_of_redis,
        "expected log events naming an accepted appeal id ({names_an_appeal}) and telling of Redis going away ({tells_of_redis}):\n{logs}"
    );
}

/// What a metric label may hold: a code of ours (a channel, a route pattern, a reason, a
/// version), not free text: short, ASCII, no `@`, no run of seven digits (a phone, an
/// IIN, a card).
fn is_code(value: &str) -> bool {
    let longest_digits = value
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    value.len() <= 64
        && longest_digits < 7
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_:./{}+-".contains(c))
}
