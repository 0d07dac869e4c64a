//! The way back: the case system writes a reply to `replies.v1`, the gateway delivers it
//! to the citizen (here by SMS, through a local stand-in of an HTTP SMS provider), once,
//! and tells the case system what happened on `deliveries.v1`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::case_system::send_reply;
use crate::support::fake_http::FakeServer;
use crate::support::*;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

const PHONE: &str = "+77015550123";
const REPLY_TEXT: &str = "Яма на пр. Абая, 10 заделана. Спасибо за обращение!";

/// What the SMS stand-in answers: the first `fail_first` requests get `fail_status`;
/// with `hang`, every request waits a minute first (a provider that stopped answering).
#[derive(Default)]
struct SmsState {
    received: Vec<Value>,
    fail_first: usize,
    fail_status: u16,
    seen: usize,
    hang: bool,
}

/// A stand-in of an HTTP SMS provider: `POST /send` with `{sender, to, text}`.
fn sms_provider(fail_first: usize, fail_status: u16) -> (FakeServer, Arc<Mutex<SmsState>>) {
    let state = Arc::new(Mutex::new(SmsState {
        fail_first,
        fail_status,
        ..SmsState::default()
    }));
    let shared = web::Data::from(Arc::clone(&state));
    let server = FakeServer::start(move |cfg| {
        cfg.app_data(shared.clone()).route(
            "/send",
            web::post().to(
                |state: web::Data<Mutex<SmsState>>, body: web::Json<Value>| async move {
                    let hang = {
                        let mut state = state.lock().expect("sms state");
                        state.seen += 1;
                        state.hang
                    };
                    if hang {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                    }
                    let mut state = state.lock().expect("sms state");
                    if hang || state.seen <= state.fail_first {
                        return HttpResponse::build(
                            actix_web::http::StatusCode::from_u16(state.fail_status)
                                .expect("status"),
                        )
                        .finish();
                    }
                    state.received.push(body.into_inner());
                    HttpResponse::Ok().json(json!({"status": "queued"}))
                },
            ),
        );
    });
    (server, state)
}

/// A gateway that answers by SMS through `sms`, the quiet hours off and retries fast.
fn options(redis: &RedisServer, sms: &FakeServer) -> GatewayOptions {
    GatewayOptions::new(&redis.url())
        .env("GATEWAY_SMS_API_URL", &format!("{}/send", sms.base()))
        .env("GATEWAY_SMS_API_KEY", "sms-key-for-tests")
        .env("GATEWAY_SMS_SENDER", "OpenAlmaty")
        .env("GATEWAY_SMS_QUIET_HOURS", "off")
        .env("GATEWAY_NOTIFY_RETRY_BASE_MS", "50")
        .env("GATEWAY_INSTANCE", "gateway-a")
}

async fn gateway(redis: &RedisServer, sms: &FakeServer, extra: &[(&str, &str)]) -> Gateway {
    let mut opts = options(redis, sms);
    for (k, v) in extra {
        opts = opts.env(k, v);
    }
    Gateway::start_with(opts).await
}

fn reply(status: &str, extra: Value) -> Value {
    let mut reply = json!({
        "schema_version": 1,
        "id": "01KAPPEAL00000000000000000",
        "tracking_number": "OA-7K3M-9QX2",
        "reply_to": {"channel": "sms", "address": PHONE},
        "status": status,
        "language": "ru",
        "text": {"ru": REPLY_TEXT, "kk": "Абай даңғылы, 10 мекенжайындағы шұңқыр жөнделді."},
    });
    if let (Some(reply), Some(extra)) = (reply.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            reply.insert(k.clone(), v.clone());
        }
    }
    reply
}

async fn receipts(redis: &RedisServer, n: usize) -> Vec<Entry> {
    wait_for_stream_len(&redis.url(), "deliveries.v1", n).await
}

