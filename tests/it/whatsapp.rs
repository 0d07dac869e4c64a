//! WhatsApp: a citizen writes to the city's WhatsApp line; the Graph API is a stand-in
//! on loopback (`crate::support::fake_whatsapp`), set by `GATEWAY_WHATSAPP_API_URL`.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::fake_whatsapp::{self as wa, FakeGraph, deliver, post};
use crate::support::*;

fn options(redis: &RedisServer, graph: &FakeGraph) -> GatewayOptions {
    graph.configure(GatewayOptions::new(&redis.url()))
}

fn conversation(from: &str, lang: &str, text: &str, name: &str) -> Vec<Value> {
    let m = |v: Value| wa::message(from, "Айгүл", v);
    vec![
        m(wa::text(from, "wamid.A1", "Сәлем")),
        m(wa::button_reply(
            from,
            "wamid.A2",
            &format!("lang:{lang}"),
            "…",
        )),
        m(wa::button_reply(from, "wamid.A3", "consent:yes", "…")),
        // 15 categories are more than 3 reply buttons: an interactive list of numbered
        // rows; typing the number works as well.
        m(wa::text(from, "wamid.A4", "3")),
        m(wa::text(from, "wamid.A5", text)),
        m(wa::location(
            from,
            "wamid.A6",
            43.2567,
            76.9286,
            "Абай даңғылы, 52",
        )),
        m(wa::image(from, "wamid.A7", "1038574229876012", None)),
        m(wa::button_reply(from, "wamid.A8", "photos:done", "…")),
        m(wa::text(from, "wamid.A9", name)),
        m(wa::button_reply(from, "wamid.A10", "summary:send", "…")),
    ]
}

#[tokio::test]
async fn a_whole_conversation_in_russian_with_replays_and_statuses_makes_one_appeal() {
    let redis = RedisServer::new();
    let graph = FakeGraph::start();
    let jpeg = b"\xFF\xD8\xFF\xE0 a photo of an overflowing bin \xFF\xD9".to_vec();
    graph.add_media("1038574229876012", jpeg.clone());
    let gw = Gateway::start_with(options(&redis, &graph)).await;
    let from = "77011234567";
    let text = "Контейнеры переполнены 🗑️, двор на Сәтбаев \u{200F}";
    for body in conversation(from, "ru", text, "Иванов Иван") {
        deliver(&gw, &body).await;
        // Meta retries: the same message again, and a status of what the bot sent.
        deliver(&gw, &body).await;
        deliver(&gw, &wa::status(from, "wamid.FAKE1", "delivered")).await;
    }
    let sent = graph.wait_text(from, "Номер для отслеживания").await;
    assert!(sent.contains("OA-"), "{sent}");
    gw.api().wait_drained().await;
    let appeals = read_stream(&redis.url(), "appeals.v1").await;
    assert_eq!(appeals.len(), 1, "one appeal despite replays");
    let appeal = &appeals[0].data;
    assert_eq!(appeal["channel"], "whatsapp");
    assert_eq!(appeal["language"], "ru");
    assert_eq!(appeal["category"], "roads");
    assert_eq!(appeal["text"], "Контейнеры переполнены 🗑️, двор на Сәтбаев");
    assert_eq!(appeal["consent"]["method"], "bot_button");
    assert_eq!(appeal["consent"]["policy_version"], POLICY_VERSION);
    assert_eq!(appeal["applicant"]["phones"][0], "+77011234567");
    assert_eq!(appeal["reply_to"]["channel"], "whatsapp");
    assert_eq!(appeal["location"]["address"], "Абай даңғылы, 52");
    assert_eq!(
        appeal["attachments"][0]["sha256"],
        hex::encode(Sha256::digest(&jpeg))
    );
    for field in appeal["applicant"].as_object().unwrap().keys() {
        assert!(
            ["last_name", "first_name", "phones"].contains(&field.as_str()),
            "{field}"
        );
    }
    let texts = graph.texts_to(from);
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("Номер для отслеживания"))
            .count(),
        1,
        "{texts:?}"
    );
    // Reply buttons for consent; an interactive list for the catalogue (typing the
    // number "3" took the third).
    assert!(
        texts.iter().any(|t| t.contains("[Согласен|consent:yes]")),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("[3. Дороги и тротуары|cat:roads]")),
        "{texts:?}"
    );
    let location_requests = graph
        .sent()
        .iter()
        .filter(|m| m["interactive"]["type"] == "location_request_message")
        .count();
    assert_eq!(location_requests, 1);
}

