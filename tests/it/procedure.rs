//! The procedure as Kazakh law and practice write it (issue 33), as an agent and the
//! citizen in front of them see it: the receipt of the 1308 call-center and the front
//! office names the time of registration, the category, the answer's due date, the
//! office and the agent who accepted the appeal; a call answered on the spot is counted
//! as a consultation and never becomes an appeal unless the caller wants one. The
//! working calendar itself is tested in `src/deadline.rs`.

use crate::support::agent::*;
use crate::support::form_session::Page;
use crate::support::*;
use serde_json::Value;

async fn start(redis: &RedisServer) -> Gateway {
    Gateway::start_with(GatewayOptions::new(&redis.url()).env("GATEWAY_COOKIE_SECURE", "false"))
        .await
}

/// The tracking number a receipt shows.
fn tracking_on(receipt: &Page) -> String {
    receipt
        .html
        .split("id=\"tracking\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("a receipt with a tracking number")
        .to_owned()
}

/// `25.11.2026` from `2026-11-25`.
fn local_date(iso: &str) -> String {
    let parts: Vec<&str> = iso.split('-').collect();
    assert_eq!(parts.len(), 3, "{iso}");
    format!("{}.{}.{}", parts[2], parts[1], parts[0])
}

/// The appeal's registration time in Almaty as a receipt prints it: from its ULID, the
/// moment the gateway registered it.
fn registered_at(appeal_id: &str) -> String {
    let id = ulid::Ulid::from_string(appeal_id).expect("a ULID");
    let at = time::OffsetDateTime::from(id.datetime()).to_offset(time::macros::offset!(+5));
    let format = time::macros::format_description!("[day].[month].[year] [hour]:[minute]");
    at.format(&format).expect("format")
}

/// What the call-center agent enters for a caller who agreed to the processing.
const CALLER: [(&str, &str); 7] = [
    ("consent", "on"),
    ("phone", "+7 701 123 45 67"),
    ("last_name", "Сейткали"),
    ("first_name", "Айгерим"),
    ("category", "roads"),
    ("address", "ул. Жандосова, 58"),
    (
        "text",
        "Яма на дороге у остановки, машины объезжают по встречной.",
    ),
];

#[tokio::test(flavor = "multi_thread")]
async fn the_receipt_states_when_what_until_when_where_and_who_in_kazakh_and_russian() {
    let redis = RedisServer::new();
    agents_cmd(
        &redis,
        &[
            "add",
            "aigerim",
            "--role",
            "call_center_agent",
            "--name",
            "Жанар Б.",
        ],
    );
    add_agent(&redis, "bolat", "call_center_agent", false);
    let gw = start(&redis).await;
    // A display name can be changed; the receipt prints the name of the day.
    agents_cmd(&redis, &["update", "aigerim", "--name", "Сейткали  А."]);
    assert!(
        agents_cmd(&redis, &["list"]).contains("aigerim\tcall_center_agent\tactive\tСейткали А.\n")
    );

    let console = Console::log_in(&gw, "aigerim").await;
    let form = console.get("/agent/?lang=kk").await;
    assert_eq!(form.status, 200);
    let sent = console.post(&form, "/agent/?lang=kk", &CALLER).await;
    assert_eq!(sent.status, 303, "{}", sent.html);
    let receipt_url = sent.location.expect("the way to the receipt");
    let kk = console.get(&receipt_url).await;
    assert_eq!(kk.status, 200);
    let tracking = tracking_on(&kk);
    let appeal = appeal_with_tracking(&redis, &tracking).await;
    let registered = registered_at(appeal["id"].as_str().unwrap_or_default());
    let answer_by = local_date(appeal["answer_by"].as_str().expect("answer_by"));

    let ru = console
        .get(&receipt_url.replace("lang=kk", "lang=ru"))
        .await;
    for (page, lang) in [(&kk, "kk"), (&ru, "ru")] {
        let html = &page.html;
        let expected: &[&str] = if lang == "kk" {
            &[
                "Тіркелген күні мен уақыты",
                "Алматы уақытымен",
                "Жолдар мен жаяу жүргіншілер жолдары",
                "Жауап берудің соңғы күні",
                "1308 байланыс орталығының операторы, Сейткали А.",
                "Open Almaty 1308 байланыс орталығы",
            ]
        } else {
            &[
                "Дата и время регистрации",
                "(время Алматы)",
                "Дороги и тротуары",
                "Ответ — не позднее",
                "оператор колл-центра 1308, Сейткали А.",
                "Колл-центр 1308 Open Almaty",
            ]
        };
        for text in expected {
            assert!(html.contains(text), "{lang}: {text:?} in {html}");
        }
        assert!(
            html.contains(&registered),
            "{lang}: registered at {registered}: {html}"
        );
        assert!(
            html.contains(&answer_by),
            "{lang}: answer by {answer_by}: {html}"
        );
        assert!(html.contains(&tracking));
        // Nothing of the citizen, and not the agent's login.
        assert_none_in(
            html,
            &["aigerim", "Айгерим", "7011234567", "Жанар"],
            "the receipt",
        );
    }

    // The receipt is the accepting agent's: another agent, or a changed category, finds
    // nothing to print.
    let other = Console::log_in(&gw, "bolat").await;
    assert_eq!(other.get(&receipt_url).await.status, 404);
    let forged = receipt_url.replace("category=roads", "category=lighting");
    assert_eq!(console.get(&forged).await.status, 404);
}

/// The day (UTC) an analytics hash counts `at` in, as the gateway names it.
fn day_hash(kind: &str, at: time::OffsetDateTime) -> String {
    let day = at.to_offset(time::UtcOffset::UTC).date();
    match kind {
        "appeal" => format!("{PREFIX}gateway:analytics:day:{day}"),
        _ => format!("{PREFIX}gateway:analytics:consultation:day:{day}"),
    }
}

/// `field` of the Redis hash `key`, 0 when absent.
async fn count_in(redis: &RedisServer, key: &str, field: &str) -> i64 {
    let mut conn = redis_conn(&redis.url()).await.expect("redis");
    redis::cmd("HGET")
        .arg(key)
        .arg(field)
        .query_async::<Option<i64>>(&mut conn)
        .await
        .expect("HGET")
        .unwrap_or(0)
}

/// The id of the consultation a console page carries (its hidden `consultation` token:
/// id, category, topic, language, signature).
fn consultation_id(page: &Page) -> String {
    hidden(&page.html, "consultation")
        .and_then(|t| t.split('.').next().map(str::to_owned))
        .expect("the page carries the consultation just recorded")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_answered_on_the_spot_is_counted_as_a_consultation_and_is_no_appeal() {
    let redis = RedisServer::new();
    add_agent(&redis, "aigerim", "call_center_agent", false);
    let gw = start(&redis).await;
    let console = Console::log_in(&gw, "aigerim").await;

    // Five calls answered on the spot. The agent had begun to type the caller's details:
    // none of them is kept.
    let mut recorded = 0;
    for category in ["roads", "roads", "roads", "lighting", "lighting"] {
        let form = console.get("/agent/?lang=kk").await;
        let mut fields = CALLER.to_vec();
        fields.retain(|(name, _)| *name != "consent" && *name != "category");
        fields.extend([("category", category), ("topic", "procedure")]);
        let page = console
            .post(&form, "/agent/consultation?lang=kk", &fields)
            .await;
        assert_eq!(page.status, 200, "{}", page.html);
        assert!(page.html.contains("id=\"consulted\""), "{}", page.html);
        assert!(
            page.html.contains("Кеңес жазылды")
                && page.html.contains("Қайда және қалай жүгіну керек"),
            "the notice names the topic: {}",
            page.html
        );
        recorded += 1;
        if recorded == 1 {
            // A double click: the same form again counts nothing more.
            let again = console
                .post(&form, "/agent/consultation?lang=kk", &fields)
                .await;
            assert_eq!(again.status, 200);
            assert_eq!(consultation_id(&again), consultation_id(&page));
        }
    }
    // No topic: said next to the field, in the console's language, nothing counted.
    let form = console.get("/agent/?lang=ru").await;
    let refused = console
        .post(
            &form,
            "/agent/consultation?lang=ru",
            &[("category", "roads")],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.html.contains("Выберите тему консультации."),
        "{}",
        refused.html
    );

    gw.api().wait_drained().await;
    assert_eq!(
        try_stream_len(&redis.url(), "appeals.v1").await,
        Ok(0),
        "a consultation is never an appeal"
    );
    let now = time::OffsetDateTime::now_utc();
    assert!(publish_at(&redis, now + time::Duration::hours(26)) >= 2);
    let all = aggregates(&redis, 5).await;
    assert!(
        all.iter().all(|a| a["kind"] == "consultation"),
        "no appeal was counted: {all:?}"
    );
    let days: Vec<&Value> = all.iter().filter(|a| a["period"] == "day").collect();
    if days.len() == 1 {
        // (Two days only if the test ran across midnight UTC.)
        let day = days[0];
        assert_eq!(day["total"], 5, "{day}");
        let cells = day["cells"].as_array().cloned().unwrap_or_default();
        for cell in [
            serde_json::json!({"dimension": "channel", "value": "call_center", "count": 5}),
            serde_json::json!({"dimension": "language", "value": "kk", "count": 5}),
            serde_json::json!({"dimension": "topic", "value": "procedure", "count": 5}),
            // roads 3 and lighting 2 are each below k: one merged cell.
            serde_json::json!({"dimension": "category", "count": 5, "merged": 2}),
        ] {
            assert!(cells.contains(&cell), "{cell} in {day}");
        }
    }
    // Nothing of the caller anywhere: not in Redis, not in the outbox, not in the log.
    let dump = redis_dump(&redis.url()).await;
    let secrets = ["Сейткали", "Айгерим", "7011234567", "Яма на дороге"];
    assert_none_in(&dump, &secrets, "Redis");
    assert_none_in(&gw.logs(), &secrets, "the log");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_consultation_turned_into_an_appeal_with_verbal_consent_counts_as_the_appeal() {
    let redis = RedisServer::new();
    add_agent(&redis, "aigerim", "call_center_agent", false);
    let gw = start(&redis).await;
    let console = Console::log_in(&gw, "aigerim").await;

    // The agent answers, records a consultation; then the caller wants an appeal after
    // all. The form is still filled in: the agent reads the consent script, ticks the
    // caller's verbal consent and registers.
    let form = console.get("/agent/?lang=ru").await;
    let mut fields = CALLER.to_vec();
    fields.retain(|(name, _)| *name != "consent");
    fields.push(("topic", "other_service"));
    let consulted = console
        .post(&form, "/agent/consultation?lang=ru", &fields)
        .await;
    assert_eq!(consulted.status, 200, "{}", consulted.html);
    assert!(
        consulted.html.contains("Консультация записана"),
        "{}",
        consulted.html
    );
    assert!(
        consulted.html.contains("value=\"+7 701 123 45 67\""),
        "the caller's details stay in the form for the appeal"
    );
    let consultation = consultation_id(&consulted);
    // Without consent there is no appeal, as always.
    let without = console.post(&consulted, "/agent/?lang=ru", &fields).await;
    assert_eq!(without.status, 422);
    let sent = console.post(&consulted, "/agent/?lang=ru", &CALLER).await;
    assert_eq!(sent.status, 303, "{}", sent.html);
    let receipt = console
        .get(&sent.location.expect("the way to the receipt"))
        .await;
    let tracking = tracking_on(&receipt);
    let appeal = appeal_with_tracking(&redis, &tracking).await;
    assert_eq!(appeal["channel"], "call_center");
    assert_eq!(appeal["category"], "roads");
    assert_eq!(appeal["consent"]["method"], "verbal");
    assert_eq!(appeal["consent"]["captured_by"], "aigerim");
    assert_eq!(appeal["applicant"]["phones"][0], "+77011234567");

    // The call counts once, as the appeal it became.
    gw.api().wait_drained().await;
    let consulted_at = time::OffsetDateTime::from(
        ulid::Ulid::from_string(&consultation)
            .expect("a ULID")
            .datetime(),
    );
    let received_at = time::OffsetDateTime::parse(
        appeal["received_at"].as_str().unwrap_or_default(),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("received_at");
    let consultations = day_hash("consultation", consulted_at);
    assert_eq!(count_in(&redis, &consultations, "all").await, 0);
    assert_eq!(
        count_in(&redis, &consultations, "topic:other_service").await,
        0
    );
    assert_eq!(
        count_in(&redis, &day_hash("appeal", received_at), "all").await,
        1
    );
    assert_eq!(
        read_stream(&redis.url(), "appeals.v1").await.len(),
        1,
        "one appeal"
    );
}