fn sms_count(state: &Arc<Mutex<SmsState>>) -> usize {
    state.lock().expect("sms state").received.len()
}

/// Gives the notifier time to do something it must not do (a second send).
async fn settle() {
    tokio::time::sleep(Duration::from_millis(1500)).await;
}

async fn pending(redis: &RedisServer) -> i64 {
    let mut conn = redis_conn(&redis.url()).await.expect("redis");
    let summary: redis::Value = redis::cmd("XPENDING")
        .arg(stream_key("replies.v1"))
        .arg("gateway")
        .query_async(&mut conn)
        .await
        .expect("XPENDING");
    match summary {
        redis::Value::Array(parts) => match parts.first() {
            Some(redis::Value::Int(n)) => *n,
            _ => 0,
        },
        _ => 0,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reply_reaches_the_citizen_by_sms_once_in_the_language_of_the_appeal() {
    let redis = RedisServer::new();
    let (sms, state) = sms_provider(0, 200);
    let _gw = gateway(&redis, &sms, &[]).await;
    let reply_id = send_reply(&redis, &reply("resolved", json!({}))).await;

    let receipt = receipts(&redis, 1).await.remove(0);
    assert_eq!(receipt.kind, "delivery");
    assert_eq!(receipt.data["reply_id"], reply_id.as_str());
    assert_eq!(receipt.data["status"], "accepted");
    assert_eq!(receipt.data["channel"], "sms");
    settle().await;
    let sent = state.lock().expect("sms state").received.clone();
    assert_eq!(sent.len(), 1, "exactly one SMS: {sent:?}");
    assert_eq!(sent[0]["to"], PHONE);
    assert_eq!(sent[0]["sender"], "OpenAlmaty");
    assert_eq!(
        sent[0]["text"], REPLY_TEXT,
        "the Russian text for a Russian appeal"
    );
    assert_eq!(
        pending(&redis).await,
        0,
        "acknowledged once the provider accepted it"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_failing_twice_then_succeeding_yields_one_message() {
    let redis = RedisServer::new();
    let (sms, state) = sms_provider(2, 503);
    let _gw = gateway(&redis, &sms, &[]).await;
    send_reply(&redis, &reply("in_progress", json!({}))).await;

    let receipt = receipts(&redis, 1).await.remove(0);
    assert_eq!(receipt.data["status"], "accepted");
    assert_eq!(receipt.data["attempts"], 3);
    settle().await;
    assert_eq!(sms_count(&state), 1);
    assert_eq!(state.lock().expect("sms state").seen, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_killed_while_holding_a_reply_leaves_it_to_another_which_delivers_it_once() {
    let redis = RedisServer::new();
    // The first gateway's provider does not answer: it is mid-delivery when it dies.
    let (stuck, stuck_state) = sms_provider(0, 200);
    stuck_state.lock().expect("sms state").hang = true;
    let mut first = gateway(
        &redis,
        &stuck,
        &[("GATEWAY_NOTIFY_CLAIM_TIMEOUT_SECS", "1")],
    )
    .await;
    send_reply(&redis, &reply("resolved", json!({}))).await;
    wait_until("the first gateway to be sending", WAIT, || {
        let seen = stuck_state.lock().map(|s| s.seen).unwrap_or(0);
        async move {
            if seen > 0 {
                Ok(())
            } else {
                Err("no request yet".to_owned())
            }
        }
    })
    .await;
    first.kill9();
    assert_eq!(
        pending(&redis).await,
        1,
        "the dead gateway left the reply pending"
    );

    let (sms, state) = sms_provider(0, 200);
    let _second = gateway(
        &redis,
        &sms,
        &[
            ("GATEWAY_NOTIFY_CLAIM_TIMEOUT_SECS", "1"),
            ("GATEWAY_INSTANCE", "gateway-b"),
        ],
    )
    .await;
    let receipt = receipts(&redis, 1).await.remove(0);
    assert_eq!(receipt.data["status"], "accepted");
    settle().await;
    assert_eq!(
        sms_count(&state),
        1,
        "delivered once, by the second gateway"
    );
    assert_eq!(pending(&redis).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_opt_out_stops_updates_but_not_the_answer_and_a_withdrawal_stops_everything() {
    let redis = RedisServer::new();
    let (sms, state) = sms_provider(0, 200);
    let gw = gateway(&redis, &sms, &[]).await;
    let api = gw.api();
    api.post_subject_request(&json!({
        "kind": "opt_out_notifications", "channel": "api", "subject": {"phone": "8 701 555 01 23"}
    }))
    .await
    .expect_status(202);
    wait_for_stream_len(&redis.url(), "subject.v1", 1).await;

    send_reply(&redis, &reply("in_progress", json!({}))).await;
    let first = receipts(&redis, 1).await;
    assert_eq!(
        first[0].data["status"], "suppressed",
        "an update after an opt-out"
    );
    send_reply(&redis, &reply("resolved", json!({}))).await;
    let second = receipts(&redis, 2).await;
    assert_eq!(
        second[1].data["status"], "accepted",
        "the answer to the appeal still goes"
    );
    assert_eq!(sms_count(&state), 1);

    api.post_subject_request(&json!({
        "kind": "withdraw_consent", "channel": "api", "subject": {"phone": PHONE}
    }))
    .await
    .expect_status(202);
    wait_for_stream_len(&redis.url(), "subject.v1", 2).await;
    send_reply(&redis, &reply("resolved", json!({}))).await;
    let third = receipts(&redis, 3).await;
    assert_eq!(
        third[2].data["status"], "suppressed",
        "nothing after a withdrawal"
    );
    settle().await;
    assert_eq!(sms_count(&state), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_undeliverable_reply_is_parked_without_personal_data() {
    let redis = RedisServer::new();
    let (sms, state) = sms_provider(usize::MAX, 400);
    let gw = gateway(&redis, &sms, &[]).await;
    send_reply(&redis, &reply("resolved", json!({}))).await;

    let receipt = receipts(&redis, 1).await.remove(0);
    assert_eq!(receipt.data["status"], "failed");
    let parked = wait_for_stream_len(&redis.url(), "deadletter.v1", 1)
        .await
        .remove(0);
    assert_eq!(parked.kind, "undeliverable");
    assert_eq!(parked.data["reason"], "rejected_by_provider");
    for secret in [PHONE, "7015550123", "Абая", "заделана"] {
        assert!(
            !parked.raw.contains(secret),
            "the dead letter holds {secret}: {}",
            parked.raw
        );
        assert!(!receipt.raw.contains(secret), "the receipt holds {secret}");
        assert!(!gw.logs().contains(secret), "the log holds {secret}");
    }
    assert_eq!(sms_count(&state), 0);
    // Parked, then acknowledged: the two steps are not one, so the test waits for the
    // second (a loaded machine saw the entries before their acknowledgement).
    wait_until("parked replies acknowledged", WAIT, || async {
        match pending(&redis).await {
            0 => Ok(()),
            n => Err(format!("{n} pending")),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sms_waits_out_quiet_hours_unless_urgent() {
    let redis = RedisServer::new();
    let (sms, state) = sms_provider(0, 200);
    // Quiet hours around the current hour in Almaty (UTC+5).
    let hour = (time::OffsetDateTime::now_utc().hour() + 5) % 24;
    let quiet = format!("{hour}-{}", (hour + 1) % 24);
    let _gw = gateway(&redis, &sms, &[("GATEWAY_SMS_QUIET_HOURS", &quiet)]).await;
    send_reply(&redis, &reply("in_progress", json!({}))).await;
    send_reply(
        &redis,
        &reply(
            "resolved",
            json!({"urgent": true, "text": "Срочно: перекрытие дороги"}),
        ),
    )
    .await;

    let receipt = receipts(&redis, 1).await.remove(0);
    assert_eq!(receipt.data["status"], "accepted");
    settle().await;
    let sent = state.lock().expect("sms state").received.clone();
    assert_eq!(sent.len(), 1, "only the urgent one: {sent:?}");
    assert_eq!(sent[0]["text"], "Срочно: перекрытие дороги");
    assert_eq!(
        pending(&redis).await,
        1,
        "the other waits, pending, for the morning"
    );
}

// ---------------------------------------------------------------------------------------
// The other routes: Telegram, WhatsApp, email.

use crate::support::fake_telegram::FakeBotApi;
use crate::support::fake_whatsapp::{self as wa, FakeGraph};
use crate::support::mail::SmtpSink;

fn reply_to(channel: &str, address: &str, status: &str) -> Value {
    reply(
        status,
        json!({"reply_to": {"channel": channel, "address": address}}),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_telegram_appeal_is_answered_in_its_chat() {
    let redis = RedisServer::new();
    let (sms, _) = sms_provider(0, 200);
    let bot = FakeBotApi::start();
    let _gw = Gateway::start_with(bot.configure(options(&redis, &sms))).await;
    send_reply(&redis, &reply_to("telegram", "555000111", "resolved")).await;
    let text = bot.wait_text(555000111, REPLY_TEXT).await;
    assert!(text.contains("OA-7K3M-9QX2"), "{text}");
    let receipt = receipts(&redis, 1).await.remove(0);
    assert_eq!(receipt.data["channel"], "telegram");
    settle().await;
    assert_eq!(bot.texts_to(555000111).len(), 1, "one message");
}

#[tokio::test(flavor = "multi_thread")]
async fn whatsapp_uses_a_template_outside_the_24_hour_window_and_text_inside_it() {
    let redis = RedisServer::new();
    let (sms, _) = sms_provider(0, 200);
    let graph = FakeGraph::start();
    let gw = Gateway::start_with(graph.configure(options(&redis, &sms))).await;
    let from = "77015550123";
    send_reply(&redis, &reply_to("whatsapp", PHONE, "in_progress")).await;
    receipts(&redis, 1).await;
    let sent = graph.sent();
    let template = sent.last().expect("a message");
    assert_eq!(
        template["type"], "template",
        "outside the window: {template}"
    );
    assert_eq!(template["to"], from);
    // A short answer fits the template: it carries the answer itself.
    assert_eq!(template["template"]["name"], "appeal_answer");
    assert_eq!(template["template"]["language"]["code"], "ru");
    let parameters = &template["template"]["components"][0]["parameters"];
    assert_eq!(parameters[0]["text"], "OA-7K3M-9QX2");
    assert_eq!(parameters[2]["text"], REPLY_TEXT);

    // The citizen writes to the line: the window opens.
    post_whatsapp(&gw, wa::text(from, "wamid.HELLO", "Сәлем")).await;
    send_reply(&redis, &reply_to("whatsapp", PHONE, "resolved")).await;
    receipts(&redis, 2).await;
    let texts = graph.texts_to(from);
    assert!(
        texts.iter().any(|t| t.contains(REPLY_TEXT)),
        "inside the window the answer itself is sent: {texts:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_email_answer_is_threaded_under_the_acknowledgement() {
    let redis = RedisServer::new();
    let (sms, _) = sms_provider(0, 200);
    let smtp = SmtpSink::start();
    let _gw = gateway(
        &redis,
        &sms,
        &[
            ("GATEWAY_SMTP_URL", &smtp.url()),
            ("GATEWAY_MAIL_FROM", "open-almaty@almatydc.kz"),
        ],
    )
    .await;
    send_reply(&redis, &reply_to("email", "citizen@mail.kz", "resolved")).await;
    let receipt = receipts(&redis, 1).await.remove(0);
    assert_eq!(receipt.data["status"], "accepted", "{}", receipt.raw);
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1);
    let mail = crate::support::mail::show(&messages[0]);
    assert!(
        mail.subject.starts_with("[OA-7K3M-9QX2]"),
        "{}",
        mail.subject
    );
    let thread = "ack.01KAPPEAL00000000000000000@almatydc.kz";
    assert_eq!(mail.in_reply_to.trim_matches(['<', '>']), thread);
    assert!(
        mail.references
            .iter()
            .any(|r| r.trim_matches(['<', '>']) == thread)
    );
    assert!(mail.body.contains(REPLY_TEXT));
    assert!(mail.body.contains("/status/OA-7K3M-9QX2"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_status_page_shows_the_last_status_and_the_legal_deadline() {
    use appeal_gateway::notify::deadline::Calendar;
    let redis = RedisServer::new();
    let (sms, _) = sms_provider(0, 200);
    let gw = gateway(&redis, &sms, &[]).await;
    let accepted = gw.api().post_appeal(CRM_TOKEN, &valid_appeal(), None).await;
    accepted.expect_status(202);
    let body = accepted.json();
    let (id, tracking) = (
        body["id"].as_str().expect("id"),
        body["tracking_number"].as_str().expect("number"),
    );

    let today = time::OffsetDateTime::now_utc()
        .to_offset(time::UtcOffset::from_hms(5, 0, 0).expect("offset"))
        .date();
    let format = time::macros::format_description!("[day].[month].[year]");
    let due = |extended| {
        Calendar::default()
            .deadline(today, extended)
            .format(&format)
            .expect("date")
    };

    let page = gw.api().get(&format!("/status/{tracking}?lang=ru")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.text.contains("Получено"),
        "received until the case system speaks"
    );
    assert!(
        page.text.contains(&due(false)),
        "15 working days: {}",
        due(false)
    );

    let mut extended = reply("extended", json!({"id": id, "tracking_number": tracking}));
    extended["text"] = json!("Срок рассмотрения продлён до двух месяцев.");
    send_reply(&redis, &extended).await;
    receipts(&redis, 1).await;
    let page = gw.api().get(&format!("/status/{tracking}?lang=ru")).await;
    assert!(
        page.text.contains("Срок рассмотрения продлён"),
        "the last status is shown"
    );
    assert!(
        page.text.contains(&due(true)),
        "two months when extended: {}",
        due(true)
    );
    for secret in ["Иванов", "7011234567", "Абая"] {
        assert!(
            !page.text.contains(secret),
            "the status page shows {secret}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_reply_is_parked_with_the_field_and_the_rule_never_a_value() {
    let redis = RedisServer::new();
    let (sms, state) = sms_provider(0, 200);
    let gw = gateway(&redis, &sms, &[]).await;
    let mut without_version = reply("resolved", json!({}));
    without_version
        .as_object_mut()
        .unwrap()
        .remove("schema_version");
    send_reply(&redis, &without_version).await;
    send_reply(
        &redis,
        &reply(
            "resolved",
            json!({"reply_to": {"channel": "viber", "address": PHONE}}),
        ),
    )
    .await;
    send_reply(
        &redis,
        &reply("resolved", json!({"schema_version": "Абая 10, заделана"})),
    )
    .await;
    let parked = wait_for_stream_len(&redis.url(), "deadletter.v1", 3).await;
    let details: Vec<&str> = parked
        .iter()
        .map(|p| {
            assert_eq!(p.data["reason"], "malformed");
            p.data["detail"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        details,
        [
            "schema_version: missing",
            "reply_to.channel: unknown variant \"viber\"",
            "schema_version: invalid type, expected u32",
        ]
    );
    for p in &parked {
        for secret in [PHONE, "Абая", "заделана"] {
            assert!(!p.raw.contains(secret), "{}", p.raw);
        }
    }
    let logs = gw.logs();
    assert!(logs.contains("reply_to.channel: unknown variant"), "{logs}");
    assert!(!logs.contains("Абая") && !logs.contains(PHONE));
    assert_eq!(sms_count(&state), 0);
    assert_eq!(pending(&redis).await, 0, "parked replies are acknowledged");
}

/// An answer of about 10,000 characters: paragraphs of sentences, numbered so that
/// order and completeness can be read back.
fn long_answer() -> String {
    (1..=13)
        .map(|p| {
            (1..=10)
                .map(|s| format!("Абзац {p}, предложение {s}: подрядчик заделал яму на пр. Абая и восстановил разметку."))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The answer's text read back from the parts (headings and the status link removed).
fn reassembled(parts: &[String]) -> String {
    parts
        .iter()
        .map(|p| {
            let body = p.split_once("\n\n").map_or(p.as_str(), |(_, b)| b);
            body.split("\n\nhttps://").next().unwrap_or(body).to_owned()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn words(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ten_thousand_character_answer_arrives_complete_in_order_and_once() {
    let redis = RedisServer::new();
    let (sms, _) = sms_provider(0, 200);
    let bot = FakeBotApi::start();
    let graph = FakeGraph::start();
    let gw = Gateway::start_with(graph.configure(bot.configure(options(&redis, &sms)))).await;
    let answer = long_answer();
    assert!(
        answer.chars().count() >= 10_000,
        "{}",
        answer.chars().count()
    );
    // The WhatsApp citizen wrote today: the window is open.
    let from = "77015550123";
    post_whatsapp(&gw, wa::text(from, "wamid.HELLO", "Сәлем")).await;
    graph.wait_text(from, "Выберите язык").await;
    let before = graph.texts_to(from).len();

    let mut to_telegram = reply_to("telegram", "555000111", "resolved");
    to_telegram["text"] = json!(answer);
    send_reply(&redis, &to_telegram).await;
    let mut to_whatsapp = reply_to("whatsapp", PHONE, "resolved");
    to_whatsapp["text"] = json!(answer);
    send_reply(&redis, &to_whatsapp).await;
    let receipts = receipts(&redis, 2).await;
    // Telegram's chat has it when sent; WhatsApp's Cloud API only took it (its
    // statuses say the rest).
    let status_of = |route: &str| {
        receipts
            .iter()
            .find(|r| r.data["channel"] == route)
            .map(|r| r.data["status"].clone())
    };
    assert_eq!(status_of("telegram"), Some(json!("delivered")));
    assert_eq!(status_of("whatsapp"), Some(json!("accepted")));
    settle().await;

    let telegram = bot.texts_to(555000111);
    let whatsapp: Vec<String> = graph.texts_to(from)[before..].to_vec();
    for (route, parts) in [("telegram", &telegram), ("whatsapp", &whatsapp)] {
        assert!(parts.len() >= 3, "{route}: {} parts", parts.len());
        for (i, part) in parts.iter().enumerate() {
            assert!(part.encode_utf16().count() <= 4096, "{route} part {i}");
            assert!(
                part.starts_with("OA-7K3M-9QX2 — ")
                    && part.contains(&format!("({}/{})", i + 1, parts.len())),
                "{route} part {i}: {}",
                &part[..80]
            );
        }
        assert_eq!(
            words(&reassembled(parts)),
            words(&answer),
            "{route}: complete, in order, each part once"
        );
    }
    assert!(whatsapp.last().unwrap().contains("/status/OA-7K3M-9QX2"));
}

/// The citizen's `message` (from Айгүл) delivered to the webhook, signed, and taken.
async fn post_whatsapp(gw: &Gateway, message: Value) {
    let from = message["from"].as_str().unwrap().to_owned();
    wa::deliver(gw, &wa::message(&from, "Айгүл", message)).await;
}

/// A citizen who last wrote three days ago (no window) gets a long answer: the template
/// says it waits, the receipt says `notified`; the held answer follows, whole, when the
/// citizen taps "Show answer" (`tap`) or writes anything, even across a restart.
async fn a_held_answer_reaches_the_citizen(tap: bool) {
    let redis = RedisServer::new();
    let (sms, _) = sms_provider(0, 200);
    let graph = FakeGraph::start();
    let mut gw = Gateway::start_with(graph.configure(options(&redis, &sms))).await;
    let from = "77015550123";
    let answer = long_answer();
    let mut long = reply_to("whatsapp", PHONE, "resolved");
    long["text"] = json!(answer);
    send_reply(&redis, &long).await;
    let notice = receipts(&redis, 1).await.remove(0);
    assert_eq!(
        notice.data["status"], "notified",
        "only the notice went out"
    );
    let sent = graph.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let template = &sent[0]["template"];
    assert_eq!(template["name"], "appeal_status_update");
    assert_eq!(template["components"][1]["sub_type"], "quick_reply");
    assert_eq!(
        template["components"][1]["parameters"][0]["payload"],
        "show_answer"
    );
    assert!(
        !sent[0].to_string().contains("Абзац"),
        "no answer text in the notice"
    );

    // Held in Redis: a restart loses nothing.
    gw.kill9();
    gw.restart().await;
    let message = if tap {
        wa::quick_reply(from, "wamid.TAP1", "show_answer", "Показать ответ")
    } else {
        wa::text(from, "wamid.HI1", "Здравствуйте, есть ответ?")
    };
    post_whatsapp(&gw, message.clone()).await;
    let accepted = receipts(&redis, 2).await.remove(1);
    assert_eq!(accepted.data["status"], "accepted", "{}", accepted.raw);
    assert_eq!(accepted.data["reply_id"], notice.data["reply_id"]);
    let parts = wait_until("the held answer sent", WAIT, || async {
        let texts = graph.texts_to(from);
        match texts.last() {
            Some(t) if t.contains("/status/OA-7K3M-9QX2") => Ok(texts[1..].to_vec()),
            _ => Err(format!("{texts:?}")),
        }
    })
    .await;
    assert!(parts.len() >= 3, "{}", parts.len());
    assert_eq!(
        words(&reassembled(&parts)),
        words(&answer),
        "complete, in order, once"
    );
    // It did not start a conversation, and a second tap or the redelivery sends nothing.
    post_whatsapp(&gw, message).await;
    post_whatsapp(
        &gw,
        wa::quick_reply(from, "wamid.TAP2", "show_answer", "Показать ответ"),
    )
    .await;
    settle().await;
    let texts = graph.texts_to(from);
    assert_eq!(texts.len(), 1 + parts.len(), "{texts:?}");
    assert!(texts.iter().all(|t| !t.contains("Выберите язык")));
    // WhatsApp's statuses of the answer's messages move its receipt, once: the template
    // was wamid.FAKE1, the answer's parts the next ones.
    for part in 2..=1 + parts.len() {
        let wamid = format!("wamid.FAKE{part}");
        wa::deliver(&gw, &wa::status(from, &wamid, "delivered")).await;
    }
    let delivered = receipts(&redis, 3).await.remove(2);
    assert_eq!(delivered.data["status"], "delivered", "{}", delivered.raw);
    assert_eq!(delivered.data["reply_id"], notice.data["reply_id"]);
    assert_eq!(delivered.data["channel"], "whatsapp");
    wa::deliver(&gw, &wa::status(from, "wamid.FAKE2", "read")).await;
    let read = receipts(&redis, 4).await.remove(3);
    assert_eq!(read.data["status"], "read");
    settle().await;
    assert_eq!(read_stream(&redis.url(), "deliveries.v1").await.len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_answer_outside_the_window_is_held_and_sent_when_the_citizen_taps() {
    a_held_answer_reaches_the_citizen(true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_answer_outside_the_window_is_sent_when_the_citizen_writes_anything() {
    a_held_answer_reaches_the_citizen(false).await;
}