#[tokio::test]
async fn a_kazakh_conversation_ends_with_a_tracking_number() {
    let redis = RedisServer::new();
    let graph = FakeGraph::start();
    graph.add_media("1038574229876012", b"\xFF\xD8 kk photo \xFF\xD9".to_vec());
    let gw = Gateway::start_with(options(&redis, &graph)).await;
    let from = "77759876543";
    for body in conversation(
        from,
        "kk",
        "Жол бұзылған, шұңқыр үлкен 😟",
        "Сейітова Айгүл",
    ) {
        deliver(&gw, &body).await;
    }
    graph.wait_text(from, "Бақылау нөмірі").await;
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    assert_eq!(appeals[0].data["language"], "kk");
    assert_eq!(appeals[0].data["text"], "Жол бұзылған, шұңқыр үлкен 😟");
    assert_eq!(appeals[0].data["applicant"]["last_name"], "Сейітова");
    assert_eq!(appeals[0].data["consent"]["method"], "bot_button");
}

#[tokio::test]
async fn unsigned_or_wrongly_signed_posts_are_refused_and_process_nothing() {
    let redis = RedisServer::new();
    let graph = FakeGraph::start();
    let gw = Gateway::start_with(options(&redis, &graph)).await;
    let forged = wa::message(
        "77010000001",
        "x",
        wa::text("77010000001", "wamid.F1", "forged-payload-marker"),
    );
    assert_eq!(post(&gw, &forged, None).await, 401);
    assert_eq!(post(&gw, &forged, Some("not-the-app-secret")).await, 401);
    // The same message, correctly signed afterwards, is taken: the refusals claimed nothing.
    deliver(&gw, &forged).await;
    graph.wait_text("77010000001", "Выберите язык").await;
    assert_eq!(graph.texts_to("77010000001").len(), 1);
    assert!(gw.logs().contains("whatsapp webhook refused"));
    assert!(!gw.logs().contains("forged-payload-marker"));
}

#[tokio::test]
async fn the_verification_handshake() {
    let redis = RedisServer::new();
    let graph = FakeGraph::start();
    let gw = Gateway::start_with(options(&redis, &graph)).await;
    let api = gw.api();
    let ok = api
        .get(&format!(
            "/whatsapp/webhook?hub.mode=subscribe&hub.verify_token={}&hub.challenge=1158201444",
            wa::VERIFY_TOKEN
        ))
        .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.text, "1158201444");
    let wrong = api
        .get("/whatsapp/webhook?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1158201444")
        .await;
    assert_eq!(wrong.status, 403);
}

#[tokio::test]
async fn statuses_are_not_taken_for_messages() {
    let redis = RedisServer::new();
    let graph = FakeGraph::start();
    let gw = Gateway::start_with(options(&redis, &graph)).await;
    for status in ["sent", "delivered", "read", "failed"] {
        deliver(&gw, &wa::status("77012223344", "wamid.OUT1", status)).await;
    }
    deliver(
        &gw,
        &wa::message(
            "77012223344",
            "x",
            wa::text("77012223344", "wamid.S1", "/start"),
        ),
    )
    .await;
    graph.wait_text("77012223344", "Выберите язык").await;
    assert_eq!(
        graph.sent().len(),
        1,
        "only the message was answered: {:?}",
        graph.sent()
    );
}

#[tokio::test]
async fn stop_and_revoke_produce_their_subject_requests() {
    let redis = RedisServer::new();
    let graph = FakeGraph::start();
    let gw = Gateway::start_with(options(&redis, &graph)).await;
    let from = "77017654321";
    let m = |id: &str, t: &str| wa::message(from, "x", wa::text(from, id, t));
    deliver(&gw, &m("wamid.R1", "/stop")).await;
    deliver(&gw, &m("wamid.R2", "/revoke")).await;
    graph.wait_text(from, "Согласие отозвано").await;
    let requests = wait_for_entries_of(&redis.url(), "subject.v1", "subject_request", 2).await;
    let kinds: Vec<&str> = requests
        .iter()
        .map(|r| r.data["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["opt_out_notifications", "withdraw_consent"]);
    assert_eq!(
        requests[1].data["subject_keys"]["phone"],
        subject_key("phone", "+77017654321").as_str()
    );
    let consent = wait_for_stream_len(&redis.url(), "consent.v1", 1).await;
    assert_eq!(consent[0].kind, "consent_withdrawn");
}

#[test]
fn a_half_configured_line_refuses_to_start() {
    let opts = GatewayOptions::new("redis://127.0.0.1:1")
        .env("GATEWAY_WHATSAPP_ACCESS_TOKEN", wa::ACCESS_TOKEN)
        .env("GATEWAY_WHATSAPP_PHONE_NUMBER_ID", wa::PHONE_NUMBER_ID)
        .env("GATEWAY_DATA_DIR", "data");
    let (status, _, stderr) = run_to_exit(&opts, WAIT);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("GATEWAY_WHATSAPP_APP_SECRET"), "{stderr}");
    assert!(stderr.contains("GATEWAY_WHATSAPP_VERIFY_TOKEN"), "{stderr}");
}

/// The line's counter of ignored messages of `kind`, as `/metrics` shows it.
async fn ignored(gw: &Gateway, kind: &str) -> u64 {
    let metrics = gw.api().metrics().await;
    let series = format!("gateway_bot_ignored_total{{channel=\"whatsapp\",kind=\"{kind}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&series))
        .map_or(0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn reactions_system_notices_edits_and_statuses_are_never_answered() {
    let redis = RedisServer::new();
    let graph = FakeGraph::start();
    let gw = Gateway::start_with(options(&redis, &graph)).await;
    let from = "77015556677";
    let new_number = "77019998877";
    let m = |v: Value| wa::message(from, "Айгүл", v);
    for body in conversation(from, "en", "Water leaks in the entrance", "-")
        .iter()
        .take(5)
    {
        deliver(&gw, body).await;
    }
    graph.wait_text(from, "Where is it?").await;
    let before = graph.sent().len();
    deliver(&gw, &m(wa::reaction(from, "wamid.R1", "wamid.FAKE3"))).await;
    deliver(&gw, &m(wa::number_changed(from, "wamid.S1", new_number))).await;
    deliver(
        &gw,
        &m(wa::edit(from, "wamid.E1", "wamid.A5", "secret-edit-marker")),
    )
    .await;
    deliver(&gw, &wa::status(from, "wamid.FAKE3", "read")).await;
    // A sender Meta gives no number for: logged by kind and id, counted, not answered.
    let mut anonymous = wa::text(from, "wamid.N1", "no-sender-marker");
    anonymous.as_object_mut().unwrap().remove("from");
    deliver(&gw, &m(anonymous)).await;
    wait_until("each kind counted", WAIT, || async {
        let counts = (
            ignored(&gw, "reaction").await,
            ignored(&gw, "system").await,
            ignored(&gw, "edit").await,
            ignored(&gw, "status").await,
            ignored(&gw, "no_sender").await,
        );
        if counts == (1, 1, 1, 1, 1) {
            Ok(())
        } else {
            Err(format!("{counts:?}"))
        }
    })
    .await;
    // The conversation goes on untouched: the next message is the place.
    deliver(&gw, &m(wa::text(from, "wamid.A6", "Абай даңғылы, 52"))).await;
    graph.wait_text(from, "You may attach photos").await;
    let sent = graph.sent();
    assert_eq!(sent.len(), before + 1, "{:?}", &sent[before..]);
    assert!(graph.texts_to(new_number).is_empty());
    let logs = gw.logs();
    assert!(logs.contains("wamid.N1"), "{logs}");
    assert!(!logs.contains("no-sender-marker") && !logs.contains("secret-edit-marker"));
}

#[tokio::test]
async fn a_voice_note_is_answered_with_why_and_the_question_again() {
    let redis = RedisServer::new();
    let graph = FakeGraph::start();
    let gw = Gateway::start_with(options(&redis, &graph)).await;
    let from = "77017778899";
    let mut bodies: Vec<Value> = conversation(from, "ru", "", "-")
        .into_iter()
        .take(4)
        .collect();
    bodies.push(wa::message(from, "Айгүл", wa::voice(from, "wamid.V1")));
    for body in &bodies {
        deliver(&gw, body).await;
    }
    graph
        .wait_text(from, "Голосовые сообщения и видео не принимаются")
        .await;
    wait_until("the question again", WAIT, || async {
        let texts = graph.texts_to(from);
        match texts.last() {
            Some(t) if t.contains("Опишите проблему") && texts.len() >= 2 => {
                Ok(texts[texts.len() - 2].clone())
            }
            _ => Err(format!("{texts:?}")),
        }
    })
    .await;
    assert_eq!(
        graph.media_fetches(),
        (0, 0),
        "a voice note is never fetched"
    );
}

#[tokio::test]
async fn a_redelivered_photo_is_fetched_once_after_the_webhook_answered() {
    let redis = RedisServer::new();
    let graph = FakeGraph::start();
    let jpeg = b"\xFF\xD8\xFF\xE0 a photo of a broken bench \xFF\xD9".to_vec();
    graph.add_media("1038574229876012", jpeg.clone());
    let gw = Gateway::start_with(options(&redis, &graph)).await;
    let from = "77013334455";
    let all = conversation(from, "en", "A bench is broken", "Smith John");
    for body in &all[..6] {
        deliver(&gw, body).await;
    }
    graph.wait_text(from, "You may attach photos").await;
    // The media server is slow: the webhook answers all the same; Meta's redelivery is
    // not fetched again, and "Done" pressed meanwhile waits behind the photo.
    graph.hold_downloads();
    deliver(&gw, &all[6]).await;
    deliver(&gw, &all[6]).await;
    deliver(&gw, &all[7]).await;
    wait_until("the download started", WAIT, || async {
        match graph.media_fetches() {
            (_, 0) => Err("none yet".to_owned()),
            fetches => Ok(fetches),
        }
    })
    .await;
    assert!(
        graph
            .texts_to(from)
            .iter()
            .all(|t| !t.contains("How should we address you"))
    );
    graph.release_downloads();
    graph.wait_text(from, "Photo added (1)").await;
    for body in &all[8..] {
        deliver(&gw, body).await;
    }
    graph.wait_text(from, "Tracking number").await;
    assert_eq!(graph.media_fetches(), (1, 1));
    let texts = graph.texts_to(from);
    let added = texts.iter().position(|t| t.contains("Photo added (1)"));
    let name = texts
        .iter()
        .position(|t| t.contains("How should we address you"));
    assert!(added < name, "the photo before Done: {texts:?}");
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    assert_eq!(
        appeals[0].data["attachments"][0]["sha256"],
        hex::encode(Sha256::digest(&jpeg))
    );
}

#[tokio::test]
async fn the_catalogue_is_an_interactive_list_with_other_opening_the_rest() {
    let redis = RedisServer::new();
    let graph = FakeGraph::start();
    let gw = Gateway::start_with(options(&redis, &graph)).await;
    let from = "77016667788";
    let m = |v: Value| wa::message(from, "Айгүл", v);
    for body in conversation(from, "en", "-", "-").iter().take(3) {
        deliver(&gw, body).await;
    }
    graph.wait_text(from, "What is your appeal about?").await;
    let list = graph.sent().last().cloned().unwrap();
    assert_eq!(list["interactive"]["type"], "list");
    assert_eq!(list["interactive"]["action"]["button"], "Categories");
    let rows = list["interactive"]["action"]["sections"][0]["rows"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(rows.len(), 10, "nine categories and Other…");
    for row in &rows {
        assert!(
            row["title"].as_str().unwrap().chars().count() <= 24,
            "{row}"
        );
    }
    assert_eq!(rows[9]["title"], "Other…");
    assert_eq!(rows[9]["id"], "more:9");
    // "Other…" brings the rest, numbered on.
    deliver(
        &gw,
        &m(wa::list_reply(from, "wamid.L1", "more:9", "Other…")),
    )
    .await;
    let rest = wait_until("the rest of the catalogue", WAIT, || async {
        let sent = graph.sent();
        let last = sent.last().cloned().unwrap();
        let rows = last["interactive"]["action"]["sections"][0]["rows"].clone();
        match rows[0]["title"].as_str() {
            Some(t) if t.starts_with("10.") => Ok(rows.as_array().unwrap().clone()),
            _ => Err(last.to_string()),
        }
    })
    .await;
    assert_eq!(rest.len(), 6, "categories 10 to 15");
    let last_row = rest[5].clone();
    assert!(last_row["title"].as_str().unwrap().starts_with("15."));
    deliver(
        &gw,
        &m(wa::list_reply(
            from,
            "wamid.L2",
            last_row["id"].as_str().unwrap(),
            last_row["title"].as_str().unwrap(),
        )),
    )
    .await;
    graph.wait_text(from, "Describe the problem").await;
}

/// Issue 34: a signed message 40 days old (a replay after the 7-day dedupe window forgot
/// its id) was answered as new. A message older than a day by its own timestamp is
/// counted as `stale` and not answered; a fresh one from the same number is.
#[tokio::test]
async fn a_message_older_than_a_day_is_not_answered_as_new() {
    let redis = RedisServer::new();
    let graph = FakeGraph::start();
    let gw = Gateway::start_with(options(&redis, &graph)).await;
    let from = "77017778899";
    let forty_days_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        - 40 * 86_400;
    let mut old = wa::text(from, "wamid.OLD1", "Сәлем");
    old["timestamp"] = Value::from(forty_days_ago.to_string());
    deliver(&gw, &wa::message(from, "Айгүл", old)).await;
    wait_until("the old message counted", WAIT, || async {
        match ignored(&gw, "stale").await {
            1 => Ok(()),
            n => Err(format!("{n}")),
        }
    })
    .await;
    deliver(
        &gw,
        &wa::message(from, "Айгүл", wa::text(from, "wamid.NEW1", "Сәлем")),
    )
    .await;
    wait_until("the fresh message answered", WAIT, || async {
        match graph.texts_to(from).len() {
            0 => Err("no answer yet".to_owned()),
            _ => Ok(()),
        }
    })
    .await;
    // One answer, to the fresh message only (its first question).
    assert_eq!(graph.sent().len(), 1, "{:?}", graph.sent());
}
